"""Reading OLD and NEW: a spec built in memory, or a built profile (signed, encrypted).

Each side is read into the profile devices would get, the certificate of each identity
when it can be known, and, for a spec, the servers it names with their certificates. NEW
is also checked as ``validate`` checks it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobileconfig.errors import CertificateError, Location, MobileconfigError, ProfileError
from mobileconfig.findings import CertificateRef, Report
from mobileconfig.pki.certs import Certificate, load_certificate_file
from mobileconfig.planning.model import ProfileSide, certificate_ref

if TYPE_CHECKING:
    from mobileconfig.builder import Builder
    from mobileconfig.cms import Signer
    from mobileconfig.payloads.base import Profile
    from mobileconfig.reader import LoadedProfile

    #: What :func:`~mobileconfig.planning.plan` compares: a spec (a ``.yaml``/``.yml`` path
    #: or a Builder) or a built profile (any other path, its bytes, or a LoadedProfile).
    PlanInput = str | os.PathLike[str] | bytes | Builder | LoadedProfile

__all__ = ["MAX_OPENED_IDENTITIES", "ServerUse", "Side", "read_side"]

_PKCS12 = "com.apple.security.pkcs12"


@dataclass
class ServerUse:
    """A server a spec names with the certificate it presents (spec input only)."""

    label: str
    chain: list[Certificate]


@dataclass
class Side:
    info: ProfileSide
    profile: Profile
    #: PayloadUUID of an identity payload -> its leaf certificate, when known.
    leaves: dict[str, Certificate] = field(default_factory=dict)
    servers: list[ServerUse] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    strict: bool = False
    location: Location | None = None  # where the profile identifier is set (MC701)


def _is_spec_path(value: str | os.PathLike[str]) -> bool:
    return str(value).lower().endswith((".yaml", ".yml"))


def read_side(
    item: PlanInput,
    *,
    variables: Mapping[str, Any] | None,
    at: dt.datetime | None,
    decrypt_with: Signer | None,
    check: bool,
) -> Side:
    from mobileconfig.builder import Builder
    from mobileconfig.reader import LoadedProfile, read_profile, read_profile_file

    if isinstance(item, Builder):
        return _read_spec(item, variables=variables, at=at, check=check)
    if isinstance(item, LoadedProfile):
        return _read_built(item, at=at, decrypt_with=decrypt_with, check=check)
    if isinstance(item, bytes | bytearray | memoryview):
        loaded = read_profile(bytes(item), source="<bytes>")
        return _read_built(loaded, at=at, decrypt_with=decrypt_with, check=check)
    if isinstance(item, str | os.PathLike):
        if _is_spec_path(item):
            return _read_spec(Builder(item), variables=variables, at=at, check=check)
        loaded = read_profile_file(os.fspath(item))
        return _read_built(loaded, at=at, decrypt_with=decrypt_with, check=check)
    raise TypeError(
        f"plan() takes a path, profile bytes, a Builder or a LoadedProfile, not {item!r}"
    )


def _read_spec(
    builder: Builder, *, variables: Mapping[str, Any] | None, at: dt.datetime | None, check: bool
) -> Side:
    compiled = builder.compile(variables, at=at)
    src = compiled.source
    assert src is not None  # a Builder's compile always keeps its source
    spec = src.spec
    profile = compiled.profile
    signer: CertificateRef | None = None
    if spec.sign is not None and spec.sign.certificate is not None:
        signer = _spec_signer(Path(spec.sign.certificate), src.base_dir)
    side = Side(
        ProfileSide(
            source=builder.file,
            kind="spec",
            identifier=profile.payload_identifier,
            uuid=profile.payload_uuid,
            name=profile.payload_display_name,
            signed=spec.sign is not None,
            signer=signer,
        ),
        profile,
        leaves={
            info.uuid: info.certificate
            for info in compiled.identities.values()
            if info.certificate is not None
        },
        servers=_spec_servers(spec, src.base_dir),
        strict=spec.validate_.strict,
        location=src.location("identifier"),
    )
    if check:
        # The same checks as `mobileconfig validate SPEC`: one verdict for one file.
        side.report = builder.check_compiled(compiled, at=at)
    return side


def _spec_signer(path: Path, base: Path) -> CertificateRef | None:
    """The certificate of a spec's PEM signer (no key or password needed to read it)."""
    try:
        certs = load_certificate_file(path if path.is_absolute() else base / path)
    except CertificateError:
        return None  # the build reports it; the plan only loses the signer's name
    return certificate_ref(certs[0]) if certs else None


