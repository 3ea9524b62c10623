"""The declarative output in memory: declarations, the files their assets point at, and the
DeclarationItems response, with the identifiers and tokens that keep them stable.

Identifiers are ``<kind>.<UUID>``, the UUID a uuid5 of the spec's identifier and the entry's
own name (never its content), so a rebuild gives the same identifiers and a renewed
certificate keeps its declarations. Server tokens are SHA-256 (hex, 64 octets) over the
declaration's canonical JSON and the data it stands for: an asset's file, a configuration's
assets' tokens, a legacy profile's unsigned bytes. They change exactly when what a device
would receive changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mobileconfig.findings import Report
from mobileconfig.payloads.base import derive_uuid

__all__ = [
    "CATEGORIES",
    "AssetFile",
    "Declaration",
    "DeclarativeOutput",
    "canonical_json",
    "declaration_identifier",
    "server_token",
]

Category = Literal["activation", "asset", "configuration", "management"]
#: The four arrays of the DeclarationItems response, in Apple's order, by category.
CATEGORIES: dict[Category, str] = {
    "activation": "Activations",
    "configuration": "Configurations",
    "asset": "Assets",
    "management": "Management",
}


def canonical_json(value: Any) -> bytes:
    """The bytes tokens are computed over: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def declaration_identifier(spec_identifier: str, kind: str, entry: str) -> str:
    """``<kind>.<UUID>``: stable for the same spec identifier, kind and entry name."""
    key = "\n".join(("ddm", kind, entry))
    return f"{kind}.{derive_uuid(spec_identifier, key)}"


def server_token(declaration: Mapping[str, Any], *data: bytes) -> str:
    """SHA-256 (hex) over the declaration without its token, then each piece of ``data``."""
    digest = hashlib.sha256(
        canonical_json({k: v for k, v in declaration.items() if k != "ServerToken"})
    )
    for piece in data:
        digest.update(b"\n")
        digest.update(hashlib.sha256(piece).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class AssetFile:
    """One file under ``assets/``: an asset's data or a legacy profile."""

    name: str
    data: bytes = field(repr=False)
    content_type: str
    secret: bool  # written 0600 from the first byte; served only with MDM authentication

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Declaration:
    """One declaration: ``Type``, ``Identifier``, ``ServerToken``, ``Payload``."""

    type: str
    identifier: str
    server_token: str
    payload: dict[str, Any] = field(repr=False)

    @property
    def category(self) -> Category:
        kind = self.type.split(".")[2] if self.type.count(".") >= 2 else ""
        for category in CATEGORIES:
            if category == kind:
                return category
        return "configuration"

    def to_json(self) -> dict[str, Any]:
        return {
            "Type": self.type,
            "Identifier": self.identifier,
            "ServerToken": self.server_token,
            "Payload": self.payload,
        }

    def dumps(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n").encode()


@dataclass
class DeclarativeOutput:
    """Everything ``build --ddm`` writes, in memory: an MDM can store it as it is."""

    declarations: list[Declaration]
    assets: dict[str, AssetFile]
    report: Report
    base_url: str

    @property
    def declarations_token(self) -> str:
        return declarations_token(self.declarations)

    def by_identifier(self) -> dict[str, Declaration]:
        return {d.identifier: d for d in self.declarations}

    def items(self) -> dict[str, Any]:
        """Apple's DeclarationItems response: all four arrays, even when empty."""
        arrays: dict[str, list[dict[str, str]]] = {name: [] for name in CATEGORIES.values()}
        for d in sorted(self.declarations, key=lambda d: d.identifier):
            arrays[CATEGORIES[d.category]].append(
                {"Identifier": d.identifier, "ServerToken": d.server_token}
            )
        return {"Declarations": arrays, "DeclarationsToken": self.declarations_token}

    def files(self) -> list[tuple[str, bytes, bool]]:
        """(path relative to the folder, bytes, secret) for every file, in a fixed order."""
        out: list[tuple[str, bytes, bool]] = [
            (f"declarations/{d.identifier}.json", d.dumps(), False)
            for d in sorted(self.declarations, key=lambda d: d.identifier)
        ]
        out += [(f"assets/{a.name}", a.data, a.secret) for _, a in sorted(self.assets.items())]
        items = (json.dumps(self.items(), indent=2, sort_keys=True) + "\n").encode()
        out.append(("declaration-items.json", items, False))
        return out


def declarations_token(declarations: Iterable[Declaration]) -> str:
    """SHA-256 over every (identifier, token) pair, sorted: changes when any declaration does."""
    digest = hashlib.sha256()
    for d in sorted(declarations, key=lambda d: d.identifier):
        digest.update(f"{d.identifier}\n{d.server_token}\n".encode())
    return digest.hexdigest()
