"""Findings: results about a profile's content, and the catalogue of their codes.

A :class:`Finding` is never raised. Checks return a :class:`Report`; the build calls
:meth:`Report.raise_for_errors`, which raises :class:`~mobileconfig.errors.ValidationFailed`
when the report holds errors (or warnings, under ``strict``).

Codes are stable: once published, a code keeps its meaning. Every code is listed in
:data:`CATALOGUE` and documented in ``docs/findings.md``.

Layering: ``findings`` sits on :mod:`mobileconfig.errors` (it raises ``ValidationFailed``
and uses ``Location``); ``errors`` never imports ``findings`` at run time.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mobileconfig.errors import Location, ValidationFailed
from mobileconfig.text import printable  # re-exported: text here used to own it

__all__ = [
    "CATALOGUE",
    "CertificateRef",
    "Code",
    "Finding",
    "Report",
    "Severity",
    "make_finding",
    "printable",
    "summary_text",
]


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
            "summary": self.counts(),
        }

    def counts(self) -> dict[str, int]:
        """Findings by severity, the accepted ones apart: each finding counts once."""
        open_ = [f for f in self.findings if f.accepted is None]
        return {
            "errors": sum(1 for f in open_ if f.severity is Severity.ERROR),
            "warnings": sum(1 for f in open_ if f.severity is Severity.WARNING),
            "info": sum(1 for f in open_ if f.severity is Severity.INFO),
            "accepted": len(self.findings) - len(open_),
        }

    def summary_line(self) -> str:
        """``2 errors, 1 warning, 3 accepted``: the totals every command prints (info and
        accepted only when there are any)."""
        return summary_text(self.counts())

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


def summary_text(counts: Mapping[str, int]) -> str:
    """The totals line of a report's ``summary`` counts (see :meth:`Report.counts`)."""

    def n(count: int, word: str, plural: str) -> str:
        return f"{count} {word if count == 1 else plural}"

    parts = [
        n(counts.get("errors", 0), "error", "errors"),
        n(counts.get("warnings", 0), "warning", "warnings"),
    ]
    if counts.get("info", 0):
        parts.append(f"{counts['info']} info")
    if counts.get("accepted", 0):
        parts.append(f"{counts['accepted']} accepted")
    return ", ".join(parts)


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
    # --- MC010-MC017: profile shape, OS versions, reading (mobileconfig/schema/check.py, reader.py) ---
    ("MC010", W, "top-level PayloadType not one Apple's schema knows",
     "Use PayloadType Configuration (or Profile Service for over-the-air enrolment) at the top level."),
    ("MC011", W, "payload or key needs a newer OS than the minimum platform version",
     "Raise the minimum version in platforms (or --platform), or leave the key out: older devices refuse the payload or ignore the key."),
    ("MC012", W, "payload or key deprecated by the minimum platform version",
     "Replace the key with its successor in Apple's documentation, or leave it out."),
    ("MC013", W, "payload or key removed by the minimum platform version",
     "Leave the key (or payload) out: devices on that version ignore or refuse it."),
    ("MC014", I, "payload type not in the bundled Apple schema",
     "Nothing to do when the type is right: only its common keys were checked. Check the type's spelling otherwise."),
    ("MC015", I, "NUL bytes or whitespace after the plist ignored",
     "Nothing to do: macOS and iOS ignore them. To silence this, save the profile again with a tool that does not pad it."),
    ("MC016", W, "bytes after the plist ignored",
     "Remove what follows </plist> (a second document, a mail signature, a text footer): macOS ignores it, but other tools refuse the file."),
    ("MC017", I, "PKCS#12 password not in the profile",
     "Nothing to do if users should type it: the device asks at install. Its certificate could not be checked here."),
    # --- end MC010-MC017 ---
    # --- MC030-MC039: MDM variables (mobileconfig/mdm.py; spec: mdm:, --mdm) ---
    ("MC030", I, "check depends on an MDM variable",
     "Nothing to fix: the MDM fills in the value for each device. To check it, build the "
     "profile once with a real value (--var) or inspect the profile the MDM sends to a device."),
    ("MC031", W, "unknown MDM variable",
     "Use a name the MDM documents (docs/mdm.md lists them), or add the name to "
     "mdm_variables if your MDM defines it (a custom attribute, a secret)."),
    ("MC032", I, "value looks like an MDM variable but no MDM is set",
     "Set mdm: in the spec (or --mdm) to the MDM the profile is for, so that its variables "
     "pass through and the checks that depend on them are reported."),
    # --- end MC030-MC039 ---
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
    ("MC210", E, "signer given without its issuer (incomplete signer chain)",
     "Give the signer's intermediates: --sign-chain FILE, sign: chain: [...], a PKCS#12 that "
     "holds them, or the spec's certificates:. If the MDM adds the chain itself, pass "
     "--allow-incomplete-signer-chain (or sign: allow_incomplete_chain: true)."),
    ("MC211", I, "signer's intermediate taken from the profile's certificates",
     "Nothing to do: the signature carries it. To silence this, give it with the signer "
     "(--sign-chain, sign: chain:)."),
    ("MC212", W, "signer certificate expires before the profile's removal date",
     "Sign with a certificate that outlives RemovalDate / DurationUntilRemoval, or move the "
     "removal date before the signer expires, or plan to sign and push the profile again."),
    ("MC213", E, "signer PKCS#12 holds more than one private key",
     "Export the signing identity alone to its own .p12 (one key and its certificates)."),
    # --- end MC2xx ---
    # --- MC3xx: identities and secrets (mobileconfig/pki/identities/, secrets.py) ---
    ("MC301", I, "modern PKCS#12 re-encoded for Apple devices",
     "Nothing to do: the profile carries a 3DES/SHA-1 copy. To silence this, export the .p12 "
     "with 'openssl pkcs12 -export -legacy'."),
    ("MC302", I, "PKCS#12 password embedded in the profile",
     "Set embed_password: false on the identity so the user types the password at install, "
     "issue the identity with SCEP or ACME instead, or encrypt the profile to the device."),
    ("MC303", W, "PKCS#12 written in the modern format that Apple devices refuse",
     "Use the apple format (the default) unless every target device reads PBES2/AES PKCS#12."),
    ("MC304", W, "secret written inline in the spec",
     "Move the value out of the spec: {env: NAME}, {file: path} or {prompt: true}."),
    ("MC305", W, "SCEP over plain HTTP without a CA fingerprint",
     "Set the SCEP CAFingerprint to the CA certificate's fingerprint, or use an https URL."),
    ("MC306", I, "intermediate from a PKCS#12 added to the profile",
     "Nothing to do; to make it explicit, list the intermediate under certificates."),
    ("MC307", E, "PKCS#12 cannot be opened with the password in the profile",
     "Embed the identity's real password, or leave Password out so the user types it at install."),
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
    # --- MC511-MC519: what a service check could not do (mobileconfig/services/) ---
    ("MC511", I, "server certificate not checked: no server_certificate given",
     "Add server_certificate: with the server's certificate file (PEM, its chain if you have "
     "it) to the section, or run mobileconfig probe --spec against the live server."),
    # --- end MC511-MC519 ---
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
    # --- MC606-MC609: Certificate Transparency (mobileconfig/probe/ct.py) ---
    ("MC606", E, "publicly trusted server certificate without SCTs",
     "Use a certificate from a public CA that embeds SCTs (all of them do by default), or "
     "have the server staple an OCSP response carrying SCTs."),
    ("MC607", E, "too few SCTs from distinct logs for Apple's CT policy",
     "Reissue the certificate so that it embeds SCTs from enough distinct logs for its "
     "lifetime (2 up to 180 days, 3 up to 398), or deliver SCTs by OCSP stapling."),
    ("MC608", I, "Certificate Transparency: what was and was not checked",
     "Nothing to fix. Log approval and log operators need Apple's current log list; check "
     "them at https://support.apple.com/103214 if a device still refuses the server."),
    # --- end MC606-MC609 ---
    # --- end MC6xx ---
    # --- MC7xx: plan, what an update changes on devices (mobileconfig/planning.py) ---
    ("MC701", E, "profile PayloadIdentifier changed",
     "Keep OLD's PayloadIdentifier (the spec's identifier:), or remove OLD from the devices "
     "before NEW is installed."),
    ("MC702", W, "certificate removed",
     "Keep the certificate until nothing that chains to it is in use, or ship its "
     "replacement first and move the servers and identities to it."),
    ("MC703", W, "account or network payload removed or its PayloadIdentifier changed",
     "Keep the payload, with its PayloadIdentifier (same section name, address, SSID or "
     "name in the spec), unless the account or network is meant to go."),
    ("MC704", W, "identity used by S/MIME removed or replaced",
     "Keep the old identity installed beside the new one (list both under identities:, "
     "the old one unused), so mail encrypted to it stays readable."),
    ("MC705", I, "signing changed",
     "Nothing to do if intended; otherwise sign NEW as OLD was (sign: in the spec, or "
     "mobileconfig sign)."),
    # --- end MC7xx ---
    # --- MC8xx: declarative output (mobileconfig/ddm/) ---
    ("MC801", E, "declaration does not follow Apple's schema",
     "Write the key with the type and one of the values Apple's schema gives; add the keys it requires."),
    ("MC802", W, "declaration key Apple does not define",
     "Remove the key or correct its spelling; the device reports Error.UnknownPayloadKeys."),
    ("MC803", E, "reference to a declaration that is not in the output, or of the wrong type",
     "Point the key at the Identifier of a declaration of a type the key accepts, in the same output."),
    ("MC804", E, "asset or profile URL is not https",
     "Serve the folder over https and give that URL as --ddm-base-url."),
    ("MC805", E, "identifier or server token longer than 64 octets, empty, or used twice",
     "Give every declaration its own Identifier and a ServerToken of at most 64 octets."),
    ("MC806", W, "declaration or key missing from a listed platform or version",
     "Raise the platform's minimum version in platforms:, or remove the platform or the setting."),
    ("MC807", W, "identity without an embedded password stays in the legacy profile",
     "Set embed_password: true if the identity should be a credential asset (the password is then in the asset, served with MDM authentication)."),
    ("MC808", I, "identity used only by legacy payloads stays in the legacy profile",
     "Nothing to do: the identity travels with the payloads that use it, so the device installs or enrols it once."),
    ("MC809", W, "a listed platform cannot take the declaration; the account stays in the legacy profile",
     "Remove the platform from platforms: (or build a separate spec for it), or use scope: user for macOS mail."),
    ("MC810", W, "spec option without a declaration equivalent; the account stays in the legacy profile",
     "Remove the option (tls: false, prevent_move, ...) or accept the legacy profile for this account."),
    ("MC811", I, "payloads delivered in a legacy profile",
     "Nothing to do: Apple has no declaration for these payloads; the legacy configuration installs them."),
    ("MC812", E, "payload that a legacy profile may not carry",
     "Remove the com.apple.mdm or com.apple.declarations payload from payloads:; the MDM itself provides them."),
    ("MC813", E, "asset file does not match its declared size or SHA-256",
     "Rebuild the folder with mobileconfig build --ddm instead of editing files in it, and serve it as written."),
    ("MC814", E, "file missing from the declarative output folder",
     "Rebuild the folder with mobileconfig build --ddm and copy all of it to the server."),
    ("MC815", E, "secret-bearing asset readable by others or served without MDM authentication",
     "Rebuild the folder (secret assets are written 0600 with Authentication Type MDM) and keep those modes when copying (cp -p, rsync -p)."),
    ("MC816", E, "declaration-items.json does not match the declarations",
     "Rebuild the folder with mobileconfig build --ddm; never edit a declaration without its ServerToken and the items file."),
    ("MC817", E, "file in the folder is not a readable declaration or profile",
     "Remove the file, or rebuild the folder with mobileconfig build --ddm."),
    ("MC818", I, "configuration not activated, or asset not used by any configuration",
     "Add the configuration to an activation, or remove the unused declaration."),
    # --- end MC8xx ---
)
# fmt: on
