"""Certificate chains: index a bundle, build each certificate's path to a root, check it.

Two entry points share one path-building engine:

- :func:`validate` judges a bundle (the certificates a profile installs). The bundle is both
  the pool of issuers and the set of roots: every self-signed certificate in it is an anchor,
  and ``anchors`` adds trusted roots from outside it (a user's ``--ca``). Every certificate
  gets its best path and every problem on it becomes a :class:`~mobileconfig.findings.Finding`;
  nothing is raised.
- :func:`verify_chain` asks whether one end-entity certificate (a profile signer, a TLS
  server) chains to given anchors, and returns a :class:`ChainResult`.

How a path is chosen
    Issuers are looked up by authority key identifier and by issuer name in a
    :class:`ChainIndex` (never by comparing every pair), and each (child, issuer) signature
    is verified once. Where several issuers fit (a re-keyed CA, a cross-certificate) every
    option is tried and the best path wins: one that reaches an anchor, then one whose
    signatures all verify, then one whose certificates are all valid at the check time, whose
    issuers are all CAs allowed to sign certificates, with no weak signature, and the shortest.
    A loop (A issued by B issued by A) stops the search and is reported.

Critical extensions
    A certificate with a critical extension the device does not process is refused. The
    extensions in :data:`HANDLED_CRITICAL_EXTENSIONS` are processed by Apple's devices and
    pass. Apple's own certificates (its signing and push certificates, the intermediates of
    the Apple PKI) carry private extensions under ``1.2.840.113635.100.6.*`` marked critical;
    a strict RFC 5280 validator rejects them, but Apple devices process them, so by default
    (``Policy.apple_private_extensions="accept"``) they count as handled and an info finding
    (MC114) notes them. With ``"reject"`` they are errors (MC113) like any other unknown
    critical extension. "Handled" means the device understands the extension; this module
    does not itself evaluate name constraints or certificate policies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal, cast

from cryptography import x509

from mobileconfig.findings import Finding, Report, make_finding
from mobileconfig.pki.certs import Certificate

__all__ = [
    "APPLE_PRIVATE_EXTENSION_PREFIX",
    "HANDLED_CRITICAL_EXTENSIONS",
    "ChainIndex",
    "ChainResult",
    "Policy",
    "validate",
    "verify_chain",
]

#: Apple's private certificate extensions live under this arc.
APPLE_PRIVATE_EXTENSION_PREFIX = "1.2.840.113635.100.6."

_EXTENSION_NAMES: dict[str, str] = {
    "2.5.29.9": "subjectDirectoryAttributes",
    "2.5.29.14": "subjectKeyIdentifier",
    "2.5.29.15": "keyUsage",
    "2.5.29.17": "subjectAltName",
    "2.5.29.18": "issuerAltName",
    "2.5.29.19": "basicConstraints",
    "2.5.29.30": "nameConstraints",
    "2.5.29.31": "cRLDistributionPoints",
    "2.5.29.32": "certificatePolicies",
    "2.5.29.33": "policyMappings",
    "2.5.29.35": "authorityKeyIdentifier",
    "2.5.29.36": "policyConstraints",
    "2.5.29.37": "extendedKeyUsage",
    "2.5.29.46": "freshestCRL",
    "2.5.29.54": "inhibitAnyPolicy",
    "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
    "1.3.6.1.5.5.7.1.11": "subjectInfoAccess",
    "1.3.6.1.5.5.7.1.24": "TLS feature",
    "1.3.6.1.4.1.11129.2.4.2": "signed certificate timestamps",
    "1.3.6.1.4.1.11129.2.4.3": "certificate transparency precertificate poison",
}

#: Critical extensions a device processes, so their being critical is no problem.
HANDLED_CRITICAL_EXTENSIONS: frozenset[str] = frozenset(
    {
        "2.5.29.14",  # subjectKeyIdentifier
        "2.5.29.15",  # keyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.18",  # issuerAltName
        "2.5.29.19",  # basicConstraints
        "2.5.29.30",  # nameConstraints
        "2.5.29.31",  # cRLDistributionPoints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.33",  # policyMappings
        "2.5.29.35",  # authorityKeyIdentifier
        "2.5.29.36",  # policyConstraints
        "2.5.29.37",  # extendedKeyUsage
        "2.5.29.46",  # freshestCRL
        "2.5.29.54",  # inhibitAnyPolicy
        "1.3.6.1.5.5.7.1.1",  # authorityInfoAccess
        "1.3.6.1.5.5.7.1.24",  # TLS feature
    }
)


@dataclass(frozen=True)
class Policy:
    """What the chain checks demand. The defaults follow what Apple devices enforce.

    ``expiry_warning``: warn about certificates that expire within this window.
    ``min_rsa_bits`` / ``min_ec_bits``: smallest key accepted, on every certificate (roots too).
    ``weak_hashes``: signature digests refused below a root (a root's self-signature is
    never checked by a device, so it does not count).
    ``apple_private_extensions``: ``"accept"`` treats Apple's private critical extensions
    (``1.2.840.113635.100.6.*``) as handled and notes them (MC114); ``"reject"`` makes them
    errors (MC113). See the module docstring.
    ``handled_extensions``: critical extensions that pass; any other critical one is MC113.
    ``max_chain_length``: a path is not followed past this many certificates.
    ``max_candidates``: at most this many certificates carrying a certificate's issuer name
    are tried as its issuer (key-identifier matches first); a bound on hostile bundles.
    """

    expiry_warning: timedelta = timedelta(days=30)
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    weak_hashes: frozenset[str] = frozenset({"md5", "sha1", "md2", "md4"})
    apple_private_extensions: Literal["accept", "reject"] = "accept"
    handled_extensions: frozenset[str] = HANDLED_CRITICAL_EXTENSIONS
    max_chain_length: int = 16
    max_candidates: int = 16

    def __post_init__(self) -> None:
        if self.apple_private_extensions not in ("accept", "reject"):
            raise ValueError(
                "apple_private_extensions must be 'accept' or 'reject', "
                f"not {self.apple_private_extensions!r}"
            )
        if self.max_chain_length < 1:
            raise ValueError("max_chain_length must be at least 1")


@dataclass(frozen=True)
class ChainResult:
    """The outcome of :func:`verify_chain`.

    ``trusted`` is true when the path reaches one of the anchors and no check on it found an
    error; ``path`` runs from the leaf to the anchor (or as far as it got); ``reason`` is one
    sentence saying why it is not trusted, None when it is.
    """

    trusted: bool
    path: tuple[Certificate, ...]
    findings: tuple[Finding, ...]
    reason: str | None


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


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
_CURVE_BITS = {
    bytes.fromhex("06082a8648ce3d030101"): 192,  # P-192
    bytes.fromhex("06052b81040021"): 224,  # P-224
    bytes.fromhex("06082a8648ce3d030107"): 256,  # P-256
    bytes.fromhex("06052b81040022"): 384,  # P-384
    bytes.fromhex("06052b81040023"): 521,  # P-521
}


@dataclass(frozen=True, slots=True)
class _Tbs:
    issuer: bytes
    subject: bytes
    key_type: str | None  # "RSA" or "EC" when read from the DER, else None
    key_bits: int


def _read_tbs(der: bytes) -> _Tbs | None:
    """The issuer and subject Names exactly as the certificate encodes them, and the size of
    an RSA or EC public key; None if the DER is not laid out as expected."""
    try:
        _, pos, _ = _tlv(der, 0)  # Certificate
        _, pos, _ = _tlv(der, pos)  # TBSCertificate
        tag, _, end = _tlv(der, pos)  # [0] version, or serialNumber in a version 1 cert
        if tag == 0xA0:
            _, _, end = _tlv(der, end)  # serialNumber
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
        if oid == _EC_PUBLIC_KEY:
            _, _, curve_end = _tlv(der, oid_end)
            bits = _CURVE_BITS.get(der[oid_end:curve_end], 0)
            kind = "EC" if bits else None
        elif oid == _RSA_ENCRYPTION:
            _, key, _ = _tlv(der, alg_end)  # BIT STRING: unused-bits byte, RSAPublicKey
            _, n_pos, _ = _tlv(der, key + 1)  # RSAPublicKey SEQUENCE
            _, n_start, n_end = _tlv(der, n_pos)  # modulus INTEGER
            bits = int.from_bytes(der[n_start:n_end], "big").bit_length()
            kind = "RSA"
    except IndexError:
        return None
    return _Tbs(issuer, subject, kind, bits)


class _Node:
    """The facts path building needs about one certificate, read once.

    :class:`Certificate` computes each fact on first use, one extension look-up at a time;
    for a bundle of a thousand CAs that costs more than their signatures, so this reads the
    names and the key size straight from the DER and walks the extensions once. Everything
    else (names for messages, the key itself) comes from the :class:`Certificate`.
    """

    __slots__ = (
        "_key_bits",
        "_key_type",
        "authority_key_identifier",
        "basic_constraints",
        "cert",
        "critical_extension_oids",
        "is_ca",
        "issuer_der",
        "key_cert_sign",
        "not_after",
        "not_before",
        "path_length",
        "self_issued",
        "sha256",
        "subject_der",
        "subject_key_identifier",
        "unreadable_extensions",
    )

    def __init__(self, cert: Certificate) -> None:
        self.cert = cert
        self.sha256 = cert.sha256
        tbs = _read_tbs(cert.der)
        if tbs is None:  # pragma: no cover - cryptography parsed it, so this is DER
            tbs = _Tbs(cert.issuer_der, cert.subject_der, None, 0)
        self.issuer_der = tbs.issuer
        self.subject_der = tbs.subject
        self._key_type = tbs.key_type
        self._key_bits = tbs.key_bits
        self.self_issued = self.issuer_der == self.subject_der
        self.not_before = cert.not_before
        self.not_after = cert.not_after
        self.is_ca = False
        self.path_length: int | None = None
        self.key_cert_sign: bool | None = None
        self.subject_key_identifier: bytes | None = None
        self.authority_key_identifier: bytes | None = None
        self.critical_extension_oids: list[str] = []
        self.basic_constraints = False  # present at all
        self.unreadable_extensions: str | None = None
        try:
            extensions = cert.x509.extensions
        except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
            self.unreadable_extensions = str(exc) or type(exc).__name__
            return
        for ext in extensions:
            if ext.critical:
                self.critical_extension_oids.append(ext.oid.dotted_string)
            value = ext.value
            kind = type(value)  # exact types: isinstance on these ABCs costs more here
            if kind is x509.BasicConstraints:
                bc = cast(x509.BasicConstraints, value)
                self.basic_constraints = True
                self.is_ca = bc.ca
                self.path_length = bc.path_length if bc.ca else None
            elif kind is x509.KeyUsage:
                self.key_cert_sign = cast(x509.KeyUsage, value).key_cert_sign
            elif kind is x509.SubjectKeyIdentifier:
                self.subject_key_identifier = cast(x509.SubjectKeyIdentifier, value).digest
            elif kind is x509.AuthorityKeyIdentifier:
                aki = cast(x509.AuthorityKeyIdentifier, value)
                self.authority_key_identifier = aki.key_identifier

    @property
    def key_type(self) -> str:
        return self._key_type or self.cert.key_type

    @property
    def key_bits(self) -> int:
        return self._key_bits if self._key_type else self.cert.key_bits

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at <= self.not_after

    @property
    def display_name(self) -> str:
        return self.cert.display_name

    def __repr__(self) -> str:
        return f"<_Node {self.cert!r}>"


# --------------------------------------------------------------------------------------
# The index


class ChainIndex:
    """Certificates indexed by subject name (its DER) and by subject key identifier.

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
        self.at = _utc(at)
        self.max_candidates = max_candidates
        self._link_memo: dict[str, list[tuple[_Node, bool]]] = {}
        self._nodes: dict[str, _Node] = {}
        self._by_subject: dict[bytes, list[_Node]] = {}
        self._by_key_id: dict[bytes, list[_Node]] = {}
        self._verified: dict[tuple[str, str], bool] = {}
        for cert in certificates:
            if cert.sha256 in self._nodes:
                continue
            node = self._nodes[cert.sha256] = _Node(cert)
            self._by_subject.setdefault(node.subject_der, []).append(node)
            if node.subject_key_identifier is not None:
                self._by_key_id.setdefault(node.subject_key_identifier, []).append(node)

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Certificate]:
        return (node.cert for node in self._nodes.values())

    def node(self, cert: Certificate) -> _Node:
        """The facts about ``cert`` (made on the spot for a certificate not in the index)."""
        node = self._nodes.get(cert.sha256)
        return node if node is not None else _Node(cert)

    def with_subject(self, subject_der: bytes) -> list[Certificate]:
        """Every certificate whose subject is ``subject_der``."""
        return [n.cert for n in self._by_subject.get(subject_der, ())]

    def with_key_id(self, key_id: bytes) -> list[Certificate]:
        """Every certificate whose subject key identifier is ``key_id``."""
        return [n.cert for n in self._by_key_id.get(key_id, ())]

    def verifies(self, child: Certificate, issuer: Certificate) -> bool:
        """True when ``issuer`` is named as ``child``'s issuer and its key made the signature.

        The answer is cached: each link costs one signature check.
        """
        return self._verifies(self.node(child), self.node(issuer))

    def _verifies(self, child: _Node, issuer: _Node) -> bool:
        key = (child.sha256, issuer.sha256)
        ok = self._verified.get(key)
        if ok is None:
            ok = child.issuer_der == issuer.subject_der and child.cert.signed_by_key_of(issuer.cert)
            self._verified[key] = ok
        return ok

    def self_signed(self, node: _Node) -> bool:
        return node.self_issued and self._verifies(node, node)

    def _links(self, child: _Node) -> list[tuple[_Node, bool]]:
        done = self._link_memo.get(child.sha256)
        if done is not None:
            return done
        by_name = self._by_subject.get(child.issuer_der)
        if not by_name:
            return []
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
            names = names[: self.max_candidates]
        found = [(n, self._verifies(child, n)) for n in names]
        if len(found) > 1:

            def rank(item: tuple[_Node, bool]) -> tuple[bool, bool, bool]:
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
        return [(n.cert, ok) for n, ok in self._links(self.node(cert))]

    def candidates(self, cert: Certificate) -> list[Certificate]:
        """The possible issuers of ``cert``, best first (see :meth:`links`).

        A candidate must carry the issuer name (name chaining is what devices do); the
        authority key identifier orders the candidates, it does not add any.
        """
        return [n.cert for n, _ in self._links(self.node(cert))]


