"""``mobileconfig inspect``: what a profile installs, who signed it, and what is wrong."""

from __future__ import annotations

import argparse
import json

from mobileconfig.cli.common import Commands, Out, anchors, parse_at, secret_from_args

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "inspect",
        run,
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


def run(args: argparse.Namespace, out: Out) -> int:
    from mobileconfig.inspection import inspect_profile, render_text
    from mobileconfig.reader import read_profile_file

    loaded = read_profile_file(args.profile)
    decrypt = None
    if args.decrypt_with:
        from mobileconfig.signing import load_signer

        decrypt = load_signer(
            args.decrypt_with,
            key=args.decrypt_key,
            password=secret_from_args(
                args.decrypt_password_env, args.decrypt_password_file, "password"
            ),
        )
    data = inspect_profile(
        loaded, anchors=anchors(args), at=parse_at(args.at), decrypt_with=decrypt
    )
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
    else:
        print(render_text(data))
    return 1 if data["summary"]["errors"] else 0
