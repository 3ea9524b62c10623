"""NIST PKITS through the public API: does ``mobileconfig.validate`` agree with the suite?

Each case of ``tests/data/pkits/cases.tsv`` (copied from ``../shared/conformance/pkits``, a
U.S. government work in the public domain: see ``tests/data/pkits/README.md``) gives an
end-entity certificate, its intermediates and the expected verdict. The bundle is the
end-entity and the intermediates; the trust anchor is ``TrustAnchorRootCertificate.crt``,
passed as an anchor from outside the bundle; the check time is 2025-01-01. A case is "valid"
when the report holds no error; an invalid case must also carry the finding code that
explains it, on the certificate at fault.

Out of scope: the cases that are invalid only through a CRL. Revocation is not checked (see
docs/validation.md), so their paths validate; the test asserts exactly that, so that a change
which started refusing them for another reason would show.

Policy refusals: PKITS 4.1.4 and 4.1.5 are valid chains of DSA-1024 keys with SHA-1
signatures. The default policy refuses both on purpose (Apple devices accept neither), so
they are refused here with the policy codes MC111 (SHA-1) and MC112 (DSA key under 2048
bits) and no path error; under a policy relaxed for them, 4.1.4 validates.

Agreement (measured with
``.venv/bin/python -m pytest tests/test_pkits.py -q -s -k agreement``):
50 of the 52 applicable cases agree (96.2%); with the two policy refusals set aside, 50 of
50. The disagreements, both deliberate or out of our hands:

- 40104_valid_dsa_signatures_test4: refused by policy (MC111 SHA-1, MC112 DSA-1024); the
  path itself validates under a relaxed policy (test_dsa_path_validates_when_policy_allows).
- 40105_valid_dsa_parameter_inheritance_test5: the end-entity's DSA key inherits its
  parameters from its issuer (RFC 3279 §2.3.2); cryptography cannot parse such a
  certificate, so it is refused when loaded, with the parser's reason. DSA-1024 with SHA-1
  would be refused by policy anyway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

import mobileconfig
from mobileconfig import Certificate, CertificateError, Policy, Report

DATA = Path(__file__).resolve().parent / "data" / "pkits"
AT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
TARGET = 0.95


@dataclass(frozen=True)
class Case:
    id: str
    section: str
    end_entity: str
    intermediates: tuple[str, ...]
    valid: bool
    crl_only: bool


def _cases() -> list[Case]:
    out = []
    for line in (DATA / "cases.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        test, section, ee, inter, expected, crl = line.split("\t")
        assert expected in ("valid", "invalid"), line
        out.append(
            Case(
                test,
                section,
                ee,
                tuple(i for i in inter.split(",") if i),
                expected == "valid",
                crl == "yes",
            )
        )
    return out


CASES = _cases()
APPLICABLE = [c for c in CASES if not c.crl_only]

#: For each invalid case: the error code that explains it, and a fragment of the subject of
#: the certificate the finding must be about.
EXPLAINED_BY: dict[str, tuple[str, str]] = {
    "40102_invalid_ca_signature_test2": ("MC102", "Bad Signed CA"),
    "40103_invalid_ee_signature_test3": ("MC102", "Invalid EE Signature Test3"),
    "40106_invalid_dsa_signature_test6": ("MC102", "Invalid DSA Signature"),
    "40201_invalid_ca_notbefore_date_test1": ("MC104", "Bad notBefore Date CA"),
    "40202_invalid_ee_notbefore_date_test2": ("MC104", "Invalid EE notBefore Date"),
    "40205_invalid_ca_notafter_date_test5": ("MC103", "Bad notAfter Date CA"),
    "40206_invalid_ee_notafter_date_test6": ("MC103", "Invalid EE notAfter Date"),
    "40207_invalid_pre2000_utc_ee_notafter_date_test7": ("MC103", "Invalid pre2000 UTC EE"),
    "40301_invalid_name_chaining_ee_test1": ("MC101", "Invalid Name Chaining EE"),
    "40302_invalid_name_chaining_order_test2": ("MC101", "Invalid Name Chaining Order"),
    "40508_invalid_basic_self_issued_crl_signing_key_test8": (
        "MC107",
        "Basic Self-Issued CRL Signing Key CA",
    ),
    "40601_invalid_missing_basicconstraints_test1": ("MC107", "Missing basicConstraints CA"),
    "40602_invalid_ca_false_test2": ("MC107", "basicConstraints Critical cA False CA"),
    "40603_invalid_ca_false_test3": ("MC107", "basicConstraints Not Critical cA False CA"),
    "40605_invalid_pathlenconstraint_test5": ("MC109", "pathLenConstraint0 CA"),
    "40606_invalid_pathlenconstraint_test6": ("MC109", "pathLenConstraint0 CA"),
    "40609_invalid_pathlenconstraint_test9": ("MC109", "pathLenConstraint6 subCA0"),
    "40610_invalid_pathlenconstraint_test10": ("MC109", "pathLenConstraint6 subCA0"),
    "40611_invalid_pathlenconstraint_test11": ("MC109", "pathLenConstraint6 subCA1"),
    "40612_invalid_pathlenconstraint_test12": ("MC109", "pathLenConstraint6 subCA1"),
    "40616_invalid_self_issued_pathlenconstraint_test16": ("MC109", "pathLenConstraint0 CA"),
    "40701_invalid_keyusage_critical_keycertsign_false_test1": (
        "MC108",
        "keyUsage Critical keyCertSign False CA",
    ),
    "40702_invalid_keyusage_not_critical_keycertsign_false_test2": (
        "MC108",
        "keyUsage Not Critical keyCertSign False CA",
    ),
    "41602_invalid_unknown_critical_certificate_extension_test2": (
        "MC113",
        "Invalid Unknown Critical Certificate Extension",
    ),
}

#: Valid cases the default policy refuses on purpose, with the only codes allowed.
POLICY_REFUSALS: dict[str, set[str]] = {
    "40104_valid_dsa_signatures_test4": {"MC111", "MC112"},
}

#: Valid cases whose certificates cannot be loaded, and why (see the module docstring).
UNLOADABLE: dict[str, str] = {
    "40105_valid_dsa_parameter_inheritance_test5": "ValidDSAParameterInheritanceTest5EE.crt",
}

RELAXED = Policy(min_dsa_bits=1024, weak_hashes=frozenset())


def _load(name: str) -> list[Certificate]:
    return mobileconfig.load_certificates((DATA / "certs" / name).read_bytes(), source=name)


ANCHOR = _load("TrustAnchorRootCertificate.crt")


def run(case: Case, policy: Policy | None = None) -> Report:
    bundle = [c for name in (case.end_entity, *case.intermediates) for c in _load(name)]
    return mobileconfig.validate(bundle, at=AT, anchors=ANCHOR, policy=policy)


def verdict(case: Case) -> bool | None:
    """True (valid), False (invalid), or None when the certificates cannot be loaded."""
    try:
        report = run(case)
    except CertificateError:
        return None
    return not report.errors


def _listing(report: Report) -> str:
    return "\n".join(f.format() for f in report)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pkits_case(case: Case) -> None:
    if case.crl_only:
        # Invalid only through a CRL, which we do not fetch or read: the path itself holds.
        report = run(case)
        assert not report.errors, _listing(report)
        return
    if case.id in UNLOADABLE:
        name = UNLOADABLE[case.id]
        with pytest.raises(CertificateError) as caught:
            run(case)
        text = str(caught.value)
        assert name in text
        # the parser's reason, not only "holds no certificate"
        assert "AlgorithmIdentifier" in text or "parameters" in text, text
        return
    report = run(case)
    errors = {f.code for f in report.errors}
    if case.id in POLICY_REFUSALS:
        assert errors == POLICY_REFUSALS[case.id], _listing(report)
        return
    if case.valid:
        assert not errors, _listing(report)
        assert all(c["complete"] for c in report.chains), report.chains
        return
    code, subject = EXPLAINED_BY[case.id]
    assert any(
        f.code == code and f.certificate is not None and subject in f.certificate.subject
        for f in report.errors
    ), f"expected {code} on '{subject}':\n{_listing(report)}"


def test_every_invalid_case_has_its_explanation() -> None:
    invalid = {c.id for c in APPLICABLE if not c.valid}
    assert invalid == set(EXPLAINED_BY)


def test_dsa_path_validates_when_policy_allows() -> None:
    """The policy refusal is only policy: relaxed for DSA-1024 and SHA-1, the path holds."""
    (case,) = [c for c in CASES if c.id in POLICY_REFUSALS]
    report = run(case, RELAXED)
    assert not report.errors, _listing(report)


def test_pkits_agreement(record_property: pytest.RecordProperty) -> None:
    """At least 95% of the applicable cases agree with PKITS; the rest are listed."""
    agree, disagree = [], []
    for case in APPLICABLE:
        got = verdict(case)
        (agree if got == case.valid else disagree).append(case.id)
    share = len(agree) / len(APPLICABLE)
    summary = (
        f"PKITS: {len(agree)}/{len(APPLICABLE)} applicable cases agree ({share:.1%}); "
        f"{len(CASES) - len(APPLICABLE)} CRL-only cases out of scope; "
        f"disagreements: {', '.join(disagree) or 'none'}"
    )
    print(summary)
    record_property("pkits_agreement", summary)
    assert set(disagree) == set(POLICY_REFUSALS) | set(UNLOADABLE), summary
    assert share >= TARGET, summary
