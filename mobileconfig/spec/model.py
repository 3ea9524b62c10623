"""ProfileSpec: the spec file's shape, as pydantic models (extra keys refused).

Field names are the spec's own (snake_case, short); they are not Apple's keys.
The docstrings and ``Field(description=...)`` texts feed ``mobileconfig schema``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, create_model, field_validator, model_validator

from mobileconfig.secrets import Secret
from mobileconfig.services.registry import spec_fields
from mobileconfig.services.removal import RemovalPassword
from mobileconfig.spec._base import SpecModel

__all__ = [
    "AcceptRule",
    "CertificateEntry",
    "DDMSettings",
    "MdmName",
    "Platform",
    "ProfileSpec",
    "RemovalPassword",
    "SignSettings",
    "ValidateSettings",
    "parse_duration",
    "parse_time",
]

Platform = Literal["iOS", "macOS", "tvOS", "visionOS", "watchOS"]
_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")


def _version(value: Any) -> str:
    """A platform's oldest version: ``"16.0"`` (YAML's unquoted 16.0 and 16 are taken too)."""
    text = str(value).strip() if isinstance(value, str | int | float) else ""
    if isinstance(value, bool) or not _VERSION.match(text):
        raise ValueError(f"{value!r} is not a version; write it quoted, like '16.0' or '13.1'")
    return text


PlatformVersion = Annotated[str, BeforeValidator(_version)]

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)+$")
#: The MDMs whose variables mobileconfig knows (mobileconfig.mdm.MDMS).
MdmName = Literal["fleet", "jamf", "intune", "kandji", "workspace-one", "mosyle", "simplemdm"]
_MDM_VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_DURATION = re.compile(r"^\s*(\d+)\s*(d|h|m|s|w)?\s*$")


def parse_duration(value: str | int) -> dt.timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` or a number of days."""
    if isinstance(value, int):
        return dt.timedelta(days=value)
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a duration; write it like 30d, 12h or 2w")
    n, unit = int(m.group(1)), m.group(2) or "d"
    return {
        "d": dt.timedelta(days=n),
        "h": dt.timedelta(hours=n),
        "m": dt.timedelta(minutes=n),
        "s": dt.timedelta(seconds=n),
        "w": dt.timedelta(weeks=n),
    }[unit]


