"""The chain validator: every defect it must catch, as a table of cases, and verify_chain.

Each case builds a fresh PKI with tests/pki.py, checks it at ``pki.NOW``, and states the codes
it must produce, the codes it must not, and the certificate each finding must name. Cases run
with EC P-256 and RSA 2048 keys; RSA keys come from fixed slots because generating them is slow
(slot 0 root, 1 intermediate, 2 leaf, 3+ others; a case never gives two roles one slot).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from mobileconfig.errors import Location, ValidationFailed
from mobileconfig.findings import CATALOGUE, Finding, Report, Severity
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.chains import ChainIndex, Policy, validate, verify_chain

from pki import (
    DAY,
    NOW,
    Issued,
    KeyKind,
    PrivateKey,
    cross_certify,
    issue,
    make_key,
    name,
    openssl_resign,
    with_duplicate_extension,
)

KINDS: list[KeyKind] = ["ec256", "rsa2048"]
ERRORS = {c for c, e in CATALOGUE.items() if e.severity is Severity.ERROR and c.startswith("MC1")}
WARNINGS = {c for c, e in CATALOGUE.items() if e.severity is Severity.WARNING}
UNKNOWN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1")
APPLE_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.2.1")


def key(kind: KeyKind, slot: int) -> PrivateKey:
    return make_key(kind, slot=slot)


def cert(issued: Issued) -> Certificate:
    cns = issued.cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    cn = cns[0].value if cns else issued.cert.serial_number
    return Certificate(issued.cert, origin=Location(f"certs/{cn!s}.pem"))


def certs(*issued: Issued) -> list[Certificate]:
    return [cert(i) for i in issued]


def chain3(kind: KeyKind, **leaf: object) -> tuple[Issued, Issued, Issued]:
    """A root, an issuing CA and a server certificate; ``leaf`` overrides the server's knobs."""
    root = issue("Case Root CA", key=key(kind, 0))
    ca = root.issue("Case Issuing CA", key=key(kind, 1), path_length=0)
    options: dict[str, object] = {"key": key(kind, 2), "ca": False}
    options.update(leaf)
    server = ca.issue("case.example.com", **options)
    return root, ca, server


def named(report: Report | Sequence[Finding], code: str, cn: str) -> bool:
    return any(
        f.code == code
        and (cn in f.message or (f.certificate is not None and cn in f.certificate.subject))
        for f in report
    )


# --------------------------------------------------------------------------------------
# The table


@dataclass
class Case:
    bundle: list[Issued]
    must: dict[str, str]  # code -> the CN its finding must name
    must_not: set[str] = field(default_factory=set)
    policy: Policy | None = None


def complete(kind: KeyKind) -> Case:
    return Case(list(chain3(kind)), {}, ERRORS | WARNINGS)


def missing_issuer(kind: KeyKind) -> Case:
    root, _, server = chain3(kind)
    return Case([root, server], {"MC101": "case.example.com"}, {"MC102", "MC115"})


def bad_signature(kind: KeyKind) -> Case:
    root, ca, _ = chain3(kind)
    forged = ca.issue("forged.example.com", ca=False, key=key(kind, 2), sign_with=key(kind, 3))
    return Case([root, ca, forged], {"MC102": "forged.example.com"}, {"MC101"})


def expired_leaf(kind: KeyKind) -> Case:
    return Case(list(chain3(kind, not_after=NOW - DAY)), {"MC103": "case.example.com"}, {"MC105"})


