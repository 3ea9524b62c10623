"""The judging half of a probe: every finding about the chain a server sent and the TLS it
negotiated, the way an Apple device would see them. No network here.

- every rule of :func:`mobileconfig.pki.tls.check_server_certificate` (MC501 to MC510: the
  name, serverAuth, key sizes, SHA-2, validity limits, dates, a chain to a root);
- the server sends its intermediates (MC601, MC602): a desktop browser often fills a gap
  from its cache or by downloading the missing issuer; iOS Mail, per field reports, does
  not, so "works in the browser, fails in Mail";
- the order of what it sends (MC604), the TLS version (MC603: 1.2 or later) and forward
  secrecy of the cipher (MC605);
- Certificate Transparency (MC606 to MC608, :mod:`mobileconfig.probe.ct`): for a
  certificate that chains to a public root, the SCTs embedded in it and in a stapled OCSP
  response, judged by Apple's CT policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from mobileconfig.errors import Location
from mobileconfig.findings import Finding, Report, make_finding
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.chains import ChainResult, Policy, verify_chain
from mobileconfig.pki.tls import check_server_certificate
from mobileconfig.probe.targets import label

__all__ = ["judge"]

#: TLS 1.2 suites (OpenSSL's names) with an ephemeral key exchange.
_FORWARD_SECRET = ("ECDHE-", "DHE-", "EDH-")
_GOOD_TLS_VERSIONS = frozenset({"TLSv1.2", "TLSv1.3"})
# verify_chain's codes for "the path stops before an anchor".
_STOPS = frozenset({"MC101", "MC102", "MC110", "MC115", "MC118"})


# -- the checks ---------------------------------------------------------------------

#: Path building for reachability only: keys, hashes and dates are tls.py's to judge
#: (MC503, MC504, MC507), so they do not stop a path here.
_REACH = Policy(min_rsa_bits=0, min_ec_bits=0, weak_hashes=frozenset(), expiry_warning=timedelta(0))


def _reaches(result: ChainResult) -> bool:
    return not any(f.code in _STOPS for f in result.findings)


def _issuer_url(cert: Certificate) -> str | None:
    try:
        ext = cert.x509.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except x509.ExtensionNotFound:
        return None
    if not isinstance(ext.value, x509.AuthorityInformationAccess):
        return None
    for desc in ext.value:
        loc = desc.access_location
        if desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS and isinstance(
            loc, x509.UniformResourceIdentifier
        ):
            return loc.value
    return None


def _names(certs: Sequence[Certificate]) -> str:
    return ", ".join(f"'{c.display_name}'" for c in certs)


@dataclass(frozen=True)
class _Seen:
    """One server's chain and what the device has, shared by the checks below."""

    target: str
    chain: Sequence[Certificate]
    intermediates: Sequence[Certificate]  # the profile's non-root certificates
    anchors: Sequence[Certificate]  # the profile's roots, then the public ones if trusted
    public: Sequence[Certificate]
    emit: Callable[[str, Certificate, str, str], Finding]

    @property
    def leaf(self) -> Certificate:
        return self.chain[0]


