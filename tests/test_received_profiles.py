"""Profiles from anywhere: ``validate`` and ``inspect`` read them all and give one verdict.

Every case is made here from the test PKI: signed and tampered profiles, Profile Service
enrolment profiles, padded files, identities with a right, wrong or missing embedded
password, and certificates the checks must catch inside a PKCS#12.
"""

from __future__ import annotations

import json
import plistlib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    PrivateFormat,
    pkcs12,
)
from cryptography.x509.oid import NameOID

from mobileconfig import cms
from mobileconfig.pki.certs import Certificate

from conftest import SAMPLES, CLIResult
from pki import DAY, NOW, Issued, TestPKI, issue, openssl_resign

RunCLI = Callable[..., CLIResult]
AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI("ec256", prefix="Received")


@pytest.fixture(scope="module")
def signer(pki: TestPKI) -> cms.Signer:
    leaf = pki.intermediate.issue("Received Profile Signer", ca=False)
    return cms.Signer(
        Certificate(leaf.cert), leaf.key, [Certificate(pki.intermediate.cert)], source="signer"
    )


def _payload(ptype: str, n: int, name: str, **keys: Any) -> dict[str, Any]:
    return {
        "PayloadType": ptype,
        "PayloadVersion": 1,
        "PayloadIdentifier": f"com.example.received.{n}",
        "PayloadUUID": f"5EC0DA7A-0000-4000-8000-{n:012d}",
        "PayloadDisplayName": name,
        **keys,
    }


def _profile(*payloads: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.received",
        "PayloadUUID": "5EC0DA7A-0000-4000-8000-FFFFFFFFFFFF",
        "PayloadDisplayName": "Received",
        "PayloadContent": list(payloads),
        **top,
    }


def _root(pki: TestPKI, n: int = 1) -> dict[str, Any]:
    return _payload("com.apple.security.root", n, "Received Root CA", PayloadContent=pki.root.der)