# --------------------------------------------------------------------------------------
# The engine

# Why a path stops where it does.
_ANCHOR = "anchor"  # reached a trusted root: complete
_MISSING = "missing"  # no certificate carries the issuer name
_BAD_SIGNATURE = "bad signature"  # certificates carry the name but none made the signature
_NOT_SELF_SIGNED = "not self-signed"  # names itself as issuer, its own key did not sign it
_UNTRUSTED_ROOT = "untrusted root"  # a self-signed certificate that is not an anchor
_LOOP = "loop"  # the issuer is already on the path
_TOO_LONG = "too long"  # over Policy.max_chain_length

# Score of a path, lower is better: (incomplete, bad signatures, certificates not valid at
# the time, issuers not allowed to sign, weak signatures, length). Sums compared
# lexicographically, so the best path from a certificate up is part of the best path of
# every certificate below it, and can be memoised.
_Score = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class _Path:
    nodes: tuple[_Node, ...]
    stop: str
    score: _Score
    detail: tuple[_Node, ...] = ()  # candidates that failed, or the loop's members

    @property
    def complete(self) -> bool:
        return self.stop == _ANCHOR

    @property
    def top(self) -> _Node:
        return self.nodes[-1]

    @property
    def certificates(self) -> tuple[Certificate, ...]:
        return tuple(n.cert for n in self.nodes)


