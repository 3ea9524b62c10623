"""Build a profile from a spec: render, compile, check, render the plist, sign.

:class:`Builder` reads a spec once and builds as many profiles as asked, in memory,
with no files written and no subprocesses: certificate files are parsed once, chain
checks of an unchanged bundle are done once, and the signer is loaded once. It is safe
to call from several threads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobileconfig.errors import Location, MobileconfigError
from mobileconfig.findings import Finding, Report
from mobileconfig.output import holds_secret
from mobileconfig.pki.certs import Certificate, load_certificate_file
from mobileconfig.render import PlistFormat, dumps, dumps_array
from mobileconfig.schema.check import check_profile
from mobileconfig.skeleton import Skeleton
from mobileconfig.spec.compile import (
    CompiledProfile,
    SpecSource,
    check_spec,
    compile_spec,
    expand_entry,
    read_spec,
    with_mdm,
)
from mobileconfig.spec.load import LoadedYAML
from mobileconfig.spec.model import CertificateEntry, parse_duration, parse_time
from mobileconfig.spec.template import has_templates

if TYPE_CHECKING:
    from mobileconfig.cms import Signer
    from mobileconfig.ddm import DeclarativeOutput

__all__ = ["BuildResult", "Builder", "build"]

#: Skeletons a Builder keeps, one per validation time (``at``) it is asked to build at.
_MAX_SKELETONS = 8


@dataclass
class BuildResult:
    """The profile's bytes and the report of the checks that let it through."""

    data: bytes
    report: Report
    _compiled: CompiledProfile | Callable[[], CompiledProfile] = field(repr=False)
    signed: bool = False
    encrypted: bool = False
    #: The profile carries a secret readable without a device key: a PKCS#12, a password,
    #: a shared secret or a SCEP challenge in clear (judged on the plist written, by
    #: :func:`mobileconfig.output.holds_secret`). Such files are written 0600.
    holds_secret: bool = False

    @property
    def compiled(self) -> CompiledProfile:
        """The compiled profile (for a row filled into a skeleton, compiled when first asked)."""
        if callable(self._compiled):
            self._compiled = self._compiled()
        return self._compiled

    @property
    def holds_private_key(self) -> bool:
        """Kept for callers of the first release: the same as :attr:`holds_secret`."""
        return self.holds_secret


