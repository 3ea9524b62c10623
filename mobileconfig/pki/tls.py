"""Apple's rules for TLS server certificates (iOS 13, macOS 10.15 and later), offline.

:func:`check_server_certificate` judges the certificate chain a server presents (read from
a file here; a live ``probe`` passes what the server sent) against what an Apple device
demands, and returns one finding per broken rule, each with its fix:

- the host must be in the subjectAltName: a ``dNSName`` (a wildcard stands for exactly one
  leftmost label, RFC 6125) or, for an IP address, an ``iPAddress``. The subject CN is
  ignored (MC501);
- extendedKeyUsage must contain serverAuth when the certificate was issued (notBefore) on or
  after 2019-07-01; an extendedKeyUsage without serverAuth fails whenever issued (MC502);
- keys judged by their own algorithm for the server and every CA above it (MC503): RSA and
  DSA of 2048 bits or more, EC on P-256, P-384 or P-521, Ed25519 as it is; and SHA-2
  signatures on the server and every issuing CA (MC504); a root's signature on itself is
  never checked by a device and does not count;
- issued on or after 2019-07-01: valid for at most 825 days (MC505); from a public root and
  issued on or after 2020-09-01: at most 398 days (MC506, checked when ``public_root``);
- valid now (MC507 expired, MC508 not yet valid) and not expiring within the warning window
  (MC509, 30 days by default), for the server and its CAs;
- a chain to a root the profile installs (MC510), built with
  :func:`mobileconfig.pki.chains.verify_chain` from the server's own intermediates and the
  profile's certificates.

Two other purposes share the checks, with the differences Apple's and the servers'
documentation give:

- ``purpose="ikev2"``: the name must be in the subjectAltName and serverAuth is required
  whatever the date (strongSwan's notes on Apple clients); the 825/398-day limits are TLS
  rules and are not applied.
- ``purpose="eap"``: ``host`` holds the profile's ``TLSTrustedServerNames`` patterns
  (several separated by spaces; none skips the name check), which Apple matches against
  the certificate's name with ``*`` wildcards (``wpa.*.example.com``); they are compared
  with the CN and the ``dNSName`` entries. Every
  certificate of ``bundle`` counts as an anchor (a RADIUS trust anchor may be the server's
  own certificate or an intermediate). Apple's 802.1X documents do not state the 2019 TLS
  rules, so extendedKeyUsage and the validity limits are not applied (a documented choice).

This module has no network code: the ``probe`` command reuses it with a live chain.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from mobileconfig.errors import Location
from mobileconfig.findings import Finding, make_finding
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.chains import Policy, verify_chain
from mobileconfig.pki.checks import key_problem
from mobileconfig.pki.paths import check_time
from mobileconfig.pki.policy import APPLE_CURVES

__all__ = [
    "MAX_VALIDITY_DAYS",
    "PUBLIC_MAX_VALIDITY_DAYS",
    "PUBLIC_RULE_FROM",
    "RULES_FROM",
    "Purpose",
    "certificate_names",
    "check_server_certificate",
    "matches_eap_name",
    "matches_host",
]

#: Certificates issued (notBefore) on or after this need serverAuth and at most 825 days.
RULES_FROM = datetime(2019, 7, 1, tzinfo=UTC)
#: Certificates from a public root issued on or after this live at most 398 days.
PUBLIC_RULE_FROM = datetime(2020, 9, 1, tzinfo=UTC)
MAX_VALIDITY_DAYS = 825
PUBLIC_MAX_VALIDITY_DAYS = 398

Purpose = Literal["tls", "ikev2", "eap"]

_WEAK_HASHES = frozenset({"md5", "sha1", "md2", "md4"})
# verify_chain codes this module reports under its own MC5xx codes (dates, keys, hashes).
_OWN_CHECKS = frozenset({"MC103", "MC104", "MC105", "MC106", "MC111", "MC112", "MC130"})
# The chain check asks only whether the chain holds together: strength is judged here.
_REACH_ONLY = Policy(
    min_rsa_bits=0,
    min_ec_bits=0,
    min_dsa_bits=0,
    curves=None,
    weak_hashes=frozenset(),
    expiry_warning=timedelta(0),
)


# -- names ----------------------------------------------------------------------------------------
def _san(cert: Certificate) -> x509.SubjectAlternativeName | None:
    try:
        ext = cert.x509.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return None
    return ext.value if isinstance(ext.value, x509.SubjectAlternativeName) else None


def certificate_names(cert: Certificate) -> list[str]:
    """The names a device matches a host against: the subjectAltName's dNSName and iPAddress
    entries, in the certificate's order."""
    san = _san(cert)
    if san is None:
        return []
    out: list[str] = []
    for entry in san:
        if isinstance(entry, x509.DNSName):
            out.append(entry.value)
        elif isinstance(entry, x509.IPAddress):
            out.append(str(entry.value))
    return out


