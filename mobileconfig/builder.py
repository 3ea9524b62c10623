"""Build a profile from a spec: render, compile, check, render the plist, sign.

:class:`Builder` reads a spec once and builds as many profiles as asked, in memory,
with no files written and no subprocesses: certificate files are parsed once, chain
checks of an unchanged bundle are done once, and the signer is loaded once. It is safe
to call from several threads.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobileconfig.errors import Location, MobileconfigError
from mobileconfig.findings import Report
from mobileconfig.pki.certs import Certificate, load_certificate_file
from mobileconfig.render import PlistFormat, dumps, dumps_array
from mobileconfig.spec.compile import (
    CompiledProfile,
    SpecSource,
    check_spec,
    compile_spec,
    expand_entry,
    read_spec,
)
from mobileconfig.spec.load import LoadedYAML
from mobileconfig.spec.model import CertificateEntry, parse_duration, parse_time
from mobileconfig.spec.template import has_templates

if TYPE_CHECKING:
    from mobileconfig.cms import Signer

__all__ = ["BuildResult", "Builder", "build"]


@dataclass
class BuildResult:
    """The profile's bytes and the report of the checks that let it through."""

    data: bytes
    report: Report
    compiled: CompiledProfile
    signed: bool = False
    encrypted: bool = False

    @property
    def holds_private_key(self) -> bool:
        """True when the profile carries a private key readable without a device key
        (a PKCS#12 payload in clear); such files are written 0600."""
        if self.encrypted:
            return False
        return any(
            getattr(p, "payload_type", "") == "com.apple.security.pkcs12"
            for p in self.compiled.profile.payload_content
        )


