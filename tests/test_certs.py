"""Certificates in: PEM bundles as people really have them, DER, PKCS#7; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from mobileconfig.errors import CertificateError
from mobileconfig.pki.certs import Certificate, load_certificate_file, load_certificates

from pki import NOW, TestPKI, issue


def test_pem_bundle_with_crlf_blank_lines_and_text_around(pki_ec: TestPKI) -> None:
    text = (
        b"Subject: whatever a browser export writes\r\n\r\n"
        + pki_ec.root.pem.replace(b"\n", b"\r\n")
        + b"\r\n\r\n# a comment between blocks\n\n"
        + pki_ec.intermediate.pem
        + b"\ntrailing words\n"
    )
    certs = load_certificates(text, source="bundle.pem")
    assert [c.common_name for c in certs] == ["EC Root CA", "EC Issuing CA 1"]
    assert certs[0].origin is not None and certs[0].origin.line == 3
    assert certs[1].origin is not None and certs[1].origin.line > certs[0].origin.line


def test_der_and_pkcs7_bundles(pki_ec: TestPKI) -> None:
    (der,) = load_certificates(pki_ec.root.der, source="root.cer")
    assert der.sha256 == Certificate(pki_ec.root.cert).sha256
    bundle = [pki_ec.root.cert, pki_ec.intermediate.cert]
    p7_der = pkcs7.serialize_certificates(bundle, Encoding.DER)
    p7_pem = pkcs7.serialize_certificates(bundle, Encoding.PEM)
    for data in (p7_der, p7_pem):
        names = sorted(c.common_name or "" for c in load_certificates(data, source="chain.p7b"))
        assert names == ["EC Issuing CA 1", "EC Root CA"]


def test_facts_computed(pki_ec: TestPKI) -> None:
    root = Certificate(pki_ec.root.cert)
    inter = Certificate(pki_ec.intermediate.cert)
    leaf = Certificate(pki_ec.leaf.cert)
    assert root.self_signed and root.is_ca and root.key_cert_sign
    assert not inter.self_signed and inter.is_ca and inter.path_length == 0
    assert not leaf.is_ca and leaf.dns_names == ["mail.example.com"]
    assert inter.authority_key_identifier == root.subject_key_identifier
    assert inter.verify_issued_by(root) and not root.verify_issued_by(inter)
    assert root.valid_at(NOW) and root.key_description == "EC secp256r1"
    assert len(root.sha256) == 64 and root.signature_hash == "sha256"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"hello, I am not a certificate\n", "holds no certificate"),
        (
            b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
            "PEM blocks found: PRIVATE KEY",
        ),
        (b"-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n", "not valid base64"),
        (b"-----BEGIN CERTIFICATE-----\nMIIBIjAN\n", "no matching END line"),
        (
            b"-----BEGIN CERTIFICATE-----\nMIIBIjAN\n-----END CERTIFICATE-----\n",
            "cannot parse certificate",
        ),
        (b"\x30\x03\x02\x01\x01", "holds no certificate"),
    ],
)
def test_not_a_certificate_names_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "thing.pem"
    path.write_bytes(content)
    with pytest.raises(CertificateError) as info:
        load_certificate_file(path, display="certs/thing.pem")
    text = info.value.diagnostics()
    assert text.startswith("certs/thing.pem")
    assert message in text
    assert "\n" not in text


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="not found"):
        load_certificate_file(tmp_path / "nope.pem")
    with pytest.raises(CertificateError, match="folder"):
        load_certificate_file(tmp_path)


def test_rsa_and_ec_keys_described() -> None:
    rsa_cert = Certificate(issue("RSA CA", key_kind="rsa2048").cert)
    assert rsa_cert.key_type == "RSA" and rsa_cert.key_bits == 2048


def test_der_ending_in_whitespace_bytes_is_not_trimmed() -> None:
    # A DER certificate's last byte is signature data: 0x0a or 0x20 are as likely as any.
    for _ in range(3000):
        cert = issue("Trailing Byte CA", ski=False, aki=False)
        if cert.der[-1:] in (b"\n", b" ", b"\t", b"\r"):
            break
    else:  # pragma: no cover - astronomically unlikely
        pytest.skip("no certificate ending in a whitespace byte was made")
    (parsed,) = load_certificates(cert.der, source="t.cer")
    assert parsed.der == cert.der
