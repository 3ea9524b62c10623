"""Identities: a private key with its certificate, read from PKCS#12 or PEM, written as PKCS#12.

Apple devices refuse the PKCS#12 that OpenSSL 3 and ``cryptography`` write by default
(PBES2 / AES-256-CBC, SHA-256 MAC) with a misleading "The password for the certificate is
incorrect". :func:`encode_pkcs12` therefore writes the format they accept by default:
key and certificate bags ``pbeWithSHA1And3-KeyTripleDES-CBC``, an HMAC-SHA1 MAC, 8-byte
salts. Only the leaf goes in: intermediates belong in their own certificate payloads.

The facts ``cryptography`` does not expose (which algorithms encrypt the bags, which digest
the MAC uses, how many private keys the file holds) are read from the PKCS#12 structure with
asn1crypto; :func:`describe_pkcs12` needs no password for them.

Opening an RSA PKCS#12 costs about 50 ms (OpenSSL checks the key), so each file is opened
once per process: :func:`load_pkcs12` keeps what it read, keyed by the SHA-256 of the file
and a keyed hash of the password (never the password itself).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from asn1crypto import core as asn1_core
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from mobileconfig.errors import CertificateError, IdentityError, Location
from mobileconfig.findings import CertificateRef, Finding, make_finding
from mobileconfig.pki.certs import Certificate, load_certificates
from mobileconfig.secrets import Secret, inline_secret_finding

__all__ = [
    "PKCS12_KDF_ROUNDS",
    "Identity",
    "PKCS12Format",
    "PrivateKey",
    "clear_cache",
    "describe_pkcs12",
    "encode_pkcs12",
    "identity_findings",
    "identity_from_pem",
    "legacy_algorithms_available",
    "load_pkcs12",
]

PrivateKey = pkcs12.PKCS12PrivateKeyTypes
PKCS12Format = Literal["apple", "modern"]

#: Key-derivation rounds written by :func:`encode_pkcs12`: OpenSSL's own default, which
#: every Apple release reads.
PKCS12_KDF_ROUNDS = 2048

#: Files larger than this are refused before parsing (an identity is a few kilobytes).
MAX_PKCS12_FILE = 1024 * 1024

# -- names of the algorithms, as OpenSSL prints them -------------------------------------
_PBE_NAMES = {
    "1.2.840.113549.1.12.1.1": "pbeWithSHA1And128BitRC4",
    "1.2.840.113549.1.12.1.2": "pbeWithSHA1And40BitRC4",
    "1.2.840.113549.1.12.1.3": "pbeWithSHA1And3-KeyTripleDES-CBC",
    "1.2.840.113549.1.12.1.4": "pbeWithSHA1And2-KeyTripleDES-CBC",
    "1.2.840.113549.1.12.1.5": "pbeWithSHA1And128BitRC2-CBC",
    "1.2.840.113549.1.12.1.6": "pbeWithSHA1And40BitRC2-CBC",
    "1.2.840.113549.1.5.1": "pbeWithMD2AndDES-CBC",
    "1.2.840.113549.1.5.3": "pbeWithMD5AndDES-CBC",
    "1.2.840.113549.1.5.4": "pbeWithMD2AndRC2-CBC",
    "1.2.840.113549.1.5.6": "pbeWithMD5AndRC2-CBC",
    "1.2.840.113549.1.5.10": "pbeWithSHA1AndDES-CBC",
    "1.2.840.113549.1.5.11": "pbeWithSHA1AndRC2-CBC",
}
_PBES2 = "1.2.840.113549.1.5.13"
_PBES2_CIPHERS = {
    "2.16.840.1.101.3.4.1.2": "AES-128-CBC",
    "2.16.840.1.101.3.4.1.22": "AES-192-CBC",
    "2.16.840.1.101.3.4.1.42": "AES-256-CBC",
    "1.2.840.113549.3.7": "DES-EDE3-CBC",
    "1.3.14.3.2.7": "DES-CBC",
    "1.2.840.113549.3.2": "RC2-CBC",
}
#: Bag ciphers that OpenSSL 3 keeps in its legacy provider.
_LEGACY_CIPHERS = {
    "pbeWithSHA1And128BitRC4",
    "pbeWithSHA1And40BitRC4",
    "pbeWithSHA1And128BitRC2-CBC",
    "pbeWithSHA1And40BitRC2-CBC",
    "pbeWithMD2AndDES-CBC",
    "pbeWithMD5AndDES-CBC",
    "pbeWithMD2AndRC2-CBC",
    "pbeWithMD5AndRC2-CBC",
    "pbeWithSHA1AndDES-CBC",
    "pbeWithSHA1AndRC2-CBC",
    "PBES2/DES-CBC",
    "PBES2/RC2-CBC",
}
_DIGESTS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "1.2.840.113549.2.5": "md5",
}
_PBMAC1 = "1.2.840.113549.1.5.14"
_PRFS = {
    "1.2.840.113549.2.7": "hmacWithSHA1",
    "1.2.840.113549.2.8": "hmacWithSHA224",
    "1.2.840.113549.2.9": "hmacWithSHA256",
    "1.2.840.113549.2.10": "hmacWithSHA384",
    "1.2.840.113549.2.11": "hmacWithSHA512",
}
_APPLE_CIPHER = "pbeWithSHA1And3-KeyTripleDES-CBC"
_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    dsa.DSAPrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)

_PEM_KEY_BLOCK = re.compile(
    rb"-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----.*?"
    rb"-----END \1-----\r?\n?",
    re.DOTALL,
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


def _spki(key: object) -> bytes:
    public = key.public_key()  # type: ignore[attr-defined]
    return bytes(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _fail(name: str, source: str, what: str, hint: str | None = None) -> IdentityError:
    return IdentityError(f"identity '{name}' ({source}): {what}", hint=hint)


# -- the structure, without a password ------------------------------------------------------
@dataclass
class _Structure:
    pfx: asn1_pkcs12.Pfx
    facts: dict[str, Any]
    key_bags: int
    ciphers: set[str]


def _pbe_name(alg: Any) -> tuple[str, dict[str, Any]]:
    """OpenSSL's name for an encryption AlgorithmIdentifier, and its iteration count etc."""
    oid = alg["algorithm"].dotted
    extra: dict[str, Any] = {}
    if oid == _PBES2:
        params = alg["parameters"]
        scheme = params["encryption_scheme"]["algorithm"].dotted
        kdf = params["key_derivation_func"]
        if kdf["algorithm"].native == "pbkdf2":
            kp = kdf["parameters"]
            extra["iterations"] = int(kp["iteration_count"].native)
            salt = kp["salt"].native
            if isinstance(salt, bytes):
                extra["salt_length"] = len(salt)
            prf = kp["prf"]["algorithm"].dotted
            extra["prf"] = _PRFS.get(prf, prf)
        else:
            extra["kdf"] = kdf["algorithm"].dotted
        return f"PBES2/{_PBES2_CIPHERS.get(scheme, scheme)}", extra
    name = _PBE_NAMES.get(oid, oid)
    try:
        params = asn1_core.Sequence.load(alg["parameters"].dump())
        salt, count = params[0].native, params[1].native
        if isinstance(count, int):
            extra["iterations"] = count
        if isinstance(salt, bytes):
            extra["salt_length"] = len(salt)
    except (ValueError, TypeError, KeyError, IndexError):
        pass
    return name, extra


