"""Account payloads that use certificates: mail (IMAP/POP) and Exchange ActiveSync.

Aliases are Apple's keys as its schema spells them. S/MIME identities are referred to by
their ``PayloadUUID`` (``SMIMESigningCertificateUUID``, ``SMIMEEncryptionCertificateUUID``);
Apple supports those keys on iOS and visionOS only: macOS Mail picks S/MIME identities from
the keychain by address. Exchange's client identity is ``PayloadCertificateUUID``.
Passwords never appear in a model's ``repr``. See :mod:`mobileconfig.payloads.network`
for the ``SUPPORT`` tables.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from mobileconfig.payloads.base import Payload, register
from mobileconfig.payloads.network import UUIDRef

__all__ = ["EmailAuthentication", "ExchangePayload", "MailPayload"]

EmailAuthentication = Literal[
    "EmailAuthNone", "EmailAuthPassword", "EmailAuthCRAMMD5", "EmailAuthNTLM", "EmailAuthHTTPMD5"
]

_SMIME_IOS = "iOS visionOS"


@register
class MailPayload(Payload):
    """``com.apple.mail.managed``: one IMAP or POP account."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.mail.managed"
    SUPPORT: ClassVar[dict[str, str]] = {
        "": "iOS macOS visionOS",
        "SMIMEEncryptByDefault": _SMIME_IOS,
        "SMIMEEnableEncryptionPerMessageSwitch": _SMIME_IOS,
        "SMIMEEncryptionCertificateUUID": _SMIME_IOS,
        "SMIMEEncryptionEnabled": _SMIME_IOS,
        "SMIMESigningCertificateUUID": _SMIME_IOS,
        "SMIMESigningEnabled": _SMIME_IOS,
        "PreventMove": _SMIME_IOS,
        "PreventAppSheet": _SMIME_IOS,
    }

    email_account_description: str | None = Field(None, alias="EmailAccountDescription")
    email_account_name: str | None = Field(None, alias="EmailAccountName")
    email_account_type: Literal["EmailTypeIMAP", "EmailTypePOP"] = Field(alias="EmailAccountType")
    email_address: str | None = Field(
        None, alias="EmailAddress", description="Asked for at install when left out."
    )
    incoming_mail_server_authentication: EmailAuthentication = Field(
        alias="IncomingMailServerAuthentication"
    )
    incoming_mail_server_host_name: str = Field(alias="IncomingMailServerHostName", min_length=1)
    incoming_mail_server_port_number: int | None = Field(
        None, alias="IncomingMailServerPortNumber", ge=1, le=65535
    )
    incoming_mail_server_use_ssl: bool | None = Field(None, alias="IncomingMailServerUseSSL")
    incoming_mail_server_username: str | None = Field(None, alias="IncomingMailServerUsername")
    incoming_mail_server_imap_path_prefix: str | None = Field(
        None, alias="IncomingMailServerIMAPPathPrefix"
    )
    incoming_password: str | None = Field(None, alias="IncomingPassword", repr=False)
    outgoing_mail_server_authentication: EmailAuthentication = Field(
        alias="OutgoingMailServerAuthentication"
    )
    outgoing_mail_server_host_name: str = Field(alias="OutgoingMailServerHostName", min_length=1)
    outgoing_mail_server_port_number: int | None = Field(
        None, alias="OutgoingMailServerPortNumber", ge=1, le=65535
    )
    outgoing_mail_server_use_ssl: bool | None = Field(None, alias="OutgoingMailServerUseSSL")
    outgoing_mail_server_username: str | None = Field(None, alias="OutgoingMailServerUsername")
    outgoing_password: str | None = Field(None, alias="OutgoingPassword", repr=False)
    outgoing_password_same_as_incoming_password: bool | None = Field(
        None, alias="OutgoingPasswordSameAsIncomingPassword"
    )
    prevent_move: bool | None = Field(None, alias="PreventMove")
    prevent_app_sheet: bool | None = Field(None, alias="PreventAppSheet")
    smime_signing_enabled: bool | None = Field(None, alias="SMIMESigningEnabled")
    smime_signing_certificate_uuid: UUIDRef | None = Field(
        None, alias="SMIMESigningCertificateUUID"
    )
    smime_encryption_enabled: bool | None = Field(None, alias="SMIMEEncryptionEnabled")
    smime_encryption_certificate_uuid: UUIDRef | None = Field(
        None, alias="SMIMEEncryptionCertificateUUID"
    )
    smime_encrypt_by_default: bool | None = Field(None, alias="SMIMEEncryptByDefault")
    smime_enable_encryption_per_message_switch: bool | None = Field(
        None, alias="SMIMEEnableEncryptionPerMessageSwitch"
    )

    @model_validator(mode="after")
    def _rules(self) -> MailPayload:
        if self.smime_signing_enabled and not self.smime_signing_certificate_uuid:
            raise ValueError("SMIMESigningEnabled needs SMIMESigningCertificateUUID")
        if self.smime_encryption_enabled and not self.smime_encryption_certificate_uuid:
            raise ValueError("SMIMEEncryptionEnabled needs SMIMEEncryptionCertificateUUID")
        if self.email_account_type == "EmailTypePOP" and self.incoming_mail_server_imap_path_prefix:
            raise ValueError("IncomingMailServerIMAPPathPrefix applies to IMAP accounts only")
        return self


@register
class ExchangePayload(Payload):
    """``com.apple.eas.account``: an Exchange ActiveSync account (iOS, visionOS).

    The identity for certificate authentication is ``PayloadCertificateUUID``; the older
    inline ``Certificate`` (PKCS#12 bytes) is not written by this package.
    """

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.eas.account"
    SUPPORT: ClassVar[dict[str, str]] = {"": "iOS visionOS", "SMIMEEncryptionEnabled": "iOS"}

    email_address: str | None = Field(None, alias="EmailAddress")
    host: str | None = Field(None, alias="Host")
    ssl: bool | None = Field(None, alias="SSL")
    user_name: str | None = Field(None, alias="UserName")
    password: str | None = Field(None, alias="Password", repr=False)
    payload_certificate_uuid: UUIDRef | None = Field(None, alias="PayloadCertificateUUID")
    prevent_move: bool | None = Field(None, alias="PreventMove")
    prevent_app_sheet: bool | None = Field(None, alias="PreventAppSheet")
    mail_number_of_past_days_to_sync: Literal[0, 1, 3, 7, 14, 31] | None = Field(
        None, alias="MailNumberOfPastDaysToSync"
    )
    smime_signing_enabled: bool | None = Field(None, alias="SMIMESigningEnabled")
    smime_signing_certificate_uuid: UUIDRef | None = Field(
        None, alias="SMIMESigningCertificateUUID"
    )
    smime_encryption_enabled: bool | None = Field(
        None,
        alias="SMIMEEncryptionEnabled",
        description="Deprecated by Apple in iOS 12 (use SMIMEEncryptByDefault); read, not written.",
    )
    smime_encryption_certificate_uuid: UUIDRef | None = Field(
        None, alias="SMIMEEncryptionCertificateUUID"
    )
    smime_encrypt_by_default: bool | None = Field(None, alias="SMIMEEncryptByDefault")
    smime_enable_encryption_per_message_switch: bool | None = Field(
        None, alias="SMIMEEnableEncryptionPerMessageSwitch"
    )

    @model_validator(mode="after")
    def _rules(self) -> ExchangePayload:
        if self.smime_signing_enabled and not self.smime_signing_certificate_uuid:
            raise ValueError("SMIMESigningEnabled needs SMIMESigningCertificateUUID")
        return self
