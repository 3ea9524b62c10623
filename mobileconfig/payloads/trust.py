"""Trust settings: restrictions that concern certificates, Certificate Transparency
exemptions, revocation checking, and the profile removal password.

- ``com.apple.applicationaccess`` (restrictions): this package writes four keys,
  ``allowUntrustedTLSPrompt``, ``allowOTAPKIUpdates``, ``allowEnterpriseAppTrust`` and
  ``forceAutomaticDateAndTime``; a restrictions payload read from a file keeps every other
  key it holds.
- ``com.apple.security.certificatetransparency``: ``DisabledForDomains`` (a leading dot
  means "and its subdomains"; no wildcards) and ``DisabledForCerts``, each entry the
  SHA-256 of a certificate's DER SubjectPublicKeyInfo.
- ``com.apple.security.certificaterevocation`` (iOS 14.2): ``EnabledForCerts``, same entries.
- ``com.apple.profileRemovalPassword``: the password that removes the profile.

See :mod:`mobileconfig.payloads.network` for the ``SUPPORT`` tables.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mobileconfig.payloads.base import Payload, register
from mobileconfig.pki.certs import Certificate

__all__ = [
    "CertificateRevocationPayload",
    "CertificateTransparencyPayload",
    "ProfileRemovalPasswordPayload",
    "RestrictionsPayload",
    "SPKIHash",
    "check_ct_domain",
]

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_ct_domain(domain: str) -> str:
    """A ``DisabledForDomains`` entry as Apple accepts it, or ValueError saying why not.

    ``example.com`` exempts that name; ``.example.com`` exempts it and every subdomain.
    Wildcards are refused, and so is a leading dot before a single label (``.com``).
    Apple also refuses public suffixes such as ``.co.uk``; telling those apart needs the
    public suffix list, which this check does not carry.
    """
    text = domain.strip()
    if not text:
        raise ValueError("a Certificate Transparency domain cannot be empty")
    if "*" in text:
        raise ValueError(
            f"{domain!r}: Certificate Transparency exemptions take no wildcards; write "
            f"{'.' + text.lstrip('*.')!r} for a domain and all its subdomains"
        )
    bare = text[1:] if text.startswith(".") else text
    labels = bare.rstrip(".").split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{domain!r} is not a domain name")
    if text.startswith(".") and len(labels) < 2:
        raise ValueError(
            f"{domain!r}: a leading dot cannot stand before a top-level domain; name the "
            "organisation's domain, e.g. .corp.example.com"
        )
    return text


class SPKIHash(BaseModel):
    """``{Algorithm: sha256, Hash: <SHA-256 of the DER SubjectPublicKeyInfo>}``."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    algorithm: Literal["sha256"] = Field("sha256", alias="Algorithm")
    hash: bytes = Field(alias="Hash", description="32 bytes: SHA-256 of the DER SPKI.")

    @field_validator("hash")
    @classmethod
    def _length(cls, value: bytes) -> bytes:
        if len(value) != 32:
            raise ValueError(f"Hash is {len(value)} bytes; a SHA-256 is 32")
        return value

    @classmethod
    def of(cls, cert: Certificate) -> SPKIHash:
        """The entry for ``cert``'s public key (not for the whole certificate)."""
        return cls(algorithm="sha256", hash=cert.spki_sha256)


@register
class RestrictionsPayload(Payload):
    """``com.apple.applicationaccess``: the trust-related restrictions.

    Other restriction keys read from a profile are kept as they were (``extra="allow"``).
    """

    model_config = ConfigDict(extra="allow")

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.applicationaccess"
    SUPPORT: ClassVar[dict[str, str]] = {
        "": "iOS macOS tvOS visionOS watchOS",
        "allowEnterpriseAppTrust": "iOS visionOS",
        "allowOTAPKIUpdates": "iOS",
        "allowUntrustedTLSPrompt": "iOS visionOS",
        "forceAutomaticDateAndTime": "iOS* tvOS* visionOS*",
    }

    allow_untrusted_tls_prompt: bool | None = Field(
        None,
        alias="allowUntrustedTLSPrompt",
        description="False rejects untrusted HTTPS certificates without asking the user.",
    )
    allow_ota_pki_updates: bool | None = Field(
        None,
        alias="allowOTAPKIUpdates",
        description="False stops over-the-air updates of the trust store.",
    )
    allow_enterprise_app_trust: bool | None = Field(
        None,
        alias="allowEnterpriseAppTrust",
        description="False removes the Trust Developer button for enterprise apps.",
    )
    force_automatic_date_and_time: bool | None = Field(
        None,
        alias="forceAutomaticDateAndTime",
        description="True locks Date & Time to Set Automatically (supervised devices).",
    )

    def to_plist(self) -> dict[str, Any]:
        out = super().to_plist()
        out.update(self.model_extra or {})
        return out


@register
class CertificateTransparencyPayload(Payload):
    """``com.apple.security.certificatetransparency``: where CT is not enforced."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.security.certificatetransparency"
    SUPPORT: ClassVar[dict[str, str]] = {"": "iOS macOS tvOS visionOS watchOS"}

    disabled_for_domains: list[str] | None = Field(None, alias="DisabledForDomains")
    disabled_for_certs: list[SPKIHash] | None = Field(None, alias="DisabledForCerts")

    @field_validator("disabled_for_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [check_ct_domain(d) for d in value]


@register
class CertificateRevocationPayload(Payload):
    """``com.apple.security.certificaterevocation``: certificates (and everything under a
    named CA) whose revocation the device checks. iOS 14.2 and visionOS 1.1 only."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.security.certificaterevocation"
    SUPPORT: ClassVar[dict[str, str]] = {"": "iOS visionOS"}

    enabled_for_certs: list[SPKIHash] | None = Field(None, alias="EnabledForCerts")


@register
class ProfileRemovalPasswordPayload(Payload):
    """``com.apple.profileRemovalPassword``: the password that removes the profile.

    iOS and tvOS honour it on supervised devices only; macOS everywhere."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.profileRemovalPassword"
    SUPPORT: ClassVar[dict[str, str]] = {"": "iOS* macOS tvOS*"}

    removal_password: str | None = Field(None, alias="RemovalPassword", repr=False)