def _write(tmp_path: Path, name: str, data: bytes | dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_bytes(plistlib.dumps(data) if isinstance(data, dict) else data)
    return path


def _codes(result: CLIResult) -> list[str]:
    return sorted(f["code"] for f in json.loads(result.out)["findings"])


def _both(run_cli: RunCLI, path: Path, *extra: str) -> tuple[CLIResult, CLIResult]:
    """validate and inspect on one file, JSON; they must agree on codes and exit status."""
    v = run_cli("validate", path, "--at", AT, "--format", "json", *extra)
    i = run_cli("inspect", path, "--at", AT, "--format", "json", *extra)
    assert _codes(v) == _codes(i), (v, i)
    assert v.code == i.code, (v, i)
    return v, i


# -- one verdict: signatures ----------------------------------------------------------------


def test_validate_verifies_the_signature_as_inspect_does(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI, signer: cms.Signer
) -> None:
    content = plistlib.dumps(_profile(_root(pki)))
    signed = cms.sign(content, signer)
    good = _write(tmp_path, "good.mobileconfig", signed)
    v, _ = _both(run_cli, good, "--ca", str(pki.root.write(tmp_path / "root.pem")))
    assert v.code == 0 and "MC207" not in _codes(v)
    # Without a trusted root, the same file is "untrusted": a warning, not a refusal.
    v, _ = _both(run_cli, good)
    assert v.code == 0 and "MC207" in _codes(v)
    # One byte of the content changed after signing.
    at = signed.index(b"Received</string>")
    tampered = _write(tmp_path, "tampered.mobileconfig", signed[:at] + b"X" + signed[at + 1 :])
    v, _ = _both(run_cli, tampered)
    assert v.code == 1 and "MC206" in _codes(v)


def test_validate_counts_an_expired_signer(tmp_path: Path, run_cli: RunCLI, pki: TestPKI) -> None:
    old = pki.intermediate.issue(
        "Expired Signer", ca=False, not_before=NOW - 400 * DAY, not_after=NOW - DAY
    )
    expired = cms.Signer(
        Certificate(old.cert), old.key, [Certificate(pki.intermediate.cert)], source="old"
    )
    path = _write(
        tmp_path, "expired.mobileconfig", cms.sign(plistlib.dumps(_profile(_root(pki))), expired)
    )
    v, _ = _both(run_cli, path)
    assert v.code == 1 and "MC201" in _codes(v)
    text = run_cli("validate", path, "--at", AT)
    assert text.code == 1 and "MC201" in text.out


def test_untrusted_signer_is_said_once(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI, signer: cms.Signer
) -> None:
    other = issue("Some Other Root")
    path = _write(
        tmp_path, "other.mobileconfig", cms.sign(plistlib.dumps(_profile(_root(pki))), signer)
    )
    v, _ = _both(run_cli, path, "--ca", str(other.write(tmp_path / "other.pem")))
    findings = json.loads(v.out)["findings"]
    mc207 = next(f for f in findings if f["code"] == "MC207")
    stop = next(f for f in findings if f["code"] in ("MC101", "MC118"))
    assert f"see {stop['code']}" in mc207["message"]
    assert stop["message"] not in mc207["message"]


def test_signing_time_absent_reads_not_recorded(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI, signer: cms.Signer
) -> None:
    path = _write(
        tmp_path, "s.mobileconfig", cms.sign(plistlib.dumps(_profile(_root(pki))), signer)
    )
    out = run_cli("inspect", path, "--at", AT).out
    assert "signed at: None" not in out
    if (
        json.loads(run_cli("inspect", path, "--at", AT, "--format", "json").out)["signature"][
            "signing_time"
        ]
        is None
    ):
        assert "signed at: not recorded" in out


# -- schema findings on received profiles -------------------------------------------------


def test_structural_bugs_are_reported(tmp_path: Path, run_cli: RunCLI, pki: TestPKI) -> None:
    wifi = _payload(
        "com.apple.wifi.managed",
        2,
        "Corp Wi-Fi",
        SSID_STR="Corp",
        PayloadCertificateUUID="DEADBEEF-0000-4000-8000-000000000000",
        EAPClientConfiguration={"AcceptEAPTypes": [13]},
    )
    twin = _root(pki, 3)
    twin["PayloadUUID"] = wifi["PayloadUUID"]
    path = _write(tmp_path, "bugs.mobileconfig", _profile(_root(pki), wifi, twin))
    v, _ = _both(run_cli, path)
    assert v.code == 1
    codes = _codes(v)
    assert {"MC004", "MC005", "MC001"} <= set(codes)
    dup = next(f for f in json.loads(v.out)["findings"] if f["code"] == "MC001")
    assert "is in 2 payloads of this profile" in dup["message"]
    assert "Remove the extra payloads" in dup["fix"]


def test_payload_version_two_is_a_finding_not_a_dump(tmp_path: Path, run_cli: RunCLI) -> None:
    path = _write(tmp_path, "v2.mobileconfig", _profile(PayloadVersion=2))
    v, _ = _both(run_cli, path)
    assert v.code == 1 and _codes(v) == ["MC008"]
    text = run_cli("validate", path, "--at", AT)
    assert "PayloadVersion: 2 is not one of Apple's allowed values (1)" in text.out
    assert "pydantic" not in text.out + text.err and "Traceback" not in text.err


def test_wrong_types_and_unknown_keys(tmp_path: Path, run_cli: RunCLI) -> None:
    wifi = _payload(
        "com.apple.wifi.managed", 2, "Wi-Fi", SSID_STR="Corp", AutoJoin="true", Autojoin=True
    )
    path = _write(tmp_path, "types.mobileconfig", _profile(wifi))
    v, _ = _both(run_cli, path)
    assert v.code == 1 and _codes(v) == ["MC007", "MC008"]


def test_platform_minimums_on_the_command_line(tmp_path: Path, run_cli: RunCLI) -> None:
    acme = _payload(
        "com.apple.security.acme",
        2,
        "ACME",
        DirectoryURL="https://acme.example.com/d",
        ClientIdentifier="one-time-secret",
        KeySize=256,
        KeyType="ECSECPrimeRandom",
        HardwareBound=True,
        Subject=[[["CN", "device"]]],
    )
    path = _write(tmp_path, "acme.mobileconfig", _profile(acme))
    v, _ = _both(run_cli, path, "--platform", "iOS=15.0", "--platform", "macOS=13.1")
    assert v.code == 0 and "MC011" in _codes(v)
    message = next(f for f in json.loads(v.out)["findings"] if f["code"] == "MC011")["message"]
    assert "needs iOS 16.0, newer than the minimum 15.0" in message
    assert "one-time-secret" not in v.out
    assert "MC011" not in _codes(run_cli("validate", path, "--format", "json", "--at", AT))
    bad = run_cli("validate", path, "--platform", "Android=14")
    assert bad.code == 2 and "unknown platform 'Android'" in bad.err


def test_platform_on_a_spec_is_refused_not_ignored(tmp_path: Path, run_cli: RunCLI) -> None:
    """A spec names its own platforms; --platform beside one used to be dropped without a
    word. A malformed --platform is refused whatever the target."""
    spec = tmp_path / "profile.yaml"
    issue("Spec Root CA").write(tmp_path / "root.pem")
    spec.write_text("identifier: com.example.p\nname: P\ncertificates: [root.pem]\n")
    given = run_cli("validate", spec, "--platform", "iOS=16.0")
    assert given.code == 2 and "--platform is for a built profile" in given.err
    assert len(given.err.strip().splitlines()) == 1
    bad = run_cli("validate", spec, "--platform", "iOS=abc")
    assert bad.code == 2 and "'abc' is not a version number" in bad.err


# -- top-level shapes and padding --------------------------------------------------------------


def test_profile_service_is_read_and_shown(tmp_path: Path, run_cli: RunCLI) -> None:
    enrol = {
        "PayloadType": "Profile Service",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.enrol",
        "PayloadUUID": "5EC0DA7A-0000-4000-8000-0000000000AA",
        "PayloadDisplayName": "Enrol this device",
        "PayloadContent": {
            "URL": "https://mdm.example.com/enrol",
            "DeviceAttributes": ["UDID", "SERIAL", "PRODUCT"],
            "Challenge": "ch4ll3nge-value",
        },
    }
    path = _write(tmp_path, "enrol.mobileconfig", enrol)
    v, i = _both(run_cli, path)
    assert v.code == 0 and _codes(v) == []
    text = run_cli("inspect", path, "--at", AT).out
    assert "Profile Service profile" in text
    assert "URL: https://mdm.example.com/enrol" in text and "UDID" in text
    assert "Challenge: <embedded>" in text
    assert "ch4ll3nge-value" not in text + i.out


def test_unknown_top_level_type_is_a_warning(tmp_path: Path, run_cli: RunCLI) -> None:
    odd = {
        "PayloadType": "Something Else",
        "PayloadVersion": 1,
        "PayloadIdentifier": "x",
        "PayloadUUID": "y",
    }
    v, _ = _both(run_cli, _write(tmp_path, "odd.mobileconfig", odd))
    assert v.code == 0 and _codes(v) == ["MC010"]


@pytest.mark.parametrize(
    ("tail", "code"),
    [
        (b"\x00" * 7, "MC015"),
        (b"\n\x00 \x00\r\n\x00", "MC015"),
        (b"\n-- sent from my phone\n", "MC016"),
    ],
    ids=["nul", "nul-and-whitespace", "text"],
)
def test_bytes_after_the_plist(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI, signer: cms.Signer, tail: bytes, code: str
) -> None:
    body = plistlib.dumps(_profile(_root(pki))) + tail
    for name, data in (("plain", body), ("signed", cms.sign(body, signer))):
        v, _ = _both(run_cli, _write(tmp_path, f"{name}.mobileconfig", data))
        assert v.code == 0, v
        assert code in _codes(v)
        assert "MC206" not in _codes(v)  # the signature is over the padded bytes, and holds


# -- identities inside received profiles ----------------------------------------------------


def _legacy_p12(owner: Issued, password: bytes) -> bytes:
    algorithm = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(password)
    )
    return pkcs12.serialize_key_and_certificates(b"id", owner.key, owner.cert, None, algorithm)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def weak_identity(pki: TestPKI) -> Issued:
    """An expired RSA-1024 certificate signed with SHA-1, as old exports have."""
    leaf = pki.intermediate.issue(
        "Old Laptop",
        ca=False,
        key_kind="rsa1024",
        not_before=NOW - 900 * DAY,
        not_after=NOW - 30 * DAY,
    )
    return openssl_resign(leaf, pki.intermediate, "sha1")


