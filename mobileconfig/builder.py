"""Build a profile from a spec: compile, check, render. No files are written here.

:class:`Builder` loads a spec, its certificates and its signer once and then builds
as many profiles as asked, in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mobileconfig.findings import Report
from mobileconfig.render import PlistFormat, dumps
from mobileconfig.spec.compile import (
    CompiledProfile,
    SpecSource,
    compile_spec,
    load_spec,
    spec_from_mapping,
)
from mobileconfig.spec.model import parse_duration, parse_time

__all__ = ["BuildResult", "Builder", "build", "check_compiled"]


@dataclass
class BuildResult:
    """The profile's bytes and the report of the checks that let it through."""

    data: bytes
    report: Report
    compiled: CompiledProfile


def check_compiled(compiled: CompiledProfile, *, at: dt.datetime | None = None) -> Report:
    """Run every content check on a compiled profile and return the report (never raises)."""
    from mobileconfig.pki.chains import Policy, validate

    report = Report(list(compiled.findings))
    settings = compiled.source.spec.validate_ if compiled.source else None
    when = at or (parse_time(settings.at) if settings else None)
    policy = (
        Policy(expiry_warning=parse_duration(settings.expiry_warning)) if settings else Policy()
    )
    certs = [b.certificate for b in compiled.certificates]
    if certs:
        report.merge(validate(certs, at=when, policy=policy))
    if settings and settings.accept:
        report.accept([r.model_dump(exclude_none=True) for r in settings.accept])
    return report


class Builder:
    """A spec loaded once, built many times."""

    def __init__(
        self, spec: str | Path | Mapping[str, Any] | SpecSource, *, base_dir: str | Path = "."
    ) -> None:
        if isinstance(spec, SpecSource):
            self.source = spec
        elif isinstance(spec, Mapping):
            self.source = spec_from_mapping(spec, base_dir=base_dir)
        else:
            self.source = load_spec(spec)
        self._compiled: CompiledProfile | None = None

    def compile(self) -> CompiledProfile:
        if self._compiled is None:
            self._compiled = compile_spec(self.source)
        return self._compiled

    def check(self, *, at: dt.datetime | None = None) -> Report:
        return check_compiled(self.compile(), at=at)

    def build_result(
        self, *, at: dt.datetime | None = None, fmt: PlistFormat = "xml", strict: bool | None = None
    ) -> BuildResult:
        """Compile, check and render; raises ValidationFailed when the checks refuse it."""
        compiled = self.compile()
        report = check_compiled(compiled, at=at)
        strict_mode = self.source.spec.validate_.strict if strict is None else strict
        report.raise_for_errors(strict=strict_mode)
        data = dumps(compiled.profile.to_plist(), fmt)
        return BuildResult(data, report, compiled)

    def build(self, *, at: dt.datetime | None = None, fmt: PlistFormat = "xml") -> bytes:
        return self.build_result(at=at, fmt=fmt).data


def build(
    spec: str | Path | Mapping[str, Any],
    *,
    base_dir: str | Path = ".",
    at: dt.datetime | None = None,
    fmt: PlistFormat = "xml",
) -> bytes:
    """Build one profile and return its bytes; raises on bad input or refused content."""
    return Builder(spec, base_dir=base_dir).build(at=at, fmt=fmt)
