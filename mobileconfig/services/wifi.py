"""Wi-Fi (com.apple.wifi.managed): personal (a pre-shared key) or enterprise (802.1X, see
:mod:`.eap`). The spec's ``wifi:`` list, and its compile step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mobileconfig.payloads.base import Payload
from mobileconfig.payloads.network import WiFiPayload
from mobileconfig.secrets import Secret
from mobileconfig.services.base import CompileContext, PathKey, Service
from mobileconfig.services.eap import EAPSpec, SetupMode, compile_eap
from mobileconfig.spec._base import SpecModel

__all__ = ["SERVICE", "WiFiSpec", "compile_wifi"]


class WiFiSpec(SpecModel):
    """One Wi-Fi network (com.apple.wifi.managed)."""

    ssid: str = Field(min_length=1, description="The network name (at most 32 bytes).")
    security: Literal["WPA", "WPA2", "WPA3", "Any", "WEP", "None"] | None = Field(
        None,
        description="EncryptionType: default WPA2 with eap or password (joins WPA2 and "
        "WPA3), None for an open network.",
    )
    password: Secret | None = Field(None, description="Pre-shared key (WPA personal).")
    eap: EAPSpec | None = None
    hidden: bool = Field(False, description="HIDDEN_NETWORK.")
    auto_join: bool = Field(True, description="AutoJoin.")
    setup_modes: list[SetupMode] | None = Field(
        None, description="macOS: System (before login, for device identities) and/or Loginwindow."
    )

    @field_validator("ssid")
    @classmethod
    def _ssid(cls, value: str) -> str:
        if len(value.encode("utf-8")) > 32:
            raise ValueError(f"SSID {value!r} is over 32 bytes")
        return value

    @model_validator(mode="after")
    def _rules(self) -> WiFiSpec:
        if self.security == "None" and (self.password or self.eap):
            raise ValueError("security None is an open network: it takes no password or eap")
        if self.password and self.eap:
            raise ValueError("give password (personal) or eap (enterprise), not both")
        return self


def compile_wifi(ctx: CompileContext, items: Sequence[WiFiSpec]) -> list[Payload]:
    out: list[Payload] = []
    for i, w in enumerate(items):
        path: PathKey = ("wifi", i)
        config, identity_uuid = (
            compile_eap(ctx, w.eap, (*path, "eap"), w.setup_modes) if w.eap else (None, None)
        )
        security = w.security or ("WPA2" if (w.eap or w.password) else "None")
        data = {
            "PayloadType": WiFiPayload.PAYLOAD_TYPE,
            **ctx.common("wifi", w.ssid, i, f"Wi-Fi {w.ssid}"),
            "SSID_STR": w.ssid,
            "HIDDEN_NETWORK": w.hidden,
            "AutoJoin": w.auto_join,
            "EncryptionType": security,
            "Password": ctx.secret(w.password, (*path, "password"), "Wi-Fi password"),
            "PayloadCertificateUUID": identity_uuid,
            "EAPClientConfiguration": config,
            "SetupModes": w.setup_modes,
        }
        out.append(ctx.payload(WiFiPayload, data, path))
    return out


SERVICE = Service("wifi", WiFiSpec, "list", compile_wifi, "Wi-Fi networks.")
