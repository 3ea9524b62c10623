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
from typing import Any, Literal

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
    """

    expiry_warning: timedelta = timedelta(days=30)
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    weak_hashes: frozenset[str] = frozenset({"md5", "sha1", "md2", "md4"})
    apple_private_extensions: Literal["accept", "reject"] = "accept"
    handled_extensions: frozenset[str] = HANDLED_CRITICAL_EXTENSIONS
    max_chain_length: int = 16

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
# The index


class ChainIndex:
    """Certificates indexed by subject name (DER) and by subject key identifier.

    :meth:`candidates` finds the possible issuers of a certificate with two dictionary
    look-ups; :meth:`verifies` checks a signature once per (child, issuer) pair.
    """

    def __init__(self, certificates: Iterable[Certificate], *, at: datetime | None = None):
        self.at = _utc(at)
        self._certs: list[Certificate] = []
        self._by_subject: dict[bytes, list[Certificate]] = {}
        self._by_key_id: dict[bytes, list[Certificate]] = {}
        self._verified: dict[tuple[str, str], bool] = {}
        seen: set[str] = set()
        for cert in certificates:
            if cert.sha256 in seen:
                continue
            seen.add(cert.sha256)
            self._certs.append(cert)
            self._by_subject.setdefault(cert.subject_der, []).append(cert)
            ski = cert.subject_key_identifier
            if ski is not None:
                self._by_key_id.setdefault(ski, []).append(cert)

    def __len__(self) -> int:
        return len(self._certs)

    def __iter__(self) -> Iterator[Certificate]:
        return iter(self._certs)

    def with_subject(self, subject_der: bytes) -> list[Certificate]:
        """Every certificate whose subject is ``subject_der``."""
        return list(self._by_subject.get(subject_der, ()))

    def with_key_id(self, key_id: bytes) -> list[Certificate]:
        """Every certificate whose subject key identifier is ``key_id``."""
        return list(self._by_key_id.get(key_id, ()))

    def verifies(self, child: Certificate, issuer: Certificate) -> bool:
        """True when ``issuer`` is named as ``child``'s issuer and its key made the signature.

        The result is cached, so each link costs one signature check.
        """
        key = (child.sha256, issuer.sha256)
        ok = self._verified.get(key)
        if ok is None:
            ok = child.issuer_der == issuer.subject_der and child.signed_by_key_of(issuer)
            self._verified[key] = ok
        return ok

    def links(self, cert: Certificate) -> list[tuple[Certificate, bool]]:
        """The possible issuers of ``cert`` with whether each one's signature verifies,
        best first: authority key identifier match, then signature, then validity."""
        found: list[tuple[Certificate, bool]] = []
        aki = cert.authority_key_identifier
        by_name = self._by_subject.get(cert.issuer_der)
        if not by_name:
            return found
        for cand in by_name:
            if cand is cert or cand.sha256 == cert.sha256:
                continue
            found.append((cand, self.verifies(cert, cand)))
        if len(found) > 1:
            at = self.at

            def rank(item: tuple[Certificate, bool]) -> tuple[bool, bool, bool]:
                cand, ok = item
                aki_match = aki is not None and cand.subject_key_identifier == aki
                return (not aki_match, not ok, not cand.valid_at(at))

            found.sort(key=rank)
        return found

    def candidates(self, cert: Certificate) -> list[Certificate]:
        """The possible issuers of ``cert``, best first (see :meth:`links`).

        A candidate must carry the issuer name (name chaining is what devices do); the
        authority key identifier orders candidates, it does not add any.
        """
        return [cand for cand, _ in self.links(cert)]


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
# the time, issuers not allowed to sign, weak signatures, length). Summing and comparing
# tuples lexicographically keeps "best path from here" valid for every certificate below.
_Score = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class _Path:
    certs: tuple[Certificate, ...]
    stop: str
    score: _Score
    detail: tuple[Certificate, ...] = ()  # candidates that failed, or the loop's members

    @property
    def complete(self) -> bool:
        return self.stop == _ANCHOR

    @property
    def top(self) -> Certificate:
        return self.certs[-1]


class _PathBuilder:
    """Finds each certificate's best path, memoised, each signature checked once."""

    def __init__(
        self,
        index: ChainIndex,
        policy: Policy,
        is_anchor: Callable[[Certificate], bool],
    ) -> None:
        self.index = index
        self.policy = policy
        self.is_anchor = is_anchor
        self.at = index.at
        self._memo: dict[str, _Path] = {}
        self._cost: dict[str, tuple[int, int, int]] = {}
        self._stack: list[Certificate] = []
        self._on_stack: dict[str, int] = {}

    def self_signed(self, cert: Certificate) -> bool:
        return cert.self_issued and self.index.verifies(cert, cert)

    def _node_cost(self, cert: Certificate) -> tuple[int, int, int]:
        cost = self._cost.get(cert.sha256)
        if cost is None:
            cost = (
                0 if cert.valid_at(self.at) else 1,
                0 if cert.is_ca and cert.key_cert_sign is not False else 1,
                1
                if cert.signature_hash in self.policy.weak_hashes and not self.self_signed(cert)
                else 0,
            )
            self._cost[cert.sha256] = cost
        return cost

    def _stop(
        self, cert: Certificate, stop: str, *, bad: int = 0, detail: tuple[Certificate, ...] = ()
    ) -> _Path:
        inv, ca, weak = self._node_cost(cert)
        return _Path((cert,), stop, (0 if stop == _ANCHOR else 1, bad, inv, ca, weak, 1), detail)

    def _extend(self, cert: Certificate, up: _Path) -> _Path:
        inv, ca, weak = self._node_cost(cert)
        s = up.score
        return _Path(
            (cert, *up.certs),
            up.stop,
            (s[0], s[1], s[2] + inv, s[3] + ca, s[4] + weak, s[5] + 1),
            up.detail,
        )

    def best(self, cert: Certificate) -> _Path:
        path, _ = self._best(cert)
        return path

    def _best(self, cert: Certificate) -> tuple[_Path, int]:
        """The best path from ``cert`` up, and the lowest stack position a loop reached
        (a result that depends on what is on the stack is not memoised)."""
        done = self._memo.get(cert.sha256)
        if done is not None:
            return done, len(self._stack)
        if self.is_anchor(cert):
            path = self._stop(cert, _ANCHOR)
            self._memo[cert.sha256] = path
            return path, len(self._stack)
        if cert.self_issued and self.index.verifies(cert, cert):
            path = self._stop(cert, _UNTRUSTED_ROOT)
            self._memo[cert.sha256] = path
            return path, len(self._stack)
        pos = len(self._stack)
        if pos + 1 >= self.policy.max_chain_length:
            return self._stop(cert, _TOO_LONG, detail=tuple(self._stack)), 0

        links = self.index.links(cert)
        if not links:
            path = self._stop(cert, _NOT_SELF_SIGNED if cert.self_issued else _MISSING)
            self._memo[cert.sha256] = path
            return path, pos

        self._stack.append(cert)
        self._on_stack[cert.sha256] = pos
        low = pos
        options: list[_Path] = []
        failed: list[Certificate] = []
        try:
            for issuer, ok in links:
                if not ok:
                    failed.append(issuer)
                    continue
                at = self._on_stack.get(issuer.sha256)
                if at is not None:
                    low = min(low, at)
                    loop = (*self._stack[at:], issuer)
                    options.append(self._stop(cert, _LOOP, detail=loop))
                    continue
                up, up_low = self._best(issuer)
                low = min(low, up_low)
                if any(c.sha256 == cert.sha256 for c in up.certs):
                    # The issuer's best path runs through this certificate: a loop from here.
                    i = next(n for n, c in enumerate(up.certs) if c.sha256 == cert.sha256)
                    options.append(self._stop(cert, _LOOP, detail=(cert, *up.certs[: i + 1])))
                    continue
                options.append(self._extend(cert, up))
        finally:
            self._stack.pop()
            del self._on_stack[cert.sha256]
        if failed:
            stop = _NOT_SELF_SIGNED if cert.self_issued else _BAD_SIGNATURE
            options.append(self._stop(cert, stop, bad=1, detail=tuple(failed)))
        path = min(options, key=lambda p: p.score)  # first of equals: the index's order
        if low >= pos:
            self._memo[cert.sha256] = path
        return path, low


