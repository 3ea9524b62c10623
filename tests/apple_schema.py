"""Check plist dictionaries against Apple's device-management schema (shared/, MIT data).

``conform(payload_dict)`` returns a list of problems: a required key missing, a key Apple
does not define for the type, a value of the wrong plist type, a value outside a rangelist.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

SCHEMA_DIR = (
    Path(__file__).resolve().parents[2] / "shared" / "apple-device-management" / "mdm" / "profiles"
)

_TYPES: dict[str, tuple[type, ...]] = {
    "<string>": (str,),
    "<integer>": (int,),
    "<real>": (float, int),
    "<boolean>": (bool,),
    "<date>": (dt.datetime,),
    "<data>": (bytes,),
    "<array>": (list,),
    "<dictionary>": (dict,),
}


def require_schema() -> Path:
    if not SCHEMA_DIR.is_dir():
        pytest.skip(
            "Apple's schema (../shared/apple-device-management) is not beside this checkout"
        )
    return SCHEMA_DIR


@cache
def schema_for(payload_type: str) -> dict[str, Any]:
    path = require_schema() / f"{payload_type}.yaml"
    if not path.exists():
        raise KeyError(f"no Apple schema for {payload_type}")
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def _check_type(value: Any, spec: dict[str, Any], where: str, problems: list[str]) -> None:
    kind = spec.get("type", "<any>")
    if kind == "<any>":
        return
    allowed = _TYPES[kind]
    if isinstance(value, bool) and bool not in allowed:
        problems.append(f"{where}: boolean where Apple wants {kind}")
        return
    # Apple's text for SubjectAltName entries: "a single string or an array of strings".
    if (kind == "<string>" and ".SubjectAltName." in f"{where}." and isinstance(value, list)
            and all(isinstance(v, str) for v in value)):
        return
    if not isinstance(value, allowed):
        problems.append(f"{where}: {type(value).__name__} where Apple wants {kind}")
        return
    if (
        "rangelist" in spec
        and kind not in ("<array>", "<dictionary>")
        and value not in spec["rangelist"]
    ):
        problems.append(f"{where}: {value!r} not in Apple's allowed values {spec['rangelist']}")
    subkeys = spec.get("subkeys")
    if not subkeys:
        return
    if kind == "<dictionary>":
        _check_dict(value, subkeys, where, problems)
    elif kind == "<array>":
        item_spec = subkeys[0]
        rep = item_spec.get("repetition") or {}
        if not rep.get("min", 0) <= len(value) <= rep.get("max", 10**9):
            problems.append(f"{where}: {len(value)} items, Apple allows {rep}")
        for i, item in enumerate(value):
            if "rangelist" in spec and item not in spec["rangelist"]:
                problems.append(f"{where}[{i}]: {item!r} not in {spec['rangelist']}")
            _check_type(item, item_spec, f"{where}[{i}]", problems)


def _check_dict(
    value: dict[str, Any], keys: list[dict[str, Any]], where: str, problems: list[str]
) -> None:
    defined = {k["key"]: k for k in keys}
    if "ANY" in defined:
        for k, v in value.items():
            _check_type(v, defined["ANY"], f"{where}.{k}", problems)
        return
    for k, spec in defined.items():
        if spec.get("presence") == "required" and k not in value:
            problems.append(f"{where}: required key {k} missing")
    for k, v in value.items():
        if k not in defined:
            problems.append(f"{where}: key {k} is not in Apple's schema")
            continue
        _check_type(v, defined[k], f"{where}.{k}", problems)


def conform(payload: dict[str, Any]) -> list[str]:
    """Problems of one payload dictionary against its type's schema plus the common keys."""
    ptype = payload["PayloadType"]
    keys = list(schema_for(ptype)["payloadkeys"])
    common = [
        k
        for k in schema_for("CommonPayloadKeys")["payloadkeys"]
        if k["key"] not in {x["key"] for x in keys}
    ]
    problems: list[str] = []
    _check_dict(payload, keys + common, ptype, problems)
    return problems


def conform_profile(profile: dict[str, Any]) -> list[str]:
    """Problems of a whole profile: the top level, then every payload."""
    top = {k: v for k, v in profile.items() if k != "PayloadContent"}
    problems: list[str] = []
    keys = [k for k in schema_for("TopLevel")["payloadkeys"] if k["key"] != "PayloadContent"]
    _check_dict(top, keys, "TopLevel", problems)
    if "PayloadContent" not in profile and not profile.get("IsEncrypted"):
        problems.append("TopLevel: PayloadContent missing")
    for item in profile.get("PayloadContent", []):
        problems.extend(conform(item))
    return problems