def _spec_servers(spec: Any, base: Path) -> list[ServerUse]:
    """Every server the spec gives a certificate for, named as a reviewer knows it."""
    found: list[tuple[str, Any]] = []
    for m in getattr(spec, "mail", None) or []:
        for side in ("incoming", "outgoing"):
            server = getattr(m, side)
            found.append((f"{side} mail server {server.host}", server.server_certificate))
    for x in getattr(spec, "exchange", None) or []:
        found.append((f"Exchange server {x.host or '(autodiscovered)'}", x.server_certificate))
    for w in getattr(spec, "wifi", None) or []:
        if w.eap is not None:
            found.append((f"Wi-Fi '{w.ssid}' RADIUS server", w.eap.server_certificate))
    for e in getattr(spec, "ethernet", None) or []:
        found.append(("802.1X Ethernet RADIUS server", e.eap.server_certificate))
    for v in getattr(spec, "vpn", None) or []:
        ikev2 = getattr(v, "ikev2", None)
        if ikev2 is not None:
            found.append((f"VPN server {ikev2.server}", ikev2.server_certificate))
    uses = []
    for label, value in found:
        if value is None:
            continue
        raw = Path(value if isinstance(value, str) else value.path)
        try:
            chain = load_certificate_file(raw if raw.is_absolute() else base / raw)
        except CertificateError:
            continue  # compiling the spec has already reported it
        uses.append(ServerUse(label, chain))
    return uses


def _read_built(
    loaded: LoadedProfile, *, at: dt.datetime | None, decrypt_with: Signer | None, check: bool
) -> Side:
    loaded = _opened(loaded, decrypt_with)
    profile = loaded.profile
    signer: CertificateRef | None = None
    if loaded.signed is not None:
        from mobileconfig.cms import verify

        found = verify(loaded.signed, at=at).signer
        signer = certificate_ref(found) if found is not None else None
    side = Side(
        ProfileSide(
            source=loaded.source,
            kind="profile",
            identifier=profile.payload_identifier,
            uuid=profile.payload_uuid,
            name=profile.payload_display_name,
            signed=loaded.signed is not None,
            signer=signer,
            encrypted=loaded.encrypted,
        ),
        profile,
        leaves=_embedded_leaves(profile, loaded.source),
        location=Location(loaded.source),
    )
    if check:
        side.report = _check_built(loaded, at)
    return side


def _check_built(loaded: LoadedProfile, at: dt.datetime | None) -> Report:
    """The same checks as `mobileconfig validate PROFILE`: one verdict for one file."""
    from mobileconfig.pki.chains import validate
    from mobileconfig.reader import profile_certificates

    certs, findings = profile_certificates(loaded)
    report = Report(findings)
    if certs:
        report.merge(validate(certs, at=at))
    return report


def _opened(loaded: LoadedProfile, decrypt_with: Signer | None) -> LoadedProfile:
    """``loaded`` with its payloads decrypted; an error when they cannot be."""
    if not loaded.encrypted:
        return loaded
    from cryptography.hazmat.primitives.asymmetric import rsa

    from mobileconfig.cms import decrypt
    from mobileconfig.payloads.base import Profile
    from mobileconfig.render import loads

    where = Location(loaded.source)
    if decrypt_with is None:
        raise ProfileError(
            "the payloads are encrypted to a device",
            location=where,
            hint="give the device identity that opens them (--decrypt-with)",
        )
    blob = loaded.profile.encrypted_payload_content
    key = decrypt_with.key
    if blob is None:
        raise ProfileError("marked encrypted, but has no EncryptedPayloadContent", location=where)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ProfileError("encrypted profiles are opened with an RSA device key", location=where)
    try:
        inner = decrypt(blob, decrypt_with.certificate, key)
    except MobileconfigError as exc:
        raise ProfileError(exc.message, location=where) from None
    items = loads(inner, source=f"{loaded.source} (EncryptedPayloadContent)").value
    try:
        if not isinstance(items, list):
            raise ValueError(items)
        profile = Profile.from_plist({**loaded.profile.to_plist(), "PayloadContent": items})
    except ValueError:
        raise ProfileError(
            "the decrypted content is not a list of payload dictionaries", location=where
        ) from None
    return replace(loaded, profile=profile)


#: At most this many embedded PKCS#12 are opened per profile (each costs a key check);
#: the others are compared by their bytes.
MAX_OPENED_IDENTITIES = 32


def _embedded_leaves(profile: Profile, source: str) -> dict[str, Certificate]:
    """The leaf of each PKCS#12 payload whose password is embedded (else unknown)."""
    from mobileconfig.pki.identities import load_pkcs12

    leaves: dict[str, Certificate] = {}
    tried = 0
    for payload in profile.payload_content:
        data = payload.to_plist()
        content, password, uuid = (
            data.get("PayloadContent"),
            data.get("Password"),
            data.get("PayloadUUID"),
        )
        if data.get("PayloadType") != _PKCS12 or not isinstance(uuid, str):
            continue
        if not isinstance(content, bytes) or not isinstance(password, str):
            continue
        tried += 1
        if tried > MAX_OPENED_IDENTITIES:
            break
        try:
            ident = load_pkcs12(
                content, password.encode(), name=str(data.get("PayloadDisplayName")), source=source
            )
        except MobileconfigError:
            continue  # the device asks for the password; the plan compares the bytes
        leaves[uuid] = ident.certificate
    return leaves
