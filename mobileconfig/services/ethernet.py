"""802.1X on a wired interface (com.apple.firstactiveethernet.managed and its siblings; macOS,
global also iOS and tvOS 17). The spec's ``ethernet:`` list, and its compile step; the 802.1X
part is :mod:`.eap`'s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from mobileconfig.payloads.base import Payload
from mobileconfig.payloads.network import (
    EthernetPayload,
    FirstActiveEthernetPayload,
    FirstEthernetPayload,
    GlobalEthernetPayload,
    SecondActiveEthernetPayload,
    SecondEthernetPayload,
    ThirdActiveEthernetPayload,
    ThirdEthernetPayload,
)
from mobileconfig.services.base import CompileContext, PathKey, Service
from mobileconfig.services.eap import EAPSpec, SetupMode, compile_eap
from mobileconfig.spec._base import SpecModel

__all__ = ["SERVICE", "EthernetSpec", "compile_ethernet"]

_INTERFACES: dict[str, type[EthernetPayload]] = {
    "first-active": FirstActiveEthernetPayload,
    "second-active": SecondActiveEthernetPayload,
    "third-active": ThirdActiveEthernetPayload,
    "first": FirstEthernetPayload,
    "second": SecondEthernetPayload,
    "third": ThirdEthernetPayload,
    "global": GlobalEthernetPayload,
}


class EthernetSpec(SpecModel):
    """802.1X on a wired interface (macOS; global also iOS and tvOS 17)."""

    interface: Literal[
        "first-active", "second-active", "third-active", "first", "second", "third", "global"
    ] = Field(
        "first-active",
        description="first-active (the first working port), first/second/third (service "
        "order), or global (every port).",
    )
    eap: EAPSpec
    setup_modes: list[SetupMode] | None = Field(None, description="macOS: System, Loginwindow.")


def compile_ethernet(ctx: CompileContext, items: Sequence[EthernetSpec]) -> list[Payload]:
    out: list[Payload] = []
    for i, e in enumerate(items):
        path: PathKey = ("ethernet", i)
        cls = _INTERFACES[e.interface]
        config, identity_uuid = compile_eap(ctx, e.eap, (*path, "eap"), e.setup_modes)
        data = {
            "PayloadType": cls.PAYLOAD_TYPE,
            **ctx.common(
                "ethernet", e.interface, i, f"802.1X Ethernet ({e.interface.replace('-', ' ')})"
            ),
            "Interface": cls.INTERFACE,
            "PayloadCertificateUUID": identity_uuid,
            "EAPClientConfiguration": config,
            "SetupModes": e.setup_modes,
        }
        out.append(ctx.payload(cls, data, path))
    return out


SERVICE = Service(
    "ethernet", EthernetSpec, "list", compile_ethernet, "macOS wired 802.1X (per interface)."
)
