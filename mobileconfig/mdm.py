"""The per-device variables that MDMs substitute into the profiles uploaded to them.

An MDM that receives a profile replaces its own placeholders (``$FLEET_VAR_HOST_UUID``,
Jamf's ``$EMAIL``, Intune's ``{{userprincipalname}}``, Workspace ONE's ``{EmailAddress}``)
with each device's or user's value when it sends the profile. In the profile we build, such
a placeholder is text that must pass through untouched: it is not a Jinja2 expression, not a
host name, not an address. This module knows each MDM's syntax and documented names, finds
the placeholders in a string, and escapes the ones that look like Jinja2.

The names and their sources are listed in ``docs/mdm.md``. A name an MDM does not document
(a Fleet custom secret, a Jamf extension attribute, a SimpleMDM custom attribute) is still
its syntax; a spec can declare such names so they are not reported as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mobileconfig.errors import Location
from mobileconfig.findings import Finding, make_finding

__all__ = [
    "MDMS",
    "MDM_NAMES",
    "Mdm",
    "MdmVariable",
    "depends_on_variable",
    "find_variables",
    "guess_mdms",
    "mdm",
    "protect_for_jinja",
    "protect_values",
    "scan_values",
    "variable_finding",
]


@dataclass(frozen=True)
class Mdm:
    """One MDM's placeholder syntax and the names it documents."""

    key: str
    """The value of ``mdm:`` in a spec and of ``--mdm``: ``fleet``, ``workspace-one``, ..."""
    title: str
    example: str
    """How a placeholder is written, for messages: ``$FLEET_VAR_<NAME>``."""
    pattern: re.Pattern[str]
    """Matches one placeholder; the group ``name`` (or ``name2``) is the variable's name."""
    names: frozenset[str]
    """Names as documented (see :attr:`case_sensitive`)."""
    prefixes: tuple[str, ...] = ()
    """Documented families: a name that starts with one of these is known."""
    case_sensitive: bool = True
    jinja_like: bool = False
    """True when the syntax is also Jinja2's (``{{name}}``): escaped before rendering."""
    sources: tuple[str, ...] = ()

    def is_known(self, name: str, declared: Collection[str] = ()) -> bool:
        if name in declared:
            return True
        probe = name if self.case_sensitive else name.lower()
        if probe in self.names:
            return True
        return any(probe.startswith(p) and len(probe) > len(p) for p in self.prefixes)

    def documented_spelling(self, name: str) -> str | None:
        """The documented spelling of ``name`` when it differs only in letter case."""
        lower = name.lower()
        for known in self.names:
            if known.lower() == lower and known != name:
                return known
        return None

    def write(self, name: str) -> str:
        """``name`` written as a placeholder of this MDM."""
        return self.example.replace("<NAME>", name)


@dataclass(frozen=True)
class MdmVariable:
    """One placeholder found in a string."""

    mdm: str
    text: str
    """Exactly as written: ``${FLEET_VAR_HOST_UUID}``."""
    name: str
    """The name inside it: ``FLEET_VAR_HOST_UUID``."""
    start: int
    end: int
    known: bool
    """Documented by the MDM, or declared in the spec."""
    suggestion: str | None = None
    """For an unknown name: a documented one that is spelled alike."""


# -- the MDMs ------------------------------------------------------------------------------

_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_UPPER = r"[A-Z][A-Z0-9_]*"