class _PathBuilder:
    """Finds each certificate's best path; memoised, each signature checked once."""

    def __init__(
        self, index: ChainIndex, policy: Policy, is_anchor: Callable[[_Node], bool]
    ) -> None:
        self.index = index
        self.policy = policy
        self.is_anchor = is_anchor
        self.at = index.at
        self._memo: dict[str, _Path] = {}
        self._cost: dict[str, tuple[int, int, int]] = {}
        self._stack: list[_Node] = []
        self._on_stack: dict[str, int] = {}

    def _node_cost(self, node: _Node) -> tuple[int, int, int]:
        cost = self._cost.get(node.sha256)
        if cost is None:
            weak = (
                node.cert.signature_hash in self.policy.weak_hashes
                and not self.index.self_signed(node)
            )
            cost = (
                0 if node.valid_at(self.at) else 1,
                0 if node.is_ca and node.key_cert_sign is not False else 1,
                1 if weak else 0,
            )
            self._cost[node.sha256] = cost
        return cost

    def _stop(
        self, node: _Node, stop: str, *, bad: int = 0, detail: tuple[_Node, ...] = ()
    ) -> _Path:
        inv, ca, weak = self._node_cost(node)
        return _Path((node,), stop, (0 if stop == _ANCHOR else 1, bad, inv, ca, weak, 1), detail)

    def _extend(self, node: _Node, up: _Path) -> _Path:
        inv, ca, weak = self._node_cost(node)
        s = up.score
        return _Path(
            (node, *up.nodes),
            up.stop,
            (s[0], s[1], s[2] + inv, s[3] + ca, s[4] + weak, s[5] + 1),
            up.detail,
        )

    def best(self, node: _Node) -> _Path:
        path, _ = self._best(node)
        return path

    def _best(self, node: _Node) -> tuple[_Path, int]:
        """The best path from ``node`` up, and the lowest stack position a loop reached
        (a result that depends on what is on the stack is not memoised)."""
        done = self._memo.get(node.sha256)
        if done is not None:
            return done, len(self._stack)
        if self.is_anchor(node):
            path = self._memo[node.sha256] = self._stop(node, _ANCHOR)
            return path, len(self._stack)
        if self.index.self_signed(node):
            path = self._memo[node.sha256] = self._stop(node, _UNTRUSTED_ROOT)
            return path, len(self._stack)
        pos = len(self._stack)
        if pos + 1 >= self.policy.max_chain_length:
            return self._stop(node, _TOO_LONG, detail=tuple(self._stack)), 0

        links = self.index._links(node)
        if not links:
            path = self._stop(node, _NOT_SELF_SIGNED if node.self_issued else _MISSING)
            self._memo[node.sha256] = path
            return path, pos

        self._stack.append(node)
        self._on_stack[node.sha256] = pos
        low = pos
        options: list[_Path] = []
        failed: list[_Node] = []
        try:
            for issuer, ok in links:
                if not ok:
                    failed.append(issuer)
                    continue
                at = self._on_stack.get(issuer.sha256)
                if at is not None:
                    low = min(low, at)
                    loop = (*self._stack[at:], issuer)
                    options.append(self._stop(node, _LOOP, detail=loop))
                    continue
                up, up_low = self._best(issuer)
                low = min(low, up_low)
                again = next((i for i, n in enumerate(up.nodes) if n.sha256 == node.sha256), -1)
                if again >= 0:
                    # The issuer's best path (memoised earlier) runs through this certificate.
                    options.append(self._stop(node, _LOOP, detail=(node, *up.nodes[: again + 1])))
                    continue
                options.append(self._extend(node, up))
        finally:
            self._stack.pop()
            del self._on_stack[node.sha256]
        if failed:
            stop = _NOT_SELF_SIGNED if node.self_issued else _BAD_SIGNATURE
            options.append(self._stop(node, stop, bad=1, detail=tuple(failed)))
        path = min(options, key=lambda p: p.score)  # first of equals: the index's order
        if low >= pos:
            self._memo[node.sha256] = path
        return path, low


