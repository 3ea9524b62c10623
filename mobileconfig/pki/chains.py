"""Certificate chains: judge a bundle, or one certificate's chain to given anchors.

Two entry points share one path-building engine (:mod:`mobileconfig.pki.paths`) and one set
of checks (:mod:`mobileconfig.pki.checks`):

- :func:`validate` judges a bundle (the certificates a profile installs). The bundle is both
  the pool of issuers and the set of roots: every self-signed certificate in it is an anchor,
  and ``anchors`` adds trusted roots from outside it (a user's ``--ca``). Every certificate
  gets its best path and every problem on it becomes a :class:`~mobileconfig.findings.Finding`;
  nothing is raised. The bundle's own certificates are also linted against the issuance
  rules of RFC 5280 §4.2 (warnings MC119 to MC128).
- :func:`verify_chain` asks whether one end-entity certificate (a profile signer, a TLS
  server) chains to given anchors, and returns a :class:`ChainResult`. It judges the path,
  not how the CAs issued it: no issuance lints.

What a path must satisfy is RFC 5280 §6 path validation as Apple's devices apply it: names
matched after normalisation (§7.1), signatures, validity at the check time (at the
precision of the certificate's dates, whole seconds), basicConstraints and
pathLenConstraint (self-issued certificates exempt), keyUsage keyCertSign, critical
extensions (Apple's private ones accepted by default, see :class:`Policy`), key sizes and
curves, signature hashes. Deliberately not evaluated: name constraints, certificate
policies, and revocation (no CRL or OCSP is fetched). See ``docs/validation.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mobileconfig.findings import Finding, Report, make_finding
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.checks import STOP_CODES, Checks, day, key_id, quote
from mobileconfig.pki.paths import UNTRUSTED_ROOT, ChainIndex, Node, Path, PathBuilder
from mobileconfig.pki.policy import (
    APPLE_PRIVATE_EXTENSION_PREFIX,
    HANDLED_CRITICAL_EXTENSIONS,
    Policy,
)

__all__ = [
    "APPLE_PRIVATE_EXTENSION_PREFIX",
    "HANDLED_CRITICAL_EXTENSIONS",
    "ChainIndex",
    "ChainResult",
    "Policy",
    "validate",
    "verify_chain",
]


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

    ``at`` is the check time (a datetime; now, in UTC, when None). Self-signed certificates
    in the bundle are roots; ``anchors`` adds trusted roots that are not in it. Returns a
    :class:`Report` with one finding per (code, certificate) and one ``chains`` entry per
    certificate; never raises for a finding. Duplicates (same SHA-256) are checked once
    (MC001).
    """
    policy = policy or Policy()

    firsts: dict[str, Certificate] = {}
    copies: dict[str, list[Certificate]] = {}  # only the certificates given more than once
    for cert in certificates:
        sha = cert.sha256
        first = firsts.get(sha)
        if first is None:
            firsts[sha] = cert
        else:  # the same certificate again (maybe the very same object)
            copies.setdefault(sha, [first]).append(cert)
    bundle = list(firsts.values())

    anchor_shas = {a.sha256 for a in anchors}
    index = ChainIndex([*bundle, *anchors], at=at, max_candidates=policy.max_candidates)
    nodes = [index.node(cert) for cert in bundle]

    def is_anchor(node: Node) -> bool:
        return node.sha256 in anchor_shas or index.self_signed(node)

    builder = PathBuilder(index, policy, is_anchor)
    builder.prepare(nodes)
    paths = [builder.best(node) for node in nodes]

    # A finding's chain label: the start of the longest path the certificate is on (worked
    # out with the first finding: a clean bundle never needs it).
    longest: dict[str, Path] = {}

    def chain(node: Node) -> str | None:
        if not longest:
            for path in paths:
                n = len(path.nodes)
                for on in path.nodes:
                    seen = longest.get(on.sha256)
                    if seen is None or len(seen.nodes) < n:
                        longest[on.sha256] = path
        p = longest.get(node.sha256)
        return p.nodes[0].display_name if p is not None else None

    def role(node: Node) -> str:
        if node.self_issued:  # placed as a root, self-signed or not (MC110)
            return "root" if node.is_ca else "self-signed certificate"
        if node.sha256 in anchor_shas:
            return "trusted anchor"
        return "intermediate" if node.is_ca else "end-entity certificate"

    checks = Checks(policy=policy, index=index, role=role, chain=chain, pool="in the bundle")
    in_bundle = {node.sha256 for node in nodes}
    checks.lint_links_of(lambda node: node.sha256 in in_bundle)
    for path in paths:
        checks.path(path)

    for node in nodes:
        self_signed = index.self_signed(node)
        checks.lint(node, root=self_signed)
        if not node.is_ca and self_signed:
            checks.emit(
                "MC117",
                node,
                f"{quote(node)} is self-signed but not a CA (no basicConstraints CA:TRUE): it "
                "cannot anchor a chain, and iOS never offers it for full trust.",
            )
        dupes = copies.get(node.sha256)
        if dupes is not None:
            where = ", ".join(str(c.origin) for c in dupes if c.origin is not None)
            checks.found[("MC001", node.sha256)] = make_finding(
                "MC001",
                f"{quote(node)} appears {len(dupes)} times"
                + (f" ({where})" if where else "")
                + "; it is installed once.",
                certificate=node.cert.ref(role(node)),
                location=dupes[1].origin,
                chain=chain(node),
            )
    _rekeyed(index, nodes, checks)

    dependents_of: dict[str, list[Node]] = {}

    def dependents(node: Node) -> list[Node]:
        if not dependents_of:
            for path in paths:
                for above in path.nodes[1:]:
                    dependents_of.setdefault(above.sha256, []).append(path.nodes[0])
        return dependents_of.get(node.sha256, [])

    report = Report(findings=checks.finish(dependents))
    report.chains = _chains(paths, index)
    return report


