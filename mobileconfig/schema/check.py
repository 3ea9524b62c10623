"""Check a profile, as plain plist data, against Apple's schema: one verdict for every path.

:func:`check_profile` takes what ``plistlib`` (or :func:`mobileconfig.render.loads`) returns
for a whole profile and gives :class:`~mobileconfig.findings.Finding` objects; it never
raises. The same function judges our own build's output and a profile from anywhere.

- MC004: a reference key (``PayloadCertificateUUID``, ``PayloadCertificateAnchorUUID``
  entries, ``SMIME...CertificateUUID``, the MDM pinning lists...) names no payload of the
  profile.
- MC005 / MC006: a PayloadUUID / PayloadIdentifier used twice.
- MC007 (warning): a key Apple does not define for the payload type.
- MC008: a value of the wrong plist type (a string ``"true"`` where a Boolean belongs is
  not accepted), outside the allowed values or range, or a PayloadVersion other than 1.
- MC009: a required key missing; Apple's conditional requirements say their condition.
- MC010 (warning): a top-level PayloadType the schema does not know.
- MC011 / MC012 / MC013: given minimum platform versions, a payload or key introduced after
  the minimum, deprecated by it, or removed by it.
- MC014 (info): a payload type the bundled schema does not describe (only its common keys
  are checked).
- With ``platform_support=True``, MC401 / MC402 / MC403 as the spec's services give them:
  a payload or key not supported on a listed platform, or needing supervision there.

Every message names the payload (index, type, display name, identifier) and the key path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mobileconfig.errors import Location
from mobileconfig.findings import Finding, Severity, make_finding, printable
from mobileconfig.schema import (
    common_keys,
    is_reference_name,
    merge_os,
    payload_schema,
    top_level_schema,
    top_level_types,
    version_key,
)

__all__ = ["check_payload", "check_profile", "describe_payload"]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "real": (float, int),
    "boolean": (bool,),
    "date": (dt.datetime,),
    "data": (bytes, bytearray),
    "array": (list,),
    "dictionary": (dict,),
}
_PLIST_NAMES = {
    "string": "<string>",
    "integer": "<integer>",
    "real": "<real>",
    "boolean": "<true/> or <false/>",
    "date": "<date>",
    "data": "<data>",
    "array": "<array>",
    "dictionary": "<dict>",
}
#: Payload types a certificate reference may point at: certificates and identities.
_CERTIFICATE_TARGETS = re.compile(r"^com\.apple\.(security\.|ADCertificate\.)")
_MAX_FINDINGS_PER_PAYLOAD = 50


def _plist_type(value: Any) -> str:
    if isinstance(value, bool):
        return "<true/>" if value else "<false/>"
    for name, types in _PY_TYPES.items():
        if name != "real" and isinstance(value, types):
            return _PLIST_NAMES[name]
    if isinstance(value, float):
        return "<real>"
    return type(value).__name__


def _shown(value: Any, secret: bool = False) -> str:
    if secret:
        return "(a secret value)"
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict | list):
        return _plist_type(value)
    text = repr(value)
    return printable(text if len(text) <= 60 else text[:57] + "...")


def _value_of(value: Any, secret: bool) -> str:
    """`` 'true'`` after a type's name, or nothing when the type says it all."""
    return "" if isinstance(value, dict | list) else f" {_shown(value, secret)}"


def describe_payload(payload: Mapping[str, Any], index: int | None) -> str:
    """``payload 2 com.apple.wifi.managed 'Corp Wi-Fi' (com.example.wifi)``: how a finding
    names a payload, so a user can find it in the file."""
    where = "profile" if index is None else f"payload {index}"
    ptype = payload.get("PayloadType")
    parts = [where]
    if isinstance(ptype, str) and ptype:
        parts.append(ptype)
    name = payload.get("PayloadDisplayName")
    if isinstance(name, str) and name:
        parts.append(repr(name))
    ident = payload.get("PayloadIdentifier")
    if isinstance(ident, str) and ident:
        parts.append(f"({ident})")
    return printable(" ".join(parts))


