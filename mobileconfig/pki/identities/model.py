"""The identity: a private key, its certificate and the certificates that came with it.

What every other module of :mod:`mobileconfig.pki.identities` builds on, and nothing more:
no file format is read or written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from mobileconfig.errors import IdentityError
from mobileconfig.findings import CertificateRef
from mobileconfig.pki.certs import Certificate, key_spki_der

__all__ = [
    "KEY_TYPES",
    "Identity",
    "PKCS12Format",
    "PrivateKey",
    "identity_error",
    "matching_certificate",
]

PrivateKey = pkcs12.PKCS12PrivateKeyTypes
PKCS12Format = Literal["apple", "modern"]
#: The private keys an identity may hold (what a PKCS#12 can carry to a device).
KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    dsa.DSAPrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


# -- the identity -------------------------------------------------------------------------
@dataclass(eq=False)
class Identity:
    """A private key, its certificate (the leaf) and the other certificates that came with it.

    ``encryption`` and ``mac`` describe the PKCS#12 it was read from (None for PEM input):
    ``encryption`` is e.g. ``"PBES2/AES-256-CBC"``, ``"pbeWithSHA1And3-KeyTripleDES-CBC"``,
    or ``"pbeWithSHA1And3-KeyTripleDES-CBC (key), pbeWithSHA1And40BitRC2-CBC (certificates)"``
    when the key and the certificates differ; ``mac`` is ``"sha256"``, ``"sha1"`` or None.
    The key never appears in ``repr``.
    """

    name: str
    certificate: Certificate
    key: PrivateKey = field(repr=False)
    chain: tuple[Certificate, ...] = ()
    source: str = ""
    encryption: str | None = None
    mac: str | None = None
    key_description: str = ""
    input_format: Literal["pkcs12", "pem"] = "pkcs12"

    def __post_init__(self) -> None:
        if not self.key_description:
            self.key_description = _describe_key(self.key)

    @property
    def is_modern(self) -> bool:
        """True when the input PKCS#12 used PBES2 or a MAC other than SHA-1: the kind that
        Apple devices refuse with "The password for the certificate is incorrect"."""
        if self.input_format != "pkcs12":
            return False
        return "PBES2" in (self.encryption or "") or self.mac not in (None, "sha1")

    def ref(self, role: str = "identity certificate") -> CertificateRef:
        """The leaf as findings name it, with the identity's name."""
        base = self.certificate.ref(role)
        return CertificateRef(
            subject=base.subject,
            sha256=base.sha256,
            role=base.role,
            name=self.name,
            issuer=base.issuer,
            not_after=base.not_after,
        )


def _describe_key(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC {key.curve.name}"
    if isinstance(key, dsa.DSAPrivateKey):
        return f"DSA {key.key_size}"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "Ed448"
    return type(key).__name__


def identity_error(name: str, source: str, what: str, hint: str | None = None) -> IdentityError:
    """The one-line error about identity ``name`` read from ``source``: every message of
    this package is worded through here."""
    return IdentityError(f"identity '{name}' ({source}): {what}", hint=hint)


def matching_certificate(key: PrivateKey, certs: Sequence[Certificate]) -> Certificate | None:
    """The first of ``certs`` whose public key is ``key``'s, or None."""
    spki = key_spki_der(key)
    for cert in certs:
        if cert.spki_der == spki:
            return cert
    return None
