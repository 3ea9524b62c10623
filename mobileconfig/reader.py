"""Read any profile: XML or binary plist, CMS-signed (DER, BER, base64), trailing NULs.

The exact signed content bytes are kept beside the parsed view: re-serializing a plist
is never byte-identical, so verification always uses the bytes that were signed.

Reading is as lenient as macOS: NUL bytes and whitespace after ``</plist>`` (in the file or
inside the signed content) are ignored with an info finding (MC015), anything else there
with a warning (MC016); any top-level shape is read (``Configuration``, ``Profile
Service``, or one the schema does not know), and a top level the model refuses (a
PayloadVersion 2, a wrong type) is still read: ``plist`` keeps the dictionary as it is, and
:func:`mobileconfig.schema.check.check_profile` says what is wrong with it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import mobileconfig.payloads  # noqa: F401  (registers every modelled payload type)
from mobileconfig.errors import CertificateError, Location, ProfileError
from mobileconfig.files import read_limited
from mobileconfig.findings import Finding, make_finding, printable
from mobileconfig.payloads.base import Profile, RawPayload
from mobileconfig.payloads.certificates import CertificatePayload, PEMCertificatePayload
from mobileconfig.pki.certs import Certificate, load_certificates
from mobileconfig.render import MAX_PLIST_BYTES, DamagedData, PlistFormat, ReadPlist, loads

if TYPE_CHECKING:
    from mobileconfig.cms import SignedProfile

__all__ = [
    "LoadedProfile",
    "payload_content_problem",
    "profile_certificates",
    "read_profile",
    "read_profile_file",
]

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
    #: Findings about how the file was read (MC015, MC016).
    findings: list[Finding] = field(default_factory=list)
    #: The top-level dictionary exactly as read (the model may have refused parts of it).
    plist: dict[str, Any] = field(default_factory=dict)

    @property
    def top_level_type(self) -> str:
        """``Configuration``, ``Profile Service``, or whatever the file says."""
        ptype = self.plist.get("PayloadType", "Configuration") if self.plist else "Configuration"
        return ptype if isinstance(ptype, str) else repr(ptype)

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
    padding = len(data) - len(unpadded)
    if data.startswith(b"bplist"):
        return _unsigned(data, source, [])
    if data[:1] == b"\x30":
        return _signed(data, unpadded, source, padding)
    decoded = _base64_cms(unpadded)
    if decoded is not None:
        return _signed(decoded, decoded, source, 0, ["base64-wrapped CMS"])
    loaded = _unsigned(unpadded, source, [])
    if padding:
        loaded.findings.insert(0, _padding_finding(padding, source, "the file"))
    return loaded


def _padding_finding(count: int, source: str, where: str) -> Finding:
    return make_finding(
        "MC015",
        f"{count} NUL byte(s) or whitespace after the plist in {where} ignored, as macOS does",
        location=Location(source),
    )


def _loads(body: bytes, source: str, where: str) -> tuple[ReadPlist, list[Finding]]:
    """Read a plist; for XML, what follows ``</plist>`` is ignored as macOS ignores it."""
    try:
        return loads(body, source=source), []
    except ProfileError:
        end = -1 if body.startswith(b"bplist") else body.find(b"</plist>")
        if end < 0 or not body[end + len(b"</plist>") :]:
            raise
    cut = end + len(b"</plist>")
    read = loads(body[:cut], source=source)
    tail = body[cut:]
    if not tail.strip(b"\x00 \t\r\n"):
        return read, [_padding_finding(len(tail), source, where)]
    shown = printable(tail.strip(b"\x00 \t\r\n")[:24].decode("latin-1"))
    return read, [
        make_finding(
            "MC016",
            f"{len(tail)} byte(s) after </plist> in {where} ignored (they begin '{shown}'); "
            "macOS ignores them too, other tools may refuse the file",
            location=Location(source),
        )
    ]


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
    read, found = _loads(body, source, "the file")
    return LoadedProfile(
        source,
        "unsigned",
        read.format,
        _model(read.value, source),
        body,
        None,
        read.damaged,
        notes,
        found,
        _top(read.value, source),
    )


def _signed(
    data: bytes, unpadded: bytes, source: str, padding: int, notes: list[str] | None = None
) -> LoadedProfile:
    from mobileconfig.cms import unwrap
    from mobileconfig.errors import CMSError

    found: list[Finding] = []
    try:
        signed = unwrap(data, source=source)  # NULs at the end may be the structure's own
    except CMSError:
        if unpadded == data:
            raise
        signed = unwrap(unpadded, source=source)
        found.append(_padding_finding(padding, source, "the file, after the signature"))
    if signed.content_type != "data":
        # A profile is signed as id-data; any other eContentType (a nested SignedData,
        # an encrypted message...) is not a profile, whatever its bytes happen to be.
        raise ProfileError(
            f"{source}: the signed content is of type {signed.content_type}, not data "
            "(id-data): it is not a profile"
        )
    inner, tail = _loads(signed.content, f"{source} (signed content)", "the signed content")
    found.extend(tail)
    profile = _model(inner.value, source)
    return LoadedProfile(
        source,
        "signed",
        inner.format,
        profile,
        signed.content,
        signed,
        inner.damaged,
        list(notes or []),
        found,
        _top(inner.value, source),
    )


def read_profile_file(path: str | os.PathLike[str], *, display: str | None = None) -> LoadedProfile:
    shown = display or str(path)

    def error(problem: str) -> ProfileError:
        if problem == "not found":
            return ProfileError(f"{shown}: file not found")
        if problem.startswith("is a folder"):
            return ProfileError(f"{shown}: is a folder, expected a .mobileconfig file")
        if problem[3:4].isdigit():  # "is 104857600 bytes, over the ... byte limit"
            problem = problem[3:]
        return ProfileError(f"{shown}: {problem}")

    data = read_limited(path, MAX_PLIST_BYTES, error=error)
    return read_profile(data, source=shown)


def _top(value: Any, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(
            "the plist's top level is not a dictionary, so not a profile",
            location=Location(source),
        )
    return value


def _model(value: Any, source: str) -> Profile:
    """The profile model of the top level; for a shape the model does not take (Profile
    Service, an unknown PayloadType, a PayloadVersion 2...), a model holding what can be
    read of it, so that the file is still shown and judged (by the schema check)."""
    top = _top(value, source)
    if top.get("PayloadType") == "Configuration":
        if "PayloadContent" in top:
            problem = payload_content_problem(top["PayloadContent"])
            if problem is not None:
                raise ProfileError(f"not a valid profile ({problem})", location=Location(source))
        try:
            return Profile.from_plist(top)
        except ValueError:
            pass
    shell: dict[str, Any] = {
        "PayloadIdentifier": _text(top.get("PayloadIdentifier")),
        "PayloadUUID": _text(top.get("PayloadUUID")),
        "PayloadDisplayName": top.get("PayloadDisplayName"),
        "PayloadOrganization": top.get("PayloadOrganization"),
        "PayloadDescription": top.get("PayloadDescription"),
    }
    shell = {k: v for k, v in shell.items() if isinstance(v, str)}
    if top.get("IsEncrypted") is True and isinstance(top.get("EncryptedPayloadContent"), bytes):
        shell.update(IsEncrypted=True, EncryptedPayloadContent=top["EncryptedPayloadContent"])
    items = top.get("PayloadContent")
    if top.get("PayloadType") == "Configuration" and isinstance(items, list):
        shell["PayloadContent"] = [i for i in items if isinstance(i, dict)]
    try:
        return Profile.from_plist(shell)
    except ValueError:
        return Profile.from_plist({k: v for k, v in shell.items() if k != "PayloadContent"})


def payload_content_problem(items: Any) -> str | None:
    """Why a PayloadContent holds no payloads to read (None when it does): not an array,
    or an item that is not a dictionary with a PayloadType."""
    if not isinstance(items, list):
        return f"PayloadContent is {_kind(items)}, not an array of payload dictionaries"
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            return f"PayloadContent[{index}] is {_kind(item)}, not a payload dictionary"
        if not isinstance(item.get("PayloadType"), str) or not item["PayloadType"]:
            return f"PayloadContent[{index}] has no PayloadType string"
    return None


def _kind(value: Any) -> str:
    names = {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        bytes: "data",
        list: "an array",
        dict: "a dictionary",
    }
    return names.get(type(value), type(value).__name__)


def _text(value: Any) -> str:
    return value if isinstance(value, str) and value else "(none)"


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
        elif not isinstance(content, bytes):
            continue  # missing or not <data>: the schema check says so (MC009, MC008)
        elif not content:
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