def judge(
    host: str,
    chain: Sequence[Certificate],
    *,
    tls_version: str,
    cipher: str,
    bundle: Sequence[Certificate] = (),
    public_roots: bool = False,
    at: datetime | None = None,
    expiry_warning: timedelta = timedelta(days=30),
    location: Location | None = None,
    setting: str = "the host in the profile",
    port: int | None = None,
    ocsp_response: bytes | None = None,
    ct: Literal["public", "always", "never"] = "public",
) -> Report:
    """Every finding about a chain a server sent (``chain``, in its order, the server's own
    certificate first) and the TLS it negotiated, without the network.

    ``bundle`` is the profile's certificates: its roots are trusted and its intermediates
    are on the device. With ``public_roots``, certifi's roots are trusted too. ``setting``
    names the spec setting a name mismatch is fixed in. ``ocsp_response`` is what the
    server stapled, if anything. ``ct``: judge Certificate Transparency for a certificate
    from a public root (Apple's rule), for ``always`` any, or ``never``. Never raises for a
    finding.
    """
    if not chain:
        raise ValueError("the chain is empty: pass the server's certificate first")
    public: list[Certificate] = []
    if public_roots:
        from mobileconfig.cms import public_roots as load_public_roots

        profile = {c.sha256 for c in bundle}
        public = [c for c in load_public_roots() if c.sha256 not in profile]
    chain_name = chain[0].display_name

    def emit(code: str, cert: Certificate, role: str, message: str) -> Finding:
        return make_finding(
            code, message, certificate=cert.ref(role), location=location, chain=chain_name
        )

    seen = _Seen(
        target=label(host, port) if port is not None else host,
        chain=chain,
        intermediates=[c for c in bundle if not c.self_signed],
        anchors=[*(c for c in bundle if c.self_signed), *public],
        public=public,
        emit=emit,
    )
    # The best path, with the profile's intermediates: what a device with the profile builds.
    full = verify_chain(
        seen.leaf, [*chain[1:], *seen.intermediates], seen.anchors, at=at, policy=_REACH
    )
    report = Report()
    report.extend(
        _certificate_rules(
            host,
            seen,
            full,
            bundle=bundle,
            at=at,
            expiry_warning=expiry_warning,
            location=location,
            setting=setting,
        )
    )
    report.extend(_intermediates(seen, full, at))
    report.extend(_order(seen, full))
    report.extend(_negotiated(seen, tls_version, cipher))
    if ct == "always" or (ct == "public" and _from_public_root(seen, full)):
        report.extend(_transparency(seen, ocsp_response))
    return report


def _from_public_root(seen: _Seen, full: ChainResult) -> bool:
    top = full.path[-1]
    public_keys = {(c.subject_der, c.spki_sha256) for c in seen.public}
    return _reaches(full) and (top.subject_der, top.spki_sha256) in public_keys


def _transparency(seen: _Seen, ocsp_response: bytes | None) -> list[Finding]:
    """MC606 / MC607 / MC608: Apple's CT policy on the server's certificate."""
    from mobileconfig.probe import ct

    verdict = ct.evaluate(seen.leaf, ocsp_response=ocsp_response)
    return ct.findings(verdict, seen.leaf, target=seen.target, emit=seen.emit)


def _certificate_rules(
    host: str,
    seen: _Seen,
    full: ChainResult,
    *,
    bundle: Sequence[Certificate],
    at: datetime | None,
    expiry_warning: timedelta,
    location: Location | None,
    setting: str,
) -> list[Finding]:
    """tls.py's rules (MC501 to MC510) on the chain as sent; the public roots, when
    trusted, count as roots for its chain check."""
    found = check_server_certificate(
        host,
        seen.chain,
        bundle=[*bundle, *seen.public],
        at=at,
        public_root=False,
        location=location,
        expiry_warning=expiry_warning,
        setting=setting,
    )
    top = full.path[-1]
    public_keys = {(c.subject_der, c.spki_sha256) for c in seen.public}
    if _reaches(full) and (top.subject_der, top.spki_sha256) in public_keys:
        # From a public root: the 398-day rule (MC506), which tls.py applies only with
        # public_root=True (and then skips its chain check), replaces the 825-day one.
        public_rule = check_server_certificate(
            host,
            seen.chain,
            bundle=[],
            at=at,
            public_root=True,
            location=location,
            expiry_warning=expiry_warning,
            setting=setting,
        )
        mc506 = [f for f in public_rule if f.code == "MC506"]
        if mc506:
            found = [f for f in found if f.code != "MC505"] + mc506
    return found


