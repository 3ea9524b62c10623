"""Check plist dictionaries against Apple's device-management schema, for the tests.

The schema is the package's own copy (``mobileconfig.schema``, generated from Apple's MIT
YAML by ``scripts/gen_apple_schema.py``), so these checks need nothing beside the checkout.
``conform(payload_dict)`` and ``conform_profile(profile_dict)`` return one line per
problem ("MC009: payload 0 com.apple.wifi.managed ...: required key ... is missing"): every
error and warning of :func:`mobileconfig.schema.check.check_payload` /
:func:`~mobileconfig.schema.check.check_profile`. An empty list means the dictionary
conforms.
"""

from __future__ import annotations

from typing import Any

from mobileconfig.findings import Finding, Severity
from mobileconfig.schema import payload_schema
from mobileconfig.schema.check import check_payload, check_profile


def _lines(findings: list[Finding]) -> list[str]:
    return [f"{f.code}: {f.message}" for f in findings if f.severity is not Severity.INFO]


def conform(payload: dict[str, Any]) -> list[str]:
    """Problems of one payload dictionary against its type's schema plus the common keys.
    KeyError for a payload type the bundled schema does not describe."""
    ptype = payload["PayloadType"]
    if payload_schema(ptype) is None:
        raise KeyError(f"no Apple schema for {ptype}")
    return _lines(check_payload(payload))


def conform_profile(profile: dict[str, Any]) -> list[str]:
    """Problems of a whole profile: the top level, every payload, and the references and
    duplicates between them."""
    return _lines(check_profile(profile))
