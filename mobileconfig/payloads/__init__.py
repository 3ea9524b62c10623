"""Apple-exact payload models. Importing this package registers every modelled type."""

from mobileconfig.payloads import accounts as _accounts  # noqa: F401  (registers)
from mobileconfig.payloads import certificates as _certificates  # noqa: F401  (registers)
from mobileconfig.payloads import identity as _identity  # noqa: F401  (registers)
from mobileconfig.payloads import network as _network  # noqa: F401  (registers)
from mobileconfig.payloads import trust as _trust  # noqa: F401  (registers)
from mobileconfig.payloads.base import Payload, Profile, RawPayload, derive_uuid, payload_class
from mobileconfig.payloads.certificates import (
    CertificatePayload,
    PEMCertificatePayload,
    PKCS1CertificatePayload,
    RootCertificatePayload,
)
from mobileconfig.payloads.identity import ACMEPayload, PKCS12Payload, SCEPPayload

__all__ = [
    "ACMEPayload",
    "CertificatePayload",
    "PEMCertificatePayload",
    "PKCS1CertificatePayload",
    "PKCS12Payload",
    "Payload",
    "Profile",
    "RawPayload",
    "RootCertificatePayload",
    "SCEPPayload",
    "derive_uuid",
    "payload_class",
]