def expired_intermediate(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    ca = root.issue("Old Issuing CA", key=key(kind, 1), not_after=NOW - 2 * DAY)
    a = ca.issue("a.example.com", ca=False, key=key(kind, 2))
    b = ca.issue("b.example.com", ca=False, key=key(kind, 3))
    return Case([root, ca, a, b], {"MC103": "Old Issuing CA"}, {"MC101", "MC105", "MC106"})


def not_yet_valid(kind: KeyKind) -> Case:
    return Case(
        list(chain3(kind, not_before=NOW + 10 * DAY)), {"MC104": "case.example.com"}, {"MC103"}
    )


def expiring_soon(kind: KeyKind) -> Case:
    return Case(list(chain3(kind, not_after=NOW + 10 * DAY)), {"MC105": "case.example.com"}, ERRORS)


def intermediate_expiring_soon(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    ca = root.issue("Soon Issuing CA", key=key(kind, 1), not_after=NOW + 20 * DAY)
    server = ca.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case(
        [root, ca, server], {"MC105": "Soon Issuing CA", "MC106": "Soon Issuing CA"}, ERRORS
    )


def intermediate_outlived(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    ca = root.issue("Short Issuing CA", key=key(kind, 1), not_after=NOW + 100 * DAY)
    server = ca.issue("case.example.com", ca=False, key=key(kind, 2), not_after=NOW + 200 * DAY)
    return Case([root, ca, server], {"MC106": "Short Issuing CA"}, ERRORS | {"MC105"})


def issuer_without_basic_constraints(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    plain = root.issue("Plain Cert", key=key(kind, 1), ca=None, key_cert_sign=None)
    server = plain.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([root, plain, server], {"MC107": "Plain Cert"}, {"MC101", "MC102", "MC108"})


def issuer_ca_false(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    leafy = root.issue("Leafy Cert", key=key(kind, 1), ca=False)
    server = leafy.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([root, leafy, server], {"MC107": "Leafy Cert"}, {"MC101", "MC108"})


def issuer_without_key_cert_sign(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    ca = root.issue("No Sign CA", key=key(kind, 1), key_cert_sign=False)
    server = ca.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([root, ca, server], {"MC108": "No Sign CA"}, {"MC107", "MC101"})


def path_too_long(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    top = root.issue("Policy CA", key=key(kind, 1), path_length=0)
    sub = top.issue("Sub CA", key=key(kind, 3))
    server = sub.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([root, top, sub, server], {"MC109": "Policy CA"}, {"MC101", "MC107"})


def path_length_respected(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    top = root.issue("Policy CA", key=key(kind, 1), path_length=1)
    sub = top.issue("Sub CA", key=key(kind, 3), path_length=0)
    server = sub.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([root, top, sub, server], {}, ERRORS | WARNINGS)


def root_not_self_signed(kind: KeyKind) -> Case:
    fake = issue("Fake Root CA", key=key(kind, 0), sign_with=key(kind, 3))
    ca = fake.issue("Case Issuing CA", key=key(kind, 1))
    return Case([fake, ca], {"MC110": "Fake Root CA"}, {"MC101", "MC102"})


def sha1_below_root(kind: KeyKind) -> Case:
    root, ca, server = chain3(kind)
    return Case(
        [root, ca, openssl_resign(server, ca, "sha1")],
        {"MC111": "case.example.com"},
        {"MC102", "MC101"},
    )


def sha1_intermediate(kind: KeyKind) -> Case:
    root, ca, server = chain3(kind)
    return Case(
        [root, openssl_resign(ca, root, "sha1"), server],
        {"MC111": "Case Issuing CA"},
        {"MC102", "MC101"},
    )


def md5_below_root(kind: KeyKind) -> Case:
    # openssl signs MD5 with RSA only (there is no ECDSA-with-MD5), so this case is RSA.
    root, ca, server = chain3("rsa2048")
    return Case(
        [root, ca, openssl_resign(server, ca, "md5")],
        {"MC111": "case.example.com"},
        {"MC102", "MC101"},
    )


def sha1_root_self_signature(kind: KeyKind) -> Case:
    root, ca, server = chain3(kind)
    return Case([openssl_resign(root, None, "sha1"), ca, server], {}, ERRORS | WARNINGS)


def weak_leaf_key(kind: KeyKind) -> Case:
    weak: KeyKind = "rsa1024" if kind.startswith("rsa") else "ec224"
    return Case(list(chain3(kind, key=key(weak, 0))), {"MC112": "case.example.com"}, {"MC102"})


def weak_root_key(kind: KeyKind) -> Case:
    weak: KeyKind = "rsa1024" if kind.startswith("rsa") else "ec224"
    root = issue("Weak Root CA", key=key(weak, 0))
    ca = root.issue("Case Issuing CA", key=key(kind, 1))
    return Case([root, ca], {"MC112": "Weak Root CA"}, {"MC102", "MC111"})


def unknown_critical_extension(kind: KeyKind) -> Case:
    ext = x509.UnrecognizedExtension(UNKNOWN_OID, b"\x05\x00")
    return Case(
        list(chain3(kind, extra_extensions=[(ext, True)])), {"MC113": "case.example.com"}, {"MC114"}
    )


def unknown_noncritical_extension(kind: KeyKind) -> Case:
    ext = x509.UnrecognizedExtension(UNKNOWN_OID, b"\x05\x00")
    return Case(list(chain3(kind, extra_extensions=[(ext, False)])), {}, ERRORS | WARNINGS)


def unreadable_extensions(kind: KeyKind) -> Case:
    root, ca, server = chain3(kind)
    broken = with_duplicate_extension(server, ca)
    return Case([root, ca, broken], {"MC113": "case.example.com"}, {"MC102", "MC101"})


def apple_extension(kind: KeyKind) -> Case:
    ext = x509.UnrecognizedExtension(APPLE_OID, b"\x05\x00")
    return Case(
        list(chain3(kind, extra_extensions=[(ext, True)])),
        {"MC114": "case.example.com"},
        ERRORS | WARNINGS,
    )


def apple_extension_rejected(kind: KeyKind) -> Case:
    ext = x509.UnrecognizedExtension(APPLE_OID, b"\x05\x00")
    return Case(
        list(chain3(kind, extra_extensions=[(ext, True)])),
        {"MC113": "case.example.com"},
        {"MC114"},
        Policy(apple_private_extensions="reject"),
    )


def loop(kind: KeyKind) -> Case:
    # A issued by B issued by A: make B under a throwaway A, then A under B.
    a_key, b_key = key(kind, 0), key(kind, 1)
    seed = issue("Loop A", key=a_key)
    b = seed.issue("Loop B", key=b_key)
    a = b.issue("Loop A", key=a_key)
    server = a.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([a, b, server], {"MC115": "Loop A"}, {"MC101", "MC102"})


def rekeyed_ca(kind: KeyKind) -> Case:
    old = issue("Gen Root CA", key=key(kind, 0), not_before=NOW - 900 * DAY)
    new = issue("Gen Root CA", key=key(kind, 4))
    ca = new.issue("Case Issuing CA", key=key(kind, 1))
    server = ca.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([old, new, ca, server], {"MC116": "Gen Root CA"}, ERRORS)


def rekeyed_ca_without_key_ids(kind: KeyKind) -> Case:
    new = issue("Gen Root CA", key=key(kind, 4))
    old = issue("Gen Root CA", key=key(kind, 0), not_before=NOW - 900 * DAY)
    ca = new.issue("Case Issuing CA", key=key(kind, 1), aki=False)
    return Case([new, old, ca], {"MC116": "Gen Root CA"}, ERRORS)


def wrong_generation_only(kind: KeyKind) -> Case:
    old = issue("Gen Root CA", key=key(kind, 0))
    new = issue("Gen Root CA", key=key(kind, 4))
    ca = new.issue("Case Issuing CA", key=key(kind, 1))
    return Case([old, ca], {"MC102": "Case Issuing CA"}, {"MC101", "MC116"})


def cross_certified(kind: KeyKind) -> Case:
    root_a = issue("Cross Root A", key=key(kind, 0))
    root_b = issue("Cross Root B", key=key(kind, 4))
    bridge = cross_certify(root_b, root_a)
    ca = root_b.issue("Case Issuing CA", key=key(kind, 1))
    server = ca.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([root_a, bridge, ca, server], {}, ERRORS | WARNINGS)


def self_signed_end_entity(kind: KeyKind) -> Case:
    root, ca, server = chain3(kind)
    lonely = issue("lonely.example.com", key=key(kind, 3), ca=False)
    return Case([root, ca, server, lonely], {"MC117": "lonely.example.com"}, ERRORS)


def duplicates(kind: KeyKind) -> Case:
    root, ca, server = chain3(kind)
    return Case([root, ca, ca, server], {"MC001": "Case Issuing CA"}, ERRORS | WARNINGS)


CASES: list[Callable[[KeyKind], Case]] = [
    complete,
    missing_issuer,
    bad_signature,
    expired_leaf,
    expired_intermediate,
    not_yet_valid,
    expiring_soon,
    intermediate_expiring_soon,
    intermediate_outlived,
    issuer_without_basic_constraints,
    issuer_ca_false,
    issuer_without_key_cert_sign,
    path_too_long,
    path_length_respected,
    root_not_self_signed,
    sha1_below_root,
    sha1_intermediate,
    md5_below_root,
    sha1_root_self_signature,
    weak_leaf_key,
    weak_root_key,
    unknown_critical_extension,
    unknown_noncritical_extension,
    unreadable_extensions,
    apple_extension,
    apple_extension_rejected,
    loop,
    rekeyed_ca,
    rekeyed_ca_without_key_ids,
    wrong_generation_only,
    cross_certified,
    self_signed_end_entity,
    duplicates,
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_chain_case(build: Callable[[KeyKind], Case], kind: KeyKind) -> None:
    case = build(kind)
    report = validate(certs(*case.bundle), at=NOW, policy=case.policy)
    codes = report.codes()
    listing = "\n".join(f.format() for f in report)
    assert set(case.must) <= codes, listing
    assert not (codes & case.must_not), listing
    for code, cn in case.must.items():
        assert named(report, code, cn), f"{code} does not name {cn!r}:\n{listing}"
        assert all(f.severity is CATALOGUE[code].severity for f in report if f.code == code)
    # one finding per (code, certificate), each with a location and a chain label
    keys = [(f.code, f.certificate.sha256 if f.certificate else "") for f in report.findings]
    assert len(keys) == len(set(keys)), listing
    assert all(f.location is not None and f.chain for f in report.findings), listing
    json.dumps(report.to_json())


# --------------------------------------------------------------------------------------
# Details the table does not show


def test_complete_bundle_chains() -> None:
    root, ca, server = chain3("ec256")
    report = validate(certs(root, ca, server), at=NOW)
    assert not report.findings
    by_cert = {c["certificate"]: c for c in report.chains}
    leaf = by_cert["CN=case.example.com,O=Test Corp"]
    assert leaf["complete"] is True
    assert leaf["root"] == "CN=Case Root CA,O=Test Corp"
    assert [p["subject"] for p in leaf["path"]] == [
        "CN=case.example.com,O=Test Corp",
        "CN=Case Issuing CA,O=Test Corp",
        "CN=Case Root CA,O=Test Corp",
    ]
    assert leaf["sha256"] == cert(server).sha256
    assert leaf["path"][0]["not_after"] == server.cert.not_valid_after_utc.isoformat()
    assert len(report.chains) == 3


def test_missing_issuer_names_its_key_id() -> None:
    root, ca, server = chain3("ec256")
    report = validate(certs(root, server), at=NOW)
    (finding,) = [f for f in report if f.code == "MC101"]
    ski = cert(ca).subject_key_identifier
    assert ski is not None
    assert ":".join(f"{b:02X}" for b in ski) in finding.message
    assert "Case Issuing CA" in finding.message
    assert finding.certificate is not None and finding.certificate.role == "end-entity certificate"
    assert finding.location == Location("certs/case.example.com.pem")
    chain = next(c for c in report.chains if c["certificate"].startswith("CN=case"))
    assert chain["complete"] is False and chain["root"] is None


def test_expired_intermediate_reported_once_with_what_breaks() -> None:
    case = expired_intermediate("ec256")
    report = validate(certs(*case.bundle), at=NOW)
    expired = [f for f in report if f.code == "MC103"]
    assert len(expired) == 1
    assert expired[0].certificate is not None
    assert expired[0].certificate.role == "intermediate"
    assert "a.example.com" in expired[0].message and "b.example.com" in expired[0].message


def test_outlived_names_both_and_both_dates() -> None:
    case = intermediate_outlived("ec256")
    report = validate(certs(*case.bundle), at=NOW)
    (finding,) = [f for f in report if f.code == "MC106"]
    assert "Short Issuing CA" in finding.message and "case.example.com" in finding.message
    assert (NOW + 100 * DAY).strftime("%Y-%m-%d") in finding.message
    assert (NOW + 200 * DAY).strftime("%Y-%m-%d") in finding.message


def test_rekeyed_ca_picks_the_generation_that_signed() -> None:
    case = rekeyed_ca("ec256")
    report = validate(certs(*case.bundle), at=NOW)
    chain = next(c for c in report.chains if c["certificate"].startswith("CN=case"))
    new_root = cert(case.bundle[1])
    assert chain["complete"] and chain["path"][-1]["sha256"] == new_root.sha256
    (finding,) = [f for f in report if f.code == "MC116"]
    assert "2 different keys" in finding.message and "kept" in finding.message


def test_cross_certificate_path_reaches_the_other_root() -> None:
    case = cross_certified("ec256")
    report = validate(certs(*case.bundle), at=NOW)
    chain = next(c for c in report.chains if c["certificate"].startswith("CN=case"))
    assert chain["complete"]
    assert chain["root"] == "CN=Cross Root A,O=Test Corp"
    assert len(chain["path"]) == 4


def test_cross_certificate_preferred_over_an_expired_root() -> None:
    root_a = issue("Cross Root A", key=key("ec256", 0))
    root_b = issue("Cross Root B", key=key("ec256", 4), not_after=NOW - DAY)
    bridge = cross_certify(root_b, root_a)
    ca = root_b.issue("Case Issuing CA", key=key("ec256", 1), not_after=NOW + 300 * DAY)
    server = ca.issue("case.example.com", ca=False, key=key("ec256", 2), not_after=NOW + 200 * DAY)
    report = validate(certs(root_a, root_b, bridge, ca, server), at=NOW)
    chain = next(c for c in report.chains if c["certificate"].startswith("CN=case"))
    assert chain["root"] == "CN=Cross Root A,O=Test Corp"
    # the expired root is reported for itself, and nothing else is wrong
    assert {(f.code, f.certificate.subject if f.certificate else "") for f in report.errors} == {
        ("MC103", "CN=Cross Root B,O=Test Corp")
    }


def test_self_signed_non_ca_is_a_warning_with_the_fix() -> None:
    case = self_signed_end_entity("ec256")
    report = validate(certs(*case.bundle), at=NOW)
    (finding,) = [f for f in report if f.code == "MC117"]
    assert finding.severity is Severity.WARNING
    assert "identity" in finding.fix and "Remove" in finding.fix


def test_duplicates_collapse_into_one_finding() -> None:
    root, ca, server = chain3("ec256")
    bundle = certs(root, ca, server)
    copy = Certificate(ca.cert, origin=Location("more/ca.pem", 3))
    report = validate([*bundle, copy, copy], at=NOW)
    (finding,) = [f for f in report if f.code == "MC001"]
    assert finding.severity is Severity.INFO
    assert "3 times" in finding.message and "more/ca.pem:3" in finding.message
    assert len(report.chains) == 3


def test_outside_anchor_completes_the_chain() -> None:
    root, ca, server = chain3("ec256")
    report = validate(certs(ca, server), at=NOW, anchors=[cert(root)])
    assert not report.errors
    assert all(c["complete"] for c in report.chains)


def test_unknown_critical_extension_listed_by_oid() -> None:
    case = unknown_critical_extension("ec256")
    report = validate(certs(*case.bundle), at=NOW)
    (finding,) = [f for f in report if f.code == "MC113"]
    assert UNKNOWN_OID.dotted_string in finding.message


def test_loop_is_reported_once() -> None:
    case = loop("ec256")
    report = validate(certs(*case.bundle), at=NOW)
    loops = [f for f in report if f.code == "MC115"]
    assert len(loops) == 1
    assert "Loop A" in loops[0].message and "Loop B" in loops[0].message
    assert not any(c["complete"] for c in report.chains)


def test_time_defaults_to_now_and_naive_means_utc() -> None:
    root = issue("Long Root", not_before=datetime(2001, 1, 1), not_after=datetime(2099, 1, 1))
    assert not validate([cert(root)]).findings
    late = validate([cert(root)], at=datetime(2100, 1, 1))
    assert late.codes() == {"MC103"}


def test_empty_bundle() -> None:
    report = validate([], at=NOW)
    assert not report.findings and report.chains == []


def test_policy_knobs() -> None:
    report = validate(
        certs(*chain3("ec256", not_after=NOW + 50 * DAY)),
        at=NOW,
        policy=Policy(expiry_warning=timedelta(days=60)),
    )
    assert "MC105" in report.codes()
    with pytest.raises(ValueError, match="apple_private_extensions"):
        Policy(apple_private_extensions="maybe")  # type: ignore[arg-type]


def test_strict_promotes_warnings() -> None:
    report = validate(certs(*chain3("ec256", not_after=NOW + 10 * DAY)), at=NOW)
    assert report.codes() == {"MC105"}
    report.raise_for_errors()  # a warning alone does not stop a build
    with pytest.raises(ValidationFailed) as caught:
        report.raise_for_errors(strict=True)
    promoted = caught.value.report.findings
    assert [(f.code, f.severity) for f in promoted] == [("MC105", Severity.ERROR)]


# --------------------------------------------------------------------------------------
# The index


def test_index_orders_candidates_and_checks_each_signature_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = issue("Gen Root CA", key=key("ec256", 0))
    new = issue("Gen Root CA", key=key("ec256", 4))
    ca = new.issue("Case Issuing CA", key=key("ec256", 1))
    old_c, new_c, ca_c = certs(old, new, ca)
    calls: list[tuple[str, str]] = []
    real = Certificate.signed_by_key_of

    def counting(self: Certificate, issuer: Certificate) -> bool:
        calls.append((self.sha256, issuer.sha256))
        return real(self, issuer)

    monkeypatch.setattr(Certificate, "signed_by_key_of", counting)
    index = ChainIndex([old_c, new_c, ca_c], at=NOW)
    assert index.candidates(ca_c) == [new_c, old_c]
    assert index.candidates(ca_c) == [new_c, old_c]
    assert index.verifies(ca_c, new_c) and not index.verifies(ca_c, old_c)
    assert len(calls) == len(set(calls)) == 2
    assert index.with_subject(new_c.subject_der) == [old_c, new_c]
    assert index.with_key_id(ca_c.subject_key_identifier or b"") == [ca_c]
    assert index.candidates(new_c) == [old_c]  # same name; its signature does not verify
    assert len(index) == 3


# --------------------------------------------------------------------------------------
# verify_chain


@pytest.mark.parametrize("kind", KINDS)
def test_verify_chain_trusted(kind: KeyKind) -> None:
    root, ca, server = chain3(kind)
    other = issue("Unrelated CA", key=key(kind, 3))
    leaf, ca_c, root_c, other_c = certs(server, ca, root, other)
    result = verify_chain(leaf, [other_c, root_c, ca_c, leaf], [root_c], at=NOW)
    assert result.trusted, result.reason
    assert result.reason is None
    assert result.path == (leaf, ca_c, root_c)
    assert not [f for f in result.findings if f.severity is not Severity.INFO]


def test_verify_chain_missing_intermediate() -> None:
    root, _, server = chain3("ec256")
    result = verify_chain(cert(server), [], [cert(root)], at=NOW)
    assert not result.trusted
    assert result.reason is not None and "Case Issuing CA" in result.reason
    assert "MC101" in {f.code for f in result.findings}
    assert result.path == (cert(server),)


def test_verify_chain_untrusted_root() -> None:
    root, ca, server = chain3("ec256")
    stranger = issue("Stranger Root", key=key("ec256", 3))
    result = verify_chain(cert(server), certs(ca, root), [cert(stranger)], at=NOW)
    assert not result.trusted
    assert {f.code for f in result.findings} == {"MC118"}
    assert result.reason is not None and "Case Root CA" in result.reason
    assert len(result.path) == 3
    assert result.findings[0].certificate is not None
    assert result.findings[0].certificate.role == "untrusted root"


def test_verify_chain_expired_signer() -> None:
    root, ca, server = chain3("ec256", not_after=NOW - 3 * DAY)
    result = verify_chain(cert(server), [cert(ca)], [cert(root)], at=NOW)
    assert not result.trusted
    assert result.reason is not None and "case.example.com" in result.reason
    assert "expired" in result.reason
    assert {f.code for f in result.findings} == {"MC103"}
    assert len(result.path) == 3


def test_verify_chain_expired_intermediate_names_its_role() -> None:
    root = issue("Case Root CA", key=key("ec256", 0))
    ca = root.issue("Old Issuing CA", key=key("ec256", 1), not_after=NOW - DAY)
    server = ca.issue("signer.example.com", ca=False, key=key("ec256", 2))
    result = verify_chain(cert(server), [cert(ca)], [cert(root)], at=NOW)
    assert not result.trusted
    (finding,) = [f for f in result.findings if f.code == "MC103"]
    assert finding.certificate is not None
    assert finding.certificate.role == "intermediate 1 of chain to 'signer.example.com'"


def test_verify_chain_sha1_leaf_keeps_the_path() -> None:
    root, ca, server = chain3("rsa2048")
    weak = cert(openssl_resign(server, ca, "sha1"))
    result = verify_chain(weak, [cert(ca)], [cert(root)], at=NOW)
    assert len(result.path) == 3
    assert {f.code for f in result.findings if f.severity is Severity.ERROR} == {"MC111"}
    assert not result.trusted


def test_verify_chain_accepts_a_reissued_anchor_with_the_same_key() -> None:
    root, ca, server = chain3("ec256")
    renewed = issue(
        "Case Root CA", key=root.key, not_after=NOW + 3650 * DAY, subject=name("Case Root CA")
    )
    result = verify_chain(cert(server), certs(ca, root), [cert(renewed)], at=NOW)
    assert result.trusted, result.reason
    assert result.path[-1] == cert(renewed)


def test_verify_chain_leaf_needs_no_ca_flags() -> None:
    root, ca, server = chain3("ec256", key_cert_sign=None, ca=None)
    result = verify_chain(cert(server), [cert(ca)], [cert(root)], at=NOW)
    assert result.trusted, result.reason


def test_verify_chain_intermediate_not_a_ca() -> None:
    case = issuer_ca_false("ec256")
    root, leafy, server = case.bundle
    result = verify_chain(cert(server), [cert(leafy)], [cert(root)], at=NOW)
    assert not result.trusted
    assert result.reason is not None and "Leafy Cert" in result.reason


def test_key_rollover_certificate_links_two_generations() -> None:
    # RFC 4210 style: "new with old", self-issued (same name) but signed by the old key.
    old = issue("Gen Root CA", key=key("ec256", 0), path_length=1)
    new_key = key("ec256", 4)
    new_with_old = issue("Gen Root CA", issuer=old, key=new_key, path_length=1)
    new_self = issue("Gen Root CA", key=new_key)
    ca = new_self.issue("Case Issuing CA", key=key("ec256", 1), path_length=0)
    server = ca.issue("case.example.com", ca=False, key=key("ec256", 2))
    report = validate(certs(old, new_with_old, ca, server), at=NOW)
    assert not report.errors, "\n".join(f.format() for f in report)
    chain = next(c for c in report.chains if c["certificate"].startswith("CN=case"))
    assert chain["complete"] and len(chain["path"]) == 4
    assert "MC116" in report.codes()


def test_look_alike_flood_costs_linear_signature_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of certificates with one issuer name, none issuing the others: each is tried
    against at most Policy.max_candidates look-alikes, so the work is linear, not quadratic."""
    from mobileconfig.pki import chains

    n = 300
    certs = [
        Certificate(
            issue("Look", issuer_name=name("Look"), sign_with=make_key("ec256"), aki=False).cert
        )
        for _ in range(n)
    ]
    calls = 0
    real = chains.ChainIndex._verifies

    def counting(self: chains.ChainIndex, child: object, issuer: object) -> bool:
        nonlocal calls
        calls += 1
        return real(self, child, issuer)  # type: ignore[arg-type]

    monkeypatch.setattr(chains.ChainIndex, "_verifies", counting)
    report = validate(certs, at=NOW)
    assert {"MC110", "MC116"} <= report.codes()
    # Each certificate: its candidates plus a few self-checks (memoised lookups included).
    # Quadratic would be n * n = 90,000.
    assert calls <= n * (chains.Policy().max_candidates + 4)


# --------------------------------------------------------------------------------------
# Issue 15: RFC 5280 agreement, bounded work, issuance lints


def _count_signatures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every signature check made from now on, as (certificate, issuer) SHA-256 pairs."""
    calls: list[tuple[str, str]] = []
    real = Certificate.signed_by_key_of

    def counting(self: Certificate, issuer: Certificate) -> bool:
        calls.append((self.sha256, issuer.sha256))
        return real(self, issuer)

    monkeypatch.setattr(Certificate, "signed_by_key_of", counting)
    return calls


_PRINTABLE = x509.name._ASN1Type.PrintableString


def _attr(oid: x509.ObjectIdentifier, value: str, printable: bool = False) -> x509.NameAttribute:
    if printable:
        return x509.NameAttribute(oid, value, _type=_PRINTABLE)
    return x509.NameAttribute(oid, value)


@pytest.mark.parametrize(
    "issuer_name",
    [
        # case and spaces (PKITS 4.3.3 to 4.3.5)
        x509.Name(
            [
                _attr(x509.NameOID.ORGANIZATION_NAME, "  TEST   corp "),
                _attr(x509.NameOID.COMMON_NAME, "case ISSUING  ca"),
            ]
        ),
        # PrintableString where the CA's subject says UTF8String (PKITS 4.3.10)
        x509.Name(
            [
                _attr(x509.NameOID.ORGANIZATION_NAME, "Test Corp", printable=True),
                _attr(x509.NameOID.COMMON_NAME, "Case Issuing CA", printable=True),
            ]
        ),
    ],
    ids=["case-and-spaces", "printable-vs-utf8"],
)
def test_issuer_names_match_after_normalisation(issuer_name: x509.Name) -> None:
    root, ca, _ = chain3("ec256")
    server = issue(
        "case.example.com", issuer=ca, ca=False, issuer_name=issuer_name, key=key("ec256", 2)
    )
    assert server.cert.issuer.public_bytes() != ca.cert.subject.public_bytes()
    report = validate(certs(root, ca, server), at=NOW)
    assert not report.errors, "\n".join(f.format() for f in report)
    leaf = next(c for c in report.chains if "case.example.com" in c["certificate"])
    assert leaf["complete"] and len(leaf["path"]) == 3


def test_issuer_name_in_another_order_is_another_name() -> None:
    root, ca, _ = chain3("ec256")
    reordered = x509.Name(list(reversed(list(ca.cert.subject))))
    server = issue("case.example.com", issuer=ca, ca=False, issuer_name=reordered)
    report = validate(certs(root, ca, server), at=NOW)
    assert named(report, "MC101", "case.example.com")


def _linear(n: int, kind: KeyKind = "ec256", **dates: datetime) -> list[Issued]:
    """A root and n - 1 certificates each issued by the one before (the last is a leaf);
    ``dates``: not_before / not_after for all of them."""
    chain = [issue("Deep Root", key_kind=kind, **dates)]  # type: ignore[arg-type]
    for i in range(1, n - 1):
        chain.append(chain[-1].issue(f"Deep CA {i}", key_kind=kind, **dates))
    chain.append(chain[-1].issue("deep.example.com", ca=False, key_kind=kind, **dates))
    return chain


def test_chain_length_checked_on_every_path_memoised_or_not() -> None:
    """101 certificates, root first: the short paths near the root are settled first and
    the long ones reuse them; the leaf's 101-certificate path is still too long."""
    bundle = certs(*_linear(101))
    report = validate(bundle, at=NOW)
    (finding,) = [f for f in report if f.code == "MC115"]
    assert "deep.example.com" in finding.message and "101 certificates" in finding.message
    assert "max_chain_length" in finding.message and "max_chain_length" in finding.fix
    leaf = next(c for c in report.chains if c["certificate"].startswith("CN=deep"))
    assert not leaf["complete"] and len(leaf["path"]) == Policy().max_chain_length
    near = next(c for c in report.chains if c["certificate"].startswith("CN=Deep CA 3,"))
    assert near["complete"]
    assert not validate(bundle, at=NOW, policy=Policy(max_chain_length=101)).errors


def test_self_issued_intermediates_do_not_count_towards_the_length_limit() -> None:
    root = issue("Roll Root", key=key("ec256", 0))
    old = root.issue("Roll CA", key=key("ec256", 1))
    new_with_old = issue("Roll CA", issuer=old, key=key("ec256", 3))  # key rollover
    server = new_with_old.issue("roll.example.com", ca=False, key=key("ec256", 2))
    bundle = certs(root, old, new_with_old, server)
    assert not validate(bundle, at=NOW, policy=Policy(max_chain_length=3)).errors
    other = root.issue("Other CA", key=key("ec256", 4))
    sub = other.issue("Sub CA", key=key("ec256", 5))
    leaf = sub.issue("sub.example.com", ca=False, key=key("ec256", 2))
    report = validate(certs(root, other, sub, leaf), at=NOW, policy=Policy(max_chain_length=3))
    assert "MC115" in report.codes()


def test_bundle_ending_at_a_ca_is_not_penalised_by_path_length() -> None:
    """PKITS 4.6.8 and 4.6.14: a CA at the bottom of a path is its target, not one of the
    intermediates pathLenConstraint counts."""
    root = issue("Case Root CA", key=key("ec256", 0))
    top = root.issue("Policy CA", key=key("ec256", 1), path_length=0)
    sub = top.issue("Sub CA", key=key("ec256", 3))
    report = validate(certs(root, top, sub), at=NOW)
    assert "MC109" not in report.codes(), "\n".join(f.format() for f in report)
    result = verify_chain(cert(sub), [cert(top)], [cert(root)], at=NOW)
    assert result.trusted, result.reason


def _count_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every issuer look-up the path search makes from now on (certificate SHA-256s): the
    search's own work, apart from signatures. A search that explores path by path makes
    thousands on a small mesh (2,179 for 14 certificates before issue 15)."""
    from mobileconfig.pki.paths import ChainIndex as Index

    calls: list[str] = []
    real = Index.links_of

    def counting(self: Index, child: Any) -> Any:
        calls.append(child.sha256)
        return real(self, child)

    monkeypatch.setattr(Index, "links_of", counting)
    return calls


def _mesh(names: int, *, root: bool) -> tuple[list[Issued], Issued, Issued | None]:
    """``names`` CA names, each cross-signed by every other one; with ``root`` a
    self-signed root for the first, and a server certificate under the last."""
    keys = [make_key("ec256") for _ in range(names)]
    selfs = [issue(f"Mesh CA {i}", key=k) for i, k in enumerate(keys)]
    cross = [
        issue(f"Mesh CA {i}", issuer=selfs[j], key=keys[i], subject=selfs[i].cert.subject)
        for i in range(names)
        for j in range(names)
        if i != j
    ]
    server = issue("mesh.example.com", issuer=selfs[-1], ca=False)
    return cross, server, selfs[0] if root else None


def test_cross_signed_mesh_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six CA names each cross-signed by the five others (30 certificates) and a root: every
    path found, each (certificate, issuer) signature checked at most once."""
    cross, server, root = _mesh(6, root=True)
    assert root is not None and len(cross) == 30
    bundle = certs(root, *cross, server)
    calls = _count_signatures(monkeypatch)
    lookups = _count_lookups(monkeypatch)
    report = validate(bundle, at=NOW)
    assert len(lookups) <= len(bundle)  # each certificate's issuers looked up once
    assert not report.errors, "\n".join(f.format() for f in report)
    assert all(c["complete"] for c in report.chains)
    leaf = next(c for c in report.chains if c["certificate"].startswith("CN=mesh"))
    assert len(leaf["path"]) == 3  # server, Mesh CA 5 cross-signed by Mesh CA 0, the root
    assert len(calls) == len(set(calls))
    # each certificate is tried against the certificates carrying its issuer name: six here
    assert len(calls) <= len(bundle) * 6

    calls.clear()
    lookups.clear()
    result = verify_chain(cert(server), certs(*cross), [cert(root)], at=NOW)
    assert result.trusted, result.reason
    assert len(calls) <= len(bundle) * 6 and len(lookups) <= len(bundle)


def test_cross_signed_mesh_without_a_root_ends_in_a_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    cross, server, _ = _mesh(6, root=False)
    calls = _count_signatures(monkeypatch)
    lookups = _count_lookups(monkeypatch)
    report = validate(certs(*cross, server), at=NOW)
    assert "MC115" in report.codes()
    assert not any(c["complete"] for c in report.chains)
    assert len(calls) == len(set(calls)) and len(calls) <= 31 * 5
    assert len(lookups) <= 31


def test_600_certificate_chain_needs_no_recursion(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = _linear(600)
    bundle = certs(*chain)
    calls = _count_signatures(monkeypatch)
    lookups = _count_lookups(monkeypatch)
    report = validate(bundle, at=NOW)  # the default limit: one clear finding
    assert len(lookups) <= len(bundle)
    assert [f.code for f in report.errors] == ["MC115"]
    assert "600 certificates" in report.errors[0].message
    assert len(calls) <= 2 * len(bundle)  # each link once, each root's self-signature once

    long_enough = Policy(max_chain_length=600)
    assert not validate(bundle, at=NOW, policy=long_enough).errors
    result = verify_chain(bundle[-1], bundle[1:-1], bundle[:1], at=NOW, policy=long_enough)
    assert result.trusted, result.reason
    assert len(result.path) == 600


def test_candidate_cap_says_the_search_was_cut() -> None:
    root = issue("Case Root CA", key=key("ec256", 0))
    look_alikes = [root.issue("Case Issuing CA") for _ in range(3)]
    real = root.issue("Case Issuing CA", key=key("ec256", 1), not_after=NOW - DAY)
    server = real.issue("case.example.com", ca=False, aki=False, not_after=NOW - 2 * DAY)
    report = validate(
        certs(root, *look_alikes, real, server), at=NOW, policy=Policy(max_candidates=2)
    )
    (cut,) = [f for f in report if f.code == "MC129"]
    assert "case.example.com" in cut.certificate.subject if cut.certificate else False
    assert "max_candidates" in cut.message and "tried 2" in cut.message
    assert "2 untried" in cut.message and "max_candidates" in cut.fix
    assert "MC102" not in report.codes()
    # with room to look, the issuer is found
    assert "MC129" not in validate(certs(root, *look_alikes, real, server), at=NOW).codes()


def test_validity_compared_at_the_certificates_precision() -> None:
    root, ca, server = chain3("ec256", not_after=NOW + 10 * DAY)
    end = server.cert.not_valid_after_utc
    bundle = certs(root, ca, server)
    assert "MC103" not in validate(bundle, at=end + timedelta(milliseconds=5)).codes()
    assert "MC103" in validate(bundle, at=end + timedelta(seconds=1)).codes()
    result = verify_chain(bundle[2], bundle[1:2], bundle[:1], at=end + timedelta(milliseconds=5))
    assert result.trusted, result.reason


@pytest.mark.parametrize(
    ("make", "code", "says"),
    [
        (lambda: make_key("ec256"), None, ""),
        (lambda: ec.generate_private_key(ec.SECP384R1()), None, ""),
        (lambda: ec.generate_private_key(ec.SECP521R1()), None, ""),
        (ed25519.Ed25519PrivateKey.generate, None, ""),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "MC130", "EC key on secp256k1"),
        (lambda: ec.generate_private_key(ec.BrainpoolP384R1()), "MC130", "brainpoolP384r1"),
        (lambda: dsa.generate_private_key(1024), "MC112", "1024-bit DSA key"),
        (lambda: make_key("ec224", slot=0), "MC112", "224-bit EC key"),
    ],
    ids=["p256", "p384", "p521", "ed25519", "secp256k1", "brainpool", "dsa1024", "p224"],
)
def test_keys_are_judged_by_their_own_algorithm(
    make: Callable[[], object], code: str | None, says: str
) -> None:
    root, ca, server = chain3("ec256", key=make())
    report = validate(certs(root, ca, server), at=NOW)
    keys = [f for f in report if f.code in {"MC112", "MC130"}]
    if code is None:
        assert not keys, "\n".join(f.format() for f in report)
        return
    (finding,) = keys
    assert finding.code == code and says in finding.message
    assert "RSA" not in finding.message  # never the RSA floor for another algorithm


# -- issuance lints (RFC 5280 §4.2), as table cases ------------------------------------


def root_without_common_name(kind: KeyKind) -> Case:
    subject = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Test Corp"),
            x509.NameAttribute(x509.NameOID.ORGANIZATIONAL_UNIT_NAME, "Nameless PKI"),
        ]
    )
    root = issue("unused", key=key(kind, 0), subject=subject)
    ca = root.issue("Case Issuing CA", key=key(kind, 1))
    return Case([root, ca], {"MC119": "Nameless PKI"}, ERRORS)


def ca_without_ski(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    ca = root.issue("Case Issuing CA", key=key(kind, 1), ski=False)
    server = ca.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([root, ca, server], {"MC120": "Case Issuing CA"}, ERRORS | {"MC122"})


def leaf_without_aki(kind: KeyKind) -> Case:
    return Case(list(chain3(kind, aki=False)), {"MC121": "case.example.com"}, ERRORS)


def _aki(issuer_key: PrivateKey) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())  # type: ignore[arg-type]


def aki_not_issuer_ski(kind: KeyKind) -> Case:
    wrong = _aki(key(kind, 3))
    return Case(
        list(chain3(kind, aki=False, extra_extensions=[(wrong, False)])),
        {"MC122": "case.example.com"},
        ERRORS,
    )


def critical_aki(kind: KeyKind) -> Case:
    root, ca, _ = chain3(kind)
    server = ca.issue(
        "case.example.com",
        ca=False,
        key=key(kind, 2),
        aki=False,
        extra_extensions=[(_aki(ca.key), True)],
    )
    return Case([root, ca, server], {"MC123": "case.example.com"}, ERRORS)


def critical_aia(kind: KeyKind) -> Case:
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier("http://pki.example.com/ca.cer"),
            )
        ]
    )
    return Case(
        list(chain3(kind, extra_extensions=[(aia, True)])),
        {"MC123": "case.example.com"},
        ERRORS,
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def basic_constraints_not_critical(kind: KeyKind) -> Case:
    root = issue("Case Root CA", key=key(kind, 0))
    ca = root.issue(
        "Case Issuing CA",
        key=key(kind, 1),
        ca=None,
        key_cert_sign=None,
        extra_extensions=[
            (x509.BasicConstraints(ca=True, path_length=None), False),
            (_usage(cert_sign=True), True),
        ],
    )
    server = ca.issue("case.example.com", ca=False, key=key(kind, 2))
    return Case([root, ca, server], {"MC125": "Case Issuing CA"}, ERRORS)


def end_entity_with_key_cert_sign(kind: KeyKind) -> Case:
    usage = _usage(cert_sign=True)
    return Case(
        list(chain3(kind, key_cert_sign=None, extra_extensions=[(usage, True)])),
        {"MC126": "case.example.com"},
        ERRORS,
    )


LINTS: list[Callable[[KeyKind], Case]] = [
    root_without_common_name,
    ca_without_ski,
    leaf_without_aki,
    aki_not_issuer_ski,
    critical_aki,
    critical_aia,
    basic_constraints_not_critical,
    end_entity_with_key_cert_sign,
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("build", LINTS, ids=[c.__name__ for c in LINTS])
def test_issuance_lint(build: Callable[[KeyKind], Case], kind: KeyKind) -> None:
    test_chain_case(build, kind)
    case = build(kind)
    report = validate(certs(*case.bundle), at=NOW)
    (code,) = case.must
    (finding,) = [f for f in report if f.code == code]
    assert finding.severity is Severity.WARNING
    assert finding.certificate is not None and case.must[code] in finding.certificate.subject


def test_ca_with_an_empty_subject() -> None:
    from asn1crypto import x509 as asn1_x509

    root, ca, server = chain3("ec256")

    def empty(field: str) -> Callable[[Any], None]:
        def edit(tbs: Any) -> None:
            tbs[field] = asn1_x509.Name.build({})

        return edit

    ca_der = _edited(ca, root, empty("subject"))
    server_der = _edited(server, ca, empty("issuer"))
    nameless = Certificate(x509.load_der_x509_certificate(ca_der), der=ca_der)
    under = Certificate(x509.load_der_x509_certificate(server_der), der=server_der)
    assert nameless.subject_der == b"\x30\x00"
    report = validate([cert(root), nameless, under], at=NOW)
    (finding,) = [f for f in report if f.code == "MC124"]
    assert finding.certificate is not None and finding.certificate.sha256 == nameless.sha256
    assert not report.errors, "\n".join(f.format() for f in report)


def _edited(child: Issued, issuer: Issued, edit: Callable[[Any], None]) -> bytes:
    """``child``'s DER with its TBSCertificate changed by ``edit`` (an asn1crypto object)
    and signed again by ``issuer``: for what cryptography refuses to build."""
    from asn1crypto import x509 as asn1_x509

    original = asn1_x509.Certificate.load(child.der)
    tbs = original["tbs_certificate"]
    edit(tbs)
    tbs_der = tbs.dump(force=True)
    signer = issuer.key
    assert isinstance(signer, ec.EllipticCurvePrivateKey)
    signature = signer.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
    return asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": original["signature_algorithm"],
            "signature_value": signature,
        }
    ).dump()


@pytest.mark.parametrize("serial", [0, -5])
def test_serial_not_positive(serial: int) -> None:
    from cryptography.utils import CryptographyDeprecationWarning

    root, ca, server = chain3("ec256")

    def set_serial(tbs: Any) -> None:
        tbs["serial_number"] = serial

    der = _edited(server, ca, set_serial)
    with pytest.warns(CryptographyDeprecationWarning, match="serial number"):
        odd = Certificate(x509.load_der_x509_certificate(der), der=der)
    report = validate([*certs(root, ca), odd], at=NOW)
    (finding,) = [f for f in report if f.code == "MC127"]
    assert f"serial number {serial}" in finding.message
    assert not report.errors


def test_validity_ending_before_it_starts() -> None:
    from asn1crypto import x509 as asn1_x509

    root, ca, server = chain3("ec256")

    def swap(tbs: Any) -> None:
        tbs["validity"] = asn1_x509.Validity(
            {"not_before": tbs["validity"]["not_after"], "not_after": tbs["validity"]["not_before"]}
        )

    der = _edited(server, ca, swap)
    backwards = Certificate(x509.load_der_x509_certificate(der), der=der)
    report = validate([*certs(root, ca), backwards], at=NOW)
    assert "MC128" in report.codes()
    assert {f.code for f in report.errors} <= {"MC103", "MC104"}


# -- listing roots first (the compiler's and init's order) ------------------------------


def test_issuer_depths_of_a_600_certificate_chain_need_no_recursion() -> None:
    from mobileconfig.pki.paths import issuer_depths

    chain = certs(*_linear(600))
    depths = issuer_depths(reversed(chain))
    assert [depths[c.sha256] for c in chain] == list(range(600))


def test_issuer_depths_of_a_mesh_and_a_loop() -> None:
    from mobileconfig.pki.paths import issuer_depths

    cross, server, root = _mesh(6, root=True)
    assert root is not None
    depths = issuer_depths(certs(server, *cross, root))
    assert depths[cert(root).sha256] == 0
    assert max(depths[c.sha256] for c in certs(*cross)) <= 2
    assert depths[cert(server).sha256] <= 3
    # A and B issue each other with no root: nothing has a root, every depth is equal (the
    # caller's order stands); beside a rooted chain they come after it
    a, b, leaf = certs(*loop("ec256").bundle)
    assert len({issuer_depths([leaf, a, b])[c.sha256] for c in (a, b, leaf)}) == 1
    root3, ca3, server3 = certs(*chain3("ec256"))
    mixed = issuer_depths([leaf, a, b, server3, ca3, root3])
    assert mixed[a.sha256] == mixed[b.sha256] == mixed[leaf.sha256] == 3
    # a certificate whose issuer is missing sits one below its missing root
    orphaned = issuer_depths([server3, ca3])
    assert (orphaned[ca3.sha256], orphaned[server3.sha256]) == (1, 2)


def test_issuer_depths_follow_normalised_names_and_key_ids() -> None:
    from mobileconfig.pki.paths import issuer_depths

    old = issue("Gen Root CA", key=key("ec256", 0))
    new = issue("Gen Root CA", key=key("ec256", 4))
    shouting = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "TEST CORP"),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, "gen root ca"),
        ]
    )
    ca = issue("Case Issuing CA", issuer=new, key=key("ec256", 1), issuer_name=shouting)
    depths = issuer_depths(certs(ca, old, new))
    assert depths[cert(ca).sha256] == 1


