"""Identities through the whole build: what goes into the profile, what is refused, and
that no secret reaches any output."""

from __future__ import annotations

import os
import plistlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import CLIResult, need_tool
from pki import Issued, issue, openssl_pkcs12

PASSWORD = "c0rrect-h0rse-Secret"
CHALLENGE = "scep-Challenge-7731"
CLIENT_ID = "acme-client-id-5521"
AT = "2026-06-01"


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Issued]:
    root = issue("Ident Root CA", key_kind="rsa2048")
    inter = root.issue("Ident Issuing CA", key_kind="rsa2048", path_length=0)
    alice = inter.issue("alice@example.com", key_kind="rsa2048", ca=False)
    return {"root": root, "inter": inter, "alice": alice}


def _folder(tmp_path: Path, company: dict[str, Issued], *, with_inter: bool = True) -> Path:
    company["root"].write(tmp_path / "certs" / "root.pem")
    if with_inter:
        company["inter"].write(tmp_path / "certs" / "inter.pem")
    (tmp_path / "pw.txt").write_text(PASSWORD + "\n")
    (tmp_path / "challenge.txt").write_text(CHALLENGE)
    (tmp_path / "client-id.txt").write_text(CLIENT_ID)
    openssl_pkcs12(company["alice"], tmp_path / "alice.p12", PASSWORD, chain=[company["inter"]])
    return tmp_path


SPEC = """identifier: com.example.identities
name: Identities
certificates: [certs/*.pem]
identities:
  alice:
    pkcs12: alice.p12
    password: {file: pw.txt}
  device:
    scep:
      url: https://scep.example.com/scep
      subject: "CN=device 1,O=Example Corp"
      challenge: {file: challenge.txt}
      key_usage: both
      ca_certificate: certs/root.pem
  phone:
    acme:
      directory_url: https://acme.example.com/directory
      client_identifier: {file: client-id.txt}
      hardware_bound: true
      key_size: 384
      subject: "CN=phone"
"""


def test_openssl3_pkcs12_goes_in_as_one_apple_accepts(
    tmp_path: Path, company: dict[str, Issued], run_cli: Callable[..., CLIResult]
) -> None:
    openssl = need_tool("openssl")
    folder = _folder(tmp_path, company)
    (folder / "profile.yaml").write_text(SPEC)
    out = folder / "out.mobileconfig"
    result = run_cli("build", folder / "profile.yaml", "-o", out, "--at", AT)
    assert result.code == 0, result
    assert "MC301" in result.err  # re-encoded from PBES2/AES
    assert oct(out.stat().st_mode & 0o777) == "0o600"  # it embeds a private key
    profile = plistlib.loads(out.read_bytes())
    (p12,) = [
        p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.security.pkcs12"
    ]
    (folder / "embedded.p12").write_bytes(p12["PayloadContent"])
    info = subprocess.run(
        [
            openssl,
            "pkcs12",
            "-info",
            "-legacy",
            "-noout",
            "-in",
            str(folder / "embedded.p12"),
            "-passin",
            "env:P12PW",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "P12PW": PASSWORD},
        timeout=30,
    )
    assert info.returncode == 0, info.stderr
    text = info.stdout + info.stderr
    assert "pbeWithSHA1And3-KeyTripleDES-CBC" in text
    assert "MAC: sha1" in text
    assert "AES" not in text


def test_scep_and_acme_payloads_and_determinism(
    tmp_path: Path, company: dict[str, Issued], run_cli: Callable[..., CLIResult]
) -> None:
    folder = _folder(tmp_path, company)
    (folder / "profile.yaml").write_text(SPEC)
    a, b = folder / "a.mobileconfig", folder / "b.mobileconfig"
    for target in (a, b):
        assert run_cli("build", folder / "profile.yaml", "-o", target, "--at", AT).code == 0
    assert a.read_bytes() == b.read_bytes()
    payloads = {p["PayloadType"]: p for p in plistlib.loads(a.read_bytes())["PayloadContent"]}
    scep = payloads["com.apple.security.scep"]["PayloadContent"]
    assert scep["Keysize"] == 2048 and scep["Key Usage"] == 5
    assert scep["Subject"] == [[["CN", "device 1"]], [["O", "Example Corp"]]]
    assert len(scep["CAFingerprint"]) == 20
    acme = payloads["com.apple.security.acme"]
    assert acme["KeyType"] == "ECSECPrimeRandom" and acme["HardwareBound"] is True


def test_intermediate_only_in_the_pkcs12_joins_the_bundle(
    tmp_path: Path, company: dict[str, Issued], run_cli: Callable[..., CLIResult]
) -> None:
    folder = _folder(tmp_path, company, with_inter=False)
    (folder / "profile.yaml").write_text(SPEC)
    out = folder / "out.mobileconfig"
    result = run_cli("build", folder / "profile.yaml", "-o", out, "--at", AT)
    assert result.code == 0, result
    assert "MC306" in result.err and "Ident Issuing CA" in result.err
    types = [p["PayloadType"] for p in plistlib.loads(out.read_bytes())["PayloadContent"]]
    assert types.count("com.apple.security.pkcs1") == 1


