"""What every subcommand shares: where messages go, how a report is printed, and the
options several commands take (``--at``, ``--var``/``--vars``, the signer, trusted roots).

Light at import time: argparse, the standard library and :mod:`mobileconfig.text` (which
imports nothing else) only. Everything heavy is imported
inside the function that needs it, so that ``mobileconfig --help`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from mobileconfig.text import printable, terminal_text

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
    "add_platform_option",
    "add_signer_options",
    "add_trust_options",
    "add_variable_options",
    "anchors",
    "parse_at",
    "platforms_from_args",
    "print_report",
    "secret_from_args",
    "signer_from_args",
    "variables",
]

PROG = "mobileconfig"


class Out:
    """Every line the command line prints goes through here (the one choke point).

    Text is made terminal-safe (:func:`mobileconfig.text.printable`): a control, bidi or
    other format character from a profile, a certificate, an inventory or a template is
    written as an escape, so it can neither drive the terminal nor forge a line. Lines this
    package lays out itself keep their newlines; an error is always one line. JSON is
    printed exact (its own escapes make it safe). Messages and progress go to standard
    error, honouring -q; results to standard output.
    """

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def info(self, text: str) -> None:
        """A message on standard error, unless -q."""
        if not self.quiet:
            self.text(text, err=True)

    def warn(self, text: str) -> None:
        """A message on standard error, even with -q."""
        self.text(text, err=True)

    def error(self, text: str) -> None:
        """The one-line error: ``mobileconfig: error: TEXT`` on standard error."""
        print(f"{PROG}: error: {printable(text)}", file=sys.stderr)

    def text(self, text: str = "", *, err: bool = False) -> None:
        """Lines of text, terminal-safe, on standard output (or standard error)."""
        print(terminal_text(text), file=sys.stderr if err else sys.stdout)

    def json(self, data: Any, *, sort_keys: bool = False) -> None:
        """``data`` as indented JSON on standard output, exact."""
        print(json.dumps(data, indent=2, default=str, sort_keys=sort_keys))


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


# -- --platform -----------------------------------------------------------------------------


def add_platform_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--platform",
        action="append",
        metavar="NAME[=VERSION]",
        help="a platform the profile is meant for, with its oldest version (iOS=16.0; "
        "repeatable): payloads and keys it does not support, or only in a later version, "
        "are reported",
    )


def platforms_from_args(args: argparse.Namespace) -> dict[str, str]:
    """``--platform iOS=16.0 --platform macOS``: platform -> minimum version ("": any)."""
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.schema import parse_platforms

    try:
        return parse_platforms(list(getattr(args, "platform", None) or []))
    except ValueError as exc:
        raise MobileconfigError(f"--platform: {exc}") from None


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
        out.json({**(extra or {}), **report.to_json()})
        return
    err = not to_stdout
    groups: dict[str, list[str]] = {}
    for finding in report.sorted():
        if out.quiet and finding.severity.value == "info":
            continue
        groups.setdefault(finding.chain or "", []).append(finding.format())
    for chain, lines in sorted(groups.items(), key=lambda kv: (kv[0] != "", kv[0])):
        # Findings about one certificate chain are grouped under the certificate that the
        # chain starts from; the rest are about the profile (or spec) as a whole.
        if len(groups) > 1 or chain:
            header = f"Chain for {printable(chain)}:" if chain else "The profile as a whole:"
            out.text(header, err=err)
        for line in lines:
            out.text(line, err=err)
    text = report.summary_line()
    if to_stdout:
        out.text(text)
    else:
        out.info(text)


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


def add_mdm_option(p: argparse.ArgumentParser) -> None:
    from mobileconfig.mdm import MDM_NAMES

    p.add_argument(
        "--mdm",
        choices=MDM_NAMES,
        help="the MDM the profile is for: its variables pass through as written (over the "
        "spec's mdm:; see docs/mdm.md)",
    )


def variables(args: argparse.Namespace) -> dict[str, Any]:
    """Template variables from --vars FILE (YAML or JSON) then --var NAME=VALUE."""
    from mobileconfig.errors import SpecError

    values: dict[str, Any] = {}
    for path in getattr(args, "vars", None) or []:
        from mobileconfig.errors import Location
        from mobileconfig.files import read_limited
        from mobileconfig.spec.load import MAX_SPEC_BYTES, load_yaml

        def error(problem: str, path: str = path) -> SpecError:
            return SpecError(f"variables file {problem}", location=Location(path))

        # Regular files only, bounded, and parsed as a spec is (alias bombs and deep
        # nesting refused): a FIFO used to hang here, "[[[[...]]]]" to overflow PyYAML.
        raw = read_limited(path, MAX_SPEC_BYTES, error=error)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise error("is not UTF-8 text") from None
        loaded = load_yaml(text, file=path).value
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
    g.add_argument(
        "--allow-incomplete-signer-chain",
        action="store_true",
        help="sign even when the signer's issuer is not at hand (MC210 becomes a warning), "
        "for an MDM that adds the chain itself",
    )


def signer_from_args(args: argparse.Namespace) -> Signer | None:
    """The signer the options of :func:`add_signer_options` name, or None without one."""
    if not getattr(args, "sign_with", None):
        return None
    from mobileconfig.signers import load_signer

    return load_signer(
        args.sign_with,
        key=args.sign_key,
        chain=args.sign_chain or [],
        password=secret_from_args(args.sign_password_env, args.sign_password_file, "password"),
        key_password=secret_from_args(args.sign_key_password_env, None, "key password"),
    )


# -- trusted roots for a signature ----------------------------------------------------------


def add_decrypt_options(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--decrypt-with`` and its key and password options, for commands that read
    encrypted profiles (inspect, plan)."""
    p.add_argument(
        "--decrypt-with",
        metavar="FILE",
        help="the device identity (PKCS#12, or PEM with --decrypt-key) that opens "
        "encrypted profiles",
    )
    p.add_argument("--decrypt-key", metavar="FILE", help="PEM private key for --decrypt-with")
    p.add_argument(
        "--decrypt-password-env",
        metavar="NAME",
        help="environment variable holding the PKCS#12 password",
    )
    p.add_argument(
        "--decrypt-password-file", metavar="FILE", help="file holding the PKCS#12 password"
    )


def decrypt_identity_from_args(args: argparse.Namespace) -> Signer | None:
    """The identity named by :func:`add_decrypt_options`, or None when none was given."""
    if not args.decrypt_with:
        return None
    from mobileconfig.signers import load_signer

    return load_signer(
        args.decrypt_with,
        key=args.decrypt_key,
        password=secret_from_args(
            args.decrypt_password_env, args.decrypt_password_file, "password"
        ),
    )


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
