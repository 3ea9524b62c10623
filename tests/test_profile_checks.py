"""Apple's schema applied to whole profiles: MC004-MC014 and the platform checks.

Every profile here is a plain dictionary (what plistlib gives), built from the test PKI:
the same function judges a received profile and our own build's output.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from mobileconfig.findings import Finding, Severity
from mobileconfig.render import dumps, loads
from mobileconfig.schema import parse_platforms, redact
from mobileconfig.schema.check import check_payload, check_profile

from pki import TestPKI

ROOT_UUID = "0A5E1D2C-1111-4A4A-8B8B-000000000001"
P12_UUID = "0A5E1D2C-1111-4A4A-8B8B-000000000002"
WIFI_UUID = "0A5E1D2C-1111-4A4A-8B8B-000000000003"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI("ec256", prefix="Checks")


def _payload(ptype: str, ident: str, uuid: str, name: str, **keys: Any) -> dict[str, Any]:
    return {
        "PayloadType": ptype,
        "PayloadIdentifier": ident,
        "PayloadUUID": uuid,
        "PayloadVersion": 1,
        "PayloadDisplayName": name,
        **keys,
    }


@pytest.fixture
def profile(pki: TestPKI) -> dict[str, Any]:
    """A Wi-Fi EAP-TLS profile: a root, an identity, and the Wi-Fi payload naming both."""
    p12 = pkcs12.serialize_key_and_certificates(
        b"alice",
        pki.leaf.key,
        pki.leaf.cert,
        None,
        BestAvailableEncryption(b"pw"),  # type: ignore[arg-type]
    )
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.checks",
        "PayloadUUID": "0A5E1D2C-1111-4A4A-8B8B-0000000000FF",
        "PayloadDisplayName": "Checks",
        "PayloadContent": [
            _payload(
                "com.apple.security.root",
                "com.example.checks.root",
                ROOT_UUID,
                "Checks Root CA",
                PayloadContent=pki.root.der,
            ),
            _payload(
                "com.apple.security.pkcs12",
                "com.example.checks.alice",
                P12_UUID,
                "alice",
                PayloadContent=p12,
            ),
            _payload(
                "com.apple.wifi.managed",
                "com.example.checks.wifi",
                WIFI_UUID,
                "Corp Wi-Fi",
                SSID_STR="Corp",
                AutoJoin=True,
                EncryptionType="WPA2",
                PayloadCertificateUUID=P12_UUID,
                EAPClientConfiguration={
                    "AcceptEAPTypes": [13],
                    "PayloadCertificateAnchorUUID": [ROOT_UUID],
                    "TLSTrustedServerNames": ["radius.example.com"],
                },
            ),
        ],
    }


def _codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


def _only(findings: list[Finding], code: str) -> Finding:
    hits = [f for f in findings if f.code == code]
    assert len(hits) == 1, findings
    return hits[0]


def _wifi(profile: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = profile["PayloadContent"][2]
    return item


def test_a_correct_profile_has_no_findings(profile: dict[str, Any]) -> None:
    assert check_profile(profile) == []
    # The same after a round trip through our own plist writer and reader.
    assert check_profile(loads(dumps(profile)).value) == []


# -- MC004: references ---------------------------------------------------------------------


def test_dangling_identity_reference_names_payload_and_key(profile: dict[str, Any]) -> None:
    _wifi(profile)["PayloadCertificateUUID"] = "DEADBEEF-0000-0000-0000-000000000000"
    f = _only(check_profile(profile, source="corp.mobileconfig"), "MC004")
    assert f.severity is Severity.ERROR
    assert "payload 2 com.apple.wifi.managed 'Corp Wi-Fi' (com.example.checks.wifi)" in f.message
    assert "key PayloadCertificateUUID names DEADBEEF-0000-0000-0000-000000000000" in f.message
    assert str(f.location) == "corp.mobileconfig"


def test_dangling_anchor_entry_names_its_index(profile: dict[str, Any]) -> None:
    anchors = _wifi(profile)["EAPClientConfiguration"]["PayloadCertificateAnchorUUID"]
    anchors.append("11111111-2222-3333-4444-555555555555")
    f = _only(check_profile(profile), "MC004")
    assert "EAPClientConfiguration.PayloadCertificateAnchorUUID[1]" in f.message


@pytest.mark.parametrize(
    ("ptype", "keys"),
    [
        ("com.apple.mail.managed", {"SMIMESigningCertificateUUID": "X"}),
        ("com.apple.mail.managed", {"SMIMEEncryptionCertificateUUID": "X"}),
        ("com.apple.eas.account", {"PayloadCertificateUUID": "X"}),
        ("com.apple.ews.account", {"AuthenticationCertificateUUID": "X"}),
        ("com.apple.mdm", {"IdentityCertificateUUID": "X"}),
        ("com.apple.mdm", {"ServerURLPinningCertificateUUIDs": ["X"]}),
        ("com.apple.vpn.managed", {"IKEv2": {"PayloadCertificateUUID": "X"}}),
        ("com.apple.security.identitypreference", {"PayloadCertificateUUID": "X"}),
        # The Ethernet payloads leave their keys open: references are found by name.
        (
            "com.apple.firstethernet.managed",
            {"EAPClientConfiguration": {"PayloadCertificateAnchorUUID": ["X"]}},
        ),
        # So does a payload type the schema does not describe.
        ("com.example.custom", {"Nested": {"PayloadCertificateUUID": "X"}}),
    ],
)
def test_every_reference_key_is_resolved(
    profile: dict[str, Any], ptype: str, keys: dict[str, Any]
) -> None:
    profile["PayloadContent"].append(
        _payload(
            ptype,
            "com.example.checks.extra",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000EE",
            "extra",
            **keys,
        )
    )
    found = [f for f in check_profile(profile) if f.code == "MC004"]
    assert len(found) == 1, found
    assert "names X, which no payload of this profile has" in found[0].message
    assert f"payload 3 {ptype} 'extra'" in found[0].message


def test_reference_to_a_payload_that_is_not_a_certificate(profile: dict[str, Any]) -> None:
    _wifi(profile)["PayloadCertificateUUID"] = WIFI_UUID
    f = _only(check_profile(profile), "MC004")
    assert "a com.apple.wifi.managed payload, not a certificate or identity payload" in f.message


def test_reference_that_differs_only_in_case_says_so(profile: dict[str, Any]) -> None:
    _wifi(profile)["PayloadCertificateUUID"] = P12_UUID.lower()
    f = _only(check_profile(profile), "MC004")
    assert "differs only in letter case" in f.message


def test_encrypted_profile_references_are_not_judged(profile: dict[str, Any]) -> None:
    wifi = _wifi(profile)
    wifi["PayloadCertificateUUID"] = "ELSEWHERE"
    del profile["PayloadContent"]
    profile.update(IsEncrypted=True, EncryptedPayloadContent=b"\x30\x00")
    assert check_profile(profile) == []


# -- MC005 / MC006: duplicates ------------------------------------------------------------


def test_duplicate_payload_uuid(profile: dict[str, Any]) -> None:
    profile["PayloadContent"][1]["PayloadUUID"] = ROOT_UUID
    findings = check_profile(profile)
    f = _only(findings, "MC005")
    assert f"PayloadUUID {ROOT_UUID} is used by 2" in f.message
    assert "'Checks Root CA'" in f.message and "'alice'" in f.message


def test_profile_uuid_shared_with_a_payload(profile: dict[str, Any]) -> None:
    profile["PayloadUUID"] = WIFI_UUID
    f = _only(check_profile(profile), "MC005")
    assert "the profile itself" in f.message


def test_duplicate_payload_identifier(profile: dict[str, Any]) -> None:
    profile["PayloadContent"][1]["PayloadIdentifier"] = "com.example.checks.root"
    f = _only(check_profile(profile), "MC006")
    assert f.severity is Severity.ERROR
    assert "com.example.checks.root is used by 2" in f.message


# -- MC007 / MC008 / MC009: keys ----------------------------------------------------------


def test_unknown_key_is_a_warning_with_its_path(profile: dict[str, Any]) -> None:
    _wifi(profile)["Autojoin"] = True
    _wifi(profile)["EAPClientConfiguration"]["TLSTrustedServerName"] = ["x"]
    found = [f for f in check_profile(profile) if f.code == "MC007"]
    assert [f.severity for f in found] == [Severity.WARNING, Severity.WARNING]
    text = " | ".join(f.message for f in found)
    assert "key Autojoin is not defined" in text
    assert "key EAPClientConfiguration.TLSTrustedServerName is not defined" in text


@pytest.mark.parametrize(
    ("where", "value", "expect"),
    [
        (
            ("AutoJoin",),
            "true",
            "<string> 'true' where Apple's schema wants <true/> or <false/>; write <true/>",
        ),
        (("AutoJoin",), 1, "<integer> 1 where Apple's schema wants <true/> or <false/>"),
        (("EncryptionType",), "WPA4", "'WPA4' is not one of Apple's allowed values"),
        (
            ("EAPClientConfiguration", "AcceptEAPTypes"),
            13,
            "<integer> 13 where Apple's schema wants <array>",
        ),
        (("EAPClientConfiguration", "AcceptEAPTypes"), [99], "AcceptEAPTypes[0]: 99 is not one"),
        (("PayloadVersion",), 2, "2 is not one of Apple's allowed values (1)"),
        (("PayloadCertificateUUID",), "not-a-uuid", "does not have the form"),
    ],
)
def test_wrong_type_or_value(
    profile: dict[str, Any], where: tuple[str, ...], value: Any, expect: str
) -> None:
    target = _wifi(profile)
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    found = [f for f in check_profile(profile) if f.code == "MC008"]
    assert len(found) == 1, found
    assert found[0].severity is Severity.ERROR
    assert expect in found[0].message
    assert "payload 2 com.apple.wifi.managed 'Corp Wi-Fi'" in found[0].message


def test_ikev2_flag_written_as_boolean(profile: dict[str, Any]) -> None:
    profile["PayloadContent"].append(
        _payload(
            "com.apple.vpn.managed",
            "com.example.checks.vpn",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000EC",
            "VPN",
            VPNType="IKEv2",
            UserDefinedName="VPN",
            IKEv2={
                "RemoteAddress": "vpn.example.com",
                "RemoteIdentifier": "vpn.example.com",
                "LocalIdentifier": "alice",
                "AuthenticationMethod": "Certificate",
                "PayloadCertificateUUID": P12_UUID,
                "EnablePFS": True,
            },
        )
    )
    f = _only(check_profile(profile), "MC008")
    assert "key IKEv2.EnablePFS: <true/> True where Apple's schema wants <integer>" in f.message
    assert "write <integer>1</integer>" in f.message


def test_secret_values_never_appear_in_messages(profile: dict[str, Any]) -> None:
    _wifi(profile)["Password"] = 12345678  # a number where a string belongs
    f = _only(check_profile(profile), "MC008")
    assert "12345678" not in f.message and "(a secret value)" in f.message


def test_missing_required_key(profile: dict[str, Any]) -> None:
    del _wifi(profile)["EAPClientConfiguration"]["AcceptEAPTypes"]
    del profile["PayloadContent"][0]["PayloadUUID"]
    found = [f for f in check_profile(profile) if f.code == "MC009"]
    text = " | ".join(f.message for f in found)
    assert len(found) == 2, text
    assert "required key EAPClientConfiguration.AcceptEAPTypes is missing" in text
    assert "payload 0 com.apple.security.root 'Checks Root CA'" in text
    assert "required key PayloadUUID is missing" in text


def test_conditional_requirement_is_stated_as_such(profile: dict[str, Any]) -> None:
    del _wifi(profile)["SSID_STR"]
    f = _only(check_profile(profile), "MC009")
    assert (
        "key SSID_STR is missing; Apple's schema: SSID_STR is required unless DomainName is "
        "set" in f.message
    )
    _wifi(profile)["DomainName"] = "example.com"
    assert check_profile(profile) == []


def test_conditional_requirement_on_a_value(profile: dict[str, Any]) -> None:
    profile["PayloadContent"].append(
        _payload(
            "com.apple.vpn.managed",
            "com.example.checks.vpn",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000EC",
            "VPN",
            VPNType="VPN",
            UserDefinedName="VPN",
            VPNSubType="com.example.vpn",
            DNS={"DNSProtocol": "TLS", "ServerAddresses": ["192.0.2.53"]},
        )
    )
    f = _only(check_profile(profile), "MC009")
    assert (
        "DNS.ServerName is missing; Apple's schema: ServerName is required when "
        "DNSProtocol is TLS" in f.message
    )


def test_at_least_one_service_on(profile: dict[str, Any]) -> None:
    off = dict.fromkeys(
        ["EnableMail", "EnableContacts", "EnableCalendars", "EnableReminders", "EnableNotes"],
        False,
    )
    profile["PayloadContent"].append(
        _payload(
            "com.apple.eas.account",
            "com.example.checks.eas",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000ED",
            "Exchange",
            EmailAddress="alice@example.com",
            Host="mail.example.com",
            **off,
        )
    )
    f = _only(check_profile(profile), "MC008")
    assert "all false" in f.message


# -- top-level shapes ------------------------------------------------------------------------


def test_profile_service_is_read_and_checked() -> None:
    service = {
        "PayloadType": "Profile Service",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.enrol",
        "PayloadUUID": "0A5E1D2C-1111-4A4A-8B8B-0000000000AA",
        "PayloadDisplayName": "Enrol",
        "PayloadContent": {
            "URL": "https://mdm.example.com/enrol",
            "DeviceAttributes": ["UDID", "SERIAL", "PRODUCT"],
            "Challenge": "one-time-token",
        },
    }
    assert check_profile(service) == []
    broken = copy.deepcopy(service)
    del broken["PayloadContent"]["URL"]
    assert (
        "required key PayloadContent.URL is missing"
        in _only(check_profile(broken), "MC009").message
    )
    shown = redact(service)
    assert shown["PayloadContent"]["Challenge"] == "<embedded>"
    assert shown["PayloadContent"]["URL"] == "https://mdm.example.com/enrol"


def test_unknown_top_level_type_is_a_finding_not_a_refusal() -> None:
    odd = {
        "PayloadType": "com.apple.wifi.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": "x",
        "PayloadUUID": "y",
    }
    f = _only(check_profile(odd), "MC010")
    assert f.severity is Severity.WARNING
    assert (
        "'com.apple.wifi.managed' is not one the schema knows (Configuration, Profile "
        "Service)" in f.message
    )
    assert _codes(check_profile({})) == ["MC009"]


def test_encrypted_profile_needs_its_encrypted_content(profile: dict[str, Any]) -> None:
    del profile["PayloadContent"]
    profile["IsEncrypted"] = True
    f = _only(check_profile(profile), "MC009")
    assert "EncryptedPayloadContent is missing" in f.message
    assert "required when IsEncrypted is true" in f.message
    profile["IsEncrypted"] = False
    f = _only(check_profile(profile), "MC009")
    assert "PayloadContent is missing" in f.message


def test_payload_content_must_hold_dictionaries(profile: dict[str, Any]) -> None:
    profile["PayloadContent"].append("not a payload")
    f = _only(check_profile(profile), "MC008")
    assert "PayloadContent[3] is <string>, not a payload dictionary" in f.message


def test_unknown_payload_type_is_an_info_and_common_keys_still_count() -> None:
    findings = check_payload(
        {
            "PayloadType": "com.apple.dnsSettings.managed",
            "PayloadVersion": 2,
            "PayloadIdentifier": "dns",
            "PayloadUUID": "u",
            "DNSSettings": {},
        },
        index=0,
    )
    assert _codes(findings) == ["MC008", "MC014"]
    assert _only(findings, "MC014").severity is Severity.INFO


# -- platforms: MC011-MC013 and MC401-MC403 -------------------------------------------------


def test_key_introduced_after_the_minimum(profile: dict[str, Any]) -> None:
    _wifi(profile)["DisableAssociationMACRandomization"] = True
    assert check_profile(profile, platforms={"iOS": "14.0"}) == []
    f = _only(check_profile(profile, platforms={"iOS": "13.0"}), "MC011")
    assert f.severity is Severity.WARNING
    assert (
        "needs a newer iOS than the minimum 13.0: DisableAssociationMACRandomization "
        "(iOS 14.0)" in f.message
    )
    # A list of platforms without versions judges support only, never versions.
    assert check_profile(profile, platforms=parse_platforms(["iOS"])) == []


def test_payload_introduced_after_the_minimum(profile: dict[str, Any]) -> None:
    profile["PayloadContent"].append(
        _payload(
            "com.apple.security.acme",
            "com.example.checks.acme",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000AB",
            "ACME",
            DirectoryURL="https://acme.example.com/dir",
            ClientIdentifier="token",
            KeySize=256,
            KeyType="ECSECPrimeRandom",
            HardwareBound=True,
            Subject=[[["CN", "dev"]]],
        )
    )
    findings = check_profile(profile, platforms={"iOS": "15.0", "macOS": "13.1"})
    f = _only(findings, "MC011")
    assert "com.apple.security.acme needs iOS 16.0, newer than the minimum 15.0" in f.message
    assert "token" not in " ".join(x.message for x in findings)


def test_deprecated_and_removed_keys(profile: dict[str, Any]) -> None:
    profile["PayloadContent"].append(
        _payload(
            "com.apple.applicationaccess",
            "com.example.checks.r",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000AC",
            "Restrictions",
            allowPhotoStream=False,
        )
    )
    profile["PayloadContent"].append(
        _payload(
            "com.apple.mdm",
            "com.example.checks.mdm",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000AD",
            "MDM",
            IdentityCertificateUUID=P12_UUID,
            Topic="com.apple.mgmt.x",
            ServerURL="https://mdm.example.com/s",
            AccessRights=8191,
            ManagedAppleID="a@b.c",
        )
    )
    assert not {"MC012", "MC013"} & set(_codes(check_profile(profile, platforms={"iOS": "16.0"})))
    found = check_profile(profile, platforms={"iOS": "18.0"})
    dep = _only(found, "MC012")
    assert "deprecated by iOS 18.0: allowPhotoStream (deprecated in iOS 17.0)" in dep.message
    gone = _only(found, "MC013")
    assert "ManagedAppleID (removed in iOS 18.0)" in gone.message
    assert gone.severity is Severity.WARNING


def test_platform_support_findings_on_request(profile: dict[str, Any]) -> None:
    profile["PayloadContent"].append(
        _payload(
            "com.apple.firstethernet.managed",
            "com.example.checks.eth",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000AE",
            "Ethernet",
            Interface="FirstEthernet",
        )
    )
    _wifi(profile)["SetupModes"] = ["System"]
    assert check_profile(profile, platforms={"iOS": ""}) == []
    found = check_profile(profile, platforms={"iOS": ""}, platform_support=True)
    assert _codes(found) == ["MC401", "MC402"]
    assert (
        "com.apple.firstethernet.managed is not supported on iOS" in _only(found, "MC401").message
    )
    assert "iOS ignores SetupModes" in _only(found, "MC402").message


def test_supervised_only_key(profile: dict[str, Any]) -> None:
    profile["PayloadContent"].append(
        _payload(
            "com.apple.applicationaccess",
            "com.example.checks.r",
            "0A5E1D2C-1111-4A4A-8B8B-0000000000AC",
            "Restrictions",
            allowUntrustedTLSPrompt=False,
            allowAppRemoval=False,
        )
    )
    found = check_profile(profile, platforms={"iOS": "17.0"}, platform_support=True)
    f = _only(found, "MC403")
    assert (
        "allowAppRemoval (com.apple.applicationaccess) takes effect on iOS only on "
        "supervised devices" in f.message
    )
    assert "allowUntrustedTLSPrompt" not in f.message


def test_parse_platforms() -> None:
    assert parse_platforms(["iOS", "macOS=13.0"]) == {"iOS": "", "macOS": "13.0"}
    assert parse_platforms({"ios": "16", "macOS": None}) == {"iOS": "16", "macOS": ""}
    with pytest.raises(ValueError, match="unknown platform 'Android'"):
        parse_platforms(["Android=14"])
    with pytest.raises(ValueError, match=r"write e\.g\. iOS=16\.0"):
        parse_platforms(["iOS=sixteen"])


# -- hostile input -----------------------------------------------------------------------------


def test_control_characters_are_escaped_in_messages(profile: dict[str, Any]) -> None:
    _wifi(profile)["PayloadDisplayName"] = "Corp\x1b[2J\nsignature: trusted"
    _wifi(profile)["Bad\x1bKey"] = 1
    for f in check_profile(profile):
        assert "\x1b" not in f.message and "\n" not in f.message


def test_findings_per_payload_are_bounded(profile: dict[str, Any]) -> None:
    _wifi(profile).update({f"Unknown{i}": i for i in range(5000)})
    found = check_profile(profile)
    assert 0 < len(found) <= 50


def test_redact_hides_secrets_by_schema_not_by_substring() -> None:
    screen = {
        "PayloadType": "com.apple.screensaver",
        "askForPassword": True,
        "askForPasswordDelay": 5,
        "Password": "hunter2",
    }
    shown = redact(screen)
    assert shown["askForPassword"] is True and shown["askForPasswordDelay"] == 5
    assert shown["Password"] == "<embedded>"
    restrictions = {"PayloadType": "com.apple.applicationaccess", "allowPasswordAutoFill": False}
    assert redact(restrictions) == restrictions
    scep = {
        "PayloadType": "com.apple.security.scep",
        "PayloadContent": {"URL": "https://scep.example.com", "Challenge": "s3cret"},
    }
    assert redact(scep)["PayloadContent"] == {
        "URL": "https://scep.example.com",
        "Challenge": "<embedded>",
    }
    eas = {
        "PayloadType": "com.apple.eas.account",
        "CertificatePassword": "pw",
        "Password": "pw2",
        "UserName": "alice",
    }
    assert redact(eas) == {
        "PayloadType": "com.apple.eas.account",
        "CertificatePassword": "<embedded>",
        "Password": "<embedded>",
        "UserName": "alice",
    }
    vpn = {
        "PayloadType": "com.apple.vpn.managed",
        "IKEv2": {"SharedSecret": "psk", "RemoteAddress": "vpn.example.com"},
        "IPSec": {"SharedSecret": b"psk"},
    }
    shown = redact(vpn)
    assert shown["IKEv2"] == {"SharedSecret": "<embedded>", "RemoteAddress": "vpn.example.com"}
    assert shown["IPSec"] == {"SharedSecret": "<embedded>"}
    wifi = {
        "PayloadType": "com.apple.wifi.managed",
        "EAPClientConfiguration": {"UserPassword": "pw", "OneTimeUserPassword": True},
    }
    assert redact(wifi)["EAPClientConfiguration"] == {
        "UserPassword": "<embedded>",
        "OneTimeUserPassword": True,
    }


def test_supervised_key_at_its_default_changes_nothing(profile: dict[str, Any]) -> None:
    profile["PayloadRemovalDisallowed"] = False
    assert check_profile(profile, platforms={"iOS": ""}, platform_support=True) == []
    profile["PayloadRemovalDisallowed"] = True
    f = _only(check_profile(profile, platforms={"iOS": ""}, platform_support=True), "MC403")
    assert "PayloadRemovalDisallowed" in f.message