def _normal(host: str) -> str:
    text = host.strip().rstrip(".").lower()
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError:
        return text


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return None


def _dns_match(pattern: str, host: str) -> bool:
    """RFC 6125: a ``*`` standing for the whole leftmost label matches exactly one label;
    it needs two labels after it, and partial-label wildcards (``w*.example.com``) are not
    honoured."""
    p, h = _normal(pattern), _normal(host)
    if not p or not h:
        return False
    if "*" not in p:
        return p == h
    first, _, rest = p.partition(".")
    if first != "*" or "*" in rest or rest.count(".") < 1:
        return False
    hfirst, _, hrest = h.partition(".")
    return bool(hfirst) and hrest == rest


def matches_host(cert: Certificate, host: str) -> bool:
    """True when ``host`` (a DNS name or an IP address) is in ``cert``'s subjectAltName."""
    san = _san(cert)
    if san is None:
        return False
    ip = _ip(host)
    if ip is not None:
        return any(value == ip for value in san.get_values_for_type(x509.IPAddress))
    return any(_dns_match(name, host) for name in san.get_values_for_type(x509.DNSName))


def matches_eap_name(cert: Certificate, pattern: str) -> bool:
    """True when a ``TLSTrustedServerNames`` pattern (``*`` matching within one label, as in
    ``wpa.*.example.com``) matches ``cert``'s CN or one of its dNSName entries."""
    labels = [re.escape(label).replace(r"\*", "[^.]*") for label in _normal(pattern).split(".")]
    rx = re.compile(r"\.".join(labels) + r"\Z")
    names = [cert.common_name or "", *cert.dns_names]
    return any(rx.match(_normal(n)) for n in names if n)


# -- the check ------------------------------------------------------------------------------------
def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")


