"""The consequences of a plan's changes, as findings: MC701 to MC705."""

from __future__ import annotations

from mobileconfig.errors import Location
from mobileconfig.findings import Finding, make_finding
from mobileconfig.pki.certs import Certificate
from mobileconfig.planning.compare import CERTIFICATE_TYPES, Payload
from mobileconfig.planning.model import Change, ProfileSide, cert_label
from mobileconfig.planning.sides import Side

__all__ = ["ACCOUNT_TYPES", "MAX_NAMED_DEPENDENTS", "MAX_TRACED", "consequence_findings"]

_ENROLLED_IDENTITY_TYPES = frozenset({"com.apple.security.scep", "com.apple.security.acme"})

#: Payload types whose removal (or new PayloadIdentifier) deletes an account or a network
#: and what the device kept with it (MC703): type -> (what it is, what the device loses).
ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    "com.apple.mail.managed": (
        "mail account",
        "the device deletes the account and its local mail, which downloads again",
    ),
    "com.apple.eas.account": (
        "Exchange account",
        "the device deletes the account with its local mail, contacts, calendars and notes, "
        "which sync again",
    ),
    "com.apple.wifi.managed": (
        "Wi-Fi network",
        "the device forgets the network and its credentials, and leaves it if connected",
    ),
    "com.apple.vpn.managed": (
        "VPN configuration",
        "the device deletes the VPN configuration and drops the tunnel if it is up",
    ),
    "com.apple.firstactiveethernet.managed": (
        "802.1X Ethernet configuration",
        "the Mac forgets the wired network's 802.1X settings",
    ),
    "com.apple.globalethernet.managed": (
        "802.1X Ethernet configuration",
        "the Mac forgets the wired network's 802.1X settings",
    ),
}

#: Keys by which a mail or Exchange account names the identity S/MIME decrypts with.
SMIME_ENCRYPTION_KEYS = ("SMIMEEncryptionCertificateUUID",)


def consequence_findings(
    before: Side,
    after: Side,
    olds: list[Payload],
    news: list[Payload],
    removed: list[Payload],
    modified: list[tuple[Payload, Payload, Change]],
    renamed: bool,
) -> list[Finding]:
    where = Location(after.info.source)  # the consequences are about NEW as a whole
    out: list[Finding] = []
    if renamed:
        out.append(
            make_finding(
                "MC701",
                f"the profile's PayloadIdentifier changes from '{before.info.identifier}' to "
                f"'{after.info.identifier}': devices install NEW beside OLD, with two copies "
                "of every certificate and account",
                location=after.location,
            )
        )
    out.extend(_removed_certificates(before, after, olds, news, where))
    out.extend(_accounts(removed, modified, where))
    out.extend(_smime(olds, removed, modified, where))
    signing = _signing(before.info, after.info, where)
    if signing is not None:
        out.append(signing)
    return out


def _removed_certificates(
    before: Side, after: Side, olds: list[Payload], news: list[Payload], where: Location | None
) -> list[Finding]:
    kept = {p.certificate.sha256 for p in news if p.certificate and p.ptype in CERTIFICATE_TYPES}
    graph: _Graph | None = None
    out = []
    seen: set[str] = set()
    for p in olds:
        cert = p.certificate
        if cert is None or p.ptype not in CERTIFICATE_TYPES:
            continue
        if cert.sha256 in kept or cert.sha256 in seen:
            continue
        seen.add(cert.sha256)
        graph = graph or _Graph(before, after, olds, news)
        message = (
            f"certificate {cert_label(cert)} is removed: devices stop trusting it and "
            "what it issued"
        )
        uses = graph.dependents(cert, p)
        if uses:
            shown = uses[:MAX_NAMED_DEPENDENTS]
            more = len(uses) - len(shown)
            message += "; chains to it: " + ", ".join(shown) + (f" and {more} more" if more else "")
        successor = graph.successors.get((cert.subject_der, cert.spki_der))
        if successor is not None:
            message += (
                f"; NEW holds {cert_label(successor)} with the same subject and key, so what it "
                "issued still chains"
            )
        out.append(
            make_finding(
                "MC702", message, certificate=cert.ref("removed certificate"), location=where
            )
        )
    return out


