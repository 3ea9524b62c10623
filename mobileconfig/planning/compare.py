"""Payloads as devices see them, matched and compared.

A payload is compared without its ``PayloadUUID``, with every reference to another payload
replaced by that payload's identifier, a certificate by its SHA-256 and bytes by their
digest. Payloads are matched by ``PayloadIdentifier`` (OLD's made relative to NEW's profile
identifier), then by type and content. Secrets are compared, never shown: a key is secret
where Apple's schema says so, or when its name is a secret's
(:func:`mobileconfig.schema.is_secret_name`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mobileconfig.errors import CertificateError
from mobileconfig.pki.certs import Certificate, load_certificates
from mobileconfig.planning.model import Action, Change, KeyChange, cert_label, certificate_ref
from mobileconfig.planning.sides import Side

__all__ = ["CERTIFICATE_TYPES", "HIDDEN", "Payload", "diff_pair", "match", "payloads"]

CERTIFICATE_TYPES = frozenset(
    {"com.apple.security.root", "com.apple.security.pkcs1", "com.apple.security.pem"}
)
_PKCS12 = "com.apple.security.pkcs12"


@dataclass(frozen=True)
class _Ref:
    """A reference to another payload, by that payload's (relative) identifier."""

    target: str


@dataclass(frozen=True)
class _Data:
    """Bytes, by size and digest, or as the certificate they hold (``label``, shown but
    not compared)."""

    sha256: str
    size: int
    label: str | None = field(default=None, compare=False)


@dataclass
class Payload:
    index: int
    ptype: str
    identifier: str | None
    key: str | None  # the identifier matched on (OLD's rewritten to NEW's profile identifier)
    uuid: str | None
    name: str | None
    plist: dict[str, Any]
    content: dict[str, Any]  # canonical: no identifier, no UUID, references by identifier
    certificate: Certificate | None = None

    @property
    def fallback(self) -> Any:
        """The key for matching by type and content: a certificate by its digest alone."""
        if self.certificate is not None and self.ptype in CERTIFICATE_TYPES:
            return ("certificate", self.certificate.sha256)
        return (self.ptype, _frozen(self.content))


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(_frozen(v) for v in value))
    return value


def payloads(side: Side, rename: tuple[str, str] | None) -> list[Payload]:
    """Each payload of ``side`` as compared. ``rename`` (old, new profile identifier) makes
    OLD's payload identifiers relative to NEW's profile identifier."""

    def key_of(identifier: str | None) -> str | None:
        if identifier is None or rename is None:
            return identifier
        old, new = rename
        return new + identifier[len(old) :] if identifier.startswith(old + ".") else identifier

    raw = [p.to_plist() for p in side.profile.payload_content]
    targets = {
        str(d["PayloadUUID"]): key_of(_text(d.get("PayloadIdentifier"))) or ""
        for d in raw
        if isinstance(d.get("PayloadUUID"), str)
    }
    out = []
    for index, d in enumerate(raw):
        ptype = str(d.get("PayloadType", ""))
        uuid = _text(d.get("PayloadUUID"))
        cert = _certificate(d) if ptype in CERTIFICATE_TYPES else side.leaves.get(uuid or "")
        content = {
            k: _canonical(v, targets)
            for k, v in d.items()
            if k not in ("PayloadIdentifier", "PayloadUUID")
        }
        raw_content = d.get("PayloadContent")
        if cert is not None and isinstance(raw_content, bytes):
            if ptype in CERTIFICATE_TYPES:  # the certificate, whatever its encoding
                content["PayloadContent"] = _Data(cert.sha256, 0, f"certificate {cert_label(cert)}")
            else:  # an identity: its bytes, named by its certificate (see _comparable)
                digest = hashlib.sha256(raw_content).hexdigest()
                content["PayloadContent"] = _Data(
                    digest, len(raw_content), f"identity {cert_label(cert)}"
                )
        identifier = _text(d.get("PayloadIdentifier"))
        out.append(
            Payload(
                index,
                ptype,
                identifier,
                key_of(identifier),
                uuid,
                _text(d.get("PayloadDisplayName")),
                d,
                content,
                cert,
            )
        )
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _certificate(plist: Mapping[str, Any]) -> Certificate | None:
    content = plist.get("PayloadContent")
    if not isinstance(content, bytes):
        return None
    try:
        found = load_certificates(content, source="payload")
    except CertificateError:
        return None
    return found[0] if len(found) == 1 else None


def _canonical(value: Any, targets: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _Ref(targets[value]) if value in targets else value
    if isinstance(value, bytes | bytearray):
        return _Data(hashlib.sha256(value).hexdigest(), len(value))
    if isinstance(value, dict):
        return {str(k): _canonical(v, targets) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v, targets) for v in value]
    return value


#: What a secret inside a value that is shown (a dictionary added whole) becomes.
HIDDEN = "<secret>"

Node = Mapping[str, Any] | None  # a node of Apple's schema (see mobileconfig.schema)


def _schema_node(payload_type: str) -> Node:
    from mobileconfig import schema

    return schema.payload_node(payload_type) or schema.top_level_schema(payload_type)