class Builder:
    """A spec read once, built many times (per user, per device).

    A Builder snapshots what it reads: the spec, which files each certificates: entry names
    (globs are expanded once), and each certificate file (parsed once; re-read only if its
    size or time changes). Make a new Builder to pick up added files.

    ``spec`` is a path to a YAML file, a mapping (the spec as a dictionary: give
    ``base_dir`` for its relative paths), or a :class:`SpecSource`. ``mdm`` names the MDM
    the profile is for (``fleet``, ``jamf``, ...; see docs/mdm.md), over the spec's ``mdm:``.

    Compile once, fill per row: for a templated spec, the first build compiles, checks and
    renders everything that does not depend on the variables once (a skeleton, per
    validation time); each build then renders the templated values, checks what they touch
    and puts them into the skeleton's bytes. The result is byte for byte the one a full
    compile gives (the first filled build is compared with it), and any row the skeleton
    cannot carry takes the full path; :mod:`mobileconfig.skeleton` says which templates
    it follows.
    ``fill=False`` compiles every build in full.
    """

    def __init__(
        self,
        spec: str | os.PathLike[str] | Mapping[str, Any] | SpecSource,
        *,
        base_dir: str | os.PathLike[str] = ".",
        signer: Signer | None = None,
        mdm: str | None = None,
        fill: bool = True,
        allow_incomplete_signer_chain: bool = False,
    ) -> None:
        self._fixed: SpecSource | None = None
        if isinstance(spec, SpecSource):
            self._loaded, self._base, self._fixed = spec.loaded, spec.base_dir, spec
        elif isinstance(spec, Mapping):
            self._loaded = LoadedYAML(dict(spec), "<spec>", {(): 1})
            self._base = Path(base_dir).resolve()
        else:
            self._loaded, self._base = read_spec(Path(spec))
        if mdm is not None:
            if isinstance(spec, SpecSource):
                raise ValueError("give mdm in the spec itself when passing a SpecSource")
            self._loaded = with_mdm(self._loaded, mdm)
        self.templated = has_templates(self._loaded.value)
        if self._fixed is None and not self.templated:
            self._fixed = check_spec(self._loaded, self._base)
        self.signer = signer
        #: Sign even when the signer's issuer is missing (MC210 becomes a warning), as the
        #: spec's ``sign: allow_incomplete_chain`` does.
        self.allow_incomplete_signer_chain = allow_incomplete_signer_chain
        self._completed: dict[tuple[Any, ...], tuple[Signer, list[Finding]]] = {}
        self._lock = threading.Lock()
        self._files: dict[tuple[str, int, int], list[Certificate]] = {}
        self._checks: dict[tuple[Any, ...], Report] = {}
        self._signers: dict[str, Signer | None] = {}
        self._expanded: dict[tuple[str, str], list[tuple[Path, str]]] = {}
        self._now = dt.datetime.now(dt.UTC)
        self._fill = fill and self.templated
        self._fills: dict[dt.datetime | None, Skeleton | None] = {}
        self._seen: set[dt.datetime | None] = set()  # validation times built at

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
        # Apple's schema on the very profile the build emits, as on a received one (MC004-
        # MC014); MC401-MC403 come from the services, with the spec's lines.
        minimums = {p: v for p, v in src.spec.platform_minimums.items() if v} if src else {}
        plist = compiled.profile.to_plist()
        report.extend(check_profile(plist, source=src.file if src else None, platforms=minimums))
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
        from mobileconfig.signers import signer_from_spec

        loaded = signer_from_spec(src)
        with self._lock:
            self._signers[key] = loaded
        return loaded

    def _prepared_signer(
        self, signer: Signer, src: SpecSource, at: dt.datetime
    ) -> tuple[Signer, list[Finding]]:
        """The signer with its chain completed from the spec's certificates (once per
        bundle), and every finding about signing this profile with it at ``at``. Reads
        only the spec, so a full build and a filled one agree."""
        from mobileconfig.signers import prepare_signer

        bundle: list[Certificate] = []
        with contextlib.suppress(MobileconfigError):  # compiling reports a bad file
            for index, item in enumerate(src.spec.certificates):
                entry = item if isinstance(item, CertificateEntry) else CertificateEntry(path=item)
                for path, shown in self._expand(entry, src, src.location("certificates", index)):
                    bundle.extend(self._load(path, shown))
        settings = src.spec.sign
        allow = self.allow_incomplete_signer_chain or bool(
            settings is not None and settings.allow_incomplete_chain
        )
        key = (
            signer.certificate.sha256,
            tuple(c.sha256 for c in signer.chain),
            allow,
            tuple(c.sha256 for c in bundle),
        )
        with self._lock:
            done = self._completed.get(key)
        if done is None:
            done = signer.complete_chain(bundle, allow_incomplete=allow)
            with self._lock:
                self._completed[key] = done
        completed, chain_findings = done
        removal = (src.spec.removal_date, src.spec.duration_until_removal)
        return completed, [*chain_findings, *prepare_signer(completed, at, *removal)]

    def checked(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        at: dt.datetime | None = None,
        sign: bool | None = None,
    ) -> tuple[CompiledProfile, Report, Signer | None]:
        """Compile and run every content check, the signer's included (unless
        ``sign=False``); never raises on findings. What a build does before it writes."""
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
            signer, signing = self._prepared_signer(signer, src, at or self._now)
            report.extend(signing)
        return compiled, report, signer

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
        if self._fill and fmt == "xml" and encrypt_to is None:
            filled = self._filled(variables or {}, at=at, strict=strict, sign=sign)
            if filled is not None:
                return filled
        compiled, report, signer = self.checked(variables, at=at, sign=sign)
        src = compiled.source
        assert src is not None
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
        plist = profile.to_plist()
        data = dumps(plist, fmt)
        if signer is not None:
            from mobileconfig.cms import sign as cms_sign

            digest = src.spec.sign.digest if src.spec.sign is not None else "sha256"
            data = cms_sign(data, signer, digest=digest)
        return BuildResult(
            data,
            report,
            compiled,
            signed=signer is not None,
            encrypted=encrypt_to is not None,
            holds_secret=holds_secret(plist),
        )

    def prepare(
        self,
        variables: Mapping[str, Any],
        *,
        at: dt.datetime | None = None,
        sign: bool | None = False,
    ) -> bool:
        """Make the skeleton for builds at ``at`` now (a batch does it before it forks its
        workers), check it against a full compile of ``variables``, and (unless
        ``sign=False``) ready the signer. True when rows will be filled into it."""
        if not self._fill:
            return False
        fill = self._skeleton(at)
        if fill is not None and (not fill.verified or sign is not False):
            with contextlib.suppress(MobileconfigError):
                self._filled(variables, at=at, strict=None, sign=sign)
        return self._fills.get(at) is not None

    def _skeleton(self, at: dt.datetime | None) -> Skeleton | None:
        with self._lock:
            if at in self._fills:
                return self._fills[at]
        made = Skeleton.make(
            self._loaded,
            self._base,
            load=self._load,
            expand=self._expand,
            check=lambda compiled: self.check_compiled(compiled, at=at),
            at=at,
        )
        with self._lock:
            if at not in self._fills and len(self._fills) >= _MAX_SKELETONS:
                del self._fills[next(iter(self._fills))]  # the oldest
            return self._fills.setdefault(at, made)

    def _filled(
        self,
        variables: Mapping[str, Any],
        *,
        at: dt.datetime | None,
        strict: bool | None,
        sign: bool | None,
    ) -> BuildResult | None:
        """The build of one row filled into the skeleton; None for the full path. The first
        build at a given ``at`` takes the full path (a single build gains nothing from a
        skeleton); the second makes the skeleton, unless :meth:`prepare` did."""
        with self._lock:
            first = at not in self._fills and at not in self._seen
            if len(self._seen) >= _MAX_SKELETONS:  # a caller passing a new time each build
                self._seen.clear()
            self._seen.add(at)
        if first:
            return None
        fill = self._skeleton(at)
        if fill is None:
            return None
        try:
            made = fill.fill(variables)
        except Exception:  # a bug in the fill must not cost a build: compile in full
            with self._lock:
                fill.errors += 1
                if fill.errors >= 3:  # not one odd row: stop trying this skeleton
                    self._fills[at] = None
            return None
        if made is None:
            return None
        data, report, secret = made
        src = fill.src
        # The signer and what it brings read only the spec's constant keys (and the caller's
        # signer): found and checked once per skeleton.
        key = (sign is not False, id(self.signer))
        prepared = fill.signing.get(key)
        if prepared is None or prepared[0] is not self.signer:
            signer = self.signer_for(src) if sign is not False else None
            if sign and signer is None:
                return None  # the full path says what is missing
            signing: list[Finding] = []
            if signer is not None:
                signer, signing = self._prepared_signer(signer, src, at or self._now)
            prepared = fill.signing[key] = (self.signer, signer, signing)
        _, signer, signing = prepared
        report.extend(signing)
        if report.has_errors(strict=src.spec.validate_.strict if strict is None else strict):
            return None  # the full path raises, with its own report
        if not fill.verified:
            compiled, full, _ = self.checked(variables, at=at, sign=sign)
            plist = compiled.profile.to_plist()
            same = (data, report.findings, secret) == (
                dumps(plist),
                full.findings,
                holds_secret(plist),
            )
            with self._lock:
                if not same:
                    self._fills[at] = None
                    return None
                fill.verified = True
        if signer is not None:
            from mobileconfig.cms import sign as cms_sign

            digest = src.spec.sign.digest if src.spec.sign is not None else "sha256"
            data = cms_sign(data, signer, digest=digest)
        row = dict(variables)
        return BuildResult(
            data,
            report,
            lambda: self.compile(row, at=at),
            signed=signer is not None,
            holds_secret=secret,
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

    def build_declarations(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        base_url: str | None = None,
        at: dt.datetime | None = None,
        strict: bool | None = None,
        sign: bool | None = None,
    ) -> DeclarativeOutput:
        """The same content as declarations, credential assets and legacy profiles, in
        memory (see :func:`mobileconfig.ddm.build_declarations` and docs/declarative.md).
        ``base_url`` (else the spec's ``ddm.base_url``) is the https:// URL the folder is
        served from. Raises as :meth:`build_result` does."""
        from mobileconfig.ddm import build_declarations

        return build_declarations(
            self, variables, base_url=base_url, at=at, strict=strict, sign=sign
        )


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
