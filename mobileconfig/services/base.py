"""What every service shares: the :class:`Service` record the registry lists, and the
:class:`CompileContext` a service's compile step works in.

The context is the profile being compiled as a service sees it: the profile identifier and
platforms, the names it can refer to (:class:`~mobileconfig.services.references.References`),
the spec's places, the validation time, and a sink for findings. It derives each payload's
identifiers (``<profile identifier>.<section>.<slug>``, made unique in spec order; the
PayloadUUID a :func:`~mobileconfig.payloads.base.derive_uuid` of both, so a rebuild replaces
each payload on the device instead of adding a second one), validates payload models into
one-line :class:`~mobileconfig.errors.SpecError` s, and runs the checks every service needs:
platform support (MC401-MC403), embedded secrets (MC405), identity usage (MC408) and Apple's
TLS rules for a server whose certificate the spec gives (MC501-MC510).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from mobileconfig.errors import CertificateError, Location, SpecError
from mobileconfig.findings import Finding, make_finding
from mobileconfig.payloads.base import Payload, derive_uuid
from mobileconfig.pki.certs import Certificate, load_certificate_file
from mobileconfig.pki.tls import check_server_certificate
from mobileconfig.secrets import Secret, inline_secret_finding
from mobileconfig.services.platforms import platform_findings
from mobileconfig.services.references import CertRef, IdentityRef, References
from mobileconfig.spec._base import SpecModel

__all__ = [
    "USE_PURPOSES",
    "BroughtCertificate",
    "CompileContext",
    "Host",
    "Locate",
    "PathKey",
    "ServerCert",
    "ServerCertificate",
    "ServerCertificateSpec",
    "Service",
    "Stage",
    "dotted",
    "usage_problems",
]

#: What an identity is used for (the ``use`` of :func:`usage_problems`), in words.
USE_PURPOSES = {
    "client": "client authentication",
    "signing": "S/MIME signing",
    "encryption": "S/MIME encryption",
}


def usage_problems(cert: Certificate, use: str) -> list[str]:
    """Why ``cert`` is not made for ``use`` (``client``, ``signing``, ``encryption``): the
    extendedKeyUsage and keyUsage it lacks; empty when it is fit. Shared by the spec's
    services and the checks of a received profile (MC408)."""
    wanted = {
        "client": (ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth"),
        "signing": (ExtendedKeyUsageOID.EMAIL_PROTECTION, "emailProtection"),
        "encryption": (ExtendedKeyUsageOID.EMAIL_PROTECTION, "emailProtection"),
    }[use]
    problems: list[str] = []
    eku = cert.extended_key_usage
    if (
        eku is not None
        and wanted[0] not in eku
        and (ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku)
    ):
        problems.append(f"its extendedKeyUsage lacks {wanted[1]}")
    ku = cert.key_usage
    if ku is not None:
        if use in ("client", "signing") and not ku.digital_signature:
            problems.append("its keyUsage lacks digitalSignature")
        if use == "encryption":
            if cert.key_type == "RSA" and not ku.key_encipherment:
                problems.append("its keyUsage lacks keyEncipherment")
            if cert.key_type == "EC" and not ku.key_agreement:
                problems.append("its keyUsage lacks keyAgreement")
    return problems


PathKey = tuple[str | int, ...]
#: The spec's place of a key path: ``locate("mail", 0, "smime", "signing")``.
Locate = Callable[..., Location]
#: ``identities`` services run first and may bring certificates and identities; ``services``
#: run once the certificates are final and refer to both by name.
Stage = Literal["identities", "services"]
#: How the service's key sits in the spec: a list of entries (``wifi: [...]``), a mapping of
#: named entries (``identities: {alice: ...}``), one mapping (``trust: {...}``), or a key that
#: ProfileSpec declares itself because it takes other forms too (``removal``).
Shape = Literal["list", "mapping", "single", "profile"]

_T = TypeVar("_T")
_P = TypeVar("_P", bound=BaseModel)


@dataclass(frozen=True)
class Service(Generic[_T]):
    """One service as the registry lists it."""

    key: str
    """The spec's key (``wifi``); also the section of the payloads' identifiers."""
    model: type[SpecModel]
    """The spec model of one entry (``WiFiSpec``)."""
    shape: Shape
    compile: Callable[[CompileContext, _T], list[Payload]]
    """Compile the key's value (None or empty when the spec leaves it out) to payloads;
    findings go to the context."""
    description: str = ""
    """The key's description in the spec's JSON Schema and reference."""
    stage: Stage = "services"

    def spec_field(self) -> tuple[Any, Any] | None:
        """The (annotation, Field) of the key in a spec model; None for ``profile`` keys."""
        if self.shape == "list":
            return list[self.model], Field(  # type: ignore[name-defined]
                default_factory=list, description=self.description
            )
        if self.shape == "mapping":
            return dict[str, self.model], Field(  # type: ignore[name-defined]
                default_factory=dict, description=self.description
            )
        if self.shape == "single":
            return self.model | None, Field(None, description=self.description)
        return None


# -- spec pieces several services share ------------------------------------------------------


class ServerCertificateSpec(SpecModel):
    """The certificate chain a server presents, to check against Apple's TLS rules."""

    path: str = Field(
        description="PEM/DER file with the server's certificate first, then its "
        "intermediates; relative to the spec's folder."
    )
    public_root: bool = Field(
        False,
        description="The server's certificate is from a public CA devices trust "
        "already: applies the 398-day limit; the chain is not checked "
        "against the profile's roots.",
    )


