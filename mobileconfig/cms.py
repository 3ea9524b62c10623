"""CMS for profiles: sign, unwrap, verify, encrypt and decrypt. The only module that
builds or parses CMS.

Signing
    :func:`sign` makes a DER CMS SignedData with the profile attached byte for byte
    (``PKCS7Options.Binary``: LF stays LF), SHA-256 by default and never SHA-1, the signer's
    certificate and every certificate of its chain included. Signed attributes are
    contentType, signingTime and messageDigest; S/MIME capabilities are left out
    (``PKCS7Options.NoCapabilities``), since a profile is not mail. A :class:`Signer` is
    loaded once (PKCS#12 or PEM) and reused: signing does not parse anything again.

Reading
    :func:`unwrap` parses DER or BER (indefinite lengths, chunked content) SignedData with
    asn1crypto, since cryptography has no public API to read or verify CMS, and keeps the
    exact signed bytes. :func:`verify` checks the messageDigest attribute against the
    content, the signature over the DER of the signed attributes (re-tagged as a SET) or
    over the content when there are none, then the signer's chain with
    :func:`mobileconfig.pki.chains.verify_chain`. RSA PKCS#1 v1.5, RSA-PSS, ECDSA and
    Ed25519 signatures; SHA-1 (reported as a warning), SHA-224, SHA-256, SHA-384 and SHA-512
    digests. The result is :class:`Verification`, whose ``status`` is what a device would
    show: ``trusted`` (Verified), ``untrusted`` (Not Verified / Unverified: the signature is
    sound but the signer does not chain to a trusted root, or has expired) or ``invalid``
    (the profile or its signature was changed, or cannot be checked).

    Only the first SignerInfo is checked; Apple's tools and every sample seen write one.
    Signed attributes are checked as they were sent: when they are not themselves DER
    (a BER signer would have signed a DER re-encoding), their SET is rebuilt around the
    attributes' own bytes.

    Policy for real signers: Apple's Developer ID and other real signers carry critical
    Apple-private extensions (1.2.840.113635.100.6.*). A strict RFC 5280 check refuses a
    certificate with an unknown critical extension; devices do not, so the chain check
    (``verify_chain``'s default policy) accepts those extensions and only those.

Encryption
    :func:`encrypt_payload_content` wraps the serialized ``PayloadContent`` plist in CMS
    EnvelopedData to an RSA device certificate (RSA PKCS#1 v1.5 key transport, which is what
    cryptography writes). Which content ciphers every device accepts is unverified: the
    default is AES-256-CBC, AES-128-CBC is available, and nothing else is offered.
    :func:`decrypt` opens it again.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from asn1crypto import algos as asn1_algos  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from mobileconfig.errors import CMSError, IdentityError, Location, MobileconfigError
from mobileconfig.findings import Finding, make_finding
from mobileconfig.pki.certs import PARSE_ERRORS, Certificate, check_parsed, load_certificates

if TYPE_CHECKING:
    from mobileconfig.pki.chains import ChainResult, Policy

__all__ = [
    "MAX_CMS_BYTES",
    "MAX_CMS_CERTIFICATES",
    "MAX_CMS_CHUNKS",
    "MAX_CMS_SET_ITEMS",
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

#: Digests :func:`sign` offers. SHA-1 is read, never written.
Digest = Literal["sha256", "sha384", "sha512"]
#: Content ciphers :func:`encrypt_payload_content` offers (CBC mode).
Cipher = Literal["aes256", "aes128"]
#: What :func:`verify` concludes, in the device's terms: Verified, Not Verified, broken.
Status = Literal["trusted", "untrusted", "invalid"]
#: Private keys that can sign a profile.
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

#: A signer expiring within this is reported (MC203).
EXPIRY_WARNING = dt.timedelta(days=30)

_SIGN_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_SIGN_OPTIONS = (pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities)

_OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
_OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
_OID_DATA = "1.2.840.113549.1.7.1"
_OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_OID_SIGNING_TIME = "1.2.840.113549.1.9.5"

#: Signed attributes that RFC 5652 allows once, and that verify() reads.
_SINGLE_ATTRIBUTES = {
    _OID_CONTENT_TYPE: "contentType",
    _OID_MESSAGE_DIGEST: "messageDigest",
    _OID_SIGNING_TIME: "signingTime",
}

_CONTENT_TYPE_NAMES = {
    "1.2.840.113549.1.7.1": "data",
    "1.2.840.113549.1.7.2": "signedData",
    "1.2.840.113549.1.7.3": "envelopedData",
    "1.2.840.113549.1.7.5": "digestedData",
    "1.2.840.113549.1.7.6": "encryptedData",
    "1.2.840.113549.1.9.16.1.2": "authData",
    "1.2.840.113549.1.9.16.1.23": "authEnvelopedData",
}

_DIGEST_OIDS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "1.2.840.113549.2.5": "md5",
    "1.2.840.113549.2.2": "md2",
}

# Signature algorithm OID -> (name, key family, digest implied by the OID or None).
_SIGNATURE_OIDS: dict[str, tuple[str, str, str | None]] = {
    "1.2.840.113549.1.1.1": ("rsaEncryption", "rsa", None),
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "rsa", "sha1"),
    "1.3.14.3.2.29": ("sha1WithRSAEncryption", "rsa", "sha1"),
    "1.2.840.113549.1.1.14": ("sha224WithRSAEncryption", "rsa", "sha224"),
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", "rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", "rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", "rsa", "sha512"),
    "1.2.840.113549.1.1.10": ("RSASSA-PSS", "rsa-pss", None),
    "1.2.840.10045.2.1": ("id-ecPublicKey", "ec", None),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "ec", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa-with-SHA224", "ec", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", "ec", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", "ec", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", "ec", "sha512"),
    "1.3.101.112": ("Ed25519", "ed25519", None),
    "1.2.840.10040.4.1": ("id-dsa", "dsa", None),
    "1.2.840.10040.4.3": ("dsa-with-SHA1", "dsa", "sha1"),
}

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

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


# -- small helpers --------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _date(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _who(cert: Certificate) -> str:
    return f"'{cert.display_name}'"


def _spki(key: SigningKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# -- signer ---------------------------------------------------------------------------


class Signer:
    """A signing identity: the certificate, its private key and its chain (intermediates,
    and the root only if it was given). Load it once per process and reuse it.

    Its ``repr`` shows the certificate's subject and nothing else.
    """

    __slots__ = ("_chain_x509", "_key", "certificate", "chain", "source")

    def __init__(
        self,
        certificate: Certificate,
        key: SigningKey,
        chain: Sequence[Certificate] = (),
        *,
        source: str = "<signer>",
    ) -> None:
        where = Location(source)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise IdentityError(
                f"a {type(key).__name__} key cannot sign profiles",
                location=where,
                hint="use an RSA (2048 bits or more) or EC P-256/P-384 key",
            )
        if _spki(key) != certificate.spki_der:
            raise IdentityError(
                f"the private key does not belong to the certificate {_who(certificate)}",
                location=where,
                hint="give the key that was used to request this certificate",
            )
        self.certificate = certificate
        self._key: SigningKey = key
        seen = {certificate.sha256}
        kept: list[Certificate] = []
        for cert in chain:
            if cert.sha256 not in seen:
                seen.add(cert.sha256)
                kept.append(cert)
        self.chain: tuple[Certificate, ...] = tuple(kept)
        self.source = source
        self._chain_x509 = tuple(c.x509 for c in self.chain)

    def __repr__(self) -> str:
        return f"<Signer {self.certificate.subject_text!r}>"

    @property
    def key(self) -> SigningKey:
        """The private key (never shown by ``repr``)."""
        return self._key

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | None, *, source: str) -> Signer:
        """The identity in a PKCS#12 (.p12/.pfx): the key, the certificate that matches it,
        and the file's other certificates as the chain."""
        where = Location(source)
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except UnsupportedAlgorithm:
            raise IdentityError(
                "the PKCS#12 uses an encryption this OpenSSL cannot read",
                location=where,
                hint="export it again with AES-256 or 3DES",
            ) from None
        except (ValueError, TypeError):
            raise IdentityError(
                "wrong password for the PKCS#12 (or it is corrupt)", location=where
            ) from None
        if key is None:
            raise IdentityError("the PKCS#12 holds no private key", location=where)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise IdentityError(
                f"the PKCS#12 holds a {type(key).__name__} key, which cannot sign profiles",
                location=where,
                hint="use an RSA or EC key",
            )
        certs = ([cert] if cert is not None else []) + list(extra)
        if not certs:
            raise IdentityError("the PKCS#12 holds no certificate", location=where)
        return cls._assemble(key, [Certificate(c, origin=where) for c in certs], source)

    @classmethod
    def from_pem(
        cls,
        cert_pem: bytes,
        key_pem: bytes,
        chain_pem: bytes | None = None,
        *,
        key_password: bytes | None = None,
        source: str,
    ) -> Signer:
        """The identity from PEM files. ``cert_pem`` may be a full chain (leaf and
        intermediates, as ACME clients write it): the certificate matching the key signs,
        the others join ``chain_pem``'s as the chain."""
        where = Location(source)
        try:
            certs = load_certificates(cert_pem, source=source)
            if chain_pem:
                certs += load_certificates(chain_pem, source=f"{source} (chain)")
        except MobileconfigError as exc:
            raise IdentityError(
                exc.message, location=exc.location or where, hint=exc.hint
            ) from None
        key = _load_private_key(key_pem, key_password, where)
        return cls._assemble(key, certs, source)

    @classmethod
    def _assemble(cls, key: SigningKey, certs: list[Certificate], source: str) -> Signer:
        spki = _spki(key)
        for i, cert in enumerate(certs):
            if cert.spki_der == spki:
                return cls(cert, key, certs[:i] + certs[i + 1 :], source=source)
        raise IdentityError(
            f"the private key does not belong to the certificate {_who(certs[0])}",
            location=Location(source),
            hint="give the key that was used to request this certificate",
        )

    # -- checks -----------------------------------------------------------------------
    def check(
        self, at: dt.datetime | None = None, *, expiry_warning: dt.timedelta = EXPIRY_WARNING
    ) -> list[Finding]:
        """Findings about signing with this certificate at ``at``: expired or not yet valid
        (MC201, MC202: errors), expiring within ``expiry_warning`` (MC203: warning), a
        keyUsage without digitalSignature (MC204: error)."""
        return _signer_findings(self.certificate, _utc(at) if at else _now(), expiry_warning)

    def _builder(self, content: bytes, digest: str) -> pkcs7.PKCS7SignatureBuilder:
        # Built per call, data first: PKCS7SignatureBuilder.set_data() drops certificates
        # added before it (cryptography 50), so a prepared builder cannot be reused.
        builder = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(content)
            .add_signer(self.certificate.x509, self._key, _SIGN_HASHES[digest]())
        )
        for cert in self._chain_x509:
            builder = builder.add_certificate(cert)
        return builder


