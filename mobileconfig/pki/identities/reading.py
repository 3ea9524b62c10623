"""Reading a PKCS#12: modern (PBES2/AES) or legacy (3DES, RC2-40 certificate bags), with a
one-line reason when it cannot be opened (the MAC tells a wrong password from the rest).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import pkcs12

from mobileconfig.errors import IdentityError, Location
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.identities.cache import cache_get, cache_put, password_tag
from mobileconfig.pki.identities.mac import mac_matches
from mobileconfig.pki.identities.model import (
    KEY_TYPES,
    Identity,
    PrivateKey,
    identity_error,
    matching_certificate,
)
from mobileconfig.pki.identities.structure import (
    LEGACY_CIPHERS,
    Structure,
    check_iterations,
    read_structure,
)

__all__ = ["MAX_PKCS12_FILE", "legacy_algorithms_available", "load_pkcs12"]

#: Files larger than this are refused before parsing (an identity is a few kilobytes).
MAX_PKCS12_FILE = 1024 * 1024


def legacy_algorithms_available() -> bool:
    """True when this process's OpenSSL (the one bundled with cryptography) can use RC2, the
    cipher of the certificate bags in legacy PKCS#12 files. It can unless OpenSSL's legacy
    provider is missing or disabled (``CRYPTOGRAPHY_OPENSSL_NO_LEGACY`` set)."""
    global _LEGACY
    if _LEGACY is None:
        from cryptography.hazmat.decrepit.ciphers.algorithms import RC2
        from cryptography.hazmat.primitives.ciphers import Cipher, modes

        try:
            Cipher(RC2(b"\x00" * 16), modes.CBC(b"\x00" * 8)).encryptor()
            _LEGACY = True
        except UnsupportedAlgorithm:
            _LEGACY = False
    return _LEGACY


_LEGACY: bool | None = None


@dataclass(frozen=True)
class _Opened:
    key: PrivateKey
    leaf: Certificate
    chain: tuple[Certificate, ...]
    encryption: str | None
    mac: str | None


def load_pkcs12(data: bytes, password: bytes | None, *, name: str, source: str) -> Identity:
    """Open a PKCS#12: modern (PBES2/AES) or legacy (3DES, RC2-40 certificate bags).

    The leaf is the certificate whose public key matches the private key; every other
    certificate in the file goes to ``chain``. Raises :class:`IdentityError`, one line naming
    the identity and ``source``, for a wrong password, no private key, more than one, a key
    that matches no certificate, or data that is not a PKCS#12. No message holds the password.
    Each file is opened once per process (see :func:`clear_cache`).
    """
    if len(data) > MAX_PKCS12_FILE:
        raise identity_error(
            name, source, f"is {len(data)} bytes, over the {MAX_PKCS12_FILE} byte limit"
        )
    cache_key = ("p12", hashlib.sha256(data).digest(), password_tag(password))
    hit = cache_get(cache_key)
    if isinstance(hit, _Opened):
        return _from_opened(hit, name, source)
    opened = _open_pkcs12(data, password, name=name, source=source)
    cache_put(cache_key, opened)
    return _from_opened(opened, name, source)


def _from_opened(opened: _Opened, name: str, source: str) -> Identity:
    return Identity(
        name=name,
        certificate=opened.leaf,
        key=opened.key,
        chain=opened.chain,
        source=source,
        encryption=opened.encryption,
        mac=opened.mac,
        input_format="pkcs12",
    )


def _open_pkcs12(data: bytes, password: bytes | None, *, name: str, source: str) -> _Opened:
    what = f"identity '{name}' ({source})"
    structure = read_structure(data, what)
    check_iterations(structure, what)
    if structure.key_bags > 1:
        raise identity_error(
            name,
            source,
            f"holds {structure.key_bags} private keys; an identity has exactly one",
            hint="export each identity to its own .p12 file",
        )
    try:
        loaded = pkcs12.load_pkcs12(data, password)
    except ValueError:
        raise _unreadable(structure, password, name, source) from None
    except UnsupportedAlgorithm:
        algs = ", ".join(sorted(structure.ciphers)) or "unknown"
        raise identity_error(
            name,
            source,
            f"uses an algorithm this system cannot read ({algs})",
            hint=_REEXPORT_HINT,
        ) from None
    key = loaded.key
    if key is None:
        raise identity_error(
            name,
            source,
            "holds no private key (only certificates)",
            hint="export the identity with its private key (Keychain Access: My Certificates)",
        )
    if not isinstance(key, KEY_TYPES):
        raise identity_error(
            name, source, f"holds a {type(key).__name__}, which Apple devices cannot use"
        )
    found: list[Certificate] = []
    seen: set[bytes] = set()
    first = [loaded.cert] if loaded.cert is not None else []
    for item in (*first, *loaded.additional_certs):
        cert = Certificate(item.certificate, origin=Location(source))
        if cert.der not in seen:
            seen.add(cert.der)
            found.append(cert)
    if not found:
        raise identity_error(
            name,
            source,
            "holds a private key but no certificate",
            hint="export the identity with its certificate",
        )
    leaf = matching_certificate(key, found)
    if leaf is None:
        n = len(found)
        raise identity_error(
            name,
            source,
            f"the private key matches none of its {n} certificate{'s' if n != 1 else ''}",
            hint="export the key together with its own certificate",
        )
    facts = structure.facts
    return _Opened(
        key=key,
        leaf=leaf,
        chain=tuple(c for c in found if c is not leaf),
        encryption=facts["encryption"],
        mac=facts["mac"],
    )


_REEXPORT_HINT = (
    "re-export it as 3DES: openssl pkcs12 -legacy -in OLD.p12 -nodes -passin env:PW | "
    "openssl pkcs12 -export -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 "
    "-passout env:PW -out NEW.p12"
)


def _unreadable(
    structure: Structure, password: bytes | None, name: str, source: str
) -> IdentityError:
    """Why cryptography refused the file: the MAC tells a wrong password from the rest."""
    try:
        mac_ok = mac_matches(structure.pfx, password)
    except (ValueError, TypeError, KeyError):
        mac_ok = None
    legacy = sorted(structure.ciphers & LEGACY_CIPHERS)
    if mac_ok is False:
        if password is None or password == b"":
            return identity_error(
                name,
                source,
                "is protected by a password, and none was given",
                hint="give the identity's password",
            )
        return identity_error(
            name,
            source,
            "wrong password, or the file is damaged",
            hint="check the password's source",
        )
    if legacy and not legacy_algorithms_available():
        return identity_error(
            name,
            source,
            f"uses {', '.join(legacy)}, which needs OpenSSL's legacy algorithms, "
            "not available in this Python (is CRYPTOGRAPHY_OPENSSL_NO_LEGACY set?)",
            hint=_REEXPORT_HINT,
        )
    if mac_ok is True:
        algs = ", ".join(sorted(structure.ciphers)) or "unknown"
        return identity_error(
            name,
            source,
            f"the password is right but the contents cannot be decrypted ({algs}): "
            "the file is damaged or uses an algorithm this system lacks",
            hint=_REEXPORT_HINT,
        )
    return identity_error(
        name, source, "wrong password, or the file is damaged", hint="check the password's source"
    )
