"""Distinguished names compared the way RFC 5280 §7.1 and Apple's verifier compare them.

A certificate names its issuer; the issuer's certificate carries the same name as its
subject. "The same" is not byte equality: RFC 5280 §7.1 compares attribute values encoded as
PrintableString or UTF8String after the LDAP string preparation of RFC 4518, so two names
that differ only in case, in leading or trailing spaces, in runs of inner spaces, or in
which of the two string types encodes a value, are one name. Apple's verifier normalises
names the same way before it looks an issuer up.

:func:`name_key` turns the DER of a Name into a hashable key under which equal names
collide. What it does to each attribute value:

- PrintableString, UTF8String, TeletexString, BMPString, UniversalString and IA5String are
  decoded to text, put in Unicode normal form NFKC, case-folded, and their whitespace
  collapsed (leading and trailing removed, inner runs made one space). The string type is
  forgotten, so a PrintableString and a UTF8String with the same text match.
- Any other value (a number, a bit string) is kept as its exact DER.
- The attributes of a multi-valued RDN are compared as a set; the order of the RDNs counts
  (a name with its RDNs in another order is another name, PKITS 4.3.2).

This is RFC 4518 without its character prohibition and bidi steps, which only ever turn a
match into "no match" for characters no CA puts in a name. A Name that is not well-formed
DER is its own key (its bytes), so it matches only itself.

:class:`NameTexts` writes a Name as text, the exact text :attr:`Certificate.subject_text
<mobileconfig.pki.certs.Certificate.subject_text>` gives, without building cryptography's
Name objects for the common case (see :class:`NameTexts`).
"""

from __future__ import annotations

import re
import unicodedata

from cryptography import x509

from mobileconfig.pki.certs import _name_text

__all__ = ["NameKey", "NameKeys", "NameTexts", "name_key", "same_name"]

#: A normalised name: one tuple per RDN, each a sorted tuple of (type OID, value) pairs.
NameKey = tuple[object, ...]

# ASN.1 universal tags of the string types that get case-insensitive matching.
_TEXT_TAGS: dict[int, str] = {
    0x0C: "utf-8",  # UTF8String
    0x13: "ascii",  # PrintableString
    0x14: "latin-1",  # TeletexString (T.61); Latin-1 is what CAs actually put there
    0x16: "ascii",  # IA5String (emailAddress, domainComponent)
    0x1C: "utf-32-be",  # UniversalString
    0x1E: "utf-16-be",  # BMPString
}


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the DER element at ``pos``; IndexError or
    ValueError when it runs past the data."""
    tag = der[pos]
    length = der[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("unsupported length")
        length = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    end = pos + length
    if end > len(der):
        raise ValueError("element runs past the data")
    return tag, pos, end


def _prepare(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split())


def _value(der: bytes, pos: int, end: int) -> object:
    tag, start, stop = _tlv(der, pos)
    if stop != end:
        raise ValueError("trailing bytes in an attribute")
    codec = _TEXT_TAGS.get(tag)
    if codec is None:
        return der[pos:end]
    try:
        return _prepare(der[start:stop].decode(codec))
    except UnicodeDecodeError:
        return der[pos:end]


def _rdn(der: bytes, pos: int, end: int) -> tuple[tuple[bytes, object], ...]:
    attributes: list[tuple[bytes, object]] = []
    while pos < end:
        tag, atv_pos, atv_end = _tlv(der, pos)  # AttributeTypeAndValue: SEQUENCE
        if tag != 0x30:
            raise ValueError("not an attribute")
        tag, oid_start, oid_end = _tlv(der, atv_pos)
        if tag != 0x06:
            raise ValueError("attribute type is not an OID")
        attributes.append((der[oid_start:oid_end], _value(der, oid_end, atv_end)))
        pos = atv_end
    if len(attributes) > 1:  # a multi-valued RDN is a set: its order does not count
        attributes.sort(key=repr)
    return tuple(attributes)


def _parse(der: bytes, memo: dict[bytes, object]) -> NameKey:
    tag, pos, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a Name")
    rdns: list[object] = []
    while pos < end:
        tag, rdn_pos, rdn_end = _tlv(der, pos)  # RelativeDistinguishedName: SET
        if tag != 0x31:
            raise ValueError("not an RDN")
        raw = der[pos:rdn_end]
        rdn = memo.get(raw)
        if rdn is None:
            rdn = memo[raw] = _rdn(der, rdn_pos, rdn_end)
        rdns.append(rdn)
        pos = rdn_end
    return tuple(rdns)


def name_key(der: bytes, memo: dict[bytes, object] | None = None) -> NameKey:
    """The normalised form of the Name encoded as ``der`` (see the module docstring).

    ``memo`` keeps each RDN's normalised form by its DER across calls: the certificates of
    one bundle share most of their RDNs (the organisation, the country)."""
    try:
        return _parse(der, memo if memo is not None else {})
    except (IndexError, ValueError):
        return (der,)


class NameKeys:
    """:func:`name_key` with a memory, for the many names of one bundle: each Name's key
    by its DER, and each RDN's by its DER (certificates share most RDNs)."""

    __slots__ = ("_names", "_rdns")

    def __init__(self) -> None:
        self._names: dict[bytes, NameKey] = {}
        self._rdns: dict[bytes, object] = {}

    def __call__(self, der: bytes) -> NameKey:
        key = self._names.get(der)
        if key is None:
            key = self._names[der] = name_key(der, self._rdns)
        return key


