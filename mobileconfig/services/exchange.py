"""Exchange ActiveSync accounts (com.apple.eas.account; iOS and visionOS). The spec's
``exchange:`` list, and its compile step; S/MIME and MC410 are :mod:`.mail`'s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from mobileconfig.payloads.accounts import ExchangePayload
from mobileconfig.payloads.base import Payload
from mobileconfig.secrets import Secret
from mobileconfig.services.base import CompileContext, Host, PathKey, ServerCert, Service, dotted
from mobileconfig.services.mail import SMIMESpec, plain_text_finding, smime_settings
from mobileconfig.spec._base import SpecModel

__all__ = ["SERVICE", "ExchangeSpec", "compile_exchange"]


class ExchangeSpec(SpecModel):
    """One Exchange ActiveSync account (com.apple.eas.account; iOS and visionOS)."""

    host: Host | None = Field(
        None, description="The Exchange server; autodiscovered when left out."
    )
    email: str | None = Field(None, description="EmailAddress; asked for at install when left out.")
    user: str | None = Field(None, description="UserName (required for MDM installs).")
    password: Secret | None = None
    identity: str | None = Field(None, description="Identity for certificate authentication.")
    ssl: bool = Field(True, description="Use TLS (SSL).")
    name: str | None = Field(None, description="The account's name in Settings.")
    smime: SMIMESpec | None = None
    server_certificate: ServerCert = None


def compile_exchange(ctx: CompileContext, items: Sequence[ExchangeSpec]) -> list[Payload]:
    out: list[Payload] = []
    for i, x in enumerate(items):
        path: PathKey = ("exchange", i)
        uuid: str | None = None
        if x.identity:
            ref = ctx.identity(x.identity, (*path, "identity"))
            uuid = ref.uuid
            ctx.usage(ref, x.identity, (*path, "identity"), "client")
        label = x.email or x.host
        smime = smime_settings(ctx, x.smime, (*path, "smime"), x.email)
        smime.pop("SMIMEEncryptionEnabled", None)  # deprecated for EAS since iOS 12
        data: dict[str, Any] = {
            "PayloadType": ExchangePayload.PAYLOAD_TYPE,
            **ctx.common("exchange", label, i, x.name or f"Exchange ({label or 'account'})"),
            "Host": x.host,
            "EmailAddress": x.email,
            "UserName": x.user,
            "Password": ctx.secret(x.password, (*path, "password"), "Exchange password"),
            "SSL": x.ssl,
            "PayloadCertificateUUID": uuid,
            **smime,
        }
        plain_text_finding(ctx, x.ssl, x.host, path, "the Exchange server")
        out.append(ctx.payload(ExchangePayload, data, path))
        if x.host and x.ssl:
            ctx.check_server(x.host, x.server_certificate, path, setting=f"{dotted(path)}.host")
    return out


SERVICE = Service(
    "exchange", ExchangeSpec, "list", compile_exchange, "Exchange ActiveSync accounts."
)
