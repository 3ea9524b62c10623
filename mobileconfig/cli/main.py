"""The command line's entry point: the parser, the options every command shares, and the
one exit path that turns an error into a one-line message.

Exit status: 0 success; 1 the content was refused or a check failed; 2 bad usage or
input. Messages go to standard error, artifacts to ``-o FILE`` or standard output.

Adding a subcommand: write ``mobileconfig/cli/NAME.py`` with ``register(commands)`` and
``run(args, out) -> int`` (see :mod:`mobileconfig.cli.schema`, the smallest), then add the
module to :data:`COMMANDS` below. A subcommand module imports only argparse and
:mod:`mobileconfig.cli.common` at the top; what it needs to do its work it imports inside
``run``, so that ``mobileconfig --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from mobileconfig.cli import (
    build,
    init,
    inspect,
    plan,
    probe,
    schema,
    sign,
    unsign,
    validate,
    verify,
)
from mobileconfig.cli.common import PROG, Command, Commands, Out

__all__ = ["COMMANDS", "build_parser", "main"]

#: The subcommands, in the order ``mobileconfig --help`` lists them.
COMMANDS: list[Command] = [
    build,
    validate,
    plan,
    inspect,
    verify,
    sign,
    unsign,
    schema,
    init,
    probe,
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mobileconfig-kit")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


class _VersionAction(argparse.Action):
    """``--version``, looking the version up only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Build Apple configuration profiles for your certificates and identities, "
        "and check them before they reach a device.",
    )
    parser.add_argument("--version", action=_VersionAction)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    commands = Commands(parser.add_subparsers(dest="command", metavar="COMMAND"), common)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mobileconfig`` with ``argv`` (default: the process's arguments); the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    out = Out(getattr(args, "quiet", False))
    import warnings

    from mobileconfig.errors import MobileconfigError
    from mobileconfig.output import writes_recorded

    written: list[str] = []
    try:
        # Python warnings (cryptography's about a 79-character CN...) are not for the
        # terminal: what matters about the input is said as a finding or an error.
        with warnings.catch_warnings(), writes_recorded() as written:
            warnings.simplefilter("ignore")
            code: int = args.run(args, out)
        return code
    except MobileconfigError as exc:
        if args.verbose:
            raise
        if getattr(args, "format", None) == "json":
            import json

            print(json.dumps(exc.to_json(), indent=2))
        for line in exc.diagnostics().splitlines():  # one problem per line
            out.error(line)
        return exc.exit_code
    except KeyboardInterrupt:
        # A Ctrl-C during a write is held until the write is undone or complete (see
        # mobileconfig.output): say which outputs were complete before it took effect.
        if written:
            out.error(f"interrupted after writing {', '.join(written)}; nothing else written")
        else:
            out.error("interrupted; nothing written")
        return 130
    except BrokenPipeError:
        return 1
    except OSError as exc:
        # A path argument that no reader checked (a name too long, a link loop) fails in
        # the operating system: one line naming it, as for any bad input.
        if args.verbose:
            raise
        name = exc.filename if exc.filename is not None else "input"
        out.error(f"{name}: {exc.strerror or exc}")
        return 2
    except ValueError as exc:
        if "null byte" not in str(exc) or args.verbose:  # Python's refusal of such a path
            raise
        out.error("a path argument has a NUL byte in it")
        return 2


def run() -> NoReturn:
    """The ``mobileconfig`` program (and ``python -m mobileconfig``): :func:`main`, then
    the end of the process without the interpreter's teardown.

    Freeing every object at exit took ~60 ms of a 0.38 s build (and ~30 ms of a one-file
    validate). By the time :func:`main` returns, everything the command writes is written
    and closed (files through :mod:`mobileconfig.output`, the batch's workers joined), so
    only the standard streams are left to flush. An exception :func:`main` lets through
    (``--verbose``) ends the process the usual way, with its traceback."""
    code = main()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # the reader left early; stdout closed
        code = code or 1
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)
