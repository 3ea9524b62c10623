"""Writing an identity as PKCS#12, in the format Apple devices read.

Apple devices refuse the PKCS#12 that OpenSSL 3 and ``cryptography`` write by default
(PBES2 / AES-256-CBC, SHA-256 MAC) with a misleading "The password for the certificate is
incorrect". :func:`encode_pkcs12` therefore writes the format they accept by default:
key and certificate bags ``pbeWithSHA1And3-KeyTripleDES-CBC``, an HMAC-SHA1 MAC, 8-byte
salts. Only the leaf goes in: intermediates belong in their own certificate payloads.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from asn1crypto import pkcs12 as asn1_pkcs12  # type: ignore[import-untyped, unused-ignore]
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from mobileconfig.pki.identities.mac import bmp_password, pkcs12_kdf
from mobileconfig.pki.identities.model import Identity, PKCS12Format, identity_error

__all__ = ["PKCS12_KDF_ROUNDS", "encode_pkcs12"]

#: Key-derivation rounds written by :func:`encode_pkcs12`: OpenSSL's own default, which
#: every Apple release reads.
PKCS12_KDF_ROUNDS = 2048


def encode_pkcs12(
    identity: Identity,
    password: bytes,
    *,
    format: PKCS12Format = "apple",
    include_chain: bool = False,
    deterministic: bool = False,
) -> bytes:
    """The identity as PKCS#12 bytes, with ``identity.name`` as the friendly name.

    ``format="apple"`` (the default) writes what every Apple release reads: key and
    certificate bags ``pbeWithSHA1And3-KeyTripleDES-CBC``, an HMAC-SHA1 MAC, 8-byte salts,
    2048 rounds; the password must not be empty. ``format="modern"`` writes PBES2 /
    AES-256-CBC with a SHA-256 MAC, which many Apple devices refuse (MC303). Only the leaf
    goes in unless ``include_chain``: intermediates belong in their own certificate payloads.

    By default cryptography writes the file and its salts are random, so two calls give
    different bytes. ``deterministic=True`` (apple format only) writes the same structure
    itself with salts derived from the password, the key and the certificates: the same
    identity and password always give the same bytes, so a rebuilt profile is byte-stable.
    """
    if format == "apple":
        if not password:
            raise identity_error(
                identity.name,
                identity.source,
                "an Apple PKCS#12 needs a non-empty password",
                hint="set the identity's password",
            )
        if deterministic:
            return _encode_apple_deterministic(identity, password, include_chain)
        algorithm = pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC
        mac: hashes.HashAlgorithm = hashes.SHA1()  # noqa: S303 - the MAC Apple devices read
    elif format == "modern":
        if deterministic:
            raise ValueError("deterministic output is written for the apple format only")
        algorithm = pkcs12.PBES.PBESv2SHA256AndAES256CBC
        mac = hashes.SHA256()
    else:
        raise ValueError(f"format must be 'apple' or 'modern', not {format!r}")
    if password:
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(PKCS12_KDF_ROUNDS)
            .key_cert_algorithm(algorithm)
            .hmac_hash(mac)
            .build(password)
        )
    else:
        encryption = serialization.NoEncryption()
    cas = [c.x509 for c in identity.chain] if include_chain else None
    return pkcs12.serialize_key_and_certificates(
        identity.name.encode("utf-8"),
        identity.key,
        identity.certificate.x509,
        cas,
        encryption,
    )


def _encode_apple_deterministic(identity: Identity, password: bytes, include_chain: bool) -> bytes:
    """The apple format, built here so that the salts can be derived instead of random.

    The layout is OpenSSL's: an encrypted safe holding the certificate bags, then a plain
    safe holding the shrouded key bag; friendly name and localKeyId (SHA-1 of the leaf)
    on the key and the leaf. Each salt is HMAC-SHA256(password, label, key, certificates)
    cut to 8 bytes, so it changes whenever the password or the content changes.
    """
    from asn1crypto import algos as asn1_algos
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    (bmp,) = bmp_password(password)
    rounds = PKCS12_KDF_ROUNDS
    key_der = identity.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certs = [identity.certificate, *(identity.chain if include_chain else ())]
    material = hashlib.sha256(key_der + b"".join(c.der for c in certs)).digest()
    name = identity.name.encode("utf-8")

    def salt(label: bytes) -> bytes:
        return hmac.new(password, label + b"\0" + name + b"\0" + material, "sha256").digest()[:8]

    def encrypt(plain: bytes, salt_value: bytes) -> tuple[Any, bytes]:
        k = pkcs12_kdf(bmp, salt_value, 1, rounds, 24, "sha1")
        iv = pkcs12_kdf(bmp, salt_value, 2, rounds, 8, "sha1")
        padder = padding.PKCS7(64).padder()
        padded = padder.update(plain) + padder.finalize()
        enc = Cipher(TripleDES(k), modes.CBC(iv)).encryptor()
        algorithm = asn1_algos.EncryptionAlgorithm(
            {
                "algorithm": "pkcs12_sha1_tripledes_3key",
                "parameters": {"salt": salt_value, "iterations": rounds},
            }
        )
        return algorithm, enc.update(padded) + enc.finalize()

    local_key_id = hashlib.sha1(identity.certificate.der).digest()  # what OpenSSL writes
    attributes = asn1_pkcs12.Attributes(
        [
            {"type": "friendly_name", "values": [identity.name]},
            {"type": "local_key_id", "values": [local_key_id]},
        ]
    )
    cert_bags = []
    for n, cert in enumerate(certs):
        bag: dict[str, Any] = {
            "bag_id": "cert_bag",
            "bag_value": asn1_pkcs12.CertBag(
                {
                    "cert_id": "x509",
                    "cert_value": asn1_x509.Certificate.load(cert.der),
                }
            ),
        }
        if n == 0:
            bag["bag_attributes"] = attributes
        cert_bags.append(bag)
    cert_algorithm, cert_blob = encrypt(
        asn1_pkcs12.SafeContents(cert_bags).dump(), salt(b"certificates")
    )
    key_algorithm, key_blob = encrypt(key_der, salt(b"key"))
    key_bag = {
        "bag_id": "pkcs8_shrouded_key_bag",
        "bag_value": asn1_keys.EncryptedPrivateKeyInfo(
            {
                "encryption_algorithm": key_algorithm,
                "encrypted_data": key_blob,
            }
        ),
        "bag_attributes": attributes,
    }
    safes = asn1_pkcs12.AuthenticatedSafe(
        [
            {
                "content_type": "encrypted_data",
                "content": {
                    "version": "v0",
                    "encrypted_content_info": {
                        "content_type": "data",
                        "content_encryption_algorithm": cert_algorithm,
                        "encrypted_content": cert_blob,
                    },
                },
            },
            {"content_type": "data", "content": asn1_pkcs12.SafeContents([key_bag]).dump()},
        ]
    )
    content = safes.dump()
    mac_salt = salt(b"mac")
    mac_key = pkcs12_kdf(bmp, mac_salt, 3, rounds, 20, "sha1")
    pfx = asn1_pkcs12.Pfx(
        {
            "version": "v3",
            "auth_safe": {"content_type": "data", "content": content},
            "mac_data": {
                "mac": {
                    "digest_algorithm": {"algorithm": "sha1"},
                    "digest": hmac.new(mac_key, content, "sha1").digest(),
                },
                "mac_salt": mac_salt,
                "iterations": rounds,
            },
        }
    )
    return bytes(pfx.dump())
