"""``mobileconfig inspect``: what a profile installs, who signed it, and what is wrong."""

from __future__ import annotations

import argparse

from mobileconfig.cli.common import (
    Commands,
    Out,
    add_decrypt_options,
    add_platform_option,
    anchors,
    decrypt_identity_from_args,
    parse_at,
    platforms_from_args,
)

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "inspect",
        run,
        help="show what a profile installs",
        description="Show a profile's container, signer, payloads, certificates and "
        "identities (never a password), then the findings on its certificates. Reads any "
        "profile: signed or not, XML or binary. Given a folder written by build --ddm, "
        "check its declarations, references, asset hashes, sizes and modes.",
    )
    p.add_argument(
        "profile", metavar="PROFILE", help="a profile, or a folder written by build --ddm"
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--at", metavar="TIME", help="validation time, ISO 8601 (default: now)")
    p.add_argument(
        "--ca",
        metavar="FILE",
        action="append",
        help="a root you trust for the signature (repeatable)",
    )
    p.add_argument(
        "--public-roots",
        action="store_true",
        help="trust the public roots of the certifi bundle for the signature",
    )
    add_platform_option(p)
    add_decrypt_options(p)


def run(args: argparse.Namespace, out: Out) -> int:
    from pathlib import Path

    from mobileconfig.inspection import inspect_profile, render_text
    from mobileconfig.reader import read_profile_file

    if Path(args.profile).is_dir():
        return _folder(args, out)
    loaded = read_profile_file(args.profile)
    decrypt = decrypt_identity_from_args(args)
    data = inspect_profile(
        loaded,
        anchors=anchors(args),
        at=parse_at(args.at),
        decrypt_with=decrypt,
        platforms=platforms_from_args(args),
    )
    if args.format == "json":
        out.json(data)
    else:
        out.text(render_text(data))
    return 1 if data["summary"]["errors"] else 0


def _folder(args: argparse.Namespace, out: Out) -> int:
    """A declarative output folder (build --ddm): its declarations, references and assets."""
    from mobileconfig.ddm import inspect_folder, render_folder_text

    data = inspect_folder(args.profile)
    if args.format == "json":
        out.json(data)
    else:
        out.text(render_folder_text(data))
    return 1 if data["summary"]["errors"] else 0
