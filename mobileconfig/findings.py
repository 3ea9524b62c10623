"""Findings: results about a profile's content, and the catalogue of their codes.

A :class:`Finding` is never raised. Checks return a :class:`Report`; the build calls
:meth:`Report.raise_for_errors`, which raises :class:`~mobileconfig.errors.ValidationFailed`
when the report holds errors (or warnings, under ``strict``).

Codes are stable: once published, a code keeps its meaning. Every code is listed in
:data:`CATALOGUE` and documented in ``docs/findings.md``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mobileconfig.errors import Location, ValidationFailed

__all__ = [
    "CATALOGUE",
    "CertificateRef",
    "Code",
    "Finding",
    "Report",
    "Severity",
    "make_finding",
    "printable",
]


# C0 and C1 control characters and DEL: text from a profile or a certificate comes from
# anywhere, and a newline or an ESC sequence printed raw would forge lines or drive the
# terminal. Everything this package prints for a terminal goes through printable().
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with each control character written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class Severity(enum.StrEnum):
    """How much a finding matters. Errors stop a build; warnings stop it under ``strict``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Code:
    """One entry of the catalogue: the code, its default severity, a title and the usual fix."""

    code: str
    severity: Severity
    title: str
    fix: str


@dataclass(frozen=True)
class CertificateRef:
    """The certificate a finding is about, as a user can recognise it."""

    subject: str
    sha256: str
    role: str | None = None
    name: str | None = None
    issuer: str | None = None
    not_after: str | None = None

    def label(self) -> str:
        who = f"{self.role} " if self.role else ""
        return f"{who}'{self.subject}' (sha256:{self.sha256[:16]})"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Finding:
    """One result of a check. Immutable; build it with :func:`make_finding`."""

    code: str
    severity: Severity
    message: str
    fix: str
    certificate: CertificateRef | None = None
    location: Location | None = None
    chain: str | None = None
    accepted: str | None = None  # the reason given in validate.accept, when accepted

    @property
    def blocks(self) -> bool:
        """True when this finding is an error that was not accepted."""
        return self.severity is Severity.ERROR and self.accepted is None

    def sort_key(self) -> tuple[int, str, str, str]:
        return (
            self.severity.rank,
            self.code,
            self.certificate.sha256 if self.certificate else "",
            self.message,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "certificate": self.certificate.to_json() if self.certificate else None,
            "location": str(self.location) if self.location else None,
            "fix": self.fix,
        }
        if self.chain is not None:
            out["chain"] = self.chain
        if self.accepted is not None:
            out["accepted"] = self.accepted
        return out

    def format(self) -> str:
        """One line for a terminal, then the fix on the next."""
        where = f"{self.location}: " if self.location else ""
        acc = f" [accepted: {self.accepted}]" if self.accepted else ""
        line = f"{where}{self.severity.value} {self.code}: {self.message}{acc}"
        return f"{printable(line)}\n    fix: {printable(self.fix)}"


def make_finding(
    code: str,
    message: str,
    *,
    certificate: CertificateRef | None = None,
    location: Location | None = None,
    fix: str | None = None,
    severity: Severity | None = None,
    chain: str | None = None,
) -> Finding:
    """Create a finding for a catalogued code; severity and fix default to the catalogue's."""
    entry = CATALOGUE[code]
    return Finding(
        code=code,
        severity=severity or entry.severity,
        message=message,
        fix=fix or entry.fix,
        certificate=certificate,
        location=location,
        chain=chain,
    )


