"""Encryption: :func:`encrypt_payload_content` wraps the serialized ``PayloadContent`` plist
in CMS EnvelopedData to an RSA device certificate, and :func:`decrypt` opens it again.

Key transport is RSA PKCS#1 v1.5, which is what cryptography writes. Which content ciphers
every device accepts is unverified: the default is AES-256-CBC, AES-128-CBC is available,
and nothing else is offered.
"""

from __future__ import annotations

from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7

from mobileconfig.cms.common import short_error, who
from mobileconfig.errors import CMSError
from mobileconfig.pki.certs import Certificate, key_spki_der

__all__ = ["Cipher", "decrypt", "encrypt_payload_content"]

#: Content ciphers :func:`encrypt_payload_content` offers (CBC mode).
Cipher = Literal["aes256", "aes128"]

_CIPHERS: dict[str, type[algorithms.AES128] | type[algorithms.AES256]] = {
    "aes256": algorithms.AES256,
    "aes128": algorithms.AES128,
}


def encrypt_payload_content(
    plist_bytes: bytes, recipient: Certificate, *, cipher: Cipher = "aes256"
) -> bytes:
    """DER CMS EnvelopedData of ``plist_bytes`` (the serialized PayloadContent array) for
    ``recipient``'s RSA key, with AES-256-CBC (default) or AES-128-CBC content encryption.
    Which ciphers every device accepts is unverified."""
    if cipher not in _CIPHERS:
        raise CMSError(f"unknown cipher {cipher!r}: use aes256 or aes128")
    if not isinstance(recipient.public_key, rsa.RSAPublicKey):
        raise CMSError(
            f"cannot encrypt to {who(recipient)}: it has an {recipient.key_description} key, "
            "and encrypted profiles need the device's RSA certificate"
        )
    try:
        return (
            pkcs7.PKCS7EnvelopeBuilder()
            .set_data(bytes(plist_bytes))
            .add_recipient(recipient.x509)
            .set_content_encryption_algorithm(_CIPHERS[cipher])
            .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CMSError(f"cannot encrypt to {who(recipient)}: {short_error(exc)}") from None


def decrypt(enveloped: bytes, certificate: Certificate, key: rsa.RSAPrivateKey) -> bytes:
    """The plaintext of a DER CMS EnvelopedData addressed to ``certificate``."""
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CMSError("cannot decrypt: encrypted profiles are opened with an RSA key")
    if not isinstance(certificate.public_key, rsa.RSAPublicKey) or (
        key_spki_der(key) != certificate.spki_der
    ):
        raise CMSError(f"cannot decrypt: the key does not belong to {who(certificate)}")
    try:
        return pkcs7.pkcs7_decrypt_der(bytes(enveloped), certificate.x509, key, [])
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        text = short_error(exc)
        if "No recipient" in text:
            raise CMSError(
                f"cannot decrypt: the content is not encrypted to {who(certificate)}"
            ) from None
        raise CMSError(f"cannot decrypt: {text}") from None
