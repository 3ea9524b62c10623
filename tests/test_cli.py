"""The command line's shape: one module per subcommand, each listed once in
``mobileconfig.cli.main.COMMANDS``, each taking the common options."""

from __future__ import annotations

import argparse
import pkgutil

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