class Builder:
    """A spec read once, built many times (per user, per device).

    A Builder snapshots what it reads: the spec, which files each certificates: entry names
    (globs are expanded once), and each certificate file (parsed once; re-read only if its
    size or time changes). Make a new Builder to pick up added files.

    ``spec`` is a path to a YAML file, a mapping (the spec as a dictionary: give
    ``base_dir`` for its relative paths), or a :class:`SpecSource`.
    """

    def __init__(
        self,
        spec: str | os.PathLike[str] | Mapping[str, Any] | SpecSource,
        *,
        base_dir: str | os.PathLike[str] = ".",
        signer: Signer | None = None,
    ) -> None:
        self._fixed: SpecSource | None = None
        if isinstance(spec, SpecSource):
            self._loaded, self._base, self._fixed = spec.loaded, spec.base_dir, spec
        elif isinstance(spec, Mapping):
            self._loaded = LoadedYAML(dict(spec), "<spec>", {(): 1})
            self._base = Path(base_dir).resolve()
        else:
            self._loaded, self._base = read_spec(Path(spec))
        self.templated = has_templates(self._loaded.value)
        if self._fixed is None and not self.templated:
            self._fixed = check_spec(self._loaded, self._base)
        self.signer = signer
        self._lock = threading.Lock()
        self._files: dict[tuple[str, int, int], list[Certificate]] = {}
        self._checks: dict[tuple[Any, ...], Report] = {}
        self._signers: dict[str, Signer | None] = {}
        self._expanded: dict[tuple[str, str], list[tuple[Path, str]]] = {}
        self._now = dt.datetime.now(dt.UTC)

    # -- inputs ----------------------------------------------------------------------
    @property
    def file(self) -> str:
        return self._loaded.file

    def source(self, variables: Mapping[str, Any] | None = None) -> SpecSource:
        """The checked spec for these variables (the same object when nothing is templated)."""
        if self._fixed is not None:
            return self._fixed
        return check_spec(self._loaded, self._base, variables or {})

    def _load(self, path: Path, shown: str) -> list[Certificate]:
        try:
            st = path.stat()
            key = (str(path), st.st_mtime_ns, st.st_size)
        except OSError:
            return load_certificate_file(path, display=shown)  # raises the right error
        with self._lock:
            cached = self._files.get(key)
        if cached is None:
            cached = load_certificate_file(path, display=shown)
            for cert in cached:
                # Compute once what every build asks, so the per-build copies inherit it.
                _ = (
                    cert.sha256,
                    cert.self_signed,
                    cert.is_ca,
                    cert.display_name,
                    cert.subject_der,
                    cert.issuer_der,
                    cert.authority_key_identifier,
                    cert.subject_key_identifier,
                    cert.not_after,
                    cert.common_name,
                )
            with self._lock:
                self._files[key] = cached
        return cached

    # -- steps -----------------------------------------------------------------------
    def compile(
        self, variables: Mapping[str, Any] | None = None, *, at: dt.datetime | None = None
    ) -> CompiledProfile:
        return compile_spec(self.source(variables), load=self._load, expand=self._expand, at=at)

    def _expand(
        self, entry: CertificateEntry, src: SpecSource, where: Location
    ) -> list[tuple[Path, str]]:
        key = (entry.path, str(src.base_dir))
        with self._lock:
            cached = self._expanded.get(key)
        if cached is None:
            cached = expand_entry(entry, src, where)
            with self._lock:
                self._expanded[key] = cached
        return cached

    def check_compiled(self, compiled: CompiledProfile, *, at: dt.datetime | None = None) -> Report:
        """Every content check on a compiled profile; never raises."""
        from mobileconfig.pki.chains import Policy, validate

        src = compiled.source
        settings = src.spec.validate_ if src is not None else None
        when = at or (parse_time(settings.at) if settings else None) or self._now
        window = parse_duration(settings.expiry_warning) if settings else dt.timedelta(days=30)
        certs = [b.certificate for b in compiled.certificates] + compiled.leaves
        key = (when, window, tuple((c.sha256, c.origin, c.name) for c in certs))
        with self._lock:
            chain_report = self._checks.get(key)
        if chain_report is None:
            chain_report = validate(certs, at=when, policy=Policy(expiry_warning=window))
            with self._lock:
                self._checks[key] = chain_report
        report = Report(list(compiled.findings))
        report.merge(Report(list(chain_report.findings), list(chain_report.chains)))
        if settings and settings.accept:
            report.accept([r.model_dump(exclude_none=True) for r in settings.accept])
        return report

    def check(
        self, variables: Mapping[str, Any] | None = None, *, at: dt.datetime | None = None
    ) -> Report:
        return self.check_compiled(self.compile(variables, at=at), at=at)

    def signer_for(self, src: SpecSource) -> Signer | None:
        """The signer: the one given to the Builder, else the spec's ``sign:`` (loaded once)."""
        if self.signer is not None:
            return self.signer
        settings = src.spec.sign
        if settings is None:
            return None
        key = settings.model_dump_json()
        with self._lock:
            if key in self._signers:
                return self._signers[key]
        from mobileconfig.signing import signer_from_spec

        loaded = signer_from_spec(src)
        with self._lock:
            self._signers[key] = loaded
        return loaded

    def build_result(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        at: dt.datetime | None = None,
        fmt: PlistFormat = "xml",
        strict: bool | None = None,
        sign: bool | None = None,
        encrypt_to: Certificate | None = None,
    ) -> BuildResult:
        """Compile, check, render, encrypt (with ``encrypt_to``) and sign (with a signer,
        unless ``sign=False``). Raises :class:`~mobileconfig.errors.ValidationFailed` when
        the checks refuse the content."""
        compiled = self.compile(variables, at=at)
        report = self.check_compiled(compiled, at=at)
        src = compiled.source
        assert src is not None
        signer = self.signer_for(src) if sign is not False else None
        if sign and signer is None:
            raise MobileconfigError(
                "signing was asked for, but neither the spec (sign:) nor the caller gave a signer"
            )
        if signer is not None:
            report.extend(signer.check(at or self._now))
        strict_mode = src.spec.validate_.strict if strict is None else strict
        report.raise_for_errors(strict=strict_mode)
        profile = compiled.profile
        if encrypt_to is not None:
            from mobileconfig.cms import encrypt_payload_content

            inner = dumps_array([p.to_plist() for p in profile.payload_content])
            profile = profile.model_copy(
                update={
                    "payload_content": [],
                    "is_encrypted": True,
                    "encrypted_payload_content": encrypt_payload_content(inner, encrypt_to),
                }
            )
        data = dumps(profile.to_plist(), fmt)
        if signer is not None:
            from mobileconfig.cms import sign as cms_sign

            digest = src.spec.sign.digest if src.spec.sign is not None else "sha256"
            data = cms_sign(data, signer, digest=digest)
        return BuildResult(
            data, report, compiled, signed=signer is not None, encrypted=encrypt_to is not None
        )

    def build(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        at: dt.datetime | None = None,
        fmt: PlistFormat = "xml",
    ) -> bytes:
        """The profile's bytes for ``variables``; raises on bad input or refused content."""
        return self.build_result(variables, at=at, fmt=fmt).data


def build(
    spec: str | os.PathLike[str] | Mapping[str, Any],
    variables: Mapping[str, Any] | None = None,
    *,
    base_dir: str | os.PathLike[str] = ".",
    sign: Signer | None = None,
    at: dt.datetime | None = None,
    fmt: PlistFormat = "xml",
) -> bytes:
    """Build one profile in memory and return its bytes.

    ``sign`` is a loaded :class:`~mobileconfig.cms.Signer`; without it the profile is
    unsigned. Raises :class:`~mobileconfig.errors.MobileconfigError` on bad input and
    :class:`~mobileconfig.errors.ValidationFailed` when the content is refused.
    """
    return Builder(spec, base_dir=base_dir, signer=sign).build(variables, at=at, fmt=fmt)