#: At most this many certificates are visited, in all, to find what chains to removed
#: certificates: a hostile profile cannot make the plan quadratic.
MAX_TRACED = 20_000
#: A removed certificate's finding names at most this many things that chain to it.
MAX_NAMED_DEPENDENTS = 12


class _Graph:
    """Who relies on which certificate, in OLD and NEW together, indexed once."""

    def __init__(self, before: Side, after: Side, olds: list[Payload], news: list[Payload]) -> None:
        self.budget = MAX_TRACED
        #: issuer subject DER -> (certificate, what it is) for everything that has one
        self.children: dict[bytes, list[tuple[Certificate, str]]] = {}
        for p in (*olds, *news):
            if p.certificate is not None:
                kind = "certificate" if p.ptype in CERTIFICATE_TYPES else "identity"
                self._add(p.certificate, f"{kind} '{p.certificate.common_name or p.name}'")
        for use in (*before.servers, *after.servers):
            if use.chain:
                self._add(use.chain[0], use.label)
                for c in use.chain[1:]:
                    self._add(c, f"certificate '{c.display_name}'")
        #: certificate payload UUID in OLD -> networks that anchor their RADIUS trust on it
        self.anchors: dict[str, list[str]] = {}
        for p in olds:
            eap = p.plist.get("EAPClientConfiguration")
            listed = eap.get("PayloadCertificateAnchorUUID") if isinstance(eap, dict) else None
            for target in listed if isinstance(listed, list) else []:
                ssid = p.plist.get("SSID_STR")
                what = ssid if isinstance(ssid, str) else p.name or p.identifier
                kind = "Wi-Fi" if p.ptype == "com.apple.wifi.managed" else "802.1X"
                self.anchors.setdefault(str(target), []).append(
                    f"{kind} '{what}' (RADIUS trust anchor)"
                )
        #: issuer common name -> VPN configurations that check their server by it
        self.vpn_issuers: dict[str, list[str]] = {}
        for p in (*olds, *news):
            ikev2 = p.plist.get("IKEv2")
            issuer = (
                ikev2.get("ServerCertificateIssuerCommonName") if isinstance(ikev2, dict) else None
            )
            if isinstance(issuer, str):
                self.vpn_issuers.setdefault(issuer, []).append(
                    f"VPN '{p.name or p.identifier}' (server certificate issuer)"
                )
        #: (subject, key) -> NEW's certificate with them: a renewal of a removed CA
        self.successors = {
            (p.certificate.subject_der, p.certificate.spki_der): p.certificate
            for p in news
            if p.certificate is not None and p.ptype in CERTIFICATE_TYPES
        }

    def _add(self, cert: Certificate, label: str) -> None:
        if not cert.self_issued:
            self.children.setdefault(cert.issuer_der, []).append((cert, label))

    def dependents(self, cert: Certificate, payload: Payload) -> list[str]:
        """What relies on ``cert``: what it issued (at any depth), RADIUS trust anchors,
        VPN server issuers, and the servers the specs name, each once."""
        uses: dict[str, None] = {}
        found: set[str] = {cert.sha256}
        frontier = [cert]
        while frontier and self.budget > 0:
            issuer = frontier.pop()
            for child, label in self.children.get(issuer.subject_der, []):
                self.budget -= 1
                aki, ski = child.authority_key_identifier, issuer.subject_key_identifier
                if aki is not None and ski is not None and aki != ski:
                    continue
                uses[label] = None  # one certificate may serve several servers
                if child.sha256 not in found:
                    found.add(child.sha256)
                    frontier.append(child)
        if frontier:
            uses["(more not traced)"] = None
        for label in self.anchors.get(payload.uuid or "", []):
            uses[label] = None
        for label in self.vpn_issuers.get(cert.common_name or "", []) if cert.common_name else []:
            uses[label] = None
        return list(uses)


