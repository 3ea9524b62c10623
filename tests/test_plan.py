"""``mobileconfig plan``: what changes on devices when NEW replaces OLD.

Each side is a real spec built by the Builder or a real built profile (signed with real
keys, encrypted to a real device certificate); the PKI is the test factory's. Time is
pinned to ``pki.NOW``.
"""

from __future__ import annotations

import datetime as dt
import json
import plistlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from mobileconfig.builder import Builder
from mobileconfig.cms import Signer, sign
from mobileconfig.errors import MobileconfigError, ProfileError
from mobileconfig.pki.certs import load_certificate_file
from mobileconfig.planning import Plan, plan

from pki import DAY, NOW, Issued, issue

ROOT = Path(__file__).resolve().parent.parent
P12_PASSWORD = "plan-test-password"  # a test fixture's password, not a secret
MAIL_PASSWORD = "hunter2-mail-password"  # must never appear in a plan


@dataclass
class Kit:
    folder: Path
    root: Issued
    issuing: Issued
    other_root: Issued
    signer_a: Issued
    signer_b: Issued
    device: Issued

    def signer(self, which: Issued, name: str) -> Signer:
        return Signer.from_pem(which.pem, which.key_pem, self.issuing.pem, source=name)


def _identity(issuing: Issued, cn: str, address: str) -> Issued:
    return issuing.issue(
        cn,
        ca=False,
        not_before=NOW - 30 * DAY,
        not_after=NOW + 700 * DAY,
        eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH],
        extra_extensions=[(x509.SubjectAlternativeName([x509.RFC822Name(address)]), False)],
    )


def _server(issuing: Issued, host: str) -> Issued:
    return issuing.issue(
        host, ca=False, not_before=NOW - 30 * DAY, not_after=NOW + 300 * DAY, server_names=[host]
    )


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    folder = tmp_path_factory.mktemp("plan")
    root = issue("Plan Root CA")
    issuing = root.issue("Plan Issuing CA", path_length=0)
    other_root = issue("Partner Root CA")
    (folder / "root.pem").write_bytes(root.pem)
    (folder / "issuing.pem").write_bytes(issuing.pem)
    (folder / "partner.pem").write_bytes(other_root.pem)
    (folder / "mail.pem").write_bytes(_server(issuing, "mail.example.com").pem)
    (folder / "radius.pem").write_bytes(_server(issuing, "radius.example.com").pem)
    for name, cn in (("alice", "Alice"), ("alice2", "Alice")):
        leaf = _identity(issuing, cn, "alice@example.com")
        (folder / f"{name}.p12").write_bytes(
            pkcs12.serialize_key_and_certificates(
                name.encode(),
                leaf.key,
                leaf.cert,
                None,
                BestAvailableEncryption(P12_PASSWORD.encode()),
            )
        )
    (folder / "p12-password.txt").write_text(P12_PASSWORD)
    (folder / "mail-password.txt").write_text(MAIL_PASSWORD)
    signer_a = issuing.issue("Profile Signer A", ca=False)
    signer_b = issuing.issue("Profile Signer B", ca=False)
    (folder / "signer-a.pem").write_bytes(signer_a.pem)
    (folder / "signer-a.key").write_bytes(signer_a.key_pem)
    device = issuing.issue("Device 1234", ca=False, key_kind="rsa2048")
    return Kit(folder, root, issuing, other_root, signer_a, signer_b, device)


BASE: dict[str, Any] = {
    "identifier": "com.example.plan",
    "name": "Plan test",
    "organization": "Example Corp",
    "platforms": ["iOS"],
    "certificates": ["root.pem", "issuing.pem"],
    "identities": {
        "alice": {"pkcs12": "alice.p12", "password": {"file": "p12-password.txt"}},
    },
    "mail": [
        {
            "address": "alice@example.com",
            "incoming": {
                "host": "mail.example.com",
                "port": 993,
                "username": "alice",
                "server_certificate": "mail.pem",
            },
            "outgoing": {
                "host": "mail.example.com",
                "port": 587,
                "username": "alice",
                "server_certificate": "mail.pem",
            },
            "smime": {"signing": "alice", "encryption": "alice"},
        }
    ],
    "wifi": [
        {
            "ssid": "ExampleCorp",
            "security": "WPA2",
            "eap": {
                "method": "tls",
                "identity": "alice",
                "server_names": ["radius.example.com"],
                "anchors": ["Plan Root CA"],
                "server_certificate": "radius.pem",
            },
        }
    ],
}


