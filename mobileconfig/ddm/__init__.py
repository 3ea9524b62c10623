"""Declarative device management (DDM) output: the same spec, as declarations and assets.

:func:`build_declarations` runs a profile build's steps (compile, every chain, identity and
service check, the signer's checks), then maps the result to declarations, credential
assets and legacy profiles (:mod:`~mobileconfig.ddm.mapping`), checks each declaration
against Apple's schema (:mod:`~mobileconfig.ddm.schema`), and returns it all in memory.
:func:`write_folder` writes it as a folder an MDM can serve; :func:`inspect_folder` reads
one back and verifies it. See docs/declarative.md for every mapping decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mobileconfig.ddm.folder import inspect_folder, render_folder_text, write_folder
from mobileconfig.ddm.mapping import check_base_url, map_profile, platform_minimums
from mobileconfig.ddm.model import AssetFile, Declaration, DeclarativeOutput
from mobileconfig.ddm.schema import check_credential, check_declaration, check_references
from mobileconfig.errors import MobileconfigError

if TYPE_CHECKING:
    from mobileconfig.builder import Builder

__all__ = [
    "AssetFile",
    "Declaration",
    "DeclarativeOutput",
    "build_declarations",
    "check_base_url",
    "check_credential",
    "check_declaration",
    "check_references",
    "inspect_folder",
    "map_profile",
    "platform_minimums",
    "render_folder_text",
    "spec_base_url",
    "write_folder",
]


def spec_base_url(spec: Any) -> str | None:
    """The spec's ``ddm: {base_url: ...}``, when it has one."""
    settings = getattr(spec, "ddm", None)
    url = getattr(settings, "base_url", None)
    return url if isinstance(url, str) else None


def build_declarations(
    builder: Builder,
    variables: Mapping[str, Any] | None = None,
    *,
    base_url: str | None = None,
    at: dt.datetime | None = None,
    strict: bool | None = None,
    sign: bool | None = None,
) -> DeclarativeOutput:
    """Declarations and asset data for ``variables``, in memory.

    ``base_url`` (else the spec's ``ddm.base_url``) is the https:// URL the folder will be
    served from. Legacy profiles are signed when the builder has a signer (the spec's
    ``sign:`` or one given), unless ``sign=False``. Raises
    :class:`~mobileconfig.errors.ValidationFailed` when the checks refuse the content, as a
    profile build does, and :class:`~mobileconfig.errors.MobileconfigError` on bad input.
    """
    source = builder.source(variables)
    url = base_url or spec_base_url(source.spec)
    if not url:
        raise MobileconfigError(
            "declarative output needs the https:// URL it will be served from",
            hint="give --ddm-base-url URL, or ddm: {base_url: URL} in the spec",
        )
    check_base_url(url)
    compiled, report, signer = builder.checked(variables, at=at, sign=sign)
    src = compiled.source
    assert src is not None
    digest = src.spec.sign.digest if src.spec.sign is not None else "sha256"
    out = map_profile(compiled, base_url=url, signer=signer, digest=digest)
    report.merge(out.report)
    settings = src.spec.validate_
    if settings.accept:
        report.accept([r.model_dump(exclude_none=True) for r in settings.accept])
    report.raise_for_errors(strict=settings.strict if strict is None else strict)
    out.report = report
    return out
