"""Read any profile: XML or binary plist, CMS-signed (DER, BER, base64), trailing NULs.

The exact signed content bytes are kept beside the parsed view: re-serializing a plist
is never byte-identical, so verification always uses the bytes that were signed.
"""

from __future__ import annotations

import base64
import binascii
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
    """Detect the container and read the profile; :class:`ProfileError` for anything else."""
    notes: list[str] = []
    if len(data) > MAX_PLIST_BYTES:
        raise ProfileError(f"{source}: {len(data)} bytes, over the {MAX_PLIST_BYTES} byte limit")
    stripped = data.rstrip(b"\x00")
    if len(stripped) != len(data):
        notes.append(f"{len(data) - len(stripped)} trailing NUL bytes ignored")
    body = stripped
    if not body.strip():
        raise ProfileError(f"{source}: file is empty")
    lead = body.lstrip()[:1]
    if lead not in (b"<", b"b", b"0") and _B64.match(body[:4096]) and len(body) > 16:
        try:
            decoded = base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if decoded[:1] == b"\x30":
            notes.append("base64-wrapped CMS")
            body = decoded
    if body[:1] == b"\x30":
        from mobileconfig.cms import unwrap
        from mobileconfig.errors import CMSError

        # BER ends with end-of-contents octets (00 00): try the bytes as they are first,
        # and only then without the trailing NULs some tools pad files with.
        original = data if body is stripped else body
        try:
            signed = unwrap(original, source=source)
            if original is data and len(stripped) != len(data):
                notes.pop(0)  # the NULs belonged to the structure
        except CMSError:
            if original is body or len(stripped) == len(data):
                raise
            signed = unwrap(body, source=source)
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
    if body is stripped and data.startswith(b"bplist"):
        # A binary plist's trailer is binary too: its last byte may well be 0x00.
        body, notes = data, [n for n in notes if "trailing NUL" not in n]
    read = loads(body, source=source)
    return LoadedProfile(
        source, "unsigned", read.format, _model(read.value, source), body, None, read.damaged, notes
    )


def read_profile_file(path: str | Path, *, display: str | None = None) -> LoadedProfile:
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
