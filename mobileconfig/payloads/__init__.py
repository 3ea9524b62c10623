"""Apple-exact payload models. Importing this package registers every modelled type."""

from mobileconfig.payloads import certificates as _certificates  # noqa: F401  (registers)
from mobileconfig.payloads.base import Payload, Profile, RawPayload, derive_uuid, payload_class
from mobileconfig.payloads.certificates import (
    CertificatePayload,
    PEMCertificatePayload,
    PKCS1CertificatePayload,
    RootCertificatePayload,
)

__all__ = [
    "CertificatePayload",
    "PEMCertificatePayload",
    "PKCS1CertificatePayload",
    "Payload",
    "Profile",
    "RawPayload",
    "RootCertificatePayload",
    "derive_uuid",
    "payload_class",
]