def _attributes(bag: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    attrs = bag["bag_attributes"]
    if attrs.native is None:
        return out
    for attr in attrs:
        kind = attr["type"].native
        if kind == "friendly_name":
            values = attr["values"].native
            if values:
                out["friendly_name"] = str(values[0])
        elif kind == "local_key_id":
            values = attr["values"].native
            if values and isinstance(values[0], bytes):
                out["local_key_id"] = values[0].hex()
    return out


def _read_structure(data: bytes, what: str) -> _Structure:
    """Parse the outer PKCS#12; raise IdentityError(``what``: ...) when it is not one."""
    stripped = data.lstrip()
    if stripped.startswith(b"-----BEGIN"):
        raise IdentityError(
            f"{what}: holds PEM text, not a PKCS#12 file",
            hint="give the key and the certificate as PEM files instead of pkcs12",
        )
    if not data[:1] == b"\x30":
        raise IdentityError(
            f"{what}: is not a PKCS#12 file", hint="export the identity as a .p12 file"
        )
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        version = pfx["version"].native
        auth_type = pfx["auth_safe"]["content_type"].native
        if auth_type != "data":
            raise IdentityError(
                f"{what}: uses public-key integrity ({auth_type}), which Apple devices do not read",
                hint="re-export it with a password (openssl pkcs12 -export)",
            )
        safes = list(pfx.authenticated_safe)
    except IdentityError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError):
        raise IdentityError(
            f"{what}: is not a PKCS#12 file (or it is damaged)",
            hint="export the identity again as a .p12 file",
        ) from None

    facts: dict[str, Any] = {"version": version}
    mac_data = pfx["mac_data"]
    if mac_data.native is None:
        facts.update(mac=None, mac_iterations=None, mac_salt_length=None)
    else:
        oid = mac_data["mac"]["digest_algorithm"]["algorithm"].dotted
        facts["mac"] = "pbmac1" if oid == _PBMAC1 else _DIGESTS.get(oid, oid)
        facts["mac_iterations"] = int(mac_data["iterations"].native)
        facts["mac_salt_length"] = len(mac_data["mac_salt"].native or b"")

    listed: list[dict[str, Any]] = []
    key_bags = 0
    ciphers: set[str] = set()
    key_encryption: list[str] = []
    cert_encryption: list[str] = []
    plain_certs = 0
    try:
        for ci in safes:
            ctype = ci["content_type"].native
            if ctype == "encrypted_data":
                alg = ci["content"]["encrypted_content_info"]["content_encryption_algorithm"]
                name, extra = _pbe_name(alg)
                ciphers.add(name)
                listed.append({"encrypted": True, "encryption": name, **extra})
                cert_encryption.append(name)  # OpenSSL, Keychain and Windows put certificates here
            elif ctype == "data":
                bags = []
                contents = asn1_pkcs12.SafeContents.load(ci["content"].native)
                for bag in contents:
                    bag_id = bag["bag_id"].native
                    entry: dict[str, Any] = {"type": bag_id, **_attributes(bag)}
                    if bag_id == "pkcs8_shrouded_key_bag":
                        key_bags += 1
                        name, extra = _pbe_name(bag["bag_value"]["encryption_algorithm"])
                        ciphers.add(name)
                        entry.update(encryption=name, **extra)
                        key_encryption.append(name)
                    elif bag_id == "key_bag":
                        key_bags += 1
                        entry["encryption"] = "none"
                        key_encryption.append("none")
                    elif bag_id == "cert_bag":
                        plain_certs += 1
                    bags.append(entry)
                listed.append({"encrypted": False, "bags": bags})
            elif ctype == "enveloped_data":
                listed.append({"encrypted": True, "encryption": "public-key (enveloped)"})
                cert_encryption.append("public-key (enveloped)")
            else:
                listed.append({"encrypted": None, "type": str(ctype)})
    except (ValueError, TypeError, KeyError, OverflowError):
        raise IdentityError(
            f"{what}: is a damaged PKCS#12 file", hint="export the identity again as a .p12 file"
        ) from None
    if plain_certs and not cert_encryption:
        cert_encryption.append("none")

    facts["key_encryption"] = _join(key_encryption)
    facts["certificate_encryption"] = _join(cert_encryption)
    facts["encryption"] = _summary(facts["key_encryption"], facts["certificate_encryption"])
    facts["private_keys"] = key_bags  # the ones outside encrypted safes: the usual place
    facts["plain_certificates"] = plain_certs
    facts["safes"] = listed
    facts["modern"] = any(c.startswith("PBES2") for c in ciphers) or facts["mac"] not in (
        None,
        "sha1",
    )
    facts["apple_compatible"] = (
        not facts["modern"]
        and facts["mac"] == "sha1"
        and key_bags <= 1
        and all(c == _APPLE_CIPHER or c == "pbeWithSHA1And40BitRC2-CBC" for c in ciphers)
    )
    facts["needs_legacy_algorithms"] = bool(ciphers & _LEGACY_CIPHERS)
    return _Structure(pfx=pfx, facts=facts, key_bags=key_bags, ciphers=ciphers)