# --------------------------------------------------------------------------------------
# Messages and checks, built in one place so the wording stays consistent


def _q(node: _Node | Certificate) -> str:
    return f"'{node.display_name}'"


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")


def _days(delta: timedelta) -> str:
    days = abs(delta).days
    if days == 0:
        return "less than a day"
    return f"{days} day{'s' if days != 1 else ''}"


def _hex(value: bytes) -> str:
    return ":".join(f"{b:02X}" for b in value)


def _names(nodes: Sequence[_Node], limit: int = 3) -> str:
    shown = ", ".join(_q(n) for n in nodes[:limit])
    more = len(nodes) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def _extension_name(oid: str) -> str:
    known = _EXTENSION_NAMES.get(oid)
    return f"{oid} ({known})" if known else oid


def _key_id(node: _Node) -> str:
    ski = node.subject_key_identifier
    return f"key id {_hex(ski)}" if ski else "no subject key identifier"


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

#: Codes that say where and why a path stops short of an anchor.
_STOP_CODES = frozenset({"MC101", "MC102", "MC110", "MC115", "MC118"})


class _Checks:
    """Collects findings, one per (code, certificate), details aggregated per certificate."""

    def __init__(
        self,
        *,
        policy: Policy,
        index: ChainIndex,
        role: Callable[[_Node], str],
        chain: Callable[[_Node], str | None],
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
        self._links: set[tuple[str, str]] = set()
        # aggregated per certificate: sha256 -> (certificate, the others involved)
        self._outlived: dict[str, tuple[_Node, list[_Node]]] = {}
        self._not_ca: dict[str, tuple[_Node, list[_Node]]] = {}
        self._no_cert_sign: dict[str, tuple[_Node, list[_Node]]] = {}
        self._too_deep: dict[str, tuple[_Node, list[tuple[_Node, int]]]] = {}
        self._dead_cas: list[tuple[str, _Node, str]] = []

    def emit(self, code: str, node: _Node, message: str, *, key: str | None = None) -> None:
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
        )

    # -- one certificate on its own -----------------------------------------------------
    def certificate(self, node: _Node) -> None:
        if node.sha256 in self._checked:
            return
        self._checked.add(node.sha256)
        policy, at, cert = self.policy, self.at, node.cert

        if at > node.not_after:
            msg = (
                f"{_q(node)} expired on {_day(node.not_after)}, "
                f"{_days(at - node.not_after)} before the check time {_day(at)}"
            )
            if node.is_ca:  # finished once the certificates below it are known
                self._dead_cas.append(("MC103", node, msg))
            else:
                self.emit("MC103", node, msg + ".")
        elif at < node.not_before:
            msg = (
                f"{_q(node)} is not valid until {_day(node.not_before)}, "
                f"{_days(node.not_before - at)} after the check time {_day(at)}"
            )
            if node.is_ca:
                self._dead_cas.append(("MC104", node, msg))
            else:
                self.emit("MC104", node, msg + ".")
        elif node.not_after - at <= policy.expiry_warning:
            self.emit(
                "MC105",
                node,
                f"{_q(node)} expires on {_day(node.not_after)}, in "
                f"{_days(node.not_after - at)} (warning window {_days(policy.expiry_warning)}).",
            )

        kind, bits = node.key_type, node.key_bits
        floor = {"RSA": policy.min_rsa_bits, "DSA": policy.min_rsa_bits, "EC": policy.min_ec_bits}
        if kind in floor and bits < floor[kind]:
            self.emit(
                "MC112",
                node,
                f"{_q(node)} has a {bits}-bit {kind} key ({cert.key_description}); Apple "
                f"devices require at least {floor[kind]} bits for {kind} keys.",
            )

        digest = cert.signature_hash
        if digest in policy.weak_hashes and not self.index.self_signed(node):
            self.emit(
                "MC111",
                node,
                f"{_q(node)} is signed with {_DIGESTS.get(digest, digest.upper())} "
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
                f"the extensions of {_q(node)} cannot be read ({node.unreadable_extensions}), "
                "so devices refuse the certificate.",
            )

    def _critical(self, node: _Node) -> None:
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
                f"{_q(node)} has critical extension{'s' if len(unknown) > 1 else ''} {listed}, "
                "which Apple devices do not process, so they refuse the certificate.",
            )
        if apple:
            self.emit(
                "MC114",
                node,
                f"{_q(node)} carries Apple's private critical extension"
                f"{'s' if len(apple) > 1 else ''} {', '.join(apple)}; accepted, because Apple "
                "devices process them.",
            )

    # -- a path: its certificates, its links, where it stops ----------------------------
    def path(self, path: _Path, *, end_entity: bool) -> None:
        nodes = path.nodes
        for node in nodes:
            self.certificate(node)
        for child, issuer in pairwise(nodes):
            link = (child.sha256, issuer.sha256)
            if link in self._links:
                continue
            self._links.add(link)
            if not issuer.is_ca:
                self._not_ca.setdefault(issuer.sha256, (issuer, []))[1].append(child)
            elif issuer.key_cert_sign is False:
                self._no_cert_sign.setdefault(issuer.sha256, (issuer, []))[1].append(child)
            if child.not_after > issuer.not_after >= self.at:  # expired: MC103 says it
                self._outlived.setdefault(issuer.sha256, (issuer, []))[1].append(child)
        if len(nodes) > 1:
            self._path_length(nodes, end_entity=end_entity)
        self._stop(path)

    def _path_length(self, nodes: tuple[_Node, ...], *, end_entity: bool) -> None:
        # below: non-self-issued CA certificates between nodes[i] and the path's start. A CA
        # at the start counts too when validating a bundle: it is there to issue.
        start = nodes[0]
        below = 0 if end_entity or not start.is_ca or start.self_issued else 1
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

    def _stop(self, path: _Path) -> None:
        top = path.top
        cert = top.cert
        if path.stop == _MISSING:
            aki = top.authority_key_identifier
            kid = (
                f"key id {_hex(aki)}"
                if aki
                else "key id unknown: the certificate has no authority key identifier"
            )
            self.emit(
                "MC101",
                top,
                f"the issuer of {_q(top)} is not {self.pool}: '{cert.issuer_text}' ({kid}).",
            )
        elif path.stop == _BAD_SIGNATURE:
            aki = top.authority_key_identifier
            tried = "; ".join(f"sha256:{n.sha256[:16]}, {_key_id(n)}" for n in path.detail)
            plural = "s" if len(path.detail) > 1 else ""
            if aki and any(n.subject_key_identifier == aki for n in path.detail):
                why = (
                    ", although the key ids match: the certificate was altered, or signed by "
                    "another key under that CA's name"
                )
            elif aki:
                why = f"; it asks for key id {_hex(aki)}: usually the wrong generation of a CA"
            else:
                why = ": usually the wrong generation of a CA"
            self.emit(
                "MC102",
                top,
                f"{_q(top)} names '{cert.issuer_text}' as its issuer, but its signature does "
                f"not verify with the key of the certificate{plural} of that name "
                f"({tried}){why}.",
            )
        elif path.stop == _NOT_SELF_SIGNED:
            self.emit(
                "MC110",
                top,
                f"{_q(top)} names itself as its issuer, but its signature does not verify with "
                "its own key (nor with another certificate of that name): it is not a root.",
            )
        elif path.stop == _UNTRUSTED_ROOT:
            self.emit(
                "MC118",
                top,
                f"the chain of {_q(path.nodes[0])} ends at {_q(top)}, a root that is not one "
                "of the trusted anchors.",
            )
        elif path.stop == _LOOP:
            members = path.detail
            first = min(members, key=lambda n: (n.display_name, n.sha256))
            ring = " → ".join(_q(n) for n in members)
            self.emit(
                "MC115",
                first,
                f"loop in the issuer graph: {ring} (each issued by the next), so no path "
                f"from {_q(first)} reaches a root.",
                key="loop:" + ",".join(sorted({n.sha256 for n in members})),
            )
        elif path.stop == _TOO_LONG:
            self.emit(
                "MC115",
                top,
                f"the chain above {_q(top)} is longer than {self.policy.max_chain_length} "
                "certificates; stopped following it (a loop through cross-certificates?).",
            )

    # -- findings that needed every path first ------------------------------------------
    def finish(self, dependents: Callable[[_Node], list[_Node]]) -> list[Finding]:
        for code, node, msg in self._dead_cas:
            under = dependents(node)
            if under:
                msg += (
                    f"; every certificate it issued fails with it ({len(under)} "
                    f"{self.pool}: {_names(under)})"
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
                f"{_q(issuer)} issued {_names(children)} but is not a CA ({why}); devices "
                "refuse every certificate it issued.",
            )
        for issuer, children in self._no_cert_sign.values():
            ku = issuer.cert.key_usage
            uses = ", ".join(_key_usages(ku)) if ku is not None else ""
            self.emit(
                "MC108",
                issuer,
                f"{_q(issuer)} issued {_names(children)} but its keyUsage ({uses or 'empty'}) "
                "lacks keyCertSign.",
            )
        for ca, under_ca in self._too_deep.values():
            worst = max(n for _, n in under_ca)
            self.emit(
                "MC109",
                ca,
                f"{_q(ca)} has pathLenConstraint {ca.path_length}, but {worst} CA "
                f"certificate{'s sit' if worst != 1 else ' sits'} below it on the path through "
                f"{_names([n for n, _ in under_ca])}.",
            )
        for issuer, children in self._outlived.values():
            children = sorted(children, key=lambda n: n.not_after, reverse=True)
            last = children[0]
            more = f" and {len(children) - 1} more" if len(children) > 1 else ""
            self.emit(
                "MC106",
                issuer,
                f"{_q(issuer)} expires on {_day(issuer.not_after)}, before {_q(last)} it issued "
                f"(expires {_day(last.not_after)}){more}: {_q(last)} stops working on "
                f"{_day(issuer.not_after)}.",
            )
        return list(self.found.values())