def _quote(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "(none)"


class _Emitter:
    def __init__(self, host: str, location: Location | None, chain_label: str) -> None:
        self.host = host
        self.location = location
        self.chain = chain_label
        self.found: list[Finding] = []

    def __call__(
        self, code: str, cert: Certificate, role: str, message: str, fix: str | None = None
    ) -> None:
        self.found.append(
            make_finding(
                code,
                message,
                certificate=cert.ref(role),
                location=self.location,
                fix=fix,
                chain=self.chain,
            )
        )


def check_server_certificate(
    host: str,
    chain: Sequence[Certificate],
    *,
    bundle: Sequence[Certificate],
    at: datetime | None,
    public_root: bool = False,
    location: Location | None = None,
    purpose: Purpose = "tls",
    expiry_warning: timedelta = timedelta(days=30),
    setting: str = "the host in the profile",
    anchors: Sequence[Certificate] | None = None,
) -> list[Finding]:
    """Every rule of Apple's that the server certificate ``chain[0]`` breaks for ``host``.

    ``chain`` is what the server presents: its certificate first, then intermediates in any
    order. ``bundle`` is the profile's certificates; the chain must reach one of its roots
    (for ``purpose="eap"``, any of its certificates). With ``public_root`` the server's
    certificate comes from a public CA that devices trust already: the 398-day limit applies
    and, as the device's own trust store is not known offline, the chain is not checked
    against ``bundle``. ``at`` is the check time (now when None). ``setting`` names the
    profile setting a name mismatch can be fixed in (``mail[0].incoming.host``). ``anchors``,
    when given, are the only trusted certificates (an EAP payload's named anchors) and the
    rest of ``bundle`` may still supply intermediates, as the device's keychain does.

    Returns findings (codes MC501 to MC510); never raises for a finding.
    """
    if not chain:
        raise ValueError("the chain is empty: pass the server's certificate first")
    when = check_time(at)  # whole seconds, as the certificate states its dates
    leaf = chain[0]
    emit = _Emitter(host, location, leaf.display_name)
    role = "server certificate" if purpose != "eap" else "RADIUS server certificate"

    # The chain first, to know the issuers the key and hash rules apply to.
    path: tuple[Certificate, ...] = tuple(chain)
    if not public_root:
        # A RADIUS anchor may be any certificate; a TLS client's anchors are roots.
        if anchors is not None:
            trusted = list(anchors)
        elif purpose == "eap":
            trusted = list(bundle)
        else:
            trusted = [c for c in bundle if c.self_signed]
        pool = [*chain[1:], *(c for c in bundle if c not in trusted)]
        result = verify_chain(
            leaf,
            pool,
            trusted,
            at=when,
            policy=_REACH_ONLY,
        )
        path = result.path or (leaf,)
        blocking = [
            f for f in result.findings if f.severity.rank == 0 and f.code not in _OWN_CHECKS
        ]
        if blocking:
            where = (
                "a certificate of the profile"
                if purpose == "eap"
                else "a root the profile installs"
            )
            emit(
                "MC510",
                leaf,
                role,
                f"the certificate of {host} does not chain to {where}: {blocking[0].message}",
                fix=_chain_fix(blocking[0].code, purpose),
            )
    else:
        path = tuple(chain)

    _name_checks(emit, leaf, role, host, purpose, setting)
    _usage_checks(emit, leaf, role, host, purpose)
    _strength_checks(emit, path, role)
    if purpose == "tls":
        _validity_limits(emit, leaf, role, public_root)
    _date_checks(emit, path, role, when, expiry_warning)
    return emit.found


def _chain_fix(code: str, purpose: Purpose) -> str:
    if code == "MC101":
        return (
            "Configure the server to send its intermediate certificates, or add them and "
            "their root to the profile's certificates."
        )
    if code == "MC118":
        if purpose == "eap":
            return (
                "Add the RADIUS server's root (or the server certificate itself) to the "
                "profile's certificates and list it in eap.anchors."
            )
        return "Add the root that issued the server's chain to the profile's certificates."
    return (
        "Fix the server's chain (see the reason), or add the right CA certificates to the profile."
    )


def _role_of(i: int, cert: Certificate, role: str) -> str:
    if i == 0:
        return role
    return "root" if cert.self_signed else f"issuing CA {i}"


def _name_checks(
    emit: _Emitter, leaf: Certificate, role: str, host: str, purpose: Purpose, setting: str
) -> None:
    names = certificate_names(leaf)
    cn = leaf.common_name
    if purpose == "eap":
        patterns = host.split()
        if not patterns or any(matches_eap_name(leaf, p) for p in patterns):
            return
        carried = [n for n in [cn, *leaf.dns_names] if n]
        emit(
            "MC501",
            leaf,
            role,
            f"the RADIUS server's certificate names {_quote(carried)}; none matches the trusted "
            f"server name{'s' if len(patterns) > 1 else ''} {_quote(patterns)}",
            fix=f"Set eap.server_names to a name the certificate carries ({_quote(carried)}), "
            "or give the RADIUS server a certificate for that name.",
        )
        return
    if matches_host(leaf, host):
        return
    ip = _ip(host)
    if not names:
        note = (
            f"; its subject CN {cn!r} is ignored by Apple devices since iOS 13 and macOS 10.15"
            if cn
            else ""
        )
        message = f"the certificate of {host} has no subjectAltName{note}"
    else:
        ignored = f" (its CN {cn!r} is ignored)" if cn else ""
        message = (
            f"{host} is not in the certificate's subjectAltName{ignored}: it carries only "
            f"{_quote(names)}"
        )
        if ip is not None and str(ip) in leaf.dns_names:
            message += " (the address is written as a dNSName; devices want an iPAddress entry)"
    dns = [n for n in names if _ip(n) is None] if ip is None else names
    fix = f"Get a certificate for {host}"
    if dns:
        fix += f", or set {setting} to one of: {_quote(dns)}."
    else:
        fix += " with the name in its subjectAltName."
    emit("MC501", leaf, role, message, fix=fix)


def _usage_checks(
    emit: _Emitter, leaf: Certificate, role: str, host: str, purpose: Purpose
) -> None:
    if purpose == "eap":
        return
    eku = leaf.extended_key_usage
    if eku is not None:
        if {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE} & set(eku):
            return
        listed = ", ".join(getattr(o, "_name", o.dotted_string) for o in eku) or "empty"
        emit(
            "MC502",
            leaf,
            role,
            f"the certificate of {host} has an extendedKeyUsage without serverAuth ({listed})",
        )
        return
    if purpose == "ikev2":
        emit(
            "MC502",
            leaf,
            role,
            f"the certificate of {host} has no extendedKeyUsage; Apple's IKEv2 client wants "
            "serverAuth",
        )
    elif leaf.not_before >= RULES_FROM:
        emit(
            "MC502",
            leaf,
            role,
            f"the certificate of {host} was issued on {_day(leaf.not_before)}, after "
            "2019-07-01, and has no extendedKeyUsage: Apple devices require serverAuth",
        )


def _strength_checks(emit: _Emitter, path: Sequence[Certificate], role: str) -> None:
    for i, cert in enumerate(path):
        who = _role_of(i, cert, role)
        curve = getattr(getattr(cert.public_key, "curve", None), "name", None)
        problem = key_problem(
            cert.key_type,
            cert.key_bits,
            curve,
            min_rsa_bits=2048,
            min_dsa_bits=2048,
            min_ec_bits=256,
            curves=APPLE_CURVES,
        )
        if problem is not None:
            emit(
                "MC503",
                cert,
                who,
                f"the {who} '{cert.display_name}' has a {cert.key_description} key; Apple "
                f"devices require {problem.need} for TLS",
            )
        if cert.self_signed and i > 0:
            continue  # a root's signature on itself is not checked by devices
        digest = cert.signature_hash
        if digest in _WEAK_HASHES:
            emit(
                "MC504",
                cert,
                who,
                f"the {who} '{cert.display_name}' is signed with {digest.upper()}; Apple "
                "devices require SHA-2 for the server and every issuing CA",
            )


def _validity_limits(emit: _Emitter, leaf: Certificate, role: str, public_root: bool) -> None:
    days = (leaf.not_after - leaf.not_before) / timedelta(days=1)
    if public_root and leaf.not_before >= PUBLIC_RULE_FROM and days > PUBLIC_MAX_VALIDITY_DAYS:
        emit(
            "MC506",
            leaf,
            role,
            f"'{leaf.display_name}' from a public CA was issued on {_day(leaf.not_before)} for "
            f"{days:.0f} days; Apple devices refuse more than {PUBLIC_MAX_VALIDITY_DAYS} for "
            "public certificates issued from 2020-09-01",
        )
    elif leaf.not_before >= RULES_FROM and days > MAX_VALIDITY_DAYS:
        emit(
            "MC505",
            leaf,
            role,
            f"'{leaf.display_name}' was issued on {_day(leaf.not_before)} for {days:.0f} days; "
            f"Apple devices refuse TLS certificates issued after 2019-07-01 that are valid "
            f"for more than {MAX_VALIDITY_DAYS} days",
        )


def _date_checks(
    emit: _Emitter, path: Sequence[Certificate], role: str, when: datetime, window: timedelta
) -> None:
    for i, cert in enumerate(path):
        who = _role_of(i, cert, role)
        if cert.not_after < when:
            emit(
                "MC507",
                cert,
                who,
                f"the {who} '{cert.display_name}' expired on {_day(cert.not_after)}",
            )
        elif cert.not_before > when:
            emit(
                "MC508",
                cert,
                who,
                f"the {who} '{cert.display_name}' is not valid until {_day(cert.not_before)}",
            )
        elif window and cert.not_after - when <= window:
            left = (cert.not_after - when).days
            emit(
                "MC509",
                cert,
                who,
                f"the {who} '{cert.display_name}' expires on {_day(cert.not_after)}, in "
                f"{left} day{'s' if left != 1 else ''}",
            )