# Fleet: $FLEET_VAR_NAME or ${FLEET_VAR_NAME}; Fleet itself reads \w+ after the prefix.
# FLEET_SECRET_* names are the user's own secrets: any suffix is valid.
_FLEET = Mdm(
    key="fleet",
    title="Fleet",
    example="$<NAME>",
    pattern=re.compile(
        r"\$\{(?P<name2>FLEET_(?:VAR|SECRET)_\w+)\}|\$(?P<name>FLEET_(?:VAR|SECRET)_\w+)"
    ),
    names=frozenset(
        "FLEET_VAR_" + n
        for n in (
            "NDES_SCEP_CHALLENGE",
            "NDES_SCEP_PROXY_URL",
            "HOST_END_USER_EMAIL_IDP",
            "HOST_END_USER_IDP_USERNAME",
            "HOST_END_USER_IDP_USERNAME_LOCAL_PART",
            "HOST_END_USER_IDP_GROUPS",
            "HOST_END_USER_IDP_DEPARTMENT",
            "HOST_END_USER_IDP_FULL_NAME",
            "HOST_HARDWARE_SERIAL",
            "HOST_UUID",
            "HOST_PLATFORM",
            "SCEP_RENEWAL_ID",
        )
    ),
    prefixes=(
        "FLEET_VAR_DIGICERT_DATA_",
        "FLEET_VAR_DIGICERT_PASSWORD_",
        "FLEET_VAR_CUSTOM_SCEP_CHALLENGE_",
        "FLEET_VAR_CUSTOM_SCEP_PROXY_URL_",
        "FLEET_VAR_SMALLSTEP_SCEP_CHALLENGE_",
        "FLEET_VAR_SMALLSTEP_SCEP_PROXY_URL_",
        "FLEET_SECRET_",
    ),
    sources=(
        "https://fleetdm.com/docs/configuration/yaml-files#variables",
        "https://fleetdm.com/guides/ndes-scep-proxy",
        "https://fleetdm.com/guides/secrets-in-scripts-and-configuration-profiles",
    ),
)

_JAMF = Mdm(
    key="jamf",
    title="Jamf Pro",
    example="$<NAME>",
    pattern=re.compile(rf"\$(?P<name>{_UPPER})"),
    names=frozenset(
        {
            "MANAGEMENTID",
            "COMPUTERNAME",
            "DEVICENAME",
            "ASSET_TAG",
            "SITENAME",
            "SITEID",
            "UDID",
            "SERIALNUMBER",
            "USERNAME",
            "FULLNAME",
            "REALNAME",
            "EMAIL",
            "PHONE",
            "POSITION",
            "DEPARTMENTNAME",
            "DEPARTMENTID",
            "BUILDINGNAME",
            "BUILDINGID",
            "ROOM",
            "MACADDRESS",
            "JSSID",
            "PROFILEJSSID",
        }
    ),
    prefixes=("EXTENSIONATTRIBUTE_",),
    sources=(
        "https://learn.jamf.com/en-US/bundle/jamf-pro-documentation-current/page/"
        "Computer_Configuration_Profiles.html",
        "https://developer.jamf.com/developer-guide/docs/acting-on-extension-attribute-data",
    ),
)

_KANDJI = Mdm(
    key="kandji",
    title="Kandji",
    example="$<NAME>",
    pattern=re.compile(rf"\$(?P<name>{_UPPER})"),
    names=frozenset(
        {
            "SERIAL_NUMBER",
            "DEVICE_NAME",
            "DEVICE_ID",
            "ASSET_TAG",
            "UDID",
            "PROFILE_UUID",
            "EMAIL",
            "EMAIL_PREFIX",
            "FULL_NAME",
            "USERNAME",
            "USERNAME_PREFIX",
            "DEPARTMENT",
            "JOB_TITLE",
            "BLUEPRINT_NAME",
            "BLUEPRINT_ID",
            "MODEL_NAME",
            "MODEL_IDENTIFIER",
        }
    ),
    sources=(
        "https://support.kandji.io/kb/global-variables",
        "https://github.com/kandji-inc/support/tree/main/Global%20Variables",
    ),
)

