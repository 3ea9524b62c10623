"""``mobileconfig unsign``: a signed profile's content, unsigned, and whether the signature
was valid."""

from __future__ import annotations

import argparse

from mobileconfig.cli.common import Commands, Out, add_trust_options, anchors, parse_at

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "unsign",
        run,
        help="remove a profile's signature",
        description="Write a signed profile's content unsigned (for an MDM that signs "
        "itself), and say whether the signature was valid.",
    )
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("-o", "--output", metavar="OUT", help="output file, or - for standard output")
    add_trust_options(p, at_help="verification time, ISO 8601 (default: now)")


def run(args: argparse.Namespace, out: Out) -> int:
    from mobileconfig.cms import verify
    from mobileconfig.errors import ProfileError
    from mobileconfig.output import plist_holds_secret, write_output
    from mobileconfig.reader import read_profile_file

    loaded = read_profile_file(args.profile)
    if loaded.signed is None:
        raise ProfileError(f"{args.profile}: the profile is not signed")
    result = verify(loaded.signed, anchors=anchors(args), at=parse_at(args.at))
    state = "valid" if result.valid else "INVALID"
    out.info(f"{args.profile}: signature {state} ({result.status}: {result.reason})")
    write_output(args.output, loaded.content, private=plist_holds_secret(loaded.content))
    if args.output not in (None, "-"):
        out.info(f"wrote {args.output}: the signed content, {len(loaded.content)} bytes")
    return 0 if result.valid else 1
