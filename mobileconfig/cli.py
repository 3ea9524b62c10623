"""The command line: ``mobileconfig build|validate|inspect|verify|sign|unsign|schema``.

Exit status: 0 success; 1 the content was refused or a check failed; 2 bad usage or
input. Messages go to standard error, artifacts to ``-o FILE`` or standard output.
Heavy modules (cryptography, pydantic) are imported inside each command, so that
``mobileconfig --help`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt

    from mobileconfig.findings import Report

__all__ = ["main"]

PROG = "mobileconfig"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mobileconfig-kit")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


class _Out:
    """Where messages go, honouring -q."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def info(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr)

    def error(self, text: str) -> None:
        print(f"{PROG}: error: {text}", file=sys.stderr)


def _at(value: str | None) -> dt.datetime | None:
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.spec.model import parse_time

    try:
        return parse_time(value)
    except ValueError as exc:
        raise MobileconfigError(f"--at: {exc}") from None


def _print_report(
    report: Report,
    fmt: str,
    out: _Out,
    *,
    to_stdout: bool = False,
    extra: dict[str, Any] | None = None,
) -> None:
    """Print a report: JSON on stdout, or text grouped by chain (stdout or stderr)."""
    if fmt == "json":
        data = {**(extra or {}), **report.to_json()}
        print(json.dumps(data, indent=2, default=str))
        return
    stream = sys.stdout if to_stdout else sys.stderr
    groups: dict[str, list[str]] = {}
    for finding in report.sorted():
        if out.quiet and finding.severity.value == "info":
            continue
        groups.setdefault(finding.chain or "", []).append(finding.format())
    for chain, lines in sorted(groups.items(), key=lambda kv: (kv[0] != "", kv[0])):
        if len(groups) > 1 or chain:
            print(f"== {chain or 'profile'}", file=stream)
        for line in lines:
            print(line, file=stream)
    summary = report.to_json()["summary"]
    accepted = f", {summary['accepted']} accepted" if summary["accepted"] else ""
    text = f"{summary['errors']} error(s), {summary['warnings']} warning(s), {summary['info']} info"
    if to_stdout:
        print(text + accepted, file=stream)
    else:
        out.info(text + accepted)


def _variables(args: argparse.Namespace) -> dict[str, Any]:
    """Template variables from --vars FILE (YAML or JSON) then --var NAME=VALUE."""
    from mobileconfig.errors import SpecError

    values: dict[str, Any] = {}
    for path in getattr(args, "vars", None) or []:
        import yaml

        from mobileconfig.errors import Location

        try:
            with open(path, encoding="utf-8") as fh:
                loaded = yaml.safe_load(fh)
        except FileNotFoundError:
            raise SpecError("variables file not found", location=Location(path)) from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            detail = str(exc).splitlines()[0]
            raise SpecError(f"cannot read variables: {detail}", location=Location(path)) from None
        if not isinstance(loaded, dict):
            raise SpecError(
                "a variables file must hold a mapping of names to values", location=Location(path)
            )
        values.update({str(k): v for k, v in loaded.items()})
    for item in getattr(args, "var", None) or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SpecError(f"--var {item!r}: write it as NAME=VALUE")
        values[name.strip()] = value
    return values


def _add_variable_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var", action="append", metavar="NAME=VALUE", help="a template variable (repeatable)"
    )
    p.add_argument(
        "--vars",
        action="append",
        metavar="FILE",
        help="template variables from a YAML or JSON file (repeatable)",
    )


# -- build ---------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.builder import Builder
    from mobileconfig.errors import ValidationFailed
    from mobileconfig.output import write_output

    builder = Builder(args.spec)
    try:
        result = builder.build_result(
            _variables(args), at=_at(args.at), fmt=args.format, strict=True if args.strict else None
        )
    except ValidationFailed as exc:
        _print_report(exc.report, "text", out)
        out.error(f"{args.spec}: {exc.message}; nothing written")
        return 1
    if result.report.findings:
        _print_report(result.report, "text", out)
    write_output(args.output, result.data)
    if args.output not in (None, "-"):
        n = len(result.compiled.profile.payload_content)
        plural = "s" if n != 1 else ""
        out.info(f"wrote {args.output}: {n} payload{plural}, unsigned, {len(result.data)} bytes")
    return 0


# -- validate ------------------------------------------------------------------------


def _looks_like_spec(path: str) -> bool:
    return path.lower().endswith((".yaml", ".yml"))


def cmd_validate(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.findings import Report

    at = _at(args.at)
    report: Report
    if _looks_like_spec(args.target):
        from mobileconfig.builder import Builder

        builder = Builder(args.target)
        variables = _variables(args)
        report = builder.check(variables, at=at)
        strict = args.strict or builder.source(variables).spec.validate_.strict
    else:
        from mobileconfig.pki.chains import validate
        from mobileconfig.reader import profile_certificates, read_profile_file

        loaded = read_profile_file(args.target)
        certs, findings = profile_certificates(loaded)
        report = Report(findings)
        if certs:
            report.merge(validate(certs, at=at))
        strict = args.strict
    _print_report(report, args.format, out, to_stdout=True, extra={"target": args.target})
    return 1 if report.has_errors(strict=strict) else 0


# -- schema --------------------------------------------------------------------------


def cmd_schema(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.spec.schema import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2, sort_keys=True))
    return 0


# -- parser --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Build Apple configuration profiles for your certificates and identities, "
        "and check them before they reach a device.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "build",
        parents=[common],
        help="build a profile from a spec",
        description="Build a .mobileconfig from a YAML spec. Nothing is written "
        "when a check fails.",
    )
    p.add_argument("spec", metavar="SPEC", help="the profile.yaml")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file, or - for standard output (default: standard output)",
    )
    p.add_argument(
        "--format", choices=["xml", "binary"], default="xml", help="plist format (default xml)"
    )
    p.add_argument("--at", metavar="TIME", help="validation time, ISO 8601 (default: now)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    _add_variable_options(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "validate",
        parents=[common],
        help="check a spec or a profile",
        description="Check every certificate chain in a spec or an existing "
        "profile. Exit 0 when there is no error, 1 otherwise.",
    )
    p.add_argument("target", metavar="SPEC_OR_PROFILE")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--at", metavar="TIME", help="validation time, ISO 8601 (default: now)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    _add_variable_options(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "schema",
        parents=[common],
        help="print the spec's JSON Schema",
        description="Print the JSON Schema of profile.yaml, for editor completion: "
        "mobileconfig schema > mobileconfig.schema.json",
    )
    p.set_defaults(func=cmd_schema)

    for extra in _EXTRA_COMMANDS:
        extra(sub, common)
    return parser


#: Other modules add subcommands here: each takes (subparsers, common parent parser).
_EXTRA_COMMANDS: list[Callable[[Any, argparse.ArgumentParser], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    out = _Out(getattr(args, "quiet", False))
    from mobileconfig.errors import MobileconfigError

    try:
        code: int = args.func(args, out)
        return code
    except MobileconfigError as exc:
        if args.verbose:
            raise
        out.error(exc.diagnostics())
        return exc.exit_code
    except KeyboardInterrupt:
        out.error("interrupted; nothing written")
        return 130
    except BrokenPipeError:
        return 1
