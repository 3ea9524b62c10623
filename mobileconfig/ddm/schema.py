"""Check declarations and credential documents against Apple's declarative schema.

The schema data is :mod:`mobileconfig.ddm.apple_schema`, generated from Apple's YAML.
Every check returns findings and never raises:

- MC801: a key Apple requires is missing, a value has the wrong JSON type, or a value is
  not among the values Apple allows (including an asset's ``ContentType``);
- MC802: a key Apple does not define for the type (the device reports
  ``Error.UnknownPayloadKeys``);
- MC803: a reference (a key with ``assettypes``, or an activation's configuration list)
  that names no declaration of the output, or one of a type the key does not take;
- MC804: a ``DataURL`` or ``ProfileURL`` that is not ``https://``;
- MC805: an ``Identifier`` or ``ServerToken`` over 64 octets, or empty;
- MC806: a declaration or key a listed platform does not have, or has only from a version
  after the spec's minimum.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from mobileconfig.ddm.apple_schema import CREDENTIALS, DECLARATION_BASE, DECLARATIONS
from mobileconfig.errors import Location
from mobileconfig.findings import Finding, make_finding

__all__ = [
    "MAX_OCTETS",
    "PlatformMinimums",
    "check_credential",
    "check_declaration",
    "check_references",
    "references",
    "version_tuple",
]

#: Apple: Identifier and ServerToken "should not exceed 64 octets".
MAX_OCTETS = 64

#: {platform: the oldest version the output must serve, or None when not given}.
PlatformMinimums = Mapping[str, str | None]

_URL_KEYS = {"DataURL", "ProfileURL"}
_VERSION = re.compile(r"^\d+(\.\d+)*$")


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")) if _VERSION.match(text) else (0,)


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return {
        "string": isinstance(value, str),
        "integer": isinstance(value, int),
        "real": isinstance(value, int | float),
        "data": isinstance(value, str),  # base64 text in JSON
        "date": isinstance(value, str),
        "array": isinstance(value, list),
        "dictionary": isinstance(value, dict),
    }.get(kind, False)


class _Walker:
    def __init__(self, label: str, location: Location | None, platforms: PlatformMinimums):
        self.label = label
        self.location = location
        self.platforms = platforms
        self.findings: list[Finding] = []

    def bad(self, where: str, what: str) -> None:
        self.findings.append(
            make_finding("MC801", f"{self.label}: {where}: {what}", location=self.location)
        )

    def dictionary(
        self, value: Mapping[str, Any], keys: Sequence[Mapping[str, Any]], at: str
    ) -> None:
        known = {k["key"]: k for k in keys}
        for spec in keys:
            if spec.get("required") and spec["key"] not in value:
                self.bad(f"{at}{spec['key']}", "missing (Apple requires it)")
        for name, item in value.items():
            found = known.get(name)
            if found is None:
                self.findings.append(
                    make_finding(
                        "MC802",
                        f"{self.label}: {at}{name}: not a key Apple defines here",
                        location=self.location,
                    )
                )
                continue
            self.value(item, found, f"{at}{name}")

    def value(self, value: Any, spec: Mapping[str, Any], where: str) -> None:
        kind = spec["type"]
        if not _type_ok(value, kind):
            self.bad(where, f"{type(value).__name__} where Apple wants {kind}")
            return
        if "range" in spec and value not in spec["range"]:
            allowed = ", ".join(repr(v) for v in spec["range"])
            self.bad(where, f"{value!r} is not one of Apple's values ({allowed})")
        if spec["key"] in _URL_KEYS and not str(value).lower().startswith("https://"):
            self.findings.append(
                make_finding(
                    "MC804",
                    f"{self.label}: {where}: {value!r} is not an https:// URL",
                    location=self.location,
                )
            )
        self.gate(spec.get("os"), where)
        if kind == "dictionary" and "keys" in spec:
            self.dictionary(value, spec["keys"], f"{where}.")
            ctype = value.get("ContentType")
            if "content_types" in spec and ctype is not None and ctype not in spec["content_types"]:
                allowed = ", ".join(spec["content_types"])
                self.bad(f"{where}.ContentType", f"{ctype!r}; this asset takes {allowed}")
        elif kind == "array" and "items" in spec:
            item = spec["items"]
            low, high = item.get("repeat", (0, 10**9))
            if not low <= len(value) <= high:
                self.bad(where, f"{len(value)} items; Apple wants {low} to {high}")
            for n, entry in enumerate(value):
                self.value(entry, item, f"{where}[{n}]")

    def gate(self, os: Mapping[str, str | None] | None, where: str) -> None:
        """MC806 for each listed platform that lacks this declaration or key, or has it
        only from a version after the spec's minimum."""
        if not os:
            return
        for platform, minimum in self.platforms.items():
            if platform not in os:
                continue
            introduced = os[platform]
            what = f"{self.label}: {where}" if where else self.label
            if introduced is None:
                self.findings.append(
                    make_finding(
                        "MC806",
                        f"{what}: not available on {platform}",
                        location=self.location,
                    )
                )
            elif minimum is not None and version_tuple(minimum) < version_tuple(introduced):
                self.findings.append(
                    make_finding(
                        "MC806",
                        f"{what}: needs {platform} {introduced}; the spec serves {platform} "
                        f"{minimum} and later",
                        location=self.location,
                    )
                )


