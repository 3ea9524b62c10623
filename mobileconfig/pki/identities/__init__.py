"""Identities: a private key with its certificate, read from PKCS#12 or PEM, written as PKCS#12.

Apple devices refuse the PKCS#12 that OpenSSL 3 and ``cryptography`` write by default
(PBES2 / AES-256-CBC, SHA-256 MAC) with a misleading "The password for the certificate is
incorrect". :func:`encode_pkcs12` therefore writes the format they accept by default.
:func:`describe_pkcs12` says what a file is without its password, and :func:`load_pkcs12`
opens each file once per process.

One module per job: :mod:`~.model` (the :class:`Identity`), :mod:`~.structure` (describing
a PKCS#12 without its password), :mod:`~.mac` (the RFC 7292 key derivation and MAC),
:mod:`~.cache` (what was opened), :mod:`~.reading` (PKCS#12 in), :mod:`~.pem` (PEM and DER
in), :mod:`~.writing` (PKCS#12 out) and :mod:`~.checks` (findings MC301-MC304).
"""

from __future__ import annotations

from mobileconfig.pki.identities.cache import clear_cache
from mobileconfig.pki.identities.checks import identity_findings
from mobileconfig.pki.identities.model import Identity, PKCS12Format, PrivateKey
from mobileconfig.pki.identities.pem import identity_from_pem
from mobileconfig.pki.identities.reading import (
    MAX_PKCS12_FILE,
    legacy_algorithms_available,
    load_pkcs12,
)
from mobileconfig.pki.identities.structure import (
    MAX_PKCS12_ITERATIONS,
    check_pkcs12_iterations,
    describe_pkcs12,
)
from mobileconfig.pki.identities.writing import PKCS12_KDF_ROUNDS, encode_pkcs12

__all__ = [
    "MAX_PKCS12_FILE",
    "MAX_PKCS12_ITERATIONS",
    "PKCS12_KDF_ROUNDS",
    "Identity",
    "PKCS12Format",
    "PrivateKey",
    "check_pkcs12_iterations",
    "clear_cache",
    "describe_pkcs12",
    "encode_pkcs12",
    "identity_findings",
    "identity_from_pem",
    "legacy_algorithms_available",
    "load_pkcs12",
]
