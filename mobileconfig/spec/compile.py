"""Turn a checked spec into a Profile: resolve files, bundle certificates, derive identifiers.

Ordering and naming are deterministic: roots first, then intermediates in issuing order
(ties keep the spec's order), display names from the subject CN made unique in that
order, PayloadIdentifier from the profile identifier and the certificate's SHA-256,
PayloadUUID a uuid5 of both. Adding a certificate adds one payload and leaves every
other payload as it was.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import glob
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from mobileconfig.errors import CertificateError, Location, SpecError
from mobileconfig.findings import Finding, make_finding
from mobileconfig.payloads.base import Payload, Profile, RawPayload, derive_uuid
from mobileconfig.payloads.certificates import (
    CertificatePayload,
    PEMCertificatePayload,
    PKCS1CertificatePayload,
    RootCertificatePayload,
)
from mobileconfig.pki.certs import Certificate, load_certificate_file
from mobileconfig.pki.paths import issuer_depths
from mobileconfig.services.base import CompileContext
from mobileconfig.services.references import CertRef, IdentityRef, References
from mobileconfig.services.registry import SERVICES, compile_stage
from mobileconfig.services.removal import RemovalPassword
from mobileconfig.spec.load import LoadedYAML, load_yaml, read_spec_text
from mobileconfig.spec.model import (
    CertificateEntry,
    ProfileSpec,
    parse_duration,
    parse_time,
)

__all__ = [
    "BundledCertificate",
    "CompiledProfile",
    "SpecSource",
    "check_spec",
    "compile_spec",
    "load_spec",
    "read_spec",
    "spec_from_mapping",
]

CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der", ".p7b", ".p7c", ".cert"}
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass
class SpecSource:
    """A spec that passed the model checks, with where it came from."""

    spec: ProfileSpec
    loaded: LoadedYAML
    base_dir: Path

    @property
    def file(self) -> str:
        return self.loaded.file

    def location(self, *path: str | int) -> Location:
        return self.loaded.location(path)


@dataclass
class BundledCertificate:
    certificate: Certificate
    payload_kind: str  # root | pkcs1 | pem
    location: Location


@dataclass
class CompiledProfile:
    """The Profile model and what went into it."""

    profile: Profile
    certificates: list[BundledCertificate]
    findings: list[Finding] = field(default_factory=list)
    source: SpecSource | None = None
    leaves: list[Certificate] = field(default_factory=list)  # identities' own certificates
    identities: dict[str, IdentityRef] = field(default_factory=dict)  # by name


def read_spec(path: str | Path, *, display: str | None = None) -> tuple[LoadedYAML, Path]:
    """Parse a spec file's YAML (not yet checked); the folder its paths are relative to."""
    p = Path(path)
    shown = display or str(path)
    text = read_spec_text(p, shown)
    return load_yaml(text, file=shown), p.resolve().parent