def _spec(kit: Kit, name: str, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    data = json.loads(json.dumps(BASE))
    if change is not None:
        change(data)
    path = kit.folder / f"{name}.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def _build(spec: Path, **kwargs: Any) -> bytes:
    return Builder(spec).build_result(at=NOW, **kwargs).data


def _codes(result: Plan) -> list[str]:
    return [f.code for f in result.findings]


def _plan_codes(result: Plan) -> list[str]:
    return [c for c in _codes(result) if c.startswith("MC7")]


def _change(result: Plan, action: str, payload_type: str) -> dict[str, Any]:
    found = [
        c.to_json() for c in result.changes if c.action == action and c.payload_type == payload_type
    ]
    assert len(found) == 1, result.to_json()["changes"]
    return found[0]


# -- no change -----------------------------------------------------------------------------


def test_the_same_spec_twice_is_no_change(kit: Kit) -> None:
    spec = _spec(kit, "same")
    result = plan(spec, spec, at=NOW)
    assert result.changes == []
    assert not result.changed
    assert _plan_codes(result) == []
    assert not result.has_errors(), result.to_json()["findings"]


def test_a_rebuild_against_its_spec_is_no_change(kit: Kit) -> None:
    spec = _spec(kit, "rebuild")
    old = _build(spec)
    result = plan(old, spec, at=NOW)
    assert result.changes == [] and _plan_codes(result) == []
    assert result.old.kind == "profile" and result.new.kind == "spec"
    from mobileconfig.reader import read_profile

    loaded = read_profile(old, source="exported.mobileconfig")
    assert plan(loaded, Builder(spec), at=NOW).changes == []


def test_an_identity_without_its_password_against_its_spec_is_no_change(kit: Kit) -> None:
    """OLD's PKCS#12 cannot be opened (no password in the profile); the spec's can."""

    def ask(d: dict[str, Any]) -> None:
        d["identities"]["alice"]["embed_password"] = False

    spec = _spec(kit, "ask", ask)
    old = _build(spec)
    assert b"<key>Password</key>" not in old
    result = plan(old, spec, at=NOW)
    assert result.changes == [] and _plan_codes(result) == []


def test_an_identity_exported_again_is_no_change(kit: Kit) -> None:
    """The same key and certificate in a new PKCS#12 file (new salt: other bytes)."""
    from mobileconfig.pki.identities import load_pkcs12

    ident = load_pkcs12(
        (kit.folder / "alice.p12").read_bytes(), P12_PASSWORD.encode(), name="a", source="a"
    )
    (kit.folder / "alice-again.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"again",
            ident.key,  # type: ignore[arg-type]
            ident.certificate.x509,
            None,
            BestAvailableEncryption(P12_PASSWORD.encode()),
        )
    )

    # Profiles from another tool, which ships each .p12 file as it is.
    built = plistlib.loads(_build(_spec(kit, "exported")))
    versions = []
    for name in ("alice.p12", "alice-again.p12"):
        for payload in built["PayloadContent"]:
            if payload["PayloadType"] == "com.apple.security.pkcs12":
                payload["PayloadContent"] = (kit.folder / name).read_bytes()
        versions.append(plistlib.dumps(built))
    assert versions[0] != versions[1]
    result = plan(versions[0], versions[1], at=NOW)
    assert result.changes == [] and _plan_codes(result) == []


