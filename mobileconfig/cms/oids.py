"""The object identifiers CMS code reads and writes, and the names they are shown by.

Shared by :mod:`~mobileconfig.cms.reading` (to name what was parsed) and
:mod:`~mobileconfig.cms.verification` (to check it).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from mobileconfig.pki.certs import DIGEST_OIDS

__all__ = [
    "CONTENT_TYPE_NAMES",
    "HASHES",
    "OID_CONTENT_TYPE",
    "OID_ENVELOPED_DATA",
    "OID_MESSAGE_DIGEST",
    "OID_SIGNED_DATA",
    "OID_SIGNING_TIME",
    "SIGNATURE_OIDS",
    "SINGLE_ATTRIBUTES",
    "content_type_oid",
    "digest_name",
]

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"

#: Signed attributes that RFC 5652 allows once, and that verify() reads.
SINGLE_ATTRIBUTES = {
    OID_CONTENT_TYPE: "contentType",
    OID_MESSAGE_DIGEST: "messageDigest",
    OID_SIGNING_TIME: "signingTime",
}

CONTENT_TYPE_NAMES = {
    "1.2.840.113549.1.7.1": "data",
    "1.2.840.113549.1.7.2": "signedData",
    "1.2.840.113549.1.7.3": "envelopedData",
    "1.2.840.113549.1.7.5": "digestedData",
    "1.2.840.113549.1.7.6": "encryptedData",
    "1.2.840.113549.1.9.16.1.2": "authData",
    "1.2.840.113549.1.9.16.1.23": "authEnvelopedData",
}

# Signature algorithm OID -> (name, key family, digest implied by the OID or None).
SIGNATURE_OIDS: dict[str, tuple[str, str, str | None]] = {
    "1.2.840.113549.1.1.1": ("rsaEncryption", "rsa", None),
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "rsa", "sha1"),
    "1.3.14.3.2.29": ("sha1WithRSAEncryption", "rsa", "sha1"),
    "1.2.840.113549.1.1.14": ("sha224WithRSAEncryption", "rsa", "sha224"),
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", "rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", "rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", "rsa", "sha512"),
    "1.2.840.113549.1.1.10": ("RSASSA-PSS", "rsa-pss", None),
    "1.2.840.10045.2.1": ("id-ecPublicKey", "ec", None),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "ec", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa-with-SHA224", "ec", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", "ec", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", "ec", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", "ec", "sha512"),
    "1.3.101.112": ("Ed25519", "ed25519", None),
    "1.2.840.10040.4.1": ("id-dsa", "dsa", None),
    "1.2.840.10040.4.3": ("dsa-with-SHA1", "dsa", "sha1"),
}

#: The digests that can be checked, by the names :func:`digest_name` gives.
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def digest_name(oid: str) -> str:
    """``"sha256"`` for the SHA-256 OID, and so on; the dotted OID when unknown."""
    if oid in DIGEST_OIDS:
        return DIGEST_OIDS[oid]
    # Some old tools write a signature OID in digestAlgorithm; take the digest it implies.
    implied = SIGNATURE_OIDS.get(oid, ("", "", None))[2]
    return implied or oid


def content_type_oid(name: str) -> str:
    """The OID of a content type named as in :data:`CONTENT_TYPE_NAMES` (``name`` itself
    when it is not one of them, e.g. already a dotted OID)."""
    for oid, known in CONTENT_TYPE_NAMES.items():
        if known == name:
            return oid
    return name
