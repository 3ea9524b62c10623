"""``mobileconfig init``: write a commented starting profile.yaml from a folder of
certificates (the scaffold itself is :func:`mobileconfig.init.scaffold_spec`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mobileconfig.cli.common import Commands, Out, parse_at
from mobileconfig.init import DEFAULT_IDENTIFIER

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "init",
        run,
        help="write a starting profile.yaml from a folder of certificates",
        description="Write a commented profile.yaml listing the certificates in a folder "
        "(roots and intermediates, each named in a comment; a folder whose files all go in is "
        "listed as the folder, so files added later are picked up) and an identity for each "
        "PKCS#12 (.p12/.pfx), its password read from an environment variable. Expired, "
        "not-yet-valid and end-entity certificates are left out, commented, with the reason. "
        "An existing file is kept unless --force is given.",
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
    p.add_argument(
        "--at", metavar="TIME", help="judge expiry at this time, ISO 8601 (default: now)"
    )


def run(args: argparse.Namespace, out: Out) -> int:
    """0 written, 2 bad input (one line, nothing written)."""
    from mobileconfig.errors import Location, MobileconfigError
    from mobileconfig.init import scaffold_spec
    from mobileconfig.output import write_atomic

    to_stdout = args.output == "-"
    target = Path(args.output)
    if not to_stdout:
        if target.is_dir():
            raise MobileconfigError(
                "is a folder",
                location=Location(args.output),
                hint="give a file name, e.g. profile.yaml",
            )
        if (target.exists() or target.is_symlink()) and not args.force:
            raise MobileconfigError(
                "already exists; nothing written",
                location=Location(args.output),
                hint="add --force to replace it, or give another name with -o",
            )
    spec_dir = Path(".") if to_stdout else (target.parent if str(target.parent) else Path("."))
    command = " ".join(["mobileconfig", "init", args.folder, *_flags(args)])
    result = scaffold_spec(
        args.folder,
        spec_dir=spec_dir,
        identifier=args.identifier,
        name=args.name,
        spec_name="profile.yaml" if to_stdout else target.name,
        command=command,
        at=parse_at(args.at),
    )
    for shown, _, why in result.skipped:
        out.info(f"skipped {shown}: {why}")
    for entry, why in result.excluded:
        out.info(f"left out {entry} (commented out in the spec): {why}")
    if to_stdout:
        sys.stdout.write(result.text)
        sys.stdout.flush()
    else:
        write_atomic(target, result.text.encode("utf-8"))
    what = [
        f"{result.certificate_files} certificate file{'s' if result.certificate_files != 1 else ''}"
        f" ({result.roots} root{'s' if result.roots != 1 else ''}, "
        f"{result.intermediates} intermediate{'s' if result.intermediates != 1 else ''})"
    ]
    if result.identities:
        n = len(result.identities)
        what.append(f"{n} identit{'ies' if n != 1 else 'y'}")
    if result.left_out:
        what.append(f"{result.left_out} end-entity certificate(s) left out")
    if not to_stdout:
        out.info(f"wrote {args.output}: {', '.join(what)}")
    for issuer in result.missing_issuers:
        out.info(f"note: the issuer {issuer!r} is not in {args.folder}; add it (MC101)")
    spec = Path("profile.yaml" if to_stdout else args.output)
    step = f"mobileconfig build {spec.as_posix()} -o {spec.with_suffix('.mobileconfig').as_posix()}"
    if result.password_variables:
        out.info(f"next: export {' '.join(result.password_variables)}, then {step}")
    else:
        out.info(f"next: {step}")
    return 0


def _flags(args: argparse.Namespace) -> list[str]:
    """The options given, as the spec's first comment repeats the command."""
    flags: list[str] = []
    if args.output != "profile.yaml":
        flags += ["-o", args.output]
    if args.identifier:
        flags += ["--identifier", args.identifier]
    if args.name:
        flags += ["--name", json.dumps(args.name) if " " in args.name else args.name]
    if args.at:
        flags += ["--at", args.at]
    return flags
