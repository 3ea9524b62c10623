"""IKEv2 VPNs (com.apple.vpn.managed, VPNType IKEv2: the type that uses certificates). The
spec's ``vpn:`` list, and its compile step.

Findings: MC406 (the server's certificate is not from ``server_ca``), MC407 (an EC key IKEv2
cannot use), MC408 (an identity not made for client authentication), and Apple's TLS rules for
the server's certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from cryptography import x509
from pydantic import Field, model_validator

from mobileconfig.errors import SpecError
from mobileconfig.findings import make_finding
from mobileconfig.payloads.base import Payload
from mobileconfig.payloads.network import VPNPayload
from mobileconfig.pki.certs import Certificate
from mobileconfig.secrets import Secret
from mobileconfig.services.base import CompileContext, Host, PathKey, ServerCert, Service, dotted
from mobileconfig.services.references import CertRef, IdentityRef, listing
from mobileconfig.spec._base import SpecModel

__all__ = ["SERVICE", "IKEv2Spec", "VPNSpec", "compile_vpn"]

_EC_TYPES = {256: "ECDSA256", 384: "ECDSA384", 521: "ECDSA521"}


class IKEv2Spec(SpecModel):
    """IKEv2 settings."""

    server: Host = Field(description="RemoteAddress: the VPN server's host name or address.")
    remote_identifier: str | None = Field(None, description="Default: server.")
    local_identifier: str | None = Field(
        None,
        description="Default: the identity certificate's DNS or e-mail name, else its CN, "
        "else username.",
    )
    identity: str | None = Field(None, description="Identity for certificate authentication.")
    shared_secret: Secret | None = Field(None, description="Shared-secret authentication.")
    username: str | None = Field(None, description="EAP user name (ExtendedAuthEnabled).")
    password: Secret | None = Field(None, description="EAP password.")
    server_ca: str | None = Field(
        None,
        description="The CA (certificate name) that issued the server's certificate: "
        "ServerCertificateIssuerCommonName. Required with identity.",
    )
    server_name: str | None = Field(
        None,
        description="ServerCertificateCommonName: the name the server's certificate must "
        "carry (default: remote_identifier).",
    )
    dead_peer_detection: Literal["None", "Low", "Medium", "High"] | None = None
    revocation_check: bool | None = Field(None, description="EnableCertificateRevocationCheck.")
    pfs: bool | None = Field(None, description="EnablePFS.")
    server_certificate: ServerCert = None

    @model_validator(mode="after")
    def _rules(self) -> IKEv2Spec:
        if not (self.identity or self.shared_secret or self.username):
            raise ValueError("give identity (certificate), shared_secret, or username (EAP)")
        if self.identity and self.shared_secret:
            raise ValueError("give identity or shared_secret, not both")
        if self.password and not self.username:
            raise ValueError("password needs username")
        return self


class VPNSpec(SpecModel):
    """One VPN (com.apple.vpn.managed, IKEv2)."""

    name: str = Field(min_length=1, description="UserDefinedName, shown in Settings.")
    ikev2: IKEv2Spec


def compile_vpn(ctx: CompileContext, items: Sequence[VPNSpec]) -> list[Payload]:
    out: list[Payload] = []
    for i, v in enumerate(items):
        path: PathKey = ("vpn", i)
        k = v.ikev2
        kpath = (*path, "ikev2")
        settings: dict[str, Any] = {
            "RemoteAddress": k.server,
            "RemoteIdentifier": k.remote_identifier or k.server,
            "ServerCertificateCommonName": k.server_name,
            "DeadPeerDetectionRate": k.dead_peer_detection,
            "EnableCertificateRevocationCheck": _flag(k.revocation_check),
            "EnablePFS": _flag(k.pfs),
        }
        local = k.local_identifier
        ca_ref: CertRef | None = None
        if k.server_ca:
            ca_ref = ctx.certificate(k.server_ca, (*kpath, "server_ca"), ca=True)
            cn = ca_ref.certificate.common_name
            if not cn:
                raise SpecError(
                    f"{dotted((*kpath, 'server_ca'))}: {k.server_ca!r} has no CN, and "
                    "IKEv2 names the server's CA by its CN",
                    location=ctx.loc(*kpath, "server_ca"),
                )
            settings["ServerCertificateIssuerCommonName"] = cn
        if k.identity:
            ref = ctx.identity(k.identity, (*kpath, "identity"))
            ctx.usage(ref, k.identity, (*kpath, "identity"), "client")
            if ca_ref is None:
                raise SpecError(
                    f"{dotted(kpath)}: certificate authentication needs server_ca, the CA "
                    "that issued the VPN server's certificate (Apple requires "
                    "ServerCertificateIssuerCommonName with CertificateType)",
                    location=ctx.loc(*kpath),
                    hint=f"CA certificates are: {listing(ctx.ca_names(), 'none')}",
                )
            settings["AuthenticationMethod"] = "Certificate"
            settings["PayloadCertificateUUID"] = ref.uuid
            settings["CertificateType"] = _certificate_type(
                ctx, ref, k.identity, (*kpath, "identity")
            )
            if local is None and ref.certificate is not None:
                cert = ref.certificate
                local = next(iter(cert.dns_names), None) or _email(cert) or cert.common_name
        elif k.shared_secret:
            settings["AuthenticationMethod"] = "SharedSecret"
            settings["SharedSecret"] = ctx.secret(
                k.shared_secret, (*kpath, "shared_secret"), "IKEv2 shared secret"
            )
        else:
            settings["AuthenticationMethod"] = "None"
        if k.username:
            settings["ExtendedAuthEnabled"] = 1
            settings["AuthName"] = k.username
            settings["AuthPassword"] = ctx.secret(k.password, (*kpath, "password"), "VPN password")
            local = local or k.username
        if not local:
            raise SpecError(
                f"{dotted(kpath)}: set local_identifier: the identity's certificate is "
                "not known before the device enrolls, so its name cannot be used",
                location=ctx.loc(*kpath),
            )
        settings["LocalIdentifier"] = local
        data = {
            "PayloadType": VPNPayload.PAYLOAD_TYPE,
            **ctx.common("vpn", v.name, i, v.name),
            "VPNType": "IKEv2",
            "UserDefinedName": v.name,
            "IKEv2": {key: val for key, val in settings.items() if val is not None},
        }
        out.append(ctx.payload(VPNPayload, data, path))
        name = k.server_name or k.remote_identifier or k.server
        chain = ctx.check_server(
            name,
            k.server_certificate,
            kpath,
            setting=f"{dotted(kpath)}.server_name",
            purpose="ikev2",
        )
        if chain and ca_ref is not None:
            want = ca_ref.certificate.common_name
            if chain[0].issuer_common_name != want:
                ctx.findings.append(
                    make_finding(
                        "MC406",
                        f"{dotted(kpath)}: the VPN server's certificate is issued by "
                        f"{chain[0].issuer_common_name or chain[0].issuer_text!r}, but "
                        f"server_ca {k.server_ca!r} has CN {want!r}: the device asks the "
                        "server for a certificate from the wrong CA",
                        certificate=chain[0].ref("server certificate"),
                        location=ctx.loc(*kpath, "server_ca"),
                    )
                )
    return out


def _certificate_type(
    ctx: CompileContext, ref: IdentityRef, name: str, path: Sequence[str | int]
) -> str | None:
    if ref.key_type == "RSA":
        return "RSA"
    kind = _EC_TYPES.get(ref.key_bits)
    if kind is None:
        ctx.findings.append(
            make_finding(
                "MC407",
                f"{dotted(path)}: identity {name!r} has an EC {ref.key_bits}-bit key; IKEv2 "
                "takes RSA or ECDSA on P-256, P-384 or P-521",
                location=ctx.loc(*path),
            )
        )
    return kind


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _email(cert: Certificate) -> str | None:
    try:
        san = cert.x509.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    names = san.value.get_values_for_type(x509.RFC822Name)
    return str(names[0]) if names else None


SERVICE = Service("vpn", VPNSpec, "list", compile_vpn, "IKEv2 VPNs.")
