"""What a profile installs, as data: container, signer, payloads, certificates, identities.

``inspect_profile`` never shows a secret: a PKCS#12's ``Password``, a SCEP ``Challenge``
or an ACME ``ClientIdentifier`` appear only as "embedded" / "not embedded".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mobileconfig.errors import MobileconfigError
from mobileconfig.findings import Report, printable
from mobileconfig.payloads.base import Profile, RawPayload
from mobileconfig.pki.certs import Certificate
from mobileconfig.reader import LoadedProfile, profile_certificates

if TYPE_CHECKING:
    from mobileconfig.cms import Signer, Verification

__all__ = ["SECRET_KEYS", "certificate_json", "inspect_profile", "render_text", "verification_json"]


def _model_secret_keys() -> frozenset[str]:
    """Apple keys of every modelled field marked ``repr=False`` (how the models flag a
    secret), PKCS#12 data aside: what the models know to hide, kept in one place."""
    import typing

    from pydantic import BaseModel

    from mobileconfig.payloads.base import payload_classes

    keys: set[str] = set()
    seen: set[type] = set()
    todo: list[type[BaseModel]] = list(payload_classes())
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            if info.repr is False and not (info.alias or name).startswith("Payload"):
                keys.add(info.alias or name)
            for arg in (info.annotation, *typing.get_args(info.annotation)):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    todo.append(arg)
    return frozenset(keys)


#: Payload keys whose values are secrets: shown as present, never as values. Those the
#: models mark, plus the usual names in payloads from other tools that we do not model.
SECRET_KEYS = _model_secret_keys() | {"Password", "EncryptionPassword", "PIN", "Passphrase"}


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return key in SECRET_KEYS or "password" in lowered or "secret" in lowered


def certificate_json(cert: Certificate) -> dict[str, Any]:
    return {
        "subject": cert.subject_text,
        "issuer": cert.issuer_text,
        "serial": format(cert.serial_number, "X"),
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "sha256": cert.sha256,
        "key": cert.key_description,
        "signature": cert.signature_algorithm,
        "ca": cert.is_ca,
        "self_signed": cert.self_signed,
    }


def verification_json(v: Verification) -> dict[str, Any]:
    return {
        "status": v.status,
        "reason": v.reason,
        "digest_algorithm": v.digest_algorithm,
        "signature_algorithm": v.signature_algorithm,
        "signer": certificate_json(v.signer) if v.signer else None,
        "chain": [certificate_json(c) for c in v.chain],
    }


def _plist_dict(payload: Any) -> dict[str, Any]:
    data: dict[str, Any] = payload.to_plist()
    return data