def _reshuffled(data: bytes) -> bytes:
    """The same profile with its payloads in reverse order and every PayloadUUID new
    (references follow), written as a binary plist."""
    profile = plistlib.loads(data)
    fresh = {p["PayloadUUID"]: str(uuid.uuid4()).upper() for p in profile["PayloadContent"]}

    def renamed(value: Any) -> Any:
        if isinstance(value, str):
            return fresh.get(value, value)
        if isinstance(value, dict):
            return {k: renamed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [renamed(v) for v in value]
        return value

    profile["PayloadContent"] = [renamed(p) for p in reversed(profile["PayloadContent"])]
    profile["PayloadUUID"] = str(uuid.uuid4()).upper()
    return plistlib.dumps(profile, fmt=plistlib.FMT_BINARY)


def test_reordered_payloads_and_new_uuids_are_no_change(kit: Kit) -> None:
    old = _build(_spec(kit, "reorder"))
    new = _reshuffled(old)
    assert plistlib.loads(new)["PayloadContent"] != plistlib.loads(old)["PayloadContent"]
    result = plan(old, new, at=NOW)
    assert result.changes == [] and _plan_codes(result) == []


def test_re_signing_the_same_content_is_no_change(kit: Kit) -> None:
    content = _build(_spec(kit, "resign"))
    signer = kit.signer(kit.signer_a, "signer-a")
    first, second = sign(content, signer), sign(content, signer)
    result = plan(first, second, at=NOW)
    assert result.changes == [] and _plan_codes(result) == []
    assert result.old.signed and result.new.signed
    assert result.new.signer is not None and "Profile Signer A" in result.new.signer.subject


def test_a_changed_uuid_reference_shows_the_target_not_the_uuid(kit: Kit) -> None:
    """Pointing S/MIME at another identity is a change, named by the identity's name."""

    def second_identity(d: dict[str, Any]) -> None:
        d["identities"]["alice2"] = {
            "pkcs12": "alice2.p12",
            "password": {"file": "p12-password.txt"},
        }

    old = _spec(kit, "ref-old", second_identity)

    def switch(d: dict[str, Any]) -> None:
        second_identity(d)
        d["mail"][0]["smime"]["encryption"] = "alice2"

    result = plan(old, _spec(kit, "ref-new", switch), at=NOW)
    mail = _change(result, "modify", "com.apple.mail.managed")
    assert mail["keys"] == [
        {
            "key": "SMIMEEncryptionCertificateUUID",
            "change": "changed",
            "old": "-> alice",
            "new": "-> alice2",
        }
    ]


# -- changes -------------------------------------------------------------------------------


def test_add_remove_and_modify(kit: Kit) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["certificates"].append("partner.pem")
        d["mail"][0]["outgoing"]["port"] = 465
        d["name"] = "Plan test, v2"
        del d["wifi"]

    result = plan(_spec(kit, "v1"), _spec(kit, "v2", edit), at=NOW)
    added = _change(result, "add", "com.apple.security.root")
    assert added["name"] == "Partner Root CA"
    assert added["certificate"]["cn"] == "Partner Root CA"
    assert (
        added["certificate"]["sha256"]
        == load_certificate_file(kit.folder / "partner.pem")[0].sha256
    )
    removed = _change(result, "remove", "com.apple.wifi.managed")
    assert removed["payload_identifier"] == "com.example.plan.wifi.examplecorp"
    mail = _change(result, "modify", "com.apple.mail.managed")
    assert mail["keys"] == [
        {"key": "OutgoingMailServerPortNumber", "change": "changed", "old": 587, "new": 465}
    ]
    top = _change(result, "modify", "Configuration")
    assert top["keys"] == [
        {
            "key": "PayloadDisplayName",
            "change": "changed",
            "old": "Plan test",
            "new": "Plan test, v2",
        }
    ]
    summary = result.to_json()["summary"]
    assert (summary["add"], summary["remove"], summary["modify"]) == (1, 1, 2)


def test_a_secret_is_shown_only_as_changed(kit: Kit) -> None:
    def with_password(d: dict[str, Any]) -> None:
        d["mail"][0]["incoming"]["password"] = {"file": "mail-password.txt"}

    result = plan(_spec(kit, "nopw"), _spec(kit, "pw", with_password), at=NOW)
    mail = _change(result, "modify", "com.apple.mail.managed")
    assert {"key": "IncomingPassword", "change": "added", "secret": True} in mail["keys"]
    text = json.dumps(result.to_json())
    assert MAIL_PASSWORD not in text and P12_PASSWORD not in text
    assert MAIL_PASSWORD not in repr(result)


def test_a_secret_inside_a_dictionary_added_whole_is_hidden(kit: Kit) -> None:
    def personal(d: dict[str, Any]) -> None:
        d["wifi"] = [
            {"ssid": "Guest", "security": "WPA2", "password": {"file": "mail-password.txt"}}
        ]

    def enterprise(d: dict[str, Any]) -> None:
        d["wifi"] = [
            {
                "ssid": "Guest",
                "security": "WPA2",
                "eap": {
                    "method": "peap",
                    "username": "alice",
                    "password": {"file": "mail-password.txt"},
                    "server_names": ["radius.example.com"],
                    "anchors": ["Plan Root CA"],
                },
            }
        ]

    result = plan(_spec(kit, "psk", personal), _spec(kit, "eap", enterprise), at=NOW)
    wifi = _change(result, "modify", "com.apple.wifi.managed")
    keys = {k["key"]: k for k in wifi["keys"]}
    assert keys["Password"] == {"key": "Password", "change": "removed", "secret": True}
    assert keys["EAPClientConfiguration"]["new"]["UserPassword"] == "<secret>"
    assert MAIL_PASSWORD not in json.dumps(result.to_json())


def test_a_certificate_is_named_by_cn_and_sha256_when_it_changes_in_place(kit: Kit) -> None:
    """A profile from another tool keeps the identifier and swaps the certificate."""
    old = plistlib.loads(_build(_spec(kit, "inplace")))
    new = plistlib.loads(plistlib.dumps(old))  # a deep copy
    root = next(p for p in new["PayloadContent"] if p["PayloadType"] == "com.apple.security.root")
    root["PayloadContent"] = kit.other_root.der
    result = plan(plistlib.dumps(old), plistlib.dumps(new), at=NOW)
    change = _change(result, "modify", "com.apple.security.root")
    content = next(k for k in change["keys"] if k["key"] == "PayloadContent")
    assert "'Plan Root CA'" in content["old"] and "'Partner Root CA'" in content["new"]
    assert change["certificate"]["cn"] == "Partner Root CA"
    assert "MC702" in _codes(result)


# -- consequences --------------------------------------------------------------------------


def test_mc701_a_new_profile_identifier_is_an_error_reported_once(kit: Kit) -> None:
    def rename(d: dict[str, Any]) -> None:
        d["identifier"] = "com.example.plan2"

    result = plan(_spec(kit, "id-old"), _spec(kit, "id-new", rename), at=NOW)
    assert _plan_codes(result) == ["MC701"]
    assert result.has_errors()
    finding = result.findings[0]
    assert "'com.example.plan' to 'com.example.plan2'" in finding.message
    assert str(finding.location).endswith("id-new.yaml:1")
    # The payloads moved with the profile: one change, the profile's own.
    assert [c.payload_type for c in result.changes] == ["Configuration"]


def test_mc702_a_removed_intermediate_names_what_chains_to_it(kit: Kit) -> None:
    def drop(d: dict[str, Any]) -> None:
        d["certificates"] = ["root.pem"]

    result = plan(_spec(kit, "int-old"), _spec(kit, "int-new", drop), at=NOW)
    found = [f for f in result.findings if f.code == "MC702"]
    assert len(found) == 1, result.to_json()["findings"]
    message = found[0].message
    issuing = load_certificate_file(kit.folder / "issuing.pem")[0]
    assert f"'Plan Issuing CA' (sha256:{issuing.sha256[:16]})" in message
    assert found[0].certificate is not None and found[0].certificate.sha256 == issuing.sha256
    for user in (
        "identity 'Alice'",
        "incoming mail server mail.example.com",
        "outgoing mail server mail.example.com",
        "Wi-Fi 'ExampleCorp' RADIUS server",
    ):
        assert user in message
    # NEW's own checks see it too: the servers no longer chain to a root in the profile.
    assert "MC510" in _codes(result)
    assert result.has_errors()


def test_mc702_a_removed_root_names_the_radius_anchor(kit: Kit) -> None:
    old = _build(_spec(kit, "root-old"))

    def swap(d: dict[str, Any]) -> None:
        d["certificates"] = ["partner.pem", "issuing.pem"]
        d["wifi"][0]["eap"]["anchors"] = ["Partner Root CA"]

    result = plan(old, _spec(kit, "root-new", swap), at=NOW)
    [finding] = [f for f in result.findings if f.code == "MC702"]
    assert "'Plan Root CA'" in finding.message
    assert "Wi-Fi 'ExampleCorp' (RADIUS trust anchor)" in finding.message
    assert "certificate 'Plan Issuing CA'" in finding.message


def test_mc702_names_a_renewed_root_with_the_same_key(kit: Kit) -> None:
    renewed = issue(
        "Plan Root CA", key=kit.root.key, subject=kit.root.cert.subject, not_after=NOW + 4000 * DAY
    )
    (kit.folder / "root-renewed.pem").write_bytes(renewed.pem)

    def swap(d: dict[str, Any]) -> None:
        d["certificates"] = ["root-renewed.pem", "issuing.pem"]

    result = plan(_spec(kit, "renew-old"), _spec(kit, "renew-new", swap), at=NOW)
    [finding] = [f for f in result.findings if f.code == "MC702"]
    assert "with the same subject and key, so what it issued still chains" in finding.message


def test_mc703_a_removed_account(kit: Kit) -> None:
    def drop(d: dict[str, Any]) -> None:
        del d["mail"]

    result = plan(_spec(kit, "acct-old"), _spec(kit, "acct-new", drop), at=NOW)
    [finding] = [f for f in result.findings if f.code == "MC703"]
    assert finding.message.startswith("mail account 'alice@example.com' is removed")
    assert finding.severity.value == "warning"


def test_mc703_an_account_whose_identifier_changes(kit: Kit) -> None:
    old = _build(_spec(kit, "wifi-id"))
    profile = plistlib.loads(old)
    wifi = next(
        p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.wifi.managed"
    )
    wifi["PayloadIdentifier"] = "com.example.plan.network.corp"
    result = plan(old, plistlib.dumps(profile), at=NOW)
    change = _change(result, "modify", "com.apple.wifi.managed")
    assert change["keys"] == [
        {
            "key": "PayloadIdentifier",
            "change": "changed",
            "old": "com.example.plan.wifi.examplecorp",
            "new": "com.example.plan.network.corp",
        }
    ]
    [finding] = [f for f in result.findings if f.code == "MC703"]
    assert "Wi-Fi network 'ExampleCorp' changes its PayloadIdentifier" in finding.message


def test_mc704_the_smime_identity_replaced_by_another_certificate(kit: Kit) -> None:
    def replace(d: dict[str, Any]) -> None:
        d["identities"]["alice"]["pkcs12"] = "alice2.p12"

    result = plan(_spec(kit, "smime-old"), _spec(kit, "smime-new", replace), at=NOW)
    [finding] = [f for f in result.findings if f.code == "MC704"]
    assert "identity 'alice'" in finding.message and "alice@example.com" in finding.message
    assert "is replaced by 'Alice' (sha256:" in finding.message
    assert "can no longer be read" in finding.message
    change = _change(result, "modify", "com.apple.security.pkcs12")
    assert [k["key"] for k in change["keys"]] == ["PayloadContent"]


def test_mc704_the_smime_identity_removed_from_a_built_profile(kit: Kit) -> None:
    old = _build(_spec(kit, "smime-built"))

    def drop(d: dict[str, Any]) -> None:
        del d["identities"]
        del d["mail"][0]["smime"]
        d["wifi"][0]["eap"] = {
            "method": "peap",
            "server_names": ["radius.example.com"],
            "anchors": ["Plan Root CA"],
        }

    result = plan(old, _spec(kit, "smime-gone", drop), at=NOW)
    [finding] = [f for f in result.findings if f.code == "MC704"]
    assert "is removed" in finding.message
    assert finding.certificate is not None  # read with the password embedded in OLD


def test_mc704_not_for_an_identity_that_only_signs(kit: Kit) -> None:
    def signing_only(d: dict[str, Any]) -> None:
        d["mail"][0]["smime"] = {"signing": "alice"}

    def replaced(d: dict[str, Any]) -> None:
        signing_only(d)
        d["identities"]["alice"]["pkcs12"] = "alice2.p12"

    result = plan(_spec(kit, "sign-old", signing_only), _spec(kit, "sign-new", replaced), at=NOW)
    assert "MC704" not in _codes(result)
    _change(result, "modify", "com.apple.security.pkcs12")


def test_mc705_signed_old_against_an_unsigned_spec(kit: Kit) -> None:
    spec = _spec(kit, "mixed")
    old = sign(_build(spec), kit.signer(kit.signer_a, "signer-a"))
    result = plan(old, spec, at=NOW)
    assert result.changes == []
    assert _plan_codes(result) == ["MC705"]
    [finding] = [f for f in result.findings if f.code == "MC705"]
    assert finding.message.startswith("OLD is signed by 'Profile Signer A'")
    assert not result.has_errors()


def test_mc705_not_when_the_spec_signs_with_the_same_signer(kit: Kit) -> None:
    def signed(d: dict[str, Any]) -> None:
        d["sign"] = {"certificate": "signer-a.pem", "key": "signer-a.key", "chain": ["issuing.pem"]}

    spec = _spec(kit, "signed-spec", signed)
    old = sign(_build(_spec(kit, "signed-base")), kit.signer(kit.signer_a, "signer-a"))
    result = plan(old, spec, at=NOW)
    assert "MC705" not in _codes(result)
    assert result.new.signer is not None and result.new.signer.name == "Profile Signer A"


def test_mc705_a_different_signer(kit: Kit) -> None:
    content = _build(_spec(kit, "signers"))
    old = sign(content, kit.signer(kit.signer_a, "signer-a"))
    new = sign(content, kit.signer(kit.signer_b, "signer-b"))
    result = plan(old, new, at=NOW)
    assert result.changes == []
    [finding] = [f for f in result.findings if f.code == "MC705"]
    assert "'Profile Signer A'" in finding.message and "'Profile Signer B'" in finding.message
    assert finding.severity.value == "info"


# -- NEW's own findings, encrypted input, bad input -------------------------------------------


def test_new_findings_are_those_of_validate(kit: Kit, run_cli: Any) -> None:
    expired = issue("Old Partner CA", not_before=NOW - 800 * DAY, not_after=NOW - DAY)
    (kit.folder / "expired.pem").write_bytes(expired.pem)

    def add(d: dict[str, Any]) -> None:
        d["certificates"].append("expired.pem")

    new = _spec(kit, "expired", add)
    result = plan(_spec(kit, "before-expired"), new, at=NOW)
    assert result.has_errors()
    validated = run_cli("validate", new, "--at", NOW.isoformat(), "--format", "json")
    assert validated.code == 1
    expected = json.loads(validated.out)["findings"]
    own = [f for f in result.to_json()["findings"] if not f["code"].startswith("MC7")]
    assert own == expected


def test_a_strict_spec_fails_on_its_own_warnings_as_validate_does(kit: Kit, run_cli: Any) -> None:
    def strict(d: dict[str, Any]) -> None:
        d["validate"] = {"strict": True}

    new = _spec(kit, "strict", strict)
    result = plan(_spec(kit, "lenient"), new, at=NOW)
    own = [f for f in result.findings if f.severity.value == "warning"]
    assert own and not result.report.has_errors()  # warnings only (MC408: EC S/MIME key)
    assert result.has_errors()
    assert run_cli("validate", new, "--at", NOW.isoformat()).code == 1


def test_an_encrypted_profile_is_compared_once_decrypted(kit: Kit) -> None:
    from mobileconfig.pki.certs import load_certificates

    spec = _spec(kit, "encrypted")
    device_cert = load_certificates(kit.device.pem)[0]
    old = _build(spec, encrypt_to=device_cert)
    key_holder = Signer.from_pem(kit.device.pem, kit.device.key_pem, source="device")
    result = plan(old, spec, at=NOW, decrypt_with=key_holder)
    assert result.old.encrypted and result.changes == []
    with pytest.raises(ProfileError, match=r"encrypted to a device.*--decrypt-with"):
        plan(old, spec, at=NOW)
    other = kit.issuing.issue("Device 9999", ca=False, key_kind="rsa2048")
    wrong = Signer.from_pem(other.pem, other.key_pem, source="other device")
    with pytest.raises(ProfileError, match="cannot decrypt"):
        plan(old, spec, at=NOW, decrypt_with=wrong)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not a profile at all", b"\x30\x03\x02\x01\x05", b"<plist><array/></plist>"],
    ids=["empty", "text", "short-der", "array"],
)
def test_garbage_input_is_an_error_not_a_crash(kit: Kit, garbage: bytes) -> None:
    with pytest.raises(MobileconfigError):
        plan(garbage, _spec(kit, "garbage"), at=NOW)