def same_name(a: bytes, b: bytes) -> bool:
    """True when the Names encoded as ``a`` and ``b`` match under RFC 5280 §7.1."""
    return a == b or name_key(a) == name_key(b)


# Values written as they are by RFC 4514 (nothing to escape, nothing printable() changes):
# no leading or trailing space, none of # \ " + , ; < > or a control character. For a
# PrintableString only its own characters, so that a value cryptography might read
# differently always takes the slow path.
_PLAIN_PRINTABLE = re.compile(rb"(?! )[A-Za-z0-9 '()./:=?-]+(?<! )")
_PLAIN_TEXT = re.compile(rb"(?! )[A-Za-z0-9 '()./:=?@_&*-]+(?<! )")
_PLAIN_BY_TAG = {0x13: _PLAIN_PRINTABLE, 0x0C: _PLAIN_TEXT, 0x16: _PLAIN_TEXT}


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


class NameTexts:
    """Names as RFC 4514 text, exactly as :attr:`Certificate.subject_text
    <mobileconfig.pki.certs.Certificate.subject_text>` writes them (cryptography's
    ``rfc4514_string``, made printable), with a memory per RDN.

    A report writes the subject of every certificate of a bundle, and building
    cryptography's Name objects for that costs a fifth of the bundle's signature checks.
    Most RDNs are one attribute whose value needs no escaping, and those are written here
    straight from the DER. Every other RDN is written by cryptography itself (so the text
    is the same by construction), and the first such RDN of each attribute type teaches
    the fast path that type's label. None when the Name cannot be written this way (the
    caller then asks the certificate)."""

    __slots__ = ("_labels", "_rdns")

    def __init__(self) -> None:
        self._labels: dict[bytes, str] = {}  # attribute type OID (DER) -> its RFC 4514 label
        self._rdns: dict[bytes, str] = {}  # RDN (DER) -> its text

    def __call__(self, der: bytes) -> str | None:
        try:
            tag, pos, end = _tlv(der, 0)
            if tag != 0x30 or end != len(der):
                return None
            parts: list[str] = []
            while pos < end:
                tag, rdn_pos, rdn_end = _tlv(der, pos)
                if tag != 0x31:
                    return None
                raw = der[pos:rdn_end]
                text = self._rdns.get(raw)
                if text is None:
                    text = self._rdn(der, rdn_pos, rdn_end, raw)
                    if text is None:
                        return None
                    self._rdns[raw] = text
                parts.append(text)
                pos = rdn_end
        except (IndexError, ValueError):
            return None
        parts.reverse()
        return ",".join(parts)

    def _rdn(self, der: bytes, pos: int, end: int, raw: bytes) -> str | None:
        tag, atv_pos, atv_end = _tlv(der, pos)
        if tag != 0x30 or atv_end != end:  # not exactly one attribute
            return _slow(raw)
        tag, oid_start, oid_end = _tlv(der, atv_pos)
        if tag != 0x06:
            return _slow(raw)
        oid = der[oid_start:oid_end]
        tag, start, stop = _tlv(der, oid_end)
        plain = _PLAIN_BY_TAG.get(tag)
        if stop != atv_end or plain is None or plain.fullmatch(der, start, stop) is None:
            return _slow(raw)
        value = der[start:stop].decode("ascii")
        label = self._labels.get(oid)
        if label is not None:
            return f"{label}={value}"
        text = _slow(raw)
        if text is not None and text.endswith("=" + value):
            self._labels[oid] = text[: -len(value) - 1]
        return text


def _slow(rdn: bytes) -> str | None:
    """One RDN's text, written the way the certificate writes its names (None when
    cryptography cannot read it, or writes it only as a repr)."""
    from_bytes = getattr(x509.Name, "from_bytes", None)  # cryptography 45 and later
    if from_bytes is None:
        return None
    try:
        text = _name_text(from_bytes(b"\x30" + _der_length(len(rdn)) + rdn))
    except ValueError:
        return None
    return None if text.startswith("<") else text  # "<Name(...)>": no RFC 4514 text