def _path(parent: str, key: Any) -> str:
    return f"{parent}.{key}" if parent else str(key)


@dataclass
class _Context:
    """What one payload's walk needs: where it is, who it is, what to report into."""

    label: str
    location: Location | None
    platforms: Mapping[str, str]
    platform_support: bool
    findings: list[Finding]
    references: list[tuple[str, str]] = field(default_factory=list)
    # platform -> [(path, detail)] collected during the walk, reported once per payload
    introduced: dict[str, list[str]] = field(default_factory=dict)
    deprecated: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    unsupported: dict[str, list[str]] = field(default_factory=dict)
    supervised: dict[str, list[str]] = field(default_factory=dict)

    def reference(self, found: tuple[str, str]) -> None:
        if len(self.references) < _MAX_FINDINGS_PER_PAYLOAD:
            self.references.append(found)

    def add(
        self, code: str, message: str, *, fix: str | None = None, severity: Severity | None = None
    ) -> None:
        if len(self.findings) >= _MAX_FINDINGS_PER_PAYLOAD:
            return
        self.findings.append(
            make_finding(
                code,
                f"{self.label}: {message}",
                location=self.location,
                fix=fix,
                severity=severity,
            )
        )


def _holds(value: dict[str, Any], test: Sequence[Any]) -> bool:
    op, key = test[0], test[1]
    if op == "present":
        return key in value
    if op == "absent":
        return key not in value
    allowed = test[2]
    present = key in value and any(value[key] == v and type(value[key]) is type(v) for v in allowed)
    return present if op == "in" else not present


def _check_value(
    value: Any,
    node: Mapping[str, Any],
    path: str,
    ctx: _Context,
    os_parent: Mapping[str, Mapping[str, Any]] | None,
) -> None:
    kind = node.get("type", "any")
    secret = bool(node.get("secret"))
    if kind != "any":
        allowed = _PY_TYPES[kind]
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
        if not ok and node.get("or_list") and isinstance(value, list):
            ok = all(isinstance(v, str) for v in value)
            if ok:
                return
        if not ok:
            hint = ""
            if (
                kind == "boolean"
                and isinstance(value, str)
                and value.lower() in ("true", "false", "yes", "no", "1", "0")
            ):
                hint = f"; write <{'true' if value.lower() in ('true', 'yes', '1') else 'false'}/>"
            elif kind == "boolean" and isinstance(value, int) and not isinstance(value, bool):
                hint = "; write <true/> or <false/>"
            elif kind == "integer" and isinstance(value, bool):
                hint = f"; write <integer>{int(value)}</integer>"
            elif kind == "integer" and isinstance(value, str) and value.strip().isdigit():
                hint = f"; write <integer>{value.strip()}</integer>"
            ctx.add(
                "MC008",
                f"key {path}: {_plist_type(value)}{_value_of(value, secret)} where Apple's schema "
                f"wants {_PLIST_NAMES[kind]}{hint}",
                fix=f"Write {path} as {_PLIST_NAMES[kind]}.",
            )
            return
    values = node.get("values")
    if (
        values is not None
        and kind not in ("array", "dictionary")
        and not any(value == v and type(value) is type(v) for v in values)
    ):
        ctx.add(
            "MC008",
            f"key {path}: {_shown(value, secret)} is not one of Apple's allowed values "
            f"({', '.join(repr(v) for v in values)})",
            fix=f"Set {path} to one of: {', '.join(repr(v) for v in values)}.",
        )
    rng = node.get("range")
    if rng and isinstance(value, int | float) and not isinstance(value, bool):
        low, high = rng.get("min"), rng.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            ctx.add(
                "MC008",
                f"key {path}: {value!r} is outside Apple's range {low} to {high}",
                fix=f"Set {path} to a value from {low} to {high}.",
            )
    fmt = node.get("format")
    if fmt and isinstance(value, str) and not re.search(fmt, value):
        ctx.add(
            "MC008",
            f"key {path}: {_shown(value, secret)} does not have the form Apple's schema "
            f"gives ({fmt})",
            fix=f"Write {path} in the form {fmt}.",
        )
    if node.get("ref"):
        if isinstance(value, str):
            ctx.reference((path, value))
        elif isinstance(value, list) and "items" not in node:
            for i, item in enumerate(value):
                if isinstance(item, str):
                    ctx.reference((f"{path}[{i}]", item))
    if kind == "dictionary" and isinstance(value, dict):
        _check_dict(value, node, path, ctx, os_parent)
    elif kind == "array" and isinstance(value, list):
        rep = node.get("repetition")
        if rep and not rep.get("min", 0) <= len(value) <= rep.get("max", len(value)):
            ctx.add(
                "MC008",
                f"key {path}: {len(value)} item(s); Apple's schema wants "
                f"{rep.get('min', 0)} to {rep.get('max', 'any number')}",
            )
        item = node.get("items")
        for i, element in enumerate(value):
            where = f"{path}[{i}]"
            if values is not None and not any(
                element == v and type(element) is type(v) for v in values
            ):
                ctx.add(
                    "MC008",
                    f"key {where}: {_shown(element)} is not one of Apple's allowed values "
                    f"({', '.join(repr(v) for v in values)})",
                )
            if item is not None:
                _check_value(element, item, where, ctx, os_parent)
            elif isinstance(element, dict):
                _scan_open(element, where, ctx)
    elif kind == "any":
        if isinstance(value, dict):
            _scan_open(value, path, ctx)
        elif isinstance(value, list):
            for i, element in enumerate(value):
                if isinstance(element, dict):
                    _scan_open(element, f"{path}[{i}]", ctx)


