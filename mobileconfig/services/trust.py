"""Trust settings: the restrictions that bear on trust (untrusted TLS prompt, OTA PKI updates,
enterprise app trust, automatic time), Certificate Transparency exemptions and revocation
checking. The spec's ``trust:`` mapping, and its compile step.

Findings: MC411 (over-the-air trust store updates turned off) and MC412 (a CT exemption for a CA
Apple will not honour).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID
from pydantic import Field, field_validator

from mobileconfig.findings import make_finding
from mobileconfig.payloads.base import Payload
from mobileconfig.payloads.trust import (
    CertificateRevocationPayload,
    CertificateTransparencyPayload,
    RestrictionsPayload,
    SPKIHash,
    check_ct_domain,
)
from mobileconfig.pki.certs import Certificate
from mobileconfig.services.base import CompileContext, PathKey, Service, dotted
from mobileconfig.spec._base import SpecModel

__all__ = [
    "SERVICE",
    "CertificateTransparencySpec",
    "RevocationSpec",
    "TrustSpec",
    "compile_trust",
]

_CertName = str


class CertificateTransparencySpec(SpecModel):
    """Where Certificate Transparency is not enforced."""

    disabled_for_domains: list[str] = Field(
        default_factory=list,
        description="Domains; a leading dot includes subdomains (.corp.example.com); no wildcards.",
    )
    disabled_for_certs: list[_CertName] = Field(
        default_factory=list,
        description="Certificate names: the SHA-256 of each one's public key is exempted.",
    )

    @field_validator("disabled_for_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [check_ct_domain(d) for d in value]


class RevocationSpec(SpecModel):
    """Certificates whose revocation the device checks (iOS 14.2)."""

    enabled_for_certs: list[_CertName] = Field(
        default_factory=list,
        description="Certificate names; a CA enables checking for everything under it.",
    )


class TrustSpec(SpecModel):
    """Trust settings: restrictions, Certificate Transparency, revocation."""

    untrusted_tls_prompt: bool | None = Field(
        None,
        description="restrictions allowUntrustedTLSPrompt (iOS): false refuses untrusted "
        "HTTPS certificates without asking.",
    )
    ota_pki_updates: bool | None = Field(
        None, description="restrictions allowOTAPKIUpdates (iOS): false stops trust store updates."
    )
    enterprise_app_trust: bool | None = Field(
        None, description="restrictions allowEnterpriseAppTrust (iOS)."
    )
    automatic_date_time: bool | None = Field(
        None, description="restrictions forceAutomaticDateAndTime (supervised iOS, tvOS)."
    )
    certificate_transparency: CertificateTransparencySpec | None = None
    revocation: RevocationSpec | None = None


def compile_trust(ctx: CompileContext, t: TrustSpec | None) -> list[Payload]:
    if t is None:
        return []
    out = [_restrictions(ctx, t)]
    if t.certificate_transparency is not None:
        out.append(_transparency(ctx, t.certificate_transparency))
    if t.revocation is not None and t.revocation.enabled_for_certs:
        path: PathKey = ("trust", "revocation")
        hashes = [
            SPKIHash.of(ctx.certificate(n, (*path, "enabled_for_certs", j)).certificate)
            for j, n in enumerate(t.revocation.enabled_for_certs)
        ]
        data = {
            "PayloadType": CertificateRevocationPayload.PAYLOAD_TYPE,
            **ctx.common("trust", "certificate-revocation", 0, "Certificate revocation"),
            "EnabledForCerts": [h.model_dump(by_alias=True) for h in hashes],
        }
        out.append(ctx.payload(CertificateRevocationPayload, data, path))
    return [p for p in out if p is not None]


def _restrictions(ctx: CompileContext, t: TrustSpec) -> Payload | None:
    keys = {
        "allowUntrustedTLSPrompt": t.untrusted_tls_prompt,
        "allowOTAPKIUpdates": t.ota_pki_updates,
        "allowEnterpriseAppTrust": t.enterprise_app_trust,
        "forceAutomaticDateAndTime": t.automatic_date_time,
    }
    if all(v is None for v in keys.values()):
        return None
    path: PathKey = ("trust",)
    if t.ota_pki_updates is False:
        ctx.findings.append(
            make_finding(
                "MC411",
                "trust.ota_pki_updates: false stops over-the-air trust store updates: the "
                "devices keep trusting CAs Apple has distrusted, and miss new roots",
                location=ctx.loc("trust", "ota_pki_updates"),
            )
        )
    data = {
        "PayloadType": RestrictionsPayload.PAYLOAD_TYPE,
        **ctx.common("trust", "restrictions", 0, "Trust restrictions"),
        **keys,
    }
    return ctx.payload(RestrictionsPayload, data, path)


def _transparency(ctx: CompileContext, ct: CertificateTransparencySpec) -> Payload | None:
    path: PathKey = ("trust", "certificate_transparency")
    if not ct.disabled_for_domains and not ct.disabled_for_certs:
        return None
    hashes: list[SPKIHash] = []
    for j, name in enumerate(ct.disabled_for_certs):
        spot = (*path, "disabled_for_certs", j)
        ref = ctx.certificate(name, spot)
        cert = ref.certificate
        hashes.append(SPKIHash.of(cert))
        if (
            ref.is_ca
            and not cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
            and not _has_name_constraints(cert)
        ):
            ctx.findings.append(
                make_finding(
                    "MC412",
                    f"{dotted(spot)}: CA {name!r} has no organizationName in its subject "
                    "and no nameConstraints: Apple exempts certificates below a CA only when "
                    "the CA's subject has an O that the server certificate repeats, or "
                    "nameConstraints with a directoryName O",
                    certificate=cert.ref("CA certificate"),
                    location=ctx.loc(*spot),
                )
            )
    data = {
        "PayloadType": CertificateTransparencyPayload.PAYLOAD_TYPE,
        **ctx.common("trust", "certificate-transparency", 0, "Certificate Transparency"),
        "DisabledForDomains": list(ct.disabled_for_domains) or None,
        "DisabledForCerts": [h.model_dump(by_alias=True) for h in hashes] or None,
    }
    return ctx.payload(CertificateTransparencyPayload, data, path)


def _has_name_constraints(cert: Certificate) -> bool:
    try:
        cert.x509.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return False
    return True


SERVICE = Service(
    "trust",
    TrustSpec,
    "single",
    compile_trust,
    "Trust settings: restrictions, certificate transparency, revocation.",
)
