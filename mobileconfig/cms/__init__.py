"""CMS for profiles: sign, unwrap, verify, encrypt and decrypt. The only package that
builds or parses CMS; it knows nothing of payloads.

One module per job, each importing only those before it:

- :mod:`~mobileconfig.cms.signing`: :class:`Signer` (loaded once, from PKCS#12 or PEM) and
  :func:`sign` (DER SignedData, content attached byte for byte, SHA-256, chain included).
- :mod:`~mobileconfig.cms.reading`: :func:`unwrap` parses DER, BER or PEM SignedData with
  asn1crypto into a :class:`SignedProfile` that keeps the exact signed bytes; bounded.
- :mod:`~mobileconfig.cms.verification`: :func:`verify` checks digest, signature and the
  signer's chain and answers as a device would (``trusted``, ``untrusted``, ``invalid``).
- :mod:`~mobileconfig.cms.encryption`: EnvelopedData to a device's RSA certificate, and back.
- :mod:`~mobileconfig.cms.oids` and :mod:`~mobileconfig.cms.common`: the OID tables and
  the small helpers they share.
"""

from __future__ import annotations

from mobileconfig.cms.encryption import Cipher, decrypt, encrypt_payload_content
from mobileconfig.cms.reading import (
    MAX_CMS_BYTES,
    MAX_CMS_CERTIFICATES,
    MAX_CMS_CHUNKS,
    MAX_CMS_SET_ITEMS,
    SignedProfile,
    SignerInfo,
    is_cms,
    unwrap,
)
from mobileconfig.cms.signing import (
    EXPIRY_WARNING,
    MAX_SIGNER_CHAIN,
    Digest,
    Signer,
    SigningKey,
    sign,
)
from mobileconfig.cms.verification import Status, Verification, public_roots, verify

__all__ = [
    "EXPIRY_WARNING",
    "MAX_CMS_BYTES",
    "MAX_CMS_CERTIFICATES",
    "MAX_CMS_CHUNKS",
    "MAX_CMS_SET_ITEMS",
    "MAX_SIGNER_CHAIN",
    "Cipher",
    "Digest",
    "SignedProfile",
    "Signer",
    "SignerInfo",
    "SigningKey",
    "Status",
    "Verification",
    "decrypt",
    "encrypt_payload_content",
    "is_cms",
    "public_roots",
    "sign",
    "unwrap",
    "verify",
]