def _scan_open(value: dict[str, Any], path: str, ctx: _Context) -> None:
    """Where the schema leaves keys open, still find references by their names."""
    for key, item in value.items():
        where = _path(path, key)
        if isinstance(key, str) and is_reference_name(key):
            if isinstance(item, str):
                ctx.reference((where, item))
            elif isinstance(item, list):
                for i, element in enumerate(item):
                    if isinstance(element, str):
                        ctx.reference((f"{where}[{i}]", element))
        if isinstance(item, dict):
            _scan_open(item, where, ctx)
        elif isinstance(item, list):
            for i, element in enumerate(item):
                if isinstance(element, dict):
                    _scan_open(element, f"{where}[{i}]", ctx)


def _gate(
    key_os: Mapping[str, Any] | None,
    parent: Mapping[str, Mapping[str, Any]],
    path: str,
    ctx: _Context,
    at_default: bool = False,
) -> dict[str, dict[str, Any]]:
    """Record, per listed platform, a key that is unsupported, newer than the minimum,
    deprecated or removed by it, or supervised-only (unless ``at_default``: a key set to
    Apple's default changes nothing); return the key's effective support."""
    effective = merge_os(parent, key_os)
    if not ctx.platforms or not key_os:
        return effective
    for platform, minimum in ctx.platforms.items():
        own = key_os.get(platform)
        if own is None or platform not in parent:
            continue
        parent_fields = parent[platform]
        if parent_fields.get("introduced") == "n/a":
            continue
        introduced = own.get("introduced")
        if introduced == "n/a":
            ctx.unsupported.setdefault(platform, []).append(path)
            continue
        if minimum and introduced and version_key(introduced) > version_key(minimum):
            ctx.introduced.setdefault(platform, []).append(f"{path} ({platform} {introduced})")
        removed = own.get("removed")
        deprecated = own.get("deprecated")
        if minimum and removed and version_key(removed) <= version_key(minimum):
            ctx.removed.setdefault(platform, []).append(f"{path} (removed in {platform} {removed})")
        elif minimum and deprecated and version_key(deprecated) <= version_key(minimum):
            later = f", removed in {removed}" if removed else ""
            ctx.deprecated.setdefault(platform, []).append(
                f"{path} (deprecated in {platform} {deprecated}{later})"
            )
        if own.get("supervised") and not parent_fields.get("supervised") and not at_default:
            ctx.supervised.setdefault(platform, []).append(path)
    return effective


