"""Path building: index certificates, find each one's issuers, choose each one's best path.

How a path is chosen
    Issuers are looked up by issuer name, compared as RFC 5280 §7.1 compares names
    (:mod:`mobileconfig.pki.names`: case, spaces and string type do not matter), in a
    :class:`ChainIndex`, never by comparing every pair; the authority key identifier orders
    the candidates. Each (child, issuer) signature is verified once. Where several issuers
    fit (a re-keyed CA, a cross-certificate) every option counts and the best path wins: one
    that reaches an anchor, then one whose signatures all verify, then one whose
    certificates are all valid at the check time, whose issuers are all CAs allowed to sign
    certificates, with no weak signature, and the shortest.

Bounded work
    The score of a path is a sum of per-certificate costs compared in that order, so the
    best path from a certificate up ends in the best path of its issuer: :class:`PathBuilder`
    first walks the issuer graph once (each certificate's links looked up once, each
    signature checked once), then settles the best path of every certificate in one
    Dijkstra pass over that graph, without recursion. A cross-signed mesh costs one
    signature check per (certificate, candidate issuer) pair however many paths run through
    it, and a 600-certificate chain needs no deeper stack than a short one. A certificate
    whose issuers only lead round in a circle gets a path that stops at the loop.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from cryptography import x509

from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.names import NameKey, NameKeys, NameTexts
from mobileconfig.pki.policy import Policy

__all__ = [
    "ANCHOR",
    "BAD_SIGNATURE",
    "CUT",
    "LOOP",
    "MISSING",
    "NOT_SELF_SIGNED",
    "TOO_LONG",
    "UNTRUSTED_ROOT",
    "ChainIndex",
    "Node",
    "Path",
    "PathBuilder",
    "check_time",
    "issuer_depths",
]


def check_time(at: datetime | None) -> datetime:
    """The check time in UTC (now when None; naive means UTC), at the precision of a
    certificate's dates: whole seconds. A notAfter of 12:00:00 covers all of that second,
    so 12:00:00.005 is not past it."""
    when = datetime.now(UTC) if at is None else at
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.replace(microsecond=0)


# --------------------------------------------------------------------------------------
# What path building reads of a certificate


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the DER element at ``pos``."""
    tag = der[pos]
    length = der[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    return tag, pos, pos + length


_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")
_RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d010101")
_CURVES = {
    bytes.fromhex("06082a8648ce3d030101"): ("secp192r1", 192),
    bytes.fromhex("06052b81040021"): ("secp224r1", 224),
    bytes.fromhex("06082a8648ce3d030107"): ("secp256r1", 256),
    bytes.fromhex("06052b81040022"): ("secp384r1", 384),
    bytes.fromhex("06052b81040023"): ("secp521r1", 521),
}


# The certificate signature algorithms whose digest is plain from the DER, as cryptography
# names it (Certificate.signature_hash); each in its one canonical encoding, so that any
# other encoding is left to cryptography.
_SIGNATURE_DIGESTS = {
    bytes.fromhex("300a06082a8648ce3d040302"): "sha256",  # ecdsa-with-SHA256
    bytes.fromhex("300a06082a8648ce3d040303"): "sha384",  # ecdsa-with-SHA384
    bytes.fromhex("300a06082a8648ce3d040304"): "sha512",  # ecdsa-with-SHA512
    bytes.fromhex("300d06092a864886f70d01010b0500"): "sha256",  # sha256WithRSAEncryption
    bytes.fromhex("300d06092a864886f70d01010c0500"): "sha384",  # sha384WithRSAEncryption
    bytes.fromhex("300d06092a864886f70d01010d0500"): "sha512",  # sha512WithRSAEncryption
}

# What _read_tbs reads: the issuer and subject Names (DER), the key type ("RSA" or "EC" when
# read from the DER, else None), its size, its curve, the serial number, and the signature's
# digest (None when not in _SIGNATURE_DIGESTS). A plain tuple: a dataclass costs more to
# build than the rest of the reading.
_Tbs = tuple[bytes, bytes, str | None, int, str | None, int, str | None]


def _read_tbs(der: bytes) -> _Tbs | None:
    """The serial number, the issuer and subject Names exactly as the certificate encodes
    them, and the size of an RSA key or the curve of an EC key; None if the DER is not laid
    out as expected."""
    try:
        _, pos, _ = _tlv(der, 0)  # Certificate
        _, pos, tbs_end = _tlv(der, pos)  # TBSCertificate
        _, _, alg_end = _tlv(der, tbs_end)  # the certificate's signatureAlgorithm
        digest = _SIGNATURE_DIGESTS.get(der[tbs_end:alg_end])
        tag, start, end = _tlv(der, pos)  # [0] version, or serialNumber in a version 1 cert
        if tag == 0xA0:
            _, start, end = _tlv(der, end)  # serialNumber
        serial = int.from_bytes(der[start:end], "big", signed=True)
        _, _, end = _tlv(der, end)  # signature AlgorithmIdentifier
        tag, _, issuer_end = _tlv(der, end)
        if tag != 0x30:
            return None
        issuer = der[end:issuer_end]
        _, _, validity_end = _tlv(der, issuer_end)
        tag, _, subject_end = _tlv(der, validity_end)
        if tag != 0x30:
            return None
        subject = der[validity_end:subject_end]
        _, spki, _ = _tlv(der, subject_end)  # SubjectPublicKeyInfo
        _, alg, alg_end = _tlv(der, spki)  # AlgorithmIdentifier
        _, _, oid_end = _tlv(der, alg)
        oid = der[alg:oid_end]
        kind: str | None = None
        bits = 0
        curve: str | None = None
        if oid == _EC_PUBLIC_KEY:
            _, _, curve_end = _tlv(der, oid_end)
            curve, bits = _CURVES.get(der[oid_end:curve_end], (None, 0))
            kind = "EC" if curve else None
        elif oid == _RSA_ENCRYPTION:
            _, key, _ = _tlv(der, alg_end)  # BIT STRING: unused-bits byte, RSAPublicKey
            _, n_pos, _ = _tlv(der, key + 1)  # RSAPublicKey SEQUENCE
            _, n_start, n_end = _tlv(der, n_pos)  # modulus INTEGER
            bits = int.from_bytes(der[n_start:n_end], "big").bit_length()
            kind = "RSA"
    except IndexError:
        return None
    return issuer, subject, kind, bits, curve, serial, digest


_BASIC_CONSTRAINTS = x509.BasicConstraints
_KEY_USAGE = x509.KeyUsage
_SUBJECT_KEY_ID = x509.SubjectKeyIdentifier
_AUTHORITY_KEY_ID = x509.AuthorityKeyIdentifier


class Node:
    """The facts path building and the checks need about one certificate, read once.

    :class:`Certificate` computes each fact on first use, one extension look-up at a time;
    for a bundle of a thousand CAs that costs more than their signatures, so this reads the
    names, the key size and the signature's digest straight from the DER and walks the
    extensions once. Everything else (names for messages, the key itself) comes from the
    :class:`Certificate`.
    """

    __slots__ = (
        "_curve",
        "_digest",
        "_key_bits",
        "_key_type",
        "authority_key_identifier",
        "basic_constraints",
        "basic_constraints_critical",
        "cert",
        "critical_extension_oids",
        "is_ca",
        "issuer_der",
        "issuer_key",
        "key_cert_sign",
        "not_after",
        "not_before",
        "path_length",
        "self_issued",
        "serial",
        "sha256",
        "subject_der",
        "subject_key",
        "subject_key_identifier",
        "unreadable_extensions",
    )

    def __init__(self, cert: Certificate, names: NameKeys | None = None) -> None:
        # Hot: a bundle of a thousand CAs builds a thousand Nodes, so facts are gathered in
        # locals and each slot is written once.
        self.cert = cert
        self.sha256 = cert.sha256
        tbs = _read_tbs(cert.der)
        if tbs is None:  # pragma: no cover - cryptography parsed it, so this is DER
            tbs = (cert.issuer_der, cert.subject_der, None, 0, None, cert.serial_number, None)
        issuer, subject, self._key_type, self._key_bits, self._curve, self.serial, digest = tbs
        self._digest = digest
        # (the serial is read here: cryptography warns on a non-positive one)
        self.issuer_der = issuer
        self.subject_der = subject
        keys = names if names is not None else NameKeys()
        self.subject_key = subject_key = keys(subject)
        self.issuer_key = issuer_key = keys(issuer)
        # Self-issued: subject and issuer match under RFC 5280's name rules.
        self.self_issued = issuer_key == subject_key
        x = cert.x509
        # (what Certificate.not_before/not_after give, read without their cache: cheaper)
        self.not_before = x.not_valid_before_utc
        self.not_after = x.not_valid_after_utc
        is_ca = bc_present = bc_critical = False
        path_length: int | None = None
        key_cert_sign: bool | None = None
        ski: bytes | None = None
        aki: bytes | None = None
        critical: list[str] = []
        unreadable: str | None = None
        try:
            extensions = x.extensions
        except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
            unreadable = str(exc) or type(exc).__name__
            extensions = x509.Extensions([])
        for ext in extensions:
            critical_ext = ext.critical
            if critical_ext:
                critical.append(ext.oid.dotted_string)
            value: object = ext.value
            kind = type(value)  # exact types: isinstance on these ABCs costs more here
            if kind is _BASIC_CONSTRAINTS:
                bc = cast(x509.BasicConstraints, value)
                bc_present, bc_critical, is_ca = True, critical_ext, bc.ca
                path_length = bc.path_length if is_ca else None
            elif kind is _KEY_USAGE:
                key_cert_sign = cast(x509.KeyUsage, value).key_cert_sign
            elif kind is _SUBJECT_KEY_ID:
                ski = cast(x509.SubjectKeyIdentifier, value).digest
            elif kind is _AUTHORITY_KEY_ID:
                aki = cast(x509.AuthorityKeyIdentifier, value).key_identifier
        self.is_ca = is_ca
        self.path_length = path_length
        self.key_cert_sign = key_cert_sign
        self.subject_key_identifier = ski
        self.authority_key_identifier = aki
        self.critical_extension_oids = critical
        self.basic_constraints = bc_present  # present at all
        self.basic_constraints_critical = bc_critical
        self.unreadable_extensions = unreadable

    @property
    def signature_hash(self) -> str | None:
        """:attr:`Certificate.signature_hash`, read from the DER when plain."""
        return self._digest if self._digest is not None else self.cert.signature_hash

    @property
    def key_type(self) -> str:
        return self._key_type or self.cert.key_type

    @property
    def key_bits(self) -> int:
        return self._key_bits if self._key_type else self.cert.key_bits

    @property
    def curve(self) -> str | None:
        """The EC key's curve (cryptography's name), None for other keys."""
        if self._curve is not None or self.key_type != "EC":
            return self._curve
        return getattr(getattr(self.cert.public_key, "curve", None), "name", None)

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at <= self.not_after

    @property
    def display_name(self) -> str:
        return self.cert.display_name

    def __repr__(self) -> str:
        return f"<Node {self.cert!r}>"


# --------------------------------------------------------------------------------------
# The index


class ChainIndex:
    """Certificates indexed by subject name (normalised, RFC 5280 §7.1) and by subject key
    identifier.

    :meth:`candidates` finds the possible issuers of a certificate with dictionary look-ups,
    never by comparing every pair; :meth:`verifies` checks a signature once per
    (child, issuer) pair and remembers the answer.
    """

    def __init__(
        self,
        certificates: Iterable[Certificate],
        *,
        at: datetime | None = None,
        max_candidates: int = 16,
    ):
        self.at = check_time(at)
        self.max_candidates = max_candidates
        self._names = NameKeys()
        self._texts = NameTexts()
        self._link_memo: dict[str, list[tuple[Node, bool]]] = {}
        self._cut: dict[str, int] = {}
        self._nodes: dict[str, Node] = {}
        self._by_subject: dict[NameKey, list[Node]] = {}
        self._by_key_id: dict[bytes, list[Node]] | None = None  # made when first asked
        self._verified: dict[str, bool] = {}  # by the two SHA-256s, child's first
        #: Whether any indexed certificate has a pathLenConstraint (if none, no path can
        #: break one, and the checks skip counting).
        self.path_length_constrained = False
        for cert in certificates:
            if cert.sha256 in self._nodes:
                continue
            node = self._nodes[cert.sha256] = Node(cert, self._names)
            self._by_subject.setdefault(node.subject_key, []).append(node)
            if node.path_length is not None:
                self.path_length_constrained = True

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Certificate]:
        return (node.cert for node in self._nodes.values())

    def node(self, cert: Certificate) -> Node:
        """The facts about ``cert`` (made on the spot for a certificate not in the index)."""
        node = self._nodes.get(cert.sha256)
        return node if node is not None else Node(cert, self._names)

    def same_subject(self, node: Node) -> list[Node]:
        """Every indexed certificate whose subject matches ``node``'s (``node`` included
        when indexed)."""
        return list(self._by_subject.get(node.subject_key, ()))

    def subject_count(self, node: Node) -> int:
        """How many indexed certificates have a subject matching ``node``'s."""
        return len(self._by_subject.get(node.subject_key, ()))

    def subject_text(self, node: Node) -> str:
        """The certificate's :attr:`~Certificate.subject_text`, written from the DER already
        read (:class:`~mobileconfig.pki.names.NameTexts`) when it can be."""
        text = self._texts(node.subject_der)
        return text if text is not None else node.cert.subject_text

    def with_subject(self, subject_der: bytes) -> list[Certificate]:
        """Every certificate whose subject matches the Name ``subject_der`` (RFC 5280 §7.1)."""
        return [n.cert for n in self._by_subject.get(self._names(subject_der), ())]

    def with_key_id(self, key_id: bytes) -> list[Certificate]:
        """Every certificate whose subject key identifier is ``key_id``."""
        if self._by_key_id is None:  # path building never asks: made on demand
            self._by_key_id = {}
            for node in self._nodes.values():
                if node.subject_key_identifier is not None:
                    self._by_key_id.setdefault(node.subject_key_identifier, []).append(node)
        return [n.cert for n in self._by_key_id.get(key_id, ())]

    def verifies(self, child: Certificate, issuer: Certificate) -> bool:
        """True when ``issuer`` is named as ``child``'s issuer and its key made the signature.

        The answer is cached: each link costs one signature check.
        """
        return self._verifies(self.node(child), self.node(issuer))

    def _verifies(self, child: Node, issuer: Node) -> bool:
        key = child.sha256 + issuer.sha256  # a str: no tuple for the collector to track
        ok = self._verified.get(key)
        if ok is None:
            ok = child.issuer_key == issuer.subject_key and child.cert.signed_by_key_of(issuer.cert)
            self._verified[key] = ok
        return ok

    def self_signed(self, node: Node) -> bool:
        return node.self_issued and self._verifies(node, node)

    def cut(self, node: Node) -> int:
        """How many certificates carrying ``node``'s issuer name were not tried, because
        there were more than ``max_candidates`` (0 when all were)."""
        self.links_of(node)
        return self._cut.get(node.sha256, 0)

    def links_of(self, child: Node) -> list[tuple[Node, bool]]:
        """The possible issuers of ``child`` with whether each signature verifies, best
        first (see :meth:`links`)."""
        done = self._link_memo.get(child.sha256)
        if done is not None:
            return done
        by_name = self._by_subject.get(child.issuer_key)
        if not by_name:
            return []
        if len(by_name) == 1:  # the usual case: one certificate of that name
            only = by_name[0]
            found = [] if only.sha256 == child.sha256 else [(only, self._verifies(child, only))]
            self._link_memo[child.sha256] = found
            return found
        aki, at = child.authority_key_identifier, self.at
        names = [n for n in by_name if n.sha256 != child.sha256]
        if len(names) > self.max_candidates:
            # Many certificates carry this issuer name (a real bundle has a few generations
            # of a CA; a hostile one can have thousands): check the signatures of the most
            # likely ones only, so a look-alike flood costs linear, not quadratic, time.
            names.sort(
                key=lambda n: (
                    not (aki is not None and n.subject_key_identifier == aki),
                    not n.valid_at(at),
                )
            )
            self._cut[child.sha256] = len(names) - self.max_candidates
            names = names[: self.max_candidates]
        found = [(n, self._verifies(child, n)) for n in names]
        if len(found) > 1:

            def rank(item: tuple[Node, bool]) -> tuple[bool, bool, bool]:
                cand, ok = item
                aki_match = aki is not None and cand.subject_key_identifier == aki
                return (not aki_match, not ok, not cand.valid_at(at))

            found.sort(key=rank)
        self._link_memo[child.sha256] = found
        return found

    def links(self, cert: Certificate) -> list[tuple[Certificate, bool]]:
        """The possible issuers of ``cert`` with whether each one's signature verifies,
        best first: authority key identifier match, then signature, then validity at
        :attr:`at`."""
        return [(n.cert, ok) for n, ok in self.links_of(self.node(cert))]

    def candidates(self, cert: Certificate) -> list[Certificate]:
        """The possible issuers of ``cert``, best first (see :meth:`links`).

        A candidate must carry the issuer name (name chaining is what devices do); the
        authority key identifier orders the candidates, it does not add any.
        """
        return [n.cert for n, _ in self.links_of(self.node(cert))]