# --------------------------------------------------------------------------------------
# validate


def validate(
    certificates: Sequence[Certificate],
    *,
    at: datetime | None = None,
    policy: Policy | None = None,
    anchors: Sequence[Certificate] = (),
) -> Report:
    """Check every certificate of a bundle, and the path from each one to a root.

    ``at`` is the check time (now, in UTC, when None). Self-signed certificates in the bundle
    are roots; ``anchors`` adds trusted roots that are not in it. Returns a :class:`Report`
    with one finding per (code, certificate) and one ``chains`` entry per certificate;
    never raises for a finding. Duplicates (same SHA-256) are checked once (MC001).
    """
    policy = policy or Policy()

    bundle: list[Certificate] = []
    copies: dict[str, list[Certificate]] = {}
    for cert in certificates:
        same = copies.get(cert.sha256)
        if same is None:
            copies[cert.sha256] = [cert]
            bundle.append(cert)
        else:
            same.append(cert)

    anchor_shas = {a.sha256 for a in anchors}
    index = ChainIndex([*bundle, *anchors], at=at, max_candidates=policy.max_candidates)
    nodes = [index.node(cert) for cert in bundle]

    def is_anchor(node: _Node) -> bool:
        return node.sha256 in anchor_shas or index.self_signed(node)

    builder = _PathBuilder(index, policy, is_anchor)
    paths = [builder.best(node) for node in nodes]

    # A finding's chain label: the start of the longest path the certificate is on.
    longest: dict[str, _Path] = {}
    for path in paths:
        n = len(path.nodes)
        for node in path.nodes:
            seen = longest.get(node.sha256)
            if seen is None or len(seen.nodes) < n:
                longest[node.sha256] = path

    def chain(node: _Node) -> str | None:
        p = longest.get(node.sha256)
        return p.nodes[0].display_name if p is not None else None

    def role(node: _Node) -> str:
        if node.self_issued:  # placed as a root, self-signed or not (MC110)
            return "root" if node.is_ca else "self-signed certificate"
        if node.sha256 in anchor_shas:
            return "trusted anchor"
        return "intermediate" if node.is_ca else "end-entity certificate"

    checks = _Checks(policy=policy, index=index, role=role, chain=chain, pool="in the bundle")
    for path in paths:
        checks.path(path, end_entity=False)

    for node in nodes:
        if not node.is_ca and index.self_signed(node):
            checks.emit(
                "MC117",
                node,
                f"{_q(node)} is self-signed but not a CA (no basicConstraints CA:TRUE): it "
                "cannot anchor a chain, and iOS never offers it for full trust.",
            )
        dupes = copies[node.sha256]
        if len(dupes) > 1:
            where = ", ".join(str(c.origin) for c in dupes if c.origin is not None)
            checks.found[("MC001", node.sha256)] = make_finding(
                "MC001",
                f"{_q(node)} appears {len(dupes)} times"
                + (f" ({where})" if where else "")
                + "; it is installed once.",
                certificate=node.cert.ref(role(node)),
                location=dupes[1].origin,
                chain=chain(node),
            )
    _rekeyed(index, nodes, checks)

    dependents_of: dict[str, list[_Node]] = {}

    def dependents(node: _Node) -> list[_Node]:
        if not dependents_of:
            for path in paths:
                for above in path.nodes[1:]:
                    dependents_of.setdefault(above.sha256, []).append(path.nodes[0])
        return dependents_of.get(node.sha256, [])

    report = Report(findings=checks.finish(dependents))
    report.chains = _chains(paths)
    return report


