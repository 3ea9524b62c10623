"""The spec's ``identities:``: PKCS#12 files, PEM key + certificate, SCEP and ACME.

Every embedded identity leaves in the PKCS#12 encoding Apple devices accept (3DES bags,
SHA-1 MAC), written deterministically so a rebuilt profile is byte-identical, whatever the
input's encoding was. The leaf and its chain go through the chain validator; an
intermediate found only inside a PKCS#12 joins the profile's certificates (MC306).

This service runs in the ``identities`` stage, before the profile's certificates are final:
the other services refer to the identities it defines by name.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from mobileconfig.errors import IdentityError, Location, MobileconfigError, SpecError
from mobileconfig.files import read_limited
from mobileconfig.findings import Finding, make_finding
from mobileconfig.payloads.base import Payload, derive_uuid
from mobileconfig.pki.certs import MAX_CERTIFICATE_FILE, Certificate, load_certificates
from mobileconfig.secrets import Secret
from mobileconfig.services.base import BroughtCertificate, CompileContext, Service
from mobileconfig.services.references import IdentityRef
from mobileconfig.spec._base import SpecModel

__all__ = [
    "SERVICE",
    "ACMESettings",
    "IdentitySpec",
    "SCEPSettings",
    "SubjectAltNameSettings",
    "bundle_addition_finding",
    "compile_identities",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SubjectAltNameSettings(SpecModel):
    """Subject alternative names a SCEP or ACME request asks for."""

    dns: list[str] | None = Field(None, description="dNSName entries.")
    email: list[str] | None = Field(None, description="rfc822Name entries.")
    uri: list[str] | None = Field(None, description="uniformResourceIdentifier entries.")
    upn: str | None = Field(None, description="ntPrincipalName (user@REALM).")

    def to_apple(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dNSName": self.dns,
            "rfc822Name": self.email,
            "uniformResourceIdentifier": self.uri,
            "ntPrincipalName": self.upn,
        }
        return {k: v for k, v in out.items() if v is not None}


_USAGE = {"signing": 1, "encryption": 4, "both": 5}


class SCEPSettings(SpecModel):
    """A SCEP enrollment: the device makes its key and asks the SCEP server to certify it."""

    url: str = Field(description="The SCEP server's URL.")
    name: str | None = Field(None, description="Name the SCEP server uses to pick a CA.")
    subject: str = Field(description='Requested subject, e.g. "CN={{ serial }},O=Example Corp".')
    challenge: Secret | None = Field(None, description="The challenge: {env: NAME} or {file: P}.")
    key_size: Literal[2048, 4096] = Field(
        2048, description="RSA key size (Apple defaults to 1024: we always write it)."
    )
    key_usage: Literal["signing", "encryption", "both"] | None = Field(
        None, description="Key usage requested."
    )
    retries: int | None = Field(None, ge=0, description="Retries while the request is pending.")
    retry_delay: int | None = Field(None, ge=0, description="Seconds between retries.")
    ca_certificate: str | None = Field(
        None, description="The SCEP CA's certificate file; its fingerprint becomes CAFingerprint."
    )
    subject_alt_name: SubjectAltNameSettings | None = None
    key_is_extractable: bool | None = Field(None, description="macOS only.")
    allow_all_apps_access: bool | None = Field(None, description="macOS only.")


class ACMESettings(SpecModel):
    """An ACME enrollment (iOS 16, macOS 13.1 and later)."""

    directory_url: str = Field(description="The ACME directory URL (https).")
    client_identifier: Secret = Field(description="A unique identifier for this device.")
    key_type: Literal["RSA", "EC"] = Field("EC", description="EC (ECSECPrimeRandom) or RSA.")
    key_size: int = Field(256, description="EC 256/384/521; RSA 2048-4096.")
    hardware_bound: bool = Field(False, description="Key made in the Secure Enclave (EC 256/384).")
    attest: bool | None = Field(
        None, description="Attest the device and key (needs hardware_bound)."
    )
    subject: str = Field(description='Requested subject, e.g. "CN={{ user }}".')
    subject_alt_name: SubjectAltNameSettings | None = None
    key_usage: Literal["signing", "encryption", "both"] | None = None
    extended_key_usage: list[str] | None = Field(
        None, description="OIDs or names: clientAuth, serverAuth, emailProtection, ..."
    )
    key_is_extractable: bool | None = Field(None, description="macOS only.")
    allow_all_apps_access: bool | None = Field(None, description="macOS only.")


class IdentitySpec(SpecModel):
    """One identity: exactly one of pkcs12, key + certificate, scep or acme."""

    pkcs12: str | None = Field(None, description="A PKCS#12 (.p12/.pfx) file.")
    key: str | None = Field(None, description="A PEM private key (with certificate).")
    certificate: str | None = Field(None, description="The PEM certificate matching key.")
    chain: list[str] = Field(default_factory=list, description="Intermediates for key+certificate.")
    key_password: Secret | None = Field(None, description="The PEM key's password, if encrypted.")
    password: Secret | None = Field(
        None,
        description="The PKCS#12's password (for key+certificate: the password of the PKCS#12 "
        "we make). From {env: NAME}, {file: PATH} or {prompt: true}; never printed.",
    )
    embed_password: bool = Field(
        True,
        description="Put the password in the profile (Apple only obfuscates it); false "
        "makes the device ask for it at install.",
    )
    pkcs12_format: Literal["apple", "modern"] = Field(
        "apple",
        description="apple (3DES, SHA-1 MAC: every device reads it) or modern "
        "(AES-256, SHA-256 MAC: refused by many devices with 'The password for the certificate "
        "is incorrect').",
    )
    display_name: str | None = Field(None, description="PayloadDisplayName (default: the name).")
    allow_all_apps_access: bool | None = Field(None, description="macOS only.")
    key_is_extractable: bool | None = Field(None, description="macOS only.")
    scep: SCEPSettings | None = None
    acme: ACMESettings | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> IdentitySpec:
        kinds = [
            k
            for k, on in (
                ("pkcs12", self.pkcs12 is not None),
                ("key+certificate", self.key is not None or self.certificate is not None),
                ("scep", self.scep is not None),
                ("acme", self.acme is not None),
            )
            if on
        ]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            raise ValueError(
                "an identity is exactly one of pkcs12, key+certificate, scep or acme "
                f"(found: {found})"
            )
        if kinds == ["key+certificate"] and (self.key is None or self.certificate is None):
            raise ValueError("key and certificate go together")
        if kinds[0] in ("pkcs12", "key+certificate") and self.password is None:
            raise ValueError("this identity needs a password: {env: NAME} or {file: PATH}")
        return self

    @property
    def kind(self) -> Literal["pkcs12", "pem", "scep", "acme"]:
        if self.pkcs12 is not None:
            return "pkcs12"
        if self.scep is not None:
            return "scep"
        if self.acme is not None:
            return "acme"
        return "pem"


def _read(path: Path, where: Location, what: str) -> bytes:
    def error(problem: str) -> SpecError:
        hint = "paths are relative to the spec's folder" if problem == "not found" else None
        return SpecError(f"{what} {str(path)!r} {problem}", location=where, hint=hint)

    # Regular files only, bounded: a FIFO would hang, /dev/zero would never end.
    return read_limited(path, MAX_CERTIFICATE_FILE, error=error)


def _usage(value: str | None) -> int | None:
    return _USAGE[value] if value else None


def _reveal(secret: Secret, where: Location) -> str:
    try:
        return secret.reveal()
    except MobileconfigError as exc:
        raise SpecError(exc.message, location=exc.location or where, hint=exc.hint) from None


def compile_identities(ctx: CompileContext, identities: dict[str, IdentitySpec]) -> list[Payload]:
    """The payloads of every identity. Each identity becomes a name other services can refer
    to (``ctx.refs.identities``); a PKCS#12's certificate joins ``ctx.leaves`` and the
    intermediates inside it ``ctx.brought`` (the compiler adds them to the profile, MC306)."""
    out: list[Payload] = []
    for name, spec in identities.items():
        where = ctx.loc("identities", name)
        if not _NAME.match(name):
            raise SpecError(
                f"identity name {name!r}: use letters, digits, '.', '_' or '-'", location=where
            )
        pid = f"{ctx.identifier}.identity.{name}"
        uuid = derive_uuid(ctx.identifier, pid)
        common: dict[str, Any] = {
            "PayloadIdentifier": pid,
            "PayloadUUID": uuid,
            "PayloadDisplayName": spec.display_name or name,
        }
        for label, secret in (("password", spec.password), ("key_password", spec.key_password)):
            if secret is not None:
                ctx.inline(secret, ("identities", name, label), f"{label} of identity '{name}'")
        compile_kind = {"pkcs12": _embedded, "pem": _embedded, "scep": _scep, "acme": _acme}
        try:
            payload, ref = compile_kind[spec.kind](ctx, name, spec, common)
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise SpecError(f"identity '{name}': {msg}", location=where) from None
        except IdentityError as exc:
            raise IdentityError(exc.message, location=where, hint=exc.hint) from None
        ctx.refs.identities[name] = ref
        out.append(payload)
    return out


def _embedded(
    ctx: CompileContext, name: str, spec: IdentitySpec, common: dict[str, Any]
) -> tuple[Payload, IdentityRef]:
    """A PKCS#12 file, or a PEM key and certificate, re-encoded the way devices accept."""
    from mobileconfig.payloads.identity import PKCS12Payload
    from mobileconfig.pki.identities import (
        encode_pkcs12,
        identity_findings,
        identity_from_pem,
        load_pkcs12,
    )

    where, base_dir = ctx.loc("identities", name), ctx.base_dir
    assert spec.password is not None
    password = _reveal(spec.password, ctx.loc("identities", name, "password"))
    if spec.kind == "pkcs12":
        assert spec.pkcs12 is not None
        data = _read(base_dir / spec.pkcs12, ctx.loc("identities", name, "pkcs12"), "PKCS#12")
        identity = load_pkcs12(data, password.encode(), name=name, source=spec.pkcs12)
    else:
        assert spec.key is not None and spec.certificate is not None
        key_pw = (
            _reveal(spec.key_password, where).encode() if spec.key_password is not None else None
        )
        identity = identity_from_pem(
            _read(base_dir / spec.key, where, "key"),
            _read(base_dir / spec.certificate, where, "certificate"),
            [_read(base_dir / c, where, "chain file") for c in spec.chain],
            key_password=key_pw,
            name=name,
            source=spec.certificate,
        )
    blob = encode_pkcs12(
        identity,
        password.encode(),
        format=spec.pkcs12_format,
        deterministic=spec.pkcs12_format == "apple",
    )
    payload = PKCS12Payload.model_validate(
        {
            **common,
            "PayloadType": PKCS12Payload.PAYLOAD_TYPE,
            "PayloadContent": blob,
            "Password": password if spec.embed_password else None,
            "PayloadCertificateFileName": f"{name}.p12",
            "AllowAllAppsAccess": spec.allow_all_apps_access,
            "KeyIsExtractable": spec.key_is_extractable,
        }
    )
    ctx.findings.extend(
        identity_findings(
            identity,
            format=spec.pkcs12_format,
            embedded_password=spec.embed_password,
            location=where,
        )
    )
    leaf = copy.copy(identity.certificate)  # the loaded identity may be cached
    leaf.origin, leaf.name = where, name
    ctx.leaves.append(leaf)
    for cert in identity.chain:
        extra = copy.copy(cert)
        extra.origin = where
        ctx.brought.append(
            BroughtCertificate(extra, where, bundle_addition_finding(extra, name, where))
        )
    key_type: Literal["RSA", "EC"] = "EC" if leaf.key_type == "EC" else "RSA"
    return payload, IdentityRef(common["PayloadUUID"], "pkcs12", key_type, leaf.key_bits, leaf)


