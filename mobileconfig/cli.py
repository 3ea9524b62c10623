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

    from mobileconfig.builder import Builder
    from mobileconfig.cms import Signer
    from mobileconfig.findings import Report
    from mobileconfig.pki.certs import Certificate
    from mobileconfig.secrets import Secret

__all__ = ["main"]

PROG = "mobileconfig"


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


def _secret_from_args(env: str | None, file: str | None, label: str) -> Secret | None:
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.secrets import Secret

    if env and file:
        raise MobileconfigError(f"give the {label} by environment variable or by file, not both")
    if env:
        return Secret.from_env(env)
    if file:
        return Secret.from_file(file)
    return None


def _signer_from_args(args: argparse.Namespace) -> Signer | None:
    if not getattr(args, "sign_with", None):
        return None
    from mobileconfig.signing import load_signer

    return load_signer(
        args.sign_with,
        key=args.sign_key,
        chain=args.sign_chain or [],
        password=_secret_from_args(args.sign_password_env, args.sign_password_file, "password"),
        key_password=_secret_from_args(args.sign_key_password_env, None, "key password"),
    )


def _add_signer_options(p: argparse.ArgumentParser, *, required: bool = False) -> None:
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


def _load_certificate_arg(path: str, what: str) -> Certificate:
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.pki.certs import load_certificate_file

    certs = load_certificate_file(path)
    if len(certs) != 1:
        raise MobileconfigError(
            f"{path}: {what} must hold exactly one certificate, it holds {len(certs)}"
        )
    return certs[0]


def _build_batch(args: argparse.Namespace, out: _Out, builder: Builder) -> int:
    from mobileconfig.batch import run_batch
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.output import write_output

    if args.output:
        raise MobileconfigError("-o goes with a single build; with --each give --out-dir DIR")
    if not args.out_dir:
        raise MobileconfigError("--each needs --out-dir DIR for the profiles")
    if args.encrypt_to:
        raise MobileconfigError("--encrypt-to encrypts to one device; it does not go with --each")
    if args.jobs is not None and args.jobs < 1:
        raise MobileconfigError("--jobs takes a number of processes, 1 or more")
    result = run_batch(
        args.spec,
        args.each,
        args.out_dir,
        name=args.name,
        jobs=args.jobs,
        fail_fast=args.fail_fast,
        resume=args.resume,
        variables=_variables(args),
        secret_columns=args.secret_column or [],
        at=_at(args.at),
        fmt=args.format,
        strict=True if args.strict else None,
        sign=False if args.unsigned else None,
        builder=builder,
        progress=not out.quiet,
    )
    for failure in result.failures:
        print(f"{PROG}: row {failure.row} ({failure.where}): {failure.reason}", file=sys.stderr)
    skipped = f", {result.skipped} skipped (already complete)" if result.skipped else ""
    out.info(
        f"built {result.built} of {result.total} profiles into {args.out_dir}, "
        f"{result.failed} failed{skipped}"
    )
    if args.report:
        write_output(args.report, (json.dumps(result.to_json(), indent=2) + "\n").encode())
    return 1 if result.failed else 0


