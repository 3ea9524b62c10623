"""``mobileconfig probe``: check a live TLS server's certificate chain, as a device would.

The probing is :mod:`mobileconfig.probe`; this module reads the options, picks the
servers, and prints each :class:`~mobileconfig.probe.ProbeResult`.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mobileconfig.cli.common import (
    Commands,
    Out,
    add_variable_options,
    parse_at,
    print_report,
    variables,
)
from mobileconfig.text import printable

if TYPE_CHECKING:
    from mobileconfig.pki.certs import Certificate
    from mobileconfig.probe import ProbeResult, ProbeTarget

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "probe",
        run,
        help="check a live TLS server's certificate chain",
        description="Connect to a server (or every server a spec names), read the certificate "
        "chain it sends, and check it as an Apple device would: the name, the chain to the "
        "profile's roots, the intermediates the server sends, the TLS version. Exit 0 when "
        "there is no error, 1 when there are errors, 2 when a server cannot be reached.",
    )
    p.add_argument(
        "target",
        nargs="?",
        metavar="HOST[:PORT]",
        help="the server (port 443 by default, or the ports the spec gives for HOST)",
    )
    p.add_argument(
        "--spec",
        metavar="SPEC",
        help="profile.yaml: its certificates are trusted; "
        "without HOST, probe every server it names",
    )
    p.add_argument(
        "--ca",
        action="append",
        metavar="FILE",
        help="more certificates the devices have (roots, intermediates; repeatable)",
    )
    p.add_argument(
        "--public-roots",
        action="store_true",
        help="trust the public roots too (certifi); the default when neither --spec "
        "nor --ca is given",
    )
    p.add_argument(
        "--starttls",
        choices=["auto", "imap", "smtp", "pop3", "none"],
        default="auto",
        help="plain-text upgrade first (auto: IMAP on 143, SMTP on 25 and 587, POP3 on "
        "110, TLS from the start elsewhere)",
    )
    p.add_argument("--at", metavar="TIME", help="validation time, ISO 8601 (default: now)")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds for each server, connection to handshake (default 10)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    add_variable_options(p)


def run(args: argparse.Namespace, out: Out) -> int:
    """0 no error, 1 error findings, 2 a server could not be probed."""
    from mobileconfig.pki.certs import load_certificate_file
    from mobileconfig.probe import ProbeError, ProbeTarget, parse_target, probe, spec_context

    if not args.target and not args.spec:
        raise ProbeError("give HOST[:PORT] to probe, or --spec profile.yaml")
    if args.timeout <= 0:
        raise ProbeError(f"--timeout must be positive, not {args.timeout:g}")
    at = parse_at(args.at)
    bundle: list[Certificate] = []
    targets: list[ProbeTarget] = []
    skipped: list[tuple[str, str]] = []
    window = timedelta(days=30)
    strict = bool(args.strict)
    accept: list[dict[str, str]] = []
    if args.spec:
        ctx = spec_context(args.spec, variables(args))
        bundle, targets, skipped = ctx.bundle, ctx.targets, ctx.skipped
        at = at or ctx.at
        window, strict, accept = ctx.expiry_warning, strict or ctx.strict, ctx.accept
    for path in args.ca or []:
        bundle.extend(load_certificate_file(path))
    if args.target:
        host, port = parse_target(args.target)
        named = [
            t
            for t in targets
            if t.host.lower() == host.lower() and (port is None or t.port == port)
        ]
        targets = named or [ProbeTarget(host, port or 443)]
        skipped = []
    if args.starttls != "auto":
        targets = [replace(t, starttls=args.starttls) for t in targets]
    public = bool(args.public_roots) or (not args.spec and not args.ca)
    if public and not args.public_roots:
        out.info("no --spec or --ca given: checking against the public roots (certifi)")
    if args.spec and not targets:
        out.info(f"{args.spec}: names no TLS server to probe")

    results: list[dict[str, Any]] = []
    worst = 0
    printed = False
    for setting, why in skipped:
        out.info(f"skipped {setting}: {why}")
    for t in targets:
        try:
            result = probe(
                t.host,
                t.port,
                starttls=t.starttls,
                timeout=args.timeout,
                bundle=bundle,
                public_roots=public,
                at=at,
                expiry_warning=window,
                location=t.location,
                setting=t.setting or "the host in the profile",
            )
        except ProbeError as exc:
            if args.verbose:
                raise
            worst = 2
            if args.format == "json":
                results.append({"host": t.host, "port": t.port, "error": exc.diagnostics()})
            else:
                out.error(exc.diagnostics())
            continue
        if accept:
            result.findings.accept(accept)
        if result.findings.has_errors(strict=strict):
            worst = max(worst, 1)
        if args.format == "json":
            results.append({**({"setting": t.setting} if t.setting else {}), **result.to_json()})
        else:
            if printed:
                out.text()
            _print_text(result, t, out)
            printed = True
    if args.format == "json":
        out.json(
            {
                "probes": results,
                "skipped": [{"setting": s, "reason": why} for s, why in skipped],
            }
        )
    return worst


def _print_text(result: ProbeResult, target: ProbeTarget, out: Out) -> None:
    via = f" ({target.setting})" if target.setting else ""
    out.text(
        printable(f"{result.target}{via}: {result.protocol}, {result.tls_version}, {result.cipher}")
    )
    out.text(f"  chain sent ({len(result.chain)}):")
    for i, cert in enumerate(result.chain):
        out.text(
            f"    {i}. '{printable(cert.subject_text)}' sha256:{cert.sha256[:16]} expires "
            f"{cert.not_after:%Y-%m-%d}, issued by '{printable(cert.issuer_text)}'"
        )
    print_report(result.findings, "text", out, to_stdout=True)
