"""No silent skips: when a service names a TLS server but gives no server_certificate, the
build says that the server's certificate was not checked, and how to check it (MC511)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, CLIResult

AT = "2026-12-01T12:00:00Z"  # inside the examples' validity


def _without_server_certificates(tmp_path: Path, example: str) -> Path:
    folder = tmp_path / example
    shutil.copytree(ROOT / "examples" / example, folder)
    spec = folder / "profile.yaml"
    lines = [
        line for line in spec.read_text().splitlines() if "server_certificate:" not in line
    ]
    spec.write_text("\n".join(lines) + "\n")
    return spec


def _findings(result: CLIResult, code: str) -> list[dict[str, str]]:
    return [f for f in json.loads(result.out)["findings"] if f["code"] == code]


@pytest.mark.parametrize(
    ("example", "settings"),
    [
        ("mail", ["mail[0].incoming", "mail[0].outgoing"]),
        ("exchange", ["exchange[0]"]),
        ("vpn", ["vpn[0].ikev2"]),
    ],
)
def test_a_server_without_its_certificate_is_reported_not_skipped(
    tmp_path: Path, run_cli: Callable[..., CLIResult], example: str, settings: list[str]
) -> None:
    spec = _without_server_certificates(tmp_path, example)
    result = run_cli("validate", spec, "--at", AT, "--format", "json")
    assert result.code == 0, result  # info: nothing is wrong, something was not checked
    found = _findings(result, "MC511")
    assert [f["message"].split(":")[0] for f in found] == settings
    for f in found:
        assert f["severity"] == "info"
        assert "not checked" in f["message"]
        assert "server_certificate" in f["fix"] and "probe" in f["fix"]


@pytest.mark.parametrize("example", ["mail", "exchange", "vpn", "wifi"])
def test_with_the_certificate_there_is_nothing_to_report(
    run_cli: Callable[..., CLIResult], example: str
) -> None:
    spec = ROOT / "examples" / example / "profile.yaml"
    result = run_cli("validate", spec, "--at", AT, "--format", "json")
    assert not _findings(result, "MC511")


def test_a_plain_text_server_is_not_reported_twice(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    """Without TLS there is no certificate to check: MC410 says so, not MC511."""
    spec = _without_server_certificates(tmp_path, "mail")
    text = spec.read_text().replace("      tls: true\n", "      tls: false\n", 1)
    spec.write_text(text)
    result = run_cli("validate", spec, "--at", AT, "--format", "json")
    assert [f["message"].split(":")[0] for f in _findings(result, "MC511")] == [
        "mail[0].outgoing"
    ]
    assert _findings(result, "MC410")
