"""The ``probe`` subcommand's arguments, apart from :mod:`mobileconfig.probe` so that building
the command line (``mobileconfig --help``) does not load cryptography."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mobileconfig.cli import _Out

__all__ = ["register_cli"]


def _cmd_probe(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.probe import cmd_probe

    return cmd_probe(args, out)


def register_cli(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add ``mobileconfig probe`` to the command line (cli.py's ``_EXTRA_COMMANDS`` hook)."""
    from mobileconfig.cli import _add_variable_options

    p = subparsers.add_parser(
        "probe",
        parents=[common],
        help="check a live TLS server's certificate chain",
        description="Connect to a server (or every server a spec names), read the certificate "
        "chain it sends, and check it as an Apple device would: the name, the chain to the "
        "profile's roots, the intermediates the server sends, the TLS version. Exit 0 when "
        "there is no error, 1 when there are errors, 2 when a server cannot be reached.",
    )
    p.add_argument(
        "target",
        nargs="?",
        metavar="HOST[:PORT]",
        help="the server (port 443 by default, or the ports the spec gives for HOST)",
    )
    p.add_argument(
        "--spec",
        metavar="SPEC",
        help="profile.yaml: its certificates are trusted; "
        "without HOST, probe every server it names",
    )
    p.add_argument(
        "--ca",
        action="append",
        metavar="FILE",
        help="more certificates the devices have (roots, intermediates; repeatable)",
    )
    p.add_argument(
        "--public-roots",
        action="store_true",
        help="trust the public roots too (certifi); the default when neither --spec "
        "nor --ca is given",
    )
    p.add_argument(
        "--starttls",
        choices=["auto", "imap", "smtp", "pop3", "none"],
        default="auto",
        help="plain-text upgrade first (auto: IMAP on 143, SMTP on 25 and 587, POP3 on "
        "110, TLS from the start elsewhere)",
    )
    p.add_argument("--at", metavar="TIME", help="validation time, ISO 8601 (default: now)")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds for each server, connection to handshake (default 10)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    _add_variable_options(p)
    p.set_defaults(func=_cmd_probe)
