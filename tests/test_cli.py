"""The command line's shape: one module per subcommand, each listed once in
``mobileconfig.cli.main.COMMANDS``, each taking the common options."""

from __future__ import annotations

import argparse
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mobileconfig.cli
from mobileconfig.cli.main import COMMANDS, build_parser

#: Modules of mobileconfig/cli/ that are not subcommands.
SUPPORT = {"main", "common"}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the parser has no subcommands")


def test_every_subcommand_module_is_listed_once() -> None:
    found = {m.name for m in pkgutil.iter_modules(mobileconfig.cli.__path__)} - SUPPORT
    listed = [getattr(c, "__name__", "").rpartition(".")[2] for c in COMMANDS]
    assert sorted(listed) == sorted(found)
    assert len(set(listed)) == len(listed)


def test_each_module_registers_the_command_of_its_name() -> None:
    commands = _subcommands(build_parser())
    assert list(commands) == [getattr(c, "__name__", "").rpartition(".")[2] for c in COMMANDS]
    for command in COMMANDS:
        name = getattr(command, "__name__", "").rpartition(".")[2]
        assert commands[name].get_default("run") is command.run


@pytest.mark.parametrize("option", ["-v", "-q", "--verbose", "--quiet"])
def test_every_subcommand_takes_the_common_options(option: str) -> None:
    for name, parser in _subcommands(build_parser()).items():
        assert option in parser._option_string_actions, f"{name} lacks {option}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert mobileconfig.cli.main([]) == 2
    assert "usage: mobileconfig" in capsys.readouterr().err


# -- the program's own exit (mobileconfig.cli.run) ----------------------------------------


def test_the_program_ends_with_everything_it_printed(tmp_path: Path) -> None:
    """``mobileconfig`` ends with os._exit, skipping the interpreter's teardown: what it
    printed and wrote must all be there, and its exit status must be main()'s."""
    import json as _json
    import plistlib as _plistlib

    from conftest import ROOT, run_module

    proc = run_module("schema")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) > 65536  # more than a pipe holds: flushed, not lost
    assert _json.loads(proc.stdout)["title"]
    spec = ROOT / "examples" / "company" / "profile.yaml"
    at = "2026-12-01"
    built = subprocess.run(
        [sys.executable, "-m", "mobileconfig", "build", str(spec), "-o", "-", "--at", at],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert _plistlib.loads(built.stdout)["PayloadContent"]
    missing = run_module("inspect", tmp_path / "missing.mobileconfig")
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    from conftest import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-m", "mobileconfig", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # `mobileconfig schema | head -c 10`
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 1
    assert b"Traceback" not in err and b"Exception ignored" not in err, err
