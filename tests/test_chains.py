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

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

import pytest
from cryptography import x509

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
    cn = issued.cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
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