# --------------------------------------------------------------------------------------
# Messages and checks, built in one place so the wording stays consistent


def _q(cert: Certificate) -> str:
    return f"'{cert.display_name}'"


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")


def _days(delta: timedelta) -> str:
    days = abs(delta).days
    if days == 0:
        return "less than a day"
    return f"{days} day{'s' if days != 1 else ''}"


def _hex(value: bytes) -> str:
    return ":".join(f"{b:02X}" for b in value)


def _names(certs: Sequence[Certificate], limit: int = 3) -> str:
    shown = ", ".join(_q(c) for c in certs[:limit])
    more = len(certs) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def _extension_name(oid: str) -> str:
    known = _EXTENSION_NAMES.get(oid)
    return f"{oid} ({known})" if known else oid


def _key_ids(cert: Certificate) -> str:
    ski = cert.subject_key_identifier
    return f"key id {_hex(ski)}" if ski else "no subject key identifier"


class _Checks:
    """Collects findings, one per (code, certificate), with aggregated details."""

    def __init__(
        self,
        *,
        policy: Policy,
        builder: _PathBuilder,
        role: Callable[[Certificate], str],
        chain: Callable[[Certificate], str | None],
        pool: str,
    ) -> None:
        self.policy = policy
        self.builder = builder
        self.at = builder.at
        self.role = role
        self.chain = chain
        self.pool = pool
        self.found: dict[tuple[str, str], Finding] = {}
        self._checked: set[str] = set()
        self._links: set[tuple[str, str]] = set()
        self._pathlen_checked: set[tuple[str, ...]] = set()
        # aggregated: issuer sha -> (issuer, children)
        self._outlived: dict[str, tuple[Certificate, list[Certificate]]] = {}
        self._not_ca: dict[str, tuple[Certificate, list[Certificate]]] = {}
        self._no_cert_sign: dict[str, tuple[Certificate, list[Certificate]]] = {}
        self._pathlen: dict[str, tuple[Certificate, list[tuple[Certificate, int]]]] = {}
        self._expired_cas: list[tuple[str, Certificate, str]] = []

    def emit(
        self, code: str, cert: Certificate, message: str, *, fix: str | None = None,
        key: str | None = None,
    ) -> None:
        k = (code, key or cert.sha256)
        if k in self.found:
            return
        self.found[k] = make_finding(
            code,
            message,
            certificate=cert.ref(self.role(cert)),
            location=cert.origin,
            fix=fix,
            chain=self.chain(cert),
        )

    # -- one certificate on its own -------------------------------------------------
    def certificate(self, cert: Certificate) -> None:
        if cert.sha256 in self._checked:
            return
        self._checked.add(cert.sha256)
        policy, at = self.policy, self.at
        self_signed = self.builder.self_signed(cert)

        if at > cert.not_after:
            msg = (
                f"{_q(cert)} expired on {_day(cert.not_after)}, "
                f"{_days(at - cert.not_after)} before the check time {_day(at)}"
            )
            if cert.is_ca:
                self._expired_cas.append(("MC103", cert, msg))
            else:
                self.emit("MC103", cert, msg + ".")
        elif at < cert.not_before:
            msg = (
                f"{_q(cert)} is not valid until {_day(cert.not_before)}, "
                f"{_days(cert.not_before - at)} after the check time {_day(at)}"
            )
            if cert.is_ca:
                self._expired_cas.append(("MC104", cert, msg))
            else:
                self.emit("MC104", cert, msg + ".")
        elif cert.not_after - at <= policy.expiry_warning:
            self.emit(
                "MC105",
                cert,
                f"{_q(cert)} expires on {_day(cert.not_after)}, in {_days(cert.not_after - at)} "
                f"(warning window {_days(policy.expiry_warning)}).",
            )

        kind, bits = cert.key_type, cert.key_bits
        floor = {"RSA": policy.min_rsa_bits, "DSA": policy.min_rsa_bits, "EC": policy.min_ec_bits}
        if kind in floor and bits < floor[kind]:
            self.emit(
                "MC112",
                cert,
                f"{_q(cert)} has a {cert.key_description} key ({bits} bits); Apple devices "
                f"require at least {floor[kind]} bits for {kind} keys.",
            )

        digest = cert.signature_hash
        if digest in policy.weak_hashes and not self_signed:
            self.emit(
                "MC111",
                cert,
                f"{_q(cert)} is signed with {digest.upper()} ({cert.signature_algorithm}) by "
                f"'{cert.issuer_common_name or cert.issuer_text}'; Apple devices refuse "
                "MD5 and SHA-1 signatures on certificates below a root.",
            )

        apple: list[str] = []
        unknown: list[str] = []
        for oid in cert.critical_extension_oids:
            if oid.startswith(APPLE_PRIVATE_EXTENSION_PREFIX):
                apple.append(oid)
            elif oid not in policy.handled_extensions:
                unknown.append(oid)
        if apple and policy.apple_private_extensions == "reject":
            unknown.extend(apple)
            apple = []
        if unknown:
            listed = ", ".join(_extension_name(o) for o in unknown)
            self.emit(
                "MC113",
                cert,
                f"{_q(cert)} has critical extension{'s' if len(unknown) > 1 else ''} {listed} "
                "that Apple devices do not process, so they refuse the certificate.",
            )
        if apple:
            self.emit(
                "MC114",
                cert,
                f"{_q(cert)} carries Apple's private critical extension"
                f"{'s' if len(apple) > 1 else ''} {', '.join(apple)}; accepted, because Apple "
                "devices process them.",
            )

    # -- links between a certificate and its issuer ----------------------------------
    def path(self, path: _Path, *, target_is_end_entity: bool) -> None:
        certs = path.certs
        for cert in certs:
            self.certificate(cert)
        for child, issuer in pairwise(certs):
            link = (child.sha256, issuer.sha256)
            if link in self._links:
                continue
            self._links.add(link)
            if not issuer.is_ca:
                self._not_ca.setdefault(issuer.sha256, (issuer, []))[1].append(child)
            elif issuer.key_cert_sign is False:
                self._no_cert_sign.setdefault(issuer.sha256, (issuer, []))[1].append(child)
            if child.not_after > issuer.not_after >= self.at:  # already expired: MC103 says it
                self._outlived.setdefault(issuer.sha256, (issuer, []))[1].append(child)
        self._path_length(certs, target_is_end_entity=target_is_end_entity)
        self.stop(path)

    def _path_length(self, certs: tuple[Certificate, ...], *, target_is_end_entity: bool) -> None:
        shas = tuple(c.sha256 for c in certs)
        if len(certs) < 2 or shas in self._pathlen_checked:
            return
        self._pathlen_checked.add(shas)
        # below[i]: non-self-issued intermediate CAs between certs[i] and the path's start.
        target = certs[0]
        below = 0 if target_is_end_entity or not target.is_ca or target.self_issued else 1
        for i in range(1, len(certs)):
            ca = certs[i]
            limit = ca.path_length
            if limit is not None and below > limit:
                lst = self._pathlen.setdefault(ca.sha256, (ca, []))[1]
                if all(c.sha256 != certs[i - 1].sha256 for c, _ in lst):
                    lst.append((certs[i - 1], below))
            if not ca.self_issued:
                below += 1

    def stop(self, path: _Path) -> None:
        top = path.top
        if path.stop == _MISSING:
            aki = top.authority_key_identifier
            kid = (
                f"key id {_hex(aki)}"
                if aki
                else "no key id: the certificate has no authority key identifier"
            )
            self.emit(
                "MC101",
                top,
                f"the issuer of {_q(top)} is not {self.pool}: '{top.issuer_text}' "
                f"({kid}).",
            )
        elif path.stop == _BAD_SIGNATURE:
            aki = top.authority_key_identifier
            want = f"; the certificate asks for key id {_hex(aki)}" if aki else ""
            tried = "; ".join(f"sha256:{c.sha256[:16]}, {_key_ids(c)}" for c in path.detail)
            self.emit(
                "MC102",
                top,
                f"{_q(top)} names '{top.issuer_text}' as its issuer, but its signature does "
                f"not verify with the key of the certificate{'s' if len(path.detail) > 1 else ''}"
                f" of that name ({tried}){want}: usually the wrong generation of a CA.",
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
                f"the chain of {_q(path.certs[0])} ends at {_q(top)}, a root that is not one "
                "of the trusted anchors.",
            )
        elif path.stop == _LOOP:
            members = path.detail
            first = min(members, key=lambda c: (c.display_name, c.sha256))
            ring = " → ".join(_q(c) for c in members)
            self.emit(
                "MC115",
                first,
                f"loop in the issuer graph: {ring} (each issued by the next); no path from "
                f"{_q(first)} reaches a root.",
                key="loop:" + ",".join(sorted({c.sha256 for c in members})),
            )
        elif path.stop == _TOO_LONG:
            self.emit(
                "MC115",
                top,
                f"the chain above {_q(top)} is longer than {self.policy.max_chain_length} "
                "certificates; stopped following it (a loop through cross-certificates?).",
            )

    # -- aggregated findings -----------------------------------------------------------
    def finish(self, dependents: Callable[[Certificate], list[Certificate]]) -> list[Finding]:
        for code, cert, msg in self._expired_cas:
            under = dependents(cert)
            if under:
                msg += (
                    f"; every certificate it issued fails with it ({len(under)} "
                    f"{self.pool}: {_names(under)})"
                )
            self.emit(code, cert, msg + ".")
        for issuer, children in self._not_ca.values():
            bc = issuer.basic_constraints
            why = "basicConstraints CA:FALSE" if bc is not None else "no basicConstraints"
            self.emit(
                "MC107",
                issuer,
                f"{_q(issuer)} issued {_names(children)} but is not a CA ({why}); devices "
                "refuse every certificate it issued.",
            )
        for issuer, children in self._no_cert_sign.values():
            ku = issuer.key_usage
            uses = _key_usages(ku) if ku is not None else []
            self.emit(
                "MC108",
                issuer,
                f"{_q(issuer)} issued {_names(children)} but its keyUsage "
                f"({', '.join(uses) or 'empty'}) lacks keyCertSign.",
            )
        for ca, below in self._pathlen.values():
            worst = max(n for _, n in below)
            self.emit(
                "MC109",
                ca,
                f"{_q(ca)} has pathLenConstraint {ca.path_length}, but {worst} CA "
                f"certificate{'s' if worst != 1 else ''} sit below it on the path through "
                f"{_names([c for c, _ in below])}.",
            )
        for issuer, children in self._outlived.values():
            children = sorted(children, key=lambda c: c.not_after, reverse=True)
            last = children[0]
            self.emit(
                "MC106",
                issuer,
                f"{_q(issuer)} expires on {_day(issuer.not_after)}, before {_q(last)} it issued "
                f"(expires {_day(last.not_after)})"
                + (f" and {len(children) - 1} more" if len(children) > 1 else "")
                + f": {_q(last)} stops working on {_day(issuer.not_after)}.",
            )
        return list(self.found.values())


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


