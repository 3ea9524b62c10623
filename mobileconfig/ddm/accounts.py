"""Mail and Exchange accounts as declarations: ``account.mail`` / ``account.exchange``
with their user-identity and user-password assets and S/MIME identity references.

Mixed into the mapper of :mod:`mobileconfig.ddm.mapping`, which supplies the declaring
steps. An account the declaration cannot carry as the spec means it (a listed platform
without it, an option it cannot express) is not planned: the blockers come back instead,
and the account stays in the legacy profile (MC809, MC810).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mobileconfig.ddm.schema import PlatformMinimums
from mobileconfig.payloads.accounts import ExchangePayload, MailPayload
from mobileconfig.payloads.base import Payload, RawPayload

__all__ = ["AccountMapping", "Plan"]

AnyPayload = Payload | RawPayload
_AUTH = {
    "EmailAuthNone": "None",
    "EmailAuthPassword": "Password",
    "EmailAuthCRAMMD5": "CRAMMD5",
    "EmailAuthNTLM": "NTLM",
    "EmailAuthHTTPMD5": "HTTPMD5",
}


@dataclass
class Plan:
    """One account's declaration, waiting for the identities' asset identifiers."""

    payload: AnyPayload
    build: Callable[[Mapping[str, str]], None]
    identities: set[str]  # PayloadUUIDs of the identities it references


class AccountMapping:
    """The account steps; the mapper provides what is declared abstract here."""

    platforms: PlatformMinimums
    scope: str | None

    def ident(self, kind: str, entry: str) -> str:
        raise NotImplementedError

    def label(self, p: AnyPayload) -> str:
        raise NotImplementedError

    def declare(self, dtype: str, ident: str, payload: dict[str, Any], *data: bytes) -> str:
        raise NotImplementedError

    def configure(self, dtype: str, ident: str, payload: dict[str, Any]) -> str:
        raise NotImplementedError

    def credential(
        self, dtype: str, ctype: str, ident: str, document: dict[str, Any], what: str
    ) -> str:
        raise NotImplementedError

    # -- accounts -----------------------------------------------------------------------------
    def platform_blockers(self, kind: str, smime: bool) -> list[str]:
        out: list[str] = []
        for platform in self.platforms:
            if platform in ("tvOS", "watchOS"):
                out.append(f"{platform} has no {kind} declaration")
            elif platform == "macOS":
                if kind == "Exchange":
                    out.append("on macOS the Exchange declaration sets up EWS, not ActiveSync")
                elif self.scope != "user":
                    out.append("macOS takes mail declarations in the user scope only (scope: user)")
                if smime:
                    out.append("macOS has no S/MIME settings in the declaration")
        return out

    def smime(self, p: MailPayload | ExchangePayload, assets: Mapping[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        sign_uuid = p.smime_signing_certificate_uuid
        enc_uuid = p.smime_encryption_certificate_uuid
        if p.smime_signing_enabled and sign_uuid:
            out["Signing"] = {"Enabled": True, "IdentityAssetReference": assets[sign_uuid]}
        encryption: dict[str, Any] = {}
        if enc_uuid:
            encryption["IdentityAssetReference"] = assets[enc_uuid]
        if p.smime_enable_encryption_per_message_switch is not None:
            encryption["PerMessageSwitchEnabled"] = p.smime_enable_encryption_per_message_switch
        if encryption or p.smime_encrypt_by_default is not None:
            # Enabled means "encrypt by default" (legacy SMIMEEncryptByDefault), not "available".
            encryption["Enabled"] = bool(p.smime_encrypt_by_default)
            out["Encryption"] = encryption
        return out

    def user_identity(self, kind: str, entry: str, email: str | None, name: str | None) -> str:
        payload = {k: v for k, v in (("EmailAddress", email), ("FullName", name)) if v is not None}
        return self.declare("com.apple.asset.useridentity", self.ident(kind, entry), payload)

    def login(self, kind: str, entry: str, user: str, password: str | None, what: str) -> str:
        doc: dict[str, Any] = {"UserName": user}
        if password is not None:
            doc["Password"] = password
        return self.credential(
            "com.apple.asset.credential.userpassword",
            "com.apple.credential.usernameandpassword",
            self.ident(kind, entry),
            doc,
            what,
        )

    def smime_identities(self, p: MailPayload | ExchangePayload) -> set[str]:
        return {
            u for u in (p.smime_signing_certificate_uuid, p.smime_encryption_certificate_uuid) if u
        }

    def plan_mail(self, p: MailPayload) -> Plan | list[tuple[str, str]]:
        blockers: list[tuple[str, str]] = []
        label = self.label(p)
        unmapped = [
            key
            for key, value in (
                ("IncomingMailServerUseSSL", p.incoming_mail_server_use_ssl is False),
                ("OutgoingMailServerUseSSL", p.outgoing_mail_server_use_ssl is False),
                ("PreventMove", p.prevent_move is not None),
                ("PreventAppSheet", p.prevent_app_sheet is not None),
            )
            if value
        ]
        if unmapped:
            blockers.append(
                (
                    "MC810",
                    f"mail account '{label}' sets {', '.join(unmapped)}, which the mail "
                    "declaration cannot express (tls: false, prevent_move); it stays in the "
                    "legacy profile",
                )
            )
        for side, method, user in (
            ("incoming", p.incoming_mail_server_authentication, p.incoming_mail_server_username),
            ("outgoing", p.outgoing_mail_server_authentication, p.outgoing_mail_server_username),
        ):
            if method != "EmailAuthNone" and not user:
                blockers.append(
                    (
                        "MC810",
                        f"mail account '{label}': the {side} server authenticates but no "
                        "username is given; a declaration cannot ask for it at install (set "
                        f"{side}.username); it stays in the legacy profile",
                    )
                )
        smime = bool(self.smime_identities(p) or p.smime_encrypt_by_default)
        for reason in self.platform_blockers("mail", smime):
            blockers.append(
                ("MC809", f"mail account '{label}': {reason}; it stays in the legacy profile")
            )
        if blockers:
            return blockers
        entry = str(p.payload_identifier)

        def build(assets: Mapping[str, str]) -> None:
            payload: dict[str, Any] = {}
            if p.email_account_description:
                payload["VisibleName"] = p.email_account_description
            if p.email_address or p.email_account_name:
                payload["UserIdentityAssetReference"] = self.user_identity(
                    "mail-user", entry, p.email_address, p.email_account_name
                )
            incoming: dict[str, Any] = {
                "ServerType": "IMAP" if p.email_account_type == "EmailTypeIMAP" else "POP",
                "HostName": p.incoming_mail_server_host_name,
                "AuthenticationMethod": _AUTH[p.incoming_mail_server_authentication],
            }
            if p.incoming_mail_server_port_number is not None:
                incoming["Port"] = p.incoming_mail_server_port_number
            if p.incoming_mail_server_imap_path_prefix:
                incoming["IMAPPathPrefix"] = p.incoming_mail_server_imap_path_prefix
            login_in: str | None = None
            if incoming["AuthenticationMethod"] != "None":
                assert p.incoming_mail_server_username is not None
                login_in = self.login(
                    "mail-login-in",
                    entry,
                    p.incoming_mail_server_username,
                    p.incoming_password,
                    f"incoming login of mail account '{label}'",
                )
                incoming["AuthenticationCredentialsAssetReference"] = login_in
            outgoing: dict[str, Any] = {
                "HostName": p.outgoing_mail_server_host_name,
                "AuthenticationMethod": _AUTH[p.outgoing_mail_server_authentication],
            }
            if p.outgoing_mail_server_port_number is not None:
                outgoing["Port"] = p.outgoing_mail_server_port_number
            if outgoing["AuthenticationMethod"] != "None":
                same = (
                    p.outgoing_password_same_as_incoming_password
                    and p.outgoing_password is None
                    and p.outgoing_mail_server_username == p.incoming_mail_server_username
                    and login_in is not None
                )
                if same:
                    assert login_in is not None
                    outgoing["AuthenticationCredentialsAssetReference"] = login_in
                else:
                    assert p.outgoing_mail_server_username is not None
                    outgoing["AuthenticationCredentialsAssetReference"] = self.login(
                        "mail-login-out",
                        entry,
                        p.outgoing_mail_server_username,
                        p.outgoing_password,
                        f"outgoing login of mail account '{label}'",
                    )
            payload["IncomingServer"] = incoming
            payload["OutgoingServer"] = outgoing
            smime_settings = self.smime(p, assets)
            if smime_settings:
                payload["SMIME"] = smime_settings
            self.configure(
                "com.apple.configuration.account.mail", self.ident("mail", entry), payload
            )

        return Plan(p, build, self.smime_identities(p))

    def plan_exchange(self, p: ExchangePayload) -> Plan | list[tuple[str, str]]:
        blockers: list[tuple[str, str]] = []
        label = self.label(p)
        unmapped = [
            key
            for key, value in (
                ("SSL", p.ssl is False),
                ("PreventMove", p.prevent_move is not None),
                ("PreventAppSheet", p.prevent_app_sheet is not None),
                ("MailNumberOfPastDaysToSync", p.mail_number_of_past_days_to_sync is not None),
            )
            if value
        ]
        if unmapped:
            blockers.append(
                (
                    "MC810",
                    f"Exchange account '{label}' sets {', '.join(unmapped)}, which the "
                    "Exchange declaration cannot express; it stays in the legacy profile",
                )
            )
        if not p.host and "iOS" in self.platforms:
            blockers.append(
                (
                    "MC809",
                    f"Exchange account '{label}' has no host; the declaration needs HostName "
                    "on iOS; it stays in the legacy profile",
                )
            )
        smime = bool(self.smime_identities(p) or p.smime_encrypt_by_default)
        for reason in self.platform_blockers("Exchange", smime):
            blockers.append(
                ("MC809", f"Exchange account '{label}': {reason}; it stays in the legacy profile")
            )
        if blockers:
            return blockers
        entry = str(p.payload_identifier)
        uses = self.smime_identities(p)
        if p.payload_certificate_uuid:
            uses.add(p.payload_certificate_uuid)

        def build(assets: Mapping[str, str]) -> None:
            payload: dict[str, Any] = {"EnabledProtocolTypes": ["EAS"]}
            if p.payload_display_name:
                payload["VisibleName"] = p.payload_display_name
            if p.email_address:
                payload["UserIdentityAssetReference"] = self.user_identity(
                    "exchange-user", entry, p.email_address, None
                )
            if p.host:
                payload["HostName"] = p.host
            if p.user_name:
                payload["AuthenticationCredentialsAssetReference"] = self.login(
                    "exchange-login",
                    entry,
                    p.user_name,
                    p.password,
                    f"login of Exchange account '{label}'",
                )
            if p.payload_certificate_uuid:
                payload["AuthenticationIdentityAssetReference"] = assets[p.payload_certificate_uuid]
            smime_settings = self.smime(p, assets)
            if smime_settings:
                payload["SMIME"] = smime_settings
            self.configure(
                "com.apple.configuration.account.exchange", self.ident("exchange", entry), payload
            )

        return Plan(p, build, uses)
