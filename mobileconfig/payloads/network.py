"""Network payloads that use certificates: Wi-Fi, 802.1X Ethernet (macOS) and IKEv2 VPN.

Field names are Pythonic; each alias is Apple's key exactly as its schema spells it
(``SSID_STR``, ``HIDDEN_NETWORK``, ``AcceptEAPTypes``, ``TLSTrustedServerNames``).
References to other payloads are their ``PayloadUUID``: the client identity is
``PayloadCertificateUUID`` at the top of the Wi-Fi or Ethernet dictionary (not inside
``EAPClientConfiguration``), trusted RADIUS anchors are
``EAPClientConfiguration.PayloadCertificateAnchorUUID``, and the VPN identity is
``IKEv2.PayloadCertificateUUID``. IKEv2 flags are the integers 0 and 1, never booleans.

Each model's ``SUPPORT`` table says where Apple's schema supports the payload (key ``""``)
and each key, as space-separated platform names, ``*`` marking "needs supervision there".
A key without its own entry inherits its parent's; see
:func:`mobileconfig.spec.services.platform_findings`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mobileconfig.payloads.base import Payload, register

__all__ = [
    "EAP_TYPES",
    "EAPClientConfiguration",
    "EthernetPayload",
    "FirstActiveEthernetPayload",
    "FirstEthernetPayload",
    "GlobalEthernetPayload",
    "IKEv2Settings",
    "SecondActiveEthernetPayload",
    "SecondEthernetPayload",
    "ThirdActiveEthernetPayload",
    "ThirdEthernetPayload",
    "VPNPayload",
    "WiFiPayload",
]

_SECRET_KEY = re.compile(r"Password|Secret|PIN", re.IGNORECASE)

#: EAP method names and Apple's ``AcceptEAPTypes`` numbers.
EAP_TYPES: dict[str, int] = {
    "tls": 13,
    "leap": 17,
    "sim": 18,
    "ttls": 21,
    "aka": 23,
    "peap": 25,
    "fast": 43,
}

_UUID = re.compile(r"^[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}$")


def _uuid(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError(f"{value!r} is not a PayloadUUID (8-4-4-4-12 characters)")
    return value


#: A reference to another payload of the same profile, by its PayloadUUID.
UUIDRef = Annotated[str, AfterValidator(_uuid)]


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("IKEv2 flags are the integers 0 or 1, not booleans")
    return value


#: An IKEv2 on/off flag: Apple wants ``<integer>`` 0 or 1.
Flag = Annotated[Literal[0, 1], BeforeValidator(_no_bool)]

TLSVersion = Literal["1.0", "1.1", "1.2", "1.3"]
_VERSIONS = ("1.0", "1.1", "1.2", "1.3")


class _AppleDict(BaseModel):
    """A dictionary nested inside a payload: Apple's keys, unknown keys refused."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")


# -- EAP ------------------------------------------------------------------------------------------
class EAPClientConfiguration(_AppleDict):
    """``EAPClientConfiguration``: how the device authenticates to the network (802.1X)."""

    accept_eap_types: list[Literal[13, 17, 18, 21, 23, 25, 43]] = Field(
        alias="AcceptEAPTypes",
        min_length=1,
        description="EAP methods: 13 TLS, 21 TTLS, 25 PEAP (17 LEAP, 18 SIM, 23 AKA, 43 FAST).",
    )
    user_name: str | None = Field(None, alias="UserName")
    user_password: str | None = Field(None, alias="UserPassword", repr=False)
    one_time_user_password: bool | None = Field(None, alias="OneTimeUserPassword")
    outer_identity: str | None = Field(
        None,
        alias="OuterIdentity",
        description="The name sent outside the tunnel (TTLS, PEAP, FAST), e.g. anonymous.",
    )
    payload_certificate_anchor_uuid: list[UUIDRef] | None = Field(
        None,
        alias="PayloadCertificateAnchorUUID",
        description="PayloadUUIDs of the certificate payloads trusted for the RADIUS server.",
    )
    tls_trusted_server_names: list[str] | None = Field(
        None,
        alias="TLSTrustedServerNames",
        description="Accepted server certificate names; wildcards such as wpa.*.example.com.",
    )
    tls_allow_trust_exceptions: bool | None = Field(None, alias="TLSAllowTrustExceptions")
    tls_certificate_is_required: bool | None = Field(None, alias="TLSCertificateIsRequired")
    ttls_inner_authentication: Literal["PAP", "EAP", "CHAP", "MSCHAP", "MSCHAPv2"] | None = Field(
        None, alias="TTLSInnerAuthentication"
    )
    tls_minimum_version: TLSVersion | None = Field(None, alias="TLSMinimumVersion")
    tls_maximum_version: TLSVersion | None = Field(None, alias="TLSMaximumVersion")
    system_mode_credentials_source: Literal["ActiveDirectory"] | None = Field(
        None, alias="SystemModeCredentialsSource"
    )
    system_mode_use_open_directory_credentials: bool | None = Field(
        None, alias="SystemModeUseOpenDirectoryCredentials"
    )
    tls_trusted_certificates: list[str] | None = Field(None, alias="TLSTrustedCertificates")
    eapfast_use_pac: bool | None = Field(None, alias="EAPFASTUsePAC")
    eapfast_provision_pac: bool | None = Field(None, alias="EAPFASTProvisionPAC")
    eapfast_provision_pac_anonymously: bool | None = Field(
        None, alias="EAPFASTProvisionPACAnonymously"
    )
    eapsim_number_of_rands: Literal[2, 3] | None = Field(None, alias="EAPSIMNumberOfRANDs")

    @model_validator(mode="after")
    def _rules(self) -> EAPClientConfiguration:
        lo, hi = self.tls_minimum_version, self.tls_maximum_version
        if lo and hi and _VERSIONS.index(lo) > _VERSIONS.index(hi):
            raise ValueError(f"TLSMinimumVersion {lo} is above TLSMaximumVersion {hi}")
        if lo == "1.3" and not self.outer_identity:
            raise ValueError("TLSMinimumVersion 1.3 needs OuterIdentity (Apple's rule)")
        if self.system_mode_credentials_source and self.system_mode_use_open_directory_credentials:
            raise ValueError(
                "use SystemModeCredentialsSource or SystemModeUseOpenDirectoryCredentials, not both"
            )
        return self


