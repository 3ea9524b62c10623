"""The bundled copy of Apple's schema: what it holds, its licence, and that it is fresh.

Only the freshness tests read ``../shared/apple-device-management`` (and skip without it);
the rest judge the package's own data.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mobileconfig import schema

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "apple-device-management"
SCRIPT = ROOT / "scripts" / "gen_apple_schema.py"
DATA = ROOT / "mobileconfig" / "schema" / "apple_profiles.json"


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_apple_schema", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shared() -> Path:
    if not (SOURCE / "mdm" / "profiles").is_dir():
        pytest.skip(
            "Apple's schema (../shared/apple-device-management) is not beside this checkout"
        )
    return SOURCE


def test_licence_notice_travels_with_the_data() -> None:
    text = schema.licence()
    assert text.startswith("Copyright © 2022-2024 Apple Inc.")
    assert "Permission is hereby granted, free of charge" in text
    assert "commit" in schema.source() and "apple/device-management" in schema.source()
    note = (ROOT / "LICENSES" / "apple-device-management.txt").read_text(encoding="utf-8")
    assert "Permission is hereby granted, free of charge" in note
    assert "mobileconfig/schema/apple_profiles.json" in note


def test_payload_types_and_top_level_shapes() -> None:
    types = set(schema.payload_types())
    for ptype in (
        "com.apple.security.root",
        "com.apple.security.pkcs1",
        "com.apple.security.pem",
        "com.apple.security.pkcs12",
        "com.apple.security.scep",
        "com.apple.security.acme",
        "com.apple.wifi.managed",
        "com.apple.vpn.managed",
        "com.apple.mail.managed",
        "com.apple.eas.account",
        "com.apple.applicationaccess",
        "com.apple.security.certificatetransparency",
    ):
        assert ptype in types
    assert schema.top_level_types() == ["Configuration", "Profile Service"]
    assert "CommonPayloadKeys" not in types and "TopLevel" not in types


def test_keys_carry_type_presence_values_nesting_and_platforms() -> None:
    wifi = schema.payload_schema("com.apple.wifi.managed")
    assert wifi is not None
    eap = wifi["keys"]["EAPClientConfiguration"]
    assert eap["type"] == "dictionary"
    assert eap["keys"]["AcceptEAPTypes"] == {
        "type": "array",
        "required": True,
        "items": {"type": "integer", "values": [13, 17, 18, 21, 23, 25, 43]},
    }
    assert wifi["keys"]["EncryptionType"]["values"][:3] == ["WEP", "WPA", "WPA2"]
    assert wifi["keys"]["SSID_STR"]["required_if"]["when"] == [["absent", "DomainName"]]
    assert wifi["os"]["iOS"]["introduced"] == "4.0"
    assert wifi["keys"]["SetupModes"]["os"]["iOS"]["introduced"] == "n/a"
    acme = schema.payload_schema("com.apple.security.acme")
    assert acme is not None and acme["os"]["iOS"]["introduced"] == "16.0"
    restrictions = schema.payload_schema("com.apple.applicationaccess")
    assert restrictions is not None
    assert restrictions["keys"]["allowAppRemoval"]["os"]["iOS"]["supervised"] is True
    mdm = schema.payload_schema("com.apple.mdm")
    assert mdm is not None
    assert mdm["keys"]["ManagedAppleID"]["os"]["iOS"]["removed"] == "18.0"
    assert schema.common_keys()["PayloadVersion"]["values"] == [1]


def test_secrets_are_marked_by_name_and_never_booleans() -> None:
    def secret(ptype: str, *path: str) -> bool:
        node = schema.payload_node(ptype)
        assert node is not None
        for key in path:
            node = node["keys"][key]
        return bool(node.get("secret"))

    assert secret("com.apple.security.pkcs12", "Password")
    assert secret("com.apple.eas.account", "CertificatePassword")
    assert secret("com.apple.security.scep", "PayloadContent", "Challenge")
    assert secret("com.apple.wifi.managed", "EAPClientConfiguration", "UserPassword")
    assert secret("com.apple.vpn.managed", "IKEv2", "SharedSecret")
    assert secret("com.apple.vpn.managed", "IPSec", "SharedSecret")
    assert secret("com.apple.security.acme", "ClientIdentifier")
    assert not secret("com.apple.applicationaccess", "allowPasswordAutoFill")
    assert not secret("com.apple.wifi.managed", "EAPClientConfiguration", "OneTimeUserPassword")
    assert not secret("com.apple.vpn.managed", "IPSec", "XAuthPasswordEncryption")
    assert schema.is_secret_name("RemovalPassword") and schema.is_secret_name("Challenge")
    assert not schema.is_secret_name("askForPassword")
    assert not schema.is_secret_name("askForPasswordDelay")
    top = schema.top_level_schema("Profile Service")
    assert top is not None and top["keys"]["PayloadContent"]["keys"]["Challenge"]["secret"]


def test_references_are_derived_from_the_schema() -> None:
    refs: set[str] = set()

    def walk(node: dict[str, object], ptype: str, path: str) -> None:
        for key, child in (node.get("keys") or {}).items():  # type: ignore[attr-defined]
            where = f"{path}.{key}" if path else key
            if child.get("ref"):
                refs.add(f"{ptype}:{where}")
            walk(child, ptype, where)

    for ptype in schema.payload_types():
        node = schema.payload_schema(ptype)
        assert node is not None
        walk(node, ptype, "")
    assert {
        "com.apple.wifi.managed:PayloadCertificateUUID",
        "com.apple.wifi.managed:EAPClientConfiguration.PayloadCertificateAnchorUUID",
        "com.apple.mail.managed:SMIMESigningCertificateUUID",
        "com.apple.mail.managed:SMIMEEncryptionCertificateUUID",
        "com.apple.eas.account:PayloadCertificateUUID",
        "com.apple.vpn.managed:IKEv2.PayloadCertificateUUID",
        "com.apple.mdm:IdentityCertificateUUID",
        "com.apple.mdm:ServerURLPinningCertificateUUIDs",
    } <= refs
    # Not references: a Boolean about one, a per-app VPN's own id, the payload's own UUID.
    assert not any(r.endswith(("UserOverrideable", "VPNUUID", ":PayloadUUID")) for r in refs)


def test_importing_the_checks_does_not_read_the_data() -> None:
    code = (
        "import mobileconfig.schema.check, mobileconfig.schema as s\n"
        "print(s._data.cache_info().currsize)\n"
        "s.payload_schema('com.apple.wifi.managed')\n"
        "print(s._data.cache_info().currsize)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["0", "1"]


def test_data_is_json_in_a_stable_layout() -> None:
    text = DATA.read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, indent=1, ensure_ascii=True) + "\n"
    assert list(data)[:3] == ["about", "source", "licence"]


# -- the generator (needs ../shared) ------------------------------------------------------


def test_generator_against_apples_schema(shared: Path, tmp_path: Path) -> None:
    """One test for everything that needs ../shared, so that a clone without it skips once:
    the bundled data is what the generator makes now, --check tells stale from fresh, and
    the script runs as CI runs it."""
    gen = _generator()
    assert gen.render(shared) == DATA.read_text(encoding="utf-8"), (  # type: ignore[attr-defined]
        "mobileconfig/schema/apple_profiles.json is stale: run python scripts/gen_apple_schema.py"
    )

    out = tmp_path / "apple_profiles.json"
    main = gen.main  # type: ignore[attr-defined]
    gen.ROOT = tmp_path  # type: ignore[attr-defined]  # messages name the output under ROOT
    assert main(["--source", str(shared), "--output", str(out), "--check"]) == 1
    assert main(["--source", str(shared), "--output", str(out)]) == 0
    assert main(["--source", str(shared), "--output", str(out), "--check"]) == 0
    assert out.read_text(encoding="utf-8") == DATA.read_text(encoding="utf-8")
    assert main(["--source", str(tmp_path / "absent"), "--output", str(out), "--check"]) == 1

    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "is fresh" in done.stdout


def test_check_mode_fails_clearly_without_the_schema(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--source", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert "Apple's schema not found" in done.stderr and "--source" in done.stderr


def test_check_mode_skips_when_the_default_source_is_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """.ci/run checks the bundled data against ../shared; a checkout without it has nothing
    to compare with and must not fail CI for that (a --source given and absent still does)."""
    gen = _generator()
    gen.DEFAULT_SOURCE = tmp_path / "absent"  # type: ignore[attr-defined]
    assert gen.main(["--check", "--output", str(tmp_path / "out.json")]) == 0  # type: ignore[attr-defined]
    assert "skipped: no Apple schema at" in capsys.readouterr().out
    assert gen.main(["--output", str(tmp_path / "out.json")]) == 1  # type: ignore[attr-defined]
    assert not (tmp_path / "out.json").exists()
