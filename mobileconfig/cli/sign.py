"""``mobileconfig sign``: sign a profile, the signer's intermediates included."""

from __future__ import annotations

import argparse
import datetime as dt

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
    from mobileconfig.output import plist_holds_secret, write_output
    from mobileconfig.reader import profile_certificates, read_profile_file
    from mobileconfig.signers import prepare_signer

    loaded = read_profile_file(args.profile)
    signer = signer_from_args(args)
    assert signer is not None  # --sign-with is required here
    # The chain: what was given with the signer, completed from the profile's certificates.
    bundle, _ = profile_certificates(loaded)
    signer, findings = signer.complete_chain(
        bundle, allow_incomplete=args.allow_incomplete_signer_chain
    )
    at = parse_at(args.at) or dt.datetime.now(dt.UTC)
    profile = loaded.profile
    findings += prepare_signer(signer, at, profile.removal_date, profile.duration_until_removal)
    for finding in findings:
        (out.info if finding.severity.value == "info" else out.warn)(finding.format())
    if any(f.blocks for f in findings):
        out.error(f"{signer.source}: cannot sign with this certificate; nothing written")
        return 1
    if loaded.signed is not None:
        out.info(f"{args.profile} was already signed; signing its content again")
    # The signed file holds the content in clear: as secret-bearing as the content is.
    signed = sign(loaded.content, signer, digest=args.digest)
    write_output(args.output, signed, private=plist_holds_secret(loaded.content))
    if args.output not in (None, "-"):
        out.info(f"wrote {args.output}: signed by {signer.certificate.subject_text}")
    return 0