SetupMode = Literal["System", "Loginwindow"]


# -- Wi-Fi ----------------------------------------------------------------------------------------
@register
class WiFiPayload(Payload):
    """``com.apple.wifi.managed``: one Wi-Fi network, personal (``Password``) or enterprise
    (``EAPClientConfiguration``, with the identity in ``PayloadCertificateUUID``)."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.wifi.managed"
    SUPPORT: ClassVar[dict[str, str]] = {
        "": "iOS macOS tvOS visionOS watchOS",
        "EAPClientConfiguration.TLSAllowTrustExceptions": "macOS tvOS watchOS",
        "SetupModes": "macOS",
        "CaptiveBypass": "iOS tvOS visionOS watchOS",
        "DisableAssociationMACRandomization": "iOS macOS visionOS watchOS",
        "MCCAndMNCs": "iOS tvOS visionOS watchOS",
    }

    ssid_str: str | None = Field(
        None,
        alias="SSID_STR",
        min_length=1,
        description="The network's SSID (optional for Hotspot 2.0 with DomainName).",
    )
    hidden_network: bool | None = Field(None, alias="HIDDEN_NETWORK")
    auto_join: bool | None = Field(None, alias="AutoJoin")
    encryption_type: Literal["WEP", "WPA", "WPA2", "WPA3", "Any", "None"] | None = Field(
        None,
        alias="EncryptionType",
        description="WPA2 joins WPA2 or WPA3 networks (iOS 16, macOS 13 and later).",
    )
    password: str | None = Field(None, alias="Password", repr=False)
    payload_certificate_uuid: UUIDRef | None = Field(
        None,
        alias="PayloadCertificateUUID",
        description="PayloadUUID of the identity (pkcs12, scep, acme) for EAP-TLS.",
    )
    eap_client_configuration: EAPClientConfiguration | None = Field(
        None, alias="EAPClientConfiguration"
    )
    setup_modes: list[SetupMode] | None = Field(
        None, alias="SetupModes", description="macOS: System and/or Loginwindow mode."
    )
    # The other keys of Apple's schema, so that any Wi-Fi payload reads into this model.
    tls_certificate_required: bool | None = Field(None, alias="TLSCertificateRequired")
    enable_ipv6: bool | None = Field(None, alias="EnableIPv6")
    captive_bypass: bool | None = Field(None, alias="CaptiveBypass")
    disable_association_mac_randomization: bool | None = Field(
        None, alias="DisableAssociationMACRandomization"
    )
    proxy_type: Literal["None", "Manual", "Auto"] | None = Field(None, alias="ProxyType")
    proxy_server: str | None = Field(None, alias="ProxyServer")
    proxy_server_port: int | None = Field(None, alias="ProxyServerPort", ge=0, le=65535)
    proxy_username: str | None = Field(None, alias="ProxyUsername")
    proxy_password: str | None = Field(None, alias="ProxyPassword", repr=False)
    proxy_pac_url: str | None = Field(None, alias="ProxyPACURL")
    proxy_pac_fallback_allowed: bool | None = Field(None, alias="ProxyPACFallbackAllowed")
    domain_name: str | None = Field(None, alias="DomainName")
    displayed_operator_name: str | None = Field(None, alias="DisplayedOperatorName")
    is_hotspot: bool | None = Field(None, alias="IsHotspot")
    service_provider_roaming_enabled: bool | None = Field(
        None, alias="ServiceProviderRoamingEnabled"
    )
    roaming_consortium_ois: list[str] | None = Field(None, alias="RoamingConsortiumOIs")
    nai_realm_names: list[str] | None = Field(None, alias="NAIRealmNames")
    mcc_and_mncs: list[str] | None = Field(None, alias="MCCAndMNCs")
    hessid: str | None = Field(None, alias="HESSID")
    qos_marking_policy: dict[str, Any] | None = Field(None, alias="QoSMarkingPolicy")

    @model_validator(mode="after")
    def _rules(self) -> WiFiPayload:
        if self.ssid_str is None and self.domain_name is None:
            raise ValueError("a Wi-Fi payload needs SSID_STR (or DomainName for Hotspot 2.0)")
        if self.ssid_str is not None and len(self.ssid_str.encode("utf-8")) > 32:
            raise ValueError(f"SSID_STR {self.ssid_str!r} is over 32 bytes")
        if self.encryption_type == "None" and (
            self.password or self.eap_client_configuration or self.payload_certificate_uuid
        ):
            raise ValueError(
                "EncryptionType None takes no Password, EAPClientConfiguration "
                "or PayloadCertificateUUID"
            )
        return self


# -- 802.1X Ethernet --------------------------------------------------------------------------
class EthernetPayload(Payload):
    """802.1X on a wired interface: the Wi-Fi keys that apply to Ethernet, plus ``Interface``.

    Apple's schema leaves these types' keys open (``ANY``); Apple's documented examples use
    the Wi-Fi payload's ``EAPClientConfiguration``, ``PayloadCertificateUUID`` and
    ``SetupModes`` with an ``Interface`` naming the port (``FirstEthernet``,
    ``GlobalEthernet``). The spelling of the ``...ActiveEthernet`` interface names follows
    the same pattern and is unverified. Other keys read from a profile (Apple's examples
    carry Wi-Fi keys such as ``EncryptionType``) are kept as they were.
    """

    model_config = ConfigDict(extra="allow")

    INTERFACE: ClassVar[str] = ""
    SUPPORT: ClassVar[dict[str, str]] = {"": "macOS"}

    interface: str | None = Field(None, alias="Interface")
    payload_certificate_uuid: UUIDRef | None = Field(None, alias="PayloadCertificateUUID")
    eap_client_configuration: EAPClientConfiguration = Field(alias="EAPClientConfiguration")
    setup_modes: list[SetupMode] | None = Field(None, alias="SetupModes")

    def to_plist(self) -> dict[str, Any]:
        out = super().to_plist()
        out.update(self.model_extra or {})  # Wi-Fi keys Apple's examples also carry
        return out

    def __repr_args__(self) -> Any:
        # Keys kept as read are shown by name only when they may hold a secret.
        for key, value in super().__repr_args__():
            if key is not None and key in (self.model_extra or {}) and _SECRET_KEY.search(key):
                yield key, "***"
            else:
                yield key, value


@register
class FirstActiveEthernetPayload(EthernetPayload):
    """``com.apple.firstactiveethernet.managed``: the first Ethernet port that is up."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.firstactiveethernet.managed"
    INTERFACE: ClassVar[str] = "FirstActiveEthernet"


