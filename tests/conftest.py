"""Shared fixtures: the test PKI, a spec writer, the shared samples, the CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from pki import TestPKI  # noqa: E402

ROOT = TESTS.parent
#: Real-world profiles beside a checkout (not in the repository): test_shared_samples.py.
SAMPLES = ROOT.parent / "shared" / "samples" / "profiles"


@pytest.fixture(scope="session")
def pki_ec() -> TestPKI:
    return TestPKI("ec256", prefix="EC")


def need_tool(name: str) -> str:
    """The path of a command-line tool; in CI its absence fails, elsewhere it skips."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


class CLIResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"<exit {self.code}\nstdout: {self.out[-2000:]}\nstderr: {self.err[-2000:]}>"


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CLIResult]:
    """Run ``mobileconfig.cli.main`` in-process and capture both streams."""
    from mobileconfig.cli import main

    def run(*argv: str | Path) -> CLIResult:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CLIResult(code, captured.out, captured.err)

    return run


def run_module(
    *argv: str | Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mobileconfig`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "mobileconfig", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec (text) into tmp_path and return its path."""

    def write(text: str, name: str = "profile.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