def parse_time(value: str | dt.datetime | None) -> dt.datetime | None:
    """ISO 8601 (``2026-01-31`` or ``2026-01-31T12:00:00Z``) or ``now`` (None) to UTC."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "now"):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a time; write ISO 8601 such as 2026-01-31 or 2026-01-31T12:00:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _default_platforms() -> list[Platform]:
    return ["iOS", "macOS"]


class CertificateEntry(SpecModel):
    """One entry of ``certificates:`` written as a mapping."""

    path: str = Field(description="A file, a glob (certs/*.pem) or a folder, relative to the spec.")
    name: str | None = Field(
        None,
        description="The name other sections use to refer to this certificate (default: its CN).",
    )
    payload: Literal["auto", "root", "pkcs1", "pem"] = Field(
        "auto",
        description="Payload type: auto (root for self-signed CAs, pkcs1 for the others), "
        "or force one.",
    )


class AcceptRule(SpecModel):
    """Accept one finding for one certificate, with a written reason; it stays visible."""

    code: str = Field(pattern=r"^MC\d{3}$", description="The finding code, e.g. MC104.")
    certificate: str | None = Field(
        None,
        pattern=r"^sha256:[0-9a-fA-F:]{8,}$",
        description="sha256:<prefix of the certificate's SHA-256>; omit to accept the code "
        "for every certificate.",
    )
    reason: str = Field(min_length=3, description="Why this is acceptable; shown in every report.")


class ValidateSettings(SpecModel):
    """How the build checks content."""

    at: str | None = Field(
        None, description="Validation time: now (default) or ISO 8601 such as 2026-01-31."
    )
    expiry_warning: str | int = Field(
        "30d", description="Warn when a certificate expires within this."
    )
    strict: bool = Field(False, description="Treat warnings as errors.")
    accept: list[AcceptRule] = Field(default_factory=list)

    @field_validator("at")
    @classmethod
    def _at(cls, value: str | None) -> str | None:
        parse_time(value)
        return value

    @field_validator("expiry_warning")
    @classmethod
    def _window(cls, value: str | int) -> str | int:
        parse_duration(value)
        return value


class SignSettings(SpecModel):
    """Sign the profile: a PKCS#12, or a PEM certificate and key (and chain)."""

    pkcs12: str | None = Field(None, description="The signer's PKCS#12 (.p12/.pfx) file.")
    password: Secret | None = Field(
        None, description="The PKCS#12's password: {env: NAME}, {file: PATH} or {prompt: true}."
    )
    certificate: str | None = Field(
        None, description="The signer's PEM certificate (a full-chain PEM is fine)."
    )
    key: str | None = Field(None, description="The signer's PEM private key.")
    key_password: Secret | None = Field(None, description="The key's password, if encrypted.")
    chain: list[str] = Field(
        default_factory=list, description="Intermediate certificates to include (PEM files)."
    )
    digest: Literal["sha256", "sha384", "sha512"] = Field(
        "sha256", description="Signature digest; SHA-1 is never used."
    )
    allow_incomplete_chain: bool = Field(
        False,
        description="Sign even when the signer's issuer is not at hand (MC210 becomes a "
        "warning): for an MDM that adds the chain itself.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> SignSettings:
        if (self.pkcs12 is None) == (self.certificate is None):
            raise ValueError("sign needs either pkcs12 or certificate (with key)")
        if self.certificate is not None and self.key is None:
            raise ValueError("sign: certificate needs its key")
        return self


class ProfileHead(SpecModel):
    """The profile's own keys, before the service sections (see :data:`ProfileSpec`)."""

    identifier: str = Field(
        description="PayloadIdentifier, reverse DNS (com.example.certificates). Devices replace an "
        "installed profile with the same identifier.",
    )
    name: str = Field(description="PayloadDisplayName, shown on the device.")
    organization: str | None = Field(None, description="PayloadOrganization.")
    description: str | None = Field(None, description="PayloadDescription.")
    scope: Literal["system", "user"] | None = Field(
        None, description="macOS only: install for the whole system or the user (PayloadScope)."
    )
    platforms: list[Platform] | dict[Platform, PlatformVersion] = Field(
        default_factory=_default_platforms,
        description="Where the profile is meant to install: a list ([iOS, macOS]), or each "
        'platform with its oldest version ({iOS: "16.0", macOS: "13.0"}). Payloads and keys '
        "unsupported there, or only from a later version (by Apple's schema), are reported.",
    )
    removal: Literal["allowed", "disallowed"] | RemovalPassword = Field(
        "allowed",
        description="allowed; disallowed (PayloadRemovalDisallowed, honoured on supervised "
        "devices); or {password: {env: NAME}} to require a removal password.",
    )
    consent_text: str | dict[str, str] | None = Field(
        None, description="Text the user must accept before installing (ConsentText)."
    )
    removal_date: str | None = Field(None, description="RemovalDate: ISO 8601 date.")
    duration_until_removal: int | None = Field(
        None, ge=1, description="DurationUntilRemoval in seconds."
    )
    target_device_type: Literal[0, 1, 2, 3, 4, 5, 6] | None = Field(
        None,
        description="TargetDeviceType: 0 any, 1 iPhone/iPad, 2 Watch, 3 HomePod, 4 TV, 5 Mac, "
        "6 Vision Pro.",
    )
    certificates: list[str | CertificateEntry] = Field(
        default_factory=list,
        description="Every company CA certificate: files, globs, folders, PEM bundles, .p7b.",
    )
    mdm: MdmName | None = Field(
        None,
        description="The MDM the profile is uploaded to: its per-device variables ($EMAIL, "
        "{{deviceid}}, {EmailAddress}, ...) pass through as written, and checks that depend on "
        "them are reported, not made. --mdm overrides it.",
    )
    mdm_variables: list[str] = Field(
        default_factory=list,
        description="More variable names the MDM fills in (custom attributes, secrets), so that "
        "they are not reported as unknown.",
    )

    @field_validator("mdm_variables")
    @classmethod
    def _mdm_variable_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _MDM_VARIABLE.match(name):
                raise ValueError(
                    f"{name!r} is not a variable name; write the name alone, without $, braces "
                    "or %"
                )
        return value

    @field_validator("identifier")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(
                f"{value!r} is not a reverse-DNS identifier; write it like com.example.certificates"
            )
        return value

    @field_validator("removal_date")
    @classmethod
    def _removal_date(cls, value: str | None) -> str | None:
        parse_time(value)
        return value

    @property
    def platform_names(self) -> list[str]:
        """The platforms, list form or mapping form alike."""
        return list(self.platforms)

    @property
    def platform_minimums(self) -> dict[str, str]:
        """Platform -> oldest version (``""`` when the spec lists platforms without one)."""
        if isinstance(self.platforms, dict):
            return {str(k): v for k, v in self.platforms.items()}
        return {str(p): "" for p in self.platforms}

    @field_validator("payloads", check_fields=False)
    @classmethod
    def _raw_payloads(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in value:
            ptype = item.get("PayloadType")
            if not isinstance(ptype, str) or not ptype:
                raise ValueError("each entry of payloads needs a PayloadType")
            _check_plist_value(item, ptype)
        return value


class DDMSettings(SpecModel):
    """Declarative output (``build --ddm DIR``): where the folder is served from."""

    base_url: str = Field(
        description="The https:// URL the --ddm folder is served from: asset data and legacy "
        "profiles are fetched from BASE/assets/. --ddm-base-url overrides it."
    )

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        text = value.strip()
        if not text.lower().startswith("https://") or len(text) <= len("https://"):
            raise ValueError(
                f"{value!r} is not an https:// URL; Apple refuses other schemes for asset and "
                "profile URLs"
            )
        return text


def _tail_fields() -> dict[str, Any]:
    """The keys after the service sections: the escape hatch, signing, validation."""
    return {
        "payloads": (
            list[dict[str, Any]],
            Field(
                default_factory=list,
                description="Any other payload, written with Apple's own keys (PayloadType "
                "required).",
            ),
        ),
        "sign": (
            SignSettings | None,
            Field(
                None,
                description="Sign the profile (manual or web distribution); --unsigned skips it.",
            ),
        ),
        "ddm": (
            DDMSettings | None,
            Field(
                None,
                description="Declarative output (build --ddm DIR): {base_url: https://...}.",
            ),
        ),
        "validate_": (
            ValidateSettings,
            Field(
                default_factory=ValidateSettings,
                alias="validate",
                description="How the build checks content.",
            ),
        ),
    }


if TYPE_CHECKING:

    class ProfileSpec(ProfileHead):
        """A profile.yaml: one configuration profile."""

        # The service sections (identities, wifi, ...) come from the registry: read them
        # with getattr(spec, service.key).
        payloads: list[dict[str, Any]]
        sign: SignSettings | None
        ddm: DDMSettings | None
        validate_: ValidateSettings

else:
    #: A profile.yaml: its own keys, then one key per registered service (in registry order),
    #: then payloads, sign and validate.
    ProfileSpec = create_model(
        "ProfileSpec",
        __base__=ProfileHead,
        __module__=__name__,
        __doc__="A profile.yaml: one configuration profile.",
        **spec_fields(),
        **_tail_fields(),
    )


def _check_plist_value(value: Any, where: str, depth: int = 0) -> None:
    if depth > 32:
        raise ValueError(f"{where}: nested too deeply")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: plist dictionary keys must be strings")
            _check_plist_value(v, f"{where}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_plist_value(v, f"{where}[{i}]", depth + 1)
    elif value is None:
        raise ValueError(f"{where}: a plist cannot hold null; remove the key or give a value")
    elif not isinstance(value, str | int | float | bool | bytes | dt.datetime):
        raise ValueError(f"{where}: {type(value).__name__} is not a plist type")