ServerCertificate = str | ServerCertificateSpec


#: The optional ``server_certificate:`` key of a service that names a TLS server.
ServerCert = Annotated[
    ServerCertificate | None,
    Field(
        description="The server's certificate (file, relative to the spec) to check against "
        "Apple's TLS rules at build time, or {path, public_root}."
    ),
]


def _check_host(value: str) -> str:
    text = value.strip()
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise ValueError(f"{value!r} is not a host name or address")
    return text


#: A host name or address: no spaces, no path.
Host = Annotated[str, AfterValidator(_check_host)]


def dotted(path: Sequence[str | int]) -> str:
    """``("mail", 0, "smime")`` -> ``mail[0].smime``: a key path as the spec reads."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:48].strip("-")


# -- the context -----------------------------------------------------------------------------


@dataclass
class BroughtCertificate:
    """A certificate a service found (inside a PKCS#12) that the profile must install too."""

    certificate: Certificate
    location: Location
    finding: Finding  # reported when the certificate joins the profile's bundle


@dataclass
class CompileContext:
    """The profile being compiled, as a service's compile step sees it."""

    refs: References
    identifier: str
    platforms: Sequence[str]
    base_dir: Path
    location: Locate
    at: datetime | None = None
    expiry_warning: timedelta = timedelta(days=30)
    findings: list[Finding] = field(default_factory=list)
    leaves: list[Certificate] = field(default_factory=list)
    """The identities' own certificates (checked with the chains, never installed alone)."""
    brought: list[BroughtCertificate] = field(default_factory=list)
    mdm: str | None = None
    """The MDM the profile is for (``mdm:``): its variables are filled in per device."""
    uuid: Callable[[str, str], str] = field(default=derive_uuid, repr=False)
    """Derives a payload's PayloadUUID from the profile's and its identifiers (a per-row
    fill passes one without a cache: its identifiers are new every row)."""
    _ids: set[str] = field(default_factory=set, init=False, repr=False)

    def depends(self, value: str | None, path: Sequence[str | int], check: str) -> bool:
        """True, with MC030, when ``value`` holds a variable of the spec's MDM: ``check``
        cannot be made before the MDM fills it in."""
        from mobileconfig.mdm import depends_on_variable, variable_finding

        if value is None or not depends_on_variable(value, self.mdm):
            return False
        assert self.mdm is not None
        self.findings.append(
            variable_finding(self.mdm, value, dotted(path), check, self.loc(*path))
        )
        return True

    @property
    def bundle(self) -> list[Certificate]:
        return [r.certificate for r in self.refs.certificates.values()]

    def loc(self, *path: str | int) -> Location:
        return self.location(*path)

    def common(self, section: str, label: str | None, n: int, display: str) -> dict[str, Any]:
        """PayloadIdentifier, PayloadUUID and PayloadDisplayName of a section's ``n``-th entry,
        its identifier's slug taken from ``label`` (else its number)."""
        slug = _slug(label or "") or str(n + 1)
        pid = f"{self.identifier}.{section}.{slug}"
        k = 2
        while pid in self._ids:
            pid = f"{self.identifier}.{section}.{slug}-{k}"
            k += 1
        self._ids.add(pid)
        return {
            "PayloadIdentifier": pid,
            "PayloadUUID": self.uuid(self.identifier, pid),
            "PayloadDisplayName": display,
        }

    def make(self, cls: type[_P], data: dict[str, Any], path: Sequence[str | int]) -> _P:
        """``cls`` from ``data`` (None values left out); a SpecError at ``path`` if refused."""
        try:
            return cls.model_validate({k: v for k, v in data.items() if v is not None})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise SpecError(
                f"{dotted(path)}: {where + ': ' if where else ''}{msg}", location=self.loc(*path)
            ) from None

    def payload(
        self, cls: type[Payload], data: dict[str, Any], path: Sequence[str | int]
    ) -> Payload:
        """:meth:`make`, then the platform checks of the payload (MC401-MC403)."""
        payload = self.make(cls, data, path)
        self.findings.extend(
            platform_findings(payload, self.platforms, where=dotted(path), location=self.loc(*path))
        )
        return payload

    def placeholder(self, secret: Secret) -> bool:
        """True when ``secret`` is written inline as one variable of the spec's MDM and
        nothing else (``$FLEET_VAR_NDES_SCEP_CHALLENGE``): the MDM puts the secret in, so the
        spec holds none and nothing secret is embedded."""
        from mobileconfig.mdm import find_variables

        if self.mdm is None or not secret.plain:
            return False
        value = secret.reveal()
        found = find_variables(value, self.mdm)
        return len(found) == 1 and found[0].text == value.strip()

    def inline(self, secret: Secret, path: Sequence[str | int], what: str) -> None:
        """The finding for a secret written in the spec itself, if it is."""
        if self.placeholder(secret):
            return
        inline = inline_secret_finding(secret, what=what, location=self.loc(*path))
        if inline is not None:
            self.findings.append(inline)

    def secret(self, secret: Secret | None, path: Sequence[str | int], what: str) -> str | None:
        """The secret's value to embed, with MC405 (and the inline-secret finding)."""
        if secret is None:
            return None
        where = self.loc(*path)
        if self.placeholder(secret):
            return secret.reveal()  # the MDM's variable, as written: no secret is embedded
        self.inline(secret, path, what)
        self.findings.append(
            make_finding(
                "MC405", f"{dotted(path)}: the {what} is embedded in the profile", location=where
            )
        )
        return secret.reveal()

    def ca_names(self) -> list[str]:
        return [n for n, r in self.refs.certificates.items() if r.is_ca]

    def identity(self, name: str, path: Sequence[str | int]) -> IdentityRef:
        return self.refs.identity(name, path=dotted(path), location=self.loc(*path))

    def certificate(self, name: str, path: Sequence[str | int], *, ca: bool = False) -> CertRef:
        return self.refs.certificate(name, path=dotted(path), location=self.loc(*path), ca=ca)

    def server_chain(
        self, value: ServerCertificate, path: Sequence[str | int]
    ) -> tuple[list[Certificate], bool]:
        spec = (
            value if isinstance(value, ServerCertificateSpec) else ServerCertificateSpec(path=value)
        )
        raw = Path(spec.path)
        file = raw if raw.is_absolute() else self.base_dir / raw
        try:
            certs = load_certificate_file(file, display=spec.path)
        except CertificateError as exc:
            raise CertificateError(
                f"{dotted(path)}: {exc.location or spec.path}: {exc.message}",
                location=self.loc(*path),
                hint=exc.hint,
            ) from None
        issuers = {c.issuer_der for c in certs}
        leaves = [c for c in certs if not c.is_ca and c.subject_der not in issuers]
        leaf = leaves[0] if leaves else certs[0]
        return [leaf, *(c for c in certs if c is not leaf)], spec.public_root

    def check_server(
        self,
        host: str,
        value: ServerCertificate | None,
        path: Sequence[str | int],
        *,
        setting: str,
        purpose: Literal["tls", "ikev2", "eap"] = "tls",
        anchors: Sequence[Certificate] | None = None,
    ) -> list[Certificate]:
        """Apple's TLS rules for the server's chain the spec gives; without one, MC511 says
        what was not checked (a RADIUS server's trust has its own findings)."""
        if value is None:
            if purpose != "eap":
                shown = f"{host}: its" if host else "the server's"
                self.findings.append(
                    make_finding(
                        "MC511",
                        f"{dotted(path)}: {shown} certificate was not checked against Apple's "
                        "TLS rules (name, serverAuth, key, validity, chain): the section gives "
                        "no server_certificate",
                        location=self.loc(*path),
                    )
                )
            return []
        # A host the MDM fills in per device: every rule but the name check still applies.
        per_device = self.depends(host, path, f"the name check of {setting}")
        cpath = (*path, "server_certificate")
        chain, public = self.server_chain(value, cpath)
        self.findings.extend(
            f
            for f in check_server_certificate(
                host,
                chain,
                bundle=self.bundle,
                anchors=anchors,
                at=self.at,
                public_root=public,
                location=self.loc(*cpath),
                purpose=purpose,
                expiry_warning=self.expiry_warning,
                setting=setting,
            )
            if not (per_device and f.code == "MC501")
        )
        return chain

    def usage(self, ref: IdentityRef, name: str, path: Sequence[str | int], use: str) -> None:
        """MC408 when the identity's certificate is not made for ``use``."""
        cert = ref.certificate
        if cert is None:
            return
        problems = usage_problems(cert, use)
        if problems:
            purpose = USE_PURPOSES[use]
            self.findings.append(
                make_finding(
                    "MC408",
                    f"{dotted(path)}: identity {name!r} is used for {purpose}, but "
                    + " and ".join(problems),
                    certificate=cert.ref("identity certificate"),
                    location=self.loc(*path),
                )
            )