# --------------------------------------------------------------------------------------
# The engine

# Why a path stops where it does.
ANCHOR = "anchor"  # reached a trusted root: complete
MISSING = "missing"  # no certificate carries the issuer name
BAD_SIGNATURE = "bad signature"  # certificates carry the name but none made the signature
CUT = "cut"  # like BAD_SIGNATURE, but max_candidates left some candidates untried
NOT_SELF_SIGNED = "not self-signed"  # names itself as issuer, its own key did not sign it
UNTRUSTED_ROOT = "untrusted root"  # a self-signed certificate that is not an anchor
LOOP = "loop"  # every issuer leads back round to a certificate already on the path
TOO_LONG = "too long"  # over Policy.max_chain_length

# A certificate's own share of a path's score: (not valid at the time, issuer not allowed to
# sign, weak signature), each 0 or 1; the eight made once.
_COSTS = tuple((i, c, w) for i in (0, 1) for c in (0, 1) for w in (0, 1))

# Score of a path, lower is better: (incomplete, bad signatures, certificates not valid at
# the time, issuers not allowed to sign, weak signatures, length). Sums compared
# lexicographically, so the best path from a certificate up ends in the best path of its
# issuer.
_Score = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class Path:
    """One certificate's path, leaf first, and why it stops where it does."""

    nodes: tuple[Node, ...]
    stop: str
    score: _Score
    detail: tuple[Node, ...] = ()  # candidates that failed, or the loop's members
    length: int = 0  # certificates counted against Policy.max_chain_length

    @property
    def complete(self) -> bool:
        return self.stop == ANCHOR

    @property
    def top(self) -> Node:
        return self.nodes[-1]

    @property
    def certificates(self) -> tuple[Certificate, ...]:
        return tuple(n.cert for n in self.nodes)