def _chains(paths: Sequence[_Path]) -> list[dict[str, Any]]:
    """``Report.chains``: each certificate's best path, leaf first."""
    steps: dict[str, tuple[str, str, str]] = {}
    out = []
    for path in paths:
        hops = []
        for node in path.nodes:
            step = steps.get(node.sha256)
            if step is None:
                step = steps[node.sha256] = (
                    node.cert.subject_text,
                    node.sha256,
                    node.not_after.isoformat(),
                )
            hops.append({"subject": step[0], "sha256": step[1], "not_after": step[2]})
        out.append(
            {
                "certificate": hops[0]["subject"],
                "sha256": path.nodes[0].sha256,
                "path": hops,
                "complete": path.complete,
                "root": hops[-1]["subject"] if path.complete else None,
            }
        )
    return out


def _rekeyed(index: ChainIndex, nodes: Sequence[_Node], checks: _Checks) -> None:
    """MC116: one subject with more than one key (a re-keyed CA)."""
    done: set[bytes] = set()
    for node in nodes:
        if node.subject_der in done:
            continue
        done.add(node.subject_der)
        same = index._by_subject.get(node.subject_der, [])
        if len(same) < 2:
            continue
        keys: dict[bytes, _Node] = {}
        for n in same:
            keys.setdefault(n.cert.spki_sha256, n)
        if len(keys) < 2:
            continue
        generations = sorted(keys.values(), key=lambda n: (n.not_before, n.sha256))
        newest = generations[-1]
        listed = "; ".join(
            f"sha256:{n.sha256[:16]}, {_key_id(n)}, valid {_day(n.not_before)} to "
            f"{_day(n.not_after)}"
            for n in generations
        )
        checks.emit(
            "MC116",
            newest,
            f"{_q(newest)} appears with {len(generations)} different keys ({listed}): a "
            f"re-keyed CA. {'Both' if len(generations) == 2 else 'All'} are kept, and each "
            "certificate is checked against the generation whose key signed it.",
            key="rekey:" + newest.subject_der.hex(),
        )


