"""The bundled examples build as they stand, byte-stable, and conform to Apple's schema."""

from __future__ import annotations

import plistlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mobileconfig.pki.certs import load_certificate_file

from apple_schema import conform_profile
from conftest import ROOT, CLIResult, need_tool, run_module

COMPANY = ROOT / "examples" / "company"
AT = "2026-12-01"


def _company_certificates() -> dict[str, bytes]:
    files = [*sorted((COMPANY / "certs").glob("*.pem")), COMPANY / "partner-root.cer"]
    return {c.sha256: c.der for f in files for c in load_certificate_file(f)}


def test_readme_build_command(tmp_path: Path) -> None:
    out = tmp_path / "company.mobileconfig"
    proc = run_module("build", "examples/company/profile.yaml", "-o", out, "--at", AT)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stderr
    profile = plistlib.loads(out.read_bytes())
    payloads = profile["PayloadContent"]
    expected = _company_certificates()
    assert sorted(p["PayloadContent"] for p in payloads) == sorted(expected.values())
    kinds = [p["PayloadType"] for p in payloads]
    assert kinds == ["com.apple.security.root"] * 3 + ["com.apple.security.pkcs1"] * 3
    assert conform_profile(profile) == []
    assert len({p["PayloadUUID"] for p in payloads}) == len(payloads)
    assert oct(out.stat().st_mode & 0o777) == "0o644"


@pytest.mark.parametrize("fmt", ["xml", "binary"])
def test_two_builds_are_byte_identical(
    tmp_path: Path, run_cli: Callable[..., CLIResult], fmt: str
) -> None:
    a, b = tmp_path / "a.mobileconfig", tmp_path / "b.mobileconfig"
    for target in (a, b):
        result = run_cli(
            "build", COMPANY / "profile.yaml", "-o", target, "--format", fmt, "--at", AT
        )
        assert result.code == 0, result
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes().startswith(b"bplist00" if fmt == "binary" else b"<?xml")


def test_build_to_stdout(run_cli: Callable[..., CLIResult]) -> None:
    result = run_cli("build", COMPANY / "profile.yaml", "--at", AT, "-q")
    assert result.code == 0, result
    assert (
        plistlib.loads(result.out.encode())["PayloadIdentifier"] == "com.example.corp.certificates"
    )


def test_plistutil_reads_our_output(tmp_path: Path, run_cli: Callable[..., CLIResult]) -> None:
    tool = need_tool("plistutil")
    src = tmp_path / "company.mobileconfig"
    assert run_cli("build", COMPANY / "profile.yaml", "-o", src, "--at", AT).code == 0
    converted = tmp_path / "company.bplist"
    subprocess.run(
        [tool, "-i", str(src), "-o", str(converted), "-f", "bin"], check=True, timeout=30
    )
    assert plistlib.loads(converted.read_bytes()) == plistlib.loads(src.read_bytes())


def test_output_paths_refused(tmp_path: Path, run_cli: Callable[..., CLIResult]) -> None:
    spec = COMPANY / "profile.yaml"
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run_cli("build", spec, "-o", folder, "--at", AT)
    assert result.code == 2 and "is a folder" in result.err
    link = tmp_path / "link.mobileconfig"
    link.symlink_to(tmp_path / "elsewhere")
    result = run_cli("build", spec, "-o", link, "--at", AT)
    assert result.code == 2 and "symbolic link" in result.err
    assert not (tmp_path / "elsewhere").exists()
    result = run_cli("build", spec, "-o", tmp_path / "no" / "such" / "dir.mobileconfig", "--at", AT)
    assert result.code == 2 and "does not exist" in result.err


def test_previous_file_kept_when_build_fails(
    tmp_path: Path, write_spec: Callable[..., Path], run_cli: Callable[..., CLIResult]
) -> None:
    out = tmp_path / "p.mobileconfig"
    out.write_bytes(b"previous")
    spec = write_spec("identifier: com.example.k\nname: K\ncertificates: [missing.pem]\n")
    assert run_cli("build", spec, "-o", out).code == 2
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.mobileconfig", "profile.yaml"]