@dataclass(slots=True)
class _Vertex:
    """What the walk learnt about one certificate: where its path can stop on its own,
    and the issuers whose signature verifies, best first."""

    node: Node
    stop: str | None = None  # a stop of its own (anchor, missing, bad signature...)
    bad: int = 0
    detail: tuple[Node, ...] = ()
    ups: tuple[Node, ...] = ()
    cost: tuple[int, int, int] = (0, 0, 0)  # its own share of a path's score (_node_cost)


class PathBuilder:
    """Finds each certificate's best path: each link looked up once, each signature checked
    once, no recursion (see the module docstring)."""

    def __init__(self, index: ChainIndex, policy: Policy, is_anchor: Callable[[Node], bool]):
        self.index = index
        self.policy = policy
        self.is_anchor = is_anchor
        self.at = index.at
        self._vertices: dict[str, _Vertex] = {}
        self._settled: dict[str, tuple[_Score, Node | None]] = {}
        self._cost: dict[str, tuple[int, int, int]] = {}

    def _node_cost(self, node: Node) -> tuple[int, int, int]:
        cost = self._cost.get(node.sha256)
        if cost is None:
            digest = node.signature_hash
            weak = digest in self.policy.weak_hashes and not self.index.self_signed(node)
            invalid = not node.valid_at(self.at)
            not_ca = not (node.is_ca and node.key_cert_sign is not False)
            cost = self._cost[node.sha256] = _COSTS[invalid * 4 + not_ca * 2 + weak]
        return cost

    def _vertex(self, node: Node) -> _Vertex:
        v = _Vertex(node)
        index = self.index
        if self.is_anchor(node):
            v.stop = ANCHOR
        elif index.self_signed(node):
            v.stop = UNTRUSTED_ROOT
        else:
            links = index.links_of(node)
            if not links:
                v.stop = NOT_SELF_SIGNED if node.self_issued else MISSING
                return v
            ups = [n for n, ok in links if ok]
            v.ups = tuple(ups)
            if len(ups) == len(links):  # every candidate signed it: nothing failed
                return v
            failed = tuple(n for n, ok in links if not ok)
            if not ups:
                v.bad, v.detail = 1, failed
                if node.self_issued:
                    v.stop = NOT_SELF_SIGNED
                else:
                    v.stop = CUT if index.cut(node) else BAD_SIGNATURE
            else:  # a fallback, should every verified issuer lead nowhere
                v.bad, v.detail = 1, failed
                v.stop = NOT_SELF_SIGNED if node.self_issued else BAD_SIGNATURE
        return v

    def _walk(self, starts: Iterable[Node]) -> list[_Vertex]:
        """Every certificate reachable from ``starts`` through verified issuers."""
        new: list[_Vertex] = []
        todo = [n for n in starts if n.sha256 not in self._vertices]
        while todo:
            node = todo.pop()
            if node.sha256 in self._vertices:
                continue
            v = self._vertices[node.sha256] = self._vertex(node)
            new.append(v)
            todo.extend(up for up in v.ups if up.sha256 not in self._vertices)
        return new

    def _settle(self, vertices: Sequence[_Vertex]) -> None:
        """Dijkstra from the stops down the issuer links: each certificate's best score and
        the issuer it goes through (None: it stops itself)."""
        settled = self._settled
        down: dict[str, list[tuple[_Vertex, int]]] = {}
        best: dict[str, tuple[_Score, int]] = {}
        heap: list[tuple[_Score, int, int, str]] = []
        seq = 0
        for v in vertices:
            for rank, up in enumerate(v.ups):
                if up.sha256 not in settled:
                    down.setdefault(up.sha256, []).append((v, rank))
            inv, ca, weak = v.cost = self._node_cost(v.node)
            for rank, up in enumerate(v.ups):
                done = settled.get(up.sha256)
                if done is not None:  # settled in an earlier call
                    s = done[0]
                    score = (s[0], s[1], s[2] + inv, s[3] + ca, s[4] + weak, s[5] + 1)
                    if v.node.sha256 not in best or (score, rank) < best[v.node.sha256]:
                        best[v.node.sha256] = (score, rank)
                        heapq.heappush(heap, (score, rank, seq, v.node.sha256))
                        seq += 1
            if v.stop is not None:
                own = (0 if v.stop == ANCHOR else 1, v.bad, inv, ca, weak, 1)
                rank = len(v.ups)  # after every issuer: the first of equals wins
                key = v.node.sha256
                if key not in best or (own, rank) < best[key]:
                    best[key] = (own, rank)
                    heapq.heappush(heap, (own, rank, seq, key))
                    seq += 1
        by_sha = {v.node.sha256: v for v in vertices}
        while heap:
            score, rank, _, sha = heapq.heappop(heap)
            if sha in settled or best.get(sha) != (score, rank):
                continue
            v = by_sha[sha]
            settled[sha] = (score, v.ups[rank] if rank < len(v.ups) else None)
            for child, child_rank in down.get(sha, ()):
                key = child.node.sha256
                if key in settled:
                    continue
                inv, ca, weak = child.cost
                s = score
                new = (s[0], s[1], s[2] + inv, s[3] + ca, s[4] + weak, s[5] + 1)
                if key not in best or (new, child_rank) < best[key]:
                    best[key] = (new, child_rank)
                    heapq.heappush(heap, (new, child_rank, seq, key))
                    seq += 1

    def prepare(self, starts: Iterable[Node]) -> None:
        """Walk and settle everything reachable from ``starts`` (done by :meth:`best` on
        demand; one call for a whole bundle settles it in one pass)."""
        self._settle(self._walk(starts))

    def best(self, node: Node) -> Path:
        if node.sha256 not in self._vertices:
            self.prepare([node])
        nodes: list[Node] = []
        done = self._settled.get(node.sha256)
        if done is None:
            return self._loop(node)
        score = done[0]
        cur: Node | None = node
        while cur is not None:
            nodes.append(cur)
            cur = self._settled[cur.sha256][1]
        top = self._vertices[nodes[-1].sha256]
        assert top.stop is not None
        return self._limit(tuple(nodes), top.stop, score, top.detail)

    def _loop(self, node: Node) -> Path:
        """A path that goes round: follow the first verified issuer until one repeats."""
        nodes: list[Node] = []
        seen: dict[str, int] = {}
        cur = node
        while cur.sha256 not in seen:
            seen[cur.sha256] = len(nodes)
            nodes.append(cur)
            cur = self._vertices[cur.sha256].ups[0]
        ring = (*nodes[seen[cur.sha256] :], cur)
        score: _Score = (1, 0, 0, 0, 0, len(nodes))
        return self._limit(tuple(nodes), LOOP, score, ring)

    def _limit(
        self, nodes: tuple[Node, ...], stop: str, score: _Score, detail: tuple[Node, ...]
    ) -> Path:
        """The path, or its first ``max_chain_length`` certificates when it is longer
        (self-issued intermediates do not count)."""
        last = len(nodes) - 1
        counts = [not (n.self_issued and 0 < i < last) for i, n in enumerate(nodes)]
        length = sum(counts)
        limit = self.policy.max_chain_length
        if length <= limit:
            return Path(nodes, stop, score, detail, length)
        counted = 0
        for i, count in enumerate(counts):
            counted += count
            if counted > limit:
                nodes = nodes[:i]
                break
        s = score
        return Path(nodes, TOO_LONG, (1, s[1], s[2], s[3], s[4], len(nodes)), (), length)


