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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mobileconfig.errors import CertificateError, Location, SpecError
from mobileconfig.files import MAX_GLOB_ENTRIES, GlobTooBroad, bounded_glob, path_problem
from mobileconfig.findings import Finding, make_finding
from mobileconfig.mdm import scan_values
from mobileconfig.payloads.base import Payload, Profile, RawPayload, derive_uuid
from mobileconfig.payloads.certificates import (
    CertificatePayload,
    PEMCertificatePayload,
    PKCS1CertificatePayload,
    RootCertificatePayload,
)
from mobileconfig.pki.certs import MAX_CERTIFICATES_PER_FILE, Certificate, load_certificate_file
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
from mobileconfig.spec.problems import spec_problems

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
    #: The compile context as the services left it (references, identifier, platforms):
    #: a caller that compiles one service section again (the builder's per-row fill) uses it.
    context: CompileContext | None = field(default=None, repr=False)


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
    then check the result against :class:`ProfileSpec`.

    With ``mdm:`` naming an MDM whose variables look like Jinja2 (Intune, SimpleMDM), its
    ``{{name}}`` placeholders are made literal first (mobileconfig.mdm.protect_values)."""
    from mobileconfig.mdm import protect_values, spec_mdm
    from mobileconfig.spec.template import has_templates, render_values

    if has_templates(loaded.value):
        mdm_key = spec_mdm(loaded.value)
        if mdm_key is not None:
            protected = protect_values(loaded.value, mdm_key, template_names=variables or {})
            loaded = LoadedYAML(protected, loaded.file, loaded.lines)
        try:
            loaded = render_values(loaded, variables or {})
        except SpecError as exc:
            raise _maybe_mdm(exc, mdm_key) from None
    return _check(loaded, base_dir)


def _maybe_mdm(exc: SpecError, mdm_key: str | None) -> SpecError:
    """An undefined ``{{name}}`` that an MDM documents: say which ``mdm:`` would keep it."""
    from mobileconfig.mdm import guess_mdms

    prefix = "undefined variable in template: "
    if mdm_key is not None or not exc.message.startswith(prefix):
        return exc
    name = exc.message.removeprefix(prefix).strip("'\"")
    hits = [m for m in guess_mdms("{{" + name + "}}") if m in ("intune", "simplemdm")]
    if hits:
        exc.hint = (
            f"{{{{{name}}}}} is a variable of {hits[0]}: set mdm: {hits[0]} (or --mdm "
            f"{hits[0]}) to keep it for the MDM, or pass it with --var NAME=VALUE"
        )
    return exc


def with_mdm(loaded: LoadedYAML, mdm_key: str | None) -> LoadedYAML:
    """``loaded`` with ``mdm:`` set to ``mdm_key`` (``--mdm``), which wins over the spec's."""
    if mdm_key is None or not isinstance(loaded.value, dict):
        return loaded
    return LoadedYAML({**loaded.value, "mdm": mdm_key}, loaded.file, loaded.lines)


def _check(loaded: LoadedYAML, base_dir: Path) -> SpecSource:
    if not isinstance(loaded.value, dict):
        raise SpecError(
            "a spec must be a YAML mapping (key: value lines) at the top",
            location=loaded.location(()),
        )
    try:
        spec = ProfileSpec.model_validate(loaded.value, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise spec_problems(exc, loaded, ProfileSpec) from None
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


# -- certificates --------------------------------------------------------------------


def expand_entry(
    entry: CertificateEntry, src: SpecSource, where: Location
) -> list[tuple[Path, str]]:
    raw = entry.path
    base = src.base_dir
    problem = path_problem(raw)
    if problem:
        raise SpecError(f"certificate path {raw!r} {problem}", location=where)
    pattern = raw if Path(raw).is_absolute() else str(base / raw)
    if _GLOB_CHARS.search(raw):
        try:  # bounded: '/**' would walk the whole disk, a link loop for ever
            found = bounded_glob(pattern)
        except GlobTooBroad:
            raise SpecError(
                f"{raw!r} looks at more than {MAX_GLOB_ENTRIES} files and folders",
                location=where,
                hint="narrow the pattern to the folder that holds the certificates",
            ) from None
        matches = [p for p in found if _is_file(p)]
        matches = [p for p in matches if p.suffix.lower() in CERT_SUFFIXES or not p.suffix]
        if not matches:
            raise SpecError(
                f"{raw!r} matches no certificate file",
                location=where,
                hint="check the pattern; paths are relative to the spec's folder",
            )
        return [(p, _display(p, base)) for p in matches]
    path = Path(pattern)
    if _is_dir(path, where):
        files = sorted(
            p for p in path.iterdir() if _is_file(p) and p.suffix.lower() in CERT_SUFFIXES
        )
        if not files:
            raise SpecError(
                f"folder {raw!r} holds no certificate files ({', '.join(sorted(CERT_SUFFIXES))})",
                location=where,
            )
        return [(p, _display(p, base)) for p in files]
    if not path.exists() and not path.is_symlink():  # a link loop is read, and says so
        raise SpecError(
            f"certificate file {raw!r} not found",
            location=where,
            hint="paths are relative to the spec's folder",
        )
    return [(path, _display(path, base))]


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long, a link loop: not a file to read
        return False


def _is_dir(path: Path, where: Location) -> bool:
    try:
        return path.is_dir()
    except OSError as exc:
        raise SpecError(
            f"certificate path {str(path)!r} cannot be read: {exc.strerror}", location=where
        ) from None


def _display(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symbolic link loop
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
            if len(seen) + len(certs) > MAX_CERTIFICATES_PER_FILE:
                raise SpecError(
                    f"the spec's certificates come to more than {MAX_CERTIFICATES_PER_FILE}",
                    location=where,
                    hint="keep only the certificates the profile needs",
                )
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
        platforms=spec.platform_names,
        base_dir=src.base_dir,
        location=src.location,
        at=at or parse_time(spec.validate_.at),
        expiry_warning=parse_duration(spec.validate_.expiry_warning),
        mdm=spec.mdm,
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
    findings.extend(
        scan_values(
            src.loaded.value,
            spec.mdm,
            declared=spec.mdm_variables,
            locate=src.loaded.location,
        )
    )
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
    return CompiledProfile(
        profile, bundle, findings, src, ctx.leaves, ctx.refs.identities, context=ctx
    )
