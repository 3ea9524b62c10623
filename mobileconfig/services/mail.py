"""Mail accounts (com.apple.mail.managed, IMAP or POP) and their S/MIME identities. The spec's
``mail:`` list, and its compile step.

Findings: MC408 and MC409 (an S/MIME identity not made for the use, or not carrying the
account's address), MC410 (a server reached without TLS), and Apple's TLS rules for each
server whose certificate the spec gives. :mod:`.exchange` reuses the S/MIME and MC410 parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from cryptography import x509
from cryptography.x509.oid import NameOID
from pydantic import Field

from mobileconfig.findings import make_finding
from mobileconfig.payloads.accounts import MailPayload
from mobileconfig.payloads.base import Payload
from mobileconfig.pki.certs import Certificate
from mobileconfig.secrets import Secret
from mobileconfig.services.base import CompileContext, Host, PathKey, ServerCert, Service, dotted
from mobileconfig.spec._base import SpecModel

__all__ = [
    "SERVICE",
    "MailIncomingSpec",
    "MailOutgoingSpec",
    "MailSpec",
    "SMIMESpec",
    "compile_mail",
    "plain_text_finding",
    "smime_settings",
]


class MailIncomingSpec(SpecModel):
    """The IMAP or POP server."""

    protocol: Literal["imap", "pop"] = Field("imap", description="imap or pop.")
    host: Host = Field(description="The server's host name, as in its certificate.")
    port: int | None = Field(None, ge=1, le=65535, description="Default: the protocol's.")
    tls: bool = Field(True, description="Use TLS (IncomingMailServerUseSSL).")
    username: str | None = Field(None, description="Asked for at install when left out.")
    authentication: Literal["none", "password", "cram-md5", "ntlm", "http-md5"] = "password"
    password: Secret | None = Field(
        None, description="Embedded in the profile; prefer leaving it out (asked at install)."
    )
    path_prefix: str | None = Field(None, description="IMAP path prefix.")
    server_certificate: ServerCert = None


class MailOutgoingSpec(SpecModel):
    """The SMTP server."""

    host: Host = Field(description="The server's host name, as in its certificate.")
    port: int | None = Field(None, ge=1, le=65535, description="Default: 25, 587, 465 in turn.")
    tls: bool = Field(True, description="Use TLS (OutgoingMailServerUseSSL).")
    username: str | None = None
    authentication: Literal["none", "password", "cram-md5", "ntlm", "http-md5"] = "password"
    password: Secret | None = None
    same_password: bool | None = Field(
        None,
        description="Ask once at install for both servers "
        "(OutgoingPasswordSameAsIncomingPassword).",
    )
    server_certificate: ServerCert = None


class SMIMESpec(SpecModel):
    """S/MIME identities by name (iOS and visionOS; macOS Mail uses the keychain)."""

    signing: str | None = Field(None, description="Identity that signs outgoing mail.")
    encryption: str | None = Field(None, description="Identity that decrypts incoming mail.")
    encrypt_by_default: bool | None = Field(None, description="SMIMEEncryptByDefault.")
    per_message_switch: bool | None = Field(
        None,
        description="Show the per-message encryption switch "
        "(SMIMEEnableEncryptionPerMessageSwitch).",
    )


class MailSpec(SpecModel):
    """One mail account (com.apple.mail.managed)."""

    address: str | None = Field(
        None,
        description="EmailAddress; asked for at install when "
        "left out. Templates work: '{{ email }}'.",
    )
    name: str | None = Field(None, description="The user's full name shown on sent mail.")
    description: str | None = Field(None, description="The account's name in Settings.")
    incoming: MailIncomingSpec
    outgoing: MailOutgoingSpec
    smime: SMIMESpec | None = None
    prevent_move: bool | None = Field(None, description="iOS: no moving mail to other accounts.")


_AUTH = {
    "none": "EmailAuthNone",
    "password": "EmailAuthPassword",
    "cram-md5": "EmailAuthCRAMMD5",
    "ntlm": "EmailAuthNTLM",
    "http-md5": "EmailAuthHTTPMD5",
}


def smime_settings(
    ctx: CompileContext, smime: SMIMESpec | None, path: PathKey, address: str | None
) -> dict[str, Any]:
    """The SMIME* keys of a mail or Exchange account; MC408 and MC409 for its identities."""
    if smime is None:
        return {}
    out: dict[str, Any] = {}
    for use, name in (("signing", smime.signing), ("encryption", smime.encryption)):
        if not name:
            continue
        spot = (*path, use)
        ref = ctx.identity(name, spot)
        key = "Signing" if use == "signing" else "Encryption"
        out[f"SMIME{key}Enabled"] = True
        out[f"SMIME{key}CertificateUUID"] = ref.uuid
        ctx.usage(ref, name, spot, use)
        if (
            ref.certificate is not None
            and address
            and not ctx.depends(
                address, spot, f"the check that identity {name!r} carries the address"
            )
        ):
            _address(ctx, ref.certificate, name, address, spot)
    out["SMIMEEncryptByDefault"] = smime.encrypt_by_default
    out["SMIMEEnableEncryptionPerMessageSwitch"] = smime.per_message_switch
    return out


def _address(
    ctx: CompileContext, cert: Certificate, name: str, address: str, path: Sequence[str | int]
) -> None:
    emails: list[str] = []
    try:
        san = cert.x509.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        emails = [str(e) for e in san.value.get_values_for_type(x509.RFC822Name)]
    except x509.ExtensionNotFound:
        pass
    emails += [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
    if address.lower() not in {e.lower() for e in emails}:
        ctx.findings.append(
            make_finding(
                "MC409",
                f"{dotted(path)}: identity {name!r} carries "
                f"{', '.join(emails) if emails else 'no e-mail address'}, not {address}: Mail "
                "will not sign or encrypt with it for this account",
                certificate=cert.ref("identity certificate"),
                location=ctx.loc(*path),
                fix=f"Issue the S/MIME certificate with {address} in its subjectAltName "
                "(rfc822Name), or use the identity issued for that address.",
            )
        )


def plain_text_finding(
    ctx: CompileContext, tls: bool, host: str | None, path: Sequence[str | int], what: str
) -> None:
    """MC410 when a mail server is reached without TLS."""
    if not tls:
        server = f"{what} {host}" if host else what
        ctx.findings.append(
            make_finding(
                "MC410",
                f"{dotted(path)}: {server} is reached without TLS: the password and the mail "
                "cross the network readable",
                location=ctx.loc(*path),
            )
        )


def compile_mail(ctx: CompileContext, items: Sequence[MailSpec]) -> list[Payload]:
    payloads: list[Payload] = []
    for i, m in enumerate(items):
        path: PathKey = ("mail", i)
        inc, out = m.incoming, m.outgoing
        label = m.address or inc.host
        data: dict[str, Any] = {
            "PayloadType": MailPayload.PAYLOAD_TYPE,
            **ctx.common("mail", label, i, m.description or f"Mail ({label})"),
            "EmailAccountType": "EmailTypeIMAP" if inc.protocol == "imap" else "EmailTypePOP",
            "EmailAccountName": m.name,
            "EmailAccountDescription": m.description,
            "EmailAddress": m.address,
            "IncomingMailServerAuthentication": _AUTH[inc.authentication],
            "IncomingMailServerHostName": inc.host,
            "IncomingMailServerPortNumber": inc.port,
            "IncomingMailServerUseSSL": inc.tls,
            "IncomingMailServerUsername": inc.username,
            "IncomingMailServerIMAPPathPrefix": inc.path_prefix,
            "IncomingPassword": ctx.secret(
                inc.password, (*path, "incoming", "password"), "incoming mail password"
            ),
            "OutgoingMailServerAuthentication": _AUTH[out.authentication],
            "OutgoingMailServerHostName": out.host,
            "OutgoingMailServerPortNumber": out.port,
            "OutgoingMailServerUseSSL": out.tls,
            "OutgoingMailServerUsername": out.username,
            "OutgoingPassword": ctx.secret(
                out.password, (*path, "outgoing", "password"), "outgoing mail password"
            ),
            "OutgoingPasswordSameAsIncomingPassword": out.same_password,
            "PreventMove": m.prevent_move,
            **smime_settings(ctx, m.smime, (*path, "smime"), m.address),
        }
        plain_text_finding(ctx, inc.tls, inc.host, (*path, "incoming"), "the incoming mail server")
        plain_text_finding(ctx, out.tls, out.host, (*path, "outgoing"), "the outgoing mail server")
        payloads.append(ctx.payload(MailPayload, data, path))
        for side, server in (("incoming", inc), ("outgoing", out)):
            if server.tls:
                spot = (*path, side)
                ctx.check_server(
                    server.host,
                    server.server_certificate,
                    spot,
                    setting=f"{dotted(spot)}.host",
                )
    return payloads


SERVICE = Service("mail", MailSpec, "list", compile_mail, "IMAP/POP mail accounts.")
