"""Templated values: injected text stays one literal string; undefined names are errors."""

from __future__ import annotations

import plistlib
from collections.abc import Callable
from pathlib import Path

import pytest

from mobileconfig import Builder
from mobileconfig.errors import SpecError

from conftest import CLIResult
from pki import TestPKI

SPEC = """identifier: com.example.user.{{ user }}
name: "Certificates for {{ name }}"
description: "{{ note }}"
certificates: [root.pem]
payloads:
  - PayloadType: com.example.custom
    Owner: "{{ name }}"
"""

HOSTILE = [
    "a: b",
    "line one\nline two",
    "quote \" and ' here",
    "{{ 7 * 7 }}",
    "&anchor *alias",
    "<key>x</key>&amp;</string>",
    "{% raw %}",
    "- [not, a, list]",
]


@pytest.fixture
def spec(tmp_path: Path, pki_ec: TestPKI) -> Path:
    pki_ec.root.write(tmp_path / "root.pem")
    path = tmp_path / "profile.yaml"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize("value", HOSTILE)
def test_injected_values_stay_literal(spec: Path, value: str) -> None:
    builder = Builder(spec)
    data = builder.build({"user": "alice", "name": value, "note": value}, at=None)
    profile = plistlib.loads(data)
    assert profile["PayloadDisplayName"] == f"Certificates for {value}"
    assert profile["PayloadDescription"] == value
    assert profile["PayloadContent"][-1]["Owner"] == value
    assert len(profile["PayloadContent"]) == 2


def test_undefined_variable_names_variable_file_and_line(spec: Path) -> None:
    with pytest.raises(SpecError) as info:
        Builder(spec).build({"user": "alice", "name": "Alice"})
    assert info.value.diagnostics().startswith(f"{spec}:3: undefined variable in template: 'note'")


def test_cli_var_and_vars_file(
    spec: Path, tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    values = tmp_path / "vars.yaml"
    values.write_text("name: Bob\nnote: 'from the file'\n")
    out = tmp_path / "bob.mobileconfig"
    result = run_cli(
        "build",
        spec,
        "-o",
        out,
        "--vars",
        values,
        "--var",
        "user=bob",
        "--var",
        "note=from the flag",
    )
    assert result.code == 0, result
    profile = plistlib.loads(out.read_bytes())
    assert profile["PayloadIdentifier"] == "com.example.user.bob"
    assert profile["PayloadDescription"] == "from the flag"
    result = run_cli("build", spec, "--var", "oops")
    assert result.code == 2 and "NAME=VALUE" in result.err
    result = run_cli("build", spec, "--vars", tmp_path / "missing.yaml")
    assert result.code == 2 and "variables file not found" in result.err


def test_sandbox_refuses_attribute_tricks(spec: Path) -> None:
    spec.write_text(SPEC.replace("{{ note }}", "{{ ''.__class__.__mro__ }}"))
    with pytest.raises(SpecError, match=r"template error|undefined"):
        Builder(spec).build({"user": "a", "name": "b"})


def test_api_matches_cli_bytes(
    spec: Path, tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out = tmp_path / "cli.mobileconfig"
    assert (
        run_cli(
            "build", spec, "-o", out, "--var", "user=c", "--var", "name=C", "--var", "note=n"
        ).code
        == 0
    )
    api = Builder(spec).build({"user": "c", "name": "C", "note": "n"})
    assert api == out.read_bytes()


def test_builder_is_safe_to_share_between_threads(spec: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    builder = Builder(spec)
    rows = [{"user": f"u{i}", "name": f"User {i}", "note": "n"} for i in range(40)]
    expected = [Builder(spec).build(r) for r in rows]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(builder.build, rows))
    assert got == expected
