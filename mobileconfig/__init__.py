"""mobileconfig: build Apple configuration profiles for certificates and identities,
and check them before they reach a device.

>>> import mobileconfig
>>> data = mobileconfig.build("examples/company/profile.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

from mobileconfig.builder import Builder, BuildResult, build
from mobileconfig.errors import (
    CertificateError,
    CMSError,
    IdentityError,
    Location,
    MobileconfigError,
    OutputError,
    ProfileError,
    SpecError,
    ValidationFailed,
)
from mobileconfig.findings import CATALOGUE, Finding, Report, Severity
from mobileconfig.pki.certs import Certificate, load_certificates
from mobileconfig.reader import LoadedProfile, read_profile

__all__ = [
    "CATALOGUE",
    "BuildResult",
    "Builder",
    "CMSError",
    "Certificate",
    "CertificateError",
    "Finding",
    "IdentityError",
    "LoadedProfile",
    "Location",
    "MobileconfigError",
    "OutputError",
    "ProfileError",
    "Report",
    "Severity",
    "SpecError",
    "ValidationFailed",
    "build",
    "load_certificates",
    "read_profile",
]

__version__ = "0.1.0"