def cmd_build(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.builder import Builder
    from mobileconfig.errors import MobileconfigError, ValidationFailed
    from mobileconfig.output import write_output

    if args.unsigned and args.sign_with:
        raise MobileconfigError("--unsigned and --sign-with contradict each other")
    builder = Builder(args.spec, signer=_signer_from_args(args))
    if args.each:
        return _build_batch(args, out, builder)
    if args.out_dir:
        raise MobileconfigError("--out-dir goes with --each INVENTORY; for one profile use -o")
    recipient = _load_certificate_arg(args.encrypt_to, "--encrypt-to") if args.encrypt_to else None
    try:
        result = builder.build_result(
            _variables(args),
            at=_at(args.at),
            fmt=args.format,
            strict=True if args.strict else None,
            sign=False if args.unsigned else None,
            encrypt_to=recipient,
        )
    except ValidationFailed as exc:
        _print_report(exc.report, "text", out)
        out.error(f"{args.spec}: {exc.message}; nothing written")
        return 1
    if result.report.findings:
        _print_report(result.report, "text", out)
    write_output(args.output, result.data, private=result.holds_private_key)
    if args.output not in (None, "-"):
        n = len(result.compiled.profile.payload_content)
        plural = "s" if n != 1 else ""
        how = "signed" if result.signed else "unsigned"
        if result.encrypted:
            how += ", encrypted"
        out.info(f"wrote {args.output}: {n} payload{plural}, {how}, {len(result.data)} bytes")
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
        compiled = builder.compile(_variables(args), at=at)
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
    _print_report(report, args.format, out, to_stdout=True, extra={"target": args.target})
    return 1 if report.has_errors(strict=strict) else 0


# -- verify, sign, unsign --------------------------------------------------------------


def _anchors(args: argparse.Namespace) -> list[Certificate]:
    from mobileconfig.pki.certs import load_certificate_file

    anchors: list[Certificate] = []
    for path in getattr(args, "ca", None) or []:
        anchors.extend(load_certificate_file(path))
    if getattr(args, "public_roots", False):
        from mobileconfig.cms import public_roots

        anchors.extend(public_roots())
    return anchors


def cmd_verify(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.cms import verify
    from mobileconfig.errors import ProfileError
    from mobileconfig.findings import Report
    from mobileconfig.inspection import certificate_json, verification_json
    from mobileconfig.reader import read_profile_file

    loaded = read_profile_file(args.profile)
    if loaded.signed is None:
        raise ProfileError(
            f"{args.profile}: the profile is not signed, so there is nothing to verify "
            "(mobileconfig sign signs it)"
        )
    result = verify(loaded.signed, anchors=_anchors(args), at=_at(args.at))
    if args.format == "json":
        report = Report(list(result.findings))
        data = {"file": args.profile, **verification_json(result), **report.to_json()}
        print(json.dumps(data, indent=2))
    else:
        print(f"{args.profile}: {result.status}: {result.reason}")
        if result.signer is not None:
            signer = certificate_json(result.signer)
            print(f"  signer: {signer['subject']} (until {signer['not_after']})")
        print(f"  digest: {result.digest_algorithm}, signature: {result.signature_algorithm}")
        for finding in sorted(result.findings, key=lambda f: f.sort_key()):
            print("  " + finding.format().replace("\n", "\n  "))
    return 0 if result.status == "trusted" else 1


def cmd_sign(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.cms import sign
    from mobileconfig.output import write_output
    from mobileconfig.reader import read_profile_file

    loaded = read_profile_file(args.profile)
    signer = _signer_from_args(args)
    assert signer is not None  # --sign-with is required here
    findings = signer.check(_at(args.at))
    for finding in findings:
        print(finding.format(), file=sys.stderr)
    if any(f.blocks for f in findings):
        out.error(f"{signer.source}: cannot sign with this certificate; nothing written")
        return 1
    if loaded.signed is not None:
        out.info(f"{args.profile} was already signed; signing its content again")
    write_output(args.output, sign(loaded.content, signer, digest=args.digest))
    if args.output not in (None, "-"):
        out.info(f"wrote {args.output}: signed by {signer.certificate.subject_text}")
    return 0


def cmd_unsign(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.cms import verify
    from mobileconfig.errors import ProfileError
    from mobileconfig.output import write_output
    from mobileconfig.reader import read_profile_file

    loaded = read_profile_file(args.profile)
    if loaded.signed is None:
        raise ProfileError(f"{args.profile}: the profile is not signed")
    result = verify(loaded.signed, anchors=_anchors(args), at=_at(args.at))
    state = "valid" if result.valid else "INVALID"
    out.info(f"{args.profile}: signature {state} ({result.status}: {result.reason})")
    write_output(args.output, loaded.content)
    if args.output not in (None, "-"):
        out.info(f"wrote {args.output}: the signed content, {len(loaded.content)} bytes")
    return 0 if result.valid else 1


# -- inspect ---------------------------------------------------------------------------


def cmd_inspect(args: argparse.Namespace, out: _Out) -> int:
    from mobileconfig.inspection import inspect_profile, render_text
    from mobileconfig.reader import read_profile_file

    loaded = read_profile_file(args.profile)
    decrypt = None
    if args.decrypt_with:
        from mobileconfig.signing import load_signer

        decrypt = load_signer(
            args.decrypt_with,
            key=args.decrypt_key,
            password=_secret_from_args(
                args.decrypt_password_env, args.decrypt_password_file, "password"
            ),
        )
    data = inspect_profile(loaded, anchors=_anchors(args), at=_at(args.at), decrypt_with=decrypt)
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
    else:
        print(render_text(data))
    return 1 if data["summary"]["errors"] else 0


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
    parser.add_argument("--version", action=_VersionAction)
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
    p.add_argument(
        "--unsigned",
        action="store_true",
        help="do not sign, even when the spec has sign: (for MDM upload)",
    )
    p.add_argument(
        "--encrypt-to", metavar="CERT", help="encrypt the payloads to this device certificate (RSA)"
    )
    _add_variable_options(p)
    _add_signer_options(p)
    g = p.add_argument_group("batch: one profile per inventory row")
    g.add_argument(
        "--each",
        metavar="INVENTORY",
        help="CSV (with a header row) or JSON list of objects; columns are variables",
    )
    g.add_argument("--out-dir", metavar="DIR", help="folder for the profiles")
    g.add_argument(
        "--name",
        metavar="TEMPLATE",
        help="file name per row, e.g. '{{ user }}.mobileconfig' (default: the profile identifier)",
    )
    g.add_argument("--jobs", type=int, metavar="N", help="processes (default: the number of cores)")
    g.add_argument("--fail-fast", action="store_true", help="stop at the first failing row")
    g.add_argument(
        "--resume", action="store_true", help="skip rows whose output is already complete"
    )
    g.add_argument("--report", metavar="FILE", help="write the summary as JSON")
    g.add_argument(
        "--secret-column",
        metavar="NAME",
        action="append",
        help="a column holding a secret: its values never appear in messages",
    )
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
        "inspect",
        parents=[common],
        help="show what a profile installs",
        description="Show a profile's container, signer, payloads, certificates and "
        "identities (never a password), then the findings on its certificates. Reads any "
        "profile: signed or not, XML or binary.",
    )
    p.add_argument("profile", metavar="PROFILE")
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
    p.add_argument(
        "--decrypt-with",
        metavar="FILE",
        help="the device identity (PKCS#12, or PEM with --decrypt-key) that opens "
        "an encrypted profile",
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
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser(
        "verify",
        parents=[common],
        help="verify a signed profile",
        description="Verify a signed profile's signature and its signer's chain. Exit 0 when "
        "valid and trusted, 1 otherwise.",
    )
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("--ca", metavar="FILE", action="append", help="a trusted root (repeatable)")
    p.add_argument(
        "--public-roots", action="store_true", help="trust the public roots of the certifi bundle"
    )
    p.add_argument("--at", metavar="TIME", help="verification time, ISO 8601 (default: now)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "sign",
        parents=[common],
        help="sign a profile",
        description="Sign a profile: SHA-256 by default, the signer's intermediates included.",
    )
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("-o", "--output", metavar="OUT", help="output file, or - for standard output")
    p.add_argument("--digest", choices=["sha256", "sha384", "sha512"], default="sha256")
    p.add_argument("--at", metavar="TIME", help="check the signer's validity at this time")
    _add_signer_options(p, required=True)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser(
        "unsign",
        parents=[common],
        help="remove a profile's signature",
        description="Write a signed profile's content unsigned (for an MDM that signs "
        "itself), and say whether the signature was valid.",
    )
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("-o", "--output", metavar="OUT", help="output file, or - for standard output")
    p.add_argument("--ca", metavar="FILE", action="append", help="a trusted root (repeatable)")
    p.add_argument(
        "--public-roots", action="store_true", help="trust the public roots of the certifi bundle"
    )
    p.add_argument("--at", metavar="TIME", help="verification time, ISO 8601 (default: now)")
    p.set_defaults(func=cmd_unsign)

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


def _register_extras() -> None:
    # Light modules only: each imports its heavy part when its command runs.
    from mobileconfig.init_cli import register_cli as init_cli
    from mobileconfig.probe_cli import register_cli as probe_cli

    for register in (init_cli, probe_cli):
        if register not in _EXTRA_COMMANDS:
            _EXTRA_COMMANDS.append(register)


_register_extras()


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