def _accounts(
    removed: list[Payload],
    modified: list[tuple[Payload, Payload, Change]],
    where: Location | None,
) -> list[Finding]:
    out = []
    for p in removed:
        if p.ptype in ACCOUNT_TYPES:
            what, loss = ACCOUNT_TYPES[p.ptype]
            out.append(
                make_finding(
                    "MC703", f"{what} '{_account_name(p)}' is removed: {loss}", location=where
                )
            )
    for a, b, _ in modified:
        if b.ptype in ACCOUNT_TYPES and a.key != b.key:
            what, loss = ACCOUNT_TYPES[b.ptype]
            out.append(
                make_finding(
                    "MC703",
                    f"{what} '{_account_name(b)}' changes its PayloadIdentifier from "
                    f"'{a.identifier}' to '{b.identifier}', so the device replaces it instead "
                    f"of updating it: {loss}",
                    location=where,
                )
            )
    return out


def _account_name(p: Payload) -> str:
    for key in ("EmailAddress", "SSID_STR", "UserDefinedName", "Host"):
        value = p.plist.get(key)
        if isinstance(value, str) and value:
            return value
    return p.name or p.identifier or p.ptype


def _smime(
    olds: list[Payload],
    removed: list[Payload],
    modified: list[tuple[Payload, Payload, Change]],
    where: Location | None,
) -> list[Finding]:
    """MC704: an identity that S/MIME decrypts with leaves the device."""
    users: dict[str, list[str]] = {}  # identity payload UUID -> accounts decrypting with it
    for p in olds:
        for key in SMIME_ENCRYPTION_KEYS:
            target = p.plist.get(key)
            if isinstance(target, str):
                users.setdefault(target, []).append(_account_name(p))
    out = []
    gone = {id(p) for p in removed}
    changed = {id(a): (a, b) for a, b, _ in modified}
    for p in olds:
        accounts = users.get(p.uuid or "")
        if not accounts:
            continue
        held = f", certificate {cert_label(p.certificate)}," if p.certificate is not None else ""
        name = p.name or p.identifier
        what: str | None = None
        if id(p) in gone:
            what = "is removed"
        elif id(p) in changed:
            what = _identity_replaced(*changed[id(p)])
        if what is None:
            continue
        out.append(
            make_finding(
                "MC704",
                f"identity '{name}'{held} which S/MIME in the account "
                f"{', '.join(sorted(set(accounts)))} decrypts with, {what}: mail encrypted to "
                "it can no longer be read on the device",
                certificate=p.certificate.ref("S/MIME identity") if p.certificate else None,
                location=where,
            )
        )
    return out


def _identity_replaced(a: Payload, b: Payload) -> str | None:
    """How the identity changed, or None when the device keeps the same key."""
    if a.ptype in _ENROLLED_IDENTITY_TYPES or b.ptype in _ENROLLED_IDENTITY_TYPES:
        same = {k: v for k, v in a.content.items() if k != "PayloadDisplayName"} == {
            k: v for k, v in b.content.items() if k != "PayloadDisplayName"
        }
        return None if same else "changes, so the device enrolls a new key"
    if a.certificate is not None and b.certificate is not None:
        if a.certificate.sha256 == b.certificate.sha256:
            return None
        return f"is replaced by {cert_label(b.certificate)}"
    if a.content.get("PayloadContent") == b.content.get("PayloadContent"):
        return None
    return "is replaced by a different PKCS#12 (its certificate is not readable without a password)"


def _signing(old: ProfileSide, new: ProfileSide, where: Location | None) -> Finding | None:
    if old.signed and not new.signed:
        signer = f" by {cert_label(old.signer)}" if old.signer else ""
        return make_finding(
            "MC705",
            f"OLD is signed{signer} and NEW is not: users who install it by hand no longer "
            "see it as Verified",
            location=where,
        )
    if old.signer is not None and new.signer is not None and old.signer.sha256 != new.signer.sha256:
        return make_finding(
            "MC705",
            f"the signer changes from {cert_label(old.signer)} to {cert_label(new.signer)}",
            certificate=new.signer,
            location=where,
        )
    return None
