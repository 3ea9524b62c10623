"""Where each payload and key works: MC401 (payload unsupported on a platform), MC402 (keys a
platform ignores) and MC403 (needs supervision), read from each payload model's ``SUPPORT`` table.

Every payload a service compiles passes through :func:`platform_findings` (the compile context
does it in :meth:`~mobileconfig.services.base.CompileContext.payload`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from mobileconfig.errors import Location
from mobileconfig.findings import Finding, make_finding
from mobileconfig.payloads.accounts import MailPayload
from mobileconfig.payloads.base import Payload

__all__ = ["platform_findings"]

_COMMON_KEYS = frozenset(
    {
        "PayloadType",
        "PayloadVersion",
        "PayloadIdentifier",
        "PayloadUUID",
        "PayloadDisplayName",
        "PayloadDescription",
        "PayloadOrganization",
    }
)

_NOTES: dict[tuple[str, str], str] = {
    (MailPayload.PAYLOAD_TYPE, "SMIME"): (
        "macOS Mail takes no S/MIME settings from a profile: it signs and encrypts with the "
        "identity in the keychain whose certificate carries the address, so install the "
        "identity and leave S/MIME to the user there"
    ),
}


@functools.lru_cache(maxsize=512)
def _support(text: str) -> dict[str, bool]:  # callers only read the result
    """'iOS* macOS' -> {'iOS': True (needs supervision), 'macOS': False}."""
    return {p.rstrip("*"): p.endswith("*") for p in text.split()}


def _lookup(table: Mapping[str, str], path: str) -> dict[str, bool]:
    while True:
        if path in table:
            return _support(table[path])
        if not path:
            return {}
        path = path.rpartition(".")[0]


def _present(value: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if not prefix and key in _COMMON_KEYS:
                continue
            path = f"{prefix}{key}"
            out.append(path)
            out.extend(_present(item, path + "."))
    elif isinstance(value, list):
        for item in value:
            for p in _present(item, prefix):
                if p not in out:
                    out.append(p)
    return out


def platform_findings(
    payload: Payload, platforms: Sequence[str], *, where: str, location: Location | None = None
) -> list[Finding]:
    """MC401 (payload unsupported), MC402 (keys ignored) and MC403 (needs supervision) for
    ``payload`` on each of ``platforms``, from the model's ``SUPPORT`` table."""
    table: Mapping[str, str] | None = getattr(type(payload), "SUPPORT", None)
    if not table:
        return []
    ptype = payload.payload_type
    base = _support(table.get("", ""))
    keys = _present(payload.to_plist())
    found: list[Finding] = []
    listed = " ".join(p + ("*" if s else "") for p, s in base.items())
    for os_ in platforms:
        if os_ not in base:
            found.append(
                make_finding(
                    "MC401",
                    f"{where}: {ptype} is not supported on {os_} "
                    f"(Apple's schema: {listed or 'none'}; * needs supervision); "
                    "the device refuses or ignores it",
                    location=location,
                    fix=f"Remove {os_} from platforms, or ship this payload in a profile for the "
                    "platforms that support it.",
                )
            )
            continue
        if base[os_]:
            found.append(
                make_finding(
                    "MC403",
                    f"{where}: {ptype} takes effect on {os_} only on supervised devices",
                    location=location,
                )
            )
        ignored: list[str] = []
        supervised: list[str] = []
        for key in keys:
            support = _lookup(table, key)
            if os_ not in support:
                ignored.append(key)
            elif support[os_] and not base[os_]:
                supervised.append(key)
        if ignored:
            note = next(
                (
                    text
                    for (pt, prefix), text in _NOTES.items()
                    if pt == ptype and os_ == "macOS" and any(k.startswith(prefix) for k in ignored)
                ),
                None,
            )
            found.append(
                make_finding(
                    "MC402",
                    f"{where}: {os_} ignores {', '.join(ignored)} ({ptype})"
                    + (f": {note}" if note else ""),
                    location=location,
                )
            )
        if supervised:
            found.append(
                make_finding(
                    "MC403",
                    f"{where}: {', '.join(supervised)} ({ptype}) "
                    f"take{'s' if len(supervised) == 1 else ''} effect on {os_} only on "
                    "supervised devices",
                    location=location,
                )
            )
    return found
