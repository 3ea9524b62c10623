"""The spec front end: bad input is one line naming the file and line, exit 2, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mobileconfig.errors import SpecError
from mobileconfig.spec.compile import load_spec
from mobileconfig.spec.model import parse_duration, parse_time

from conftest import CLIResult, run_module
from pki import TestPKI

GOOD = "identifier: com.example.s\nname: S\ncertificates: [root.pem]\n"


@pytest.fixture
def spec_dir(tmp_path: Path, pki_ec: TestPKI) -> Path:
    pki_ec.root.write(tmp_path / "root.pem")
    (tmp_path / "notes.pem").write_text("these are my notes, not a certificate\n")
    return tmp_path


CASES = [
    ("missing-cert", GOOD.replace("root.pem", "missing.pem"), 3, "'missing.pem' not found"),
    ("not-a-cert", GOOD.replace("root.pem", "notes.pem"), 3, "notes.pem: holds no certificate"),
    (
        "malformed-yaml",
        "identifier: com.example.s\nname: [S\ncertificates: []\n",
        3,
        "malformed YAML",
    ),
    (
        "unknown-key",
        GOOD + "certificats: []\n",
        4,
        "unknown key 'certificats'; did you mean 'certificates'?",
    ),
    ("unknown-nested", GOOD + "validate: {expiry_warn: 30d}\n", 4, "did you mean 'expiry_warning'"),
    (
        "wrong-type",
        GOOD.replace("name: S", "name: {a: 1}"),
        2,
        "name: a mapping where text (quote it if it looks like a number or a date) belongs",
    ),
    (
        "wrong-enum",
        GOOD + "scope: everyone\n",
        4,
        "scope: the text 'everyone' is not allowed here; write one of 'system' or 'user'",
    ),
    (
        "bad-identifier",
        GOOD.replace("com.example.s", "not an id"),
        1,
        "not a reverse-DNS identifier",
    ),
    ("empty-certificates", GOOD.replace("[root.pem]", "[]"), 3, "no content"),
    ("missing-key", "name: S\ncertificates: [root.pem]\n", 1, "key 'identifier' is missing"),
    ("duplicate-key", GOOD + "name: T\n", 4, "key 'name' appears twice"),
    ("bad-time", GOOD + "validate: {at: yesterday}\n", 4, "not a time"),
    ("empty-file", "", 1, "spec is empty"),
    ("not-a-mapping", "- a\n- b\n", 1, "must be a YAML mapping"),
    (
        "null-in-payload",
        GOOD + "payloads: [{PayloadType: x.y, Key: null}]\n",
        4,
        "cannot hold null",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_spec_exit_2_one_line_nothing_written(
    spec_dir: Path, run_cli: Callable[..., CLIResult], text: str, line: int, message: str
) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(text)
    out = spec_dir / "out.mobileconfig"
    result = run_cli("build", spec, "-o", out)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result
    assert f"{spec}:{line}:" in lines[0], result
    assert message in lines[0], result
    assert "Traceback" not in result.err
    assert not out.exists()
    assert list(spec_dir.glob(".out.mobileconfig.*")) == []


def test_missing_spec_and_verbose_traceback(tmp_path: Path) -> None:
    proc = run_module("build", tmp_path / "nope.yaml", "-o", tmp_path / "o.mobileconfig")
    assert proc.returncode == 2 and "spec file not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_module("build", "--verbose", tmp_path / "nope.yaml")
    assert "Traceback" in proc.stderr and "SpecError" in proc.stderr


def test_non_utf8_and_bom(tmp_path: Path, pki_ec: TestPKI) -> None:
    pki_ec.root.write(tmp_path / "root.pem")
    spec = tmp_path / "p.yaml"
    spec.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_spec(spec).spec.identifier == "com.example.s"
    spec.write_bytes(GOOD.encode() + b"description: caf\xe9\n")
    with pytest.raises(SpecError, match=r"p\.yaml:4: spec is not UTF-8"):
        load_spec(spec)


def test_yaml_alias_bomb_is_bounded(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        ref = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([ref] * 10)}]")
    spec = tmp_path / "bomb.yaml"
    spec.write_text("\n".join(lines) + "\n")
    with pytest.raises(SpecError, match="alias bomb"):
        load_spec(spec)


def test_times_and_durations() -> None:
    assert parse_time("now") is None
    assert parse_time("2026-01-31").isoformat() == "2026-01-31T00:00:00+00:00"  # type: ignore[union-attr]
    assert parse_time("2026-01-31T12:00:00Z").hour == 12  # type: ignore[union-attr]
    assert parse_duration("30d").days == 30 and parse_duration("2w").days == 14
    assert parse_duration(7).days == 7
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test_help_loads_neither_cryptography_nor_pydantic() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from mobileconfig.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('cryptography', 'pydantic', 'yaml', 'jinja2') if m in sys.modules]\n"
        "print('heavy:' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "heavy:"