# --------------------------------------------------------------------------------------
# validate


def _role(cert: Certificate, self_signed: bool, anchor: bool) -> str:
    if self_signed:
        return "root" if cert.is_ca else "self-signed certificate"
    if anchor:
        return "trusted anchor"
    return "intermediate" if cert.is_ca else "end-entity certificate"


def _path_entry(cert: Certificate) -> dict[str, Any]:
    return {"subject": cert.subject_text, "sha256": cert.sha256, "not_after": _iso(cert)}


def _iso(cert: Certificate) -> str:
    return cert.not_after.isoformat()


def validate(
    certificates: Sequence[Certificate],
    *,
    at: datetime | None = None,
    policy: Policy | None = None,
    anchors: Sequence[Certificate] = (),
) -> Report:
    """Check every certificate of a bundle and the path from each one to a root.

    ``at`` is the check time (now, in UTC, when None). Self-signed certificates in the bundle
    are roots; ``anchors`` adds trusted roots that are not in it. Returns a :class:`Report`
    with one finding per (code, certificate) and one ``chains`` entry per certificate;
    never raises for a finding.
    """
    policy = policy or Policy()
    report = Report()

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
    index = ChainIndex([*bundle, *anchors], at=at)

    def is_anchor(cert: Certificate) -> bool:
        return cert.sha256 in anchor_shas or (
            cert.self_issued and index.verifies(cert, cert)
        )

    builder = _PathBuilder(index, policy, is_anchor)
    paths = [builder.best(cert) for cert in bundle]

    # Label each certificate with the longest path it is on, named by that path's start.
    longest: dict[str, _Path] = {}
    for path in paths:
        n = len(path.certs)
        for cert in path.certs:
            seen = longest.get(cert.sha256)
            if seen is None or len(seen.certs) < n:
                longest[cert.sha256] = path

    def chain(cert: Certificate) -> str | None:
        p = longest.get(cert.sha256)
        return p.certs[0].display_name if p is not None else None

    def role(cert: Certificate) -> str:
        return _role(cert, builder.self_signed(cert), cert.sha256 in anchor_shas)

    checks = _Checks(
        policy=policy, builder=builder, role=role, chain=chain, pool="in the bundle"
    )
    for path in paths:
        checks.path(path, target_is_end_entity=False)

    for cert in bundle:
        if builder.self_signed(cert) and not cert.is_ca:
            checks.emit(
                "MC117",
                cert,
                f"{_q(cert)} is self-signed but not a CA (no basicConstraints CA:TRUE): it "
                "cannot anchor a chain, and iOS never offers it for full trust.",
            )
        dupes = copies[cert.sha256]
        if len(dupes) > 1:
            where = ", ".join(str(c.origin) for c in dupes if c.origin is not None)
            checks.found[("MC001", cert.sha256)] = make_finding(
                "MC001",
                f"{_q(cert)} appears {len(dupes)} times"
                + (f" ({where})" if where else "")
                + "; it is installed once.",
                certificate=cert.ref(role(cert)),
                location=dupes[1].origin,
                chain=chain(cert),
            )

    _rekeyed(index, bundle, checks)

    dependents_of: dict[str, list[Certificate]] | None = None

    def dependents(cert: Certificate) -> list[Certificate]:
        nonlocal dependents_of
        if dependents_of is None:
            dependents_of = {}
            for path in paths:
                start = path.certs[0]
                for above in path.certs[1:]:
                    dependents_of.setdefault(above.sha256, []).append(start)
        return dependents_of.get(cert.sha256, [])

    report.extend(checks.finish(dependents))

    entries: dict[str, dict[str, Any]] = {}
    for cert, path in zip(bundle, paths, strict=True):
        steps = []
        for c in path.certs:
            e = entries.get(c.sha256)
            if e is None:
                e = entries[c.sha256] = _path_entry(c)
            steps.append(dict(e))
        report.chains.append(
            {
                "certificate": cert.subject_text,
                "sha256": cert.sha256,
                "path": steps,
                "complete": path.complete,
                "root": path.top.subject_text if path.complete else None,
            }
        )
    return report