# --------------------------------------------------------------------------------------
# verify_chain


def verify_chain(
    leaf: Certificate,
    intermediates: Sequence[Certificate],
    anchors: Sequence[Certificate],
    *,
    at: datetime | None = None,
    policy: Policy | None = None,
) -> ChainResult:
    """Does the end-entity certificate ``leaf`` chain to one of ``anchors``?

    The path may use any of ``intermediates``, in any order; extra ones are ignored. The
    leaf's own CA and keyCertSign flags are not required. Trust needs a path that reaches an
    anchor (that exact certificate; a copy of a root with the same subject and key also
    serves, since it verifies the same signatures) with signatures that verify, dates valid
    at ``at``, CA flags and path lengths respected, and no other error finding on it (a SHA-1
    signature on the leaf, say). The path is built and returned even when it is not trusted.
    """
    policy = policy or Policy()
    anchor_shas = {a.sha256 for a in anchors}
    index = ChainIndex(
        [leaf, *intermediates, *anchors], at=at, max_candidates=policy.max_candidates
    )
    builder = _PathBuilder(index, policy, lambda n: n.sha256 in anchor_shas)
    start = index.node(leaf)
    path = builder.best(start)

    position = {n.sha256: i for i, n in enumerate(path.nodes)}
    last = len(path.nodes) - 1

    def role(node: _Node) -> str:
        i = position.get(node.sha256, -1)
        if i == 0:
            return "end-entity certificate"
        if i == last and path.complete:
            return "root" if index.self_signed(node) else "trusted anchor"
        if i == last and path.stop == _UNTRUSTED_ROOT:
            return "untrusted root"
        return f"intermediate {i} of chain to {_q(leaf)}"

    checks = _Checks(
        policy=policy,
        index=index,
        role=role,
        chain=lambda _n: leaf.display_name,
        pool="among the certificates given",
    )
    checks.path(path, end_entity=True)
    findings = checks.finish(lambda n: [start] if n.sha256 != start.sha256 else [])

    findings.sort(
        key=lambda f: (
            f.severity.rank,
            position.get(f.certificate.sha256, last + 1) if f.certificate else last + 1,
            f.code,
        )
    )
    errors = [f for f in findings if f.blocks]
    stops = [f for f in errors if f.code in _STOP_CODES]
    reason: str | None = None
    if stops or errors:
        text = (stops or errors)[0].message
        reason = text[:1].upper() + text[1:]
    elif not path.complete:  # pragma: no cover - every way of stopping short is an error
        reason = f"The chain of {_q(leaf)} does not reach a trusted anchor."
    return ChainResult(
        trusted=reason is None,
        path=path.certificates,
        findings=tuple(findings),
        reason=reason,
    )
