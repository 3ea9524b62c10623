"""The work ``validate`` does on a bundle, counted (never timed), and the shortcut that saves it.

A bundle's report names the subject of every certificate; writing those through
cryptography's Name objects cost more than all the other bookkeeping of path building
(benchmarks/bench_chains.py). :class:`~mobileconfig.pki.names.NameTexts` writes them from the
DER instead, so these tests check both halves: the work is done once (each Name normalised
once, each RDN written by cryptography at most once per attribute type, each link's signature
checked once), and the text is exactly the certificate's own ``subject_text``, for any name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mobileconfig.pki import names
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.chains import ChainIndex, validate
from mobileconfig.pki.names import NameTexts

from pki import DAY, NOW, Issued, issue, make_key


def _bundle() -> list[Issued]:
    """Two roots, each issuing three CAs that issue two CAs each: 20 certificates, 18 links."""
    out: list[Issued] = []
    for r in range(2):
        root = issue(f"Work Root {r}")
        out.append(root)
        for a in range(3):
            ca = root.issue(f"Work CA {r}.{a}")
            out.append(ca)
            out.extend(ca.issue(f"Work CA {r}.{a}.{b}") for b in range(2))
    return out


def _counting(monkeypatch: pytest.MonkeyPatch, owner: object, attr: str) -> list[Any]:
    """Record each call of ``owner.attr`` (which still does its real work)."""
    calls: list[Any] = []
    real: Callable[..., Any] = getattr(owner, attr)

    def counted(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(owner, attr, counted)
    return calls


def test_bundle_work_is_done_once(monkeypatch: pytest.MonkeyPatch) -> None:
    issued = _bundle()
    bundle = [Certificate(i.cert) for i in issued]
    normalised = _counting(monkeypatch, names, "_parse")
    by_cryptography = _counting(monkeypatch, names, "_slow")
    signatures = _counting(monkeypatch, Certificate, "signed_by_key_of")

    report = validate(bundle, at=NOW)

    assert report.findings == []
    assert all(chain["complete"] for chain in report.chains)
    # Each distinct Name normalised once: 20 subjects, and every issuer name is one of them.
    ders = [der for der, _memo in normalised]
    assert len(ders) == len(set(ders)) == 20
    # Each link's signature checked once, plus each root's own.
    assert len(signatures) == 18 + 2
    # Subjects written from the DER: cryptography wrote one RDN per attribute type (O, CN)
    # to teach the shortcut its label, and no certificate built its subject text.
    assert len(by_cryptography) == 2
    assert not any("subject_text" in vars(c) for c in bundle)
    for chain, cert in zip(report.chains, bundle, strict=True):
        assert chain["certificate"] == cert.subject_text
        assert chain["root"] == chain["path"][-1]["subject"]
        assert chain["root"].startswith("CN=Work Root ") and chain["root"].endswith(",O=Test Corp")


# -- the text is the certificate's own, whatever the name -------------------------------------

_KEY = make_key("ec256", slot=90)
_SHARED = NameTexts()  # across examples: labels learnt from one name serve the next ones

_OIDS = [
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATION_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.COUNTRY_NAME,
    NameOID.LOCALITY_NAME,
    NameOID.DOMAIN_COMPONENT,
    NameOID.EMAIL_ADDRESS,
    NameOID.SERIAL_NUMBER,
    NameOID.USER_ID,
    NameOID.TITLE,
    x509.ObjectIdentifier("2.5.4.97"),  # organizationIdentifier
    x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"),  # unknown: written as a dotted OID
]
_TYPES = [
    None,
    _ASN1Type.UTF8String,
    _ASN1Type.PrintableString,
    _ASN1Type.IA5String,
    _ASN1Type.BMPString,
    _ASN1Type.UniversalString,
    _ASN1Type.T61String,
]
_VALUES = st.one_of(
    st.text(alphabet="aZ09 '()./:=?-@_&*#+,;<>\"\\", min_size=1, max_size=8),
    st.text(min_size=1, max_size=6),
    st.sampled_from(["Plain CA", " lead", "trail ", "#hash", "x", "a  b", "\x1b[2J", "é"]),
)
_ATTRIBUTE = st.tuples(st.sampled_from(_OIDS), _VALUES, st.sampled_from(_TYPES))


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.lists(_ATTRIBUTE, min_size=1, max_size=2), min_size=0, max_size=4))
def test_subject_text_from_the_der_is_the_certificates_own(
    rdns: list[list[tuple[x509.ObjectIdentifier, str, _ASN1Type | None]]],
) -> None:
    try:
        subject = x509.Name(
            [
                x509.RelativeDistinguishedName(
                    [
                        x509.NameAttribute(oid, value, _type=kind)
                        if kind is not None
                        else x509.NameAttribute(oid, value)
                        for oid, value, kind in rdn
                    ]
                )
                for rdn in rdns
            ]
        )
        built = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(_KEY.public_key())
            .serial_number(1)
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + DAY)
            .sign(_KEY, hashes.SHA256())
        )
        cert = Certificate(x509.load_der_x509_certificate(Certificate(built).der))
        expected = cert.subject_text
    except (ValueError, TypeError, UnicodeError):
        assume(False)  # a name cryptography will not encode or read back: nothing to compare
        return
    for texts in (NameTexts(), _SHARED):
        got = texts(cert.subject_der)
        assert got is None or got == expected
        assert texts(cert.subject_der) == got  # and the same again from its memory


def test_names_that_are_not_der_are_left_to_the_certificate() -> None:
    texts = NameTexts()
    assert texts(b"") is None
    assert texts(b"\x30\x05garbage") is None
    assert texts(b"\x31\x00") is None
    assert texts(b"\x30\x00") == ""  # the empty Name, as cryptography writes it


def test_a_certificate_with_a_plain_subject_reads_back_the_same() -> None:
    """The bench-style names (O then CN, PrintableString or UTF8String) take the shortcut."""
    leaf = issue(
        "Shortcut CA",
        subject=x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Shortcut Corp"),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, "Shortcut CA 1.2", _type=_ASN1Type.PrintableString
                ),
            ]
        ),
    )
    cert = Certificate(leaf.cert)
    assert (
        NameTexts()(cert.subject_der) == cert.subject_text == "CN=Shortcut CA 1.2,O=Shortcut Corp"
    )


@pytest.mark.parametrize(
    ("key_kind", "digest", "pss"),
    [
        ("ec256", hashes.SHA256(), False),
        ("ec384", hashes.SHA384(), False),
        ("ec256", hashes.SHA512(), False),
        ("rsa2048", hashes.SHA256(), False),
        ("rsa2048", hashes.SHA384(), False),
        ("rsa2048", hashes.SHA512(), False),
        ("rsa2048", hashes.SHA256(), True),  # RSA-PSS: the digest is in the parameters
        ("ec256", hashes.SHA224(), False),  # not in the table: cryptography reads it
    ],
)
def test_signature_digest_read_from_the_der_is_cryptographys(
    key_kind: Any, digest: hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512, pss: bool
) -> None:
    key = make_key(key_kind, slot=91)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Digest CA")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
    )
    if pss:
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        assert isinstance(key, rsa.RSAPrivateKey)
        built = builder.sign(
            key,
            digest,
            rsa_padding=padding.PSS(padding.MGF1(digest), padding.PSS.DIGEST_LENGTH),
        )
    else:
        built = builder.sign(key, digest)
    cert = Certificate(built)
    node = ChainIndex([cert], at=NOW).node(cert)
    assert node.signature_hash == cert.signature_hash == digest.name