def _load_private_key(data: bytes, password: bytes | None, where: Location) -> SigningKey:
    pem = b"-----BEGIN" in data
    try:
        if pem:
            key = serialization.load_pem_private_key(data, password)
        else:
            key = serialization.load_der_private_key(data, password)
    except TypeError as exc:
        if password is None:
            raise IdentityError(
                "the private key is encrypted and no password was given", location=where
            ) from None
        if "not encrypted" in str(exc):
            raise IdentityError(
                "a password was given, but the private key is not encrypted", location=where
            ) from None
        raise IdentityError("cannot read the private key", location=where) from None
    except UnsupportedAlgorithm:
        raise IdentityError(
            "the private key uses an algorithm this OpenSSL cannot read", location=where
        ) from None
    except ValueError:
        if password is not None:
            raise IdentityError(
                "wrong password for the private key (or it is corrupt)", location=where
            ) from None
        raise IdentityError(
            "cannot read the private key (expected PEM or DER, PKCS#8 or traditional)",
            location=where,
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise IdentityError(
            f"a {type(key).__name__} key cannot sign profiles",
            location=where,
            hint="use an RSA (2048 bits or more) or EC P-256/P-384 key",
        )
    return key


def _signer_findings(
    cert: Certificate, at: dt.datetime, expiry_warning: dt.timedelta
) -> list[Finding]:
    ref = cert.ref("signer certificate")
    out: list[Finding] = []
    if at > cert.not_after:
        out.append(
            make_finding(
                "MC201",
                f"the signer certificate {_who(cert)} expired on {_date(cert.not_after)}",
                certificate=ref,
            )
        )
    elif at < cert.not_before:
        out.append(
            make_finding(
                "MC202",
                f"the signer certificate {_who(cert)} is not valid before {_date(cert.not_before)}",
                certificate=ref,
            )
        )
    elif cert.not_after - at <= expiry_warning:
        days = (cert.not_after - at).days
        out.append(
            make_finding(
                "MC203",
                f"the signer certificate {_who(cert)} expires on {_date(cert.not_after)}, "
                f"in {days} day{'s' if days != 1 else ''}",
                certificate=ref,
            )
        )
    ku = cert.key_usage
    if ku is not None and not ku.digital_signature:
        out.append(
            make_finding(
                "MC204",
                f"the signer certificate {_who(cert)} has a keyUsage without digitalSignature",
                certificate=ref,
            )
        )
    return out


# -- signing --------------------------------------------------------------------------


def sign(content: bytes, signer: Signer, *, digest: Digest = "sha256") -> bytes:
    """DER CMS SignedData holding ``content`` byte for byte, signed by ``signer`` with
    ``digest``, carrying the signer's certificate and its chain."""
    if digest not in _SIGN_HASHES:
        raise CMSError(
            f"cannot sign with digest {digest!r}: use sha256, sha384 or sha512 "
            "(SHA-1 is never used for signing)"
        )
    try:
        return signer._builder(content, digest).sign(serialization.Encoding.DER, _SIGN_OPTIONS)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CMSError(f"cannot sign: {_short(exc)}", location=Location(signer.source)) from None


# -- reading --------------------------------------------------------------------------


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
        raise CMSError(f"not a valid CMS SignedData: {_short(exc)}", location=where) from None


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
    if ctype != _OID_SIGNED_DATA:
        name = _CONTENT_TYPE_NAMES.get(ctype, ctype)
        extra = " (an encrypted message)" if ctype == _OID_ENVELOPED_DATA else ""
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
                    f"certificate {index} in the CMS cannot be parsed: {_short(exc)}",
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
            if kind in _SINGLE_ATTRIBUTES and kind in seen:
                raise CMSError(
                    f"the signed attribute {_SINGLE_ATTRIBUTES[kind]} appears twice",
                    location=where,
                )
            seen.add(kind)
            if kind == _OID_MESSAGE_DIGEST:
                message_digest = _single_value(attr, "messageDigest", where)
                message_digest = bytes(cast(Any, message_digest).native)
            elif kind == _OID_CONTENT_TYPE:
                attr_ctype = str(_single_value(attr, "contentType", where).dotted)
            elif kind == _OID_SIGNING_TIME:
                when = _single_value(attr, "signingTime", where).native
                if isinstance(when, dt.datetime):
                    signing_time = _utc(when)

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
        digest_algorithm=_digest_name(digest_oid),
        signature_algorithm=_SIGNATURE_OIDS.get(signature_oid, (signature_oid, "", None))[0],
        signing_time=signing_time,
        has_signed_attributes=attrs_der is not None,
        raw=raw,
        signer_info=signer_info,
        content_type=_CONTENT_TYPE_NAMES.get(econtent_type, econtent_type),
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


def _digest_name(oid: str) -> str:
    if oid in _DIGEST_OIDS:
        return _DIGEST_OIDS[oid]
    # Some old tools write a signature OID in digestAlgorithm; take the digest it implies.
    implied = _SIGNATURE_OIDS.get(oid, ("", "", None))[2]
    return implied or oid


# -- verifying ------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found. ``status``: ``trusted`` (the device shows Verified),
    ``untrusted`` (Not Verified / Unverified: sound signature, chain not trusted or signer
    expired) or ``invalid`` (changed after signing, or not checkable)."""

    status: Status
    #: One sentence a user can act on.
    reason: str
    signer: Certificate | None
    #: The path from the signer to the trusted root when trusted; otherwise as far as it was
    #: built (empty when no anchors were given or the signature is invalid).
    chain: tuple[Certificate, ...]
    findings: tuple[Finding, ...]
    digest_algorithm: str
    signature_algorithm: str

    @property
    def trusted(self) -> bool:
        return self.status == "trusted"

    @property
    def valid(self) -> bool:
        """True when the signature itself is sound (trusted or not)."""
        return self.status != "invalid"


def verify(
    signed: SignedProfile,
    *,
    anchors: Sequence[Certificate] = (),
    at: dt.datetime | None = None,
    policy: Policy | None = None,
) -> Verification:
    """Check ``signed``'s signature, then its signer's chain against ``anchors`` at ``at``
    (default: now). Never raises for a bad profile: the answer is in the result.

    ``policy`` is passed to :func:`mobileconfig.pki.chains.verify_chain` (its default
    accepts the Apple-private critical extensions real signers carry)."""
    when = _utc(at) if at is not None else _now()
    info = signed.signer_info
    digest = signed.digest_algorithm
    sig_name = signed.signature_algorithm

    def invalid(
        reason: str, code: str = "MC206", signer: Certificate | None = None
    ) -> Verification:
        finding = make_finding(
            code, reason, certificate=signer.ref("signer certificate") if signer else None
        )
        return Verification("invalid", reason, signer, (), (finding,), digest, sig_name)

    findings: list[Finding] = []
    if digest not in _HASHES:
        return invalid(f"the signature uses the digest {digest}, which is not supported.", "MC209")
    family = _SIGNATURE_OIDS.get(info.signature_oid, (info.signature_oid, "", None))[1]
    if family not in ("rsa", "rsa-pss", "ec", "ed25519"):
        return invalid(f"the signature algorithm {sig_name} is not supported.", "MC209")

    # 1. The content against the messageDigest attribute.
    if info.signed_attributes is not None:
        if info.message_digest is None:
            return invalid("the signed attributes have no messageDigest.")
        actual = hashlib.new(digest, signed.content).digest()
        if not hmac.compare_digest(actual, info.message_digest):
            return invalid(
                "the content does not match the digest that was signed: "
                "the profile was changed after signing."
            )
        if info.content_type_attribute is not None and info.content_type_attribute != (
            _oid_of_content_type(signed.content_type)
        ):
            return invalid("the signed contentType does not match the content's type.")
        to_verify = info.signed_attributes
    else:
        to_verify = signed.content

    # 2. The signer certificate, and the signature with its key.
    candidates = [c for c in signed.certificates if _matches_sid(c, info)]
    if not candidates:
        return invalid(
            f"the signer certificate ({info.signer_description}) is not in the profile.",
            "MC208",
        )
    signer: Certificate | None = None
    problem = ""
    for cert in candidates:
        problem = _check_signature(cert, info, digest, to_verify)
        if not problem:
            signer = cert
            break
    if signer is None:
        return invalid(
            f"the signature does not verify with the key of {_who(candidates[0])}: {problem}",
            signer=candidates[0],
        )

    # 3. Sound signature: now trust.
    pss_hash = _pss_hash_name(info) if family == "rsa-pss" else None
    if "sha1" in (digest, pss_hash, _SIGNATURE_OIDS[info.signature_oid][2]):
        findings.append(
            make_finding(
                "MC205",
                f"the profile is signed with SHA-1 ({sig_name}, digest {digest})",
                certificate=signer.ref("signer certificate"),
            )
        )
    own = _signer_findings(signer, when, EXPIRY_WARNING)
    findings.extend(own)
    intermediates = [c for c in signed.certificates if c != signer]
    chain_result = _chain(signer, intermediates, anchors, when, policy)
    if chain_result is not None:
        for f in chain_result.findings:
            about_signer = f.certificate is not None and f.certificate.sha256 == signer.sha256
            if about_signer and f.code in _SAID_BY_SIGNER_CHECKS:
                continue  # MC201-MC203 already say it, naming the signer
            findings.append(f)

    expired = next((f for f in own if f.code in ("MC201", "MC202")), None)
    no_digital_signature = any(f.code == "MC204" for f in own)
    status: Status
    path: tuple[Certificate, ...] = ()
    if expired is not None:
        status = "untrusted"
        reason = f"the signature is valid, but {expired.message} (checked at {_date(when)})."
    elif no_digital_signature:
        status = "untrusted"
        reason = (
            f"the signature is valid, but the signer certificate {_who(signer)} "
            "is not allowed to sign (keyUsage lacks digitalSignature)."
        )
    elif not anchors:
        status = "untrusted"
        reason = "the signature is valid, but no trust anchors were given to check the signer."
    elif chain_result is not None and chain_result.trusted:
        status = "trusted"
        path = tuple(chain_result.path)
        top = path[-1] if path else signer
        reason = (
            f"the signature is valid and the signer {_who(signer)} chains to "
            f"the trusted root {_who(top)}."
        )
    else:
        status = "untrusted"
        why = (chain_result.reason if chain_result is not None else None) or (
            "its chain does not reach a trusted root"
        )
        why = why[:1].lower() + why[1:]
        reason = f"the signature is valid, but the signer {_who(signer)} is not trusted: {why}"
        reason = reason.rstrip(".") + "."
    chain_problem = status == "untrusted" and expired is None and not no_digital_signature
    if chain_problem:
        findings.append(make_finding("MC207", reason, certificate=signer.ref("signer certificate")))
    if chain_result is not None and status != "trusted":
        path = tuple(chain_result.path)
    return Verification(
        status,
        reason,
        signer,
        path,
        tuple(sorted(findings, key=Finding.sort_key)),
        digest,
        sig_name,
    )


#: Chain findings on the signer's own dates, which :func:`_signer_findings` reports.
_SAID_BY_SIGNER_CHECKS = frozenset({"MC103", "MC104", "MC105"})


def _chain(
    signer: Certificate,
    intermediates: Sequence[Certificate],
    anchors: Sequence[Certificate],
    at: dt.datetime,
    policy: Policy | None,
) -> ChainResult | None:
    if not anchors:
        return None
    from mobileconfig.pki.chains import ChainResult, verify_chain

    try:
        return verify_chain(signer, intermediates, anchors, at=at, policy=policy)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # a malformed certificate
        return ChainResult(
            trusted=False,
            path=(signer,),
            findings=(),
            reason=f"its chain cannot be checked ({_short(exc)})",
        )


def _oid_of_content_type(name: str) -> str:
    for oid, known in _CONTENT_TYPE_NAMES.items():
        if known == name:
            return oid
    return name


def _matches_sid(cert: Certificate, info: SignerInfo) -> bool:
    if info.sid_kind == "subject_key_identifier":
        if info.sid_key_identifier is None:
            return False
        ski = cert.subject_key_identifier
        if ski is None:
            try:
                ski = x509.SubjectKeyIdentifier.from_public_key(
                    cast(Any, cert.x509.public_key())
                ).digest
            except (ValueError, TypeError, UnsupportedAlgorithm):
                return False
        return hmac.compare_digest(ski, info.sid_key_identifier)
    if info.sid_serial is None or info.sid_issuer is None:
        return False
    if cert.serial_number != info.sid_serial:
        return False
    if cert.issuer_der == info.sid_issuer:
        return True
    try:  # the same name, encoded differently (RFC 5280 comparison)
        return bool(asn1_x509.Name.load(cert.issuer_der) == asn1_x509.Name.load(info.sid_issuer))
    except Exception:
        return False


def _pss_hash_name(info: SignerInfo) -> str | None:
    try:
        params = asn1_algos.RSASSAPSSParams.load(info.signature_parameters or b"\x30\x00")
        return _digest_name(params["hash_algorithm"]["algorithm"].dotted)
    except Exception:
        return None


def _check_signature(cert: Certificate, info: SignerInfo, digest: str, data: bytes) -> str:
    """An empty string when ``cert``'s key made the signature over ``data``, else why not."""
    name, family, _implied = _SIGNATURE_OIDS[info.signature_oid]
    algorithm = _HASHES[digest]()
    try:
        key = cert.public_key
        if family in ("rsa", "rsa-pss"):
            if not isinstance(key, rsa.RSAPublicKey):
                return f"{name} needs an RSA key, the certificate has {cert.key_description}."
            if family == "rsa-pss":
                pss = _pss_padding(info.signature_parameters)
                if isinstance(pss, str):
                    return pss
                pad, algorithm = pss
                key.verify(info.signature, data, pad, algorithm)
            else:
                key.verify(info.signature, data, padding.PKCS1v15(), algorithm)
        elif family == "ec":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return f"{name} needs an EC key, the certificate has {cert.key_description}."
            key.verify(info.signature, data, ec.ECDSA(algorithm))
        elif family == "ed25519":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                return f"{name} needs an Ed25519 key, the certificate has {cert.key_description}."
            key.verify(info.signature, data)
        else:  # pragma: no cover - filtered by the caller
            return f"{name} is not supported."
    except InvalidSignature:
        return "the profile or its signature was changed, or the certificate was replaced."
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"the signature cannot be checked ({_short(exc)})."
    return ""


def _pss_padding(params_der: bytes | None) -> tuple[padding.PSS, hashes.HashAlgorithm] | str:
    try:
        params = asn1_algos.RSASSAPSSParams.load(params_der or b"\x30\x00")
        hash_name = _digest_name(params["hash_algorithm"]["algorithm"].dotted)
        mgf = params["mask_gen_algorithm"]
        if mgf["algorithm"].dotted != "1.2.840.113549.1.1.8":
            return "RSASSA-PSS with a mask generation other than MGF1 is not supported."
        mgf_hash = _digest_name(mgf["parameters"]["algorithm"].dotted)
        salt = int(params["salt_length"].native)
    except Exception:
        return "the RSASSA-PSS parameters cannot be read."
    if hash_name not in _HASHES or mgf_hash not in _HASHES:
        return f"RSASSA-PSS with {hash_name}/{mgf_hash} is not supported."
    pad = padding.PSS(mgf=padding.MGF1(_HASHES[mgf_hash]()), salt_length=salt)
    return pad, _HASHES[hash_name]()


# -- public roots ---------------------------------------------------------------------


@functools.cache
def _public_roots() -> tuple[Certificate, ...]:
    try:
        import certifi
    except ImportError:
        raise MobileconfigError(
            "checking against public roots needs the 'certifi' package",
            hint="pip install certifi, or give the roots to trust yourself",
        ) from None
    path = certifi.where()
    with open(path, "rb") as handle:
        data = handle.read()
    with warnings.catch_warnings():
        # The Mozilla bundle has a root or two with a non-positive serial number.
        warnings.simplefilter("ignore")
        return tuple(load_certificates(data, source=path))


def public_roots() -> list[Certificate]:
    """The public roots of the Mozilla bundle shipped by ``certifi`` (an optional
    dependency), parsed once per process. A device's own store differs a little."""
    return list(_public_roots())


# -- encryption -----------------------------------------------------------------------

_CIPHERS: dict[str, type[algorithms.AES128] | type[algorithms.AES256]] = {
    "aes256": algorithms.AES256,
    "aes128": algorithms.AES128,
}


def encrypt_payload_content(
    plist_bytes: bytes, recipient: Certificate, *, cipher: Cipher = "aes256"
) -> bytes:
    """DER CMS EnvelopedData of ``plist_bytes`` (the serialized PayloadContent array) for
    ``recipient``'s RSA key, with AES-256-CBC (default) or AES-128-CBC content encryption.
    Which ciphers every device accepts is unverified."""
    if cipher not in _CIPHERS:
        raise CMSError(f"unknown cipher {cipher!r}: use aes256 or aes128")
    if not isinstance(recipient.public_key, rsa.RSAPublicKey):
        raise CMSError(
            f"cannot encrypt to {_who(recipient)}: it has an {recipient.key_description} key, "
            "and encrypted profiles need the device's RSA certificate"
        )
    try:
        return (
            pkcs7.PKCS7EnvelopeBuilder()
            .set_data(bytes(plist_bytes))
            .add_recipient(recipient.x509)
            .set_content_encryption_algorithm(_CIPHERS[cipher])
            .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CMSError(f"cannot encrypt to {_who(recipient)}: {_short(exc)}") from None


def decrypt(enveloped: bytes, certificate: Certificate, key: rsa.RSAPrivateKey) -> bytes:
    """The plaintext of a DER CMS EnvelopedData addressed to ``certificate``."""
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CMSError("cannot decrypt: encrypted profiles are opened with an RSA key")
    if not isinstance(certificate.public_key, rsa.RSAPublicKey) or (
        _spki(key) != certificate.spki_der
    ):
        raise CMSError(f"cannot decrypt: the key does not belong to {_who(certificate)}")
    try:
        return pkcs7.pkcs7_decrypt_der(bytes(enveloped), certificate.x509, key, [])
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        text = _short(exc)
        if "No recipient" in text:
            raise CMSError(
                f"cannot decrypt: the content is not encrypted to {_who(certificate)}"
            ) from None
        raise CMSError(f"cannot decrypt: {text}") from None
