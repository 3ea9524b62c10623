"""Regenerate the demo PKI of examples/company (demo only: the keys are thrown away).

Two roots; three intermediates, one of which ("Example Corp Issuing CA") was re-issued
under the same name with a new key, as happens when a CA is re-keyed. The old
generation is kept in the bundle on purpose: devices that still hold certificates
issued by it need it, and the validator reports the pair as a re-keyed CA.

    python examples/company/make_pki.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
YEAR = dt.timedelta(days=365)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ca(cn: str, key, issuer_name, issuer_key, years: int, path_length: int | None, start=START):
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + years * YEAR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def main() -> None:
    out = HERE / "certs"
    out.mkdir(exist_ok=True)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    root = _ca("Example Corp Root CA", root_key, _name("Example Corp Root CA"), root_key, 20, None)
    ec_root_key = ec.generate_private_key(ec.SECP384R1())
    ec_root = _ca(
        "Example Corp ECC Root CA",
        ec_root_key,
        _name("Example Corp ECC Root CA"),
        ec_root_key,
        20,
        1,
    )
    old_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuing_old = _ca("Example Corp Issuing CA", old_key, root.subject, root_key, 8, 0)
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuing_new = _ca(
        "Example Corp Issuing CA",
        new_key,
        root.subject,
        root_key,
        10,
        0,
        start=START + dt.timedelta(days=180),
    )
    device_key = ec.generate_private_key(ec.SECP256R1())
    device = _ca("Example Corp Device CA", device_key, ec_root.subject, ec_root_key, 10, 0)
    files = {
        "root-ca.pem": root,
        "ecc-root-ca.pem": ec_root,
        "issuing-ca-2026.pem": issuing_old,
        "issuing-ca-2026b.pem": issuing_new,
        "device-ca.pem": device,
    }
    for filename, cert in files.items():
        (out / filename).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # The partner's root arrives as DER, as Windows and many portals export it.
    partner_key = ec.generate_private_key(ec.SECP256R1())
    partner = _ca(
        "Partner Networks Root", partner_key, _name("Partner Networks Root"), partner_key, 15, None
    )
    (HERE / "partner-root.cer").write_bytes(partner.public_bytes(serialization.Encoding.DER))
    print(f"wrote {len(files) + 1} certificates under {HERE}")


if __name__ == "__main__":
    main()
