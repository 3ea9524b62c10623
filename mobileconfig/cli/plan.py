"""``mobileconfig plan OLD NEW``: what changes on devices if NEW is shipped.

The comparison is :func:`mobileconfig.planning.plan`; this module renders it. Text reads
like a review: what devices gain, lose and change, then the findings. Every string that
comes from a profile is made terminal-safe (:func:`mobileconfig.text.printable`) where its
line is built. Colour only on a terminal, and never with ``NO_COLOR`` set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from mobileconfig.cli.common import (
    Commands,
    Out,
    add_decrypt_options,
    add_variable_options,
    decrypt_identity_from_args,
    parse_at,
    variables,
)

if TYPE_CHECKING:
    from mobileconfig.planning import Change, KeyChange, Plan, ProfileSide

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    p = commands.add(
        "plan",
        run,
        help="show what changes on devices if a new version ships",
        description="Compare the profile devices hold (OLD) with the one about to ship (NEW), "
        "as devices see them: what they gain, lose and change, and the consequences (a new "
        "identifier, a removed certificate, a deleted account, an S/MIME key lost). OLD and "
        "NEW are each a spec (.yaml) or a built profile. Exit 0 when compared with no error, "
        "1 on an error finding (or any change, with --exit-code), 2 on unreadable input.",
    )
    p.add_argument("old", metavar="OLD", help="the spec or profile devices hold now")
    p.add_argument("new", metavar="NEW", help="the spec or profile about to ship")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--at", metavar="TIME", help="check NEW at this time, ISO 8601 (default: now)")
    p.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when anything changes (as git diff --exit-code does)",
    )
    add_variable_options(p)
    add_decrypt_options(p.add_argument_group("encrypted profiles"))


def run(args: argparse.Namespace, out: Out) -> int:
    from mobileconfig.planning import plan

    decrypt = decrypt_identity_from_args(args)
    result = plan(
        args.old,
        args.new,
        at=parse_at(args.at),
        variables=variables(args),
        decrypt_with=decrypt,
    )
    if args.format == "json":
        out.json(result.to_json())
    elif _colour(sys.stdout):
        # Out would escape the colour codes themselves. Every string from a profile in
        # this text was made printable as its line was built; the ESCs are our own.
        sys.stdout.write(render(result, colour=True, quiet=out.quiet) + "\n")
    else:
        out.text(render(result, quiet=out.quiet))
    if result.has_errors():
        return 1
    return 1 if args.exit_code and result.changed else 0


# -- text -----------------------------------------------------------------------------------


def _safe(text: object) -> str:
    """``text`` fit for a terminal: control, bidi and other format characters written as
    escapes (see :func:`mobileconfig.text.printable`)."""
    from mobileconfig.text import printable

    return printable(str(text))


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


#: ANSI colours: what devices gain green, lose red, change yellow; errors bold red.
_COLOURS = {"add": "32", "remove": "31", "modify": "33", "error": "31;1", "warning": "33"}


class _Paint:
    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, what: str, text: str) -> str:
        code = _COLOURS.get(what)
        return f"\x1b[{code}m{text}\x1b[0m" if self.on and code else text


_SECTIONS = (
    ("add", "+", "Devices gain"),
    ("remove", "-", "Devices lose"),
    ("modify", "~", "Devices change"),
)


def render(result: Plan, *, colour: bool = False, quiet: bool = False) -> str:
    """The plan as a review: lines of text, every untrusted string escaped."""
    paint = _Paint(colour)
    lines: list[str] = []

    def line(text: str = "") -> None:
        lines.append(text)

    old, new = result.old, result.new
    line(f"plan: {_safe(old.source)} -> {_safe(new.source)}")
    if old.identifier == new.identifier:
        how = "devices replace it"
    else:
        how = f"NEW has another identifier than OLD ({_safe(old.identifier)})"
    line(f"profile: {_safe(new.identifier)} ({_safe(new.name or 'no name')}): {how}")
    line(f"signing: {_signing(old)} -> {_signing(new)}")
    if not result.changes:
        line()
        line("No change: devices keep what they have.")
    for action, mark, title in _SECTIONS:
        changes = [c for c in result.changes if c.action == action]
        if not changes:
            continue
        line()
        line(paint(action, f"{title} ({len(changes)}):"))
        for change in changes:
            for text in _change_lines(change, mark):
                line(paint(action, text) if text.startswith(f"  {mark}") else text)
    shown = [f for f in result.findings if not (quiet and f.severity.value == "info")]
    if shown:
        line()
        line("findings:")
        for finding in shown:
            first, _, fix = finding.format().partition("\n")
            severity = finding.severity.value
            line("  " + (paint(severity, first) if severity in ("error", "warning") else first))
            if fix:
                line("  " + fix)
    summary = result.to_json()["summary"]
    line()
    line(
        f"plan: {summary['add']} to gain, {summary['remove']} to lose, "
        f"{summary['modify']} to change; {_totals(summary)}"
    )
    return "\n".join(lines)


def _signing(side: ProfileSide) -> str:
    if not side.signed:
        return "unsigned"
    if side.signer is None:
        return "signed"
    return f"signed by '{_safe(side.signer.name or side.signer.subject)}'"


def _change_lines(change: Change, mark: str) -> list[str]:
    name = change.name or change.payload_identifier or change.payload_type
    lines = [f"  {mark} {_safe(name)}  [{_safe(change.payload_type)}]"]
    if change.payload_type != "Configuration" and change.payload_identifier:
        lines.append(f"      id: {_safe(change.payload_identifier)}")
    cert = change.certificate
    if cert is not None:
        what = "certificate" if "security.pkcs12" not in change.payload_type else "identity"
        lines.append(
            f"      {what}: '{_safe(cert.name or cert.subject)}' (sha256:{cert.sha256[:16]})"
        )
    lines.extend(f"      {_key_line(k)}" for k in change.keys)
    return lines


def _key_line(key: KeyChange) -> str:
    name = _safe(key.key)
    if key.secret:
        return f"{name}: {key.change} (secret, not shown)"
    if key.change == "added":
        return f"{name}: added {_value(key.new)}"
    if key.change == "removed":
        return f"{name}: removed (was {_value(key.old)})"
    return f"{name}: {_value(key.old)} -> {_value(key.new)}"


def _value(value: Any) -> str:
    if isinstance(value, str) and value.startswith("-> "):
        text = value  # a reference to another payload, by its name
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    text = _safe(text)
    return text if len(text) <= 120 else text[:117] + "..."


def _totals(summary: dict[str, Any]) -> str:
    from mobileconfig.findings import summary_text

    return summary_text(summary)
