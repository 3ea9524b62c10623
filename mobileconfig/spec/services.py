"""The services a profile configures with its certificates: Wi-Fi, 802.1X Ethernet, mail,
Exchange, IKEv2 VPN and trust settings. Spec models, and the step that compiles them.

The spec refers to identities and certificates by name (an identity's key under
``identities:``; a certificate's ``name``, else its CN). :func:`compile_services` turns
each name into the target's PayloadUUID through :class:`References` and raises
:class:`~mobileconfig.errors.SpecError` at the spec's place when a name resolves to nothing
or to the wrong kind of thing, naming both ends. It returns the payloads and the findings
about them: platform support (MC401-MC403), trust and identity checks (MC404-MC412), and
Apple's TLS rules for every server whose certificate the spec gives (MC501-MC510, see
:mod:`mobileconfig.pki.tls`).

PayloadIdentifiers are ``<profile identifier>.<section>.<slug>`` with the slug taken from
the SSID, address, host or name (``com.example.wifi.examplecorp``), made unique in spec
order; PayloadUUIDs are :func:`~mobileconfig.payloads.base.derive_uuid` of both, so a rebuild
replaces each payload on the device instead of adding a second one.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from mobileconfig.errors import CertificateError, Location, SpecError
from mobileconfig.findings import Finding, Severity, make_finding
from mobileconfig.payloads.accounts import ExchangePayload, MailPayload
from mobileconfig.payloads.base import Payload, derive_uuid
from mobileconfig.payloads.network import (
    EAP_TYPES,
    EthernetPayload,
    FirstActiveEthernetPayload,
    FirstEthernetPayload,
    GlobalEthernetPayload,
    SecondActiveEthernetPayload,
    SecondEthernetPayload,
    ThirdActiveEthernetPayload,
    ThirdEthernetPayload,
    VPNPayload,
    WiFiPayload,
)
from mobileconfig.payloads.trust import (
    CertificateRevocationPayload,
    CertificateTransparencyPayload,
    ProfileRemovalPasswordPayload,
    RestrictionsPayload,
    SPKIHash,
    check_ct_domain,
)
from mobileconfig.pki.certs import Certificate, load_certificate_file
from mobileconfig.pki.tls import check_server_certificate
from mobileconfig.secrets import Secret, inline_secret_finding
from mobileconfig.spec._base import _Spec

__all__ = [
    "CertRef",
    "CertificateTransparencySpec",
    "EAPSpec",
    "EthernetSpec",
    "ExchangeSpec",
    "IKEv2Spec",
    "IdentityRef",
    "MailIncomingSpec",
    "MailOutgoingSpec",
    "MailSpec",
    "References",
    "RevocationSpec",
    "SMIMESpec",
    "ServerCertificateSpec",
    "ServicesLike",
    "ServicesSpec",
    "TrustSpec",
    "VPNSpec",
    "WiFiSpec",
    "compile_services",
    "platform_findings",
]

# =================================================================================================
# References
# =================================================================================================


@dataclass(frozen=True)
class IdentityRef:
    """An identity payload other payloads can point at."""

    uuid: str
    kind: Literal["pkcs12", "scep", "acme"]
    key_type: Literal["RSA", "EC"]
    key_bits: int
    certificate: Certificate | None = None  # known for pkcs12; None for scep/acme


@dataclass(frozen=True)
class CertRef:
    """A certificate payload (root, intermediate, or any other) of the profile."""

    uuid: str
    certificate: Certificate
    is_ca: bool


def _listing(names: Iterable[str], empty: str) -> str:
    items = sorted(names, key=str.lower)
    if not items:
        return empty
    if len(items) > 12:
        return ", ".join(items[:12]) + f" and {len(items) - 12} more"
    return ", ".join(items)


def _near(name: str, candidates: Iterable[str]) -> str | None:
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return lowered[name.lower()]
    if len(name) >= 4:
        for c in pool:  # 'Example Root' for 'Example Root CA'
            if c.lower().startswith(name.lower()) or name.lower().startswith(c.lower()):
                return c
    match = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return match[0] if match else None


@dataclass
class References:
    """What names in the spec resolve to: identities by their key under ``identities:``,
    certificates by their ``name`` or CN."""

    identities: dict[str, IdentityRef] = field(default_factory=dict)
    certificates: dict[str, CertRef] = field(default_factory=dict)

    def identity(self, name: str, *, path: str, location: Location | None) -> IdentityRef:
        """The identity called ``name``; SpecError naming ``path`` and the known identities."""
        ref = self.identities.get(name)
        if ref is not None:
            return ref
        known = _listing(self.identities, "none (define them under identities:)")
        near = _near(name, self.identities)
        hint = f"did you mean {near!r}?" if near else None
        if name in self.certificates:
            raise SpecError(
                f"{path}: {name!r} is a certificate, not an identity: a certificate without "
                f"its private key cannot authenticate; identities are: {known}",
                location=location,
                hint=hint or "add the PKCS#12 (or a SCEP/ACME entry) under identities:",
            )
        raise SpecError(
            f"{path}: {name!r} is not an identity; identities are: {known}",
            location=location,
            hint=hint,
        )

    def certificate(
        self, name: str, *, path: str, location: Location | None, ca: bool = False
    ) -> CertRef:
        """The certificate called ``name``; with ``ca``, it must be a CA certificate."""
        ref = self.certificates.get(name)
        cas = (
            [n for n, r in self.certificates.items() if r.is_ca] if ca else list(self.certificates)
        )
        kind = "CA certificate" if ca else "certificate"
        known = _listing(cas, "none (list them under certificates:)")
        if ref is not None:
            if ca and not ref.is_ca:
                raise SpecError(
                    f"{path}: {name!r} is a certificate but not a CA (no basicConstraints "
                    f"CA:TRUE); CA certificates are: {known}",
                    location=location,
                )
            return ref
        near = _near(name, cas)
        hint = f"did you mean {near!r}?" if near else None
        if name in self.identities:
            raise SpecError(
                f"{path}: {name!r} is an identity, not a {kind}; {kind}s are: {known}",
                location=location,
                hint=hint or "name a certificate listed under certificates:",
            )
        raise SpecError(
            f"{path}: {name!r} is not a {kind} of the profile; {kind}s are: {known}",
            location=location,
            hint=hint
            or "a certificate's name is its name: under certificates:, else its subject CN",
        )


# =================================================================================================
# Spec models
# =================================================================================================

_TLS = Literal["1.0", "1.1", "1.2", "1.3"]
_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
SetupMode = Literal["System", "Loginwindow"]


class ServerCertificateSpec(_Spec):
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


_ServerCert = str | ServerCertificateSpec


def _server_cert_description() -> str:
    return (
        "The server's certificate (file, relative to the spec) to check against Apple's "
        "TLS rules at build time, or {path, public_root}."
    )


def _host(value: str) -> str:
    text = value.strip()
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise ValueError(f"{value!r} is not a host name or address")
    return text


class MailIncomingSpec(_Spec):
    """The IMAP or POP server."""

    protocol: Literal["imap", "pop"] = Field("imap", description="imap or pop.")
    host: str = Field(description="The server's host name, as in its certificate.")
    port: int | None = Field(None, ge=1, le=65535, description="Default: the protocol's.")
    tls: bool = Field(True, description="Use TLS (IncomingMailServerUseSSL).")
    username: str | None = Field(None, description="Asked for at install when left out.")
    authentication: Literal["none", "password", "cram-md5", "ntlm", "http-md5"] = "password"
    password: Secret | None = Field(
        None, description="Embedded in the profile; prefer leaving it out (asked at install)."
    )
    path_prefix: str | None = Field(None, description="IMAP path prefix.")
    server_certificate: _ServerCert | None = Field(None, description=_server_cert_description())

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        return _host(value)


class MailOutgoingSpec(_Spec):
    """The SMTP server."""

    host: str = Field(description="The server's host name, as in its certificate.")
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
    server_certificate: _ServerCert | None = Field(None, description=_server_cert_description())

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        return _host(value)


class SMIMESpec(_Spec):
    """S/MIME identities by name (iOS and visionOS; macOS Mail uses the keychain)."""

    signing: str | None = Field(None, description="Identity that signs outgoing mail.")
    encryption: str | None = Field(None, description="Identity that decrypts incoming mail.")
    encrypt_by_default: bool | None = Field(None, description="SMIMEEncryptByDefault.")
    per_message_switch: bool | None = Field(
        None,
        description="Show the per-message encryption switch "
        "(SMIMEEnableEncryptionPerMessageSwitch).",
    )


class MailSpec(_Spec):
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


class ExchangeSpec(_Spec):
    """One Exchange ActiveSync account (com.apple.eas.account; iOS and visionOS)."""

    host: str | None = Field(None, description="The Exchange server; autodiscovered when left out.")
    email: str | None = Field(None, description="EmailAddress; asked for at install when left out.")
    user: str | None = Field(None, description="UserName (required for MDM installs).")
    password: Secret | None = None
    identity: str | None = Field(None, description="Identity for certificate authentication.")
    ssl: bool = Field(True, description="Use TLS (SSL).")
    name: str | None = Field(None, description="The account's name in Settings.")
    smime: SMIMESpec | None = None
    server_certificate: _ServerCert | None = Field(None, description=_server_cert_description())

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str | None) -> str | None:
        return None if value is None else _host(value)


class EAPSpec(_Spec):
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
    tls_min: _TLS | None = Field(None, description="TLSMinimumVersion.")
    tls_max: _TLS | None = Field(None, description="TLSMaximumVersion.")
    server_certificate: _ServerCert | None = Field(
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


class WiFiSpec(_Spec):
    """One Wi-Fi network (com.apple.wifi.managed)."""

    ssid: str = Field(min_length=1, description="The network name (at most 32 bytes).")
    security: Literal["WPA", "WPA2", "WPA3", "Any", "WEP", "None"] | None = Field(
        None,
        description="EncryptionType: default WPA2 with eap or password (joins WPA2 and "
        "WPA3), None for an open network.",
    )
    password: Secret | None = Field(None, description="Pre-shared key (WPA personal).")
    eap: EAPSpec | None = None
    hidden: bool = Field(False, description="HIDDEN_NETWORK.")
    auto_join: bool = Field(True, description="AutoJoin.")
    setup_modes: list[SetupMode] | None = Field(
        None, description="macOS: System (before login, for device identities) and/or Loginwindow."
    )

    @field_validator("ssid")
    @classmethod
    def _ssid(cls, value: str) -> str:
        if len(value.encode("utf-8")) > 32:
            raise ValueError(f"SSID {value!r} is over 32 bytes")
        return value

    @model_validator(mode="after")
    def _rules(self) -> WiFiSpec:
        if self.security == "None" and (self.password or self.eap):
            raise ValueError("security None is an open network: it takes no password or eap")
        if self.password and self.eap:
            raise ValueError("give password (personal) or eap (enterprise), not both")
        return self


_INTERFACES: dict[str, type[EthernetPayload]] = {
    "first-active": FirstActiveEthernetPayload,
    "second-active": SecondActiveEthernetPayload,
    "third-active": ThirdActiveEthernetPayload,
    "first": FirstEthernetPayload,
    "second": SecondEthernetPayload,
    "third": ThirdEthernetPayload,
    "global": GlobalEthernetPayload,
}


class EthernetSpec(_Spec):
    """802.1X on a wired interface (macOS; global also iOS and tvOS 17)."""

    interface: Literal[
        "first-active", "second-active", "third-active", "first", "second", "third", "global"
    ] = Field(
        "first-active",
        description="first-active (the first working port), first/second/third (service "
        "order), or global (every port).",
    )
    eap: EAPSpec
    setup_modes: list[SetupMode] | None = Field(None, description="macOS: System, Loginwindow.")


class IKEv2Spec(_Spec):
    """IKEv2 settings."""

    server: str = Field(description="RemoteAddress: the VPN server's host name or address.")
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
    server_certificate: _ServerCert | None = Field(None, description=_server_cert_description())

    @field_validator("server")
    @classmethod
    def _check_server(cls, value: str) -> str:
        return _host(value)

    @model_validator(mode="after")
    def _rules(self) -> IKEv2Spec:
        if not (self.identity or self.shared_secret or self.username):
            raise ValueError("give identity (certificate), shared_secret, or username (EAP)")
        if self.identity and self.shared_secret:
            raise ValueError("give identity or shared_secret, not both")
        if self.password and not self.username:
            raise ValueError("password needs username")
        return self


class VPNSpec(_Spec):
    """One VPN (com.apple.vpn.managed, IKEv2)."""

    name: str = Field(min_length=1, description="UserDefinedName, shown in Settings.")
    ikev2: IKEv2Spec


_CertName = str


class CertificateTransparencySpec(_Spec):
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


class RevocationSpec(_Spec):
    """Certificates whose revocation the device checks (iOS 14.2)."""

    enabled_for_certs: list[_CertName] = Field(
        default_factory=list,
        description="Certificate names; a CA enables checking for everything under it.",
    )


class TrustSpec(_Spec):
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


class ServicesSpec(_Spec):
    """The service sections of a spec, for use on their own (ProfileSpec has the same keys)."""

    wifi: list[WiFiSpec] = Field(default_factory=list)
    ethernet: list[EthernetSpec] = Field(default_factory=list)
    mail: list[MailSpec] = Field(default_factory=list)
    exchange: list[ExchangeSpec] = Field(default_factory=list)
    vpn: list[VPNSpec] = Field(default_factory=list)
    trust: TrustSpec | None = None


class ServicesLike(Protocol):
    """Anything with the service sections: :class:`ServicesSpec` or the ProfileSpec."""

    @property
    def wifi(self) -> Sequence[WiFiSpec]: ...
    @property
    def ethernet(self) -> Sequence[EthernetSpec]: ...
    @property
    def mail(self) -> Sequence[MailSpec]: ...
    @property
    def exchange(self) -> Sequence[ExchangeSpec]: ...
    @property
    def vpn(self) -> Sequence[VPNSpec]: ...
    @property
    def trust(self) -> TrustSpec | None: ...


# =================================================================================================
# Platform support
# =================================================================================================

_COMMON_KEYS = frozenset(
    {
        "PayloadType",
        "PayloadVersion",
        "PayloadIdentifier",
        "PayloadUUID",
        "PayloadDisplayName",
        "PayloadDescription",
        "PayloadOrganization",
    }
)

_NOTES: dict[tuple[str, str], str] = {
    (MailPayload.PAYLOAD_TYPE, "SMIME"): (
        "macOS Mail takes no S/MIME settings from a profile: it signs and encrypts with the "
        "identity in the keychain whose certificate carries the address, so install the "
        "identity and leave S/MIME to the user there"
    ),
}


@functools.lru_cache(maxsize=512)
def _support(text: str) -> dict[str, bool]:  # callers only read the result
    """'iOS* macOS' -> {'iOS': True (needs supervision), 'macOS': False}."""
    return {p.rstrip("*"): p.endswith("*") for p in text.split()}


def _lookup(table: Mapping[str, str], path: str) -> dict[str, bool]:
    while True:
        if path in table:
            return _support(table[path])
        if not path:
            return {}
        path = path.rpartition(".")[0]


def _present(value: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if not prefix and key in _COMMON_KEYS:
                continue
            path = f"{prefix}{key}"
            out.append(path)
            out.extend(_present(item, path + "."))
    elif isinstance(value, list):
        for item in value:
            for p in _present(item, prefix):
                if p not in out:
                    out.append(p)
    return out


def _names(items: Sequence[str]) -> str:
    return ", ".join(items)


def platform_findings(
    payload: Payload, platforms: Sequence[str], *, where: str, location: Location | None = None
) -> list[Finding]:
    """MC401 (payload unsupported), MC402 (keys ignored) and MC403 (needs supervision) for
    ``payload`` on each of ``platforms``, from the model's ``SUPPORT`` table."""
    table: Mapping[str, str] | None = getattr(type(payload), "SUPPORT", None)
    if not table:
        return []
    ptype = payload.payload_type
    base = _support(table.get("", ""))
    keys = _present(payload.to_plist())
    found: list[Finding] = []
    listed = " ".join(p + ("*" if s else "") for p, s in base.items())
    for os_ in platforms:
        if os_ not in base:
            found.append(
                make_finding(
                    "MC401",
                    f"{where}: {ptype} is not supported on {os_} "
                    f"(Apple's schema: {listed or 'none'}; * needs supervision); "
                    "the device refuses or ignores it",
                    location=location,
                    fix=f"Remove {os_} from platforms, or ship this payload in a profile for the "
                    "platforms that support it.",
                )
            )
            continue
        if base[os_]:
            found.append(
                make_finding(
                    "MC403",
                    f"{where}: {ptype} takes effect on {os_} only on supervised devices",
                    location=location,
                )
            )
        ignored: list[str] = []
        supervised: list[str] = []
        for key in keys:
            support = _lookup(table, key)
            if os_ not in support:
                ignored.append(key)
            elif support[os_] and not base[os_]:
                supervised.append(key)
        if ignored:
            note = next(
                (
                    text
                    for (pt, prefix), text in _NOTES.items()
                    if pt == ptype and os_ == "macOS" and any(k.startswith(prefix) for k in ignored)
                ),
                None,
            )
            found.append(
                make_finding(
                    "MC402",
                    f"{where}: {os_} ignores {_names(ignored)} ({ptype})"
                    + (f": {note}" if note else ""),
                    location=location,
                )
            )
        if supervised:
            found.append(
                make_finding(
                    "MC403",
                    f"{where}: {_names(supervised)} ({ptype}) "
                    f"take{'s' if len(supervised) == 1 else ''} effect on {os_} only on "
                    "supervised devices",
                    location=location,
                )
            )
    return found


