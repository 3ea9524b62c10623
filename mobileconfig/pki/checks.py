"""The checks on certificates and on their paths, and the words of every chain finding.

:class:`Checks` turns what :mod:`mobileconfig.pki.paths` found into findings, one per
(code, certificate), with details gathered per certificate (every certificate a dead CA
takes down with it, every child of an issuer that may not issue). Messages are built here
and nowhere else, so their wording stays consistent and tests can match on it.

Three kinds of check:

- one certificate on its own (:meth:`Checks.certificate`): dates, key, signature hash,
  critical extensions; the key judged by its own algorithm (RSA, DSA and EC each have their
  floor; EC keys must be on a curve Apple accepts; Ed25519 passes);
- issuance lints (:meth:`Checks.lint`, MC119 to MC128): what RFC 5280 §4.2 says a
  conforming CA must do, as warnings on the certificate concerned. Devices mostly cope, but
  a CA that breaks these rules tends to break the next ones;
- a path (:meth:`Checks.path`): each link (is the issuer a CA, may it sign certificates,
  does it outlive its child), pathLenConstraint, and where and why the path stops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from cryptography import x509

from mobileconfig.findings import Finding, make_finding
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.paths import (
    BAD_SIGNATURE,
    CUT,
    LOOP,
    MISSING,
    NOT_SELF_SIGNED,
    TOO_LONG,
    UNTRUSTED_ROOT,
    ChainIndex,
    Node,
    Path,
)
from mobileconfig.pki.policy import APPLE_PRIVATE_EXTENSION_PREFIX, EXTENSION_NAMES, Policy

__all__ = ["STOP_CODES", "Checks", "KeyProblem", "key_problem"]

#: Codes that say where and why a path stops short of an anchor.
STOP_CODES = frozenset({"MC101", "MC102", "MC110", "MC115", "MC118", "MC129"})

_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

# Extensions RFC 5280 §4.2 says conforming CAs must mark non-critical.
_MUST_NOT_BE_CRITICAL = ("2.5.29.35", "2.5.29.14", "1.3.6.1.5.5.7.1.1")


# --------------------------------------------------------------------------------------
# Keys, judged by their own algorithm


class KeyProblem:
    """Why a key is refused: ``code`` is "MC112" (too small) or "MC130" (a curve devices do
    not accept); ``why`` finishes the sentence "it has ...", ``need`` says what is required."""

    __slots__ = ("code", "need", "why")

    def __init__(self, code: str, why: str, need: str) -> None:
        self.code, self.why, self.need = code, why, need


def curve_label(curve: str | None) -> str:
    return _CURVE_NAMES.get(curve or "", curve or "an unknown curve")


def key_problem(
    kind: str,
    bits: int,
    curve: str | None,
    *,
    min_rsa_bits: int,
    min_dsa_bits: int,
    min_ec_bits: int,
    curves: frozenset[str] | None,
) -> KeyProblem | None:
    """What is wrong with a key of type ``kind`` ("RSA", "DSA", "EC", "Ed25519"...), size
    ``bits`` and, for EC, ``curve``; None when nothing is. Never an RSA floor for a key
    that is not RSA."""
    if kind == "RSA" and bits < min_rsa_bits:
        return KeyProblem(
            "MC112", f"a {bits}-bit RSA key", f"RSA keys of at least {min_rsa_bits} bits"
        )
    if kind == "DSA" and bits < min_dsa_bits:
        return KeyProblem(
            "MC112", f"a {bits}-bit DSA key", f"DSA keys of at least {min_dsa_bits} bits"
        )
    if kind == "EC":
        if bits < min_ec_bits:
            return KeyProblem(
                "MC112",
                f"a {bits}-bit EC key ({curve_label(curve)})",
                f"EC keys of at least {min_ec_bits} bits",
            )
        if curves is not None and curve not in curves:
            allowed = ", ".join(sorted(curve_label(c) for c in curves)) or "no curve"
            return KeyProblem(
                "MC130",
                f"an EC key on {curve_label(curve)}",
                f"EC keys on {allowed}",
            )
    return None


# --------------------------------------------------------------------------------------
# Words


def quote(node: Node | Certificate) -> str:
    return f"'{node.display_name}'"


def day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")


def days(delta: timedelta) -> str:
    n = abs(delta).days
    if n == 0:
        return "less than a day"
    return f"{n} day{'s' if n != 1 else ''}"


def hex_id(value: bytes) -> str:
    return ":".join(f"{b:02X}" for b in value)


def names(nodes: Sequence[Node], limit: int = 3) -> str:
    shown = ", ".join(quote(n) for n in nodes[:limit])
    more = len(nodes) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def key_id(node: Node) -> str:
    ski = node.subject_key_identifier
    return f"key id {hex_id(ski)}" if ski else "no subject key identifier"


def _extension_name(oid: str) -> str:
    known = EXTENSION_NAMES.get(oid)
    return f"{oid} ({known})" if known else oid


_KEY_USAGES = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def _key_usages(ku: x509.KeyUsage) -> list[str]:
    return [label for attr, label in _KEY_USAGES if getattr(ku, attr)]


_DIGESTS = {"sha1": "SHA-1", "md5": "MD5", "md4": "MD4", "md2": "MD2"}


# --------------------------------------------------------------------------------------
# The checks


class Checks:
    """Collects findings, one per (code, certificate), details aggregated per certificate."""

    def __init__(
        self,
        *,
        policy: Policy,
        index: ChainIndex,
        role: Callable[[Node], str],
        chain: Callable[[Node], str | None],
        pool: str,
    ) -> None:
        self.policy = policy
        self.index = index
        self.at = index.at
        self.role = role
        self.chain = chain
        self.pool = pool  # "in the bundle", "among the certificates given"
        self.found: dict[tuple[str, str], Finding] = {}
        self._checked: set[str] = set()
        self._links: set[str] = set()  # (child, issuer) by their SHA-256s, joined
        # aggregated per certificate: sha256 -> (certificate, the others involved)
        self._outlived: dict[str, tuple[Node, list[Node]]] = {}
        self._not_ca: dict[str, tuple[Node, list[Node]]] = {}
        self._no_cert_sign: dict[str, tuple[Node, list[Node]]] = {}
        self._too_deep: dict[str, tuple[Node, list[tuple[Node, int]]]] = {}
        self._too_long: list[Path] = []
        self._dead_cas: list[tuple[str, Node, str]] = []
        self._lint_links: Callable[[Node], bool] | None = None

    def emit(
        self, code: str, node: Node, message: str, *, key: str | None = None, fix: str | None = None
    ) -> None:
        k = (code, key or node.sha256)
        if k in self.found:
            return
        cert = node.cert
        self.found[k] = make_finding(
            code,
            message,
            certificate=cert.ref(self.role(node)),
            location=cert.origin,
            chain=self.chain(node),
            fix=fix,
        )

    # -- one certificate on its own -----------------------------------------------------
    def certificate(self, node: Node) -> None:
        if node.sha256 in self._checked:
            return
        self._checked.add(node.sha256)
        self._dates(node)
        self._key(node)

        cert = node.cert
        digest = node.signature_hash
        if digest in self.policy.weak_hashes and not self.index.self_signed(node):
            self.emit(
                "MC111",
                node,
                f"{quote(node)} is signed with {_DIGESTS.get(digest, digest.upper())} "
                f"({cert.signature_algorithm}) by "
                f"'{cert.issuer_common_name or cert.issuer_text}'; Apple devices refuse "
                "MD5 and SHA-1 signatures on certificates below a root.",
            )

        if node.critical_extension_oids:
            self._critical(node)
        if node.unreadable_extensions:
            self.emit(
                "MC113",
                node,
                f"the extensions of {quote(node)} cannot be read "
                f"({node.unreadable_extensions}), so devices refuse the certificate.",
            )

    def _dates(self, node: Node) -> None:
        at, window = self.at, self.policy.expiry_warning
        if at > node.not_after:
            msg = (
                f"{quote(node)} expired on {day(node.not_after)}, "
                f"{days(at - node.not_after)} before the check time {day(at)}"
            )
            if node.is_ca:  # finished once the certificates below it are known
                self._dead_cas.append(("MC103", node, msg))
            else:
                self.emit("MC103", node, msg + ".")
        elif at < node.not_before:
            msg = (
                f"{quote(node)} is not valid until {day(node.not_before)}, "
                f"{days(node.not_before - at)} after the check time {day(at)}"
            )
            if node.is_ca:
                self._dead_cas.append(("MC104", node, msg))
            else:
                self.emit("MC104", node, msg + ".")
        elif node.not_after - at <= window:
            self.emit(
                "MC105",
                node,
                f"{quote(node)} expires on {day(node.not_after)}, in "
                f"{days(node.not_after - at)} (warning window {days(window)}).",
            )

    def _key(self, node: Node) -> None:
        p = self.policy
        problem = key_problem(
            node.key_type,
            node.key_bits,
            node.curve,
            min_rsa_bits=p.min_rsa_bits,
            min_dsa_bits=p.min_dsa_bits,
            min_ec_bits=p.min_ec_bits,
            curves=p.curves,
        )
        if problem is not None:
            self.emit(
                problem.code,
                node,
                f"{quote(node)} has {problem.why}; Apple devices require {problem.need}.",
            )

    def _critical(self, node: Node) -> None:
        apple: list[str] = []
        unknown: list[str] = []
        for oid in node.critical_extension_oids:
            if oid.startswith(APPLE_PRIVATE_EXTENSION_PREFIX):
                apple.append(oid)
            elif oid not in self.policy.handled_extensions:
                unknown.append(oid)
        if apple and self.policy.apple_private_extensions == "reject":
            unknown.extend(f"{oid} (Apple private, rejected by policy)" for oid in apple)
            apple = []
        if unknown:
            listed = ", ".join(_extension_name(o) for o in unknown)
            self.emit(
                "MC113",
                node,
                f"{quote(node)} has critical extension{'s' if len(unknown) > 1 else ''} "
                f"{listed}, which Apple devices do not process, so they refuse the certificate.",
            )
        if apple:
            self.emit(
                "MC114",
                node,
                f"{quote(node)} carries Apple's private critical extension"
                f"{'s' if len(apple) > 1 else ''} {', '.join(apple)}; accepted, because Apple "
                "devices process them.",
            )

    # -- issuance lints -----------------------------------------------------------------
    def lint_links_of(self, wanted: Callable[[Node], bool]) -> None:
        """Lint each link whose child ``wanted`` accepts (MC122) as paths are checked."""
        self._lint_links = wanted

    def lint(self, node: Node, *, root: bool) -> None:
        """RFC 5280 §4.2 issuance rules for one certificate (MC119 to MC128, warnings).
        ``root``: the certificate is self-signed and sits at the top of its chain."""
        cert = node.cert
        if root and node.is_ca and cert.common_name is None:
            self.emit(
                "MC119",
                node,
                f"the root '{cert.subject_text or 'with an empty subject'}' has no common "
                "name: iOS lists it without a name in Settings > General > About > "
                "Certificate Trust Settings, so users cannot tell which switch turns on "
                "full trust for it.",
            )
        if node.is_ca and node.subject_key_identifier is None:
            self.emit(
                "MC120",
                node,
                f"CA certificate {quote(node)} has no subjectKeyIdentifier; RFC 5280 requires "
                "one on every CA certificate, so that what it issues can name its key.",
            )
        readable = node.unreadable_extensions is None
        if not root and readable and node.authority_key_identifier is None:
            self.emit(
                "MC121",
                node,
                f"{quote(node)} has no authorityKeyIdentifier; RFC 5280 requires one on every "
                "certificate but a self-signed root, so that a verifier can tell the "
                "generations of its issuer apart.",
            )
        critical = [o for o in _MUST_NOT_BE_CRITICAL if o in node.critical_extension_oids]
        if critical:
            listed = ", ".join(EXTENSION_NAMES[o] for o in critical)
            self.emit(
                "MC123",
                node,
                f"{quote(node)} marks {listed} critical; RFC 5280 requires "
                f"{'them' if len(critical) > 1 else 'it'} to be non-critical, and a verifier "
                "that does not process it must refuse the certificate.",
            )
        if node.is_ca and node.subject_der == b"\x30\x00":
            self.emit(
                "MC124",
                node,
                f"CA certificate {quote(node)} has an empty subject; a CA's subject is the "
                "name every certificate it issues must carry as its issuer.",
            )
        if node.is_ca and not node.basic_constraints_critical:
            self.emit(
                "MC125",
                node,
                f"CA certificate {quote(node)} has basicConstraints CA:TRUE marked "
                "non-critical; RFC 5280 requires it critical in a CA certificate.",
            )
        if not node.is_ca and node.key_cert_sign:
            self.emit(
                "MC126",
                node,
                f"{quote(node)} is not a CA (no basicConstraints CA:TRUE) but its keyUsage "
                "has keyCertSign; devices will not accept what it signs.",
            )
        serial = node.serial
        if serial <= 0:
            self.emit(
                "MC127",
                node,
                f"{quote(node)} has serial number {serial}; RFC 5280 requires a positive "
                "serial number, and some verifiers refuse a zero or negative one.",
            )
        if node.not_after < node.not_before:
            self.emit(
                "MC128",
                node,
                f"{quote(node)} ends ({node.not_after.isoformat()}) before it starts "
                f"({node.not_before.isoformat()}): it is never valid.",
            )

    def _lint_link(self, child: Node, issuer: Node) -> None:
        aki, ski = child.authority_key_identifier, issuer.subject_key_identifier
        if aki is not None and ski is not None and aki != ski:
            self.emit(
                "MC122",
                child,
                f"{quote(child)} asks for issuer key id {hex_id(aki)}, but its issuer "
                f"{quote(issuer)} (sha256:{issuer.sha256[:16]}) has key id {hex_id(ski)}: "
                "the authorityKeyIdentifier was copied from another generation of the CA, "
                "and devices that look the issuer up by key id will not find it.",
            )

    # -- a path: its certificates, its links, where it stops ----------------------------
    def path(self, path: Path) -> None:
        nodes = path.nodes
        checked = self._checked
        for node in nodes:
            if node.sha256 not in checked:  # paths share their upper parts
                self.certificate(node)
        lint = self._lint_links
        for child, issuer in pairwise(nodes):
            link = child.sha256 + issuer.sha256
            if link in self._links:
                continue
            self._links.add(link)
            if not issuer.is_ca:
                self._not_ca.setdefault(issuer.sha256, (issuer, []))[1].append(child)
            elif issuer.key_cert_sign is False:
                self._no_cert_sign.setdefault(issuer.sha256, (issuer, []))[1].append(child)
            if child.not_after > issuer.not_after >= self.at:  # expired: MC103 says it
                self._outlived.setdefault(issuer.sha256, (issuer, []))[1].append(child)
            if lint is not None and lint(child):
                self._lint_link(child, issuer)
        if len(nodes) > 2 and self.index.path_length_constrained:
            self._path_length(nodes)
        if path.stop == TOO_LONG:
            self._too_long.append(path)
        else:
            self._stop(path)

    def _path_length(self, nodes: tuple[Node, ...]) -> None:
        # below: the non-self-issued certificates between nodes[i] and the path's start. The
        # start itself never counts, CA or not: a bundle that ends at a CA is not penalised
        # for what that CA has not issued (RFC 5280 §6.1.4, PKITS 4.6.8 and 4.6.14).
        below = 0
        for i in range(1, len(nodes)):
            ca = nodes[i]
            limit = ca.path_length
            if limit is not None and below > limit:
                entry = self._too_deep.setdefault(ca.sha256, (ca, []))[1]
                under = nodes[i - 1]
                if all(n.sha256 != under.sha256 for n, _ in entry):
                    entry.append((under, below))
            if not ca.self_issued:
                below += 1

    def _stop(self, path: Path) -> None:
        top = path.top
        cert = top.cert
        if path.stop == MISSING:
            aki = top.authority_key_identifier
            kid = (
                f"key id {hex_id(aki)}"
                if aki
                else "key id unknown: the certificate has no authority key identifier"
            )
            self.emit(
                "MC101",
                top,
                f"the issuer of {quote(top)} is not {self.pool}: '{cert.issuer_text}' ({kid}).",
            )
        elif path.stop == BAD_SIGNATURE:
            aki = top.authority_key_identifier
            tried = "; ".join(f"sha256:{n.sha256[:16]}, {key_id(n)}" for n in path.detail)
            plural = "s" if len(path.detail) > 1 else ""
            if aki and any(n.subject_key_identifier == aki for n in path.detail):
                why = (
                    ", although the key ids match: the certificate was altered, or signed by "
                    "another key under that CA's name"
                )
            elif aki:
                why = f"; it asks for key id {hex_id(aki)}: usually the wrong generation of a CA"
            else:
                why = ": usually the wrong generation of a CA"
            self.emit(
                "MC102",
                top,
                f"{quote(top)} names '{cert.issuer_text}' as its issuer, but its signature "
                f"does not verify with the key of the certificate{plural} of that name "
                f"({tried}){why}.",
            )
        elif path.stop == CUT:
            count = len(path.detail)
            untried = self.index.cut(top)
            self.emit(
                "MC129",
                top,
                f"{count + untried} certificates {self.pool} carry the issuer name of "
                f"{quote(top)} ('{cert.issuer_text}'); the search tried {count} of them "
                f"(Policy.max_candidates = {self.policy.max_candidates}, key-id matches "
                f"first), none of which signed it, and stopped there with {untried} untried. "
                "The issuer may be among those; raise Policy.max_candidates to look further.",
            )
        elif path.stop == NOT_SELF_SIGNED:
            self.emit(
                "MC110",
                top,
                f"{quote(top)} names itself as its issuer, but its signature does not verify "
                "with its own key (nor with another certificate of that name): it is not a "
                "root.",
            )
        elif path.stop == UNTRUSTED_ROOT:
            self.emit(
                "MC118",
                top,
                f"the chain of {quote(path.nodes[0])} ends at {quote(top)}, a root that is "
                "not one of the trusted anchors.",
            )
        elif path.stop == LOOP:
            members = path.detail
            first = min(members, key=lambda n: (n.display_name, n.sha256))
            ring = " → ".join(quote(n) for n in members)
            self.emit(
                "MC115",
                first,
                f"loop in the issuer graph: {ring} (each issued by the next), so no path "
                f"from {quote(first)} reaches a root.",
                key="loop:" + ",".join(sorted({n.sha256 for n in members})),
            )

    # -- findings that needed every path first ------------------------------------------
    def finish(self, dependents: Callable[[Node], list[Node]]) -> list[Finding]:
        for code, node, msg in self._dead_cas:
            under = dependents(node)
            if under:
                msg += (
                    f"; every certificate it issued fails with it ({len(under)} "
                    f"{self.pool}: {names(under)})"
                )
            self.emit(code, node, msg + ".")
        for issuer, children in self._not_ca.values():
            why = (
                "basicConstraints CA:FALSE"
                if issuer.basic_constraints
                else "no basicConstraints extension"
            )
            self.emit(
                "MC107",
                issuer,
                f"{quote(issuer)} issued {names(children)} but is not a CA ({why}); devices "
                "refuse every certificate it issued.",
            )
        for issuer, children in self._no_cert_sign.values():
            ku = issuer.cert.key_usage
            uses = ", ".join(_key_usages(ku)) if ku is not None else ""
            self.emit(
                "MC108",
                issuer,
                f"{quote(issuer)} issued {names(children)} but its keyUsage "
                f"({uses or 'empty'}) lacks keyCertSign.",
            )
        for ca, under_ca in self._too_deep.values():
            worst = max(n for _, n in under_ca)
            self.emit(
                "MC109",
                ca,
                f"{quote(ca)} has pathLenConstraint {ca.path_length}, but {worst} CA "
                f"certificate{'s sit' if worst != 1 else ' sits'} below it on the path through "
                f"{names([n for n, _ in under_ca])}.",
            )
        for issuer, children in self._outlived.values():
            children = sorted(children, key=lambda n: n.not_after, reverse=True)
            last = children[0]
            more = f" and {len(children) - 1} more" if len(children) > 1 else ""
            self.emit(
                "MC106",
                issuer,
                f"{quote(issuer)} expires on {day(issuer.not_after)}, before {quote(last)} it "
                f"issued (expires {day(last.not_after)}){more}: {quote(last)} stops working on "
                f"{day(issuer.not_after)}.",
            )
        if self._too_long:
            longest = max(self._too_long, key=lambda p: (p.length, p.nodes[0].sha256))
            start = longest.nodes[0]
            others = len(self._too_long) - 1
            more = (
                f"; the paths of {others} other certificate{'s' if others != 1 else ''} run "
                "over the limit too"
                if others
                else ""
            )
            self.emit(
                "MC115",
                start,
                f"the chain of {quote(start)} is {longest.length} certificates long, over the "
                f"limit of {self.policy.max_chain_length} (Policy.max_chain_length; "
                f"self-issued key-rollover certificates do not count); stopped following it "
                f"at {quote(longest.top)}{more}.",
                key="too-long",
                fix="Issue the certificates from a CA nearer the root so the chain is shorter; "
                "if a chain this long is genuine, raise Policy.max_chain_length.",
            )
        return list(self.found.values())