def _check_dict(
    value: dict[str, Any],
    node: Mapping[str, Any],
    path: str,
    ctx: _Context,
    os_parent: Mapping[str, Mapping[str, Any]] | None,
) -> None:
    keys: Mapping[str, Any] | None = node.get("keys")
    every: Mapping[str, Any] | None = node.get("any")
    if keys is None and every is None:
        _scan_open(value, path, ctx)
        return
    for name, spec in (keys or {}).items():
        if name in value:
            continue
        where = _path(path, name)
        if spec.get("required"):
            ctx.add(
                "MC009",
                f"required key {where} is missing",
                fix=f"Add {where} ({_PLIST_NAMES.get(spec.get('type', ''), 'a value')}).",
            )
        condition = spec.get("required_if")
        if condition and all(_holds(value, t) for t in condition["when"]):
            ctx.add(
                "MC009",
                f"key {where} is missing; Apple's schema: {name} is {condition['text']}",
                fix=f"Add {where}, or change the keys that make it required.",
            )
    for key, item in value.items():
        where = _path(path, key)
        spec = (keys or {}).get(key) if keys is not None and key in keys else every
        if spec is None:
            ctx.add(
                "MC007",
                f"key {printable(where)} is not defined by Apple for this payload type; the "
                "device ignores it",
                fix="Check the key's spelling against Apple's schema (mobileconfig inspect "
                "shows the keys as read), or remove it.",
            )
            if isinstance(item, dict):
                _scan_open(item, where, ctx)
            continue
        at_default = (
            "default" in spec and item == spec["default"] and type(item) is type(spec["default"])
        )
        effective = (
            _gate(spec.get("os"), os_parent, where, ctx, at_default)
            if os_parent is not None
            else None
        )
        _check_value(item, spec, where, ctx, effective)
    one_true = node.get("one_true")
    if one_true:
        flags = [value.get(k, one_true["default"]) for k in one_true["keys"]]
        if all(flag is False for flag in flags):
            names = ", ".join(one_true["keys"])
            ctx.add(
                "MC008",
                f"keys {names} are all false; Apple's schema wants at least one of them true",
                fix="Set at least one of them to <true/>.",
            )


def _report_platforms(ctx: _Context, ptype: str) -> None:
    for platform, paths in ctx.unsupported.items():
        if ctx.platform_support:
            ctx.add("MC402", f"{platform} ignores {', '.join(paths)} ({ptype})")
    for platform, paths in ctx.supervised.items():
        if ctx.platform_support:
            ctx.add(
                "MC403",
                f"{', '.join(paths)} ({ptype}) take{'s' if len(paths) == 1 else ''} effect on "
                f"{platform} only on supervised devices",
            )
    minimum = ctx.platforms
    for platform, items in ctx.introduced.items():
        ctx.add(
            "MC011",
            f"needs a newer {platform} than the minimum {minimum[platform]}: "
            f"{', '.join(items)}; older devices ignore "
            f"{'it' if len(items) == 1 else 'them'}",
        )
    for platform, items in ctx.deprecated.items():
        ctx.add("MC012", f"deprecated by {platform} {minimum[platform]}: {', '.join(items)}")
    for platform, items in ctx.removed.items():
        ctx.add(
            "MC013",
            f"removed by {platform} {minimum[platform]}: {', '.join(items)}; devices on it "
            "ignore the key",
        )