def _scep(
    ctx: CompileContext, name: str, spec: IdentitySpec, common: dict[str, Any]
) -> tuple[Payload, IdentityRef]:
    """A SCEP enrollment: the device makes its key and asks the SCEP server to certify it."""
    from mobileconfig.payloads.identity import SCEPPayload, ca_fingerprint, scep_findings

    s = spec.scep
    assert s is not None
    challenge_at = ("identities", name, "scep", "challenge")
    content: dict[str, Any] = {
        "URL": s.url,
        "Name": s.name,
        "Subject": s.subject,
        "Challenge": _reveal(s.challenge, ctx.loc(*challenge_at))
        if s.challenge is not None
        else None,
        "Keysize": s.key_size,
        "Key Type": "RSA",
        "Key Usage": _usage(s.key_usage),
        "Retries": s.retries,
        "RetryDelay": s.retry_delay,
        "SubjectAltName": s.subject_alt_name.to_apple() if s.subject_alt_name else None,
        "KeyIsExtractable": s.key_is_extractable,
        "AllowAllAppsAccess": s.allow_all_apps_access,
    }
    if s.challenge is not None:
        ctx.inline(s.challenge, challenge_at, f"SCEP challenge of identity '{name}'")
    if s.ca_certificate:
        cwhere = ctx.loc("identities", name, "scep", "ca_certificate")
        ca = load_certificates(
            _read(ctx.base_dir / s.ca_certificate, cwhere, "CA certificate"),
            source=s.ca_certificate,
        )[0]
        content["CAFingerprint"] = ca_fingerprint(ca)
    # A URL the MDM fills in per device ($FLEET_VAR_NDES_SCEP_PROXY_URL) is checked once it
    # is a URL: a stand-in passes the model's check, and the placeholder goes back in.
    url_path = ("identities", name, "scep", "url")
    per_device = ctx.depends(s.url, url_path, "the SCEP URL check")
    if per_device:
        content["URL"] = "https://mdm-variable.invalid/"
    payload = SCEPPayload.model_validate(
        {
            **common,
            "PayloadType": SCEPPayload.PAYLOAD_TYPE,
            "PayloadContent": {k: v for k, v in content.items() if v is not None},
        }
    )
    if per_device:
        filled = payload.payload_content.model_copy(update={"url": s.url})
        payload = payload.model_copy(update={"payload_content": filled})
    where = ctx.loc("identities", name)
    ctx.findings.extend(scep_findings(payload.payload_content, location=where))
    return payload, IdentityRef(common["PayloadUUID"], "scep", "RSA", s.key_size)