@register
class SecondActiveEthernetPayload(EthernetPayload):
    """``com.apple.secondactiveethernet.managed``."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.secondactiveethernet.managed"
    INTERFACE: ClassVar[str] = "SecondActiveEthernet"


@register
class ThirdActiveEthernetPayload(EthernetPayload):
    """``com.apple.thirdactiveethernet.managed``."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.thirdactiveethernet.managed"
    INTERFACE: ClassVar[str] = "ThirdActiveEthernet"


@register
class FirstEthernetPayload(EthernetPayload):
    """``com.apple.firstethernet.managed``: the first port in service order, up or not."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.firstethernet.managed"
    INTERFACE: ClassVar[str] = "FirstEthernet"


@register
class SecondEthernetPayload(EthernetPayload):
    """``com.apple.secondethernet.managed``."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.secondethernet.managed"
    INTERFACE: ClassVar[str] = "SecondEthernet"


@register
class ThirdEthernetPayload(EthernetPayload):
    """``com.apple.thirdethernet.managed``."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.thirdethernet.managed"
    INTERFACE: ClassVar[str] = "ThirdEthernet"


@register
class GlobalEthernetPayload(EthernetPayload):
    """``com.apple.globalethernet.managed``: the fallback for every Ethernet interface
    (macOS 10.13; iOS, iPadOS and tvOS 17)."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.globalethernet.managed"
    INTERFACE: ClassVar[str] = "GlobalEthernet"
    SUPPORT: ClassVar[dict[str, str]] = {
        "": "iOS macOS tvOS",
        "EAPClientConfiguration.TLSAllowTrustExceptions": "macOS tvOS",
        "SetupModes": "macOS",
    }


