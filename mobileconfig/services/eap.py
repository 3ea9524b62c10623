"""802.1X (EAPClientConfiguration), shared by Wi-Fi and wired Ethernet: the spec model and its
compile step. Not a service of its own (no registry line): :mod:`.wifi` and :mod:`.ethernet`
call :func:`compile_eap`.

Findings: MC404 (no trust anchors or server names for the RADIUS server), MC408 (an identity
not made for client authentication), and Apple's TLS rules for the RADIUS server's certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from mobileconfig.errors import SpecError
from mobileconfig.findings import Severity, make_finding
from mobileconfig.payloads.network import EAP_TYPES
from mobileconfig.secrets import Secret
from mobileconfig.services.base import CompileContext, PathKey, ServerCertificate, dotted
from mobileconfig.services.references import listing
from mobileconfig.spec._base import SpecModel

__all__ = ["EAPSpec", "SetupMode", "compile_eap"]

TLSVersion = Literal["1.0", "1.1", "1.2", "1.3"]
_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
SetupMode = Literal["System", "Loginwindow"]


class EAPSpec(SpecModel):
    """802.1X (EAPClientConfiguration) for Wi-Fi or Ethernet."""

    method: Literal["tls", "ttls", "peap"] = Field(
        description="tls (a client identity), ttls or peap (user name and password)."
    )
    identity: str | None = Field(
        None, description="Identity that authenticates the device or user (required for tls)."
    )
    username: str | None = Field(None, description="UserName; asked when left out.")
    password: Secret | None = Field(None, description="UserPassword; asked when left out.")
    outer_identity: str | None = Field(
        None, description="Name sent outside the tunnel (ttls, peap), e.g. anonymous."
    )
    inner_authentication: Literal["PAP", "EAP", "CHAP", "MSCHAP", "MSCHAPv2"] | None = Field(
        None, description="ttls inner method (Apple's default MSCHAPv2)."
    )
    server_names: list[str] = Field(
        default_factory=list,
        description="Names the RADIUS server's certificate may carry (wildcards allowed, "
        "wpa.*.example.com): TLSTrustedServerNames.",
    )
    anchors: list[str] = Field(
        default_factory=list,
        description="Certificates (names) trusted for the RADIUS server: its root, "
        "intermediate or its own certificate.",
    )
    tls_min: TLSVersion | None = Field(None, description="TLSMinimumVersion.")
    tls_max: TLSVersion | None = Field(None, description="TLSMaximumVersion.")
    server_certificate: ServerCertificate | None = Field(
        None,
        description="The RADIUS server's certificate chain, checked against anchors "
        "and server_names at build time.",
    )

    @model_validator(mode="after")
    def _rules(self) -> EAPSpec:
        if (
            self.tls_min
            and self.tls_max
            and (_VERSIONS.index(self.tls_min) > _VERSIONS.index(self.tls_max))
        ):
            raise ValueError(f"tls_min {self.tls_min} is above tls_max {self.tls_max}")
        if self.tls_min == "1.3" and self.method != "tls" and not self.outer_identity:
            raise ValueError("tls_min 1.3 needs outer_identity (Apple's rule)")
        if self.inner_authentication and self.method != "ttls":
            raise ValueError("inner_authentication applies to method ttls only")
        if any(not n.strip() for n in self.server_names):
            raise ValueError("server_names cannot hold an empty name")
        return self


def compile_eap(
    ctx: CompileContext, eap: EAPSpec, path: PathKey, setup_modes: Sequence[str] | None
) -> tuple[dict[str, Any], str | None]:
    identity_uuid: str | None = None
    if eap.identity:
        ref = ctx.identity(eap.identity, (*path, "identity"))
        identity_uuid = ref.uuid
        ctx.usage(ref, eap.identity, (*path, "identity"), "client")
    elif eap.method == "tls":
        raise SpecError(
            f"{dotted(path)}: method tls authenticates with a certificate: name the "
            f"identity (identities are: {listing(ctx.refs.identities, 'none')})",
            location=ctx.loc(*path),
            hint="add identity: <name> to eap",
        )
    anchors = [ctx.certificate(name, (*path, "anchors", i)) for i, name in enumerate(eap.anchors)]
    config: dict[str, Any] = {
        "AcceptEAPTypes": [EAP_TYPES[eap.method]],
        "UserName": eap.username,
        "UserPassword": ctx.secret(eap.password, (*path, "password"), "EAP password"),
        "OuterIdentity": eap.outer_identity,
        "TTLSInnerAuthentication": eap.inner_authentication,
        "PayloadCertificateAnchorUUID": [a.uuid for a in anchors] or None,
        "TLSTrustedServerNames": list(eap.server_names) or None,
        "TLSMinimumVersion": eap.tls_min,
        "TLSMaximumVersion": eap.tls_max,
    }
    missing = [
        what
        for what, have in (("anchors", anchors), ("server_names", eap.server_names))
        if not have
    ]
    if missing:
        system = bool(setup_modes and set(setup_modes) & {"System", "Loginwindow"})
        consequence = (
            "in System and Login Window mode nobody can be asked, so authentication fails"
            if system
            else "the device asks the user to trust the RADIUS server's certificate, and a "
            "rogue network can collect credentials with a look-alike one"
        )
        ctx.findings.append(
            make_finding(
                "MC404",
                f"{dotted(path)}: no {' and no '.join(missing)}: {consequence}",
                location=ctx.loc(*path),
                severity=Severity.ERROR if system else None,
            )
        )
    ctx.check_server(
        " ".join(eap.server_names),
        eap.server_certificate,
        path,
        setting=f"{dotted(path)}.server_names",
        purpose="eap",
        anchors=[a.certificate for a in anchors] or None,
    )
    return {k: v for k, v in config.items() if v is not None}, identity_uuid