# Intune: {{token}}. Microsoft's custom-profile page calls tokens case-sensitive and writes
# them in lower case, while its other pages write {{UserPrincipalName}}: names are matched
# without regard to case, and the documented spelling is suggested.
_INTUNE = Mdm(
    key="intune",
    title="Microsoft Intune",
    example="{{<NAME>}}",
    pattern=re.compile(rf"\{{\{{(?P<name>{_NAME})\}}\}}"),
    names=frozenset(
        {
            # custom profiles and app configuration
            "userprincipalname",
            "mail",
            "partialupn",
            "accountid",
            "deviceid",
            "userid",
            "username",
            "serialnumber",
            "serialnumberlast4digits",
            "udidlast4digits",
            "aaddeviceid",
            # certificate (SCEP/PKCS) profile subject and SAN variables
            "aad_device_id",
            "device_serial",
            "device_imei",
            "imeinumber",
            "azureaddeviceid",
            "wifimacaddress",
            "imei",
            "meid",
            "devicename",
            "fullyqualifieddomainname",
            "emailaddress",
            "onprem_distinguished_name",
            "onpremisessamaccountname",
        }
    ),
    case_sensitive=False,
    jinja_like=True,
    sources=(
        "https://learn.microsoft.com/mem/intune/configuration/custom-settings-ios",
        "https://learn.microsoft.com/mem/intune/apps/app-configuration-policies-use-ios"
        "#tokens-used-in-the-property-list",
        "https://learn.microsoft.com/mem/intune/protect/certificates-profile-scep",
    ),
)

_WORKSPACE_ONE = Mdm(
    key="workspace-one",
    title="Workspace ONE UEM",
    example="{<NAME>}",
    pattern=re.compile(rf"(?<![{{$])\{{(?P<name>{_NAME})\}}(?!\}})"),
    names=frozenset(
        {
            "EnrollmentUser",
            "EnrollmentUserId",
            "EmailAddress",
            "EmailUserName",
            "EmailDomain",
            "FirstName",
            "LastName",
            "UserPrincipalName",
            "DeviceUid",
            "DeviceSerialNumber",
            "DeviceSerialNumberLastFour",
            "DeviceModel",
            "DeviceOperatingSystem",
            "DeviceFriendlyName",
            "ManagementID",
            "GroupIdentifier",
            "DynamicScepChallenge",
        }
    ),
    sources=(
        "https://gist.github.com/synic/fc7a219f229ef1df7748b8564a2fbcf1",
        "https://docs.vmware.com/en/VMware-Workspace-ONE-UEM/2302/UEM_Managing_Devices/"
        "GUID-LookupValues.html",
    ),
)

#: Placeholders that macOS itself replaces when it installs an 802.1X or SCEP payload.
APPLE_DEVICE_VARIABLES = frozenset({"ComputerName", "HardwareUUID", "SerialNumber"})

_MOSYLE = Mdm(
    key="mosyle",
    title="Mosyle",
    example="%<NAME>%",
    pattern=re.compile(rf"%(?P<name>{_NAME})%"),
    # Only the names seen in published Mosyle profiles (declare others in the spec), and
    # the ones a Mac fills in itself in 802.1X and SCEP payloads, which share the syntax.
    names=frozenset({"DeviceName", "Email"}) | APPLE_DEVICE_VARIABLES,
    sources=("https://github.com/smallstep/docs/pull/481",),
)

# SimpleMDM: {{attribute}} for its device attributes and the account's custom attributes.
# Its list of built-in attributes could not be confirmed from a public page: no name is
# assumed, and a spec declares the ones it uses.
_SIMPLEMDM = Mdm(
    key="simplemdm",
    title="SimpleMDM",
    example="{{<NAME>}}",
    pattern=re.compile(rf"\{{\{{(?P<name>{_NAME})\}}\}}"),
    names=frozenset(),
    jinja_like=True,
    sources=("https://simplemdm.pdq.com/hc/en-us",),
)

#: Every MDM whose variables mobileconfig knows, by the key used in ``mdm:`` and ``--mdm``.
MDMS: dict[str, Mdm] = {
    m.key: m for m in (_FLEET, _JAMF, _INTUNE, _KANDJI, _WORKSPACE_ONE, _MOSYLE, _SIMPLEMDM)
}
MDM_NAMES: tuple[str, ...] = tuple(MDMS)