def test_certificate_inside_a_pkcs12_is_checked(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI, weak_identity: Issued
) -> None:
    inter = _payload("com.apple.security.pkcs1", 4, "Issuing", PayloadContent=pki.intermediate.der)
    ident = _payload(
        "com.apple.security.pkcs12",
        2,
        "Old Laptop",
        PayloadContent=_legacy_p12(weak_identity, b"right"),
        Password="right",
    )
    path = _write(tmp_path, "weak.mobileconfig", _profile(_root(pki), inter, ident))
    v, _ = _both(run_cli, path)
    assert v.code == 1
    assert {"MC103", "MC111", "MC112", "MC302"} <= set(_codes(v)), _codes(v)
    assert "right" not in v.out.replace("right</", "")  # the password is never shown


def test_wrong_embedded_password_is_mc307(tmp_path: Path, run_cli: RunCLI, pki: TestPKI) -> None:
    alice = pki.intermediate.issue("Alice", ca=False)
    ident = _payload(
        "com.apple.security.pkcs12",
        2,
        "Alice",
        PayloadContent=_legacy_p12(alice, b"the-real-one"),
        Password="a-wrong-one",
    )
    path = _write(tmp_path, "wrong.mobileconfig", _profile(_root(pki), ident))
    v, _ = _both(run_cli, path)
    assert v.code == 1 and "MC307" in _codes(v)
    f = next(f for f in json.loads(v.out)["findings"] if f["code"] == "MC307")
    assert f["severity"] == "error"
    assert "cannot be opened with the password in the profile" in f["message"]
    assert "a-wrong-one" not in v.out and "the-real-one" not in v.out


