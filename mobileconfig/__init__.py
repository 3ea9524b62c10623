"""mobileconfig: build Apple configuration profiles for certificates and identities,
and check them before they reach a device.

>>> import mobileconfig
>>> data = mobileconfig.build("examples/company/profile.yaml")  # doctest: +SKIP

The public names below are imported on first use, so that ``import mobileconfig`` (and
``mobileconfig --help``) stays fast: cryptography and pydantic load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "BuildResult": "mobileconfig.builder",
    "Builder": "mobileconfig.builder",
    "build": "mobileconfig.builder",
    "CertificateError": "mobileconfig.errors",
    "CMSError": "mobileconfig.errors",
    "IdentityError": "mobileconfig.errors",
    "Location": "mobileconfig.errors",
    "MobileconfigError": "mobileconfig.errors",
    "OutputError": "mobileconfig.errors",
    "ProfileError": "mobileconfig.errors",
    "SpecError": "mobileconfig.errors",
    "ValidationFailed": "mobileconfig.errors",
    "CATALOGUE": "mobileconfig.findings",
    "Finding": "mobileconfig.findings",
    "Report": "mobileconfig.findings",
    "Severity": "mobileconfig.findings",
    "Certificate": "mobileconfig.pki.certs",
    "load_certificates": "mobileconfig.pki.certs",
    "validate": "mobileconfig.pki.chains",
    "Policy": "mobileconfig.pki.chains",
    "LoadedProfile": "mobileconfig.reader",
    "read_profile": "mobileconfig.reader",
    "Plan": "mobileconfig.planning",
    "plan": "mobileconfig.planning",
    "Signer": "mobileconfig.cms",
    "sign": "mobileconfig.cms",
    "verify": "mobileconfig.cms",
    "Secret": "mobileconfig.secrets",
}

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
    "Plan",
    "Policy",
    "ProfileError",
    "Report",
    "Secret",
    "Severity",
    "Signer",
    "SpecError",
    "ValidationFailed",
    "build",
    "load_certificates",
    "plan",
    "read_profile",
    "sign",
    "validate",
    "verify",
]

if TYPE_CHECKING:
    from mobileconfig.builder import Builder, BuildResult, build
    from mobileconfig.cms import Signer, sign, verify
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
    from mobileconfig.pki.chains import Policy, validate
    from mobileconfig.planning import Plan, plan
    from mobileconfig.reader import LoadedProfile, read_profile
    from mobileconfig.secrets import Secret


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mobileconfig' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
