"""Wi-Fi, 802.1X Ethernet, mail, Exchange, IKEv2 VPN and trust payloads: Apple's schema,
references by name, platforms, and the TLS rules for the servers they name."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError

from mobileconfig.errors import Location, SpecError
from mobileconfig.findings import Finding, Severity
from mobileconfig.payloads.base import Payload, Profile, derive_uuid
from mobileconfig.payloads.certificates import PKCS1CertificatePayload, RootCertificatePayload
from mobileconfig.payloads.identity import ACMEPayload, PKCS12Payload, SCEPPayload
from mobileconfig.payloads.network import VPNPayload, WiFiPayload
from mobileconfig.payloads.trust import RestrictionsPayload
from mobileconfig.pki.certs import Certificate
from mobileconfig.secrets import Secret
from mobileconfig.services.platforms import platform_findings
from mobileconfig.services.references import CertRef, IdentityRef, References
from mobileconfig.services.registry import ServicesSpec, compile_services
from mobileconfig.services.removal import RemovalPassword

from apple_schema import conform
from pki import DAY, NOW, Issued, issue, make_key

ID = "com.example.services"
IDENTITY_TYPES = {PKCS12Payload, SCEPPayload, ACMEPayload}
CERT_TYPES = {RootCertificatePayload, PKCS1CertificatePayload}


def where(*path: str | int) -> Location:
    """The spec location stub: the key path itself, so tests can see where a finding points."""
    text = ""
    for p in path:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else p)
    return Location(text or "<top>", 1)


# -- a small PKI and the payloads names resolve to ---------------------------------------------
class World:
    def __init__(self) -> None:
        self.root = issue(
            "Example Root CA",
            key=make_key("rsa2048", slot=1),
            not_before=NOW - 2000 * DAY,
            not_after=NOW + 3000 * DAY,
        )
        self.inter = self.root.issue(
            "Example Issuing CA",
            key=make_key("rsa2048", slot=2),
            path_length=0,
            not_before=NOW - 900 * DAY,
            not_after=NOW + 2000 * DAY,
        )
        no_o = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bare Root")])
        self.bare = issue("Bare Root", subject=no_o, key=make_key("ec256"))
        mail_san = x509.SubjectAlternativeName([x509.RFC822Name("alice@example.com")])
        self.alice = self.inter.issue(
            "Alice",
            key=make_key("rsa2048", slot=3),
            ca=False,
            eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH],
            extra_extensions=[(mail_san, False)],
            not_before=NOW - 10 * DAY,
            not_after=NOW + 300 * DAY,
        )
        self.server_leaf = self.inter.issue(
            "vpn-client",
            key=make_key("rsa2048", slot=3),
            ca=False,
            eku=[ExtendedKeyUsageOID.SERVER_AUTH],
            not_before=NOW - 10 * DAY,
            not_after=NOW + 300 * DAY,
        )
        self.refs = References(
            identities={
                "alice": IdentityRef(
                    derive_uuid(ID, "id.alice"), "pkcs12", "RSA", 2048, Certificate(self.alice.cert)
                ),
                "device": IdentityRef(derive_uuid(ID, "id.device"), "scep", "RSA", 2048),
                "phone": IdentityRef(derive_uuid(ID, "id.phone"), "acme", "EC", 384),
                "oddkey": IdentityRef(derive_uuid(ID, "id.odd"), "acme", "EC", 224),
                "server-as-identity": IdentityRef(
                    derive_uuid(ID, "id.srv"),
                    "pkcs12",
                    "RSA",
                    2048,
                    Certificate(self.server_leaf.cert),
                ),
            },
            certificates={
                "Example Root CA": CertRef(
                    derive_uuid(ID, "c.root"), Certificate(self.root.cert), True
                ),
                "Example Issuing CA": CertRef(
                    derive_uuid(ID, "c.inter"), Certificate(self.inter.cert), True
                ),
                "Bare Root": CertRef(derive_uuid(ID, "c.bare"), Certificate(self.bare.cert), True),
                "vpn-client": CertRef(
                    derive_uuid(ID, "c.leaf"), Certificate(self.server_leaf.cert), False
                ),
            },
        )

    def targets(self) -> list[Payload]:
        """The identity and certificate payloads the References point at."""
        ids = self.refs.identities
        certs = self.refs.certificates
        out: list[Payload] = [
            PKCS12Payload(
                PayloadType="com.apple.security.pkcs12",
                PayloadIdentifier="id.alice",
                PayloadUUID=ids["alice"].uuid,
                PayloadContent=b"p12",
            ),
            PKCS12Payload(
                PayloadType="com.apple.security.pkcs12",
                PayloadIdentifier="id.srv",
                PayloadUUID=ids["server-as-identity"].uuid,
                PayloadContent=b"p12",
            ),
            SCEPPayload.model_validate(
                {
                    "PayloadType": "com.apple.security.scep",
                    "PayloadIdentifier": "id.device",
                    "PayloadUUID": ids["device"].uuid,
                    "PayloadContent": {"URL": "https://scep.example.com/scep"},
                }
            ),
        ]
        for name in ("phone", "oddkey"):
            out.append(
                ACMEPayload.model_validate(
                    {
                        "PayloadType": "com.apple.security.acme",
                        "PayloadIdentifier": f"id.{name}",
                        "PayloadUUID": ids[name].uuid,
                        "DirectoryURL": "https://acme.example.com/dir",
                        "ClientIdentifier": "x",
                        "KeyType": "ECSECPrimeRandom",
                        "KeySize": 384,
                        "HardwareBound": False,
                        "Subject": "CN=phone",
                    }
                )
            )
        for name, ref in certs.items():
            cls = RootCertificatePayload if ref.certificate.self_signed else PKCS1CertificatePayload
            out.append(
                cls(
                    PayloadType=cls.PAYLOAD_TYPE,
                    PayloadIdentifier=f"c.{name}",
                    PayloadUUID=ref.uuid,
                    PayloadContent=ref.certificate.der,
                )
            )
        return out


@pytest.fixture(scope="module")
def world() -> World:
    return World()


FULL: dict[str, Any] = {
    "wifi": [
        {
            "ssid": "ExampleCorp",
            "eap": {
                "method": "tls",
                "identity": "device",
                "server_names": ["radius.example.com"],
                "anchors": ["Example Root CA"],
                "tls_min": "1.2",
            },
        },
        {"ssid": "Guests"},
        {"ssid": "Lab", "password": {"env": "LAB_PSK"}, "hidden": True, "auto_join": False},
        {
            "ssid": "Legacy",
            "eap": {
                "method": "peap",
                "username": "bob",
                "server_names": ["radius.example.com"],
                "anchors": ["Example Issuing CA"],
            },
        },
    ],
    "ethernet": [
        {
            "interface": "first-active",
            "eap": {
                "method": "tls",
                "identity": "device",
                "server_names": ["radius.example.com"],
                "anchors": ["Example Root CA"],
            },
            "setup_modes": ["System"],
        },
        {
            "interface": "global",
            "eap": {
                "method": "ttls",
                "inner_authentication": "PAP",
                "server_names": ["radius.example.com"],
                "anchors": ["Example Root CA"],
            },
        },
    ],
    "mail": [
        {
            "address": "alice@example.com",
            "name": "Alice",
            "incoming": {"protocol": "imap", "host": "mail.example.com", "port": 993, "tls": True},
            "outgoing": {"host": "mail.example.com", "port": 587, "tls": True},
            "smime": {"signing": "alice", "encryption": "alice"},
        },
        {
            "incoming": {"protocol": "pop", "host": "pop.example.com"},
            "outgoing": {"host": "smtp.example.com", "authentication": "none"},
        },
    ],
    "exchange": [
        {
            "host": "eas.example.com",
            "email": "alice@example.com",
            "user": "alice",
            "identity": "alice",
            "smime": {"signing": "alice"},
        }
    ],
    "vpn": [
        {
            "name": "Example VPN",
            "ikev2": {
                "server": "vpn.example.com",
                "identity": "device",
                "local_identifier": "device.example.com",
                "server_ca": "Example Issuing CA",
                "revocation_check": True,
                "pfs": False,
            },
        },
        {
            "name": "Phone VPN",
            "ikev2": {
                "server": "vpn.example.com",
                "identity": "phone",
                "local_identifier": "phone",
                "server_ca": "Example Root CA",
            },
        },
        {
            "name": "Alice VPN",
            "ikev2": {
                "server": "vpn.example.com",
                "identity": "alice",
                "server_ca": "Example Issuing CA",
            },
        },
        {"name": "EAP VPN", "ikev2": {"server": "vpn.example.com", "username": "bob"}},
    ],
    "trust": {
        "untrusted_tls_prompt": False,
        "ota_pki_updates": True,
        "enterprise_app_trust": False,
        "automatic_date_time": True,
        "certificate_transparency": {
            "disabled_for_domains": [".corp.example.com", "example.net"],
            "disabled_for_certs": ["Example Issuing CA"],
        },
        "revocation": {"enabled_for_certs": ["Example Root CA"]},
    },
}


def build(
    world: World,
    spec: dict[str, Any],
    *,
    platforms: tuple[str, ...] = ("iOS",),
    base_dir: Path = Path("."),
    removal_password: Secret | None = None,
    **kw: Any,
) -> tuple[list[Payload], list[Finding]]:
    sections: object = ServicesSpec.model_validate(spec)
    if removal_password is not None:
        # removal: is a key of the profile itself (it also takes allowed/disallowed), so the
        # services-only model lacks it: hand its value over beside the sections.
        removal = RemovalPassword.model_construct(password=removal_password)
        sections = SimpleNamespace(**dict(sections), removal=removal)
    return compile_services(
        sections,
        world.refs,
        identifier=ID,
        platforms=platforms,
        base_dir=base_dir,
        location=where,
        at=NOW,
        **kw,
    )


@pytest.fixture
def full(world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Payload], list[Finding]]:
    monkeypatch.setenv("LAB_PSK", "correct horse battery")
    return build(world, FULL)


def codes(found: list[Finding]) -> list[str]:
    """The codes found, without MC511 (a server whose certificate the spec does not give:
    tests/test_skipped_checks.py covers it)."""
    return sorted(f.code for f in found if f.code != "MC511")


# -- Apple's schema ---------------------------------------------------------------------------
def test_every_payload_conforms_to_apple_schema(
    full: tuple[list[Payload], list[Finding]], monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    payloads, _ = full
    monkeypatch.setenv("RM_PW", "remove-me")
    extra, _ = build(world, {}, removal_password=Secret.from_env("RM_PW"))
    types = set()
    for p in [*payloads, *extra]:
        data = p.to_plist()
        assert conform(data) == [], data["PayloadType"]
        types.add(data["PayloadType"])
    assert types == {
        "com.apple.wifi.managed",
        "com.apple.firstactiveethernet.managed",
        "com.apple.globalethernet.managed",
        "com.apple.mail.managed",
        "com.apple.eas.account",
        "com.apple.vpn.managed",
        "com.apple.applicationaccess",
        "com.apple.security.certificatetransparency",
        "com.apple.security.certificaterevocation",
        "com.apple.profileRemovalPassword",
    }


@pytest.mark.parametrize(
    "interface",
    ["first-active", "second-active", "third-active", "first", "second", "third", "global"],
)
def test_every_ethernet_interface_conforms(world: World, interface: str) -> None:
    payloads, _ = build(
        world,
        {
            "ethernet": [
                {
                    "interface": interface,
                    "eap": {
                        "method": "tls",
                        "identity": "device",
                        "anchors": ["Example Root CA"],
                        "server_names": ["radius.example.com"],
                    },
                }
            ]
        },
        platforms=("macOS",),
    )
    (p,) = payloads
    assert conform(p.to_plist()) == []
    assert p.to_plist()["Interface"].lower().replace("ethernet", "") == interface.replace("-", "")


def test_profile_reads_back_into_the_same_models(
    full: tuple[list[Payload], list[Finding]], world: World
) -> None:
    payloads, _ = full
    profile = Profile(
        PayloadIdentifier=ID,
        PayloadUUID=derive_uuid(ID),
        PayloadContent=[*world.targets(), *payloads],
    )
    data = profile.to_plist()
    again = Profile.from_plist(data, strict=True)
    assert [type(p) for p in again.payloads] == [type(p) for p in profile.payloads]
    assert again.to_plist() == data


def test_deterministic_identifiers_and_uuids(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PSK", "x" * 12)
    first, _ = build(world, FULL)
    second, _ = build(world, FULL)
    assert [p.to_plist() for p in first] == [p.to_plist() for p in second]
    ids = [p.payload_identifier for p in first]
    assert len(set(ids)) == len(ids) and len({p.payload_uuid for p in first}) == len(ids)
    assert f"{ID}.wifi.examplecorp" in ids and f"{ID}.vpn.example-vpn" in ids
    for p in first:
        assert p.payload_uuid == derive_uuid(ID, p.payload_identifier)


# -- references -------------------------------------------------------------------------------
def _refs(data: Any, key: str = "") -> list[tuple[str, str]]:
    """(key, uuid) of every reference in a payload dictionary."""
    out: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k.endswith("CertificateUUID") or k == "PayloadCertificateAnchorUUID":
                out.extend((k, u) for u in (v if isinstance(v, list) else [v]))
            else:
                out.extend(_refs(v, k))
    elif isinstance(data, list):
        for item in data:
            out.extend(_refs(item, key))
    return out


def test_every_reference_resolves_to_a_payload_of_the_right_type(
    full: tuple[list[Payload], list[Finding]], world: World
) -> None:
    payloads, _ = full
    by_uuid = {p.payload_uuid: type(p) for p in world.targets()}
    seen = set()
    for p in payloads:
        for key, uuid in _refs(p.to_plist()):
            assert uuid in by_uuid, (p.payload_identifier, key)
            want = CERT_TYPES if key == "PayloadCertificateAnchorUUID" else IDENTITY_TYPES
            assert by_uuid[uuid] in want, (p.payload_identifier, key)
            seen.add(key)
    assert seen == {
        "PayloadCertificateUUID",
        "PayloadCertificateAnchorUUID",
        "SMIMESigningCertificateUUID",
        "SMIMEEncryptionCertificateUUID",
    }


def test_wifi_identity_at_the_top_and_anchors_inside_eap(
    full: tuple[list[Payload], list[Finding]], world: World
) -> None:
    wifi = [p.to_plist() for p in full[0] if isinstance(p, WiFiPayload)]
    corp, guests, lab, legacy = wifi
    assert corp["PayloadCertificateUUID"] == world.refs.identities["device"].uuid
    eap = corp["EAPClientConfiguration"]
    assert "PayloadCertificateUUID" not in eap
    assert eap["AcceptEAPTypes"] == [13]
    assert eap["PayloadCertificateAnchorUUID"] == [world.refs.certificates["Example Root CA"].uuid]
    assert eap["TLSTrustedServerNames"] == ["radius.example.com"]
    assert corp["EncryptionType"] == "WPA2"
    assert guests["EncryptionType"] == "None" and "Password" not in guests
    assert lab["EncryptionType"] == "WPA2" and lab["Password"] == "correct horse battery"
    assert lab["HIDDEN_NETWORK"] is True and lab["AutoJoin"] is False
    assert legacy["EAPClientConfiguration"]["AcceptEAPTypes"] == [25]
    eth = [p.to_plist() for p in full[0] if p.payload_type.endswith("ethernet.managed")]
    assert eth[1]["EAPClientConfiguration"]["AcceptEAPTypes"] == [21]


def test_mail_smime_and_exchange(full: tuple[list[Payload], list[Finding]], world: World) -> None:
    mail = next(p.to_plist() for p in full[0] if p.payload_type == "com.apple.mail.managed")
    alice = world.refs.identities["alice"].uuid
    assert mail["SMIMESigningEnabled"] is True and mail["SMIMESigningCertificateUUID"] == alice
    assert mail["SMIMEEncryptionEnabled"] is True
    assert mail["SMIMEEncryptionCertificateUUID"] == alice
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert mail["IncomingMailServerUseSSL"] is True and mail["IncomingMailServerPortNumber"] == 993
    eas = next(p.to_plist() for p in full[0] if p.payload_type == "com.apple.eas.account")
    assert eas["PayloadCertificateUUID"] == alice and eas["SSL"] is True
    assert eas["SMIMESigningCertificateUUID"] == alice


def test_ikev2_certificate_settings(
    full: tuple[list[Payload], list[Finding]], world: World
) -> None:
    vpns = [p.to_plist()["IKEv2"] for p in full[0] if isinstance(p, VPNPayload)]
    device, phone, alice, eap = vpns
    assert device["AuthenticationMethod"] == "Certificate"
    assert device["PayloadCertificateUUID"] == world.refs.identities["device"].uuid
    assert device["CertificateType"] == "RSA"
    assert device["ServerCertificateIssuerCommonName"] == "Example Issuing CA"
    assert device["RemoteIdentifier"] == "vpn.example.com"
    assert device["EnableCertificateRevocationCheck"] == 1
    assert type(device["EnableCertificateRevocationCheck"]) is int
    assert device["EnablePFS"] == 0 and type(device["EnablePFS"]) is int
    assert phone["CertificateType"] == "ECDSA384"
    assert phone["ServerCertificateIssuerCommonName"] == "Example Root CA"
    assert alice["LocalIdentifier"] == "alice@example.com"  # from the identity's certificate
    assert eap["AuthenticationMethod"] == "None" and eap["ExtendedAuthEnabled"] == 1
    assert eap["LocalIdentifier"] == "bob"


def test_ikev2_flags_refuse_booleans() -> None:
    data = {
        "PayloadType": "com.apple.vpn.managed",
        "PayloadIdentifier": "v",
        "PayloadUUID": derive_uuid("v"),
        "VPNType": "IKEv2",
        "UserDefinedName": "V",
        "IKEv2": {
            "RemoteAddress": "vpn",
            "LocalIdentifier": "a",
            "RemoteIdentifier": "vpn",
            "AuthenticationMethod": "None",
            "ExtendedAuthEnabled": True,
        },
    }
    with pytest.raises(ValidationError, match="integers 0 or 1"):
        VPNPayload.model_validate(data)


def test_ec_key_ikev2_cannot_use(world: World) -> None:
    _, found = build(
        world,
        {
            "vpn": [
                {
                    "name": "Odd",
                    "ikev2": {
                        "server": "vpn.example.com",
                        "identity": "oddkey",
                        "local_identifier": "x",
                        "server_ca": "Example Root CA",
                    },
                }
            ]
        },
    )
    assert "MC407" in codes(found)


def test_trust_payloads(full: tuple[list[Payload], list[Finding]], world: World) -> None:
    by_type = {p.payload_type: p.to_plist() for p in full[0]}
    r = by_type["com.apple.applicationaccess"]
    assert r["allowUntrustedTLSPrompt"] is False and r["allowOTAPKIUpdates"] is True
    assert r["allowEnterpriseAppTrust"] is False and r["forceAutomaticDateAndTime"] is True
    ct = by_type["com.apple.security.certificatetransparency"]
    assert ct["DisabledForDomains"] == [".corp.example.com", "example.net"]
    inter = world.inter.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert ct["DisabledForCerts"] == [
        {"Algorithm": "sha256", "Hash": hashlib.sha256(inter).digest()}
    ]
    rev = by_type["com.apple.security.certificaterevocation"]
    assert (
        rev["EnabledForCerts"][0]["Hash"]
        == world.refs.certificates["Example Root CA"].certificate.spki_sha256
    )


@pytest.mark.parametrize(
    ("domain", "why"),
    [("*.example.com", "no wildcards"), (".com", "top-level"), ("exa mple.com", "not a domain")],
)
def test_ct_domains_apple_refuses(domain: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        ServicesSpec.model_validate(
            {"trust": {"certificate_transparency": {"disabled_for_domains": [domain]}}}
        )


def test_ct_exemption_for_a_ca_without_organization(world: World) -> None:
    _, found = build(
        world, {"trust": {"certificate_transparency": {"disabled_for_certs": ["Bare Root"]}}}
    )
    assert codes(found) == ["MC412"]


# -- broken references and wrong kinds ---------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "message", "hint"),
    [
        (
            {
                "mail": [
                    {
                        "incoming": {"host": "m"},
                        "outgoing": {"host": "m"},
                        "smime": {"signing": "alicia"},
                    }
                ]
            },
            "mail[0].smime.signing: 'alicia' is not an identity; identities are: alice, device, "
            "oddkey, phone, server-as-identity",
            "did you mean 'alice'?",
        ),
        (
            {
                "mail": [
                    {
                        "incoming": {"host": "m"},
                        "outgoing": {"host": "m"},
                        "smime": {"encryption": "Example Root CA"},
                    }
                ]
            },
            "mail[0].smime.encryption: 'Example Root CA' is a certificate, not an identity",
            None,
        ),
        (
            {"wifi": [{"ssid": "W", "eap": {"method": "peap", "anchors": ["alice"]}}]},
            "wifi[0].eap.anchors[0]: 'alice' is an identity, not a certificate",
            None,
        ),
        (
            {"wifi": [{"ssid": "W", "eap": {"method": "peap", "anchors": ["Example Root"]}}]},
            "wifi[0].eap.anchors[0]: 'Example Root' is not a certificate of the profile",
            "did you mean 'Example Root CA'?",
        ),
        (
            {
                "vpn": [
                    {
                        "name": "V",
                        "ikev2": {"server": "v", "identity": "device", "server_ca": "vpn-client"},
                    }
                ]
            },
            "vpn[0].ikev2.server_ca: 'vpn-client' is a certificate but not a CA",
            None,
        ),
        (
            {"exchange": [{"host": "e", "identity": "Example Issuing CA"}]},
            "exchange[0].identity: 'Example Issuing CA' is a certificate, not an identity",
            None,
        ),
        (
            {"trust": {"revocation": {"enabled_for_certs": ["device"]}}},
            "trust.revocation.enabled_for_certs[0]: 'device' is an identity, not a certificate",
            None,
        ),
    ],
)
def test_broken_names_raise_naming_both_ends(
    world: World, spec: dict[str, Any], message: str, hint: str | None
) -> None:
    with pytest.raises(SpecError) as caught:
        build(world, spec)
    err = caught.value
    assert err.message.startswith(message), err.message
    assert err.location is not None and err.message.startswith(err.location.file)
    if hint:
        assert err.hint == hint


def test_eap_tls_needs_an_identity(world: World) -> None:
    with pytest.raises(SpecError, match=r"wifi\[0\]\.eap: method tls .* name the identity"):
        build(world, {"wifi": [{"ssid": "W", "eap": {"method": "tls"}}]})


def test_ikev2_certificate_needs_server_ca_and_local_identifier(world: World) -> None:
    with pytest.raises(SpecError, match="needs server_ca"):
        build(world, {"vpn": [{"name": "V", "ikev2": {"server": "v", "identity": "device"}}]})
    with pytest.raises(SpecError, match="set local_identifier"):
        build(
            world,
            {
                "vpn": [
                    {
                        "name": "V",
                        "ikev2": {
                            "server": "v",
                            "identity": "device",
                            "server_ca": "Example Root CA",
                        },
                    }
                ]
            },
        )


def test_spec_models_refuse_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="ssdi"):
        ServicesSpec.model_validate({"wifi": [{"ssdi": "x"}]})
    with pytest.raises(ValidationError, match="over 32 bytes"):
        ServicesSpec.model_validate({"wifi": [{"ssid": "x" * 33}]})
    with pytest.raises(ValidationError, match=r"tls_min 1\.3 is above tls_max 1\.2"):
        ServicesSpec.model_validate(
            {"wifi": [{"ssid": "x", "eap": {"method": "tls", "tls_min": "1.3", "tls_max": "1.2"}}]}
        )
    with pytest.raises(ValidationError, match="open network"):
        ServicesSpec.model_validate(
            {"wifi": [{"ssid": "x", "security": "None", "password": {"env": "P"}}]}
        )


# -- findings ---------------------------------------------------------------------------------
def test_eap_without_pinned_trust_warns_and_fails_in_system_mode(world: World) -> None:
    _, found = build(world, {"wifi": [{"ssid": "W", "eap": {"method": "peap"}}]})
    (f,) = found
    assert f.code == "MC404" and f.severity is Severity.WARNING
    assert "no anchors and no server_names" in f.message and "asks the user" in f.message
    _, found = build(
        world,
        {
            "ethernet": [
                {"eap": {"method": "tls", "identity": "device", "server_names": ["r.example.com"]}},
            ],
            "wifi": [],
        },
        platforms=("macOS",),
    )
    assert codes(found) == ["MC404"] and "no anchors:" in found[0].message
    _, found = build(
        world,
        {
            "wifi": [
                {
                    "ssid": "W",
                    "setup_modes": ["System"],
                    "eap": {"method": "tls", "identity": "device"},
                }
            ]
        },
        platforms=("macOS",),
    )
    assert found[0].code == "MC404" and found[0].severity is Severity.ERROR


def test_full_spec_findings_on_ios(full: tuple[list[Payload], list[Finding]]) -> None:
    _, found = full
    # The macOS-only Ethernet port, Lab's embedded PSK, and the supervised-only
    # date-and-time restriction.
    assert codes(found) == ["MC401", "MC403", "MC405"]
    (eth,) = [f for f in found if f.code == "MC401"]
    assert eth.location == where("ethernet", 0)
    assert "com.apple.firstactiveethernet.managed is not supported on iOS" in eth.message
    (sup,) = [f for f in found if f.code == "MC403"]
    assert "forceAutomaticDateAndTime" in sup.message and "supervised" in sup.message
    assert sup.location == where("trust")


def test_platform_mismatches(
    full: tuple[list[Payload], list[Finding]], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_PSK", "x" * 12)
    _, found = build(world, FULL, platforms=("iOS", "macOS"))
    mac = [f for f in found if "macOS" in f.message]
    by_where = {(f.code, f.location.file if f.location else "") for f in mac}
    assert ("MC401", "exchange[0]") in by_where  # Exchange: iOS and visionOS only
    assert ("MC401", "trust.revocation") in by_where
    smime = next(f for f in mac if f.code == "MC402" and f.location == where("mail", 0))
    assert "SMIMESigningCertificateUUID" in smime.message
    assert "keychain" in smime.message
    restr = next(f for f in mac if f.code == "MC402" and f.location == where("trust"))
    assert "allowOTAPKIUpdates" in restr.message and "allowUntrustedTLSPrompt" in restr.message
    ios = [f for f in found if f.code == "MC401" and "on iOS" in f.message]
    assert [f.location.file for f in ios if f.location] == ["ethernet[0]"]  # first-active


def test_platform_findings_for_one_payload() -> None:
    payload = RestrictionsPayload(
        PayloadType="com.apple.applicationaccess",
        PayloadIdentifier="r",
        PayloadUUID=derive_uuid("r"),
        allowOTAPKIUpdates=False,
        forceAutomaticDateAndTime=True,
    )
    found = platform_findings(payload, ["tvOS", "watchOS"], where="trust")
    assert [(f.code, f.message) for f in found] == [
        ("MC402", "trust: tvOS ignores allowOTAPKIUpdates (com.apple.applicationaccess)"),
        (
            "MC403",
            "trust: forceAutomaticDateAndTime (com.apple.applicationaccess) takes effect "
            "on tvOS only on supervised devices",
        ),
        (
            "MC402",
            "trust: watchOS ignores allowOTAPKIUpdates, forceAutomaticDateAndTime "
            "(com.apple.applicationaccess)",
        ),
    ]


def test_removal_password_needs_supervision_on_ios(world: World) -> None:
    payloads, found = build(
        world, {}, removal_password=Secret.from_plain("pw"), platforms=("iOS", "macOS")
    )
    assert codes(found) == ["MC304", "MC403", "MC405"]
    assert "pw" not in repr(payloads[0])


def test_passwords_never_in_repr(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_PW", "hunter2-secret")
    payloads, found = build(
        world,
        {
            "mail": [
                {
                    "incoming": {"host": "m.example.com", "password": {"env": "MAIL_PW"}},
                    "outgoing": {"host": "m.example.com"},
                }
            ]
        },
    )
    assert payloads[0].to_plist()["IncomingPassword"] == "hunter2-secret"
    assert "hunter2" not in repr(payloads[0])
    assert all("hunter2" not in f.message for f in found)
    assert codes(found) == ["MC405"]


def test_smime_identity_checks(world: World) -> None:
    _, found = build(
        world,
        {
            "mail": [
                {
                    "address": "bob@example.com",
                    "incoming": {"host": "m"},
                    "outgoing": {"host": "m"},
                    "smime": {"signing": "alice", "encryption": "server-as-identity"},
                }
            ]
        },
    )
    assert codes(found) == ["MC408", "MC409", "MC409"]
    addr = next(f for f in found if f.code == "MC409" and "alice@example.com" in f.message)
    assert "not bob@example.com" in addr.message
    usage = next(f for f in found if f.code == "MC408")
    assert "emailProtection" in usage.message and "keyEncipherment" not in usage.message


def test_plain_text_mail_warns(world: World) -> None:
    _, found = build(
        world,
        {
            "mail": [
                {
                    "incoming": {"host": "m.example.com", "tls": False},
                    "outgoing": {"host": "m.example.com"},
                }
            ],
            "exchange": [{"host": "e.example.com", "ssl": False}],
        },
    )
    assert codes(found) == ["MC410", "MC410"]
    assert found[0].location == where("mail", 0, "incoming")


def test_ota_pki_updates_off_warns(world: World) -> None:
    _, found = build(world, {"trust": {"ota_pki_updates": False}})
    assert codes(found) == ["MC411"]


# -- server certificates named in the spec -----------------------------------------------------
def _server(world: World, names: list[str], tmp: Path, file: str, **kw: Any) -> Issued:
    srv = world.inter.issue(
        names[0],
        key=make_key("rsa2048", slot=3),
        ca=False,
        server_names=names,
        not_before=NOW - 10 * DAY,
        not_after=NOW + 300 * DAY,
        **kw,
    )
    (tmp / file).write_bytes(srv.pem + world.inter.pem)
    return srv


def test_mail_server_certificate_name_mismatch(world: World, tmp_path: Path) -> None:
    _server(world, ["imap.hoster.net"], tmp_path, "imap.pem")
    _server(world, ["mail.example.com"], tmp_path, "smtp.pem")
    _, found = build(
        world,
        {
            "mail": [
                {
                    "incoming": {"host": "mail.example.com", "server_certificate": "imap.pem"},
                    "outgoing": {"host": "mail.example.com", "server_certificate": "smtp.pem"},
                }
            ]
        },
        base_dir=tmp_path,
    )
    (f,) = found
    assert f.code == "MC501"
    assert f.location == where("mail", 0, "incoming", "server_certificate")
    assert "imap.hoster.net" in f.message
    assert f.fix == (
        "Get a certificate for mail.example.com, or set mail[0].incoming.host to "
        "one of: imap.hoster.net."
    )


def test_exchange_and_vpn_server_certificates(world: World, tmp_path: Path) -> None:
    _server(world, ["eas.example.com"], tmp_path, "eas.pem", eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    _server(world, ["vpn.example.com"], tmp_path, "vpn.pem")
    _, found = build(
        world,
        {
            "exchange": [{"host": "eas.example.com", "server_certificate": "eas.pem"}],
            "vpn": [
                {
                    "name": "V",
                    "ikev2": {
                        "server": "vpn.example.com",
                        "identity": "device",
                        "local_identifier": "d",
                        "server_ca": "Example Root CA",
                        "server_certificate": {"path": "vpn.pem"},
                    },
                }
            ],
        },
        base_dir=tmp_path,
    )
    assert codes(found) == ["MC406", "MC502"]
    issuer = next(f for f in found if f.code == "MC406")
    assert "'Example Issuing CA'" in issuer.message and "'Example Root CA'" in issuer.message


def test_radius_certificate_checked_against_the_anchors(world: World, tmp_path: Path) -> None:
    radius = world.inter.issue(
        "radius.example.com",
        key=make_key("rsa2048", slot=3),
        ca=False,
        not_before=NOW - DAY,
        not_after=NOW + 700 * DAY,
    )
    (tmp_path / "radius.pem").write_bytes(radius.pem + world.inter.pem)
    eap = {
        "method": "peap",
        "server_names": ["wpa.example.com", "radius.example.com"],
        "anchors": ["Example Root CA"],
        "server_certificate": "radius.pem",
    }
    _, found = build(world, {"wifi": [{"ssid": "W", "eap": eap}]}, base_dir=tmp_path)
    assert found == []
    _, found = build(
        world,
        {
            "wifi": [
                {
                    "ssid": "W",
                    "eap": {**eap, "server_names": ["wpa.example.com"], "anchors": ["Bare Root"]},
                }
            ]
        },
        base_dir=tmp_path,
    )
    assert codes(found) == ["MC501", "MC510"]


def test_missing_server_certificate_file(world: World, tmp_path: Path) -> None:
    from mobileconfig.errors import CertificateError

    with pytest.raises(CertificateError, match="not found") as caught:
        build(
            world,
            {"exchange": [{"host": "e.example.com", "server_certificate": "nope.pem"}]},
            base_dir=tmp_path,
        )
    assert caught.value.location == where("exchange", 0, "server_certificate")


def test_mc4xx_mc5xx_codes_are_catalogued_and_documented() -> None:
    from mobileconfig.findings import CATALOGUE

    doc = (Path(__file__).resolve().parents[1] / "docs" / "findings.md").read_text()
    ours = [c for c in CATALOGUE if c[:3] in ("MC4", "MC5")]
    assert ours == [f"MC4{n:02d}" for n in range(1, 13)] + [f"MC5{n:02d}" for n in range(1, 12)]
    for code in ours:
        assert f"## {code}: {CATALOGUE[code].title}\n" in doc, code


def test_payloads_written_by_other_tools_read_into_the_models() -> None:
    uuid = derive_uuid("x", "eth")
    eap = {"AcceptEAPTypes": [25], "UserName": "user", "UserPassword": "pw"}
    ethernet = {
        "PayloadType": "com.apple.firstethernet.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.eth",
        "PayloadUUID": uuid,
        "Interface": "FirstEthernet",
        "EAPClientConfiguration": eap,
        "SetupModes": ["System"],
        # Wi-Fi keys that Apple's own Ethernet example carries:
        "AuthenticationMethod": "",
        "AutoJoin": True,
        "EncryptionType": "WPA2",
        "HIDDEN_NETWORK": False,
        "ProxyType": "None",
        "Password": "eth-secret",
    }
    wifi = {
        "PayloadType": "com.apple.wifi.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.wifi",
        "PayloadUUID": derive_uuid("x", "wifi"),
        "SSID_STR": "Corp",
        "EncryptionType": "WPA3",
        "ProxyType": "Auto",
        "ProxyPACURL": "https://wpad.example.com/wpad.dat",
        "CaptiveBypass": False,
        "EAPClientConfiguration": {**eap, "TLSTrustedCertificates": ["x"], "EAPFASTUsePAC": False},
    }
    profile = Profile.from_plist(
        {
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadIdentifier": "x",
            "PayloadUUID": derive_uuid("x"),
            "PayloadContent": [ethernet, wifi],
        },
        strict=True,
    )
    eth, wf = profile.payloads
    assert type(eth).__name__ == "FirstEthernetPayload" and isinstance(wf, WiFiPayload)
    assert eth.to_plist() == ethernet and wf.to_plist() == wifi
    assert "'pw'" not in repr(eth) and "eth-secret" not in repr(eth)


def test_every_service_module_is_registered_once() -> None:
    """A service is one module with a SERVICE record plus one registry line: every such
    module is in the registry, once, and each registered key is a key of ProfileSpec."""
    import importlib
    import pkgutil

    import mobileconfig.services as package
    from mobileconfig.services.registry import SERVICES
    from mobileconfig.spec.model import ProfileSpec

    modules = [
        importlib.import_module(f"{package.__name__}.{m.name}")
        for m in pkgutil.iter_modules(package.__path__)
    ]
    defined = sorted(m.SERVICE.key for m in modules if hasattr(m, "SERVICE"))
    registered = [s.key for s in SERVICES]
    assert defined == sorted(registered)
    assert len(set(registered)) == len(registered)
    keys = [info.alias or name for name, info in ProfileSpec.model_fields.items()]
    assert set(registered) <= set(keys)
    # Registry order is the spec's key order (and the payloads' order in the profile); a
    # "profile"-shaped key (removal) keeps its place among the profile's own keys.
    sections = [s.key for s in SERVICES if s.shape != "profile"]
    assert [k for k in keys if k in sections] == sections