def test_missing_embedded_password_is_an_info(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI
) -> None:
    alice = pki.intermediate.issue("Alice", ca=False)
    modern = pkcs12.serialize_key_and_certificates(
        b"a",
        alice.key,
        alice.cert,
        None,
        BestAvailableEncryption(b"pw"),  # type: ignore[arg-type]
    )
    ident = _payload("com.apple.security.pkcs12", 2, "Alice", PayloadContent=modern)
    v, _ = _both(run_cli, _write(tmp_path, "ask.mobileconfig", _profile(_root(pki), ident)))
    assert v.code == 0 and "MC017" in _codes(v)
    f = next(f for f in json.loads(v.out)["findings"] if f["code"] == "MC017")
    assert f["severity"] == "info" and "asks for it at install" in f["message"]


# -- display -----------------------------------------------------------------------------------


def test_secrets_hidden_by_schema_settings_shown(tmp_path: Path, run_cli: RunCLI) -> None:
    screen = _payload(
        "com.apple.screensaver", 2, "Screen", askForPassword=True, askForPasswordDelay=5
    )
    restrictions = _payload(
        "com.apple.applicationaccess", 3, "Restrictions", allowPasswordAutoFill=False
    )
    wifi = _payload("com.apple.wifi.managed", 4, "Wi-Fi", SSID_STR="Corp", Password="hunter22")
    path = _write(tmp_path, "show.mobileconfig", _profile(screen, restrictions, wifi))
    text = run_cli("inspect", path, "--at", AT).out
    assert "askForPassword: true" in text and "askForPasswordDelay: 5" in text
    assert "allowPasswordAutoFill: false" in text
    assert "Password: <embedded>" in text and "hunter22" not in text


