"""A profile the user can remove only with a password (com.apple.profileRemovalPassword).

The spec's ``removal:`` takes ``allowed``, ``disallowed`` (profile-level keys the compiler sets
at the top of the profile) or ``{password: ...}``, which this service compiles to its payload.
ProfileSpec declares the key itself (shape ``profile``), because of the two plain forms.
"""

from __future__ import annotations

from pydantic import Field

from mobileconfig.payloads.base import Payload
from mobileconfig.payloads.trust import ProfileRemovalPasswordPayload
from mobileconfig.secrets import Secret
from mobileconfig.services.base import CompileContext, PathKey, Service
from mobileconfig.spec._base import SpecModel

__all__ = ["SERVICE", "RemovalPassword", "compile_removal"]


class RemovalPassword(SpecModel):
    """Removal needs a password (com.apple.profileRemovalPassword)."""

    password: Secret = Field(description="The removal password: {env: NAME} or {file: PATH}.")


def compile_removal(ctx: CompileContext, removal: str | RemovalPassword | None) -> list[Payload]:
    if not isinstance(removal, RemovalPassword):
        return []
    path: PathKey = ("removal",)
    data = {
        "PayloadType": ProfileRemovalPasswordPayload.PAYLOAD_TYPE,
        **ctx.common("removal", "password", 0, "Removal password"),
        "RemovalPassword": ctx.secret(
            removal.password, ("removal", "password"), "profile removal password"
        ),
    }
    return [ctx.payload(ProfileRemovalPasswordPayload, data, path)]


SERVICE = Service("removal", RemovalPassword, "profile", compile_removal)
