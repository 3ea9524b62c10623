"""``mobileconfig verify``: a signed profile's signature and its signer's chain."""

from __future__ import annotations

import argparse

from mobileconfig.cli.common import Commands, Out, add_trust_options, anchors, parse_at

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "verify",
        run,
        help="verify a signed profile",
        description="Verify a signed profile's signature and its signer's chain. Exit 0 when "
        "valid and trusted, 1 otherwise.",
    )
    p.add_argument("profile", metavar="PROFILE")
    add_trust_options(p, at_help="verification time, ISO 8601 (default: now)")
    p.add_argument("--format", choices=["text", "json"], default="text")


def run(args: argparse.Namespace, out: Out) -> int:
    from mobileconfig.cms import verify
    from mobileconfig.errors import ProfileError
    from mobileconfig.findings import Report
    from mobileconfig.inspection import certificate_json, verification_json
    from mobileconfig.reader import read_profile_file
    from mobileconfig.text import printable

    loaded = read_profile_file(args.profile)
    if loaded.signed is None:
        raise ProfileError(
            f"{args.profile}: the profile is not signed, so there is nothing to verify "
            "(mobileconfig sign signs it)"
        )
    result = verify(loaded.signed, anchors=anchors(args), at=parse_at(args.at))
    if args.format == "json":
        report = Report(list(result.findings))
        data = {"file": args.profile, **verification_json(result), **report.to_json()}
        out.json(data)
    else:
        out.text(f"{printable(args.profile)}: {result.status}: {printable(result.reason)}")
        if result.signer is not None:
            signer = certificate_json(result.signer)
            out.text(
                f"  signer: {printable(signer['subject'])} "
                f"(until {printable(str(signer['not_after']))})"
            )
        out.text(
            f"  digest: {printable(str(result.digest_algorithm))}, "
            f"signature: {printable(str(result.signature_algorithm))}"
        )
        for finding in sorted(result.findings, key=lambda f: f.sort_key()):
            out.text("  " + finding.format().replace("\n", "\n  "))
    return 0 if result.status == "trusted" else 1