def test_common_attributes_by_name_and_no_python_warnings(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI, capsys: pytest.CaptureFixture[str]
) -> None:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Mail Root"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "pki@example.com"),
        ]
    )
    root = issue("Mail Root", subject=subject)
    long_cn = "L" * 79  # over X.520's 64: cryptography warns when it reads it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        long_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, long_cn, _validate=False)])
        odd = issue("long", subject=long_name)
    path = _write(
        tmp_path,
        "names.mobileconfig",
        _profile(
            _payload("com.apple.security.root", 1, "Mail Root", PayloadContent=root.der),
            _payload("com.apple.security.root", 2, "Long", PayloadContent=odd.der),
        ),
    )
    result = run_cli("inspect", path, "--at", AT)
    assert "emailAddress=pki@example.com" in result.out
    assert "1.2.840.113549.1.9.1" not in result.out
    assert "Warning" not in result.err and "warn" not in result.err.lower()


# -- errors reading a spec ----------------------------------------------------------------------


def test_spec_errors_all_at_once_in_text_and_json(
    write_spec: Callable[..., Path], run_cli: RunCLI
) -> None:
    spec = write_spec(
        "identifier: com.example.x\nname: n\ncertificates:\n  - {pth: a.pem}\n"
        "platforms: [iOS, Andr]\nscope: all\n"
    )
    text = run_cli("validate", spec)
    assert text.code == 2
    lines = [line for line in text.err.splitlines() if "profile.yaml:" in line]
    assert len(lines) == 4, text.err
    assert any(":4: certificates[0]: unknown key 'pth'; did you mean 'path'?" in x for x in lines)
    assert "Input should be" not in text.err and "pydantic" not in text.err
    js = run_cli("validate", spec, "--format", "json")
    assert js.code == 2
    errors = json.loads(js.out)["errors"]
    assert {e["path"] for e in errors} == {
        "certificates[0].path",
        "certificates[0].pth",
        "platforms[1]",
        "scope",
    }
    assert all(set(e) == {"file", "line", "path", "message"} for e in errors)


def test_received_profile_errors_are_one_readable_line(tmp_path: Path, run_cli: RunCLI) -> None:
    path = _write(tmp_path, "items.mobileconfig", _profile("not a payload"))  # type: ignore[arg-type]
    result = run_cli("validate", path, "--format", "json")
    assert result.code == 2
    error = json.loads(result.out)["errors"][0]
    assert error["file"] == str(path) and "PayloadContent[0] is a string" in error["message"]


# -- the spec's own build runs the same checks ---------------------------------------------------


def test_spec_platform_minimums_and_build_output_checks(
    tmp_path: Path, write_spec: Callable[..., Path], run_cli: RunCLI, pki: TestPKI
) -> None:
    pki.root.write(tmp_path / "root.pem")
    spec = write_spec(
        "identifier: com.example.built\nname: Built\ncertificates: [root.pem]\n"
        'platforms: {iOS: "15.0", macOS: "13.0"}\n'
        "payloads:\n"
        "  - PayloadType: com.apple.wifi.managed\n"
        "    AutoJoin: true\n"
        "    DisableAssociationMACRandomization: true\n"
    )
    result = run_cli("validate", spec, "--at", AT, "--format", "json")
    codes = _codes(result)
    # The escape hatch's Wi-Fi lacks its SSID: the build's own output is checked.
    assert "MC009" in codes, result
    assert result.code == 1
    out = tmp_path / "built.mobileconfig"
    assert run_cli("build", spec, "-o", out, "--at", AT).code == 1 and not out.exists()


def test_spec_platform_minimums_reach_the_findings(
    tmp_path: Path, write_spec: Callable[..., Path], run_cli: RunCLI, pki: TestPKI
) -> None:
    pki.root.write(tmp_path / "root.pem")
    spec = write_spec(
        "identifier: com.example.built\nname: Built\ncertificates: [root.pem]\n"
        'platforms: {iOS: "13.0"}\n'
        "payloads:\n"
        "  - PayloadType: com.apple.wifi.managed\n"
        "    SSID_STR: Corp\n"
        "    DisableAssociationMACRandomization: true\n"
    )
    result = run_cli("validate", spec, "--at", AT, "--format", "json")
    assert result.code == 0, result
    f = next(f for f in json.loads(result.out)["findings"] if f["code"] == "MC011")
    assert "DisableAssociationMACRandomization (iOS 14.0)" in f["message"]
    listed = write_spec(
        "identifier: com.example.built\nname: Built\ncertificates: [root.pem]\nplatforms: [iOS]\n",
        name="listed.yaml",
    )
    assert run_cli("validate", listed, "--at", AT).code == 0
    bad = write_spec(
        "identifier: com.example.built\nname: Built\ncertificates: [root.pem]\n"
        "platforms: {iOS: sixteen}\n",
        name="bad.yaml",
    )
    wrong = run_cli("validate", bad)
    assert wrong.code == 2 and "is not a version" in wrong.err