def _rekeyed(index: ChainIndex, bundle: Sequence[Certificate], checks: _Checks) -> None:
    """MC116: one subject with more than one key (a re-keyed CA)."""
    done: set[bytes] = set()
    for cert in bundle:
        if cert.subject_der in done:
            continue
        done.add(cert.subject_der)
        same = index.with_subject(cert.subject_der)
        if len(same) < 2:
            continue
        keys: dict[bytes, Certificate] = {}
        for c in same:
            keys.setdefault(c.spki_sha256, c)
        if len(keys) < 2:
            continue
        gens = sorted(keys.values(), key=lambda c: (c.not_before, c.sha256))
        newest = gens[-1]
        listed = "; ".join(
            f"sha256:{c.sha256[:16]}, {_key_ids(c)}, valid {_day(c.not_before)} to "
            f"{_day(c.not_after)}"
            for c in gens
        )
        checks.emit(
            "MC116",
            newest,
            f"{_q(newest)} appears with {len(gens)} different keys ({listed}): a re-keyed CA. "
            "Both are kept, and each certificate is checked against the generation whose key "
            "signed it.",
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

    The path may use any of ``intermediates`` (in any order, extra ones ignored). The leaf's
    own CA and keyCertSign flags are not required. Trust needs a path that reaches an anchor
    (that exact certificate, or a certificate with the same subject and key) with signatures
    that verify, dates valid at ``at``, CA flags and path lengths respected, and no other
    error (a SHA-1 signature on the leaf, say). The path is built even when it is not trusted.
    """
    policy = policy or Policy()
    anchor_shas = {a.sha256 for a in anchors}
    index = ChainIndex([leaf, *intermediates, *anchors], at=at)
    builder = _PathBuilder(index, policy, lambda c: c.sha256 in anchor_shas)
    path = builder.best(leaf)

    position = {c.sha256: i for i, c in enumerate(path.certs)}
    last = len(path.certs) - 1

    def role(cert: Certificate) -> str:
        i = position.get(cert.sha256, -1)
        if i == 0:
            return "end-entity certificate"
        if i == last and path.complete:
            return "root" if builder.self_signed(cert) else "trusted anchor"
        if i == last and path.stop == _UNTRUSTED_ROOT:
            return "untrusted root"
        return f"intermediate {i} of chain to {_q(leaf)}"

    checks = _Checks(
        policy=policy,
        builder=builder,
        role=role,
        chain=lambda _c: leaf.display_name,
        pool="among the certificates given",
    )
    checks.path(path, target_is_end_entity=True)
    findings = checks.finish(lambda c: [leaf] if c.sha256 != leaf.sha256 else [])

    ordered = sorted(
        findings,
        key=lambda f: (
            f.severity.rank,
            position.get(f.certificate.sha256, 99) if f.certificate else 99,
            f.code,
        ),
    )
    reason: str | None = None
    errors = [f for f in ordered if f.severity.rank == 0]
    stop_codes = {"MC101", "MC102", "MC110", "MC115", "MC118"}
    stops = [f for f in errors if f.code in stop_codes]
    if stops:
        reason = stops[0].message
    elif errors:
        reason = errors[0].message
    elif not path.complete:  # pragma: no cover - every stop emits an error
        reason = f"the chain of {_q(leaf)} does not reach a trusted anchor."
    if reason:
        reason = reason[0].upper() + reason[1:]
    return ChainResult(
        trusted=reason is None,
        path=path.certs,
        findings=tuple(ordered),
        reason=reason,
    )

