"""What names in the spec resolve to: identities and certificates, by name, to PayloadUUIDs.

A service refers to an identity by its key under ``identities:`` and to a certificate by its
``name:`` or CN. :class:`References` turns the name into the target and raises
:class:`~mobileconfig.errors.SpecError` at the spec's place when it resolves to nothing or to the
wrong kind of thing, naming both ends and the nearest known name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from mobileconfig.errors import Location, SpecError
from mobileconfig.pki.certs import Certificate

__all__ = ["CertRef", "IdentityRef", "References", "listing", "near"]


@dataclass(frozen=True)
class IdentityRef:
    """An identity payload other payloads can point at."""

    uuid: str
    kind: Literal["pkcs12", "scep", "acme"]
    key_type: Literal["RSA", "EC"]
    key_bits: int
    certificate: Certificate | None = None  # known for pkcs12; None for scep/acme


@dataclass(frozen=True)
class CertRef:
    """A certificate payload (root, intermediate, or any other) of the profile."""

    uuid: str
    certificate: Certificate
    is_ca: bool


def listing(names: Iterable[str], empty: str) -> str:
    items = sorted(names, key=str.lower)
    if not items:
        return empty
    if len(items) > 12:
        return ", ".join(items[:12]) + f" and {len(items) - 12} more"
    return ", ".join(items)


def near(name: str, candidates: Iterable[str]) -> str | None:
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return lowered[name.lower()]
    if len(name) >= 4:
        for c in pool:  # 'Example Root' for 'Example Root CA'
            if c.lower().startswith(name.lower()) or name.lower().startswith(c.lower()):
                return c
    match = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return match[0] if match else None


@dataclass
class References:
    """What names in the spec resolve to: identities by their key under ``identities:``,
    certificates by their ``name`` or CN."""

    identities: dict[str, IdentityRef] = field(default_factory=dict)
    certificates: dict[str, CertRef] = field(default_factory=dict)

    def identity(self, name: str, *, path: str, location: Location | None) -> IdentityRef:
        """The identity called ``name``; SpecError naming ``path`` and the known identities."""
        ref = self.identities.get(name)
        if ref is not None:
            return ref
        known = listing(self.identities, "none (define them under identities:)")
        close = near(name, self.identities)
        hint = f"did you mean {close!r}?" if close else None
        if name in self.certificates:
            raise SpecError(
                f"{path}: {name!r} is a certificate, not an identity: a certificate without "
                f"its private key cannot authenticate; identities are: {known}",
                location=location,
                hint=hint or "add the PKCS#12 (or a SCEP/ACME entry) under identities:",
            )
        raise SpecError(
            f"{path}: {name!r} is not an identity; identities are: {known}",
            location=location,
            hint=hint,
        )

    def certificate(
        self, name: str, *, path: str, location: Location | None, ca: bool = False
    ) -> CertRef:
        """The certificate called ``name``; with ``ca``, it must be a CA certificate."""
        ref = self.certificates.get(name)
        cas = (
            [n for n, r in self.certificates.items() if r.is_ca] if ca else list(self.certificates)
        )
        kind = "CA certificate" if ca else "certificate"
        known = listing(cas, "none (list them under certificates:)")
        if ref is not None:
            if ca and not ref.is_ca:
                raise SpecError(
                    f"{path}: {name!r} is a certificate but not a CA (no basicConstraints "
                    f"CA:TRUE); CA certificates are: {known}",
                    location=location,
                )
            return ref
        close = near(name, cas)
        hint = f"did you mean {close!r}?" if close else None
        if name in self.identities:
            raise SpecError(
                f"{path}: {name!r} is an identity, not a {kind}; {kind}s are: {known}",
                location=location,
                hint=hint or "name a certificate listed under certificates:",
            )
        raise SpecError(
            f"{path}: {name!r} is not a {kind} of the profile; {kind}s are: {known}",
            location=location,
            hint=hint
            or "a certificate's name is its name: under certificates:, else its subject CN",
        )
