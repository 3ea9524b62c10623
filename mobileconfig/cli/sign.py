"""``mobileconfig sign``: sign a profile, the signer's intermediates included."""

from __future__ import annotations

import argparse
import sys

from mobileconfig.cli.common import Commands, Out, add_signer_options, parse_at, signer_from_args

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "sign",
        run,
        help="sign a profile",
        description="Sign a profile: SHA-256 by default, the signer's intermediates included.",
    )
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("-o", "--output", metavar="OUT", help="output file, or - for standard output")
    p.add_argument("--digest", choices=["sha256", "sha384", "sha512"], default="sha256")
    p.add_argument("--at", metavar="TIME", help="check the signer's validity at this time")
    add_signer_options(p, required=True)


def run(args: argparse.Namespace, out: Out) -> int:
    from mobileconfig.cms import sign
    from mobileconfig.output import write_output
    from mobileconfig.reader import read_profile_file

    loaded = read_profile_file(args.profile)
    signer = signer_from_args(args)
    assert signer is not None  # --sign-with is required here
    findings = signer.check(parse_at(args.at))
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