# -- the shared real-world samples -------------------------------------------------------------


def test_validate_and_inspect_agree_on_every_signed_sample(run_cli: RunCLI) -> None:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples is not beside this checkout")
    signed = [p for p in sorted(SAMPLES.glob("*.mobileconfig")) if p.read_bytes()[:1] == b"\x30"]
    assert signed
    for path in signed:
        # Every signer there has expired by now: judge each at a time inside its window
        # and at the pinned time alike; the two commands must agree either way.
        for at in ("2026-04-01", AT):
            v = run_cli("validate", path, "--at", at, "--format", "json", "--public-roots")
            i = run_cli("inspect", path, "--at", at, "--format", "json", "--public-roots")
            assert _codes(v) == _codes(i), path.name
            assert v.code == i.code, path.name


# -- hostile input ----------------------------------------------------------------------------


def test_hostile_trailing_bytes(tmp_path: Path, run_cli: RunCLI) -> None:
    body = plistlib.dumps(_profile())
    # A megabyte of padding, and a second document after the first.
    for tail, code in ((b"\x00" * 1_000_000, "MC015"), (body, "MC016")):
        v, _ = _both(run_cli, _write(tmp_path, "t.mobileconfig", body + tail))
        assert v.code == 0 and code in _codes(v)
    # "</plist>" inside a CDATA section, then junk: the cut falls inside the string, so the
    # file is refused in one line, not read wrongly.
    cdata = body.replace(b"<string>Received</string>", b"<string><![CDATA[x</plist>y]]></string>")
    result = run_cli("validate", _write(tmp_path, "c.mobileconfig", cdata + b"junk"))
    assert result.code == 2 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_deep_nesting_in_a_payload_is_checked_without_recursion_trouble(
    tmp_path: Path, run_cli: RunCLI
) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(55):
        deep = {"k": deep, "PayloadCertificateUUID": "nowhere"}
    raw = _payload("com.example.deep", 2, "Deep", Nested=deep)
    v, _ = _both(run_cli, _write(tmp_path, "deep.mobileconfig", _profile(raw)))
    assert v.code == 1 and _codes(v).count("MC004") == 50  # bounded: 50 per payload


def test_identity_used_for_what_its_certificate_is_not_made_for(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI
) -> None:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    server_only = pki.intermediate.issue(
        "Server Only", ca=False, eku=[ExtendedKeyUsageOID.SERVER_AUTH]
    )
    ident = _payload(
        "com.apple.security.pkcs12",
        2,
        "Server Only",
        PayloadContent=_legacy_p12(server_only, b"pw"),
        Password="pw",
    )
    wifi = _payload(
        "com.apple.wifi.managed",
        3,
        "Corp Wi-Fi",
        SSID_STR="Corp",
        PayloadCertificateUUID=ident["PayloadUUID"],
        EAPClientConfiguration={"AcceptEAPTypes": [13]},
    )
    inter = _payload("com.apple.security.pkcs1", 4, "Issuing", PayloadContent=pki.intermediate.der)
    v, _ = _both(
        run_cli, _write(tmp_path, "eku.mobileconfig", _profile(_root(pki), inter, ident, wifi))
    )
    f = next(f for f in json.loads(v.out)["findings"] if f["code"] == "MC408")
    assert "payload 3 com.apple.wifi.managed 'Corp Wi-Fi'" in f["message"]
    assert "for client authentication, but its extendedKeyUsage lacks clientAuth" in f["message"]