@dataclass
class Report:
    """Every finding of a check, sorted by severity. Never raises by itself."""

    findings: list[Finding] = field(default_factory=list)
    chains: list[dict[str, Any]] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def merge(self, other: Report) -> None:
        self.findings.extend(other.findings)
        self.chains.extend(other.chains)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.sorted())

    def __len__(self) -> int:
        return len(self.findings)

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.sorted() if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.sorted() if f.severity is Severity.WARNING]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.sorted() if f.blocks]

    def has_errors(self, *, strict: bool = False) -> bool:
        return any(
            f.accepted is None
            and (f.severity is Severity.ERROR or (strict and f.severity is Severity.WARNING))
            for f in self.findings
        )

    def raise_for_errors(self, *, strict: bool = False) -> None:
        """Raise :class:`ValidationFailed` when an unaccepted error (or warning, if strict) exists."""
        if not self.has_errors(strict=strict):
            return
        if strict:
            promoted = [
                replace(f, severity=Severity.ERROR)
                if f.severity is Severity.WARNING and f.accepted is None
                else f
                for f in self.findings
            ]
            raise ValidationFailed(Report(promoted, list(self.chains)))
        raise ValidationFailed(self)

    def accept(self, rules: Iterable[Mapping[str, str]]) -> None:
        """Mark findings as accepted: each rule has ``code``, ``certificate`` (``sha256:...``
        prefix, or omitted for any) and ``reason``. Accepted findings stay in the report."""
        rules = list(rules)
        out = []
        for f in self.findings:
            for rule in rules:
                if rule["code"] != f.code:
                    continue
                want = rule.get("certificate")
                if want:
                    digest = want.lower().removeprefix("sha256:").replace(":", "")
                    if f.certificate is None or not f.certificate.sha256.startswith(digest):
                        continue
                f = replace(f, accepted=rule["reason"])
                break
            out.append(f)
        self.findings = out

    def to_json(self) -> dict[str, Any]:
        return {
            "findings": [f.to_json() for f in self.sorted()],
            "chains": self.chains,
            "summary": {
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "info": sum(1 for f in self.findings if f.severity is Severity.INFO),
                "accepted": sum(1 for f in self.findings if f.accepted is not None),
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


def _codes(*entries: tuple[str, Severity, str, str]) -> dict[str, Code]:
    return {c: Code(c, s, t, f) for c, s, t, f in entries}


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

#: Every finding code. MC0xx: the bundle and the spec; MC1xx: certificate chains;
#: MC2xx: signatures; MC3xx: identities; MC4xx: services; MC5xx: TLS servers.
# fmt: off
CATALOGUE: dict[str, Code] = _codes(
    ("MC001", I, "duplicate certificate collapsed",
     "Nothing to do: the certificate is installed once. Remove the extra file to silence this."),
    ("MC002", E, "payload content is not a certificate",
     "Replace the payload's content with the DER (pkcs1/root) or PEM (pem) bytes of one certificate."),
    ("MC003", W, "certificate payload type does not match the certificate",
     "Use com.apple.security.root for self-signed CAs and com.apple.security.pkcs1 for the others."),
    ("MC004", E, "reference to a payload that is not in the profile",
     "Point the reference at the PayloadUUID of a payload in the same profile."),
    ("MC005", E, "PayloadUUID used twice",
     "Give every payload its own PayloadUUID (mobileconfig derives them for you)."),
    ("MC006", E, "PayloadIdentifier used twice", "Give every payload its own PayloadIdentifier."),
    ("MC007", W, "payload key not defined by Apple for this payload type",
     "Check the key's spelling against Apple's schema; unknown keys are ignored by the device."),
    ("MC008", E, "payload key has the wrong plist type or value",
     "Write the value with the type Apple's schema gives for the key."),
    ("MC009", E, "required payload key missing",
     "Add the key; the device refuses the payload without it."),
    # --- MC1xx: certificate chains (mobileconfig/pki/chains.py) ---
    ("MC101", E, "issuer missing from the bundle",
     "Add the CA certificate with the subject and key id shown (export it from the CA or "
     "download it from the URL in the certificate's authorityInfoAccess)."),
    ("MC102", E, "signature does not verify with the named issuer's key",
     "Add the generation of the CA whose key id matches the certificate's authority key id, "
     "or re-issue the certificate from the CA you ship."),
    ("MC103", E, "certificate expired",
     "Renew the certificate and replace the file; a CA renewed with its old key keeps the "
     "certificates it issued valid."),
    ("MC104", E, "certificate not yet valid",
     "Check the clock of the CA that issued it, or validate at the date the profile ships "
     "(--at)."),
    ("MC105", W, "certificate expires soon",
     "Renew the certificate before it expires and ship the new one."),
    ("MC106", W, "issuer expires before a certificate it issued",
     "Renew the issuing CA so it outlives what it issued, or re-issue the certificates to end "
     "before it."),
    ("MC107", E, "issuer is not a CA",
     "Issue the certificates from a CA certificate (basicConstraints CA:TRUE), or ship the "
     "right CA certificate."),
    ("MC108", E, "issuer's keyUsage lacks keyCertSign",
     "Re-issue the CA certificate with keyUsage keyCertSign (and cRLSign)."),
    ("MC109", E, "path longer than a pathLenConstraint allows",
     "Re-issue the constrained CA with a larger pathLenConstraint, or issue from a CA higher "
     "up so the path is shorter."),
    ("MC110", E, "self-issued root that is not self-signed",
     "Replace it with the CA's genuine self-signed certificate."),
    ("MC111", E, "weak signature hash (MD5 or SHA-1)",
     "Re-issue the certificate with a SHA-256 (or stronger) signature."),
    ("MC112", E, "key too small",
     "Re-issue with an RSA key of 2048 bits or more, or an EC key on P-256 or larger."),
    ("MC113", E, "unhandled critical extension",
     "Re-issue the certificate without the extension, or with it marked non-critical."),
    ("MC114", I, "Apple private critical extension",
     "Nothing to do: Apple devices process these extensions."),
    ("MC115", E, "loop in the issuer graph",
     "Add the self-signed root of the chain, or remove the cross-certificate that closes the "
     "loop."),
    ("MC116", W, "one subject with different keys (re-keyed CA)",
     "Keep both generations while certificates from the old one are in use; remove the old "
     "one when they have all been replaced."),
    ("MC117", W, "self-signed certificate that is not a CA",
     "Remove it from the certificates, or install it as an identity (pkcs12) if it is a user's "
     "or device's own certificate."),
    ("MC118", E, "chain ends at a root that is not trusted",
     "Sign with a certificate that chains to a trusted root, or add that root to the trusted "
     "anchors (--ca)."),
    ("MC119", W, "root without a common name",
     "Re-issue the root with a CN that names it; until then, tell users the root is the "
     "nameless row in Settings > General > About > Certificate Trust Settings (the profile's "
     "More Details list it with the rest of its subject)."),
    ("MC120", W, "CA certificate without subjectKeyIdentifier",
     "Re-issue the CA certificate with a subjectKeyIdentifier (openssl: "
     "subjectKeyIdentifier=hash)."),
    ("MC121", W, "certificate without authorityKeyIdentifier",
     "Re-issue the certificate with an authorityKeyIdentifier naming its issuer's key "
     "(openssl: authorityKeyIdentifier=keyid)."),
    ("MC122", W, "authorityKeyIdentifier does not match the issuer's subjectKeyIdentifier",
     "Re-issue the certificate from the CA generation it names, or with the AKI of the CA "
     "that signs it."),
    ("MC123", W, "key identifier or authorityInfoAccess marked critical",
     "Re-issue the certificate with authorityKeyIdentifier, subjectKeyIdentifier and "
     "authorityInfoAccess non-critical."),
    ("MC124", W, "CA certificate with an empty subject",
     "Re-issue the CA certificate with a subject that names it (at least a CN)."),
    ("MC125", W, "CA certificate whose basicConstraints is not critical",
     "Re-issue the CA certificate with basicConstraints marked critical (openssl: "
     "basicConstraints=critical,CA:TRUE)."),
    ("MC126", W, "non-CA certificate with keyCertSign",
     "Re-issue the certificate without keyCertSign in keyUsage, or as a CA (basicConstraints "
     "CA:TRUE) if it is meant to issue."),
    ("MC127", W, "serial number zero or negative",
     "Re-issue the certificate with a positive serial number (random, up to 20 bytes)."),
    ("MC128", W, "validity ends before it starts",
     "Re-issue the certificate with notAfter later than notBefore."),
    ("MC129", E, "issuer search cut short by the candidate limit",
     "Remove the look-alike certificates that share the issuer's name, or raise "
     "Policy.max_candidates so the search tries them all."),
    ("MC130", E, "key on an elliptic curve Apple devices do not accept",
     "Re-issue with an EC key on P-256, P-384 or P-521 (or an RSA key of 2048 bits or more)."),
    # --- end MC1xx ---
    # --- MC2xx: signed and encrypted profiles (mobileconfig/cms/) ---
    ("MC201", E, "signer certificate has expired",
     "Sign with a certificate valid now: renew it and sign again. Public TLS certificates now live "
     "at most 200 days (100 from 2027-03-15, 47 from 2029-03-15), so plan re-signing or use a "
     "signing certificate from your own CA."),
    ("MC202", E, "signer certificate is not yet valid",
     "Check the clock of the machine that signs, or wait until the certificate's notBefore."),
    ("MC203", W, "signer certificate expires soon",
     "Renew the signing certificate and sign the profile again before it expires; devices show a "
     "profile signed by an expired certificate as Unverified. Public TLS certificates now live at "
     "most 200 days (100 from 2027-03-15, 47 from 2029-03-15): schedule re-signing."),
    ("MC204", E, "signer certificate may not sign (keyUsage lacks digitalSignature)",
     "Sign with a certificate whose keyUsage includes digitalSignature (a code-signing, S/MIME or "
     "TLS server certificate)."),
    ("MC205", W, "signature uses SHA-1",
     "Sign the profile again with SHA-256 (mobileconfig sign does by default)."),
    ("MC206", E, "signature does not verify",
     "The profile was changed after signing, or its signer certificate was replaced: get the "
     "original file, or sign the profile again."),
    ("MC207", W, "signer is not trusted",
     "Sign with a certificate that chains to a root the devices trust, include every intermediate, "
     "or install your root on the devices first (by MDM, or a profile and Certificate Trust "
     "Settings)."),
    ("MC208", E, "signer certificate missing from the signed profile",
     "Sign the profile again with the signer certificate included (do not use -nocerts)."),
    ("MC209", E, "signature algorithm not supported",
     "Sign the profile again with RSA or ECDSA and SHA-256."),
    # --- end MC2xx ---
    # --- MC3xx: identities and secrets (mobileconfig/pki/identities/, secrets.py) ---
    ("MC301", I, "modern PKCS#12 re-encoded for Apple devices",
     "Nothing to do: the profile carries a 3DES/SHA-1 copy. To silence this, export the .p12 "
     "with 'openssl pkcs12 -export -legacy'."),
    ("MC302", I, "PKCS#12 password embedded in the profile",
     "Leave the password out so the user types it at install, issue the identity with SCEP or "
     "ACME instead, or encrypt the profile to the device."),
    ("MC303", W, "PKCS#12 written in the modern format that Apple devices refuse",
     "Use the apple format (the default) unless every target device reads PBES2/AES PKCS#12."),
    ("MC304", W, "secret written inline in the spec",
     "Move the value out of the spec: {env: NAME}, {file: path} or {prompt: true}."),
    ("MC305", W, "SCEP over plain HTTP without a CA fingerprint",
     "Set the SCEP CAFingerprint to the CA certificate's fingerprint, or use an https URL."),
    ("MC306", I, "intermediate from a PKCS#12 added to the profile",
     "Nothing to do; to make it explicit, list the intermediate under certificates."),
    # --- end MC3xx ---
    # --- MC4xx: services, references and platforms (mobileconfig/services/) ---
    ("MC401", W, "payload not supported on a listed platform",
     "Remove the platform from platforms, or ship the payload in a profile for the platforms "
     "that support it."),
    ("MC402", W, "payload key ignored on a listed platform",
     "Leave the key out for that platform, or accept that it has no effect there."),
    ("MC403", W, "payload or key needs a supervised device",
     "Supervise the devices (Apple Configurator or Automated Device Enrollment), or expect the "
     "setting to have no effect on unsupervised ones."),
    ("MC404", W, "802.1X server trust not pinned",
     "List the RADIUS server's CA (or its certificate) in eap.anchors and its certificate's "
     "name in eap.server_names."),
    ("MC405", I, "password embedded in the profile",
     "Leave the password out so the device asks for it, or encrypt the profile to the device; "
     "anyone with the file can read an embedded password."),
    ("MC406", W, "IKEv2 server_ca does not match the server certificate's issuer",
     "Set vpn.ikev2.server_ca to the CA that issued the VPN server's certificate."),
    ("MC407", E, "identity key type not usable for IKEv2",
     "Use an identity with an RSA key or an EC key on P-256, P-384 or P-521."),
    ("MC408", W, "identity certificate not made for this use",
     "Issue the identity with the extendedKeyUsage and keyUsage the use needs (clientAuth for "
     "Wi-Fi, VPN and Exchange; emailProtection for S/MIME)."),
    ("MC409", W, "S/MIME identity does not carry the account's address",
     "Issue the S/MIME certificate with the account's address in its subjectAltName "
     "(rfc822Name), or use the identity issued for that address."),
    ("MC410", W, "account server reached without TLS",
     "Turn on tls (ssl for Exchange) and use the server's TLS port (993, 995, 465 or 587)."),
    ("MC411", W, "over-the-air PKI updates turned off",
     "Leave trust.ota_pki_updates unset (true) unless a written policy demands a frozen trust "
     "store."),
    ("MC412", W, "Certificate Transparency exemption for a CA will not apply",
     "Exempt the server certificate itself, or a CA whose subject has an organizationName "
     "(or nameConstraints with a directoryName O)."),
    # --- end MC4xx ---
    # --- MC5xx: TLS server certificates (mobileconfig/pki/tls.py) ---
    ("MC501", E, "host name not in the server certificate",
     "Get a certificate whose subjectAltName has the host name, or set the host in the profile "
     "to a name the certificate carries."),
    ("MC502", E, "server certificate lacks serverAuth",
     "Re-issue the server certificate with extendedKeyUsage serverAuth."),
    ("MC503", E, "server or CA key too small",
     "Re-issue with an RSA key of 2048 bits or more (or EC P-256 or larger)."),
    ("MC504", E, "server or CA certificate signed with SHA-1",
     "Re-issue the certificate with a SHA-256 (or stronger) signature."),
    ("MC505", E, "server certificate valid for more than 825 days",
     "Re-issue the server certificate valid for 825 days or fewer (398 or fewer is safer)."),
    ("MC506", E, "public server certificate valid for more than 398 days",
     "Re-issue the server certificate valid for 398 days or fewer."),
    ("MC507", E, "server certificate expired",
     "Renew the server's certificate and install it on the server."),
    ("MC508", E, "server certificate not yet valid",
     "Check the clock of the CA that issued it, or wait until its notBefore."),
    ("MC509", W, "server certificate expires soon",
     "Renew the server's certificate before it expires."),
    ("MC510", E, "server certificate does not chain to a root in the profile",
     "Add the root (and intermediates) that issued the server's certificate to the profile's "
     "certificates, or have the server send its intermediates."),
    # --- end MC5xx ---
    # --- MC6xx: live probe (mobileconfig/probe.py) ---
    ("MC601", E, "server sends an incomplete chain that the profile does not complete",
     "Configure the server to send its intermediate certificates after its own (nginx: "
     "ssl_certificate with the full-chain file; Apache 2.4.8+: SSLCertificateFile with the "
     "chain appended; Postfix: smtpd_tls_chain_files; Dovecot: ssl_cert with the chain "
     "appended). If the missing issuer is your own root, add it to the profile's certificates."),
    ("MC602", W, "server does not send its intermediate; the profile supplies it",
     "Configure the server to send its intermediate certificates after its own, so devices "
     "without this profile (and other mail clients) trust it too."),
    ("MC603", E, "TLS version older than 1.2",
     "Enable TLS 1.2 and 1.3 on the server (and turn off TLS 1.0 and 1.1)."),
    ("MC604", I, "chain sent out of order or with extra certificates",
     "Nothing needed for Apple devices, which sort the chain themselves. For other clients, "
     "send the server's certificate, then each issuer in turn, and nothing else."),
    ("MC605", W, "cipher suite without forward secrecy",
     "Prefer ECDHE cipher suites on the server (or enable TLS 1.3), as App Transport Security "
     "requires."),
    # --- end MC6xx ---
)
# fmt: on
