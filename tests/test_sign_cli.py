"""Signing, verifying, unsigning and encrypting through the command line, checked by openssl."""

from __future__ import annotations

import plistlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import CLIResult, need_tool
from pki import DAY, NOW, issue, openssl_pkcs12

PASSWORD = "signer-Pass-9911"
AT = "2026-06-01"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("signpki")
    root = issue("Sign Root CA", key_kind="rsa2048")
    inter = root.issue("Sign Issuing CA", key_kind="rsa2048", path_length=0)
    signer = inter.issue("profiles.example.com", key_kind="rsa2048", ca=False)
    expired = inter.issue("old-signer.example.com", ca=False, not_after=NOW - DAY)
    device = root.issue("Device 42", key_kind="rsa2048", ca=False)
    files = {"root": root.write(d / "root.pem"), "inter": inter.write(d / "inter.pem")}
    for name, item in (("signer", signer), ("expired", expired), ("device", device)):
        files[name] = item.write(d / f"{name}.pem")
        (d / f"{name}.key").write_bytes(item.key_pem)
        files[f"{name}.key"] = d / f"{name}.key"
    files["signer.p12"] = openssl_pkcs12(signer, d / "signer.p12", PASSWORD, chain=[inter])
    files["device.p12"] = openssl_pkcs12(device, d / "device.p12", PASSWORD)
    (d / "pw.txt").write_text(PASSWORD)
    files["pw"] = d / "pw.txt"
    files["spec"] = d / "profile.yaml"
    files["spec"].write_text(
        "identifier: com.example.signed\nname: Signed\ncertificates: [root.pem, inter.pem]\n"
        "sign: {pkcs12: signer.p12, password: {file: pw.txt}}\n"
    )
    return files


def _openssl_verify(signed: Path, root: Path, tmp: Path) -> bytes:
    openssl = need_tool("openssl")
    out = tmp / "content.plist"
    proc = subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(signed),
            "-CAfile",
            str(root),
            "-out",
            str(out),
            "-attime",
            "1780000000",
            "-purpose",
            "any",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def test_build_signs_from_spec_and_openssl_agrees(
    pki: dict[str, Path], tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    signed, unsigned = tmp_path / "s.mobileconfig", tmp_path / "u.mobileconfig"
    result = run_cli("build", pki["spec"], "-o", signed, "--at", AT)
    assert result.code == 0, result
    assert "signed" in result.err
    assert run_cli("build", pki["spec"], "-o", unsigned, "--at", AT, "--unsigned").code == 0
    assert _openssl_verify(signed, pki["root"], tmp_path) == unsigned.read_bytes()
    assert PASSWORD not in result.err + result.out


def test_verify_trusted_untrusted_and_json(
    pki: dict[str, Path], tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    signed = tmp_path / "s.mobileconfig"
    assert run_cli("build", pki["spec"], "-o", signed, "--at", AT).code == 0
    ok = run_cli("verify", signed, "--ca", pki["root"], "--at", AT)
    assert ok.code == 0 and "trusted" in ok.out and "profiles.example.com" in ok.out
    untrusted = run_cli("verify", signed, "--at", AT, "--format", "json")
    assert untrusted.code == 1
    assert '"status": "untrusted"' in untrusted.out


def test_sign_pem_then_unsign_round_trip(
    pki: dict[str, Path], tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    unsigned = tmp_path / "u.mobileconfig"
    assert run_cli("build", pki["spec"], "-o", unsigned, "--unsigned", "--at", AT).code == 0
    signed = tmp_path / "s.mobileconfig"
    result = run_cli(
        "sign",
        unsigned,
        "-o",
        signed,
        "--sign-with",
        pki["signer"],
        "--sign-key",
        pki["signer.key"],
        "--sign-chain",
        pki["inter"],
        "--at",
        AT,
        "--digest",
        "sha384",
    )
    assert result.code == 0, result
    assert _openssl_verify(signed, pki["root"], tmp_path) == unsigned.read_bytes()
    back = tmp_path / "back.mobileconfig"
    result = run_cli("unsign", signed, "-o", back, "--ca", pki["root"], "--at", AT)
    assert result.code == 0 and "signature valid" in result.err
    assert back.read_bytes() == unsigned.read_bytes()


def test_tampered_signature_is_invalid(
    pki: dict[str, Path], tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    signed = tmp_path / "s.mobileconfig"
    assert run_cli("build", pki["spec"], "-o", signed, "--at", AT).code == 0
    data = bytearray(signed.read_bytes())
    at = data.find(b"Signed</string>")
    data[at] ^= 0x20
    signed.write_bytes(bytes(data))
    result = run_cli("verify", signed, "--ca", pki["root"], "--at", AT)
    assert result.code == 1 and "invalid" in result.out
    result = run_cli("unsign", signed, "-o", tmp_path / "x.mobileconfig", "--at", AT)
    assert result.code == 1 and "INVALID" in result.err


def test_expired_signer_refused_and_nothing_written(
    pki: dict[str, Path], tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out = tmp_path / "s.mobileconfig"
    result = run_cli(
        "build",
        pki["spec"],
        "-o",
        out,
        "--at",
        AT,
        "--sign-with",
        pki["expired"],
        "--sign-key",
        pki["expired.key"],
        "--sign-chain",
        pki["inter"],
    )
    assert result.code == 1 and "MC201" in result.err
    assert not out.exists()


def test_signer_errors_are_one_line(
    pki: dict[str, Path], tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("nope")
    result = run_cli(
        "build",
        pki["spec"],
        "--sign-with",
        pki["signer.p12"],
        "--sign-password-file",
        wrong,
        "--at",
        AT,
    )
    assert result.code == 2 and "wrong password" in result.err
    assert len(result.err.strip().splitlines()) == 1 and "nope" not in result.err
    result = run_cli(
        "build",
        pki["spec"],
        "--sign-with",
        pki["signer"],
        "--sign-key",
        pki["device.key"],
        "--at",
        AT,
    )
    assert result.code == 2 and "does not belong" in result.err
    result = run_cli("build", pki["spec"], "--unsigned", "--sign-with", pki["signer"])
    assert result.code == 2


def test_encrypt_then_inspect_and_openssl_decrypt(
    pki: dict[str, Path], tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    openssl = need_tool("openssl")
    out = tmp_path / "e.mobileconfig"
    result = run_cli(
        "build", pki["spec"], "-o", out, "--unsigned", "--encrypt-to", pki["device"], "--at", AT
    )
    assert result.code == 0, result
    profile = plistlib.loads(out.read_bytes())
    assert profile["IsEncrypted"] is True and "PayloadContent" not in profile
    (tmp_path / "env.der").write_bytes(profile["EncryptedPayloadContent"])
    proc = subprocess.run(
        [
            openssl,
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "env.der"),
            "-recip",
            str(pki["device"]),
            "-inkey",
            str(pki["device.key"]),
        ],
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    inner = plistlib.loads(proc.stdout)
    assert [p["PayloadType"] for p in inner] == [
        "com.apple.security.root",
        "com.apple.security.pkcs1",
    ]
    closed = run_cli("inspect", out, "--at", AT)
    assert "payloads are encrypted" in closed.out
    opened = run_cli(
        "inspect",
        out,
        "--at",
        AT,
        "--decrypt-with",
        pki["device.p12"],
        "--decrypt-password-file",
        pki["pw"],
    )
    assert opened.code == 0, opened
    assert "Sign Issuing CA" in opened.out
