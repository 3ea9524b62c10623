"""Every example builds as it stands (mail-mismatch is refused, on purpose), conforms to
Apple's schema, and every UUID reference points at a payload of the right type."""

from __future__ import annotations

import plistlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apple_schema import conform_profile
from conftest import ROOT, CLIResult

EXAMPLES = ROOT / "examples"
BUILDS = ["company", "mail", "wifi", "vpn", "exchange"]
IDENTITY_TYPES = {"com.apple.security.pkcs12", "com.apple.security.scep", "com.apple.security.acme"}
CERT_TYPES = {"com.apple.security.root", "com.apple.security.pkcs1", "com.apple.security.pem"}

#: (where the reference sits, the key, the payload types it may point at)
REFERENCES: list[tuple[str, str, set[str]]] = [
    ("top", "PayloadCertificateUUID", IDENTITY_TYPES),
    ("top", "SMIMESigningCertificateUUID", IDENTITY_TYPES),
    ("top", "SMIMEEncryptionCertificateUUID", IDENTITY_TYPES),
    ("EAPClientConfiguration", "PayloadCertificateAnchorUUID", CERT_TYPES),
    ("VPN", "PayloadCertificateUUID", IDENTITY_TYPES),
    ("IKEv2", "PayloadCertificateUUID", IDENTITY_TYPES),
]


def _refs(payload: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    found = []
    for where, key, kinds in REFERENCES:
        holder = payload if where == "top" else payload.get(where, {})
        value = holder.get(key) if isinstance(holder, dict) else None
        for uuid in [value] if isinstance(value, str) else (value or []):
            found.append((f"{where}.{key}", uuid, kinds))
    return found


def test_every_example_folder_is_covered() -> None:
    folders = sorted(p.name for p in EXAMPLES.iterdir() if (p / "profile.yaml").exists())
    # ddm is built (and its declarations checked) in test_ddm.py.
    assert folders == sorted([*BUILDS, "mail-mismatch", "batch", "ddm"])


def test_batch_example_builds_one_conforming_profile_per_row(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "build",
        EXAMPLES / "batch" / "profile.yaml",
        "--each",
        EXAMPLES / "batch" / "users.csv",
        "--out-dir",
        out,
        "--name",
        "{{ user }}.mobileconfig",
        "--at",
        "2026-12-01",
    )
    assert result.code == 0, result
    names = {}
    for path in sorted(out.iterdir()):
        profile = plistlib.loads(path.read_bytes())
        assert conform_profile(profile) == []
        names[path.stem] = profile["PayloadDisplayName"]
    assert names == {
        "alice": "Example Corp mail for Alice Example",
        "bob": 'Example Corp mail for Bob "the builder" Example',
        "carol": "Example Corp mail for Carol: Ops, West",
    }


@pytest.mark.parametrize("name", BUILDS)
def test_example_builds_conforms_and_resolves(
    name: str, tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out = tmp_path / f"{name}.mobileconfig"
    result = run_cli("build", EXAMPLES / name / "profile.yaml", "-o", out, "--at", "2026-12-01")
    assert result.code == 0, result
    profile = plistlib.loads(out.read_bytes())
    assert conform_profile(profile) == []
    by_uuid = {p["PayloadUUID"]: p for p in profile["PayloadContent"]}
    assert len(by_uuid) == len(profile["PayloadContent"])
    identifiers = [p["PayloadIdentifier"] for p in profile["PayloadContent"]]
    assert len(set(identifiers)) == len(identifiers)
    for payload in profile["PayloadContent"]:
        for key, uuid, kinds in _refs(payload):
            target = by_uuid.get(uuid)
            assert target is not None, f"{payload['PayloadType']} {key} -> {uuid} dangles"
            assert target["PayloadType"] in kinds, (key, target["PayloadType"])


def test_example_references_are_there() -> None:
    """The examples exercise each kind of reference at least once."""
    from mobileconfig import Builder

    seen = set()
    for name in BUILDS[1:]:
        for payload in plistlib.loads(Builder(EXAMPLES / name / "profile.yaml").build())[
            "PayloadContent"
        ]:
            seen.update((payload["PayloadType"], k) for k, _, _ in _refs(payload))
    assert seen == {
        ("com.apple.mail.managed", "top.SMIMESigningCertificateUUID"),
        ("com.apple.mail.managed", "top.SMIMEEncryptionCertificateUUID"),
        ("com.apple.wifi.managed", "top.PayloadCertificateUUID"),
        ("com.apple.wifi.managed", "EAPClientConfiguration.PayloadCertificateAnchorUUID"),
        ("com.apple.vpn.managed", "IKEv2.PayloadCertificateUUID"),
        ("com.apple.eas.account", "top.PayloadCertificateUUID"),
    }


def test_mail_mismatch_is_refused_naming_the_names(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out = tmp_path / "mail.mobileconfig"
    result = run_cli(
        "build", EXAMPLES / "mail-mismatch" / "profile.yaml", "-o", out, "--at", "2026-12-01"
    )
    assert result.code == 1
    assert result.err.count("MC501") == 2
    assert "it carries only host42.mailhost.example.net, mailhost.example.net" in result.err
    assert "set mail[0].incoming.host to one of" in result.err
    assert not out.exists()
    readme = (EXAMPLES / "mail-mismatch" / "README.md").read_text()
    assert "it carries only host42.mailhost.example.net" in readme


@pytest.mark.parametrize("name", BUILDS)
def test_examples_are_byte_stable(name: str) -> None:
    from mobileconfig import Builder

    spec = EXAMPLES / name / "profile.yaml"
    assert Builder(spec).build() == Builder(spec).build()
