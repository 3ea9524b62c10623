"""Generate mobileconfig/ddm/apple_schema.py from Apple's declarative device-management schema.

    python scripts/gen_ddm_schema.py                 # write the module
    python scripts/gen_ddm_schema.py --check         # exit 1 when the module is stale
    python scripts/gen_ddm_schema.py --source DIR    # Apple's repository (or a copy of it)

The source is Apple's device-management repository (MIT), by default the copy beside this
checkout in ``../shared/apple-device-management``. Only what the declarative output needs
is kept: for each declaration type that ``mobileconfig.ddm`` emits, and for the credential
documents its assets point at, the keys with their type, presence, allowed values,
``assettypes``, asset content types, per-key ``supportedOS`` and nested keys; the
declaration's own ``supportedOS`` (introduced, allowed scopes); the DeclarationItems
response; and, from the profile schema, the payload types user enrolment forbids. Titles
and descriptions are left out. The output is deterministic: the same source gives the
same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "apple-device-management"
TARGET = ROOT / "mobileconfig" / "ddm" / "apple_schema.py"

#: The declarations mobileconfig emits (file under declarative/declarations/).
DECLARATIONS = [
    "activations/simple.yaml",
    "assets/credential.acme.yaml",
    "assets/credential.certificate.yaml",
    "assets/credential.identity.yaml",
    "assets/credential.scep.yaml",
    "assets/credential.userpassword.yaml",
    "assets/useridentity.yaml",
    "configurations/account.exchange.yaml",
    "configurations/account.mail.yaml",
    "configurations/legacy.yaml",
    "configurations/security.certificate.yaml",
    "configurations/security.identity.yaml",
]
#: The credential documents (JSON) that credential assets point at.
CREDENTIALS = [
    "assets/credentials/acme.yaml",
    "assets/credentials/identity.yaml",
    "assets/credentials/scep.yaml",
    "assets/credentials/usernameandpassword.yaml",
]
PLATFORMS = ("iOS", "macOS", "tvOS", "visionOS", "watchOS")
TYPES = {
    "<string>": "string",
    "<integer>": "integer",
    "<real>": "real",
    "<boolean>": "boolean",
    "<data>": "data",
    "<date>": "date",
    "<array>": "array",
    "<dictionary>": "dictionary",
    "<any>": "any",
}


def _introduced(supported: dict[str, Any] | None) -> dict[str, str | None]:
    """{platform: first version, or None where Apple writes n/a} for the platforms named."""
    out: dict[str, str | None] = {}
    for platform in PLATFORMS:
        entry = (supported or {}).get(platform)
        if entry is None:
            continue
        value = str(entry.get("introduced", "n/a"))
        out[platform] = None if value == "n/a" else value
    return out


def _key(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"key": spec["key"], "type": TYPES[spec.get("type", "<any>")]}
    if spec.get("presence") == "required":
        out["required"] = True
    if "rangelist" in spec:
        out["range"] = list(spec["rangelist"])
    if "assettypes" in spec:
        out["assettypes"] = sorted(spec["assettypes"])
    if "asset-content-types" in spec:
        out["content_types"] = sorted(spec["asset-content-types"])
    if spec.get("supportedOS"):
        out["os"] = _introduced(spec["supportedOS"])
    rep = spec.get("repetition")
    if rep:
        out["repeat"] = [int(rep.get("min", 0)), int(rep.get("max", 10**9))]
    subkeys = spec.get("subkeys") or []
    if subkeys and out["type"] == "dictionary":
        out["keys"] = [_key(s) for s in subkeys]
    elif subkeys and out["type"] == "array":
        out["items"] = _key(subkeys[0])
    return out


def _scopes(supported: dict[str, Any]) -> dict[str, list[str]]:
    return {
        p: list(supported[p]["allowed-scopes"])
        for p in PLATFORMS
        if isinstance(supported.get(p), dict) and "allowed-scopes" in supported[p]
    }


def _entry(doc: dict[str, Any]) -> dict[str, Any]:
    supported = doc["payload"].get("supportedOS") or {}
    out: dict[str, Any] = {"os": _introduced(supported)}
    scopes = _scopes(supported)
    if scopes:
        out["scopes"] = scopes
    out["keys"] = [_key(k) for k in doc.get("payloadkeys") or []]
    return out


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "payload" not in data:
        raise SystemExit(f"{path}: not one of Apple's schema files")
    return data


def _forbidden(profiles: Path) -> tuple[list[str], list[str]]:
    """(payload types user enrolment forbids on some platform, every payload type known)."""
    forbidden, known = [], []
    for path in sorted(profiles.glob("*.yaml")):
        payload = _load(path)["payload"]
        ptype = payload.get("payloadtype")
        if not isinstance(ptype, str) or ptype in ("TopLevel", "CommonPayloadKeys"):
            continue
        known.append(ptype)
        modes = [
            (v or {}).get("userenrollment", {}).get("mode")
            for v in (payload.get("supportedOS") or {}).values()
            if isinstance(v, dict)
        ]
        if "forbidden" in modes:
            forbidden.append(ptype)
    return sorted(forbidden), sorted(known)


def _source_line(source: Path) -> str:
    info = source / "SOURCE.md"
    if info.is_file():
        for line in info.read_text(encoding="utf-8").splitlines():
            if line.startswith("Commit:"):
                return line.removeprefix("Commit:").strip()
    return "unknown commit"


def _licence(source: Path) -> list[str]:
    text = (source / "LICENSE.txt").read_text(encoding="utf-8")
    return [f"# {line}".rstrip() for line in text.strip().splitlines()]


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # double quotes, as ruff formats them
    return repr(value)


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flat(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    return _scalar(value)


def _render(value: Any, indent: int, room: int) -> str:
    """``value`` as Python source, laid out as ``ruff format`` lays it out: inline when it
    fits in ``room`` characters, else one item per line with a trailing comma, four spaces
    a level, keys sorted."""
    flat = _flat(value)
    if len(flat) <= room or not isinstance(value, dict | list):
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        lines = []
        for k in sorted(value):
            key = _scalar(k)
            lines.append(
                f"{pad}{key}: {_render(value[k], indent + 4, 99 - len(pad) - len(key) - 3)},"
            )
        return "{\n" + "\n".join(lines) + "\n" + " " * indent + "}"
    lines = [f"{pad}{_render(v, indent + 4, 99 - len(pad) - 1)}," for v in value]
    return "[\n" + "\n".join(lines) + "\n" + " " * indent + "]"


def _literal(name: str, value: Any) -> str:
    if isinstance(value, frozenset):
        items = "".join(f"        {_scalar(v)},\n" for v in sorted(value))
        return f"{name} = frozenset(\n    [\n{items}    ]\n)\n"
    return f"{name} = {_render(value, 0, 99 - len(name) - 3)}\n"


def generate(source: Path) -> str:
    base = source / "declarative"
    declarations: dict[str, Any] = {}
    for rel in DECLARATIONS:
        doc = _load(base / "declarations" / rel)
        declarations[doc["payload"]["declarationtype"]] = _entry(doc)
    credentials: dict[str, Any] = {}
    for rel in CREDENTIALS:
        doc = _load(base / "declarations" / rel)
        credentials[doc["payload"]["credentialtype"]] = _entry(doc)
    declaration_base = _entry(_load(base / "declarations" / "declarationbase.yaml"))
    items = _entry(_load(base / "protocol" / "declarationitemsresponse.yaml"))
    forbidden, known = _forbidden(source / "mdm" / "profiles")
    parts = [
        "# Generated by scripts/gen_ddm_schema.py from Apple's device-management schema",
        "# (https://github.com/apple/device-management),",
        f"# commit {_source_line(source)}.",
        "# Do not edit: re-run the script. Titles and descriptions are left out.",
        "#",
        "# Apple's licence for the schema this data is taken from:",
        "#",
        *_licence(source),
        '"""Apple\'s declarative schema, reduced to what mobileconfig.ddm emits and checks."""',
        "",
        "from typing import Any",
        "",
        "#: Per declaration type: supportedOS ({platform: introduced, None = n/a}), allowed",
        "#: scopes per platform, and the payload keys.",
        _literal("DECLARATIONS: dict[str, dict[str, Any]]", declarations),
        "#: Per credential type (the JSON documents credential assets point at): the same.",
        _literal("CREDENTIALS: dict[str, dict[str, Any]]", credentials),
        "#: The keys every declaration has (Type, Identifier, ServerToken, Payload).",
        _literal("DECLARATION_BASE: dict[str, Any]", declaration_base),
        "#: The DeclarationItems response (declaration-items.json).",
        _literal("DECLARATION_ITEMS: dict[str, Any]", items),
        "#: Profile payload types that user enrolment forbids on at least one platform.",
        _literal("USER_ENROLLMENT_FORBIDDEN: frozenset[str]", frozenset(forbidden)),
        "#: Every profile payload type the schema describes.",
        _literal("PROFILE_PAYLOAD_TYPES: frozenset[str]", frozenset(known)),
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the module is stale")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    if not (args.source / "declarative").is_dir():
        if args.check and args.source == DEFAULT_SOURCE:
            # A checkout without ../shared: nothing to compare with; the committed module
            # is what the tests use.
            print(f"gen_ddm_schema: skipped: no Apple schema at {args.source}")
            return 0
        print(f"gen_ddm_schema: {args.source} holds no declarative/ schema", file=sys.stderr)
        return 2
    text = generate(args.source)
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run scripts/gen_ddm_schema.py")
            return 1
        print(f"{TARGET.relative_to(ROOT)} is fresh")
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