def _join(names: list[str]) -> str | None:
    unique = list(dict.fromkeys(names))
    return ", ".join(unique) if unique else None


def _summary(key: str | None, certs: str | None) -> str | None:
    if key is None or certs is None or key == certs:
        return key or certs
    return f"{key} (key), {certs} (certificates)"


def describe_pkcs12(data: bytes, *, source: str = "PKCS#12") -> dict[str, Any]:
    """What a PKCS#12 says about itself without its password: the MAC's digest, iterations
    and salt length, each safe's and each visible bag's encryption, the friendly names, and
    whether Apple devices will read it (``apple_compatible``) or need it re-encoded.

    The key is ``{"mac": "sha256", "encryption": "PBES2/AES-256-CBC", "modern": True, ...}``;
    ``private_keys`` counts the keys outside encrypted safes (where every common tool puts
    them). Raises :class:`IdentityError` when ``data`` is not a PKCS#12.
    """
    return dict(_read_structure(data, source).facts)


# -- the PKCS#12 key derivation (RFC 7292 appendix B), for the MAC -------------------------
def _bmp_password(password: bytes | None) -> list[bytes]:
    """The ways a PKCS#12 writer may have turned ``password`` into its BMPString."""
    if password is None or password == b"":
        return [b"", b"\x00\x00"]
    try:
        text = password.decode("utf-8")
    except UnicodeDecodeError:
        text = password.decode("latin-1")
    return [text.encode("utf-16-be") + b"\x00\x00"]