def test_missing_issuer_of_the_identity_is_a_finding(
    tmp_path: Path, company: dict[str, Issued], run_cli: Callable[..., CLIResult]
) -> None:
    folder = _folder(tmp_path, company, with_inter=False)
    openssl_pkcs12(company["alice"], folder / "alice.p12", PASSWORD)  # no chain inside
    (folder / "profile.yaml").write_text(SPEC)
    out = folder / "out.mobileconfig"
    result = run_cli("build", folder / "profile.yaml", "-o", out, "--at", AT)
    assert result.code == 1 and "MC101" in result.err and "alice@example.com" in result.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("{file: pw.txt}", "{file: wrong.txt}"), "wrong password"),
        (("alice.p12", "certs/root.pem"), "not a pkcs#12"),
        (("alice.p12", "missing.p12"), "not found"),
        (("hardware_bound: true", "hardware_bound: true\n      key_type: RSA"), "hardware"),
    ],
    ids=["wrong-password", "not-pkcs12", "missing", "acme-rule"],
)
def test_bad_identity_exit_2_names_it_and_writes_nothing(
    tmp_path: Path,
    company: dict[str, Issued],
    run_cli: Callable[..., CLIResult],
    change: tuple[str, str],
    message: str,
) -> None:
    folder = _folder(tmp_path, company)
    (folder / "wrong.txt").write_text("not the password")
    (folder / "profile.yaml").write_text(SPEC.replace(*change))
    out = folder / "out.mobileconfig"
    result = run_cli("build", folder / "profile.yaml", "-o", out, "--at", AT)
    assert result.code == 2, result
    line = result.err.strip()
    assert len(line.splitlines()) == 1 and message in line.lower(), result
    assert "profile.yaml:" in line
    assert not out.exists()
    assert PASSWORD not in result.err and "not the password" not in result.err


def test_no_secret_in_any_output(
    tmp_path: Path, company: dict[str, Issued], run_cli: Callable[..., CLIResult]
) -> None:
    """Every command, every stream: the secrets never show (inside the profile, the
    intended payload fields hold them; inspect must not print them)."""
    folder = _folder(tmp_path, company)
    spec = folder / "profile.yaml"
    spec.write_text(
        SPEC.replace(
            "password: {file: pw.txt}", "password: {file: pw.txt}\n    embed_password: true"
        )
    )
    out = folder / "out.mobileconfig"
    outputs = []
    for argv in (
        ("build", spec, "-o", out, "--at", AT),
        ("validate", spec, "--at", AT),
        ("validate", spec, "--at", AT, "--format", "json"),
        ("inspect", out, "--at", AT),
        ("inspect", out, "--at", AT, "--format", "json"),
        ("validate", out, "--at", AT, "--format", "json"),
        ("schema",),
    ):
        result = run_cli(*argv)
        outputs.append(result.out + result.err)
    spec.write_text(SPEC.replace("{file: wrong.txt}", "x"))
    for secret in (PASSWORD, CHALLENGE, CLIENT_ID):
        for text in outputs:
            assert secret not in text
    # The profile itself carries them only where Apple reads them.
    profile = plistlib.loads(out.read_bytes())
    p12 = next(p for p in profile["PayloadContent"] if p["PayloadType"].endswith("pkcs12"))
    assert p12["Password"] == PASSWORD


def test_inspect_shows_identity_facts_without_the_password(
    tmp_path: Path, company: dict[str, Issued], run_cli: Callable[..., CLIResult]
) -> None:
    folder = _folder(tmp_path, company)
    (folder / "profile.yaml").write_text(SPEC)
    out = folder / "out.mobileconfig"
    assert run_cli("build", folder / "profile.yaml", "-o", out, "--at", AT).code == 0
    result = run_cli("inspect", out, "--at", AT)
    assert "alice@example.com" in result.out
    assert "pbeWithSHA1And3-KeyTripleDES-CBC" in result.out
    assert "password embedded: yes" in result.out
    assert PASSWORD not in result.out


def test_inspect_hides_every_service_secret(
    tmp_path: Path, company: dict[str, Issued], run_cli: Callable[..., CLIResult]
) -> None:
    """Mail, Wi-Fi, VPN and removal passwords go into the profile where Apple reads them;
    inspect (text and JSON) says they are there and never shows them."""
    folder = _folder(tmp_path, company)
    secrets = {
        "mail-in.txt": "Mail-In-Pass-1",
        "mail-out.txt": "Mail-Out-Pass-2",
        "wifi.txt": "Wifi-Pass-3",
        "vpn.txt": "Vpn-Secret-4",
        "rm.txt": "Removal-Pass-5",
    }
    for filename, value in secrets.items():
        (folder / filename).write_text(value)
    (folder / "profile.yaml").write_text(
        "identifier: com.example.secrets\nname: Secrets\ncertificates: [certs/*.pem]\n"
        "removal: {password: {file: rm.txt}}\n"
        "wifi:\n  - {ssid: Guest, security: WPA2, password: {file: wifi.txt}}\n"
        "mail:\n  - address: a@example.com\n"
        "    incoming: {protocol: imap, host: mail.example.com, port: 993, username: a,"
        " password: {file: mail-in.txt}}\n"
        "    outgoing: {host: mail.example.com, port: 587, username: a,"
        " password: {file: mail-out.txt}}\n"
        "vpn:\n  - {name: V, ikev2: {server: vpn.example.com, remote_identifier: vpn.example.com,"
        " local_identifier: me, shared_secret: {file: vpn.txt}}}\n"
    )
    out = folder / "out.mobileconfig"
    result = run_cli("build", folder / "profile.yaml", "-o", out, "--at", AT)
    assert result.code == 0, result
    built = out.read_bytes()
    assert all(v.encode() in built for v in secrets.values())  # where Apple reads them
    for fmt in ("text", "json"):
        shown = run_cli("inspect", out, "--at", AT, "--format", fmt)
        assert shown.code == 0, shown
        for value in secrets.values():
            assert value not in shown.out + shown.err, (fmt, value)
        assert "<embedded>" in shown.out
