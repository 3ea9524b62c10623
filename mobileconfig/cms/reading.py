"""Reading: :func:`unwrap` parses a signed profile's CMS SignedData, and keeps the exact
signed bytes beside the parsed view (:class:`SignedProfile`). Nothing is checked here:
see :mod:`mobileconfig.cms.verification`.

DER or BER (indefinite lengths, chunked content) is read with asn1crypto, since
cryptography has no public API to read or verify CMS. Only the first SignerInfo is kept in
detail; Apple's tools and every sample seen write one. Signed attributes are kept as they
were sent: when they are not themselves DER (a BER signer would have signed a DER
re-encoding), their SET is rebuilt around the attributes' own bytes.

Every count asn1crypto would iterate (certificates, SignerInfos, attributes, content
chunks) is bounded with a cheap scan of the raw bytes first; see docs/limits.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, cast

from asn1crypto import cms as asn1_cms  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import core as asn1_core
from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from mobileconfig.cms.common import as_utc, short_error
from mobileconfig.cms.oids import (
    CONTENT_TYPE_NAMES,
    OID_CONTENT_TYPE,
    OID_ENVELOPED_DATA,
    OID_MESSAGE_DIGEST,
    OID_SIGNED_DATA,
    OID_SIGNING_TIME,
    SIGNATURE_OIDS,
    SINGLE_ATTRIBUTES,
    digest_name,
)
from mobileconfig.errors import CMSError, Location
from mobileconfig.pki.certs import PARSE_ERRORS, Certificate, check_parsed

__all__ = [
    "MAX_CMS_BYTES",
    "MAX_CMS_CERTIFICATES",
    "MAX_CMS_CHUNKS",
    "MAX_CMS_SET_ITEMS",
    "SignedProfile",
    "SignerInfo",
    "is_cms",
    "unwrap",
]

_PEM_CMS = re.compile(
    rb"-----BEGIN (PKCS7|CMS|PKCS #7 SIGNED DATA)-----(.*?)-----END \1-----", re.DOTALL
)
# ContentInfo: SEQUENCE, any length form, then OBJECT IDENTIFIER 1.2.840.113549.1.7.x
_PKCS7_OID_PREFIX = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07"

# Limits on what unwrap() reads (see docs/limits.md). asn1crypto builds a Python object for
# every element of a SET or every chunk of a BER string it is asked to iterate, at about
# 30 microseconds each: a 2 MB CMS of a million empty "certificates" took 30 s and 150 MB,
# and a 64 MB one would take a quarter of an hour. Each count is checked with a cheap scan
# of the raw bytes *before* asn1crypto iterates.
#: Largest CMS read (the same bound as the largest plist, render.MAX_PLIST_BYTES).
MAX_CMS_BYTES = 64 * 1024 * 1024
#: Most certificates in a SignedData (a signer's chain is 2 to 5; whole CA bundles ~200).
MAX_CMS_CERTIFICATES = 1000
#: Most SignerInfos, signed attributes, or values of one attribute (real ones: 1, 3-6, 1).
MAX_CMS_SET_ITEMS = 100
#: Most chunks of a BER constructed (streamed) content; streaming writers use 1-4 KB chunks.
MAX_CMS_CHUNKS = 100_000
#: Largest signer-identifier issuer Name, in bytes (real names are well under 1 KB).
_MAX_NAME_BYTES = 64 * 1024


@dataclass(frozen=True)
class SignerInfo:
    """The parts of the (first) SignerInfo that :func:`verify` needs, as plain values."""

    #: "issuer_and_serial_number" or "subject_key_identifier"
    sid_kind: str
    sid_issuer: bytes | None  # DER of the issuer Name
    sid_serial: int | None
    sid_key_identifier: bytes | None
    digest_oid: str
    signature_oid: str
    signature_parameters: bytes | None  # DER, for RSASSA-PSS
    signature: bytes = field(repr=False)
    #: The signed attributes as a DER SET (what was signed), or None without them.
    signed_attributes: bytes | None = field(repr=False)
    message_digest: bytes | None = field(repr=False)
    content_type_attribute: str | None

    @property
    def signer_description(self) -> str:
        if self.sid_kind == "subject_key_identifier" and self.sid_key_identifier is not None:
            return f"subject key identifier {self.sid_key_identifier.hex()}"
        issuer = _name_from_asn1(self.sid_issuer) if self.sid_issuer is not None else "?"
        serial = format(self.sid_serial, "x") if self.sid_serial is not None else "?"
        return f"issuer '{issuer}', serial {serial}"


def _name_from_asn1(der: bytes) -> str:
    try:
        return str(asn1_x509.Name.load(der).human_friendly)
    except Exception:
        return "?"


@dataclass(frozen=True)
class SignedProfile:
    """A CMS SignedData as read: the exact signed bytes beside the parsed view."""

    #: The exact bytes that were signed (the profile plist).
    content: bytes = field(repr=False)
    #: Every certificate in the CMS, in the order sent.
    certificates: tuple[Certificate, ...]
    #: "sha256", "sha1", ... (the dotted OID when unknown).
    digest_algorithm: str
    #: "ecdsa-with-SHA256", "rsaEncryption", "RSASSA-PSS", ... (dotted OID when unknown).
    signature_algorithm: str
    signing_time: dt.datetime | None
    has_signed_attributes: bool
    #: The input, as given.
    raw: bytes = field(repr=False)
    signer_info: SignerInfo = field(repr=False)
    #: The encapsulated content type ("data" for a profile).
    content_type: str = "data"
    #: How many SignerInfos the CMS holds (only the first is checked).
    signer_count: int = 1
    source: str = "<bytes>"


def is_cms(data: bytes) -> bool:
    """True when ``data`` starts like a CMS/PKCS#7 ContentInfo (DER, BER or PEM).

    A sniff, not a parse: :func:`unwrap` decides."""
    head = bytes(data[:64])
    if head[:1] == b"\x30":
        if len(head) < 2:
            return False
        first = head[1]
        if first <= 0x80:  # short form, or BER indefinite length
            offset = 2
        elif first <= 0x84:
            offset = 2 + (first & 0x7F)
        else:
            return False
        return head[offset : offset + len(_PKCS7_OID_PREFIX)] == _PKCS7_OID_PREFIX
    stripped = head.lstrip()
    return stripped.startswith((b"-----BEGIN PKCS7-----", b"-----BEGIN CMS-----"))


def unwrap(data: bytes, *, source: str = "<bytes>") -> SignedProfile:
    """Parse a CMS SignedData (DER, BER, or PEM-armoured) and return the signed content,
    the certificates and the signer's details. Nothing is verified here: see :func:`verify`.

    Raises :class:`CMSError` naming ``source`` when ``data`` is not a well-formed
    SignedData with its content attached."""
    where = Location(source)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CMSError(f"expected bytes, got {type(data).__name__}", location=where)
    raw = bytes(data)
    if len(raw) > MAX_CMS_BYTES:
        raise CMSError(
            f"is {len(raw)} bytes, over the {MAX_CMS_BYTES} byte limit for a signed profile",
            location=where,
        )
    try:
        return _unwrap(raw, source)
    except CMSError:
        raise
    except Exception as exc:  # asn1crypto raises many kinds: never leak them
        raise CMSError(f"not a valid CMS SignedData: {short_error(exc)}", location=where) from None


def _unwrap(raw: bytes, source: str) -> SignedProfile:
    where = Location(source)
    der = raw
    if not der.strip():
        raise CMSError("is empty, expected a signed profile (CMS SignedData)", location=where)
    if der[:1] != b"\x30":
        match = _PEM_CMS.search(der) if b"-----BEGIN" in der[:4096] else None
        if match is None:
            lead = der.lstrip()[:16]
            if lead.startswith((b"<?xml", b"<plist", b"<!DOCTYPE")):
                what = "an unsigned XML plist"
            elif lead.startswith(b"bplist"):
                what = "an unsigned binary plist"
            else:
                what = "not DER"
            raise CMSError(f"is not CMS SignedData ({what})", location=where)
        try:
            der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            raise CMSError("PEM block is not valid base64", location=where) from None

    parsed = asn1_parser.parse(der, strict=False)
    consumed = len(parsed[3]) + len(parsed[4]) + len(parsed[5])
    trailing = der[consumed:]
    if trailing.strip(b"\x00\r\n\t "):
        raise CMSError(
            f"{len(trailing)} unexpected bytes after the end of the CMS structure",
            location=where,
        )
    info = asn1_cms.ContentInfo.load(der[:consumed], strict=True)
    ctype = info["content_type"].dotted
    if ctype != OID_SIGNED_DATA:
        name = CONTENT_TYPE_NAMES.get(ctype, ctype)
        extra = " (an encrypted message)" if ctype == OID_ENVELOPED_DATA else ""
        raise CMSError(f"holds CMS {name}{extra}, not SignedData", location=where)
    signed = info["content"]

    encap = signed["encap_content_info"]
    econtent_type = encap["content_type"].dotted
    content_obj = encap["content"]
    if isinstance(content_obj, asn1_core.Void) or content_obj is None:
        raise CMSError(
            "the signature is detached: the profile content is not inside the CMS",
            location=where,
            hint="sign with the content attached (openssl cms -sign -nodetach)",
        )
    if content_obj.method == 1:  # BER constructed: chunks that asn1crypto joins one by one
        _at_most(content_obj.contents, MAX_CMS_CHUNKS, "chunks in the signed content", where)
    content = bytes(content_obj)

    certificates: list[Certificate] = []
    cert_set = signed["certificates"]
    if not isinstance(cert_set, asn1_core.Void):
        _at_most(cert_set.contents, MAX_CMS_CERTIFICATES, "certificates", where)
        for index, choice in enumerate(cert_set, start=1):
            if choice.name != "certificate":
                continue  # attribute certificates and the like play no part here
            cert_der = choice.chosen.dump()
            try:
                cert = x509.load_der_x509_certificate(cert_der)
                check_parsed(cert)  # every field, key included: it parses lazily
            except PARSE_ERRORS as exc:
                raise CMSError(
                    f"certificate {index} in the CMS cannot be parsed: {short_error(exc)}",
                    location=where,
                ) from None
            certificates.append(Certificate(cert, der=cert_der, origin=where))

    signer_infos = signed["signer_infos"]
    _at_most(signer_infos.contents, MAX_CMS_SET_ITEMS, "SignerInfos", where)
    if len(signer_infos) == 0:
        raise CMSError("the CMS SignedData has no signer", location=where)
    si = signer_infos[0]
    sid = si["sid"]
    sid_issuer: bytes | None = None
    sid_serial: int | None = None
    sid_keyid: bytes | None = None
    if sid.name == "issuer_and_serial_number":
        sid_issuer = sid.chosen["issuer"].dump()
        if len(sid_issuer) > _MAX_NAME_BYTES:
            raise CMSError(
                f"the signer identifier's issuer name is {len(sid_issuer)} bytes, over the "
                f"{_MAX_NAME_BYTES} byte limit",
                location=where,
            )
        sid_serial = int(sid.chosen["serial_number"].native)
    elif sid.name == "subject_key_identifier":
        sid_keyid = bytes(sid.chosen.native)
    else:  # pragma: no cover - asn1crypto knows no third choice
        raise CMSError(f"unknown signer identifier {sid.name}", location=where)

    digest_oid = si["digest_algorithm"]["algorithm"].dotted
    sig_alg = si["signature_algorithm"]
    signature_oid = sig_alg["algorithm"].dotted
    params = sig_alg["parameters"]
    params_der = None if isinstance(params, asn1_core.Void) else params.dump()
    signature = bytes(si["signature"].native)

    signed_attrs = si["signed_attrs"]
    attrs_der: bytes | None = None
    message_digest: bytes | None = None
    attr_ctype: str | None = None
    signing_time: dt.datetime | None = None
    if not isinstance(signed_attrs, asn1_core.Void):
        _at_most(signed_attrs.contents, MAX_CMS_SET_ITEMS, "signed attributes", where)
        for attr in signed_attrs:
            values = attr["values"]
            _at_most(values.contents, MAX_CMS_SET_ITEMS, "values in one signed attribute", where)
        attrs_der = _attributes_as_set(signed_attrs)
        seen: set[str] = set()
        for attr in signed_attrs:
            kind = attr["type"].dotted
            if kind in SINGLE_ATTRIBUTES and kind in seen:
                raise CMSError(
                    f"the signed attribute {SINGLE_ATTRIBUTES[kind]} appears twice",
                    location=where,
                )
            seen.add(kind)
            if kind == OID_MESSAGE_DIGEST:
                message_digest = _single_value(attr, "messageDigest", where)
                message_digest = bytes(cast(Any, message_digest).native)
            elif kind == OID_CONTENT_TYPE:
                attr_ctype = str(_single_value(attr, "contentType", where).dotted)
            elif kind == OID_SIGNING_TIME:
                when = _single_value(attr, "signingTime", where).native
                if isinstance(when, dt.datetime):
                    signing_time = as_utc(when)

    signer_info = SignerInfo(
        sid_kind=sid.name,
        sid_issuer=sid_issuer,
        sid_serial=sid_serial,
        sid_key_identifier=sid_keyid,
        digest_oid=digest_oid,
        signature_oid=signature_oid,
        signature_parameters=params_der,
        signature=signature,
        signed_attributes=attrs_der,
        message_digest=message_digest,
        content_type_attribute=attr_ctype,
    )
    return SignedProfile(
        content=content,
        certificates=tuple(certificates),
        digest_algorithm=digest_name(digest_oid),
        signature_algorithm=SIGNATURE_OIDS.get(signature_oid, (signature_oid, "", None))[0],
        signing_time=signing_time,
        has_signed_attributes=attrs_der is not None,
        raw=raw,
        signer_info=signer_info,
        content_type=CONTENT_TYPE_NAMES.get(econtent_type, econtent_type),
        signer_count=len(signer_infos),
        source=source,
    )


def _at_most(contents: bytes | None, limit: int, what: str, where: Location) -> None:
    """Refuse when ``contents`` (a constructed value's inside) holds more than ``limit``
    elements, before asn1crypto parses them one by one."""
    if contents and _count_elements(contents, limit) > limit:
        raise CMSError(
            f"the CMS holds more than {limit} {what}, over the limit",
            location=where,
            hint="a signed profile normally holds a handful; see docs/limits.md",
        )


def _count_elements(data: bytes, limit: int) -> int:
    """How many BER elements follow each other in ``data``, counting no further than
    ``limit + 1``. Definite lengths are skipped in O(1); an indefinite-length element is
    scanned to its end-of-contents, and its parts count against ``limit`` too, so the work
    is bounded by ``limit`` whatever the input. Malformed bytes stop the count: asn1crypto
    reports them when it parses."""
    count = 0
    # A stack of open indefinite-length elements; the scan ends when it is empty at the top.
    depth = 0
    pos, end = 0, len(data)
    while pos < end and count <= limit:
        if data[pos] == 0 and pos + 1 < end and data[pos + 1] == 0 and depth:
            depth -= 1  # end-of-contents of an indefinite-length element
            pos += 2
            continue
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:  # high tag number: base-128 digits
            while pos < end and data[pos] & 0x80:
                pos += 1
            pos += 1
        if pos >= end:
            break
        first = data[pos]
        pos += 1
        count += 1
        if first == 0x80:  # indefinite length: its parts follow, then 00 00
            depth += 1
            continue
        if first & 0x80:
            n = first & 0x7F
            if n > 8 or pos + n > end:
                break
            length = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        else:
            length = first
        pos += length
    return count


def _single_value(attr: Any, name: str, where: Location) -> Any:
    values = attr["values"]
    if len(values) != 1:
        raise CMSError(
            f"the signed attribute {name} has {len(values)} values, expected one", location=where
        )
    return values[0]


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _attributes_as_set(signed_attrs: Any) -> bytes:
    """The signed attributes as signed: the [0] IMPLICIT tag replaced by SET (0x31)."""
    encoded = bytes(signed_attrs.dump())
    if len(encoded) >= 2 and encoded[1] != 0x80:
        return b"\x31" + encoded[1:]
    # Indefinite length (BER): the signer signed the DER form; rebuild the SET's header
    # around the attributes' own encodings.
    body = b"".join(bytes(attr.dump()) for attr in signed_attrs)
    return b"\x31" + _der_length(len(body)) + body