def load_spec(
    path: str | Path,
    *,
    display: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> SpecSource:
    """Read, render and check a spec file. Raises :class:`SpecError` naming the file and line."""
    loaded, base = read_spec(path, display=display)
    return check_spec(loaded, base, variables)


def spec_from_mapping(
    data: Mapping[str, Any],
    *,
    base_dir: str | Path = ".",
    file: str = "<spec>",
    variables: Mapping[str, Any] | None = None,
) -> SpecSource:
    """Check a spec given as a dictionary (the library API's entry point)."""
    return check_spec(LoadedYAML(dict(data), file, {(): 1}), Path(base_dir).resolve(), variables)


def check_spec(
    loaded: LoadedYAML, base_dir: Path, variables: Mapping[str, Any] | None = None
) -> SpecSource:
    """Render templated values with ``variables`` (always: an undefined one is an error),
    then check the result against :class:`ProfileSpec`."""
    from mobileconfig.spec.template import has_templates, render_values

    if has_templates(loaded.value):
        loaded = render_values(loaded, variables or {})
    return _check(loaded, base_dir)


def _check(loaded: LoadedYAML, base_dir: Path) -> SpecSource:
    if not isinstance(loaded.value, dict):
        raise SpecError(
            "a spec must be a YAML mapping (key: value lines) at the top",
            location=loaded.location(()),
        )
    try:
        spec = ProfileSpec.model_validate(loaded.value, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise _spec_error(exc, loaded) from None
    sections = (
        spec.certificates,
        spec.payloads,
        *(getattr(spec, s.key) for s in SERVICES if s.shape != "profile"),
    )
    if not any(sections) and spec.removal in ("allowed", "disallowed"):
        raise SpecError(
            "the profile has no content: list the certificates to install",
            location=loaded.location(("certificates",)),
            hint="e.g. certificates: [certs/*.pem]",
        )
    return SpecSource(spec, loaded, base_dir)


# -- pydantic errors into one line naming the place ---------------------------------


def _spec_error(exc: ValidationError, loaded: LoadedYAML) -> SpecError:
    errors = [(_navigable(e["loc"], loaded.value), e) for e in exc.errors()]

    def rank(item: tuple[tuple[str | int, ...], Any]) -> tuple[int, int]:
        loc, e = item
        kind = e["type"]
        target = _value_at(loaded.value, loc)
        mismatch = kind.endswith("_type") and isinstance(target, dict | list)
        return ({"extra_forbidden": 0, "missing": 1}.get(kind, 3 if mismatch else 2), -len(loc))

    loc, err = sorted(errors, key=rank)[0]
    where = loaded.location(loc)
    dotted = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = _valid_keys(loc[:-1])
        near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = (
            f"did you mean {near[0]!r}?"
            if near
            else (f"valid keys here: {', '.join(sorted(valid))}" if valid else None)
        )
        return SpecError(f"unknown key {key!r}", location=where, hint=hint)
    if kind == "missing":
        return SpecError(f"missing required key {dotted!r}", location=where)
    msg = str(err["msg"]).removeprefix("Value error, ")
    what = f"{dotted}: " if dotted else ""
    return SpecError(f"{what}{msg}", location=where)


def _navigable(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and isinstance(part, str) and (part in cur or part == loc[-1]):
            out.append(part)
            cur = cur.get(part)
        elif isinstance(cur, list) and isinstance(part, int):
            out.append(part)
            cur = cur[part] if part < len(cur) else None
        # anything else is pydantic's name for a union branch: skip it
    return tuple(out)


def _value_at(data: Any, loc: tuple[str | int, ...]) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _valid_keys(loc: tuple[str | int, ...]) -> list[str]:
    models: list[type[BaseModel]] = [ProfileSpec]
    for part in loc:
        if isinstance(part, int):
            continue
        nxt: list[type[BaseModel]] = []
        for m in models:
            for fname, info in m.model_fields.items():
                if part in (fname, info.alias):
                    nxt.extend(_models_in(info.annotation))
        models = nxt
    return sorted({info.alias or fname for m in models for fname, info in m.model_fields.items()})


# -- certificates --------------------------------------------------------------------


def expand_entry(
    entry: CertificateEntry, src: SpecSource, where: Location
) -> list[tuple[Path, str]]:
    raw = entry.path
    base = src.base_dir
    pattern = raw if Path(raw).is_absolute() else str(base / raw)
    if _GLOB_CHARS.search(raw):
        matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        matches = [p for p in matches if p.suffix.lower() in CERT_SUFFIXES or not p.suffix]
        if not matches:
            raise SpecError(
                f"{raw!r} matches no certificate file",
                location=where,
                hint="check the pattern; paths are relative to the spec's folder",
            )
        return [(p, _display(p, base)) for p in matches]
    path = Path(pattern)
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in CERT_SUFFIXES
        )
        if not files:
            raise SpecError(
                f"folder {raw!r} holds no certificate files ({', '.join(sorted(CERT_SUFFIXES))})",
                location=where,
            )
        return [(p, _display(p, base)) for p in files]
    if not path.exists():
        raise SpecError(
            f"certificate file {raw!r} not found",
            location=where,
            hint="paths are relative to the spec's folder",
        )
    return [(path, _display(path, base))]


def _display(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path)


CertificateLoader = Callable[[Path, str], list[Certificate]]
#: Expands one certificates: entry to its files (path, name shown in messages).
EntryExpander = Callable[[CertificateEntry, "SpecSource", Location], list[tuple[Path, str]]]


def _load_file(path: Path, shown: str) -> list[Certificate]:
    return load_certificate_file(path, display=shown)


def collect_certificates(
    src: SpecSource,
    load: CertificateLoader = _load_file,
    expand: EntryExpander | None = None,
) -> tuple[list[BundledCertificate], list[Finding]]:
    """Every certificate the spec lists, once each (duplicates reported as MC001).

    ``load`` reads one file; a caller that builds many profiles passes a caching one.
    The certificates returned are this build's own copies (origin and name set), so a
    cache's objects are never changed."""
    seen: dict[str, BundledCertificate] = {}
    findings: list[Finding] = []
    for index, item in enumerate(src.spec.certificates):
        entry = item if isinstance(item, CertificateEntry) else CertificateEntry(path=item)
        where = src.location("certificates", index)
        for path, shown in (expand or expand_entry)(entry, src, where):
            try:
                certs = [copy.copy(c) for c in load(path, shown)]
            except CertificateError as exc:
                raise CertificateError(
                    f"{exc.location or shown}: {exc.message}", location=where, hint=exc.hint
                ) from None
            for cert in certs:
                cert.origin = where
                if cert.sha256 in seen:
                    first = seen[cert.sha256]
                    findings.append(
                        make_finding(
                            "MC001",
                            f"'{cert.display_name}' from {shown} is listed again "
                            f"(first at {first.location}); it is installed once",
                            certificate=cert.ref("duplicate"),
                            location=where,
                        )
                    )
                    continue
                if entry.name:
                    cert.name = entry.name if len(certs) == 1 else None
                kind = entry.payload
                if kind == "auto":
                    kind = "root" if cert.self_signed and cert.is_ca else "pkcs1"
                seen[cert.sha256] = BundledCertificate(cert, kind, where)
    return _ordered(list(seen.values())), findings


def _ordered(items: list[BundledCertificate]) -> list[BundledCertificate]:
    """Roots first, then each intermediate after its issuer; ties keep the spec's order.
    (Iterative: a chain of hundreds of certificates or a cross-signed mesh costs its links.)"""
    depth = issuer_depths(b.certificate for b in items)
    order = {b.certificate.sha256: n for n, b in enumerate(items)}
    return sorted(items, key=lambda b: (depth[b.certificate.sha256], order[b.certificate.sha256]))


def _file_name(label: str, suffix: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.") or "certificate"
    return f"{slug[:80]}{suffix}"


def certificate_payloads(
    identifier: str, bundle: list[BundledCertificate]
) -> list[CertificatePayload]:
    names: set[str] = set()
    out: list[CertificatePayload] = []
    for b in bundle:
        cert = b.certificate
        label = cert.name or cert.display_name
        unique_label, n = label, 2
        while unique_label in names:
            unique_label, n = f"{label} ({n})", n + 1
        names.add(unique_label)
        pid = f"{identifier}.certificate.{cert.sha256[:32]}"
        common: dict[str, Any] = {
            "PayloadIdentifier": pid,
            "PayloadUUID": derive_uuid(identifier, pid),
            "PayloadDisplayName": unique_label,
            "PayloadDescription": f"Issued by {cert.issuer_common_name or cert.issuer_text}; "
            f"expires {cert.not_after:%Y-%m-%d}",
        }
        cls: type[CertificatePayload]
        if b.payload_kind == "pem":
            cls, content, suffix = PEMCertificatePayload, cert.to_pem(), ".pem"
        elif b.payload_kind == "root":
            cls, content, suffix = RootCertificatePayload, cert.der, ".cer"
        else:
            cls, content, suffix = PKCS1CertificatePayload, cert.der, ".cer"
        payload = cls.model_validate(
            {
                **common,
                "PayloadType": cls.PAYLOAD_TYPE,
                "PayloadContent": content,
                "PayloadCertificateFileName": _file_name(unique_label, suffix),
            }
        )
        out.append(payload)
    return out


def raw_payloads(identifier: str, items: list[dict[str, Any]]) -> list[RawPayload]:
    counts: dict[str, int] = {}
    out = []
    for item in items:
        ptype = str(item["PayloadType"])
        counts[ptype] = counts.get(ptype, 0) + 1
        data = dict(item)
        pid = data.setdefault("PayloadIdentifier", f"{identifier}.{ptype}.{counts[ptype]}")
        data.setdefault("PayloadUUID", derive_uuid(identifier, str(pid)))
        data.setdefault("PayloadVersion", 1)
        data.setdefault("PayloadDisplayName", ptype.rsplit(".", 1)[-1])
        out.append(RawPayload.model_validate(data))
    return out


def certificate_references(identifier: str, bundle: list[BundledCertificate]) -> dict[str, CertRef]:
    """The names services use for certificates: their explicit name, their CN and their
    (unique) display name. The first certificate to claim a name keeps it, so a re-keyed CA's
    CN names the generation listed first."""
    refs: dict[str, CertRef] = {}
    for b in bundle:
        cert = b.certificate
        pid = f"{identifier}.certificate.{cert.sha256[:32]}"
        ref = CertRef(derive_uuid(identifier, pid), cert, cert.is_ca)
        for label in (cert.name, cert.common_name, cert.display_name):
            if label and label not in refs:
                refs[label] = ref
    return refs


def compile_spec(
    src: SpecSource,
    *,
    load: CertificateLoader = _load_file,
    expand: EntryExpander | None = None,
    at: dt.datetime | None = None,
) -> CompiledProfile:
    """Build the Profile model for a checked spec. Chain checks are not done here; the
    checks that need the compiled references (servers, platforms) are, at ``at``."""
    spec = src.spec
    bundle, findings = collect_certificates(src, load, expand)
    ctx = CompileContext(
        References(),
        identifier=spec.identifier,
        platforms=spec.platforms,
        base_dir=src.base_dir,
        location=src.location,
        at=at or parse_time(spec.validate_.at),
        expiry_warning=parse_duration(spec.validate_.expiry_warning),
    )
    # Identities first: they name what the other services refer to, and a PKCS#12 may bring
    # an intermediate the profile must install too.
    enrolled = compile_stage(ctx, spec, "identities")
    known = {b.certificate.sha256 for b in bundle}
    for brought in ctx.brought:
        cert = brought.certificate
        if cert.sha256 in known or (cert.self_signed and not cert.is_ca):
            continue
        known.add(cert.sha256)
        kind = "root" if cert.self_signed and cert.is_ca else "pkcs1"
        bundle.append(BundledCertificate(cert, kind, brought.location))
        ctx.findings.append(brought.finding)
    bundle = _ordered(bundle)
    ctx.refs.certificates = certificate_references(spec.identifier, bundle)
    payloads: list[Payload | RawPayload] = []
    payloads.extend(certificate_payloads(spec.identifier, bundle))
    payloads.extend(enrolled)
    payloads.extend(compile_stage(ctx, spec, "services"))
    findings.extend(ctx.findings)
    removal_password = spec.removal.password if isinstance(spec.removal, RemovalPassword) else None
    payloads.extend(raw_payloads(spec.identifier, spec.payloads))
    top: dict[str, Any] = {
        "PayloadIdentifier": spec.identifier,
        "PayloadUUID": derive_uuid(spec.identifier),
        "PayloadDisplayName": spec.name,
        "PayloadOrganization": spec.organization,
        "PayloadDescription": spec.description,
        "PayloadScope": {"system": "System", "user": "User"}.get(spec.scope or ""),
        "PayloadRemovalDisallowed": True if spec.removal == "disallowed" else None,
        "HasRemovalPasscode": True if removal_password is not None else None,
        "TargetDeviceType": spec.target_device_type,
        "DurationUntilRemoval": spec.duration_until_removal,
        "PayloadContent": payloads,
    }
    if spec.consent_text is not None:
        top["ConsentText"] = (
            {"default": spec.consent_text}
            if isinstance(spec.consent_text, str)
            else spec.consent_text
        )
    if spec.removal_date is not None:
        when = parse_time(spec.removal_date)
        top["RemovalDate"] = when.replace(tzinfo=None) if when else None
    profile = Profile.model_validate({k: v for k, v in top.items() if v is not None})
    return CompiledProfile(profile, bundle, findings, src, ctx.leaves, ctx.refs.identities)