# -- the public API --------------------------------------------------------------------------


def test_the_package_exports_plan_even_after_importing_its_module() -> None:
    # A submodule named mobileconfig.plan would replace the function on the package here.
    import mobileconfig.planning

    assert callable(mobileconfig.plan)
    assert mobileconfig.Plan is Plan
    assert "plan" in mobileconfig.__all__ and "Plan" in mobileconfig.__all__


def test_the_json_has_the_documented_shape(kit: Kit) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["mail"][0]["outgoing"]["port"] = 465

    data = plan(_spec(kit, "shape-old"), _spec(kit, "shape-new", edit), at=NOW).to_json()
    assert set(data) >= {"old", "new", "changes", "findings"}
    assert set(data["old"]) >= {"identifier", "uuid"}
    assert set(data["changes"][0]) >= {
        "action",
        "payload_type",
        "payload_identifier",
        "name",
        "keys",
    }
    json.dumps(data)  # nothing that JSON cannot hold


def test_at_is_when_new_is_checked(kit: Kit) -> None:
    spec = _spec(kit, "later")
    later = NOW + dt.timedelta(days=4000)
    assert "MC103" in _codes(plan(spec, spec, at=later))
    assert "MC103" not in _codes(plan(spec, spec, at=NOW))


# -- the command line ------------------------------------------------------------------------

