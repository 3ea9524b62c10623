"""The one ordered list of services. The spec front end builds ``ProfileSpec``'s service keys
from it and the compiler walks it: registry order is the order of the keys in the spec's schema
and of the payloads in the profile.

Adding a service is one module in this package (its spec model, its compile step, a
``SERVICE`` record) and one line below; see docs/contributing.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import create_model

from mobileconfig.findings import Finding
from mobileconfig.payloads.base import Payload
from mobileconfig.services import (
    ethernet,
    exchange,
    identities,
    mail,
    removal,
    trust,
    vpn,
    wifi,
)
from mobileconfig.services.base import CompileContext, Locate, Service, Stage
from mobileconfig.services.references import References
from mobileconfig.spec._base import SpecModel

__all__ = ["SERVICES", "ServicesSpec", "compile_services", "compile_stage", "spec_fields"]

SERVICES: tuple[Service[Any], ...] = (
    identities.SERVICE,
    wifi.SERVICE,
    ethernet.SERVICE,
    mail.SERVICE,
    exchange.SERVICE,
    vpn.SERVICE,
    trust.SERVICE,
    removal.SERVICE,
)


def spec_fields(stage: Stage | None = None) -> dict[str, Any]:
    """The service keys of a spec model, in registry order, as ``create_model`` takes them
    (only those of ``stage`` when given; ``profile``-shaped keys are the model's own)."""
    out: dict[str, Any] = {}
    for service in SERVICES:
        declared = service.spec_field()
        if declared is not None and (stage is None or service.stage == stage):
            out[service.key] = declared
    return out


#: The ``services``-stage sections of a spec, for use on their own (ProfileSpec has the same
#: keys); :func:`compile_services` takes it.
ServicesSpec: type[SpecModel] = create_model(
    "ServicesSpec",
    __base__=SpecModel,
    __module__=__name__,
    __doc__="The service sections of a spec, for use on their own (ProfileSpec has the same keys).",
    **spec_fields("services"),
)


def compile_stage(ctx: CompileContext, spec: object, stage: Stage) -> list[Payload]:
    """Compile every service of ``stage``, in registry order, from ``spec``'s keys (a key the
    spec object lacks counts as left out)."""
    payloads: list[Payload] = []
    for service in SERVICES:
        if service.stage == stage:
            payloads.extend(service.compile(ctx, getattr(spec, service.key, None)))
    return payloads


def compile_services(
    spec: object,
    refs: References,
    *,
    identifier: str,
    platforms: Sequence[str],
    base_dir: Path,
    location: Locate,
    at: datetime | None = None,
    expiry_warning: timedelta = timedelta(days=30),
) -> tuple[list[Payload], list[Finding]]:
    """The payloads of the ``services``-stage sections of ``spec`` (a :data:`ServicesSpec` or
    the ProfileSpec), with names resolved through ``refs``, and the findings about them.

    ``location(*path)`` gives the spec's place of a key path such as
    ``("mail", 0, "smime", "signing")``. Server certificate files are read relative to
    ``base_dir`` and checked at ``at`` (now when None). Raises
    :class:`~mobileconfig.errors.SpecError` for a name that resolves to nothing or to the wrong
    kind, and :class:`~mobileconfig.errors.CertificateError` for an unreadable server
    certificate.
    """
    ctx = CompileContext(
        refs,
        identifier=identifier,
        platforms=platforms,
        base_dir=Path(base_dir),
        location=location,
        at=at,
        expiry_warning=expiry_warning,
    )
    payloads = compile_stage(ctx, spec, "services")
    return payloads, ctx.findings
