"""Findings about how an identity goes into a profile (MC301-MC304)."""

from __future__ import annotations

from mobileconfig.errors import Location
from mobileconfig.findings import Finding, make_finding
from mobileconfig.pki.identities.model import Identity
from mobileconfig.secrets import Secret, inline_secret_finding

__all__ = ["identity_findings"]


def identity_findings(
    identity: Identity,
    *,
    format: str,
    embedded_password: bool,
    password: Secret | None = None,
    location: Location | None = None,
) -> list[Finding]:
    """Findings about how an identity goes into a profile.

    MC301 (info) the input was modern PKCS#12 and is re-encoded for Apple; MC302 (info) the
    password is embedded in the profile; MC303 (warning) ``format="modern"`` was chosen;
    MC304 (warning) ``password`` (a :class:`~mobileconfig.secrets.Secret`) is written inline.
    """
    if format not in ("apple", "modern"):
        raise ValueError(f"format must be 'apple' or 'modern', not {format!r}")
    ref = identity.ref()
    who = f"identity '{identity.name}'"
    out: list[Finding] = []
    if format == "apple" and identity.is_modern:
        out.append(
            make_finding(
                "MC301",
                f"{who}: {identity.source} is {identity.encryption} with a {identity.mac} MAC, "
                "which Apple devices refuse with 'The password for the certificate is incorrect'; "
                "it is re-encoded as pbeWithSHA1And3-KeyTripleDES-CBC with a SHA-1 MAC",
                certificate=ref,
                location=location,
            )
        )
    if format == "modern":
        out.append(
            make_finding(
                "MC303",
                f"{who} is written as PBES2/AES-256-CBC with a SHA-256 MAC: iOS 15 to 17 and "
                "macOS 12 to 15 refuse it with 'The password for the certificate is incorrect'",
                certificate=ref,
                location=location,
            )
        )
    if embedded_password:
        out.append(
            make_finding(
                "MC302",
                f"{who}: the PKCS#12 password is stored in the profile, where Apple only "
                "obfuscates it; anyone with the profile has the private key",
                certificate=ref,
                location=location,
            )
        )
    if password is not None:
        found = inline_secret_finding(
            password, what=f"password of {who}", location=location, certificate=ref
        )
        if found is not None:
            out.append(found)
    return out