PLAN_PAGE = ROOT / "docs" / "plan.md"


def _at() -> str:
    return NOW.isoformat()


def test_cli_text_reads_like_a_review(kit: Kit, run_cli: Any) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["certificates"].append("partner.pem")
        d["mail"][0]["outgoing"]["port"] = 465
        del d["wifi"]

    result = run_cli("plan", _spec(kit, "t-old"), _spec(kit, "t-new", edit), "--at", _at())
    assert result.code == 0, result
    out = result.out
    for text in (
        "profile: com.example.plan (Plan test): devices replace it",
        "Devices gain (1):\n  + Partner Root CA  [com.apple.security.root]",
        "Devices lose (1):\n  - Wi-Fi ExampleCorp  [com.apple.wifi.managed]",
        "Devices change (1):\n  ~ Mail (alice@example.com)  [com.apple.mail.managed]",
        "      OutgoingMailServerPortNumber: 587 -> 465",
        "warning MC703: Wi-Fi network 'ExampleCorp' is removed",
        "plan: 1 to gain, 1 to lose, 1 to change; 0 errors",
    ):
        assert text in out, out
    assert out.index("Devices gain") < out.index("Devices lose") < out.index("Devices change")
    assert "\x1b[" not in out  # not a terminal: no colour


def test_cli_colour_only_on_a_terminal(kit: Kit) -> None:
    from mobileconfig.cli.plan import render

    def drop(d: dict[str, Any]) -> None:
        del d["mail"]

    result = plan(_spec(kit, "c-old"), _spec(kit, "c-new", drop), at=NOW)
    assert "\x1b[31m  - Mail (alice@example.com)" in render(result, colour=True)
    assert "\x1b[" not in render(result, colour=False)


