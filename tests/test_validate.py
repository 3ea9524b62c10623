"""`validate` on specs (the real-world samples are in test_shared_samples.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import ROOT, CLIResult
from pki import TestPKI, issue


def test_text_output_and_exit_zero_on_a_good_spec(run_cli: Callable[..., CLIResult]) -> None:
    result = run_cli("validate", ROOT / "examples/company/profile.yaml", "--at", "2026-12-01")
    assert result.code == 0, result
    assert "MC116" in result.out and "accepted" in result.out
    # The accepted warning is counted once, as accepted; headers say what they group.
    assert result.out.rstrip().endswith("0 errors, 0 warnings, 1 accepted")
    assert "Chain for Example Corp Issuing CA:" in result.out
    assert "==" not in result.out


def test_totals_count_each_finding_once() -> None:
    from mobileconfig.findings import Report, make_finding

    report = Report(
        [
            make_finding("MC103", "a"),
            make_finding("MC103", "b"),
            make_finding("MC105", "c"),
            make_finding("MC116", "d"),
            make_finding("MC105", "e"),
            make_finding("MC001", "f"),
        ]
    )
    report.accept([{"code": "MC116", "reason": "r"}, {"code": "MC001", "reason": "r"}])
    assert report.counts() == {"errors": 2, "warnings": 2, "info": 0, "accepted": 2}
    assert report.summary_line() == "2 errors, 2 warnings, 2 accepted"
    assert Report([make_finding("MC105", "x")]).summary_line() == "0 errors, 1 warning"


def test_validate_built_profile_xml_and_binary(
    tmp_path: Path,
    pki_ec: TestPKI,
    write_spec: Callable[..., Path],
    run_cli: Callable[..., CLIResult],
) -> None:
    pki_ec.root.write(tmp_path / "root.pem")
    pki_ec.intermediate.write(tmp_path / "inter.pem")
    spec = write_spec("identifier: com.example.v\nname: V\ncertificates: ['*.pem']\n")
    for fmt in ("xml", "binary"):
        out = tmp_path / f"v-{fmt}.mobileconfig"
        assert run_cli("build", spec, "-o", out, "--format", fmt, "--at", "2026-06-01").code == 0
        result = run_cli("validate", out, "--at", "2026-06-01", "--format", "json")
        assert result.code == 0, result
        assert json.loads(result.out)["summary"]["errors"] == 0


def test_build_refuses_incomplete_chain_and_writes_nothing(
    tmp_path: Path, write_spec: Callable[..., Path], run_cli: Callable[..., CLIResult]
) -> None:
    root = issue("Lonely Root")
    inter = root.issue("Orphan Issuing CA")
    inter.write(tmp_path / "inter.pem")
    spec = write_spec("identifier: com.example.o\nname: O\ncertificates: [inter.pem]\n")
    out = tmp_path / "o.mobileconfig"
    result = run_cli("build", spec, "-o", out, "--at", "2026-06-01")
    assert result.code == 1
    assert (
        "MC101" in result.err and "Orphan Issuing CA" in result.err and "Lonely Root" in result.err
    )
    assert "nothing written" in result.err
    assert not out.exists()


def test_strict_makes_warnings_fatal_and_accept_keeps_them_visible(
    tmp_path: Path, write_spec: Callable[..., Path], run_cli: Callable[..., CLIResult]
) -> None:
    import datetime as dt

    from pki import NOW

    root = issue("Soon Root")
    inter = root.issue("Soon Issuing CA", not_after=NOW + dt.timedelta(days=10))
    root.write(tmp_path / "root.pem")
    inter.write(tmp_path / "inter.pem")
    spec = write_spec("identifier: com.example.w\nname: W\ncertificates: ['*.pem']\n")
    out = tmp_path / "w.mobileconfig"
    assert run_cli("build", spec, "-o", out, "--at", "2026-06-01").code == 0
    out.unlink()
    result = run_cli("build", spec, "-o", out, "--at", "2026-06-01", "--strict")
    assert result.code == 1 and "MC105" in result.err and not out.exists()
    from mobileconfig.pki.certs import Certificate

    sha = Certificate(inter.cert).sha256
    spec.write_text(
        spec.read_text() + f"validate:\n  accept:\n    - {{code: MC105, certificate: "
        f"'sha256:{sha[:16]}', reason: renewal booked for next week}}\n"
    )
    result = run_cli("build", spec, "-o", out, "--at", "2026-06-01", "--strict")
    assert result.code == 0, result
    assert "accepted: renewal booked for next week" in result.err