#: Strings longer than this are not scanned (no spec value is anywhere near it).
MAX_SCAN = 64 * 1024


def mdm(key: str) -> Mdm:
    """The MDM named ``key`` (``fleet``, ``jamf``, ...); ``ValueError`` names the choices."""
    try:
        return MDMS[key]
    except KeyError:
        raise ValueError(f"unknown MDM {key!r}: choose one of {', '.join(MDM_NAMES)}") from None


def _suggest(target: Mdm, name: str) -> str | None:
    spelled = target.documented_spelling(name)
    if spelled is not None:
        return spelled
    import difflib

    probe = name if target.case_sensitive else name.lower()
    close = difflib.get_close_matches(probe, sorted(target.names), n=1, cutoff=0.8)
    return close[0] if close else None


def find_variables(
    value: str, mdm_key: str, *, declared: Collection[str] = ()
) -> list[MdmVariable]:
    """Every placeholder of the MDM ``mdm_key`` in ``value``, in order.

    ``declared`` are extra names the spec vouches for (custom attributes, secrets).
    """
    target = mdm(mdm_key)
    if len(value) > MAX_SCAN:
        value = value[:MAX_SCAN]
    found: list[MdmVariable] = []
    for m in target.pattern.finditer(value):
        name = m.group("name") or (m.groupdict().get("name2") or "")
        known = target.is_known(name, declared)
        found.append(
            MdmVariable(
                mdm=target.key,
                text=m.group(0),
                name=name,
                start=m.start(),
                end=m.end(),
                known=known,
                suggestion=None if known else _suggest(target, name),
            )
        )
    return found


def depends_on_variable(value: str, mdm_key: str | None) -> bool:
    """True when ``value`` holds a placeholder of ``mdm_key`` (known or not).

    Checks of a value that the MDM rewrites per device (a host name, an address, a UUID)
    cannot be made before the MDM fills it in.
    """
    if mdm_key is None:
        return False
    return bool(find_variables(value, mdm_key))


def protect_for_jinja(
    value: str, mdm_key: str | None, *, template_names: Collection[str] = ()
) -> str:
    """``value`` with the MDM's ``{{name}}`` placeholders made literal for Jinja2.

    Intune and SimpleMDM write ``{{name}}``, which Jinja2 would evaluate. A tight
    ``{{name}}`` (no spaces inside) is the MDM's, unless ``name`` is one of
    ``template_names`` (the variables given to the build); ``{{ name }}`` with spaces, and
    anything with a filter, call or operator, stays Jinja2's. The MDM's placeholders are
    wrapped in ``{% raw %}`` so they render as written.
    """
    if mdm_key is None:
        return value
    target = mdm(mdm_key)
    if not target.jinja_like or "{{" not in value:
        return value

    def keep(m: re.Match[str]) -> str:
        name = m.group("name")
        if name in template_names:
            return m.group(0)
        return "{% raw %}" + m.group(0) + "{% endraw %}"

    return target.pattern.sub(keep, value)


def guess_mdms(value: str) -> list[str]:
    """The MDMs whose *documented* names appear in ``value`` (none given: a hint only).

    Used to suggest ``mdm:`` when a spec holds what looks like an MDM's variable.
    """
    return [key for key in MDMS if any(v.known for v in find_variables(value, key))]


def names_in(values: Iterable[str], mdm_key: str) -> list[str]:
    """The distinct placeholder names of ``mdm_key`` across ``values``, in first-seen order."""
    seen: dict[str, None] = {}
    for value in values:
        for v in find_variables(value, mdm_key):
            seen.setdefault(v.name, None)
    return list(seen)


# -- a whole spec ---------------------------------------------------------------------------

PathKey = tuple[str | int, ...]