def test_cli_no_change_and_exit_code(kit: Kit, run_cli: Any) -> None:
    spec = _spec(kit, "x-same")
    built = kit.folder / "x-same.mobileconfig"
    built.write_bytes(_build(spec))
    same = run_cli("plan", built, spec, "--at", _at(), "--exit-code")
    assert same.code == 0, same
    assert "No change: devices keep what they have." in same.out

    def edit(d: dict[str, Any]) -> None:
        d["mail"][0]["outgoing"]["port"] = 465

    changed = _spec(kit, "x-changed", edit)
    assert run_cli("plan", spec, changed, "--at", _at()).code == 0
    assert run_cli("plan", spec, changed, "--at", _at(), "--exit-code").code == 1


def test_cli_an_error_finding_exits_1(kit: Kit, run_cli: Any) -> None:
    def rename(d: dict[str, Any]) -> None:
        d["identifier"] = "com.example.plan.renamed"

    result = run_cli("plan", _spec(kit, "e-old"), _spec(kit, "e-new", rename), "--at", _at())
    assert result.code == 1, result
    assert "error MC701:" in result.out
    assert "NEW has another identifier than OLD (com.example.plan)" in result.out


def test_cli_json_is_the_library_plan(kit: Kit, run_cli: Any) -> None:
    old = kit.folder / "j-old.mobileconfig"
    old.write_bytes(sign(_build(_spec(kit, "j")), kit.signer(kit.signer_a, "signer-a")))

    def edit(d: dict[str, Any]) -> None:
        d["mail"][0]["incoming"]["password"] = {"file": "mail-password.txt"}

    new = _spec(kit, "j-new", edit)
    result = run_cli("plan", old, new, "--at", _at(), "--format", "json")
    assert result.code == 0, result
    data = json.loads(result.out)
    assert data == json.loads(json.dumps(plan(old, new, at=NOW).to_json()))
    assert data["old"]["signed"] and not data["new"]["signed"]
    assert "MC705" in [f["code"] for f in data["findings"]]
    assert MAIL_PASSWORD not in result.out + result.err


