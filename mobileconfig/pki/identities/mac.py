"""The PKCS#12 key derivation (RFC 7292 appendix B): the MAC key, checked when reading to
tell a wrong password from the rest, and the 3DES keys and MAC written for Apple devices.
"""

from __future__ import annotations

import hashlib
import hmac

from asn1crypto import pkcs12 as asn1_pkcs12  # type: ignore[import-untyped, unused-ignore]

from mobileconfig.pki.certs import DIGEST_OIDS

__all__ = ["bmp_password", "mac_matches", "pkcs12_kdf"]


def bmp_password(password: bytes | None) -> list[bytes]:
    """The ways a PKCS#12 writer may have turned ``password`` into its BMPString."""
    if password is None or password == b"":
        return [b"", b"\x00\x00"]
    try:
        text = password.decode("utf-8")
    except UnicodeDecodeError:
        text = password.decode("latin-1")
    return [text.encode("utf-16-be") + b"\x00\x00"]


def pkcs12_kdf(
    password: bytes, salt: bytes, purpose: int, iterations: int, size: int, digest: str
) -> bytes:
    """RFC 7292 B.2: ``password`` is already the BMPString with its two NUL bytes."""
    u = hashlib.new(digest).digest_size
    v = hashlib.new(digest).block_size

    def fill(value: bytes) -> bytes:
        if not value:
            return b""
        n = v * -(-len(value) // v)
        return (value * (n // len(value) + 1))[:n]

    d = bytes([purpose]) * v
    i = bytearray(fill(salt) + fill(password))
    out = b""
    while True:
        a = hashlib.new(digest, d + bytes(i)).digest()
        for _ in range(iterations - 1):
            a = hashlib.new(digest, a).digest()
        out += a
        if len(out) >= size:
            return out[:size]
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j : j + v], "big") + b) % (1 << (8 * v))
            i[j : j + v] = block.to_bytes(v, "big")


def mac_matches(pfx: asn1_pkcs12.Pfx, password: bytes | None) -> bool | None:
    """True/False when the MAC can be checked with ``password``; None when it cannot
    (no MAC, PBMAC1, an unknown digest, or an absurd iteration count)."""
    mac_data = pfx["mac_data"]
    if mac_data.native is None:
        return None
    digest = DIGEST_OIDS.get(mac_data["mac"]["digest_algorithm"]["algorithm"].dotted)
    iterations = int(mac_data["iterations"].native)
    if digest is None or digest in ("md5", "md2") or not 0 < iterations <= 1 << 20:
        return None
    salt = mac_data["mac_salt"].native or b""
    expected = mac_data["mac"]["digest"].native
    content = pfx["auth_safe"]["content"].native
    size = hashlib.new(digest).digest_size
    for candidate in bmp_password(password):
        key = pkcs12_kdf(candidate, salt, 3, iterations, size, digest)
        if hmac.compare_digest(hmac.new(key, content, digest).digest(), expected):
            return True
    return False
