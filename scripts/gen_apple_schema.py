"""Generate ``mobileconfig/schema/apple_profiles.json`` from Apple's device-management schema.

    python scripts/gen_apple_schema.py          # write the module
    python scripts/gen_apple_schema.py --check  # exit 1 when the module is stale or the
                                                # schema cannot be found (CI)

The source is Apple's ``mdm/profiles/*.yaml`` (github.com/apple/device-management, MIT),
kept beside this checkout in ``../shared/apple-device-management``; ``--source`` points
elsewhere. The module keeps what the checks need and nothing else: for every payload type
its platforms (``supportedOS``: introduced, deprecated, removed, supervision, user
enrollment), and for every key its plist type, whether it is required, its allowed values
(``rangelist``, ``range``, ``format``, ``repetition``), its nested keys, its own platform
overrides, and two marks derived here:

- ``secret``: a string or data key that holds a password or a shared secret. Apple's schema
  has no such mark, so it is derived from the key's name (``...Password``, ``...Secret``,
  ``...Passphrase`` in Apple's upper camel case for values) plus the names in
  ``SECRET_NAMES``; settings such as ``askForPassword`` or ``allowPasswordAutoFill`` are
  never secrets.
- ``ref``: a string (or array of strings) whose value is the PayloadUUID of another payload
  of the same profile: every ``...Certificate...UUID`` / ``...UUIDs`` key of the schema.

Apple states some requirements in prose ("the SSID is optional if a value exists for
'DomainName'"); ``CONDITIONS`` turns each into data, with the sentence it comes from. The
top-level shape ``Profile Service`` (over-the-air enrolment) is not in Apple's YAML; it is
described in ``EXTRA_TOP_LEVEL`` from Apple's over-the-air profile delivery documentation.

The output is JSON (parsed in about a millisecond on first use, where a Python literal of the
same data takes twenty to import) and deterministic: Apple's key order, one layout, no time
stamps. Apple's licence notice travels inside it, in ``licence``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "apple-device-management"
OUTPUT = ROOT / "mobileconfig" / "schema" / "apple_profiles.json"

PLATFORMS = ("iOS", "macOS", "tvOS", "visionOS", "watchOS")
_TYPES = {
    "<string>": "string",
    "<integer>": "integer",
    "<real>": "real",
    "<boolean>": "boolean",
    "<date>": "date",
    "<data>": "data",
    "<array>": "array",
    "<dictionary>": "dictionary",
    "<any>": "any",
}
#: The supportedOS fields the checks use; the rest (channels, shared iPad) are left out.
_OS_FIELDS = (
    "introduced",
    "deprecated",
    "removed",
    "supervised",
    "requiresdep",
    "userapprovedmdm",
    "allowmanualinstall",
    "multiple",
)

#: Secret keys Apple's schema does not name with a telling suffix, by key name anywhere,
#: or by (payload type, dotted path) for a name that is a secret only there.
SECRET_NAMES = frozenset(
    {
        "Password",
        "CertificatePassword",
        "SharedSecret",
        "Challenge",
        "UserPassword",
        "PIN",
        "Passphrase",
    }
)
SECRET_PATHS = frozenset({("com.apple.security.acme", "ClientIdentifier")})
# Apple names settings in lower camel case (askForPassword, allowPasswordAutoFill) and values
# in upper camel case (Password, IncomingPassword, RemovalPassword).
_SECRET_SUFFIX = re.compile(r"^[A-Z]\w*(Password|Secret|Passphrase)$")
_REF_NAME = re.compile(r"Certificate\w*UUIDs?$")

#: Apple's conditional requirements, from the prose of its schema. Each condition is a list
#: of tests on sibling keys, all of which must hold for the key to be required:
#: ["present", KEY], ["absent", KEY], ["in", KEY, [VALUES]], ["not_in", KEY, [VALUES]].
CONDITIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("com.apple.wifi.managed", "SSID_STR"): {
        "when": [["absent", "DomainName"]],
        "text": "required unless DomainName is set",
    },
    ("com.apple.vpn.managed", "VPNSubType"): {
        "when": [["in", "VPNType", ["VPN", "TransparentProxy"]]],
        "text": "required when VPNType is VPN or TransparentProxy",
    },
    ("com.apple.vpn.managed", "IKEv2.ServerCertificateIssuerCommonName"): {
        "when": [["present", "CertificateType"], ["in", "ExtendedAuthEnabled", [1]]],
        "text": "required when CertificateType is set and ExtendedAuthEnabled is 1",
    },
    ("com.apple.vpn.managed", "DNS.ServerURL"): {
        "when": [["in", "DNSProtocol", ["HTTPS"]]],
        "text": "required when DNSProtocol is HTTPS",
    },
    ("com.apple.vpn.managed", "DNS.ServerName"): {
        "when": [["in", "DNSProtocol", ["TLS"]]],
        "text": "required when DNSProtocol is TLS",
    },
    ("com.apple.vpn.managed", "Proxies.HTTPPort"): {
        "when": [["present", "HTTPProxy"]],
        "text": "required when HTTPProxy is set",
    },
    ("com.apple.vpn.managed", "Proxies.HTTPSPort"): {
        "when": [["present", "HTTPSProxy"]],
        "text": "required when HTTPSProxy is set",
    },
    ("Configuration", "PayloadContent"): {
        "when": [["not_in", "IsEncrypted", [True]]],
        "text": "required unless IsEncrypted is true",
    },
    ("Configuration", "EncryptedPayloadContent"): {
        "when": [["in", "IsEncrypted", [True]]],
        "text": "required when IsEncrypted is true",
    },
}

#: "At least one of these must be true", per payload type, with the keys' default.
ONE_TRUE: dict[str, dict[str, Any]] = {
    "com.apple.eas.account": {
        "keys": [
            "EnableMail",
            "EnableContacts",
            "EnableCalendars",
            "EnableReminders",
            "EnableNotes",
        ],
        "default": True,
    },
}

#: Top-level shapes Apple accepts that its YAML does not describe. "Profile Service" is the
#: first step of over-the-air enrolment: the device posts the attributes named in
#: DeviceAttributes, signed, to URL, with Challenge (a one-time secret) when given.
EXTRA_TOP_LEVEL: dict[str, Any] = {
    "Profile Service": {
        "title": "Profile Service (over-the-air enrolment)",
        "source": "mobileconfig, from Apple's over-the-air profile delivery documentation",
        "keys": {
            "PayloadIdentifier": {"type": "string", "required": True},
            "PayloadUUID": {"type": "string", "required": True},
            "PayloadType": {"type": "string", "required": True, "values": ["Profile Service"]},
            "PayloadVersion": {"type": "integer", "required": True, "values": [1]},
            "PayloadDisplayName": {"type": "string"},
            "PayloadDescription": {"type": "string"},
            "PayloadOrganization": {"type": "string"},
            "PayloadContent": {
                "type": "dictionary",
                "required": True,
                "keys": {
                    "URL": {"type": "string", "required": True, "format": "^https?://.*$"},
                    "DeviceAttributes": {
                        "type": "array",
                        "required": True,
                        "items": {"type": "string"},
                    },
                    "Challenge": {"type": "string", "secret": True},
                },
            },
        },
    },
}


def _os(raw: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for platform in PLATFORMS:
        if not isinstance(raw, dict) or platform not in raw:
            continue
        fields = raw[platform] or {}
        kept: dict[str, Any] = {f: fields[f] for f in _OS_FIELDS if f in fields}
        mode = (fields.get("userenrollment") or {}).get("mode")
        if mode:
            kept["userenrollment"] = mode
        out[platform] = kept
    return out


def _node(raw: dict[str, Any], ptype: str, path: str) -> dict[str, Any]:
    name = raw["key"]
    kind = _TYPES[raw.get("type", "<any>")]
    node: dict[str, Any] = {"type": kind}
    if raw.get("presence") == "required":
        node["required"] = True
    own_os = _os(raw.get("supportedOS"))
    if own_os:
        node["os"] = own_os
    for src, dst in (
        ("rangelist", "values"),
        ("range", "range"),
        ("format", "format"),
        ("default", "default"),
    ):
        if raw.get(src) is not None:
            node[dst] = raw[src]
    if kind in ("string", "data") and (
        name in SECRET_NAMES or _SECRET_SUFFIX.search(name) or (ptype, path) in SECRET_PATHS
    ):
        node["secret"] = True
    if kind in ("string", "array") and _REF_NAME.search(name):
        node["ref"] = True
    condition = CONDITIONS.get((ptype, path))
    if condition is not None:
        node.pop("required", None)
        node["required_if"] = condition
    subkeys = raw.get("subkeys") or []
    if kind == "dictionary" and subkeys:
        if [s["key"] for s in subkeys] == ["ANY"]:
            node["any"] = _node(subkeys[0], ptype, f"{path}.*")
        elif (
            len(subkeys) == 1
            and subkeys[0].get("type") == "<dictionary>"
            and subkeys[0]["key"] == f"{name}Item"
        ):
            # Apple wraps some dictionaries in an "...Item" level that the plist does not
            # have (TopLevel's ConsentText): the dictionary is the item itself.
            inner = _node(subkeys[0], ptype, path)
            node.update({k: v for k, v in inner.items() if k in ("keys", "any")})
        else:
            node["keys"] = _keys(subkeys, ptype, path)
            text = " ".join(str(raw.get("content", "")).split())
            if "a single string or an array of strings" in text:
                for child in node["keys"].values():
                    if child["type"] == "string":
                        child["or_list"] = True
    elif kind == "array" and subkeys:
        item = _node(subkeys[0], ptype, f"{path}[]")
        item.pop("required", None)
        rep = subkeys[0].get("repetition")
        if rep is not None:
            node["repetition"] = rep
            item.pop("repetition", None)
        node["items"] = item
        if node.get("ref"):
            item["ref"] = True
    if raw.get("repetition") is not None and kind != "array":
        node["repetition"] = raw["repetition"]
    return node


def _keys(raw: list[dict[str, Any]], ptype: str, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in raw:
        path = f"{prefix}.{item['key']}" if prefix else item["key"]
        out[item["key"]] = _node(item, ptype, path)
    return out


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "payload" not in data or "payloadkeys" not in data:
        raise SystemExit(f"{path}: not a profile schema file (no payload / payloadkeys)")
    return data


def build(source: Path) -> dict[str, Any]:
    profiles = source / "mdm" / "profiles"
    common = _load(profiles / "CommonPayloadKeys.yaml")
    top = _load(profiles / "TopLevel.yaml")
    payloads: dict[str, Any] = {}
    for path in sorted(profiles.glob("*.yaml")):
        if path.stem in ("CommonPayloadKeys", "TopLevel"):
            continue
        data = _load(path)
        ptype = data["payload"]["payloadtype"]
        entry: dict[str, Any] = {
            "title": data.get("title", ptype),
            "os": _os(data["payload"].get("supportedOS")),
            "keys": _keys(data["payloadkeys"], ptype),
        }
        if list(entry["keys"]) == ["ANY"]:
            # Apple leaves the keys open (the Ethernet payloads): any key, any value.
            entry["any"] = entry.pop("keys")["ANY"]
        if ptype in ONE_TRUE:
            entry["one_true"] = ONE_TRUE[ptype]
        payloads[ptype] = entry
    top_level: dict[str, Any] = {
        "Configuration": {
            "title": "Configuration profile",
            "os": _os(top["payload"].get("supportedOS")),
            "keys": _keys(top["payloadkeys"], "Configuration"),
        },
        **EXTRA_TOP_LEVEL,
    }
    return {
        "common": _keys(common["payloadkeys"], "CommonPayloadKeys"),
        "top_level": top_level,
        "payloads": payloads,
    }


def _source_line(source: Path) -> str:
    text = (
        (source / "SOURCE.md").read_text(encoding="utf-8")
        if (source / "SOURCE.md").exists()
        else ""
    )
    commit = re.search(r"Commit:\s*([0-9a-f]{40})\s*(\(\"?([^)\"]*)\"?\))?", text)
    if commit is None:
        return "github.com/apple/device-management (commit not recorded)"
    tag = f", {commit.group(3)}" if commit.group(3) else ""
    return f"github.com/apple/device-management, commit {commit.group(1)}{tag}"


def render(source: Path) -> str:
    data = build(source)
    document = {
        "about": "Apple's configuration-profile schema as data. GENERATED by "
        "scripts/gen_apple_schema.py: do not edit. Read through mobileconfig.schema.",
        "source": _source_line(source),
        "licence": (source / "LICENSE.txt").read_text(encoding="utf-8").strip().splitlines(),
        "platforms": list(PLATFORMS),
        # The name rules behind "secret" and "ref", for keys the schema leaves open (ANY).
        "secret_names": sorted(SECRET_NAMES),
        "secret_pattern": _SECRET_SUFFIX.pattern,
        "ref_pattern": _REF_NAME.pattern,
        "common_keys": data["common"],
        "top_level": data["top_level"],
        "payloads": data["payloads"],
    }
    return json.dumps(document, indent=1, ensure_ascii=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="the apple-device-management folder (default: %(default)s)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when the module differs from what the schema gives",
    )
    args = parser.parse_args(argv)
    profiles = args.source / "mdm" / "profiles"
    if not profiles.is_dir() or not (args.source / "LICENSE.txt").is_file():
        if args.check and args.source == DEFAULT_SOURCE:
            # A checkout without ../shared (a CI machine that has only the project):
            # nothing to compare with; the committed data is what the tests use.
            print(f"gen_apple_schema: skipped: no Apple schema at {args.source}")
            return 0
        print(
            f"gen_apple_schema: Apple's schema not found: {profiles} (and LICENSE.txt "
            "beside it); give --source",
            file=sys.stderr,
        )
        return 1
    text = render(args.source)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"gen_apple_schema: {args.output.relative_to(ROOT)} is stale; run "
                "python scripts/gen_apple_schema.py",
                file=sys.stderr,
            )
            return 1
        print(f"gen_apple_schema: {args.output.relative_to(ROOT)} is fresh")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.output)
    print(f"gen_apple_schema: wrote {args.output.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