def test_cli_variables_apply_to_both_specs(kit: Kit, run_cli: Any) -> None:
    def templated(d: dict[str, Any]) -> None:
        d["name"] = "Plan test for {{ user }}"

    spec = _spec(kit, "v", templated)
    result = run_cli("plan", spec, spec, "--at", _at(), "--var", "user=alice", "--exit-code")
    assert result.code == 0, result
    assert "(Plan test for alice)" in result.out
    missing = run_cli("plan", spec, spec, "--at", _at())
    assert missing.code == 2 and "user" in missing.err


def test_cli_encrypted_needs_its_device_identity(kit: Kit, run_cli: Any) -> None:
    from mobileconfig.pki.certs import load_certificates

    spec = _spec(kit, "enc")
    old = kit.folder / "enc.mobileconfig"
    old.write_bytes(_build(spec, encrypt_to=load_certificates(kit.device.pem)[0]))
    (kit.folder / "device.pem").write_bytes(kit.device.pem)
    (kit.folder / "device.key").write_bytes(kit.device.key_pem)
    refused = run_cli("plan", old, spec, "--at", _at())
    assert refused.code == 2
    assert refused.err.count("\n") == 1 and "--decrypt-with" in refused.err
    opened = run_cli(
        "plan",
        old,
        spec,
        "--at",
        _at(),
        "--decrypt-with",
        kit.folder / "device.pem",
        "--decrypt-key",
        kit.folder / "device.key",
        "--exit-code",
    )
    assert opened.code == 0, opened


@pytest.mark.parametrize(
    "content",
    [b"garbage", b"", b"\x30\x82\xff\xff\x06\x09", b"bplist00\xff\xff", b"<plist><string>x"],
    ids=["text", "empty", "truncated-der", "bad-bplist", "bad-xml"],
)
def test_cli_garbage_exits_2_with_one_line(kit: Kit, tmp_path: Path, content: bytes) -> None:
    from conftest import run_module

    bad = tmp_path / "bad.mobileconfig"
    bad.write_bytes(content)
    spec = _spec(kit, "g")
    for argv in ((bad, spec), (spec, bad)):
        proc = run_module("plan", *argv)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("mobileconfig: error: ")
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert proc.stdout == ""


def test_cli_missing_file_and_bad_spec_exit_2(kit: Kit, run_cli: Any) -> None:
    spec = _spec(kit, "m")
    missing = run_cli("plan", kit.folder / "nope.mobileconfig", spec)
    assert missing.code == 2 and "file not found" in missing.err
    broken = kit.folder / "broken.yaml"
    broken.write_text("identifier: [unclosed\n")
    assert run_cli("plan", spec, broken).code == 2


def test_cli_escapes_what_a_profile_names(kit: Kit, run_cli: Any) -> None:
    """A crafted display name cannot drive the terminal or forge a line of the plan."""
    old = _build(_spec(kit, "hostile"))
    profile = plistlib.loads(old)
    wifi = next(
        p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.wifi.managed"
    )
    wifi["PayloadDisplayName"] = "Wi-Fi\x1b[2J\nplan: 0 to gain\u202eevil"
    wifi["SSID_STR"] = "Corp\u2066Net"
    new = kit.folder / "hostile-new.mobileconfig"
    new.write_bytes(plistlib.dumps(profile, fmt=plistlib.FMT_BINARY))  # XML refuses ESC
    old_file = kit.folder / "hostile-old.mobileconfig"
    old_file.write_bytes(old)
    result = run_cli("plan", old_file, new, "--at", _at())
    assert result.code == 0, result
    assert "\x1b" not in result.out and "\u202e" not in result.out and "\u2066" not in result.out
    assert "Wi-Fi\\x1b[2J\\x0aplan: 0 to gain\\u202eevil" in result.out
    assert '"Corp\\u2066Net"' in result.out