# =================================================================================================
# Compiling
# =================================================================================================

_P = TypeVar("_P", bound=BaseModel)

_AUTH = {
    "none": "EmailAuthNone",
    "password": "EmailAuthPassword",
    "cram-md5": "EmailAuthCRAMMD5",
    "ntlm": "EmailAuthNTLM",
    "http-md5": "EmailAuthHTTPMD5",
}
_EC_TYPES = {256: "ECDSA256", 384: "ECDSA384", 521: "ECDSA521"}


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:48].strip("-")


class _Compiler:
    def __init__(
        self,
        refs: References,
        *,
        identifier: str,
        platforms: Sequence[str],
        base_dir: Path,
        location: Callable[..., Location],
        at: datetime | None,
        expiry_warning: timedelta,
    ) -> None:
        self.refs = refs
        self.identifier = identifier
        self.platforms = list(platforms)
        self.base_dir = base_dir
        self._location = location
        self.at = at
        self.expiry_warning = expiry_warning
        self.payloads: list[Payload] = []
        self.findings: list[Finding] = []
        self._ids: set[str] = set()
        self.bundle = [r.certificate for r in refs.certificates.values()]

    # -- helpers ----------------------------------------------------------------------------
    def loc(self, *path: str | int) -> Location:
        return self._location(*path)

    def pid(self, section: str, label: str | None, n: int) -> str:
        slug = _slug(label or "") or str(n + 1)
        pid = f"{self.identifier}.{section}.{slug}"
        k = 2
        while pid in self._ids:
            pid = f"{self.identifier}.{section}.{slug}-{k}"
            k += 1
        self._ids.add(pid)
        return pid

    def common(self, section: str, label: str | None, n: int, display: str) -> dict[str, Any]:
        pid = self.pid(section, label, n)
        return {
            "PayloadIdentifier": pid,
            "PayloadUUID": derive_uuid(self.identifier, pid),
            "PayloadDisplayName": display,
        }

    def make(self, cls: type[_P], data: dict[str, Any], path: Sequence[str | int]) -> _P:
        try:
            return cls.model_validate({k: v for k, v in data.items() if v is not None})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise SpecError(
                f"{_dotted(path)}: {where + ': ' if where else ''}{msg}", location=self.loc(*path)
            ) from None

    def add(self, payload: Payload, path: Sequence[str | int]) -> None:
        self.payloads.append(payload)
        self.findings.extend(
            platform_findings(
                payload, self.platforms, where=_dotted(path), location=self.loc(*path)
            )
        )

    def secret(self, secret: Secret | None, path: Sequence[str | int], what: str) -> str | None:
        if secret is None:
            return None
        where = self.loc(*path)
        inline = inline_secret_finding(secret, what=what, location=where)
        if inline is not None:
            self.findings.append(inline)
        self.findings.append(
            make_finding(
                "MC405", f"{_dotted(path)}: the {what} is embedded in the profile", location=where
            )
        )
        return secret.reveal()

    def _cas(self) -> list[str]:
        return [n for n, r in self.refs.certificates.items() if r.is_ca]

    def identity(self, name: str, path: Sequence[str | int]) -> IdentityRef:
        return self.refs.identity(name, path=_dotted(path), location=self.loc(*path))

    def certificate(self, name: str, path: Sequence[str | int], *, ca: bool = False) -> CertRef:
        return self.refs.certificate(name, path=_dotted(path), location=self.loc(*path), ca=ca)

    def server_chain(
        self, value: str | ServerCertificateSpec, path: Sequence[str | int]
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
                f"{_dotted(path)}: {exc.location or spec.path}: {exc.message}",
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
        value: str | ServerCertificateSpec | None,
        path: Sequence[str | int],
        *,
        setting: str,
        purpose: Literal["tls", "ikev2", "eap"] = "tls",
        anchors: Sequence[Certificate] | None = None,
    ) -> list[Certificate]:
        if value is None:
            return []
        cpath = (*path, "server_certificate")
        chain, public = self.server_chain(value, cpath)
        self.findings.extend(
            check_server_certificate(
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
        )
        return chain

    def usage(self, ref: IdentityRef, name: str, path: Sequence[str | int], use: str) -> None:
        """MC408 when the identity's certificate is not made for ``use``."""
        cert = ref.certificate
        if cert is None:
            return
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
        if problems:
            purpose = {
                "client": "client authentication",
                "signing": "S/MIME signing",
                "encryption": "S/MIME encryption",
            }[use]
            self.findings.append(
                make_finding(
                    "MC408",
                    f"{_dotted(path)}: identity {name!r} is used for {purpose}, but "
                    + " and ".join(problems),
                    certificate=cert.ref("identity certificate"),
                    location=self.loc(*path),
                )
            )

    # -- EAP (Wi-Fi and Ethernet) ---------------------------------------------------------------
    def eap(
        self, eap: EAPSpec, path: tuple[str | int, ...], setup_modes: Sequence[str] | None
    ) -> tuple[dict[str, Any], str | None]:
        identity_uuid: str | None = None
        if eap.identity:
            ref = self.identity(eap.identity, (*path, "identity"))
            identity_uuid = ref.uuid
            self.usage(ref, eap.identity, (*path, "identity"), "client")
        elif eap.method == "tls":
            raise SpecError(
                f"{_dotted(path)}: method tls authenticates with a certificate: name the "
                f"identity (identities are: {_listing(self.refs.identities, 'none')})",
                location=self.loc(*path),
                hint="add identity: <name> to eap",
            )
        anchors = [
            self.certificate(name, (*path, "anchors", i)) for i, name in enumerate(eap.anchors)
        ]
        config: dict[str, Any] = {
            "AcceptEAPTypes": [EAP_TYPES[eap.method]],
            "UserName": eap.username,
            "UserPassword": self.secret(eap.password, (*path, "password"), "EAP password"),
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
            self.findings.append(
                make_finding(
                    "MC404",
                    f"{_dotted(path)}: no {' and no '.join(missing)}: {consequence}",
                    location=self.loc(*path),
                    severity=Severity.ERROR if system else None,
                )
            )
        self.check_server(
            " ".join(eap.server_names),
            eap.server_certificate,
            path,
            setting=f"{_dotted(path)}.server_names",
            purpose="eap",
            anchors=[a.certificate for a in anchors] or None,
        )
        return {k: v for k, v in config.items() if v is not None}, identity_uuid

    # -- sections ---------------------------------------------------------------------------
    def wifi(self, items: Sequence[WiFiSpec]) -> None:
        for i, w in enumerate(items):
            path: tuple[str | int, ...] = ("wifi", i)
            config, identity_uuid = (
                self.eap(w.eap, (*path, "eap"), w.setup_modes) if w.eap else (None, None)
            )
            security = w.security or ("WPA2" if (w.eap or w.password) else "None")
            data = {
                "PayloadType": WiFiPayload.PAYLOAD_TYPE,
                **self.common("wifi", w.ssid, i, f"Wi-Fi {w.ssid}"),
                "SSID_STR": w.ssid,
                "HIDDEN_NETWORK": w.hidden,
                "AutoJoin": w.auto_join,
                "EncryptionType": security,
                "Password": self.secret(w.password, (*path, "password"), "Wi-Fi password"),
                "PayloadCertificateUUID": identity_uuid,
                "EAPClientConfiguration": config,
                "SetupModes": w.setup_modes,
            }
            self.add(self.make(WiFiPayload, data, path), path)

    def ethernet(self, items: Sequence[EthernetSpec]) -> None:
        for i, e in enumerate(items):
            path: tuple[str | int, ...] = ("ethernet", i)
            cls = _INTERFACES[e.interface]
            config, identity_uuid = self.eap(e.eap, (*path, "eap"), e.setup_modes)
            data = {
                "PayloadType": cls.PAYLOAD_TYPE,
                **self.common(
                    "ethernet", e.interface, i, f"802.1X Ethernet ({e.interface.replace('-', ' ')})"
                ),
                "Interface": cls.INTERFACE,
                "PayloadCertificateUUID": identity_uuid,
                "EAPClientConfiguration": config,
                "SetupModes": e.setup_modes,
            }
            self.add(self.make(cls, data, path), path)

    def smime(
        self, smime: SMIMESpec | None, path: tuple[str | int, ...], address: str | None
    ) -> dict[str, Any]:
        if smime is None:
            return {}
        out: dict[str, Any] = {}
        for use, name in (("signing", smime.signing), ("encryption", smime.encryption)):
            if not name:
                continue
            spot = (*path, use)
            ref = self.identity(name, spot)
            key = "Signing" if use == "signing" else "Encryption"
            out[f"SMIME{key}Enabled"] = True
            out[f"SMIME{key}CertificateUUID"] = ref.uuid
            self.usage(ref, name, spot, use)
            if ref.certificate is not None and address:
                self._address(ref.certificate, name, address, spot)
        out["SMIMEEncryptByDefault"] = smime.encrypt_by_default
        out["SMIMEEnableEncryptionPerMessageSwitch"] = smime.per_message_switch
        return out

    def _address(
        self, cert: Certificate, name: str, address: str, path: Sequence[str | int]
    ) -> None:
        emails: list[str] = []
        try:
            san = cert.x509.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            emails = [str(e) for e in san.value.get_values_for_type(x509.RFC822Name)]
        except x509.ExtensionNotFound:
            pass
        emails += [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
        if address.lower() not in {e.lower() for e in emails}:
            self.findings.append(
                make_finding(
                    "MC409",
                    f"{_dotted(path)}: identity {name!r} carries "
                    f"{_names(emails) if emails else 'no e-mail address'}, not {address}: Mail "
                    "will not sign or encrypt with it for this account",
                    certificate=cert.ref("identity certificate"),
                    location=self.loc(*path),
                    fix=f"Issue the S/MIME certificate with {address} in its subjectAltName "
                    "(rfc822Name), or use the identity issued for that address.",
                )
            )

    def _plain(self, tls: bool, host: str | None, path: Sequence[str | int], what: str) -> None:
        if not tls:
            server = f"{what} {host}" if host else what
            self.findings.append(
                make_finding(
                    "MC410",
                    f"{_dotted(path)}: {server} is reached without TLS: the password and the mail "
                    "cross the network readable",
                    location=self.loc(*path),
                )
            )

    def mail(self, items: Sequence[MailSpec]) -> None:
        for i, m in enumerate(items):
            path: tuple[str | int, ...] = ("mail", i)
            inc, out = m.incoming, m.outgoing
            label = m.address or inc.host
            data: dict[str, Any] = {
                "PayloadType": MailPayload.PAYLOAD_TYPE,
                **self.common("mail", label, i, m.description or f"Mail ({label})"),
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
                "IncomingPassword": self.secret(
                    inc.password, (*path, "incoming", "password"), "incoming mail password"
                ),
                "OutgoingMailServerAuthentication": _AUTH[out.authentication],
                "OutgoingMailServerHostName": out.host,
                "OutgoingMailServerPortNumber": out.port,
                "OutgoingMailServerUseSSL": out.tls,
                "OutgoingMailServerUsername": out.username,
                "OutgoingPassword": self.secret(
                    out.password, (*path, "outgoing", "password"), "outgoing mail password"
                ),
                "OutgoingPasswordSameAsIncomingPassword": out.same_password,
                "PreventMove": m.prevent_move,
                **self.smime(m.smime, (*path, "smime"), m.address),
            }
            self._plain(inc.tls, inc.host, (*path, "incoming"), "the incoming mail server")
            self._plain(out.tls, out.host, (*path, "outgoing"), "the outgoing mail server")
            self.add(self.make(MailPayload, data, path), path)
            for side, server in (("incoming", inc), ("outgoing", out)):
                if server.tls:
                    spot = (*path, side)
                    self.check_server(
                        server.host,
                        server.server_certificate,
                        spot,
                        setting=f"{_dotted(spot)}.host",
                    )

    def exchange(self, items: Sequence[ExchangeSpec]) -> None:
        for i, x in enumerate(items):
            path: tuple[str | int, ...] = ("exchange", i)
            uuid: str | None = None
            if x.identity:
                ref = self.identity(x.identity, (*path, "identity"))
                uuid = ref.uuid
                self.usage(ref, x.identity, (*path, "identity"), "client")
            label = x.email or x.host
            smime = self.smime(x.smime, (*path, "smime"), x.email)
            smime.pop("SMIMEEncryptionEnabled", None)  # deprecated for EAS since iOS 12
            data: dict[str, Any] = {
                "PayloadType": ExchangePayload.PAYLOAD_TYPE,
                **self.common("exchange", label, i, x.name or f"Exchange ({label or 'account'})"),
                "Host": x.host,
                "EmailAddress": x.email,
                "UserName": x.user,
                "Password": self.secret(x.password, (*path, "password"), "Exchange password"),
                "SSL": x.ssl,
                "PayloadCertificateUUID": uuid,
                **smime,
            }
            self._plain(x.ssl, x.host, path, "the Exchange server")
            self.add(self.make(ExchangePayload, data, path), path)
            if x.host and x.ssl:
                self.check_server(
                    x.host, x.server_certificate, path, setting=f"{_dotted(path)}.host"
                )

    def vpn(self, items: Sequence[VPNSpec]) -> None:
        for i, v in enumerate(items):
            path: tuple[str | int, ...] = ("vpn", i)
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
                ca_ref = self.certificate(k.server_ca, (*kpath, "server_ca"), ca=True)
                cn = ca_ref.certificate.common_name
                if not cn:
                    raise SpecError(
                        f"{_dotted((*kpath, 'server_ca'))}: {k.server_ca!r} has no CN, and "
                        "IKEv2 names the server's CA by its CN",
                        location=self.loc(*kpath, "server_ca"),
                    )
                settings["ServerCertificateIssuerCommonName"] = cn
            if k.identity:
                ref = self.identity(k.identity, (*kpath, "identity"))
                self.usage(ref, k.identity, (*kpath, "identity"), "client")
                if ca_ref is None:
                    raise SpecError(
                        f"{_dotted(kpath)}: certificate authentication needs server_ca, the CA "
                        "that issued the VPN server's certificate (Apple requires "
                        "ServerCertificateIssuerCommonName with CertificateType)",
                        location=self.loc(*kpath),
                        hint=f"CA certificates are: {_listing(self._cas(), 'none')}",
                    )
                settings["AuthenticationMethod"] = "Certificate"
                settings["PayloadCertificateUUID"] = ref.uuid
                settings["CertificateType"] = self._certificate_type(
                    ref, k.identity, (*kpath, "identity")
                )
                if local is None and ref.certificate is not None:
                    cert = ref.certificate
                    local = next(iter(cert.dns_names), None) or _email(cert) or cert.common_name
            elif k.shared_secret:
                settings["AuthenticationMethod"] = "SharedSecret"
                settings["SharedSecret"] = self.secret(
                    k.shared_secret, (*kpath, "shared_secret"), "IKEv2 shared secret"
                )
            else:
                settings["AuthenticationMethod"] = "None"
            if k.username:
                settings["ExtendedAuthEnabled"] = 1
                settings["AuthName"] = k.username
                settings["AuthPassword"] = self.secret(
                    k.password, (*kpath, "password"), "VPN password"
                )
                local = local or k.username
            if not local:
                raise SpecError(
                    f"{_dotted(kpath)}: set local_identifier: the identity's certificate is "
                    "not known before the device enrolls, so its name cannot be used",
                    location=self.loc(*kpath),
                )
            settings["LocalIdentifier"] = local
            data = {
                "PayloadType": VPNPayload.PAYLOAD_TYPE,
                **self.common("vpn", v.name, i, v.name),
                "VPNType": "IKEv2",
                "UserDefinedName": v.name,
                "IKEv2": {key: val for key, val in settings.items() if val is not None},
            }
            self.add(self.make(VPNPayload, data, path), path)
            name = k.server_name or k.remote_identifier or k.server
            chain = self.check_server(
                name,
                k.server_certificate,
                kpath,
                setting=f"{_dotted(kpath)}.server_name",
                purpose="ikev2",
            )
            if chain and ca_ref is not None:
                want = ca_ref.certificate.common_name
                if chain[0].issuer_common_name != want:
                    self.findings.append(
                        make_finding(
                            "MC406",
                            f"{_dotted(kpath)}: the VPN server's certificate is issued by "
                            f"{chain[0].issuer_common_name or chain[0].issuer_text!r}, but "
                            f"server_ca {k.server_ca!r} has CN {want!r}: the device asks the "
                            "server for a certificate from the wrong CA",
                            certificate=chain[0].ref("server certificate"),
                            location=self.loc(*kpath, "server_ca"),
                        )
                    )

    def _certificate_type(
        self, ref: IdentityRef, name: str, path: Sequence[str | int]
    ) -> str | None:
        if ref.key_type == "RSA":
            return "RSA"
        kind = _EC_TYPES.get(ref.key_bits)
        if kind is None:
            self.findings.append(
                make_finding(
                    "MC407",
                    f"{_dotted(path)}: identity {name!r} has an EC {ref.key_bits}-bit key; IKEv2 "
                    "takes RSA or ECDSA on P-256, P-384 or P-521",
                    location=self.loc(*path),
                )
            )
        return kind

    def trust(self, t: TrustSpec | None, removal_password: Secret | None) -> None:
        if t is not None:
            self._restrictions(t)
            if t.certificate_transparency is not None:
                self._transparency(t.certificate_transparency)
            if t.revocation is not None and t.revocation.enabled_for_certs:
                path: tuple[str | int, ...] = ("trust", "revocation")
                hashes = [
                    SPKIHash.of(self.certificate(n, (*path, "enabled_for_certs", j)).certificate)
                    for j, n in enumerate(t.revocation.enabled_for_certs)
                ]
                data = {
                    "PayloadType": CertificateRevocationPayload.PAYLOAD_TYPE,
                    **self.common("trust", "certificate-revocation", 0, "Certificate revocation"),
                    "EnabledForCerts": [h.model_dump(by_alias=True) for h in hashes],
                }
                self.add(self.make(CertificateRevocationPayload, data, path), path)
        if removal_password is not None:
            path = ("removal",)
            data = {
                "PayloadType": ProfileRemovalPasswordPayload.PAYLOAD_TYPE,
                **self.common("removal", "password", 0, "Removal password"),
                "RemovalPassword": self.secret(
                    removal_password, ("removal", "password"), "profile removal password"
                ),
            }
            self.add(self.make(ProfileRemovalPasswordPayload, data, path), path)

    def _restrictions(self, t: TrustSpec) -> None:
        keys = {
            "allowUntrustedTLSPrompt": t.untrusted_tls_prompt,
            "allowOTAPKIUpdates": t.ota_pki_updates,
            "allowEnterpriseAppTrust": t.enterprise_app_trust,
            "forceAutomaticDateAndTime": t.automatic_date_time,
        }
        if all(v is None for v in keys.values()):
            return
        path: tuple[str | int, ...] = ("trust",)
        if t.ota_pki_updates is False:
            self.findings.append(
                make_finding(
                    "MC411",
                    "trust.ota_pki_updates: false stops over-the-air trust store updates: the "
                    "devices keep trusting CAs Apple has distrusted, and miss new roots",
                    location=self.loc("trust", "ota_pki_updates"),
                )
            )
        data = {
            "PayloadType": RestrictionsPayload.PAYLOAD_TYPE,
            **self.common("trust", "restrictions", 0, "Trust restrictions"),
            **keys,
        }
        self.add(self.make(RestrictionsPayload, data, path), path)

    def _transparency(self, ct: CertificateTransparencySpec) -> None:
        path: tuple[str | int, ...] = ("trust", "certificate_transparency")
        if not ct.disabled_for_domains and not ct.disabled_for_certs:
            return
        hashes: list[SPKIHash] = []
        for j, name in enumerate(ct.disabled_for_certs):
            spot = (*path, "disabled_for_certs", j)
            ref = self.certificate(name, spot)
            cert = ref.certificate
            hashes.append(SPKIHash.of(cert))
            if (
                ref.is_ca
                and not cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
                and not _has_name_constraints(cert)
            ):
                self.findings.append(
                    make_finding(
                        "MC412",
                        f"{_dotted(spot)}: CA {name!r} has no organizationName in its subject "
                        "and no nameConstraints: Apple exempts certificates below a CA only when "
                        "the CA's subject has an O that the server certificate repeats, or "
                        "nameConstraints with a directoryName O",
                        certificate=cert.ref("CA certificate"),
                        location=self.loc(*spot),
                    )
                )
        data = {
            "PayloadType": CertificateTransparencyPayload.PAYLOAD_TYPE,
            **self.common("trust", "certificate-transparency", 0, "Certificate Transparency"),
            "DisabledForDomains": list(ct.disabled_for_domains) or None,
            "DisabledForCerts": [h.model_dump(by_alias=True) for h in hashes] or None,
        }
        self.add(self.make(CertificateTransparencyPayload, data, path), path)


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _email(cert: Certificate) -> str | None:
    try:
        san = cert.x509.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    names = san.value.get_values_for_type(x509.RFC822Name)
    return str(names[0]) if names else None


def _has_name_constraints(cert: Certificate) -> bool:
    try:
        cert.x509.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return False
    return True


def compile_services(
    spec: ServicesLike,
    refs: References,
    *,
    identifier: str,
    platforms: Sequence[str],
    base_dir: Path,
    location: Callable[..., Location],
    at: datetime | None = None,
    expiry_warning: timedelta = timedelta(days=30),
    removal_password: Secret | None = None,
) -> tuple[list[Payload], list[Finding]]:
    """The payloads of the spec's service sections, and the findings about them.

    ``spec`` has the sections ``wifi``, ``ethernet``, ``mail``, ``exchange``, ``vpn`` and
    ``trust`` (a :class:`ServicesSpec`, or the ProfileSpec). ``refs`` resolves the names
    they use. ``location(*path)`` gives the spec's place of a key path such as
    ``("mail", 0, "smime", "signing")``. Server certificate files are read relative to
    ``base_dir`` and checked at ``at`` (now when None). ``removal_password`` adds a
    com.apple.profileRemovalPassword payload.

    Payloads come in section order: wifi, ethernet, mail, exchange, vpn, then trust.
    Raises :class:`SpecError` for a name that resolves to nothing or to the wrong kind, and
    :class:`~mobileconfig.errors.CertificateError` for an unreadable server certificate.
    """
    c = _Compiler(
        refs,
        identifier=identifier,
        platforms=platforms,
        base_dir=Path(base_dir),
        location=location,
        at=at,
        expiry_warning=expiry_warning,
    )
    c.wifi(spec.wifi)
    c.ethernet(spec.ethernet)
    c.mail(spec.mail)
    c.exchange(spec.exchange)
    c.vpn(spec.vpn)
    c.trust(spec.trust, removal_password)
    return c.payloads, c.findings
