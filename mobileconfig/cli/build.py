"""``mobileconfig build``: a profile from a spec, or one per inventory row with ``--each``."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from mobileconfig.cli.common import (
    PROG,
    Commands,
    Out,
    add_mdm_option,
    add_signer_options,
    add_variable_options,
    parse_at,
    print_report,
    signer_from_args,
    variables,
)
from mobileconfig.text import printable

if TYPE_CHECKING:
    from mobileconfig.batch import BatchInterrupted
    from mobileconfig.builder import Builder
    from mobileconfig.pki.certs import Certificate

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "build",
        run,
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
    add_variable_options(p)
    add_mdm_option(p)
    add_signer_options(p)
    d = p.add_argument_group("declarative output (docs/declarative.md)")
    d.add_argument(
        "--ddm",
        metavar="DIR",
        help="write declarations, credential assets and legacy profiles into DIR instead of "
        "a profile",
    )
    d.add_argument(
        "--ddm-base-url",
        metavar="URL",
        help="the https:// URL DIR is served from (default: ddm.base_url in the spec)",
    )
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


def run(args: argparse.Namespace, out: Out) -> int:
    from mobileconfig.builder import Builder
    from mobileconfig.errors import MobileconfigError, ValidationFailed
    from mobileconfig.output import write_output

    if args.unsigned and args.sign_with:
        raise MobileconfigError("--unsigned and --sign-with contradict each other")
    builder = Builder(
        args.spec,
        signer=signer_from_args(args),
        mdm=args.mdm,
        allow_incomplete_signer_chain=args.allow_incomplete_signer_chain,
    )
    if args.ddm or args.ddm_base_url:
        return _declarative(args, out, builder)
    if args.each:
        return _batch(args, out, builder)
    if args.out_dir:
        raise MobileconfigError("--out-dir goes with --each INVENTORY; for one profile use -o")
    recipient = _one_certificate(args.encrypt_to, "--encrypt-to") if args.encrypt_to else None
    try:
        result = builder.build_result(
            variables(args),
            at=parse_at(args.at),
            fmt=args.format,
            strict=True if args.strict else None,
            sign=False if args.unsigned else None,
            encrypt_to=recipient,
        )
    except ValidationFailed as exc:
        print_report(exc.report, "text", out)
        out.error(f"{args.spec}: {exc.message}; nothing written")
        return 1
    if result.report.findings:
        print_report(result.report, "text", out)
    write_output(args.output, result.data, private=result.holds_secret)
    if args.output not in (None, "-"):
        n = len(result.compiled.profile.payload_content)
        plural = "s" if n != 1 else ""
        how = "signed" if result.signed else "unsigned"
        if result.encrypted:
            how += ", encrypted"
        out.info(f"wrote {args.output}: {n} payload{plural}, {how}, {len(result.data)} bytes")
    return 0


def _declarative(args: argparse.Namespace, out: Out, builder: Builder) -> int:
    from mobileconfig.ddm import write_folder
    from mobileconfig.errors import MobileconfigError, ValidationFailed

    if not args.ddm:
        raise MobileconfigError("--ddm-base-url goes with --ddm DIR")
    for flag, given in (
        ("-o", args.output),
        ("--each", args.each),
        ("--encrypt-to", args.encrypt_to),
        ("--out-dir", args.out_dir),
        ("--format binary", args.format == "binary"),
    ):
        if given:
            raise MobileconfigError(
                f"{flag} does not go with --ddm (one folder per spec; legacy profiles are XML)"
            )
    try:
        result = builder.build_declarations(
            variables(args),
            base_url=args.ddm_base_url,
            at=parse_at(args.at),
            strict=True if args.strict else None,
            sign=False if args.unsigned else None,
        )
    except ValidationFailed as exc:
        print_report(exc.report, "text", out)
        out.error(f"{args.spec}: {exc.message}; nothing written")
        return 1
    if result.report.findings:
        print_report(result.report, "text", out)
    written = write_folder(result, args.ddm)
    kinds = result.items()["Declarations"]
    counts = ", ".join(f"{len(items)} {name.lower()}" for name, items in kinds.items())
    out.info(
        f"wrote {args.ddm}: {len(result.declarations)} declarations ({counts}), "
        f"{len(written)} files"
    )
    return 0


def _one_certificate(path: str, what: str) -> Certificate:
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.pki.certs import load_certificate_file

    certs = load_certificate_file(path)
    if len(certs) != 1:
        raise MobileconfigError(
            f"{path}: {what} must hold exactly one certificate, it holds {len(certs)}"
        )
    return certs[0]


def _batch(args: argparse.Namespace, out: Out, builder: Builder) -> int:
    from mobileconfig.batch import BatchInterrupted, run_batch
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
    try:
        result = run_batch(
            args.spec,
            args.each,
            args.out_dir,
            name=args.name,
            jobs=args.jobs,
            fail_fast=args.fail_fast,
            resume=args.resume,
            variables=variables(args),
            secret_columns=args.secret_column or [],
            at=parse_at(args.at),
            fmt=args.format,
            strict=True if args.strict else None,
            sign=False if args.unsigned else None,
            builder=builder,
            progress=not out.quiet,
        )
    except BatchInterrupted as stop:
        return _interrupted(args, out, stop)
    for failure in result.failures:
        out.warn(printable(f"{PROG}: row {failure.row} ({failure.where}): {failure.reason}"))
    skipped = f", {result.skipped} skipped (already complete)" if result.skipped else ""
    out.info(
        f"built {result.built} of {result.total} profiles into {args.out_dir}, "
        f"{result.failed} failed{skipped}"
    )
    if args.report:
        write_output(args.report, (json.dumps(result.to_json(), indent=2) + "\n").encode())
    return 1 if result.failed else 0


def _interrupted(args: argparse.Namespace, out: Out, stop: BatchInterrupted) -> int:
    """Ctrl-C in a batch: say exactly what is on disk (and, with --report, which files)."""
    from mobileconfig.output import write_output

    result = stop.result
    n = len(stop.written)
    rest = result.total - result.skipped - n
    skipped = f", {result.skipped} skipped (already complete)" if result.skipped else ""
    failed = f", {result.failed} failed" if result.failed else ""
    if args.report:
        data = {**result.to_json(), "interrupted": True, "written": [str(p) for p in stop.written]}
        write_output(args.report, (json.dumps(data, indent=2) + "\n").encode())
    out.error(
        f"interrupted: {n} of {result.total} profile{'s' if result.total != 1 else ''} written "
        f"into {args.out_dir}{failed}{skipped}, {rest} not written; no temporary file left "
        "(run again with --resume to finish)"
    )
    return 130