def _acme(
    ctx: CompileContext, name: str, spec: IdentitySpec, common: dict[str, Any]
) -> tuple[Payload, IdentityRef]:
    """An ACME enrollment (iOS 16, macOS 13.1 and later)."""
    from mobileconfig.payloads.identity import ACMEPayload

    a = spec.acme
    assert a is not None
    ctx.inline(
        a.client_identifier,
        ("identities", name, "acme", "client_identifier"),
        f"ACME client identifier of identity '{name}'",
    )
    payload = ACMEPayload.model_validate(
        {
            **common,
            "PayloadType": ACMEPayload.PAYLOAD_TYPE,
            "DirectoryURL": a.directory_url,
            "ClientIdentifier": _reveal(a.client_identifier, ctx.loc("identities", name)),
            "KeyType": "RSA" if a.key_type == "RSA" else "ECSECPrimeRandom",
            "KeySize": a.key_size,
            "HardwareBound": a.hardware_bound,
            "Attest": a.attest,
            "Subject": a.subject,
            "SubjectAltName": a.subject_alt_name.to_apple() if a.subject_alt_name else None,
            "UsageFlags": _usage(a.key_usage),
            "ExtendedKeyUsage": a.extended_key_usage,
            "KeyIsExtractable": a.key_is_extractable,
            "AllowAllAppsAccess": a.allow_all_apps_access,
        }
    )
    return payload, IdentityRef(common["PayloadUUID"], "acme", a.key_type, a.key_size)


def bundle_addition_finding(cert: Certificate, identity: str, where: Location) -> Finding:
    return make_finding(
        "MC306",
        f"'{cert.display_name}' was found only inside identity '{identity}''s PKCS#12; it is "
        "installed as its own certificate payload so the chain reaches a root on the device",
        certificate=cert.ref("intermediate"),
        location=where,
    )


SERVICE = Service(
    "identities",
    IdentitySpec,
    "mapping",
    compile_identities,
    "Named identities: pkcs12, key + certificate, scep or acme. Other sections "
    "refer to them by name.",
    stage="identities",
)