# -- hostile names ------------------------------------------------------------------------

_SEED_NAME = x509.Name(
    [
        x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Test  Corp", _type=_PRINTABLE),
        x509.NameAttribute(x509.NameOID.COMMON_NAME, "Ünïcode CA"),
    ]
).public_bytes()


@settings(max_examples=200, deadline=None, database=None)
@given(st.data())
def test_name_key_takes_any_bytes(data: st.DataObject) -> None:
    """A damaged Name never raises: it becomes a key that matches only itself."""
    from mobileconfig.pki.names import NameKeys, name_key

    raw = bytearray(_SEED_NAME)
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    der = bytes(raw[:cut]) + data.draw(st.binary(max_size=8))
    key = name_key(der)
    assert key == NameKeys()(der) and hash(key) is not None


def test_name_key_normalises_only_what_rfc_5280_allows() -> None:
    from mobileconfig.pki.names import name_key, same_name

    def der(*attrs: tuple[x509.ObjectIdentifier, str, bool]) -> bytes:
        return x509.Name(
            [
                x509.NameAttribute(o, v, _type=_PRINTABLE) if p else x509.NameAttribute(o, v)
                for o, v, p in attrs
            ]
        ).public_bytes()

    org, cn = x509.NameOID.ORGANIZATION_NAME, x509.NameOID.COMMON_NAME
    base = der((org, "Test Corp", False), (cn, "Root CA", False))
    assert same_name(base, der((org, " test   CORP ", True), (cn, "ROOT ca", False)))
    assert not same_name(base, der((cn, "Root CA", False), (org, "Test Corp", False)))
    assert not same_name(base, der((org, "Test Corp", False), (cn, "Root CA 2", False)))
    assert not same_name(base, der((org, "Test Corp", False)))
    assert name_key(b"\x30\x05garbage") == (b"\x30\x05garbage",)


def test_600_certificate_chain_builds_and_scaffolds_without_recursion(tmp_path: Path) -> None:
    """The compiler's roots-first order and init's listing walk the same 600-certificate
    chain iteratively: a clear MC115, not a RecursionError."""
    import mobileconfig
    from mobileconfig.init import scaffold_spec

    # valid for decades: init judges the certificates at the real time
    chain = _linear(600, not_before=datetime(2020, 1, 1), not_after=datetime(2090, 1, 1))
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "chain.pem").write_bytes(b"".join(i.pem for i in reversed(chain)))
    spec = tmp_path / "profile.yaml"
    spec.write_text("identifier: com.example.deep\nname: Deep\ncertificates: [certs/chain.pem]\n")
    with pytest.raises(ValidationFailed) as caught:
        mobileconfig.Builder(spec).build(at=NOW)
    assert {f.code for f in caught.value.report.errors} == {"MC115"}
    scaffold = scaffold_spec(folder)
    assert (scaffold.roots, scaffold.intermediates) == (1, 598)