def _gate_payload(os_table: Mapping[str, Mapping[str, Any]], ptype: str, ctx: _Context) -> bool:
    """Payload-level platform findings; False when no listed platform supports it at all,
    so its keys need no platform check."""
    usable = False
    listed = " ".join(sorted(p for p, f in os_table.items() if f.get("introduced") != "n/a"))
    for platform, minimum in ctx.platforms.items():
        fields = os_table.get(platform)
        if fields is None or fields.get("introduced") == "n/a":
            if ctx.platform_support:
                ctx.add(
                    "MC401",
                    f"{ptype} is not supported on {platform} (Apple's schema: "
                    f"{listed or 'none'}); the device refuses or ignores it",
                    fix=f"Remove {platform} from the platforms, or ship this payload in a "
                    "profile for the platforms that support it.",
                )
            continue
        usable = True
        introduced = fields.get("introduced")
        if minimum and introduced and version_key(introduced) > version_key(minimum):
            ctx.add(
                "MC011",
                f"{ptype} needs {platform} {introduced}, newer than the minimum {minimum}; "
                "older devices refuse or ignore it",
            )
        removed, deprecated = fields.get("removed"), fields.get("deprecated")
        if minimum and removed and version_key(removed) <= version_key(minimum):
            ctx.add(
                "MC013",
                f"{ptype} was removed in {platform} {removed}, at or before the minimum "
                f"{minimum}; devices on it refuse or ignore it",
                severity=Severity.ERROR,
            )
        elif minimum and deprecated and version_key(deprecated) <= version_key(minimum):
            ctx.add("MC012", f"{ptype} is deprecated since {platform} {deprecated}")
        if fields.get("supervised") and ctx.platform_support:
            ctx.add("MC403", f"{ptype} takes effect on {platform} only on supervised devices")
    return usable


def check_payload(
    payload: Mapping[str, Any],
    *,
    index: int | None = None,
    location: Location | None = None,
    platforms: Mapping[str, str] | None = None,
    platform_support: bool = False,
    references: list[tuple[str, str, str]] | None = None,
) -> list[Finding]:
    """Findings of one payload dictionary against its type's schema and the common keys.

    ``platforms`` maps a platform to its minimum version (``""``: any); ``references``, when
    given, collects ``(label, key path, uuid)`` of every reference for the profile check."""
    label = describe_payload(payload, index)
    ctx = _Context(label, location, dict(platforms or {}), platform_support, [])
    ptype = payload.get("PayloadType")
    schema = payload_schema(ptype) if isinstance(ptype, str) else None
    if schema is None:
        node: dict[str, Any] = {"keys": common_keys(), "any": {"type": "any"}}
        _check_dict(dict(payload), node, "", ctx, None)
        if isinstance(ptype, str):
            ctx.add(
                "MC014",
                f"{ptype} is not among the {len(_known_types())} payload types of the bundled "
                "Apple schema; only its common keys were checked",
            )
    else:
        node = {**schema, "keys": {**common_keys(), **schema.get("keys", {})}}
        os_table: dict[str, dict[str, Any]] = schema.get("os", {})
        usable = _gate_payload(os_table, str(ptype), ctx) if ctx.platforms else True
        _check_dict(dict(payload), node, "", ctx, os_table if ctx.platforms and usable else None)
        _report_platforms(ctx, str(ptype))
    if references is not None:
        references.extend((label, path, uuid) for path, uuid in ctx.references)
    return ctx.findings


def _known_types() -> list[str]:
    from mobileconfig.schema import payload_types

    return payload_types()


