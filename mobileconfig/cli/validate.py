"""``mobileconfig validate``: every finding on a spec or an existing profile."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mobileconfig.cli.common import (
    Commands,
    Out,
    add_mdm_option,
    add_platform_option,
    add_variable_options,
    anchors,
    parse_at,
    platforms_from_args,
    print_report,
    variables,
)

if TYPE_CHECKING:
    from mobileconfig.findings import Report

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "validate",
        run,
        help="check a spec or a profile",
        description="Check a spec, or an existing profile from anywhere: its signature and "
        "signer, Apple's schema, every certificate chain and every identity (the same "
        "findings as inspect). Exit 0 when there is no error, 1 otherwise.",
    )
    p.add_argument("target", metavar="SPEC_OR_PROFILE")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--at", metavar="TIME", help="validation time, ISO 8601 (default: now)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument(
        "--ca",
        metavar="FILE",
        action="append",
        help="a root you trust for a profile's signature (repeatable)",
    )
    p.add_argument(
        "--public-roots",
        action="store_true",
        help="trust the public roots of the certifi bundle for a profile's signature",
    )
    add_platform_option(p)
    add_variable_options(p)
    add_mdm_option(p)


def _looks_like_spec(path: str) -> bool:
    return path.lower().endswith((".yaml", ".yml"))


def run(args: argparse.Namespace, out: Out) -> int:
    at = parse_at(args.at)
    platforms = platforms_from_args(args)  # a bad --platform is refused whatever the target
    report: Report
    if _looks_like_spec(args.target):
        from mobileconfig.builder import Builder
        from mobileconfig.errors import MobileconfigError

        if platforms:
            raise MobileconfigError(
                f"{args.target}: --platform is for a built profile; a spec names its "
                "platforms itself (platforms: {iOS: '16.0'})"
            )

        builder = Builder(args.target, mdm=args.mdm)
        compiled = builder.compile(variables(args), at=at)
        report = builder.check_compiled(compiled, at=at)
        spec = compiled.source.spec if compiled.source is not None else None
        strict = args.strict or bool(spec and spec.validate_.strict)
    else:
        from mobileconfig.inspection import examine
        from mobileconfig.reader import read_profile_file

        loaded = read_profile_file(args.target)
        report = examine(loaded, anchors=anchors(args), at=at, platforms=platforms).report
        strict = args.strict
    print_report(report, args.format, out, to_stdout=True, extra={"target": args.target})
    return 1 if report.has_errors(strict=strict) else 0