def _child(node: Node, key: str) -> Node:
    if node is None:
        return None
    keys = node.get("keys") or {}
    found: Node = keys.get(key) if isinstance(keys, dict) else None
    return found if found is not None else node.get("any")


def _is_secret(node: Node, key: str) -> bool:
    """A secret where the schema marks it, or by its name where the schema says nothing."""
    from mobileconfig.schema import is_secret_name

    return bool(node is not None and node.get("secret")) or is_secret_name(key)


def _shown(value: Any, names: Mapping[str, str], node: Node) -> Any:
    """A canonical value as JSON: references by the target's name, data by its size,
    secrets inside it hidden."""
    if isinstance(value, _Ref):
        return f"-> {names.get(value.target, value.target)}"
    if isinstance(value, _Data):
        return value.label or f"<{value.size} bytes, sha256:{value.sha256[:16]}>"
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            child = _child(node, k)
            out[k] = HIDDEN if _is_secret(child, k) else _shown(v, names, child)
        return out
    if isinstance(value, list):
        items = node.get("items") if node is not None else None
        return [_shown(v, names, items) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _diff(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    names: Mapping[str, str],
    node: Node,
    prefix: str = "",
) -> list[KeyChange]:
    out: list[KeyChange] = []
    for key in sorted(set(old) | set(new)):
        path = f"{prefix}{key}"
        child = _child(node, key)
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_diff(a, b, names, child, path + "."))
            continue
        change: Literal["added", "removed", "changed"] = (
            "added" if a is _MISSING else "removed" if b is _MISSING else "changed"
        )
        if _is_secret(child, key):
            out.append(KeyChange(path, change, secret=True))
            continue
        out.append(
            KeyChange(
                path,
                change,
                None if a is _MISSING else _shown(a, names, child),
                None if b is _MISSING else _shown(b, names, child),
            )
        )
    return out


_MISSING: Any = object()


def match(
    olds: list[Payload], news: list[Payload]
) -> tuple[list[tuple[Payload, Payload]], list[Payload], list[Payload]]:
    """Pairs (by identifier, then by type and content), then OLD's and NEW's leftovers."""
    pairs: list[tuple[Payload, Payload]] = []
    by_key: dict[str, list[Payload]] = {}
    for p in news:
        if p.key is not None:
            by_key.setdefault(p.key, []).append(p)
    rest_old: list[Payload] = []
    for p in olds:
        bucket = by_key.get(p.key or "") if p.key is not None else None
        if bucket:
            pairs.append((p, bucket.pop(0)))
        else:
            rest_old.append(p)
    taken = {id(n) for _, n in pairs}
    rest_new = [p for p in news if id(p) not in taken]
    by_content: dict[Any, list[Payload]] = {}
    for p in rest_new:
        by_content.setdefault(p.fallback, []).append(p)
    removed: list[Payload] = []
    for p in rest_old:
        bucket = by_content.get(p.fallback)
        if bucket:
            pairs.append((p, bucket.pop(0)))
        else:
            removed.append(p)
    taken = {id(n) for _, n in pairs}
    added = [p for p in news if id(p) not in taken]
    return pairs, removed, added


def diff_pair(a: Payload, b: Payload, names: Mapping[str, str]) -> list[KeyChange]:
    """The keys that differ between OLD's payload ``a`` and NEW's ``b``."""
    keys = _diff(*_comparable(a, b), names, _schema_node(b.ptype))
    if a.key != b.key:
        keys.insert(0, KeyChange("PayloadIdentifier", "changed", a.identifier, b.identifier))
    return keys


def _comparable(a: Payload, b: Payload) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two payloads' contents as compared. Identities whose certificate both sides
    know are compared by it (a PKCS#12 exported again has other bytes, the same key);
    otherwise by their bytes."""
    old, new = a.certificate, b.certificate
    if a.ptype != _PKCS12 or b.ptype != _PKCS12 or old is None or new is None:
        return a.content, b.content
    return (
        {**a.content, "PayloadContent": _Data(old.sha256, 0, f"identity {cert_label(old)}")},
        {**b.content, "PayloadContent": _Data(new.sha256, 0, f"identity {cert_label(new)}")},
    )


def whole(action: Action, p: Payload) -> Change:
    return Change(
        action,
        p.ptype,
        p.identifier,
        p.name,
        (),
        certificate_ref(p.certificate) if p.certificate is not None else None,
    )


def profile_change(before: Side, after: Side, names: Mapping[str, str]) -> Change | None:
    """The profile's own settings (display name, removal rules, scope...), as one change."""
    skip = {
        "PayloadContent",
        "EncryptedPayloadContent",
        "IsEncrypted",
        "PayloadUUID",
        "PayloadIdentifier",
    }
    a = {k: _canonical(v, {}) for k, v in before.profile.to_plist().items() if k not in skip}
    b = {k: _canonical(v, {}) for k, v in after.profile.to_plist().items() if k not in skip}
    keys = _diff(a, b, names, _schema_node("Configuration"))
    if before.info.identifier != after.info.identifier:
        keys.insert(
            0,
            KeyChange(
                "PayloadIdentifier", "changed", before.info.identifier, after.info.identifier
            ),
        )
    if not keys:
        return None
    return Change("modify", "Configuration", after.info.identifier, after.info.name, tuple(keys))
