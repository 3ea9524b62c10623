"""What every subcommand shares: where messages go, how a report is printed, and the
options several commands take (``--at``, ``--var``/``--vars``, the signer, trusted roots).

Light at import time: argparse and the standard library only. Everything heavy is imported
inside the function that needs it, so that ``mobileconfig --help`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import datetime as dt

    from mobileconfig.cms import Signer
    from mobileconfig.findings import Report
    from mobileconfig.pki.certs import Certificate
    from mobileconfig.secrets import Secret

__all__ = [
    "PROG",
    "Command",
    "Commands",
    "Out",
    "Run",
    "add_signer_options",
    "add_trust_options",
    "add_variable_options",
    "anchors",
    "parse_at",
    "print_report",
    "secret_from_args",
    "signer_from_args",
    "variables",
]

PROG = "mobileconfig"


class Out:
    """Where messages go, honouring -q: messages and progress to standard error."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def info(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr)

    def error(self, text: str) -> None:
        print(f"{PROG}: error: {text}", file=sys.stderr)


#: What a subcommand runs: the parsed arguments and where messages go -> the exit status.
Run = Callable[[argparse.Namespace, Out], int]


class Commands:
    """The subcommands being registered. Each subcommand module's ``register(commands)``
    calls :meth:`add` once, then adds its own arguments to the parser it gets back."""

    def __init__(self, subparsers: Any, parent: argparse.ArgumentParser) -> None:
        self._subparsers = subparsers
        self._parent = parent  # the options every subcommand takes (-v, -q)

    def add(self, name: str, run: Run, *, help: str, description: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._subparsers.add_parser(
            name, parents=[self._parent], help=help, description=description
        )
        parser.set_defaults(run=run)
        return parser


class Command(Protocol):
    """A subcommand module: ``register`` adds it to the parser; ``run`` does its work."""

    def register(self, commands: Commands) -> None: ...

    def run(self, args: argparse.Namespace, out: Out) -> int: ...


# -- --at -----------------------------------------------------------------------------------


def parse_at(value: str | None) -> dt.datetime | None:
    """``--at TIME``: ISO 8601, or None for now."""
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.spec.model import parse_time

    try:
        return parse_time(value)
    except ValueError as exc:
        raise MobileconfigError(f"--at: {exc}") from None


# -- reports --------------------------------------------------------------------------------


def print_report(
    report: Report,
    fmt: str,
    out: Out,
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


# -- template variables ---------------------------------------------------------------------


def add_variable_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var", action="append", metavar="NAME=VALUE", help="a template variable (repeatable)"
    )
    p.add_argument(
        "--vars",
        action="append",
        metavar="FILE",
        help="template variables from a YAML or JSON file (repeatable)",
    )


def variables(args: argparse.Namespace) -> dict[str, Any]:
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


# -- secrets and the signer -----------------------------------------------------------------


def secret_from_args(env: str | None, file: str | None, label: str) -> Secret | None:
    """A secret named by an environment variable or a file (never a flag's value)."""
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.secrets import Secret

    if env and file:
        raise MobileconfigError(f"give the {label} by environment variable or by file, not both")
    if env:
        return Secret.from_env(env)
    if file:
        return Secret.from_file(file)
    return None


def add_signer_options(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    g = p.add_argument_group("signer")
    g.add_argument(
        "--sign-with",
        metavar="FILE",
        required=required,
        help="the signer: a PKCS#12 (.p12/.pfx) or a PEM certificate (with --sign-key)",
    )
    g.add_argument("--sign-key", metavar="FILE", help="the signer's PEM private key")
    g.add_argument(
        "--sign-chain",
        metavar="FILE",
        action="append",
        help="intermediate certificates to include (repeatable)",
    )
    g.add_argument(
        "--sign-password-env",
        metavar="NAME",
        help="environment variable holding the PKCS#12 password",
    )
    g.add_argument("--sign-password-file", metavar="FILE", help="file holding the PKCS#12 password")
    g.add_argument(
        "--sign-key-password-env",
        metavar="NAME",
        help="environment variable holding the PEM key's password",
    )


def signer_from_args(args: argparse.Namespace) -> Signer | None:
    """The signer the options of :func:`add_signer_options` name, or None without one."""
    if not getattr(args, "sign_with", None):
        return None
    from mobileconfig.signing import load_signer

    return load_signer(
        args.sign_with,
        key=args.sign_key,
        chain=args.sign_chain or [],
        password=secret_from_args(args.sign_password_env, args.sign_password_file, "password"),
        key_password=secret_from_args(args.sign_key_password_env, None, "key password"),
    )


# -- trusted roots for a signature ----------------------------------------------------------


def add_trust_options(p: argparse.ArgumentParser, *, at_help: str) -> None:
    """``--ca``, ``--public-roots`` and ``--at``, for the commands that check a signature."""
    p.add_argument("--ca", metavar="FILE", action="append", help="a trusted root (repeatable)")
    p.add_argument(
        "--public-roots", action="store_true", help="trust the public roots of the certifi bundle"
    )
    p.add_argument("--at", metavar="TIME", help=at_help)


def anchors(args: argparse.Namespace) -> list[Certificate]:
    """The roots ``--ca`` and ``--public-roots`` trust."""
    from mobileconfig.pki.certs import load_certificate_file

    found: list[Certificate] = []
    for path in getattr(args, "ca", None) or []:
        found.extend(load_certificate_file(path))
    if getattr(args, "public_roots", False):
        from mobileconfig.cms import public_roots

        found.extend(public_roots())
    return found
