"""Read any profile: XML or binary plist, CMS-signed (DER, BER, base64), trailing NULs.

The exact signed content bytes are kept beside the parsed view: re-serializing a plist
is never byte-identical, so verification always uses the bytes that were signed.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import mobileconfig.payloads  # noqa: F401  (registers every modelled payload type)
from mobileconfig.errors import CertificateError, Location, ProfileError
from mobileconfig.findings import Finding, make_finding
from mobileconfig.payloads.base import Profile, RawPayload
from mobileconfig.payloads.certificates import CertificatePayload, PEMCertificatePayload
from mobileconfig.pki.certs import Certificate, load_certificates
from mobileconfig.render import MAX_PLIST_BYTES, DamagedData, PlistFormat, loads

if TYPE_CHECKING:
    from mobileconfig.cms import SignedProfile

__all__ = ["LoadedProfile", "profile_certificates", "read_profile", "read_profile_file"]

_B64 = re.compile(rb"^[A-Za-z0-9+/=\s]+$")
_CERT_TYPES = {"com.apple.security.root", "com.apple.security.pkcs1", "com.apple.security.pem"}


@dataclass
class LoadedProfile:
    """A profile as read: the container, the plist format, the model and the raw bytes."""

    source: str
    container: Literal["unsigned", "signed"]
    format: PlistFormat
    profile: Profile
    content: bytes  # the plist bytes (for a signed profile: exactly what was signed)
    signed: SignedProfile | None = None
    damaged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def encrypted(self) -> bool:
        return bool(self.profile.is_encrypted)


def read_profile(data: bytes, *, source: str = "<bytes>") -> LoadedProfile:
    """Detect the container and read the profile; :class:`ProfileError` for anything else.

    Some tools pad files with NUL bytes. They are dropped only where they cannot belong to
    the structure: a binary plist's trailer and BER's end-of-contents octets may end in 0x00,
    so those are read as they are first.
    """
    if len(data) > MAX_PLIST_BYTES:
        raise ProfileError(f"{source}: {len(data)} bytes, over the {MAX_PLIST_BYTES} byte limit")
    unpadded = data.rstrip(b"\x00")
    if not unpadded.strip():
        raise ProfileError(f"{source}: file is empty")
    padding = (
        [f"{len(data) - len(unpadded)} trailing NUL bytes ignored"] if unpadded != data else []
    )
    if data.startswith(b"bplist"):
        return _unsigned(data, source, [])
    if data[:1] == b"\x30":
        return _signed(data, unpadded, source, padding)
    decoded = _base64_cms(unpadded)
    if decoded is not None:
        return _signed(decoded, decoded, source, ["base64-wrapped CMS"])
    return _unsigned(unpadded, source, padding)


def _base64_cms(text: bytes) -> bytes | None:
    """The DER inside a base64-wrapped CMS file, or None when it is not one."""
    if text.lstrip()[:1] in (b"<", b"b", b"0") or len(text) <= 16 or not _B64.match(text[:4096]):
        return None
    try:
        decoded = base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded[:1] == b"\x30" else None


def _unsigned(body: bytes, source: str, notes: list[str]) -> LoadedProfile:
    read = loads(body, source=source)
    return LoadedProfile(
        source, "unsigned", read.format, _model(read.value, source), body, None, read.damaged, notes
    )


def _signed(data: bytes, unpadded: bytes, source: str, notes: list[str]) -> LoadedProfile:
    from mobileconfig.cms import unwrap
    from mobileconfig.errors import CMSError

    try:
        signed = unwrap(data, source=source)
        notes = [n for n in notes if "trailing NUL" not in n]  # they were the structure's
    except CMSError:
        if unpadded == data:
            raise
        signed = unwrap(unpadded, source=source)
    if signed.content_type != "data":
        # A profile is signed as id-data; any other eContentType (a nested SignedData,
        # an encrypted message...) is not a profile, whatever its bytes happen to be.
        raise ProfileError(
            f"{source}: the signed content is of type {signed.content_type}, not data "
            "(id-data): it is not a profile"
        )
    inner = loads(signed.content, source=f"{source} (signed content)")
    profile = _model(inner.value, source)
    return LoadedProfile(
        source, "signed", inner.format, profile, signed.content, signed, inner.damaged, notes
    )


def read_profile_file(path: str | os.PathLike[str], *, display: str | None = None) -> LoadedProfile:
    shown = display or str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_PLIST_BYTES:
            raise ProfileError(f"{shown}: {size} bytes, over the {MAX_PLIST_BYTES} byte limit")
        # At most one byte past the limit: a FIFO or a device (/dev/zero) has size 0.
        with p.open("rb") as fh:
            data = fh.read(MAX_PLIST_BYTES + 1)
    except FileNotFoundError:
        raise ProfileError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise ProfileError(f"{shown}: is a folder, expected a .mobileconfig file") from None
    except OSError as exc:
        raise ProfileError(f"{shown}: cannot read: {exc.strerror}") from None
    return read_profile(data, source=shown)


def _model(value: Any, source: str) -> Profile:
    if not isinstance(value, dict):
        raise ProfileError(f"{source}: the plist's top level is not a dictionary, so not a profile")
    if value.get("PayloadType") != "Configuration":
        raise ProfileError(
            f"{source}: top-level PayloadType is {value.get('PayloadType')!r}, not 'Configuration'"
        )
    try:
        return Profile.from_plist(value)
    except ValueError as exc:
        first = str(exc).splitlines()
        detail = (
            first[1] + ": " + first[2].strip() if len(first) > 2 else (first[0] if first else "")
        )
        raise ProfileError(f"{source}: not a valid profile ({detail})") from None


def profile_certificates(loaded: LoadedProfile) -> tuple[list[Certificate], list[Finding]]:
    """The certificate of every certificate payload, and a finding for each one that is not
    readable; the others are still returned so they can be checked."""
    certs: list[Certificate] = []
    findings: list[Finding] = []
    for index, payload in enumerate(loaded.profile.payload_content):
        ptype = getattr(payload, "payload_type", "")
        if ptype not in _CERT_TYPES:
            continue
        label = (
            getattr(payload, "payload_display_name", None)
            or getattr(payload, "payload_identifier", None)
            or f"payload {index}"
        )
        where = Location(loaded.source, None)
        content: Any = (
            payload.payload_content
            if isinstance(payload, CertificatePayload)
            else (payload.model_extra or {}).get("PayloadContent")
            if isinstance(payload, RawPayload)
            else None
        )
        problem = None
        if isinstance(content, DamagedData):
            problem = "its base64 <data> is damaged (an END line glued to the text?)"
        elif not isinstance(content, bytes) or not content:
            problem = "it has no certificate data"
        found: list[Certificate] = []
        if problem is None:
            try:
                found = load_certificates(
                    bytes(content), source=f"{loaded.source}: payload {label!r}"
                )
            except CertificateError as exc:
                problem = exc.message
        if (
            problem is None
            and isinstance(payload, PEMCertificatePayload)
            and not content.lstrip().startswith(b"-----BEGIN")
        ):
            findings.append(
                make_finding(
                    "MC003",
                    f"payload {index} '{label}' is com.apple.security.pem but holds DER",
                    location=where,
                )
            )
        if problem is not None:
            findings.append(
                make_finding(
                    "MC002", f"payload {index} '{label}' ({ptype}): {problem}", location=where
                )
            )
            continue
        if len(found) > 1:
            findings.append(
                make_finding(
                    "MC003",
                    f"payload {index} '{label}' holds {len(found)} certificates; devices read one",
                    location=where,
                    fix="Put each certificate in its own payload.",
                )
            )
        for cert in found:
            cert.origin = where
            cert.name = label
            certs.append(cert)
    return certs, findings
