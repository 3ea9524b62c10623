"""The test PKI the benchmarks share: RSA certificates of a company called "Bench Corp".

Each script imports it from beside itself (``benchmarks/`` is first on ``sys.path`` when a
script there runs).
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["issue", "name"]


def name(cn: str) -> x509.Name:
    """``O=Bench Corp, CN=cn``."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench Corp"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def issue(
    cn: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    *,
    ca: bool,
    start: dt.datetime,
    days: int,
    email: str | None = None,
) -> x509.Certificate:
    """A certificate for ``key``, signed by ``issuer`` (its certificate and key), or
    self-signed when None. A CA signs certificates and CRLs; an end entity signs, and with
    ``email`` also encrypts mail for that address (S/MIME: the address in its SAN, the
    e-mail protection purpose)."""
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (name(cn), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=not ca and email is not None,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if email is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False
        ).add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), False)
    return builder.sign(issuer_key, hashes.SHA256())
