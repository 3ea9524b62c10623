"""What a profile installs, as data, and the one verdict on it.

:func:`examine` reads everything a received profile holds and judges it: the signature and
its signer (MC201-MC209), how the file was read (MC015, MC016), Apple's schema (MC004-MC014,
and with platforms MC401-MC403), the certificates and the certificate inside every PKCS#12
opened with its embedded password (MC1xx, MC302, MC303, MC307, MC017). ``validate`` and
``inspect`` both call it, so one file gets one verdict.

Nothing shown is a secret: the keys Apple's schema marks as secrets (a PKCS#12's
``Password``, a SCEP ``Challenge``, ``SharedSecret``...) appear as ``<embedded>``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mobileconfig.errors import Location, MobileconfigError
from mobileconfig.findings import Finding, Report, make_finding, printable, summary_text
from mobileconfig.payloads.base import Profile, RawPayload
from mobileconfig.pki.certs import Certificate
from mobileconfig.reader import LoadedProfile, payload_content_problem, profile_certificates

if TYPE_CHECKING:
    from mobileconfig.cms import Signer, Verification

__all__ = [
    "SECRET_KEYS",
    "Inspection",
    "certificate_json",
    "examine",
    "inspect_profile",
    "render_text",
    "verification_json",
]


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
    """Small values as they are; data as its size; long text cut. Secrets are hidden before,
    by :func:`mobileconfig.schema.redact`."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:197] + "..."
    if isinstance(value, dict):
        if depth > 4:
            return "{...}"
        return {k: _summary_of(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth > 4:
            return "[...]"
        items = [_summary_of(v, depth + 1) for v in value[:20]]
        return items + ([f"... {len(value) - 20} more"] if len(value) > 20 else [])
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _identity(
    payload: dict[str, Any], index: int, source: str
) -> tuple[dict[str, Any], list[Certificate], list[Finding]]:
    """What a PKCS#12 payload holds, its certificate opened with the embedded password (for
    the certificate checks), and the findings on how it is embedded."""
    from mobileconfig.schema.check import describe_payload

    content = payload.get("PayloadContent")
    password = payload.get("Password")
    label = describe_payload(payload, index)
    where = Location(source)
    info: dict[str, Any] = {"password_embedded": isinstance(password, str)}
    if not isinstance(content, bytes) or not content:
        info["problem"] = "no PKCS#12 data"  # the schema check reports the key
        return info, [], []
    from mobileconfig.pki.identities import describe_pkcs12, load_pkcs12

    try:
        facts = describe_pkcs12(content, source=label)
    except MobileconfigError as exc:
        info["problem"] = exc.message
        return info, [], [make_finding("MC002", f"{label}: {exc.message}", location=where)]
    info.update({k: v for k, v in facts.items() if k != "friendly_names"})
    if not isinstance(password, str):
        info["leaf"] = "not readable without the password (the device asks for it)"
        found = make_finding(
            "MC017",
            f"{label}: no Password in the payload; the device asks for it at install, and "
            "the certificate inside could not be checked here",
            location=where,
        )
        return info, [], [found]
    try:
        ident = load_pkcs12(content, password.encode(), name=label, source=source)
    except MobileconfigError as exc:
        why = exc.message.split("): ", 1)[-1]
        info["problem"] = "cannot be opened with the password in the profile"
        found = make_finding(
            "MC307",
            f"{label}: the PKCS#12 cannot be opened with the password in the profile ({why}); "
            "the device stops with 'The password for the certificate is incorrect'",
            location=where,
        )
        return info, [], [found]
    info["leaf"] = certificate_json(ident.certificate)
    info["key"] = ident.key_description
    info["chain"] = [c.subject_text for c in ident.chain]
    leaf = copy.copy(ident.certificate)  # the opened identity is cached: name a copy
    leaf.origin, leaf.name = where, str(payload.get("PayloadDisplayName") or label)
    findings = [
        make_finding(
            "MC302",
            f"{label}: the PKCS#12 password is stored in the profile, where Apple only "
            "obfuscates it; anyone with the profile has the private key",
            certificate=ident.ref(),
            location=where,
        )
    ]
    if ident.is_modern:
        findings.append(
            make_finding(
                "MC303",
                f"{label}: the PKCS#12 is {ident.encryption} with a {ident.mac} MAC: iOS 15 to "
                "17 and macOS 12 to 15 refuse it with 'The password for the certificate is "
                "incorrect'",
                certificate=ident.ref(),
                location=where,
                fix="Export the identity again as pbeWithSHA1And3-KeyTripleDES-CBC with a SHA-1 "
                "MAC (openssl pkcs12 -export -legacy), or build the profile with mobileconfig, "
                "which re-encodes it.",
            )
        )
    return info, [leaf], findings


def _decrypt(profile: Profile, key_holder: Signer) -> tuple[Profile, str | None, list[Any] | None]:
    """The profile with its payloads decrypted, or a problem; and the payloads as read."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from mobileconfig.cms import decrypt
    from mobileconfig.render import loads

    blob = profile.encrypted_payload_content
    if blob is None:
        return profile, "the profile is marked encrypted but has no EncryptedPayloadContent", None
    key = key_holder.key
    if not isinstance(key, rsa.RSAPrivateKey):
        return profile, "encrypted profiles are opened with an RSA device key", None
    try:
        inner = decrypt(blob, key_holder.certificate, key)
        items = loads(inner, source="EncryptedPayloadContent").value
    except MobileconfigError as exc:
        return profile, f"cannot decrypt: {exc.message}", None
    if not isinstance(items, list):
        return profile, "the decrypted content is not an array of payloads", None
    problem = payload_content_problem(items)
    if problem is not None:  # ["a"], [{}]: items that are not payload dictionaries
        return profile, f"the decrypted payloads are not valid ({problem})", None
    try:
        opened = Profile.from_plist({**profile.to_plist(), "PayloadContent": items})
    except ValueError:
        return profile, "the decrypted payloads are not valid", None
    return opened, None, items


#: Reference keys that name an identity for a use (the spec's services judge the same).
_IDENTITY_USES = {
    "PayloadCertificateUUID": "client",
    "AuthenticationCertificateUUID": "client",
    "IdentityCertificateUUID": "client",
    "SMIMESigningCertificateUUID": "signing",
    "SMIMEEncryptionCertificateUUID": "encryption",
}


def _usage_findings(
    profile: Profile, identities: Mapping[str, Certificate], source: str
) -> list[Finding]:
    """MC408 for every payload that uses an identity its certificate is not made for."""
    from mobileconfig.schema.check import describe_payload
    from mobileconfig.services.base import USE_PURPOSES, usage_problems

    found: list[Finding] = []

    def walk(value: Any, path: str, label: str) -> None:
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            use = _IDENTITY_USES.get(key) if isinstance(key, str) else None
            cert = identities.get(item) if use and isinstance(item, str) else None
            if cert is not None and use is not None:
                problems = usage_problems(cert, use)
                if problems:
                    found.append(
                        make_finding(
                            "MC408",
                            f"{label}: key {where} names identity {cert.name!r} for "
                            f"{USE_PURPOSES[use]}, but " + " and ".join(problems),
                            certificate=cert.ref("identity certificate"),
                            location=Location(source),
                        )
                    )
            walk(item, where, label)

    for index, payload in enumerate(profile.payload_content):
        d = _plist_dict(payload)
        if str(d.get("PayloadType", "")).startswith("com.apple.security."):
            continue  # identity and certificate preferences name certificates, not uses
        walk(d, "", describe_payload(d, index))
    return found


@dataclass
class Inspection:
    """What :func:`examine` found: ``data`` is what ``inspect`` shows (JSON-ready), and
    ``report`` holds every finding, the verdict ``validate`` and ``inspect`` both give."""

    data: dict[str, Any]
    report: Report


def _received_duplicates(report: Report, certs: Sequence[Certificate], source: str) -> None:
    """MC001 as true for a received file: the same certificate in several payloads."""
    labels: dict[str, list[str]] = {}
    for cert in certs:
        labels.setdefault(cert.sha256, []).append(cert.name or "?")
    out: list[Finding] = []
    for f in report.findings:
        if f.code == "MC001" and f.certificate is not None:
            names = labels.get(f.certificate.sha256, [])
            f = make_finding(
                "MC001",
                f"'{f.certificate.subject}' is in {len(names)} payloads of this profile "
                f"({', '.join(repr(n) for n in names)}); the device keeps one copy",
                certificate=f.certificate,
                location=Location(source),
                fix="Remove the extra payloads: one payload per certificate is enough.",
                chain=f.chain,
            )
        out.append(f)
    report.findings = out


def examine(
    loaded: LoadedProfile,
    *,
    anchors: Sequence[Certificate] = (),
    at: dt.datetime | None = None,
    decrypt_with: Signer | None = None,
    platforms: Mapping[str, str] | None = None,
) -> Inspection:
    """Everything a profile holds and every finding on it (see the module's docstring).

    ``platforms`` maps platform names to minimum versions (``{"iOS": "16.0"}``; ``""`` for
    any version): with them, Apple's per-platform support is checked too."""
    from mobileconfig.pki.chains import validate
    from mobileconfig.schema import redact
    from mobileconfig.schema.check import check_profile

    report = Report(list(loaded.findings))
    kind = loaded.top_level_type
    out: dict[str, Any] = {
        "file": loaded.source,
        "container": loaded.container,
        "format": loaded.format,
        "type": kind,
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
    plist = dict(loaded.plist) if loaded.plist else profile.to_plist()
    if loaded.encrypted:
        if decrypt_with is None:
            out["notes"].append("payloads are encrypted: give --decrypt-with to see them")
        else:
            profile, problem, items = _decrypt(profile, decrypt_with)
            if problem:
                out["notes"].append(problem)
            else:
                plist = {**plist, "PayloadContent": items}
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
    report.extend(
        check_profile(
            plist,
            source=loaded.source,
            platforms=platforms or {},
            platform_support=bool(platforms),
        )
    )
    top = {k: v for k, v in plist.items() if k not in ("PayloadContent", "EncryptedPayloadContent")}
    out["profile"] = _summary_of(redact(top, kind))
    if kind != "Configuration" and "PayloadContent" in plist:
        # Profile Service and other shapes: their content is settings, not payloads.
        out["content"] = _summary_of(redact(plist, kind).get("PayloadContent"))
    certs, findings = profile_certificates(loaded)
    report.extend(findings)
    by_label = {c.name: c for c in certs}
    checked = list(certs)
    identities: dict[str, Certificate] = {}  # PayloadUUID of a PKCS#12 -> its certificate
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
            info, leaves, found = _identity(d, index, loaded.source)
            entry["identity"] = info
            checked.extend(leaves)
            report.extend(found)
            if leaves and isinstance(d.get("PayloadUUID"), str):
                identities[d["PayloadUUID"]] = leaves[0]
        else:
            shown = redact(d)
            entry["settings"] = _summary_of(
                {
                    k: v
                    for k, v in shown.items()
                    if not k.startswith("Payload")
                    or k in ("PayloadCertificateUUID", "PayloadCertificateAnchorUUID")
                    or (k == "PayloadContent" and isinstance(v, dict))  # SCEP's settings
                }
            )
        payloads.append(entry)
    out["payloads"] = payloads
    if identities:
        report.extend(_usage_findings(profile, identities, loaded.source))
    if checked:
        chain_report = validate(checked, at=at)
        _received_duplicates(chain_report, checked, loaded.source)
        report.merge(chain_report)
    out["findings"] = report.to_json()["findings"]
    out["summary"] = report.to_json()["summary"]
    return Inspection(out, report)


def inspect_profile(
    loaded: LoadedProfile,
    *,
    anchors: Sequence[Certificate] = (),
    at: dt.datetime | None = None,
    decrypt_with: Signer | None = None,
    platforms: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything ``mobileconfig inspect`` shows, as a JSON-ready dictionary."""
    return examine(
        loaded, anchors=anchors, at=at, decrypt_with=decrypt_with, platforms=platforms
    ).data


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
    shape = data.get("type", "Configuration")
    what = "profile" if shape == "Configuration" else f"{shape} profile"
    lines.append(f"{data['file']}: {kind} {what}, {data['format']} plist")
    for note in data["notes"]:
        lines.append(f"  note: {note}")
    top = data["profile"]
    lines.append(f"  identifier: {top.get('PayloadIdentifier')}  uuid: {top.get('PayloadUUID')}")
    if top.get("PayloadDisplayName"):
        lines.append(f"  name: {top['PayloadDisplayName']}")
    if top.get("PayloadOrganization"):
        lines.append(f"  organization: {top['PayloadOrganization']}")
    content = data.get("content")
    if isinstance(content, dict):
        for key, value in content.items():
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(f"  {key}: {text if len(text) <= 100 else text[:97] + '...'}")
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
            f"{sig['signature_algorithm']}, signed at: {sig['signing_time'] or 'not recorded'}"
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
    lines.append(summary_text(s))
    return "\n".join(lines)
