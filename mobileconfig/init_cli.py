"""The ``init`` subcommand's arguments, apart from :mod:`mobileconfig.init` so that building
the command line (``mobileconfig --help``) stays light."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mobileconfig.cli import _Out

__all__ = ["DEFAULT_IDENTIFIER", "register_cli"]

DEFAULT_IDENTIFIER = "com.example.certificates"


def _cmd_init(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.init import cmd_init

    return cmd_init(args, out)


def register_cli(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add ``mobileconfig init`` to the command line (cli.py's ``_EXTRA_COMMANDS`` hook)."""
    p = subparsers.add_parser(
        "init",
        parents=[common],
        help="write a starting profile.yaml from a folder of certificates",
        description="Write a commented profile.yaml listing the certificates in a folder "
        "(roots and intermediates, each named in a comment) and an identity for each "
        "PKCS#12 (.p12/.pfx), its password read from an environment variable. An existing "
        "file is kept unless --force is given.",
    )
    p.add_argument(
        "folder",
        nargs="?",
        default=".",
        metavar="CERT_DIR",
        help="the folder of certificates (default: the current folder)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        default="profile.yaml",
        help="the spec to write, or - for standard output (default: profile.yaml)",
    )
    p.add_argument(
        "--identifier",
        metavar="ID",
        help=f"the profile's PayloadIdentifier, reverse DNS (default: {DEFAULT_IDENTIFIER})",
    )
    p.add_argument(
        "--name", metavar="NAME", help="the name shown on the device (default: from the roots)"
    )
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=_cmd_init)
