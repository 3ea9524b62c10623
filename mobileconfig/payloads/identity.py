"""Identity payloads: com.apple.security.pkcs12, .scep and .acme, as Apple spells them.

Field names are Pythonic; each alias is Apple's key exactly as its schema writes it
(``Keysize``, ``Key Type`` and ``Key Usage`` with their spaces in SCEP; ``KeySize`` in ACME).
Secret values (``Password``, ``Challenge``, ``ClientIdentifier``) are plain strings here,
since the renderer must write them, but they never appear in a model's ``repr``.

Rules Apple documents, and the ones this package adds, are checked on validation:
SCEP keys of 2048 or 4096 bits (Apple's default of 1024 is refused), ACME directories over
https, hardware-bound ACME keys on P-256 or P-384, ``Attest`` only with ``HardwareBound``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from mobileconfig.errors import Location
from mobileconfig.findings import Finding, make_finding
from mobileconfig.payloads.base import Payload, register
from mobileconfig.pki.certs import Certificate

__all__ = [
    "ACMEPayload",
    "PKCS12Payload",
    "SCEPContent",
    "SCEPPayload",
    "SubjectAltName",
    "SubjectName",
    "ca_fingerprint",
    "parse_dn",
    "scep_findings",
]

_MACOS_ONLY = "macOS only; iOS, tvOS, visionOS and watchOS ignore it."

# -- X.500 names as Apple's nested arrays -----------------------------------------------------
#: The attribute names Apple's devices understand as written; every other name is turned
#: into its dotted OID, which Apple accepts for any attribute.
_APPLE_SHORT = {"C", "L", "ST", "O", "OU", "CN"}
_OID_NAMES = {
    "E": "1.2.840.113549.1.9.1",
    "EMAIL": "1.2.840.113549.1.9.1",
    "EMAILADDRESS": "1.2.840.113549.1.9.1",
    "DC": "0.9.2342.19200300.100.1.25",
    "UID": "0.9.2342.19200300.100.1.1",
    "SERIALNUMBER": "2.5.4.5",
    "STREET": "2.5.4.9",
    "TITLE": "2.5.4.12",
    "GN": "2.5.4.42",
    "GIVENNAME": "2.5.4.42",
    "SN": "2.5.4.4",
    "SURNAME": "2.5.4.4",
    "INITIALS": "2.5.4.43",
    "PSEUDONYM": "2.5.4.65",
    "DNQUALIFIER": "2.5.4.46",
    "POSTALCODE": "2.5.4.17",
    "S": "2.5.4.8",
}
_ALIASES = {
    "S": "ST",
    "COUNTRYNAME": "C",
    "LOCALITYNAME": "L",
    "STATEORPROVINCENAME": "ST",
    "ORGANIZATIONNAME": "O",
    "ORGANIZATIONALUNITNAME": "OU",
    "COMMONNAME": "CN",
}
_DOTTED = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_HEX = "0123456789abcdefABCDEF"


def _split(text: str, seps: str) -> list[str]:
    """Split on any unescaped character of ``seps``; escapes are kept for :func:`_unescape`."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == "\\":
            raise ValueError("a distinguished name cannot end with a lone backslash")
        if ch in seps:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            pair = text[i + 1 : i + 3]
            if len(pair) == 2 and all(c in _HEX for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out.extend(text[i + 1].encode("utf-8"))
            i += 2
            continue
        out.extend(ch.encode("utf-8"))
        i += 1
    return out.decode("utf-8", "replace")


def _attribute_name(raw: str, dn: str) -> str:
    name = raw.strip()
    if _DOTTED.match(name):
        return name
    upper = name.upper()
    upper = _ALIASES.get(upper, upper)
    if upper in _APPLE_SHORT:
        return upper
    if upper in _OID_NAMES:
        return _OID_NAMES[upper]
    raise ValueError(
        f"unknown attribute {name!r} in {dn!r}: use C, L, ST, O, OU, CN or a dotted OID"
    )


def parse_dn(text: str) -> list[list[list[str]]]:
    """A distinguished name as Apple's nested arrays, in the order written.

    ``"CN=device 1,O=Example Corp"`` gives ``[[["CN", "device 1"]], [["O", "Example Corp"]]]``.
    RFC 4514 escapes work (``O=Example\\, Inc.``), ``+`` joins attributes of one RDN, and the
    slash form of Apple's documentation (``/C=US/O=Apple Inc./CN=foo``) is read too. Names
    other than C, L, ST, O, OU and CN become dotted OIDs (``emailAddress`` → 1.2.840.113549.1.9.1).
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the distinguished name is empty")
    slashed = stripped.startswith("/")
    rdns = _split(stripped[1:], "/") if slashed else _split(stripped, ",")
    out: list[list[list[str]]] = []
    for rdn in rdns:
        if not rdn.strip():
            raise ValueError(f"empty component in distinguished name {text!r}")
        pairs: list[list[str]] = []
        for atv in _split(rdn, "+"):
            pieces = _split(atv, "=")
            if len(pieces) < 2 or not pieces[0].strip():
                raise ValueError(f"{atv.strip()!r} in {text!r} is not NAME=value")
            name = _attribute_name(_unescape(pieces[0]), text)
            value = _unescape("=".join(pieces[1:]).strip())
            if not value:
                raise ValueError(f"{name} has an empty value in {text!r}")
            pairs.append([name, value])
        out.append(pairs)
    return out


def _subject_before(value: Any) -> Any:
    return parse_dn(value) if isinstance(value, str) else value


def _check_subject(value: list[list[list[str]]]) -> list[list[list[str]]]:
    if not value:
        raise ValueError("the subject needs at least one attribute")
    for rdn in value:
        if not rdn:
            raise ValueError("each subject component needs at least one [name, value] pair")
        for pair in rdn:
            if len(pair) != 2:
                raise ValueError(f"{pair!r} is not a [name, value] pair")
            name, text = pair
            if name not in _APPLE_SHORT and not _DOTTED.match(name):
                raise ValueError(f"{name!r} is not C, L, ST, O, OU, CN or a dotted OID")
            if not text:
                raise ValueError(f"{name} has an empty value")
    return value


#: Apple's ``Subject``: an array of RDNs, each an array of [OID-or-short-name, value] pairs.
#: A string is accepted and read with :func:`parse_dn`.
SubjectName = Annotated[
    list[list[list[str]]], BeforeValidator(_subject_before), AfterValidator(_check_subject)
]


def ca_fingerprint(cert: Certificate, algorithm: Literal["sha1", "sha256"] = "sha1") -> bytes:
    """The SCEP ``CAFingerprint`` of ``cert``: the digest of its DER encoding.

    Apple's schema says only "the fingerprint of the Certificate Authority certificate";
    Apple's deployment documentation (Profile Manager, the 802.1X white paper) names SHA-1 or
    MD5, so SHA-1 is the default. SHA-256 is accepted by some MDMs' documentation; which Apple
    releases match it is unverified.
    """
    return hashlib.new(algorithm, cert.der).digest()


# -- shared pieces -------------------------------------------------------------------------------
class _AppleDict(BaseModel):
    """A dictionary nested inside a payload: Apple's keys, unknown keys refused."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", ser_json_bytes="base64")


_Names = str | list[str]


class SubjectAltName(_AppleDict):
    """``SubjectAltName``: each value one string or, as Apple allows, an array of strings."""

    rfc822_name: _Names | None = Field(None, alias="rfc822Name", description="e-mail address")
    dns_name: _Names | None = Field(None, alias="dNSName", description="DNS name")
    uniform_resource_identifier: _Names | None = Field(
        None, alias="uniformResourceIdentifier", description="URI"
    )
    nt_principal_name: _Names | None = Field(
        None, alias="ntPrincipalName", description="NT principal name (user@REALM)"
    )

    @model_validator(mode="after")
    def _not_empty(self) -> SubjectAltName:
        values = [
            self.rfc822_name,
            self.dns_name,
            self.uniform_resource_identifier,
            self.nt_principal_name,
        ]
        if all(v is None for v in values):
            raise ValueError(
                "SubjectAltName needs at least one of rfc822Name, dNSName, "
                "uniformResourceIdentifier or ntPrincipalName"
            )
        for v in values:
            if v is not None and (v == "" or v == [] or (isinstance(v, list) and "" in v)):
                raise ValueError("SubjectAltName values cannot be empty")
        return self


def _check_url(value: str, schemes: tuple[str, ...], key: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ValueError(f"{key} must be an {wanted} URL, not {value!r}")
    return value


_Usage = Literal[0, 1, 4, 5]
_USAGE_TEXT = "bit mask: 1 signing, 4 encryption, 5 both (some CAs, e.g. Windows, take only one)"


# -- PKCS#12 --------------------------------------------------------------------------------------
@register
class PKCS12Payload(Payload):
    """``com.apple.security.pkcs12``: one identity (key and leaf) as PKCS#12 bytes.

    Without ``Password`` the user is asked for it at install. With it, Apple stores it
    obfuscated, not encrypted (MC302).
    """

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.security.pkcs12"

    payload_content: bytes = Field(
        alias="PayloadContent",
        repr=False,
        description="The PKCS#12 (3DES, SHA-1 MAC: see mobileconfig.pki.identities).",
    )
    password: str | None = Field(
        None,
        alias="Password",
        repr=False,
        description="The PKCS#12 password; without it the device asks at install.",
    )
    payload_certificate_file_name: str | None = Field(None, alias="PayloadCertificateFileName")
    allow_all_apps_access: bool | None = Field(
        None,
        alias="AllowAllAppsAccess",
        description=f"Let every app use the private key (default false). {_MACOS_ONLY} "
        "macOS 10.10 and later.",
    )
    key_is_extractable: bool | None = Field(
        None,
        alias="KeyIsExtractable",
        description=f"False marks the key non-exportable in the keychain (default true). "
        f"{_MACOS_ONLY} macOS 10.15 and later.",
    )

    @field_validator("payload_content")
    @classmethod
    def _content(cls, value: bytes) -> bytes:
        if not value:
            raise ValueError("PayloadContent (the PKCS#12) is empty")
        return value


# -- SCEP ---------------------------------------------------------------------------------
class SCEPContent(_AppleDict):
    """The SCEP payload's ``PayloadContent`` dictionary (all SCEP settings live here)."""

    url: str = Field(alias="URL", description="The SCEP server's URL (http or https).")
    name: str | None = Field(
        None,
        alias="Name",
        description="A string the SCEP server understands, e.g. to pick one of several CAs.",
    )
    subject: SubjectName | None = Field(
        None,
        alias="Subject",
        description="The requested subject: [[[name, value]], ...]; a string is parsed.",
    )
    challenge: str | None = Field(
        None, alias="Challenge", repr=False, description="The preshared secret (challenge)."
    )
    key_size: int = Field(
        2048,
        alias="Keysize",
        description="RSA key size: 2048 (written always; Apple's default is 1024) or 4096.",
    )
    key_type: Literal["RSA"] = Field("RSA", alias="Key Type", description="Always RSA.")
    key_usage: _Usage | None = Field(None, alias="Key Usage", description=_USAGE_TEXT)
    retries: int | None = Field(
        None,
        alias="Retries",
        ge=0,
        le=1000,
        description="Times to retry after a PENDING response (Apple's default 3).",
    )
    retry_delay: int | None = Field(
        None,
        alias="RetryDelay",
        ge=0,
        le=86400,
        description="Seconds between retries (Apple's default 10).",
    )
    ca_fingerprint: bytes | None = Field(
        None,
        alias="CAFingerprint",
        description="Digest of the CA certificate (SHA-1 by default: see ca_fingerprint()); "
        "a hex string is accepted.",
    )
    subject_alt_name: SubjectAltName | None = Field(None, alias="SubjectAltName")
    key_is_extractable: bool | None = Field(
        None,
        alias="KeyIsExtractable",
        description=f"False makes the key non-exportable (default true). {_MACOS_ONLY}",
    )
    allow_all_apps_access: bool | None = Field(
        None,
        alias="AllowAllAppsAccess",
        description=f"Let every app use the private key (default false). {_MACOS_ONLY}",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, ("http", "https"), "URL")

    @field_validator("key_size")
    @classmethod
    def _key_size(cls, value: int) -> int:
        if value < 2048:
            raise ValueError(
                f"Keysize {value} is refused: RSA keys under 2048 bits are not trusted by "
                "Apple devices for TLS; use 2048 or 4096"
            )
        if value not in (2048, 4096):
            raise ValueError(f"Keysize must be 2048 or 4096 (Apple's allowed sizes), not {value}")
        return value

    @field_validator("ca_fingerprint", mode="before")
    @classmethod
    def _fingerprint_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            digits = re.sub(r"[\s:]", "", value)
            try:
                return bytes.fromhex(digits)
            except ValueError:
                raise ValueError("CAFingerprint as text must be hexadecimal") from None
        return value

    @field_validator("ca_fingerprint")
    @classmethod
    def _fingerprint(cls, value: bytes | None) -> bytes | None:
        if value is not None and len(value) not in (16, 20, 32):
            raise ValueError(
                f"CAFingerprint is {len(value)} bytes; a fingerprint is 20 (SHA-1), "
                "16 (MD5) or 32 (SHA-256) bytes"
            )
        return value


@register
class SCEPPayload(Payload):
    """``com.apple.security.scep``: the device makes a key and asks a SCEP server for its
    certificate. Other payloads refer to the identity by this payload's PayloadUUID."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.security.scep"

    payload_content: SCEPContent = Field(alias="PayloadContent")


def scep_findings(content: SCEPContent, *, location: Location | None = None) -> list[Finding]:
    """MC305 when the SCEP URL is plain http and no ``CAFingerprint`` pins the CA: anyone on
    the path can answer with their own CA certificate and receive the challenge."""
    if urlsplit(content.url).scheme.lower() == "http" and content.ca_fingerprint is None:
        return [
            make_finding(
                "MC305",
                f"SCEP server {content.url} is reached over plain HTTP and no CAFingerprint "
                "pins its CA certificate",
                location=location,
            )
        ]
    return []


# -- ACME -----------------------------------------------------------------------------------------
_EKU_NAMES = {
    "serverAuth": "1.3.6.1.5.5.7.3.1",
    "clientAuth": "1.3.6.1.5.5.7.3.2",
    "codeSigning": "1.3.6.1.5.5.7.3.3",
    "emailProtection": "1.3.6.1.5.5.7.3.4",
    "timeStamping": "1.3.6.1.5.5.7.3.8",
    "OCSPSigning": "1.3.6.1.5.5.7.3.9",
}


@register
class ACMEPayload(Payload):
    """``com.apple.security.acme`` (iOS 16, macOS 13.1): the device makes a key and asks an
    ACME server for its certificate. Keys sit at the payload's top level.

    Rules: ``DirectoryURL`` is https; RSA keys are 2048 to 4096 bits in steps of 8 and not
    hardware-bound; EC keys are P-256, P-384 or P-521 (hardware-bound: P-256 or P-384 only);
    ``Attest`` needs ``HardwareBound``.
    """

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.security.acme"

    directory_url: str = Field(alias="DirectoryURL", description="The ACME directory (https).")
    client_identifier: str = Field(
        alias="ClientIdentifier",
        repr=False,
        min_length=1,
        description="A unique string for this device, issued by the enterprise.",
    )
    key_size: int = Field(
        256, alias="KeySize", description="RSA: 2048-4096, multiple of 8; EC: 256, 384 or 521."
    )
    key_type: Literal["RSA", "ECSECPrimeRandom"] = Field("ECSECPrimeRandom", alias="KeyType")
    hardware_bound: bool = Field(
        False,
        alias="HardwareBound",
        description="Key made in the Secure Enclave and never exportable (EC 256 or 384 only; "
        "macOS 14 and later on Apple silicon or T2).",
    )
    attest: bool | None = Field(
        None, alias="Attest", description="Send device and key attestations (needs HardwareBound)."
    )
    subject: SubjectName = Field(alias="Subject")
    subject_alt_name: SubjectAltName | None = Field(None, alias="SubjectAltName")
    usage_flags: _Usage | None = Field(None, alias="UsageFlags", description=_USAGE_TEXT)
    extended_key_usage: list[str] | None = Field(
        None,
        alias="ExtendedKeyUsage",
        description="Dotted OIDs; clientAuth, serverAuth, emailProtection etc. are accepted.",
    )
    key_is_extractable: bool | None = Field(
        None,
        alias="KeyIsExtractable",
        description=f"False makes the key non-exportable (default true). {_MACOS_ONLY}",
    )
    allow_all_apps_access: bool | None = Field(
        None,
        alias="AllowAllAppsAccess",
        description=f"Let every app use the private key (default false). {_MACOS_ONLY}",
    )

    @field_validator("directory_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, ("https",), "DirectoryURL")

    @field_validator("extended_key_usage", mode="before")
    @classmethod
    def _eku_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_EKU_NAMES.get(v, v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("extended_key_usage")
    @classmethod
    def _eku(cls, value: list[str] | None) -> list[str] | None:
        for oid in value or ():
            if not _DOTTED.match(oid):
                raise ValueError(f"ExtendedKeyUsage entry {oid!r} is not a dotted OID")
        return value

    @model_validator(mode="after")
    def _rules(self) -> ACMEPayload:
        size = self.key_size
        if self.key_type == "RSA":
            if self.hardware_bound:
                raise ValueError(
                    "HardwareBound keys must be ECSECPrimeRandom (256 or 384), not RSA"
                )
            if size < 2048:
                raise ValueError(
                    f"KeySize {size} is refused for RSA: Apple allows 1024 to 4096, but keys "
                    "under 2048 bits are not trusted by Apple devices for TLS; use 2048 or more"
                )
            if size > 4096 or size % 8:
                raise ValueError(
                    f"RSA KeySize must be a multiple of 8 from 2048 to 4096, not {size}"
                )
        else:
            if size == 192:
                raise ValueError("KeySize 192 (P-192) is refused as too weak; use 256 or 384")
            if size not in (256, 384, 521):
                raise ValueError(
                    f"ECSECPrimeRandom KeySize must be 256, 384 or 521 (521, not 512), not {size}"
                )
            if self.hardware_bound and size not in (256, 384):
                raise ValueError("HardwareBound keys must be 256 or 384 bits, not 521")
        if self.attest and not self.hardware_bound:
            raise ValueError("Attest needs HardwareBound: set HardwareBound to true")
        return self
