"""Certificates in: PEM (one or many), DER, and PKCS#7 bundles, each parsed once.

A :class:`Certificate` wraps cryptography's object with what the rest of the package
asks of it (fingerprint, names, validity, CA flags, key identifiers), computed once.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtensionOID, NameOID

from mobileconfig.errors import CertificateError, Location
from mobileconfig.files import read_limited
from mobileconfig.findings import CertificateRef, printable

__all__ = [
    "DIGEST_OIDS",
    "MAX_CERTIFICATES_PER_FILE",
    "MAX_CERTIFICATE_FILE",
    "PARSE_ERRORS",
    "Certificate",
    "check_parsed",
    "key_spki_der",
    "load_certificate_file",
    "load_certificates",
    "looks_like_pem",
]

#: Files larger than this are refused before reading (a CA bundle is rarely over 1 MB).
MAX_CERTIFICATE_FILE = 16 * 1024 * 1024
#: Most certificates read from one file (PEM blocks and PKCS#7 bundles alike). The largest
#: real bundles (every public root and intermediate) hold a few thousand.
MAX_CERTIFICATES_PER_FILE = 20_000

#: Digest algorithm OIDs, by the names hashlib and OpenSSL give them (CMS and PKCS#12 read
#: these; a certificate's own signature algorithm is named by cryptography).
DIGEST_OIDS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "1.2.840.113549.2.5": "md5",
    "1.2.840.113549.2.2": "md2",
}

_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_PKCS7_LABELS = {b"PKCS7", b"CMS", b"PKCS #7 SIGNED DATA"}


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Certificate:
    """One X.509 certificate, parsed once, with its facts computed on first use.

    Two objects are equal when their DER encodings are equal (same SHA-256).
    """

    def __init__(
        self,
        cert: x509.Certificate,
        *,
        der: bytes | None = None,
        origin: Location | None = None,
        name: str | None = None,
    ) -> None:
        self.x509 = cert
        self.der = der if der is not None else cert.public_bytes(serialization.Encoding.DER)
        self.origin = origin
        self.name = name  # a name given in the spec, if any

    # -- identity ---------------------------------------------------------------
    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)

    def __repr__(self) -> str:
        return f"<Certificate {self.subject_text!r} sha256:{self.sha256[:16]}>"

    # -- names ------------------------------------------------------------------
    @property
    def subject(self) -> x509.Name:
        return self.x509.subject

    @property
    def issuer(self) -> x509.Name:
        return self.x509.issuer

    @cached_property
    def subject_der(self) -> bytes:
        return self.x509.subject.public_bytes()

    @cached_property
    def issuer_der(self) -> bytes:
        return self.x509.issuer.public_bytes()

    @cached_property
    def subject_text(self) -> str:
        return _name_text(self.x509.subject)

    @cached_property
    def issuer_text(self) -> str:
        return _name_text(self.x509.issuer)

    @cached_property
    def common_name(self) -> str | None:
        return _first(self.x509.subject, NameOID.COMMON_NAME)

    @cached_property
    def issuer_common_name(self) -> str | None:
        return _first(self.x509.issuer, NameOID.COMMON_NAME)

    @cached_property
    def display_name(self) -> str:
        """The subject's CN, else its O or OU, else the whole subject."""
        return (
            self.common_name
            or _first(self.x509.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
            or _first(self.x509.subject, NameOID.ORGANIZATION_NAME)
            or self.subject_text
            or f"certificate {self.sha256[:16]}"
        )

    @property
    def serial_number(self) -> int:
        return self.x509.serial_number

    # -- validity ---------------------------------------------------------------
    @cached_property
    def not_before(self) -> dt.datetime:
        return _utc(self.x509.not_valid_before_utc)

    @cached_property
    def not_after(self) -> dt.datetime:
        return _utc(self.x509.not_valid_after_utc)

    def valid_at(self, at: dt.datetime) -> bool:
        return self.not_before <= at <= self.not_after

    # -- extensions -------------------------------------------------------------
    def _ext(self, oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType] | None:
        try:
            return self.x509.extensions.get_extension_for_oid(oid)
        except x509.ExtensionNotFound:
            return None

    @cached_property
    def basic_constraints(self) -> x509.BasicConstraints | None:
        ext = self._ext(ExtensionOID.BASIC_CONSTRAINTS)
        return (
            ext.value if ext is not None and isinstance(ext.value, x509.BasicConstraints) else None
        )

    @property
    def is_ca(self) -> bool:
        bc = self.basic_constraints
        return bool(bc and bc.ca)

    @property
    def path_length(self) -> int | None:
        bc = self.basic_constraints
        return bc.path_length if bc is not None and bc.ca else None

    @cached_property
    def key_usage(self) -> x509.KeyUsage | None:
        ext = self._ext(ExtensionOID.KEY_USAGE)
        return ext.value if ext is not None and isinstance(ext.value, x509.KeyUsage) else None

    @property
    def key_cert_sign(self) -> bool | None:
        """True/False from keyUsage; None when the certificate has no keyUsage extension."""
        ku = self.key_usage
        return None if ku is None else ku.key_cert_sign

    @cached_property
    def extended_key_usage(self) -> list[x509.ObjectIdentifier] | None:
        ext = self._ext(ExtensionOID.EXTENDED_KEY_USAGE)
        if ext is None or not isinstance(ext.value, x509.ExtendedKeyUsage):
            return None
        return list(ext.value)

    @cached_property
    def subject_key_identifier(self) -> bytes | None:
        ext = self._ext(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        if ext is not None and isinstance(ext.value, x509.SubjectKeyIdentifier):
            return ext.value.digest
        return None

    @cached_property
    def authority_key_identifier(self) -> bytes | None:
        ext = self._ext(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        if ext is not None and isinstance(ext.value, x509.AuthorityKeyIdentifier):
            return ext.value.key_identifier
        return None

    @cached_property
    def dns_names(self) -> list[str]:
        ext = self._ext(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        if ext is None or not isinstance(ext.value, x509.SubjectAlternativeName):
            return []
        return list(ext.value.get_values_for_type(x509.DNSName))

    @cached_property
    def critical_extension_oids(self) -> list[str]:
        return [e.oid.dotted_string for e in self.x509.extensions if e.critical]

    # -- keys and signatures ----------------------------------------------------
    @cached_property
    def public_key(self) -> object:
        return self.x509.public_key()

    @cached_property
    def spki_der(self) -> bytes:
        return self.x509.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @cached_property
    def spki_sha256(self) -> bytes:
        return hashlib.sha256(self.spki_der).digest()

    @cached_property
    def key_type(self) -> str:
        key = self.public_key
        if isinstance(key, rsa.RSAPublicKey):
            return "RSA"
        if isinstance(key, ec.EllipticCurvePublicKey):
            return "EC"
        if isinstance(key, dsa.DSAPublicKey):
            return "DSA"
        if isinstance(key, ed25519.Ed25519PublicKey):
            return "Ed25519"
        if isinstance(key, ed448.Ed448PublicKey):
            return "Ed448"
        return "unknown"

    @cached_property
    def key_bits(self) -> int:
        key = self.public_key
        if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
            return key.key_size
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key.curve.key_size
        if isinstance(key, ed25519.Ed25519PublicKey):
            return 256
        if isinstance(key, ed448.Ed448PublicKey):
            return 456
        return 0

    @cached_property
    def key_description(self) -> str:
        key = self.public_key
        if isinstance(key, ec.EllipticCurvePublicKey):
            return f"EC {key.curve.name}"
        return f"{self.key_type} {self.key_bits}" if self.key_bits else self.key_type

    @cached_property
    def signature_hash(self) -> str | None:
        """Name of the signature's digest ("sha256", "sha1", "md5"), None for EdDSA or unknown."""
        try:
            algo = self.x509.signature_hash_algorithm
        except UnsupportedAlgorithm:
            return _legacy_hash_name(self.x509.signature_algorithm_oid.dotted_string)
        return algo.name if algo is not None else None

    @cached_property
    def signature_algorithm(self) -> str:
        oid = self.x509.signature_algorithm_oid
        return getattr(oid, "_name", None) or oid.dotted_string

    def verify_issued_by(self, issuer: Certificate) -> bool:
        """True when ``issuer``'s name is this certificate's issuer and its key made the
        signature. Legacy digests (SHA-1, MD5), which cryptography no longer verifies on
        certificates, are checked with the raw public-key operation instead, so a weak
        link can still be told apart from a wrong one."""
        try:
            self.x509.verify_directly_issued_by(issuer.x509)
        except (InvalidSignature, TypeError):
            return False
        except (ValueError, UnsupportedAlgorithm):
            return self.issuer_der == issuer.subject_der and self.signed_by_key_of(issuer)
        return True

    def _signature_hash_object(self) -> hashes.HashAlgorithm | None:
        try:
            return self.x509.signature_hash_algorithm
        except UnsupportedAlgorithm:
            legacy = _legacy_hash_name(self.x509.signature_algorithm_oid.dotted_string)
            weak = {"md5": hashes.MD5, "sha1": hashes.SHA1}
            factory = weak.get(legacy or "")
            return factory() if factory else None

    def signed_by_key_of(self, issuer: Certificate) -> bool:
        """True when ``issuer``'s public key verifies this certificate's signature."""
        from cryptography.hazmat.primitives.asymmetric import padding

        key = issuer.public_key
        cert = self.x509
        try:
            if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes)
                return True
            algo = self._signature_hash_object()
            if algo is None:
                return False
            if isinstance(key, rsa.RSAPublicKey):
                try:
                    params = cert.signature_algorithm_parameters
                except (ValueError, UnsupportedAlgorithm):
                    params = None
                pad = params if isinstance(params, padding.PSS) else padding.PKCS1v15()
                key.verify(cert.signature, cert.tbs_certificate_bytes, pad, algo)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algo))
            elif isinstance(key, dsa.DSAPublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes, algo)
            else:
                return False
        except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
            return False
        return True

    @property
    def self_issued(self) -> bool:
        return self.subject_der == self.issuer_der

    @cached_property
    def self_signed(self) -> bool:
        """Self-issued and its signature verifies with its own key."""
        return self.self_issued and self.verify_issued_by(self)

    # -- presentation -----------------------------------------------------------
    def ref(self, role: str | None = None) -> CertificateRef:
        return CertificateRef(
            subject=self.subject_text,
            sha256=self.sha256,
            role=role,
            name=self.name,
            issuer=self.issuer_text,
            not_after=self.not_after.isoformat(),
        )

    def to_pem(self) -> bytes:
        return self.x509.public_bytes(serialization.Encoding.PEM)


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    for attr in name.get_attributes_for_oid(oid):
        value = attr.value
        text = value if isinstance(value, str) else value.decode("utf-8", "replace")
        if text.strip():
            return printable(text.strip())
    return None


#: Names for the attributes RFC 4514 leaves as dotted OIDs, as OpenSSL and Keychain
#: Access show them (emailAddress, not 1.2.840.113549.1.9.1).
ATTRIBUTE_NAMES: dict[x509.ObjectIdentifier, str] = {
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.SURNAME: "SN",
    NameOID.GIVEN_NAME: "GN",
    NameOID.TITLE: "title",
    NameOID.INITIALS: "initials",
    NameOID.GENERATION_QUALIFIER: "generationQualifier",
    NameOID.PSEUDONYM: "pseudonym",
    NameOID.BUSINESS_CATEGORY: "businessCategory",
    NameOID.POSTAL_CODE: "postalCode",
    NameOID.POSTAL_ADDRESS: "postalAddress",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
    NameOID.JURISDICTION_COUNTRY_NAME: "jurisdictionC",
    NameOID.JURISDICTION_STATE_OR_PROVINCE_NAME: "jurisdictionST",
    NameOID.JURISDICTION_LOCALITY_NAME: "jurisdictionL",
    NameOID.UNSTRUCTURED_NAME: "unstructuredName",
    NameOID.DN_QUALIFIER: "dnQualifier",
    NameOID.X500_UNIQUE_IDENTIFIER: "x500UniqueIdentifier",
}


def _name_text(name: x509.Name) -> str:
    try:
        return printable(name.rfc4514_string(ATTRIBUTE_NAMES))
    except (ValueError, UnicodeError):  # pragma: no cover - odd encodings
        return repr(name)


_LEGACY_HASHES = {
    "1.2.840.113549.1.1.4": "md5",
    "1.2.840.113549.1.1.2": "md2",
    "1.2.840.113549.1.1.3": "md4",
    "1.2.840.113549.1.1.5": "sha1",
    "1.2.840.10040.4.3": "sha1",
    "1.2.840.10045.4.1": "sha1",
}


def _legacy_hash_name(oid: str) -> str | None:
    return _LEGACY_HASHES.get(oid)


def looks_like_pem(data: bytes) -> bool:
    return _PEM_BEGIN.search(data) is not None


#: What cryptography raises for a malformed certificate. It parses lazily: the fields are
#: decoded on first access, so these come from property reads as well as from loading, and
#: several are not ValueError (InvalidVersion, DuplicateExtension and
#: UnsupportedGeneralNameType derive from Exception; an unknown key type is
#: UnsupportedAlgorithm).
PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def check_parsed(cert: x509.Certificate) -> None:
    """Read every field the package relies on, so that a malformed certificate fails once,
    at load time, naming its file, and not later in the middle of a chain check.

    Raises one of :data:`PARSE_ERRORS`. (Found by fuzzing: a damaged subject, extension or
    public key used to pass loading and crash ``validate`` with a bare ValueError.)"""
    _ = cert.subject, cert.issuer, cert.serial_number
    _ = cert.not_valid_before_utc, cert.not_valid_after_utc
    _ = cert.extensions, cert.signature_algorithm_oid, cert.signature
    _ = cert.tbs_certificate_bytes
    try:
        cert.public_key()
    except UnsupportedAlgorithm as exc:
        raise UnsupportedAlgorithm(f"its public key cannot be read ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"its public key cannot be read ({_short(exc)})") from None


def _parse_der_certificate(der: bytes, source: str, origin: Location) -> Certificate:
    try:
        cert = x509.load_der_x509_certificate(der)
        check_parsed(cert)
    except PARSE_ERRORS as exc:
        raise CertificateError(
            f"cannot parse certificate: {_short(exc)}",
            location=origin,
            hint="export it again as PEM or DER",
        ) from None
    return Certificate(cert, der=der, origin=origin)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _pkcs7_certificates(data: bytes, *, pem: bool, origin: Location) -> list[Certificate]:
    try:
        certs = (
            pkcs7.load_pem_pkcs7_certificates(data)
            if pem
            else pkcs7.load_der_pkcs7_certificates(data)
        )
    except PARSE_ERRORS as exc:  # the loader parses each certificate's version eagerly
        raise CertificateError(
            f"cannot parse PKCS#7 bundle: {_short(exc)}", location=origin
        ) from None
    out = []
    for index, c in enumerate(certs, start=1):
        try:  # the bundle parses its certificates as lazily as a single one
            check_parsed(c)
        except PARSE_ERRORS as exc:
            raise CertificateError(
                f"cannot parse certificate {index} of the PKCS#7 bundle: {_short(exc)}",
                location=origin,
                hint="export it again as PEM or DER",
            ) from None
        out.append(Certificate(c, der=c.public_bytes(serialization.Encoding.DER), origin=origin))
    return out


def load_certificates(data: bytes, *, source: str = "<bytes>") -> list[Certificate]:
    """Every certificate in ``data``: PEM (any number of blocks, text around them
    tolerated), a DER certificate, or a PKCS#7 bundle (DER or PEM).

    Raises :class:`CertificateError` naming ``source`` when no certificate is found.
    """
    if looks_like_pem(data):
        found: list[Certificate] = []
        for label, block, body, line in _pem_blocks(data):
            origin = Location(source, line)
            _check_count(found, origin)
            if label in _PKCS7_LABELS:
                found.extend(_pkcs7_certificates(block, pem=True, origin=origin))
                continue
            try:
                der = base64.b64decode(b"".join(body.split()), validate=True)
            except (binascii.Error, ValueError):
                raise CertificateError(
                    "PEM block is not valid base64",
                    location=origin,
                    hint="re-export the certificate; the block's text was damaged",
                ) from None
            if label == b"TRUSTED CERTIFICATE":
                der = _strip_openssl_trust(der)
            found.append(_parse_der_certificate(der, source, origin))
        _check_count(found, Location(source))
        if not found:
            begins = _PEM_BEGIN.findall(data)
            if any(lbl in _CERT_LABELS | _PKCS7_LABELS for lbl in begins):
                raise CertificateError(
                    "PEM certificate block has no matching END line",
                    location=Location(source),
                    hint="each block must end with its own '-----END CERTIFICATE-----' line",
                )
            labels = ", ".join(sorted({lbl.decode() for lbl in begins}))
            raise CertificateError(
                f"holds no certificate (PEM blocks found: {labels})",
                location=Location(source),
                hint="give a file with a CERTIFICATE block",
            )
        return found
    if not data.strip():
        raise CertificateError("file is empty, expected a certificate", location=Location(source))
    # DER is binary: never strip it (its last bytes may well be 0x09, 0x0a or 0x20).
    der = data if data[:1] == b"\x30" else data.lstrip()
    if der[:1] == b"\x30":
        origin = Location(source)
        try:
            x509.load_der_x509_certificate(der)
        except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is not a ValueError
            try:
                return _check_count(_pkcs7_certificates(der, pem=False, origin=origin), origin)
            except CertificateError as p7_error:
                # Say why it failed when the DER is laid out as one or the other: a
                # Certificate opens with its TBSCertificate SEQUENCE, PKCS#7 with an OID.
                inner = _first_inner_tag(der)
                if inner == 0x06:
                    raise p7_error from None
                if inner == 0x30:
                    raise CertificateError(
                        f"cannot parse certificate: {_short(exc)}",
                        location=origin,
                        hint="export it again as PEM or DER",
                    ) from None
        else:
            return [_parse_der_certificate(der, source, origin)]
    raise CertificateError(
        "holds no certificate (expected PEM, DER or PKCS#7)",
        location=Location(source),
        hint="export it as PEM (.pem/.crt) or DER (.cer/.der)",
    )


def _check_count(found: list[Certificate], origin: Location) -> list[Certificate]:
    if len(found) > MAX_CERTIFICATES_PER_FILE:
        raise CertificateError(
            f"holds more than {MAX_CERTIFICATES_PER_FILE} certificates",
            location=origin,
            hint="split the bundle, or keep only the certificates the profile needs",
        )
    return found


def _pem_blocks(data: bytes) -> Iterator[tuple[bytes, bytes, bytes, int]]:
    """Each certificate or PKCS#7 PEM block of ``data``: its label, the whole block, the
    text between its BEGIN and END lines, and the line it starts on.

    Linear in the size of ``data``: the line number is counted on from the previous block
    (counting from the start of the file for each block made a 15,000-certificate bundle
    take half a minute), and an END line is looked for only for the labels read here,
    at most once per label past any point: a file of BEGIN lines without END lines, or of
    other labels (keys, CRLs: not read here), is scanned once."""
    line, counted = 1, 0
    next_end: dict[bytes, int] = {}  # per label: where its next END line starts (-1: none)
    pos = 0
    while True:
        begin = _PEM_BEGIN.search(data, pos)
        if begin is None:
            return
        label = begin.group(1)
        if label not in _CERT_LABELS and label not in _PKCS7_LABELS:
            pos = begin.end()
            continue
        end_marker = b"-----END " + label + b"-----"
        end = next_end.get(label)
        if end is None or (end != -1 and end < begin.end()):
            end = data.find(end_marker, begin.end())
            next_end[label] = end
        if end == -1:
            pos = begin.end()
            continue
        body_start = begin.end()
        if data.startswith(b"\r\n", body_start):
            body_start += 2
        elif data.startswith(b"\n", body_start):
            body_start += 1
        line += data.count(b"\n", counted, begin.start())
        counted = begin.start()
        block_end = end + len(end_marker)
        yield label, data[begin.start() : block_end], data[body_start:end], line
        pos = block_end


def _first_inner_tag(der: bytes) -> int | None:
    """The tag of the first element inside the DER SEQUENCE ``der``, None if there is none."""
    if len(der) < 3:
        return None
    pos = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    return der[pos] if pos < len(der) else None


def _strip_openssl_trust(der: bytes) -> bytes:
    """An OpenSSL TRUSTED CERTIFICATE is the DER certificate followed by trust settings."""
    from asn1crypto import core

    try:
        return bytes(core.Sequence.load(der, strict=False).dump())
    except ValueError:
        return der


def load_certificate_file(path: Path | str, *, display: str | None = None) -> list[Certificate]:
    """Read ``path`` and return every certificate in it; errors name the file."""
    shown = display or str(path)

    def error(problem: str) -> CertificateError:
        if problem.startswith("is a folder"):
            problem = "is a folder, expected a certificate file"
        elif problem.startswith(("is ", "not found")):
            problem = f"file {problem}"
        return CertificateError(problem, location=Location(shown))

    # Regular files only, and at most one byte past the limit: a FIFO would hang the
    # open and a device (/dev/zero) reports a size of 0.
    data = read_limited(path, MAX_CERTIFICATE_FILE, error=error)
    return load_certificates(data, source=shown)


def key_spki_der(key: PrivateKeyTypes) -> bytes:
    """The DER SubjectPublicKeyInfo of ``key``'s public half: equal to
    :attr:`Certificate.spki_der` exactly when ``key`` belongs to that certificate."""
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def unique(certs: Iterable[Certificate]) -> list[Certificate]:
    """Certificates in first-seen order with duplicates (same SHA-256) removed."""
    seen: set[str] = set()
    out = []
    for c in certs:
        if c.sha256 not in seen:
            seen.add(c.sha256)
            out.append(c)
    return out
