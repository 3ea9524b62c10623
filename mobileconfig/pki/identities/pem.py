"""Reading an identity from PEM or DER: a private key (PKCS#8 or traditional, encrypted or
not) and its certificate, as ACME clients and OpenSSL write them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from mobileconfig.errors import CertificateError
from mobileconfig.pki.certs import Certificate, load_certificates
from mobileconfig.pki.identities.cache import cache_get, cache_put, password_tag
from mobileconfig.pki.identities.model import (
    KEY_TYPES,
    Identity,
    PrivateKey,
    identity_error,
    matching_certificate,
)

__all__ = ["identity_from_pem"]

_PEM_KEY_BLOCK = re.compile(
    rb"-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----.*?"
    rb"-----END \1-----\r?\n?",
    re.DOTALL,
)


def identity_from_pem(
    key: bytes,
    certificate: bytes,
    chain: Sequence[bytes] = (),
    *,
    key_password: bytes | None,
    name: str,
    source: str,
) -> Identity:
    """An identity from a private key (PEM or DER, PKCS#8 or traditional, encrypted or not)
    and its certificate (PEM, DER; a bundle is fine: the certificate matching the key is the
    leaf, the others join ``chain``). Raises :class:`IdentityError` naming the identity."""
    cache_key = ("pem", hashlib.sha256(key).digest(), password_tag(key_password))
    hit = cache_get(cache_key)
    if hit is not None:
        private_key: PrivateKey = hit  # type: ignore[assignment]
    else:
        private_key = _load_key(key, key_password, name, source)
        cache_put(cache_key, private_key)

    try:
        given = load_certificates(certificate, source=source)
        extra = [
            c
            for i, blob in enumerate(chain)
            for c in load_certificates(blob, source=f"{source} (chain {i + 1})")
        ]
    except CertificateError as exc:
        raise identity_error(name, source, exc.message, hint=exc.hint) from None
    leaf = matching_certificate(private_key, given)
    if leaf is None:
        subject = given[0].subject_text if given else "?"
        raise identity_error(
            name,
            source,
            f"the private key does not match the certificate '{subject}'",
            hint="give the certificate that was issued for this key",
        )
    others: list[Certificate] = []
    seen = {leaf.der}
    for cert in (*given, *extra):
        if cert.der not in seen:
            seen.add(cert.der)
            others.append(cert)
    return Identity(
        name=name,
        certificate=leaf,
        key=private_key,
        chain=tuple(others),
        source=source,
        encryption=None,
        mac=None,
        input_format="pem",
    )


def _load_key(data: bytes, password: bytes | None, name: str, source: str) -> PrivateKey:
    blocks = [m.group(0) for m in _PEM_KEY_BLOCK.finditer(data)]
    if b"-----BEGIN" in data:
        if not blocks:
            raise identity_error(name, source, "holds no private key (no PRIVATE KEY block)")
        if len(blocks) > 1:
            raise identity_error(
                name, source, f"holds {len(blocks)} private keys; an identity has one"
            )
        if b"OPENSSH PRIVATE KEY" in blocks[0]:
            raise identity_error(
                name,
                source,
                "holds an OpenSSH key, not an X.509 private key",
                hint="convert it with: ssh-keygen -p -m PKCS8 -f KEY",
            )
        blob, loader = blocks[0], serialization.load_pem_private_key
    elif data[:1] == b"\x30":
        blob, loader = data, serialization.load_der_private_key
    else:
        raise identity_error(name, source, "holds no private key (expected PEM or DER)")
    encrypted = b"ENCRYPTED" in blob if loader is serialization.load_pem_private_key else None
    try:
        try:
            loaded = loader(blob, password)
        except TypeError as exc:
            if password is not None and "not encrypted" in str(exc):
                loaded = loader(blob, None)
            else:
                raise
    except TypeError:
        raise identity_error(
            name,
            source,
            "the private key is encrypted, and no password was given",
            hint="give the key's password",
        ) from None
    except ValueError:
        if encrypted or (encrypted is None and password is not None):
            raise identity_error(
                name,
                source,
                "wrong password for the private key, or the key is damaged",
                hint="check the password's source",
            ) from None
        raise identity_error(
            name, source, "cannot read the private key (damaged or not a key)"
        ) from None
    except UnsupportedAlgorithm:
        raise identity_error(
            name, source, "the private key uses an algorithm this system cannot read"
        ) from None
    if not isinstance(loaded, KEY_TYPES):
        raise identity_error(name, source, f"a {type(loaded).__name__} cannot go in a PKCS#12")
    return loaded