def test_cli_trace_of_dependents_is_bounded(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    import mobileconfig.planning.consequences as consequences

    leaves = [kit.issuing.issue(f"Device {n}", ca=False).pem for n in range(6)]
    for n, pem in enumerate(leaves):
        (kit.folder / f"leaf{n}.pem").write_bytes(pem)

    def many(d: dict[str, Any]) -> None:
        d["certificates"].extend(f"leaf{n}.pem" for n in range(6))

    def gone(d: dict[str, Any]) -> None:
        many(d)
        d["certificates"].remove("issuing.pem")

    monkeypatch.setattr(consequences, "MAX_TRACED", 3)
    result = plan(_spec(kit, "b-old", many), _spec(kit, "b-new", gone), at=NOW)
    [finding] = [f for f in result.findings if f.code == "MC702"]
    assert "(more not traced)" in finding.message


# -- the docs page ---------------------------------------------------------------------------


def _console_block(command: str) -> list[str]:
    """The output shown under ``$ command`` in docs/plan.md's console block."""
    lines = PLAN_PAGE.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"$ {command}") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    return lines[start:end]


def test_docs_example_output_is_what_the_command_prints() -> None:
    from conftest import run_module

    command = "mobileconfig plan examples/mail/profile.yaml examples/plan/mail-v2.yaml"
    proc = run_module(*command.split()[1:], env={"NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == _console_block(command)


def _schema() -> dict[str, Any]:
    text = PLAN_PAGE.read_text(encoding="utf-8")
    block = text.split("### Schema", 1)[1].split("```json\n", 1)[1].split("\n```", 1)[0]
    schema: dict[str, Any] = json.loads(block)
    return schema


def test_docs_schema_describes_the_json(kit: Kit) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    jsonschema.Draft202012Validator.check_schema(_schema())

    def edit(d: dict[str, Any]) -> None:
        d["identifier"] = "com.example.plan.other"
        d["mail"][0]["incoming"]["password"] = {"file": "mail-password.txt"}
        del d["wifi"]

    signed = sign(_build(_spec(kit, "s-old")), kit.signer(kit.signer_a, "signer-a"))
    for old, new in (
        (signed, _spec(kit, "s-new", edit)),
        (ROOT / "examples/mail/profile.yaml", ROOT / "examples/plan/mail-v2.yaml"),
    ):
        data = json.loads(json.dumps(plan(old, new, at=NOW).to_json()))
        validator.validate(data)
    bad = {**data, "changes": [{"action": "rename"}]}
    assert not validator.is_valid(bad)


@pytest.mark.parametrize("name", ["mail-v2.yaml", "renamed.yaml"])
def test_plan_examples_match_the_spec_schema(name: str) -> None:
    import jsonschema

    from mobileconfig.spec.load import load_yaml
    from mobileconfig.spec.schema import spec_json_schema

    path = ROOT / "examples" / "plan" / name
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../mobileconfig.schema.json")
    jsonschema.Draft202012Validator(spec_json_schema()).validate(
        load_yaml(text, file=str(path)).value
    )


def test_docs_ci_recipe_plans_the_merge_base(tmp_path: Path) -> None:
    """The workflow's Plan step, run as shown in a repository with a branch."""
    import os
    import shutil
    import subprocess
    import sys

    import yaml

    text = PLAN_PAGE.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text.split("```yaml\n", 1)[1].split("\n```", 1)[0])
    [step] = [s for s in workflow["jobs"]["plan"]["steps"] if s.get("name") == "Plan"]
    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "mail", repo)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]

    def sh(*argv: str) -> None:
        subprocess.run([*git, *argv], cwd=repo, check=True, capture_output=True)

    sh("init", "-q", "-b", "main")
    sh("add", "-A")
    sh("commit", "-q", "--no-gpg-sign", "-m", "v1")
    sh("update-ref", "refs/remotes/origin/main", "main")
    sh("checkout", "-q", "-b", "branch")
    spec = repo / "profile.yaml"
    spec.write_text(spec.read_text().replace("port: 587", "port: 465"))
    sh("commit", "-q", "--no-gpg-sign", "-am", "v2")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "mobileconfig"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mobileconfig "$@"\n')
    shim.chmod(0o755)
    output = tmp_path / "github_output"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "BASE_REF": "main",
        "GITHUB_OUTPUT": str(output),
    }
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert output.read_text() == "status=0\n"
    shown = (repo / "plan.txt").read_text()
    assert "OutgoingMailServerPortNumber: 587 -> 465" in shown, shown