def _chains(paths: Sequence[Path], index: ChainIndex) -> list[dict[str, Any]]:
    """``Report.chains``: each certificate's best path, leaf first."""
    steps: dict[str, tuple[str, str, str]] = {}
    out = []
    for path in paths:
        hops = []
        for node in path.nodes:
            step = steps.get(node.sha256)
            if step is None:
                step = steps[node.sha256] = (
                    index.subject_text(node),
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


def _rekeyed(index: ChainIndex, nodes: Sequence[Node], checks: Checks) -> None:
    """MC116: one subject with more than one key (a re-keyed CA)."""
    done: set[object] = set()
    for node in nodes:
        if index.subject_count(node) < 2 or node.subject_key in done:
            continue
        done.add(node.subject_key)
        same = index.same_subject(node)
        keys: dict[bytes, Node] = {}
        for n in same:
            keys.setdefault(n.cert.spki_sha256, n)
        if len(keys) < 2:
            continue
        generations = sorted(keys.values(), key=lambda n: (n.not_before, n.sha256))
        newest = generations[-1]
        listed = "; ".join(
            f"sha256:{n.sha256[:16]}, {key_id(n)}, valid {day(n.not_before)} to {day(n.not_after)}"
            for n in generations
        )
        checks.emit(
            "MC116",
            newest,
            f"{quote(newest)} appears with {len(generations)} different keys ({listed}): a "
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
    at ``at`` (a datetime; now when None), CA flags and path lengths respected, and no other
    error finding on it (a SHA-1 signature on the leaf, say). The path is built and returned
    even when it is not trusted.
    """
    policy = policy or Policy()
    anchor_shas = {a.sha256 for a in anchors}
    index = ChainIndex(
        [leaf, *intermediates, *anchors], at=at, max_candidates=policy.max_candidates
    )
    builder = PathBuilder(index, policy, lambda n: n.sha256 in anchor_shas)
    start = index.node(leaf)
    path = builder.best(start)

    position = {n.sha256: i for i, n in enumerate(path.nodes)}
    last = len(path.nodes) - 1

    def role(node: Node) -> str:
        i = position.get(node.sha256, -1)
        if i == 0:
            return "end-entity certificate"
        if i == last and path.complete:
            return "root" if index.self_signed(node) else "trusted anchor"
        if i == last and path.stop == UNTRUSTED_ROOT:
            return "untrusted root"
        return f"intermediate {i} of chain to {quote(leaf)}"

    checks = Checks(
        policy=policy,
        index=index,
        role=role,
        chain=lambda _n: leaf.display_name,
        pool="among the certificates given",
    )
    checks.path(path)
    findings = checks.finish(lambda n: [start] if n.sha256 != start.sha256 else [])

    findings.sort(
        key=lambda f: (
            f.severity.rank,
            position.get(f.certificate.sha256, last + 1) if f.certificate else last + 1,
            f.code,
        )
    )
    errors = [f for f in findings if f.blocks]
    stops = [f for f in errors if f.code in STOP_CODES]
    reason: str | None = None
    if stops or errors:
        text = (stops or errors)[0].message
        reason = text[:1].upper() + text[1:]
    elif not path.complete:  # pragma: no cover - every way of stopping short is an error
        reason = f"The chain of {quote(leaf)} does not reach a trusted anchor."
    return ChainResult(
        trusted=reason is None,
        path=path.certificates,
        findings=tuple(findings),
        reason=reason,
    )