# --------------------------------------------------------------------------------------
# Depths, for listing certificates roots first


def issuer_depths(certificates: Iterable[Certificate]) -> dict[str, int]:
    """Each certificate's distance (by SHA-256) from a root among ``certificates``: 0 for a
    self-issued certificate, 1 for one whose issuer is not among them (its root is missing),
    else one more than its nearest issuer's. Issuers are matched by name (RFC 5280 §7.1),
    narrowed by authority key identifier when that leaves any. Certificates on a circle of
    cross-certificates that reaches no root come last (one more than the deepest other).

    No signatures are checked and nothing recurses: one breadth-first pass from the tops
    down, linear in the links, whatever the length of the chains or the shape of a mesh.
    """
    names = NameKeys()
    certs: dict[str, Certificate] = {}
    for cert in certificates:
        certs.setdefault(cert.sha256, cert)
    by_subject: dict[NameKey, list[Certificate]] = {}
    for cert in certs.values():
        by_subject.setdefault(names(cert.subject_der), []).append(cert)
    children: dict[str, list[str]] = {}
    depth: dict[str, int] = {}
    roots: list[str] = []
    orphans: list[str] = []
    for cert in certs.values():
        issuer_key = names(cert.issuer_der)
        if issuer_key == names(cert.subject_der):
            roots.append(cert.sha256)
            continue
        issuers = [c for c in by_subject.get(issuer_key, ()) if c.sha256 != cert.sha256]
        aki = cert.authority_key_identifier
        if aki is not None:
            issuers = [c for c in issuers if c.subject_key_identifier in (None, aki)] or issuers
        if not issuers:
            orphans.append(cert.sha256)
        for issuer in issuers:
            children.setdefault(issuer.sha256, []).append(cert.sha256)
    # Breadth first from the roots (0) and the orphans (1): the queue stays in depth order.
    for sha in roots:
        depth[sha] = 0
    for sha in orphans:
        depth[sha] = 1
    queue: deque[str] = deque([*roots, *orphans])
    while queue:
        sha = queue.popleft()
        for child in children.get(sha, ()):
            if child not in depth:
                depth[child] = depth[sha] + 1
                queue.append(child)
    last = max(depth.values(), default=-1) + 1
    for sha in certs:
        depth.setdefault(sha, last)
    return depth