def _duplicates(items: Iterator[tuple[str, str]]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for value, label in items:
        seen.setdefault(value, []).append(label)
    return {v: labels for v, labels in seen.items() if len(labels) > 1}


def check_profile(
    profile: Mapping[str, Any],
    *,
    source: str | None = None,
    platforms: Mapping[str, str] | None = None,
    platform_support: bool = False,
) -> list[Finding]:
    """Every schema finding of a whole profile (the top level, then every payload, then the
    references and duplicates between them), in the order found. Never raises."""
    location = Location(source) if source else None
    findings: list[Finding] = []
    ptype = profile.get("PayloadType")
    top_label = describe_payload(profile, None)
    shape = top_level_schema(ptype) if isinstance(ptype, str) else None
    top_findings: list[Finding] = []  # bounded on their own, apart from the payloads'
    ctx = _Context(top_label, location, dict(platforms or {}), platform_support, top_findings)
    if shape is None:
        known = ", ".join(top_level_types())
        if ptype is None:
            ctx.add(
                "MC009",
                "required key PayloadType is missing at the top level",
                fix="Add PayloadType Configuration at the top level.",
            )
        else:
            ctx.add(
                "MC010",
                f"top-level PayloadType {_shown(ptype)} is not one the schema knows ({known}); "
                "its keys were not checked",
            )
        shape = {"keys": {}, "any": {"type": "any"}}
    top = dict(profile)
    if ptype == "Configuration" and isinstance(top.get("PayloadContent"), list):
        # Its presence and type are checked here; its items are payloads, checked below.
        top["PayloadContent"] = []
    os_table = shape.get("os") if ctx.platforms else None
    _check_dict(top, shape, "", ctx, os_table)
    if os_table:
        _report_platforms(ctx, str(ptype))
    content = profile.get("PayloadContent")
    references: list[tuple[str, str, str]] = []
    payloads: list[tuple[int, Mapping[str, Any]]] = []
    if ptype == "Configuration" and isinstance(content, list):
        for index, item in enumerate(content):
            if not isinstance(item, dict):
                ctx.add(
                    "MC008",
                    f"PayloadContent[{index}] is {_plist_type(item)}, not a payload dictionary",
                    fix="Make every PayloadContent item a <dict> payload.",
                )
                continue
            payloads.append((index, item))
            findings.extend(
                check_payload(
                    item,
                    index=index,
                    location=location,
                    platforms=platforms,
                    platform_support=platform_support,
                    references=references,
                )
            )
    findings.extend(_between(profile, payloads, references, location))
    return top_findings + findings


def _between(
    profile: Mapping[str, Any],
    payloads: list[tuple[int, Mapping[str, Any]]],
    references: list[tuple[str, str, str]],
    location: Location | None,
) -> list[Finding]:
    """MC005, MC006 and MC004: what only the whole profile shows."""
    out: list[Finding] = []
    labels = {i: describe_payload(p, i) for i, p in payloads}
    uuids = [
        (p["PayloadUUID"], labels[i]) for i, p in payloads if isinstance(p.get("PayloadUUID"), str)
    ]
    top_uuid = profile.get("PayloadUUID")
    if isinstance(top_uuid, str):
        uuids.insert(0, (top_uuid, "the profile itself"))
    for uuid, who in _duplicates(iter(uuids)).items():
        out.append(
            make_finding(
                "MC005",
                f"PayloadUUID {printable(uuid)} is used by {len(who)}: {'; '.join(who)}",
                location=location,
            )
        )
    idents = [
        (p["PayloadIdentifier"], labels[i])
        for i, p in payloads
        if isinstance(p.get("PayloadIdentifier"), str)
    ]
    for ident, who in _duplicates(iter(idents)).items():
        out.append(
            make_finding(
                "MC006",
                f"PayloadIdentifier {printable(ident)} is used by {len(who)}: {'; '.join(who)}; an "
                "update of the profile replaces one with the other",
                location=location,
            )
        )
    by_uuid = {p["PayloadUUID"]: p for _, p in payloads if isinstance(p.get("PayloadUUID"), str)}
    folded = {u.upper(): u for u in by_uuid}
    encrypted = profile.get("IsEncrypted") is True and not payloads
    for label, path, uuid in references:
        if encrypted:
            break
        target = by_uuid.get(uuid)
        if target is None:
            near = folded.get(uuid.upper())
            detail = (
                f"; payload UUID {printable(near)} differs only in letter case"
                if near is not None
                else ""
            )
            out.append(
                make_finding(
                    "MC004",
                    f"{label}: key {path} names {printable(uuid)}, which no payload of this "
                    f"profile has as PayloadUUID{detail}",
                    location=location,
                )
            )
            continue
        ttype = target.get("PayloadType")
        if isinstance(ttype, str) and not _CERTIFICATE_TARGETS.match(ttype):
            out.append(
                make_finding(
                    "MC004",
                    f"{label}: key {path} names {printable(uuid)}, a {printable(ttype)} payload, "
                    "not a certificate or identity payload",
                    location=location,
                    fix="Point the reference at the PayloadUUID of a certificate or identity "
                    "payload (pkcs1, root, pem, pkcs12, scep, acme).",
                )
            )
    return out
