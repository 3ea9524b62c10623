"""What the chain checks demand (:class:`Policy`), and the critical extensions devices process.

Critical extensions
    A certificate with a critical extension the device does not process is refused. The
    extensions in :data:`HANDLED_CRITICAL_EXTENSIONS` are processed by Apple's devices and
    pass. Apple's own certificates (its signing and push certificates, the intermediates of
    the Apple PKI) carry private extensions under ``1.2.840.113635.100.6.*`` marked critical;
    a strict RFC 5280 validator rejects them, but Apple devices process them, so by default
    (``Policy.apple_private_extensions="accept"``) they count as handled and an info finding
    (MC114) notes them. With ``"reject"`` they are errors (MC113) like any other unknown
    critical extension. "Handled" means the device understands the extension; this package
    does not itself evaluate name constraints or certificate policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

__all__ = [
    "APPLE_CURVES",
    "APPLE_PRIVATE_EXTENSION_PREFIX",
    "EXTENSION_NAMES",
    "HANDLED_CRITICAL_EXTENSIONS",
    "Policy",
]

#: Apple's private certificate extensions live under this arc.
APPLE_PRIVATE_EXTENSION_PREFIX = "1.2.840.113635.100.6."

#: The elliptic curves Apple devices accept in certificates (NIST P-256, P-384, P-521).
APPLE_CURVES: frozenset[str] = frozenset({"secp256r1", "secp384r1", "secp521r1"})

#: Readable names of the extensions findings mention.
EXTENSION_NAMES: dict[str, str] = {
    "2.5.29.9": "subjectDirectoryAttributes",
    "2.5.29.14": "subjectKeyIdentifier",
    "2.5.29.15": "keyUsage",
    "2.5.29.17": "subjectAltName",
    "2.5.29.18": "issuerAltName",
    "2.5.29.19": "basicConstraints",
    "2.5.29.30": "nameConstraints",
    "2.5.29.31": "cRLDistributionPoints",
    "2.5.29.32": "certificatePolicies",
    "2.5.29.33": "policyMappings",
    "2.5.29.35": "authorityKeyIdentifier",
    "2.5.29.36": "policyConstraints",
    "2.5.29.37": "extendedKeyUsage",
    "2.5.29.46": "freshestCRL",
    "2.5.29.54": "inhibitAnyPolicy",
    "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
    "1.3.6.1.5.5.7.1.11": "subjectInfoAccess",
    "1.3.6.1.5.5.7.1.24": "TLS feature",
    "1.3.6.1.4.1.11129.2.4.2": "signed certificate timestamps",
    "1.3.6.1.4.1.11129.2.4.3": "certificate transparency precertificate poison",
}

#: Critical extensions a device processes, so their being critical is no problem. (RFC 5280
#: forbids marking the key identifiers and authorityInfoAccess critical: that is an issuance
#: lint, MC123, not a refusal.)
HANDLED_CRITICAL_EXTENSIONS: frozenset[str] = frozenset(
    {
        "2.5.29.14",  # subjectKeyIdentifier
        "2.5.29.15",  # keyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.18",  # issuerAltName
        "2.5.29.19",  # basicConstraints
        "2.5.29.30",  # nameConstraints
        "2.5.29.31",  # cRLDistributionPoints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.33",  # policyMappings
        "2.5.29.35",  # authorityKeyIdentifier
        "2.5.29.36",  # policyConstraints
        "2.5.29.37",  # extendedKeyUsage
        "2.5.29.46",  # freshestCRL
        "2.5.29.54",  # inhibitAnyPolicy
        "1.3.6.1.5.5.7.1.1",  # authorityInfoAccess
        "1.3.6.1.5.5.7.1.24",  # TLS feature
    }
)


@dataclass(frozen=True)
class Policy:
    """What the chain checks demand. The defaults follow what Apple devices enforce.

    ``expiry_warning``: warn about certificates that expire within this window.
    ``min_rsa_bits`` / ``min_dsa_bits`` / ``min_ec_bits``: smallest key accepted of each
    algorithm, on every certificate (roots too); each key is judged by its own algorithm's
    floor. ``curves``: the elliptic curves accepted (cryptography's names); a key on another
    curve is MC130; None accepts any curve. Ed25519 keys are accepted.
    ``weak_hashes``: signature digests refused below a root (a root's self-signature is
    never checked by a device, so it does not count).
    ``apple_private_extensions``: ``"accept"`` treats Apple's private critical extensions
    (``1.2.840.113635.100.6.*``) as handled and notes them (MC114); ``"reject"`` makes them
    errors (MC113). See the module docstring.
    ``handled_extensions``: critical extensions that pass; any other critical one is MC113.
    ``max_chain_length``: the longest path accepted, counted in certificates; self-issued
    intermediates (a CA's key rollover certificates) do not count. A longer path is MC115.
    ``max_candidates``: at most this many certificates carrying a certificate's issuer name
    are tried as its issuer (key-identifier matches first); a bound on hostile bundles. When
    it cuts the search short the finding says so (MC129).
    """

    expiry_warning: timedelta = timedelta(days=30)
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    min_dsa_bits: int = 2048
    curves: frozenset[str] | None = APPLE_CURVES
    weak_hashes: frozenset[str] = frozenset({"md5", "sha1", "md2", "md4"})
    apple_private_extensions: Literal["accept", "reject"] = "accept"
    handled_extensions: frozenset[str] = HANDLED_CRITICAL_EXTENSIONS
    max_chain_length: int = 16
    max_candidates: int = 16

    def __post_init__(self) -> None:
        if self.apple_private_extensions not in ("accept", "reject"):
            raise ValueError(
                "apple_private_extensions must be 'accept' or 'reject', "
                f"not {self.apple_private_extensions!r}"
            )
        if self.max_chain_length < 1:
            raise ValueError("max_chain_length must be at least 1")
        if self.max_candidates < 1:
            raise ValueError("max_candidates must be at least 1")