def _intermediates(seen: _Seen, full: ChainResult, at: datetime | None) -> list[Finding]:
    """MC601 / MC602: does the chain as sent reach a root without help?"""
    as_sent = verify_chain(seen.leaf, seen.chain[1:], seen.anchors, at=at, policy=_REACH)
    if _reaches(as_sent) or not any(f.code == "MC101" for f in as_sent.findings):
        return []  # complete, or broken in a way tls.py's MC510 reports
    if _reaches(full):
        known = {c.sha256 for c in [*seen.chain, *seen.anchors]}
        added = [c for c in full.path[1:] if c.sha256 not in known]
        if not added:  # pragma: no cover - a path that needed nothing new was complete
            return []
        them = "that intermediate" if len(added) == 1 else "those intermediates"
        return [
            seen.emit(
                "MC602",
                added[0],
                "intermediate not sent by the server",
                f"{seen.target} does not send {_names(added)}: devices with this profile "
                f"still trust it, because the profile installs {them}; devices without the "
                "profile, and other clients, fail.",
            )
        ]
    end = full.path[-1]
    aki = end.authority_key_identifier
    kid = f" (key id {aki.hex(':').upper()})" if aki else ""
    url = _issuer_url(end)
    published = f"; the certificate says it is published at {url}" if url else ""
    nowhere = "the profile" + (" nor the public roots" if seen.public else "")
    if end == seen.leaf:
        start = f"{seen.target} sends only its own certificate '{end.display_name}'"
        role = "end-entity certificate"
    else:
        via = "" if end in seen.chain else ", an intermediate from the profile"
        start = f"the chain {seen.target} sends ends at '{end.display_name}'{via}"
        role = "last certificate of the chain"
    return [
        seen.emit(
            "MC601",
            end,
            role,
            f"{start}: its issuer '{end.issuer_text}'{kid} is neither sent by the server nor "
            f"in {nowhere}{published}. If '{end.issuer_common_name or end.issuer_text}' is an "
            "intermediate CA, the server must send it; if it is your root, the profile must "
            "install it.",
        )
    ]


def _order(seen: _Seen, full: ChainResult) -> list[Finding]:
    """MC604: Apple devices sort a chain out themselves; other clients may not."""
    sent = seen.chain[1:]
    on_path = {c.sha256: i for i, c in enumerate(full.path)}
    extra = [c for c in sent if c.sha256 not in on_path]
    used = [on_path[c.sha256] for c in sent if c.sha256 in on_path]
    in_order = used == list(range(1, len(used) + 1))
    if in_order and not extra:
        return []
    parts = []
    if not in_order:
        order = " → ".join(f"'{c.display_name}'" for c in seen.chain)
        parts.append(f"sends its chain out of order ({order})")
    if extra:
        parts.append(f"sends certificates that are not on its chain: {_names(extra)}")
    return [
        seen.emit(
            "MC604",
            extra[0] if extra else seen.leaf,
            "certificate sent" if extra else "server certificate",
            f"{seen.target} " + " and ".join(parts) + ".",
        )
    ]


def _negotiated(seen: _Seen, tls_version: str, cipher: str) -> list[Finding]:
    """MC603 (TLS before 1.2) and MC605 (TLS 1.2 without forward secrecy)."""
    if tls_version not in _GOOD_TLS_VERSIONS:
        return [
            seen.emit(
                "MC603",
                seen.leaf,
                "server certificate",
                f"{seen.target} negotiated {tls_version} ({cipher}) with a client offering "
                "TLS 1.0 to 1.3: Apple devices require TLS 1.2 or later.",
            )
        ]
    if tls_version == "TLSv1.2" and not cipher.startswith(_FORWARD_SECRET):
        return [
            seen.emit(
                "MC605",
                seen.leaf,
                "server certificate",
                f"{seen.target} chose {cipher} under TLS 1.2: RSA key exchange, without "
                "forward secrecy. Apps that keep App Transport Security's defaults refuse it.",
            )
        ]
    return []
