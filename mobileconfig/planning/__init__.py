"""What changes on devices when NEW replaces OLD: the plan of a profile update.

:func:`plan` reads two profiles, each a spec (built in memory, unsigned content) or a built
profile (XML or binary, signed or not, encrypted when a decrypt identity is given), and
compares them as a device does:

- The profile is replaced when its ``PayloadIdentifier`` stays; with a new one, devices
  install NEW beside OLD (MC701).
- Payloads are matched by ``PayloadIdentifier`` (relative to the profile's own identifier,
  so renaming the profile is reported once, not once per payload), then, for those left, by
  type and content: a certificate by its SHA-256, any other payload by every key but its
  identifier and UUID. Reordered payloads, ``PayloadUUID`` churn and a new signature over
  the same content are therefore no change.
- References between payloads (``PayloadCertificateUUID`` and the like) are compared by
  the identifier of the payload they point at, not by its UUID.

The result is data (:class:`Plan`): the changes payload by payload, then the findings on
their consequences (MC701-MC705) and NEW's own findings, from the same checks ``validate``
runs. Secrets (passwords, challenges) are compared but never shown: a change to one is
reported as "changed". This module renders no text; the command line does.

Layout: :mod:`.sides` reads OLD and NEW, :mod:`.compare` matches and compares their
payloads, :mod:`.consequences` turns the changes into findings, :mod:`.model` holds the
result. The package is ``planning``, not ``plan``: the package ``mobileconfig`` exports the
function ``plan``, and importing a submodule of that name would replace the function with
the module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mobileconfig.findings import Report
from mobileconfig.planning.compare import Payload, diff_pair, match, payloads, profile_change, whole
from mobileconfig.planning.consequences import ACCOUNT_TYPES, consequence_findings
from mobileconfig.planning.model import (
    CONSEQUENCE_CODES,
    Change,
    KeyChange,
    Plan,
    ProfileSide,
    certificate_ref,
)
from mobileconfig.planning.sides import read_side

if TYPE_CHECKING:
    from mobileconfig.cms import Signer
    from mobileconfig.planning.sides import PlanInput

__all__ = [
    "ACCOUNT_TYPES",
    "CONSEQUENCE_CODES",
    "Change",
    "KeyChange",
    "Plan",
    "ProfileSide",
    "plan",
]


def plan(
    old: PlanInput,
    new: PlanInput,
    *,
    at: dt.datetime | None = None,
    variables: Mapping[str, Any] | None = None,
    decrypt_with: Signer | None = None,
) -> Plan:
    """What changes on devices holding ``old`` when ``new`` is shipped.

    ``old`` and ``new`` are each a spec (a ``.yaml``/``.yml`` path or a
    :class:`~mobileconfig.builder.Builder`, built in memory with ``variables``) or a built
    profile (any other path, its bytes, or a :class:`~mobileconfig.reader.LoadedProfile`);
    ``decrypt_with`` opens encrypted ones. ``at`` is the time NEW's certificates are
    checked at (default: now, or the spec's ``validate.at``).

    Never raises for what the profiles hold: that is in the plan's findings. Raises
    :class:`~mobileconfig.errors.MobileconfigError` when either cannot be read."""
    before = read_side(old, variables=variables, at=at, decrypt_with=decrypt_with, check=False)
    after = read_side(new, variables=variables, at=at, decrypt_with=decrypt_with, check=True)
    renamed = before.info.identifier != after.info.identifier
    olds = payloads(before, (before.info.identifier, after.info.identifier) if renamed else None)
    news = payloads(after, None)
    pairs, removed, added = match(olds, news)
    names = {p.key: p.name or p.key for p in (*olds, *news) if p.key is not None}

    changes: list[Change] = []
    top = profile_change(before, after, names)
    if top is not None:
        changes.append(top)
    for p in added:
        changes.append(whole("add", p))
    for p in removed:
        changes.append(whole("remove", p))
    modified: list[tuple[Payload, Payload, Change]] = []
    for a, b in sorted(pairs, key=lambda pair: pair[1].index):
        keys = diff_pair(a, b, names)
        if keys:
            change = Change(
                "modify",
                b.ptype,
                b.identifier,
                b.name,
                tuple(keys),
                certificate_ref(b.certificate) if b.certificate is not None else None,
            )
            changes.append(change)
            modified.append((a, b, change))

    report = Report()
    report.extend(consequence_findings(before, after, olds, news, removed, modified, renamed))
    report.merge(after.report)
    return Plan(before.info, after.info, changes, report, strict=after.strict)