def check_declaration(
    declaration: Mapping[str, Any],
    *,
    platforms: PlatformMinimums | None = None,
    location: Location | None = None,
) -> list[Finding]:
    """Type, Identifier, ServerToken and Payload of one declaration, against Apple's schema
    (references are checked across declarations by :func:`check_references`)."""
    label = (
        f"declaration {str(declaration.get('Identifier', '?'))!r} "
        f"({declaration.get('Type', 'no Type')!s})"
    )
    walker = _Walker(label, location, platforms or {})
    walker.dictionary(declaration, DECLARATION_BASE["keys"], "")
    for key in ("Identifier", "ServerToken"):
        value = declaration.get(key)
        if isinstance(value, str) and not 0 < len(value.encode("utf-8")) <= MAX_OCTETS:
            walker.findings.append(
                make_finding(
                    "MC805",
                    f"{label}: {key} is {len(value.encode('utf-8'))} octets; Apple allows 1 to "
                    f"{MAX_OCTETS}",
                    location=location,
                )
            )
    dtype = declaration.get("Type")
    entry = DECLARATIONS.get(dtype) if isinstance(dtype, str) else None
    if entry is None:
        walker.bad("Type", f"{dtype!r} is not a declaration type mobileconfig knows")
        return walker.findings
    walker.gate(entry["os"], "")
    payload = declaration.get("Payload")
    if isinstance(payload, dict):
        walker.dictionary(payload, entry["keys"], "Payload.")
    return walker.findings


def check_credential(
    document: Any,
    credential_type: str,
    *,
    label: str,
    location: Location | None = None,
) -> list[Finding]:
    """A credential document (the JSON an identity, SCEP, ACME or user-password asset
    points at) against Apple's schema for ``credential_type``."""
    walker = _Walker(label, location, {})
    if not isinstance(document, dict):
        walker.bad("document", "not a JSON object")
        return walker.findings
    walker.dictionary(document, CREDENTIALS[credential_type]["keys"], "")
    return walker.findings


def _reference_keys(
    value: Any, keys: Sequence[Mapping[str, Any]], at: str
) -> list[tuple[str, str, list[str]]]:
    """(path, identifier, asset types allowed) for each reference key set in ``value``."""
    out: list[tuple[str, str, list[str]]] = []
    if not isinstance(value, dict):
        return out
    for spec in keys:
        item = value.get(spec["key"])
        if item is None:
            continue
        where = f"{at}{spec['key']}"
        if "assettypes" in spec and isinstance(item, str):
            out.append((where, item, list(spec["assettypes"])))
        if spec["type"] == "dictionary" and "keys" in spec:
            out.extend(_reference_keys(item, spec["keys"], f"{where}."))
    return out


def references(declaration: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """Every reference a declaration makes: (key path, identifier, types it may name).
    An activation's ``StandardConfigurations`` entries may name any configuration."""
    dtype = declaration.get("Type")
    payload = declaration.get("Payload")
    entry = DECLARATIONS.get(dtype) if isinstance(dtype, str) else None
    if entry is None or not isinstance(payload, dict):
        return []
    found = _reference_keys(payload, entry["keys"], "Payload.")
    if dtype == "com.apple.activation.simple":
        for n, ident in enumerate(payload.get("StandardConfigurations") or []):
            if isinstance(ident, str):
                found.append((f"Payload.StandardConfigurations[{n}]", ident, ["configuration"]))
    return found


def check_references(
    declarations: Sequence[Mapping[str, Any]], *, location_of: Mapping[str, Location] | None = None
) -> list[Finding]:
    """MC803 for every reference that names no declaration of the set, or one of a type
    the key does not take; MC805 for an identifier used twice."""
    findings: list[Finding] = []
    types: dict[str, str] = {}
    for d in declarations:
        ident, dtype = d.get("Identifier"), d.get("Type")
        if not isinstance(ident, str) or not isinstance(dtype, str):
            continue
        if ident in types:
            findings.append(
                make_finding(
                    "MC805",
                    f"declaration {ident!r} is used twice ({types[ident]} and {dtype})",
                    location=(location_of or {}).get(ident),
                )
            )
        types[ident] = dtype
    for d in declarations:
        ident = str(d.get("Identifier", "?"))
        where = (location_of or {}).get(ident)
        for path, target, allowed in references(d):
            found = types.get(target)
            ok = found is not None and (
                found in allowed
                or (allowed == ["configuration"] and found.startswith("com.apple.configuration."))
            )
            if ok:
                continue
            what = (
                f"names {target!r}, which is not a declaration of the output"
                if found is None
                else f"names {target!r}, a {found}; it takes {', '.join(allowed)}"
            )
            findings.append(
                make_finding("MC803", f"declaration {ident!r}: {path} {what}", location=where)
            )
    return findings
