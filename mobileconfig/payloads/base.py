"""The profile and the payload base model: Apple's keys, Pythonic field names.

Models know Apple's key names (aliases, spelled by hand) and nothing else: no YAML,
no plist writing (see :mod:`mobileconfig.render`), no CMS.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "NAMESPACE",
    "Payload",
    "Profile",
    "RawPayload",
    "derive_uuid",
    "payload_class",
    "payload_classes",
    "register",
]

#: The namespace of every derived PayloadUUID (a fixed uuid5 of the project's name).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "mobileconfig-kit.invalid")
_NAMESPACE_BYTES = NAMESPACE.bytes

_REGISTRY: dict[str, type[Payload]] = {}


# The identifiers of the specs a process builds repeat; a batch's per-row ones go uncached
# (see mobileconfig.skeleton), and a full-path row adds a handful.
@functools.lru_cache(maxsize=4096)
def derive_uuid(profile_identifier: str, payload_identifier: str | None = None) -> str:
    """The deterministic PayloadUUID: uuid5 of the profile identifier and payload identifier.

    The same identifiers always give the same UUID, so a rebuilt profile replaces the one
    on the device payload by payload instead of duplicating it.
    """
    key = (
        profile_identifier
        if payload_identifier is None
        else f"{profile_identifier}\n{payload_identifier}"
    )
    # uuid.uuid5(NAMESPACE, key), uppercased, without building a UUID object: a third of the
    # time, and a per-user build derives six or more of them (RFC 4122 defines it on SHA-1).
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + key.encode()).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = digest.hex().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def register(cls: type[Payload]) -> type[Payload]:
    """Class decorator: make ``cls`` the model for its ``PAYLOAD_TYPE`` when reading plists."""
    for ptype in (cls.PAYLOAD_TYPE, *cls.PAYLOAD_TYPE_ALIASES):
        _REGISTRY[ptype] = cls
    return cls


def payload_class(payload_type: str) -> type[Payload] | None:
    return _REGISTRY.get(payload_type)


def payload_classes() -> tuple[type[Payload], ...]:
    """Every registered payload model, once each (a model registered under aliases too)."""
    return tuple(dict.fromkeys(_REGISTRY.values()))


class _AppleModel(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        extra="forbid",
        frozen=False,
        validate_assignment=False,
        ser_json_bytes="base64",
    )

    def to_plist(self) -> dict[str, Any]:
        """The plist dictionary: Apple's keys, unset optional keys left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="python")