def _pkcs12_kdf(
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


def _mac_matches(pfx: asn1_pkcs12.Pfx, password: bytes | None) -> bool | None:
    """True/False when the MAC can be checked with ``password``; None when it cannot
    (no MAC, PBMAC1, an unknown digest, or an absurd iteration count)."""
    mac_data = pfx["mac_data"]
    if mac_data.native is None:
        return None
    digest = _DIGESTS.get(mac_data["mac"]["digest_algorithm"]["algorithm"].dotted)
    iterations = int(mac_data["iterations"].native)
    if digest is None or digest == "md5" or not 0 < iterations <= 1 << 20:
        return None
    salt = mac_data["mac_salt"].native or b""
    expected = mac_data["mac"]["digest"].native
    content = pfx["auth_safe"]["content"].native
    size = hashlib.new(digest).digest_size
    for candidate in _bmp_password(password):
        key = _pkcs12_kdf(candidate, salt, 3, iterations, size, digest)
        if hmac.compare_digest(hmac.new(key, content, digest).digest(), expected):
            return True
    return False


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


# -- the per-process cache ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Opened:
    key: PrivateKey
    leaf: Certificate
    chain: tuple[Certificate, ...]
    encryption: str | None
    mac: str | None


_CACHE_SIZE = 256
_CACHE: OrderedDict[tuple[str, bytes, bytes], object] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SALT = os.urandom(32)  # per process: the cache key never holds a password's plain hash


def _password_tag(password: bytes | None) -> bytes:
    marker = b"\x00" if password is None else b"\x01" + password
    return hmac.new(_CACHE_SALT, marker, hashlib.sha256).digest()


def _cache_get(key: tuple[str, bytes, bytes]) -> object | None:
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
        return hit


def _cache_put(key: tuple[str, bytes, bytes], value: object) -> None:
    with _CACHE_LOCK:
        _CACHE[key] = value
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def clear_cache() -> None:
    """Forget every identity opened in this process (tests, or after rotating files)."""
    with _CACHE_LOCK:
        _CACHE.clear()


# -- reading ---------------------------------------------------------------------------------
def load_pkcs12(data: bytes, password: bytes | None, *, name: str, source: str) -> Identity:
    """Open a PKCS#12: modern (PBES2/AES) or legacy (3DES, RC2-40 certificate bags).

    The leaf is the certificate whose public key matches the private key; every other
    certificate in the file goes to ``chain``. Raises :class:`IdentityError`, one line naming
    the identity and ``source``, for a wrong password, no private key, more than one, a key
    that matches no certificate, or data that is not a PKCS#12. No message holds the password.
    Each file is opened once per process (see :func:`clear_cache`).
    """
    if len(data) > MAX_PKCS12_FILE:
        raise _fail(name, source, f"is {len(data)} bytes, over the {MAX_PKCS12_FILE} byte limit")
    cache_key = ("p12", hashlib.sha256(data).digest(), _password_tag(password))
    hit = _cache_get(cache_key)
    if isinstance(hit, _Opened):
        return _from_opened(hit, name, source)
    opened = _open_pkcs12(data, password, name=name, source=source)
    _cache_put(cache_key, opened)
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
    structure = _read_structure(data, what)
    if structure.key_bags > 1:
        raise _fail(
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
        raise _fail(
            name,
            source,
            f"uses an algorithm this system cannot read ({algs})",
            hint=_REEXPORT_HINT,
        ) from None
    key = loaded.key
    if key is None:
        raise _fail(
            name,
            source,
            "holds no private key (only certificates)",
            hint="export the identity with its private key (Keychain Access: My Certificates)",
        )
    if not isinstance(key, _KEY_TYPES):
        raise _fail(name, source, f"holds a {type(key).__name__}, which Apple devices cannot use")
    found: list[Certificate] = []
    seen: set[bytes] = set()
    first = [loaded.cert] if loaded.cert is not None else []
    for item in (*first, *loaded.additional_certs):
        cert = Certificate(item.certificate, origin=Location(source))
        if cert.der not in seen:
            seen.add(cert.der)
            found.append(cert)
    if not found:
        raise _fail(
            name,
            source,
            "holds a private key but no certificate",
            hint="export the identity with its certificate",
        )
    leaf = _matching(key, found)
    if leaf is None:
        n = len(found)
        raise _fail(
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
    structure: _Structure, password: bytes | None, name: str, source: str
) -> IdentityError:
    """Why cryptography refused the file: the MAC tells a wrong password from the rest."""
    try:
        mac_ok = _mac_matches(structure.pfx, password)
    except (ValueError, TypeError, KeyError):
        mac_ok = None
    legacy = sorted(structure.ciphers & _LEGACY_CIPHERS)
    if mac_ok is False:
        if password is None or password == b"":
            return _fail(
                name,
                source,
                "is protected by a password, and none was given",
                hint="give the identity's password",
            )
        return _fail(
            name,
            source,
            "wrong password, or the file is damaged",
            hint="check the password's source",
        )
    if legacy and not legacy_algorithms_available():
        return _fail(
            name,
            source,
            f"uses {', '.join(legacy)}, which needs OpenSSL's legacy algorithms, "
            "not available in this Python (is CRYPTOGRAPHY_OPENSSL_NO_LEGACY set?)",
            hint=_REEXPORT_HINT,
        )
    if mac_ok is True:
        algs = ", ".join(sorted(structure.ciphers)) or "unknown"
        return _fail(
            name,
            source,
            f"the password is right but the contents cannot be decrypted ({algs}): "
            "the file is damaged or uses an algorithm this system lacks",
            hint=_REEXPORT_HINT,
        )
    return _fail(
        name, source, "wrong password, or the file is damaged", hint="check the password's source"
    )


def _matching(key: PrivateKey, certs: Sequence[Certificate]) -> Certificate | None:
    spki = _spki(key)
    for cert in certs:
        if cert.spki_der == spki:
            return cert
    return None


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
    cache_key = ("pem", hashlib.sha256(key).digest(), _password_tag(key_password))
    hit = _cache_get(cache_key)
    if hit is not None:
        private_key: PrivateKey = hit  # type: ignore[assignment]
    else:
        private_key = _load_key(key, key_password, name, source)
        _cache_put(cache_key, private_key)

    try:
        given = load_certificates(certificate, source=source)
        extra = [
            c
            for i, blob in enumerate(chain)
            for c in load_certificates(blob, source=f"{source} (chain {i + 1})")
        ]
    except CertificateError as exc:
        raise _fail(name, source, exc.message, hint=exc.hint) from None
    leaf = _matching(private_key, given)
    if leaf is None:
        subject = given[0].subject_text if given else "?"
        raise _fail(
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
            raise _fail(name, source, "holds no private key (no PRIVATE KEY block)")
        if len(blocks) > 1:
            raise _fail(name, source, f"holds {len(blocks)} private keys; an identity has one")
        if b"OPENSSH PRIVATE KEY" in blocks[0]:
            raise _fail(
                name,
                source,
                "holds an OpenSSH key, not an X.509 private key",
                hint="convert it with: ssh-keygen -p -m PKCS8 -f KEY",
            )
        blob, loader = blocks[0], serialization.load_pem_private_key
    elif data[:1] == b"\x30":
        blob, loader = data, serialization.load_der_private_key
    else:
        raise _fail(name, source, "holds no private key (expected PEM or DER)")
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
        raise _fail(
            name,
            source,
            "the private key is encrypted, and no password was given",
            hint="give the key's password",
        ) from None
    except ValueError:
        if encrypted or (encrypted is None and password is not None):
            raise _fail(
                name,
                source,
                "wrong password for the private key, or the key is damaged",
                hint="check the password's source",
            ) from None
        raise _fail(name, source, "cannot read the private key (damaged or not a key)") from None
    except UnsupportedAlgorithm:
        raise _fail(
            name, source, "the private key uses an algorithm this system cannot read"
        ) from None
    if not isinstance(loaded, _KEY_TYPES):
        raise _fail(name, source, f"a {type(loaded).__name__} cannot go in a PKCS#12")
    return loaded


# -- writing -----------------------------------------------------------------------------------
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
            raise _fail(
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

    (bmp,) = _bmp_password(password)
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
        k = _pkcs12_kdf(bmp, salt_value, 1, rounds, 24, "sha1")
        iv = _pkcs12_kdf(bmp, salt_value, 2, rounds, 8, "sha1")
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
    mac_key = _pkcs12_kdf(bmp, mac_salt, 3, rounds, 20, "sha1")
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


# -- findings -----------------------------------------------------------------------------------
def identity_findings(
    identity: Identity,
    *,
    format: str,
    embedded_password: bool,
    password: Secret | None = None,
    location: Location | None = None,
) -> list[Finding]:
    """Findings about how an identity goes into a profile.

    MC301 (info) the input was modern PKCS#12 and is re-encoded for Apple; MC302 (info) the
    password is embedded in the profile; MC303 (warning) ``format="modern"`` was chosen;
    MC304 (warning) ``password`` (a :class:`~mobileconfig.secrets.Secret`) is written inline.
    """
    if format not in ("apple", "modern"):
        raise ValueError(f"format must be 'apple' or 'modern', not {format!r}")
    ref = identity.ref()
    who = f"identity '{identity.name}'"
    out: list[Finding] = []
    if format == "apple" and identity.is_modern:
        out.append(
            make_finding(
                "MC301",
                f"{who}: {identity.source} is {identity.encryption} with a {identity.mac} MAC, "
                "which Apple devices refuse with 'The password for the certificate is incorrect'; "
                "it is re-encoded as pbeWithSHA1And3-KeyTripleDES-CBC with a SHA-1 MAC",
                certificate=ref,
                location=location,
            )
        )
    if format == "modern":
        out.append(
            make_finding(
                "MC303",
                f"{who} is written as PBES2/AES-256-CBC with a SHA-256 MAC: iOS 15 to 17 and "
                "macOS 12 to 15 refuse it with 'The password for the certificate is incorrect'",
                certificate=ref,
                location=location,
            )
        )
    if embedded_password:
        out.append(
            make_finding(
                "MC302",
                f"{who}: the PKCS#12 password is stored in the profile, where Apple only "
                "obfuscates it; anyone with the profile has the private key",
                certificate=ref,
                location=location,
            )
        )
    if password is not None:
        found = inline_secret_finding(
            password, what=f"password of {who}", location=location, certificate=ref
        )
        if found is not None:
            out.append(found)
    return out