#: Keys whose values are secrets: only a value that is one placeholder and nothing else is
#: read there (and may be named in a message); anything else is left alone.
_SECRET_KEYS = frozenset(
    {"password", "key_password", "challenge", "shared_secret", "client_identifier"}
)

#: Most strings looked at in one spec.
MAX_VALUES = 100_000


def _strings(value: Any, path: PathKey = (), depth: int = 0) -> Iterator[tuple[PathKey, str]]:
    if depth > 64:
        return
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i), depth + 1)


def _is_secret(path: PathKey) -> bool:
    return any(isinstance(p, str) and p in _SECRET_KEYS for p in path)


def spec_mdm(value: Any, override: str | None = None) -> str | None:
    """The MDM a raw spec names (``mdm:``), or ``override``; None when neither names a
    known MDM (a wrong value is the spec model's to report)."""
    if override is not None:
        return override if override in MDMS else None
    key = value.get("mdm") if isinstance(value, dict) else None
    return key if isinstance(key, str) and key in MDMS else None


def protect_values(value: Any, mdm_key: str, template_names: Collection[str] = ()) -> Any:
    """A copy of a raw spec value with every string passed through
    :func:`protect_for_jinja` (Intune's and SimpleMDM's ``{{name}}`` made literal)."""
    target = mdm(mdm_key)
    if not target.jinja_like:
        return value

    def walk(v: Any, depth: int) -> Any:
        if depth > 64:
            return v
        if isinstance(v, str):
            return protect_for_jinja(v, mdm_key, template_names=template_names)
        if isinstance(v, dict):
            return {k: walk(x, depth + 1) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, depth + 1) for x in v]
        return v

    return walk(value, 0)


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def variable_finding(
    mdm_key: str, value: str, where: str, check: str, location: Location | None
) -> Finding:
    """MC030: ``check`` of ``where`` was not made, because ``value`` holds a placeholder of
    ``mdm_key`` that the MDM fills in per device."""
    target = mdm(mdm_key)
    names = ", ".join(dict.fromkeys(v.text for v in find_variables(value, mdm_key)))
    return make_finding(
        "MC030",
        f"{where}: {check} depends on an MDM variable ({names}), which {target.title} fills "
        "in for each device: not checked here",
        location=location,
    )


def scan_values(
    value: Any,
    mdm_key: str | None,
    *,
    declared: Collection[str] = (),
    locate: Callable[[PathKey], Location | None],
) -> list[Finding]:
    """MC031 for each unknown placeholder of ``mdm_key`` in a (rendered) spec value, or,
    without an MDM, MC032 for each value that holds an MDM's documented variable."""
    found: list[Finding] = []
    seen: set[tuple[PathKey, str]] = set()
    for n, (path, text) in enumerate(_strings(value)):
        if n >= MAX_VALUES:
            break
        if path and path[0] in ("mdm", "mdm_variables"):
            continue
        secret = _is_secret(path)
        if mdm_key is None:
            if secret:
                continue
            hits = guess_mdms(text)
            if hits:
                titles = " or ".join(MDMS[h].title for h in hits)
                found.append(
                    make_finding(
                        "MC032",
                        f"{_dotted(path)}: {text[:80]!r} looks like a variable of {titles}, but "
                        f"the spec names no MDM: it is checked and installed as written "
                        f"(mdm: {hits[0]} would pass it through)",
                        location=locate(path),
                    )
                )
            continue
        variables = find_variables(text, mdm_key, declared=declared)
        if secret and not (len(variables) == 1 and variables[0].text == text.strip()):
            continue
        for v in variables:
            if v.known or (path, v.name) in seen:
                continue
            seen.add((path, v.name))
            target = MDMS[mdm_key]
            near = f"; did you mean {target.write(v.suggestion)}?" if v.suggestion else ""
            found.append(
                make_finding(
                    "MC031",
                    f"{_dotted(path)}: {v.text} is not a variable {target.title} documents, "
                    f"and not in mdm_variables: the device would get it as written{near}",
                    location=locate(path),
                )
            )
    return found