class Payload(_AppleModel):
    """Keys common to every payload (Apple's CommonPayloadKeys)."""

    PAYLOAD_TYPE: ClassVar[str] = ""
    PAYLOAD_TYPE_ALIASES: ClassVar[tuple[str, ...]] = ()

    payload_type: str = Field(alias="PayloadType")
    payload_version: Literal[1] = Field(1, alias="PayloadVersion")
    payload_identifier: str = Field(alias="PayloadIdentifier", min_length=1)
    payload_uuid: str = Field(alias="PayloadUUID", min_length=1)
    payload_display_name: str | None = Field(None, alias="PayloadDisplayName")
    payload_description: str | None = Field(None, alias="PayloadDescription")
    payload_organization: str | None = Field(None, alias="PayloadOrganization")

    @field_validator("payload_type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        allowed = {cls.PAYLOAD_TYPE, *cls.PAYLOAD_TYPE_ALIASES}
        if cls.PAYLOAD_TYPE and value not in allowed:
            raise ValueError(f"PayloadType must be {' or '.join(sorted(allowed))}, not {value!r}")
        return value

    @classmethod
    def from_plist(cls, data: dict[str, Any]) -> Payload:
        return cls.model_validate(data)


class RawPayload(_AppleModel):
    """A payload type this package does not model: every key kept as it was read."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    payload_type: str = Field(alias="PayloadType")
    payload_version: int | None = Field(None, alias="PayloadVersion")
    payload_identifier: str | None = Field(None, alias="PayloadIdentifier")
    payload_uuid: str | None = Field(None, alias="PayloadUUID")
    payload_display_name: str | None = Field(None, alias="PayloadDisplayName")
    payload_description: str | None = Field(None, alias="PayloadDescription")
    payload_organization: str | None = Field(None, alias="PayloadOrganization")

    def to_plist(self) -> dict[str, Any]:
        out = super().to_plist()
        out.update(self.model_extra or {})
        return out


AnyPayload = Payload | RawPayload

TARGET_DEVICE_TYPES = {
    0: "any",
    1: "iOS/iPadOS",
    2: "watchOS",
    3: "HomePod",
    4: "tvOS",
    5: "macOS",
    6: "visionOS",
}


class Profile(_AppleModel):
    """The profile's top level (Apple's TopLevel schema) with its payloads."""

    payload_type: Literal["Configuration"] = Field("Configuration", alias="PayloadType")
    payload_version: Literal[1] = Field(1, alias="PayloadVersion")
    payload_identifier: str = Field(alias="PayloadIdentifier", min_length=1)
    payload_uuid: str = Field(alias="PayloadUUID", min_length=1)
    payload_display_name: str | None = Field(None, alias="PayloadDisplayName")
    payload_description: str | None = Field(None, alias="PayloadDescription")
    payload_organization: str | None = Field(None, alias="PayloadOrganization")
    payload_scope: Literal["System", "User"] | None = Field(None, alias="PayloadScope")
    payload_removal_disallowed: bool | None = Field(None, alias="PayloadRemovalDisallowed")
    has_removal_passcode: bool | None = Field(None, alias="HasRemovalPasscode")
    consent_text: dict[str, str] | None = Field(None, alias="ConsentText")
    removal_date: dt.datetime | None = Field(None, alias="RemovalDate")
    duration_until_removal: float | None = Field(None, alias="DurationUntilRemoval", ge=0)
    payload_expiration_date: dt.datetime | None = Field(None, alias="PayloadExpirationDate")
    target_device_type: Literal[0, 1, 2, 3, 4, 5, 6] | None = Field(None, alias="TargetDeviceType")
    is_encrypted: bool | None = Field(None, alias="IsEncrypted")
    encrypted_payload_content: bytes | None = Field(None, alias="EncryptedPayloadContent")
    payload_content: list[Any] = Field(default_factory=list, alias="PayloadContent")

    @field_validator("payload_content", mode="before")
    @classmethod
    def _payloads(cls, value: Any) -> list[AnyPayload]:
        if not isinstance(value, list):
            raise ValueError("PayloadContent must be an array of payload dictionaries")
        return [
            item if isinstance(item, Payload | RawPayload) else _read_payload(item)
            for item in value
        ]

    @property
    def payloads(self) -> list[AnyPayload]:
        return list(self.payload_content)

    def to_plist(self) -> dict[str, Any]:
        out = self.model_dump(
            by_alias=True, exclude_none=True, mode="python", exclude={"payload_content"}
        )
        if self.payload_content or not self.is_encrypted:
            out["PayloadContent"] = [p.to_plist() for p in self.payload_content]
        return out

    @classmethod
    def from_plist(cls, data: dict[str, Any], *, strict: bool = False) -> Profile:
        """Read a profile dictionary. Payloads of unmodelled types, and (unless ``strict``)
        payloads that do not fit their model, are kept whole as :class:`RawPayload`."""
        if not strict:
            data = dict(data)
            items = data.get("PayloadContent", [])
            if isinstance(items, list):
                data["PayloadContent"] = [_read_payload(i, lenient=True) for i in items]
        return cls.model_validate(data)


def _read_payload(item: Any, *, lenient: bool = False) -> AnyPayload:
    if not isinstance(item, dict):
        raise ValueError("each PayloadContent item must be a dictionary")
    ptype = item.get("PayloadType")
    cls = payload_class(ptype) if isinstance(ptype, str) else None
    if cls is None:
        return RawPayload.model_validate(item)
    if lenient:
        try:
            return cls.model_validate(item)
        except ValueError:
            return RawPayload.model_validate(item)
    return cls.model_validate(item)