def _summary_of(value: Any, depth: int = 0) -> Any:
    """Small values as they are; data as its size; long text cut; secrets hidden."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:197] + "..."
    if isinstance(value, dict):
        if depth > 4:
            return "{...}"
        return {
            k: ("<embedded>" if _is_secret(k) else _summary_of(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list):
        if depth > 4:
            return "[...]"
        items = [_summary_of(v, depth + 1) for v in value[:20]]
        return items + ([f"... {len(value) - 20} more"] if len(value) > 20 else [])
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _identity(payload: dict[str, Any]) -> dict[str, Any]:
    content = payload.get("PayloadContent")
    info: dict[str, Any] = {"password_embedded": "Password" in payload}
    if not isinstance(content, bytes):
        info["problem"] = "no PKCS#12 data"
        return info
    try:
        from mobileconfig.pki.identities import describe_pkcs12, load_pkcs12

        facts = describe_pkcs12(content)
        info.update({k: v for k, v in facts.items() if k != "friendly_names"})
        password = payload.get("Password")
        if isinstance(password, str):
            ident = load_pkcs12(
                content,
                password.encode(),
                name=str(payload.get("PayloadDisplayName", "identity")),
                source="payload",
            )
            info["leaf"] = certificate_json(ident.certificate)
            info["key"] = ident.key_description
            info["chain"] = [c.subject_text for c in ident.chain]
        else:
            info["leaf"] = "not readable without the password (the device asks for it)"
    except MobileconfigError as exc:
        info["problem"] = exc.message
    return info


def _decrypt(profile: Profile, key_holder: Signer) -> tuple[Profile, str | None]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from mobileconfig.cms import decrypt
    from mobileconfig.render import loads

    blob = profile.encrypted_payload_content
    if blob is None:
        return profile, "the profile is marked encrypted but has no EncryptedPayloadContent"
    key = key_holder.key
    if not isinstance(key, rsa.RSAPrivateKey):
        return profile, "encrypted profiles are opened with an RSA device key"
    try:
        inner = decrypt(blob, key_holder.certificate, key)
        items = loads(inner, source="EncryptedPayloadContent").value
    except MobileconfigError as exc:
        return profile, f"cannot decrypt: {exc.message}"
    if not isinstance(items, list):
        return profile, "the decrypted content is not an array of payloads"
    try:
        opened = Profile.from_plist({**profile.to_plist(), "PayloadContent": items})
    except ValueError as exc:  # ["a"], [{}]: items that are not payload dictionaries
        reason = str(exc).splitlines()
        detail = reason[1].strip() if len(reason) > 1 else "not payload dictionaries"
        return profile, f"the decrypted payloads are not valid ({detail})"
    return opened, None


def inspect_profile(
    loaded: LoadedProfile,
    *,
    anchors: Sequence[Certificate] = (),
    at: dt.datetime | None = None,
    decrypt_with: Signer | None = None,
) -> dict[str, Any]:
    """Everything ``mobileconfig inspect`` shows, as a JSON-ready dictionary."""
    from mobileconfig.pki.chains import validate

    report = Report()
    out: dict[str, Any] = {
        "file": loaded.source,
        "container": loaded.container,
        "format": loaded.format,
        "encrypted": loaded.encrypted,
        "notes": list(loaded.notes),
    }
    if loaded.signed is not None:
        from mobileconfig.cms import verify

        v = verify(loaded.signed, anchors=anchors, at=at)
        sig = verification_json(v)
        sig["signing_time"] = (
            loaded.signed.signing_time.isoformat() if loaded.signed.signing_time else None
        )
        sig["certificates_as_sent"] = [c.subject_text for c in loaded.signed.certificates]
        out["signature"] = sig
        report.extend(v.findings)
    profile = loaded.profile
    if loaded.encrypted:
        if decrypt_with is None:
            out["notes"].append("payloads are encrypted: give --decrypt-with to see them")
        else:
            profile, problem = _decrypt(profile, decrypt_with)
            if problem:
                out["notes"].append(problem)
            else:
                loaded = LoadedProfile(
                    loaded.source,
                    loaded.container,
                    loaded.format,
                    profile,
                    loaded.content,
                    loaded.signed,
                    loaded.damaged,
                    loaded.notes,
                )
    top = {
        k: v
        for k, v in profile.to_plist().items()
        if k not in ("PayloadContent", "EncryptedPayloadContent")
    }
    out["profile"] = _summary_of(top)
    certs, findings = profile_certificates(loaded)
    report.extend(findings)
    by_label = {c.name: c for c in certs}
    payloads = []
    for index, payload in enumerate(profile.payload_content):
        d = _plist_dict(payload)
        ptype = d.get("PayloadType", "?")
        entry: dict[str, Any] = {
            "index": index,
            "type": ptype,
            "identifier": d.get("PayloadIdentifier"),
            "uuid": d.get("PayloadUUID"),
            "display_name": d.get("PayloadDisplayName"),
            "modelled": not isinstance(payload, RawPayload),
        }
        label = d.get("PayloadDisplayName") or d.get("PayloadIdentifier") or f"payload {index}"
        if ptype in (
            "com.apple.security.root",
            "com.apple.security.pkcs1",
            "com.apple.security.pem",
        ):
            cert = by_label.get(label)
            entry["certificate"] = certificate_json(cert) if cert else None
        elif ptype == "com.apple.security.pkcs12":
            entry["identity"] = _identity(d)
        else:
            entry["settings"] = _summary_of(
                {
                    k: v
                    for k, v in d.items()
                    if not k.startswith("Payload")
                    or k in ("PayloadCertificateUUID", "PayloadCertificateAnchorUUID")
                    or (k == "PayloadContent" and isinstance(v, dict))  # SCEP's settings
                }
            )
        payloads.append(entry)
    out["payloads"] = payloads
    if certs:
        report.merge(validate(certs, at=at))
    out["findings"] = report.to_json()["findings"]
    out["summary"] = report.to_json()["summary"]
    return out


def _printable_tree(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _printable_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable_tree(v) for v in value]
    return value


def render_text(data: dict[str, Any]) -> str:
    """The text form of :func:`inspect_profile`'s result, for a terminal. Every string from
    the profile has its control characters escaped first, so a crafted name cannot forge a
    line ("signature: trusted") or send terminal escapes."""
    data = _printable_tree(data)
    lines: list[str] = []
    kind = data["container"] + (", encrypted" if data["encrypted"] else "")
    lines.append(f"{data['file']}: {kind} profile, {data['format']} plist")
    for note in data["notes"]:
        lines.append(f"  note: {note}")
    top = data["profile"]
    lines.append(f"  identifier: {top.get('PayloadIdentifier')}  uuid: {top.get('PayloadUUID')}")
    if top.get("PayloadDisplayName"):
        lines.append(f"  name: {top['PayloadDisplayName']}")
    if top.get("PayloadOrganization"):
        lines.append(f"  organization: {top['PayloadOrganization']}")
    sig = data.get("signature")
    if sig:
        lines.append(f"signature: {sig['status']}: {sig['reason']}")
        if sig["signer"]:
            s = sig["signer"]
            lines.append(f"  signer: {s['subject']}")
            lines.append(f"    issuer: {s['issuer']}")
            lines.append(f"    valid: {s['not_before']} to {s['not_after']}")
        lines.append(
            f"  digest: {sig['digest_algorithm']}, signature: "
            f"{sig['signature_algorithm']}, signed at: {sig['signing_time']}"
        )
        lines.append(f"  certificates as sent: {len(sig['certificates_as_sent'])}")
        for name in sig["certificates_as_sent"]:
            lines.append(f"    - {name}")
    lines.append(f"payloads: {len(data['payloads'])}")
    for p in data["payloads"]:
        lines.append(f"  [{p['index']}] {p['type']}: {p['display_name'] or p['identifier']}")
        cert = p.get("certificate")
        if cert:
            lines.append(f"      subject: {cert['subject']}")
            lines.append(f"      issuer: {cert['issuer']}")
            lines.append(f"      expires: {cert['not_after']}  sha256: {cert['sha256']}")
        for key, value in (p.get("settings") or {}).items():
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(f"      {key}: {text if len(text) <= 100 else text[:97] + '...'}")
        ident = p.get("identity")
        if ident:
            leaf = ident.get("leaf")
            if isinstance(leaf, dict):
                lines.append(
                    f"      leaf: {leaf['subject']} (issuer {leaf['issuer']}, "
                    f"expires {leaf['not_after']}, {ident.get('key')})"
                )
            elif leaf:
                lines.append(f"      leaf: {leaf}")
            lines.append(
                f"      encryption: {ident.get('encryption')}, MAC: {ident.get('mac')}, "
                f"password embedded: {'yes' if ident['password_embedded'] else 'no'}"
            )
            if ident.get("problem"):
                lines.append(f"      problem: {ident['problem']}")
    findings = data["findings"]
    if findings:
        lines.append("findings:")
        for f in findings:
            where = f"{f['location']}: " if f.get("location") else ""
            lines.append(f"  {where}{f['severity']} {f['code']}: {f['message']}")
            lines.append(f"      fix: {f['fix']}")
    s = data["summary"]
    lines.append(f"{s['errors']} error(s), {s['warnings']} warning(s), {s['info']} info")
    return "\n".join(lines)
