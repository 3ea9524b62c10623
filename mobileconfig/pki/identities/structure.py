"""Describing a PKCS#12 without its password: the facts ``cryptography`` does not expose
(which algorithms encrypt the bags, which digest the MAC uses, how many private keys the
file holds), read from the PKCS#12 structure with asn1crypto.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asn1crypto import core as asn1_core  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import pkcs12 as asn1_pkcs12

from mobileconfig.errors import IdentityError
from mobileconfig.pki.certs import DIGEST_OIDS

__all__ = [
    "LEGACY_CIPHERS",
    "MAX_PKCS12_ITERATIONS",
    "Structure",
    "check_iterations",
    "check_pkcs12_iterations",
    "describe_pkcs12",
    "read_structure",
]

#: Highest iteration count opened, for the MAC and for each encryption visible before the
#: password is used. Writers use 2,000 (Windows) to 10,000 (Java); OpenSSL writes 2,048. One
#: million costs about 0.2 s per key derived; 2,000,000,000 would take most of an hour.
MAX_PKCS12_ITERATIONS = 1_000_000

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
LEGACY_CIPHERS = {
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
_PBMAC1 = "1.2.840.113549.1.5.14"
_PRFS = {
    "1.2.840.113549.2.7": "hmacWithSHA1",
    "1.2.840.113549.2.8": "hmacWithSHA224",
    "1.2.840.113549.2.9": "hmacWithSHA256",
    "1.2.840.113549.2.10": "hmacWithSHA384",
    "1.2.840.113549.2.11": "hmacWithSHA512",
}
_APPLE_CIPHER = "pbeWithSHA1And3-KeyTripleDES-CBC"


# -- the structure, without a password ------------------------------------------------------
@dataclass
class Structure:
    """A parsed PKCS#12 before decryption: the asn1crypto Pfx, the facts
    :func:`describe_pkcs12` returns, how many private keys it shows, and its bag ciphers."""

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


#: What asn1crypto raises, lazily, for damaged DER.
_ASN1_DAMAGE = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


def read_structure(data: bytes, what: str) -> Structure:
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
        # asn1crypto parses lazily: the MAC is read here too, so damage there is refused
        # as damage (found by fuzzing: ValueError and AttributeError from inspect).
        facts: dict[str, Any] = {"version": version}
        mac_data = pfx["mac_data"]
        if mac_data.native is None:
            facts.update(mac=None, mac_iterations=None, mac_salt_length=None)
        else:
            oid = mac_data["mac"]["digest_algorithm"]["algorithm"].dotted
            facts["mac"] = "pbmac1" if oid == _PBMAC1 else DIGEST_OIDS.get(oid, oid)
            facts["mac_iterations"] = int(mac_data["iterations"].native)
            facts["mac_salt_length"] = len(mac_data["mac_salt"].native or b"")
    except IdentityError:
        raise
    except _ASN1_DAMAGE:
        raise IdentityError(
            f"{what}: is not a PKCS#12 file (or it is damaged)",
            hint="export the identity again as a .p12 file",
        ) from None

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
    except _ASN1_DAMAGE:
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
    facts["needs_legacy_algorithms"] = bool(ciphers & LEGACY_CIPHERS)
    return Structure(pfx=pfx, facts=facts, key_bags=key_bags, ciphers=ciphers)


def check_iterations(structure: Structure, what: str) -> None:
    """Refuse, before any key is derived, a PKCS#12 whose MAC or visible encryption asks
    for more than MAX_PKCS12_ITERATIONS iterations. Bags inside an encrypted safe are seen
    only once it is decrypted (with its own, checked, count)."""
    facts = structure.facts
    counts: list[tuple[str, Any]] = [("its MAC", facts.get("mac_iterations"))]
    for safe in facts.get("safes", []):
        counts.append((f"its {safe.get('encryption')} encryption", safe.get("iterations")))
        for bag in safe.get("bags", []):
            counts.append((f"its {bag.get('encryption')} key encryption", bag.get("iterations")))
    for label, count in counts:
        if isinstance(count, int) and not 0 <= count <= MAX_PKCS12_ITERATIONS:
            raise IdentityError(
                f"{what}: {label} asks for {count:,} iterations, over the limit of "
                f"{MAX_PKCS12_ITERATIONS:,} (deriving its keys would take too long)",
                hint="export the identity again with a usual iteration count (2,048)",
            )


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
    return dict(read_structure(data, source).facts)


def check_pkcs12_iterations(data: bytes, *, source: str) -> None:
    """Refuse ``data`` (IdentityError naming ``source``) when it is not a PKCS#12 of at most
    MAX_PKCS12_ITERATIONS iterations: for callers that open it with ``cryptography``."""
    check_iterations(read_structure(data, source), source)