# -- VPN ---------------------------------------------------------------------------------------
class IKEv2Settings(_AppleDict):
    """The VPN payload's ``IKEv2`` dictionary (the subset this package writes and reads).

    With ``AuthenticationMethod`` ``Certificate``, ``PayloadCertificateUUID`` names the
    identity and ``CertificateType`` must match its key; ``ServerCertificateIssuerCommonName``
    makes the device ask the server for its certificate (a CERTREQ) and
    ``ServerCertificateCommonName`` is the name the server's certificate must carry
    (the remote identifier when unset).
    """

    remote_address: str = Field(alias="RemoteAddress", min_length=1)
    local_identifier: str = Field(alias="LocalIdentifier", min_length=1)
    remote_identifier: str = Field(alias="RemoteIdentifier", min_length=1)
    authentication_method: Literal["None", "SharedSecret", "Certificate"] = Field(
        alias="AuthenticationMethod"
    )
    certificate_type: Literal["RSA", "ECDSA256", "ECDSA384", "ECDSA521", "RSA-PSS"] | None = Field(
        None, alias="CertificateType"
    )
    payload_certificate_uuid: UUIDRef | None = Field(None, alias="PayloadCertificateUUID")
    shared_secret: str | None = Field(None, alias="SharedSecret", repr=False)
    extended_auth_enabled: Flag | None = Field(None, alias="ExtendedAuthEnabled")
    auth_name: str | None = Field(None, alias="AuthName")
    auth_password: str | None = Field(None, alias="AuthPassword", repr=False)
    server_certificate_issuer_common_name: str | None = Field(
        None, alias="ServerCertificateIssuerCommonName"
    )
    server_certificate_common_name: str | None = Field(None, alias="ServerCertificateCommonName")
    dead_peer_detection_rate: Literal["None", "Low", "Medium", "High"] | None = Field(
        None, alias="DeadPeerDetectionRate"
    )
    enable_certificate_revocation_check: Flag | None = Field(
        None, alias="EnableCertificateRevocationCheck"
    )
    enable_pfs: Flag | None = Field(None, alias="EnablePFS")
    disable_mobike: Flag | None = Field(None, alias="DisableMOBIKE")
    disable_redirect: Flag | None = Field(None, alias="DisableRedirect")
    disconnect_on_idle: Flag | None = Field(None, alias="DisconnectOnIdle")
    disconnect_on_idle_timer: int | None = Field(None, alias="DisconnectOnIdleTimer", ge=0)
    on_demand_enabled: Flag | None = Field(None, alias="OnDemandEnabled")
    use_configuration_attribute_internal_ip_subnet: Flag | None = Field(
        None, alias="UseConfigurationAttributeInternalIPSubnet"
    )
    nat_keep_alive_offload_enable: Flag | None = Field(None, alias="NATKeepAliveOffloadEnable")
    nat_keep_alive_interval: int | None = Field(None, alias="NATKeepAliveInterval", ge=20)
    mtu: int | None = Field(None, alias="MTU", ge=1280, le=1400)
    tls_minimum_version: Literal["1.0", "1.1", "1.2"] | None = Field(
        None, alias="TLSMinimumVersion"
    )
    tls_maximum_version: Literal["1.0", "1.1", "1.2"] | None = Field(
        None, alias="TLSMaximumVersion"
    )

    @model_validator(mode="after")
    def _rules(self) -> IKEv2Settings:
        if self.authentication_method == "Certificate" and not self.payload_certificate_uuid:
            raise ValueError("AuthenticationMethod Certificate needs PayloadCertificateUUID")
        if self.authentication_method == "SharedSecret" and not self.shared_secret:
            raise ValueError("AuthenticationMethod SharedSecret needs SharedSecret")
        if self.certificate_type and not self.server_certificate_issuer_common_name:
            raise ValueError(
                "CertificateType needs ServerCertificateIssuerCommonName (Apple's rule)"
            )
        return self


@register
class VPNPayload(Payload):
    """``com.apple.vpn.managed`` with ``VPNType`` IKEv2 (the type that uses certificates)."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.vpn.managed"
    SUPPORT: ClassVar[dict[str, str]] = {"": "iOS macOS tvOS visionOS"}

    vpn_type: Literal["IKEv2"] = Field("IKEv2", alias="VPNType")
    vpn_sub_type: Literal[""] | None = Field(
        None, alias="VPNSubType", description="Reserved for IKEv2: empty when present."
    )
    user_defined_name: str = Field(alias="UserDefinedName", min_length=1)
    ikev2: IKEv2Settings = Field(alias="IKEv2")
