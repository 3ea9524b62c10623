"""``mobileconfig validate``: every finding on a spec or an existing profile."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mobileconfig.cli.common import (
    Commands,
    Out,
    add_variable_options,
    parse_at,
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
        description="Check every certificate chain in a spec or an existing "
        "profile. Exit 0 when there is no error, 1 otherwise.",
    )
    p.add_argument("target", metavar="SPEC_OR_PROFILE")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--at", metavar="TIME", help="validation time, ISO 8601 (default: now)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    add_variable_options(p)


def _looks_like_spec(path: str) -> bool:
    return path.lower().endswith((".yaml", ".yml"))


def run(args: argparse.Namespace, out: Out) -> int:
    from mobileconfig.findings import Report

    at = parse_at(args.at)
    report: Report
    if _looks_like_spec(args.target):
        from mobileconfig.builder import Builder

        builder = Builder(args.target)
        compiled = builder.compile(variables(args), at=at)
        report = builder.check_compiled(compiled, at=at)
        spec = compiled.source.spec if compiled.source is not None else None
        strict = args.strict or bool(spec and spec.validate_.strict)
    else:
        from mobileconfig.pki.chains import validate
        from mobileconfig.reader import profile_certificates, read_profile_file

        loaded = read_profile_file(args.target)
        certs, findings = profile_certificates(loaded)
        report = Report(findings)
        if certs:
            report.merge(validate(certs, at=at))
        strict = args.strict
    print_report(report, args.format, out, to_stdout=True, extra={"target": args.target})
    return 1 if report.has_errors(strict=strict) else 0
