"""Map a compiled, checked profile to declarations, credential assets and legacy profiles.

The input is the :class:`~mobileconfig.spec.compile.CompiledProfile` a profile build makes,
after its checks passed, so chains, identities and services are judged exactly as for a
profile. Each payload goes one of two ways (docs/declarative.md gives the reasons):

- a declaration: certificates (asset + ``security.certificate``), identities (asset +
  ``security.identity``), mail and Exchange accounts (``account.mail`` /
  ``account.exchange`` with user-identity and user-password assets);
- a ``com.apple.configuration.legacy`` profile: everything with no declaration (Wi-Fi,
  Ethernet, VPN, trust settings, the removal password, raw payloads), every account or
  identity a listed platform or option keeps out of declarations, and, copied in, the
  identities and certificates those payloads reference by PayloadUUID. Payloads user
  enrolment forbids (VPN, removal password, and types Apple's schema does not list) go in a
  second legacy profile of their own.

A finding says each time a payload stays legacy for a reason other than having no
declaration (MC807-MC810), and MC811 lists what the legacy profiles carry.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mobileconfig.ddm.accounts import AccountMapping, Plan
from mobileconfig.ddm.apple_schema import PROFILE_PAYLOAD_TYPES, USER_ENROLLMENT_FORBIDDEN
from mobileconfig.ddm.model import (
    AssetFile,
    Declaration,
    DeclarativeOutput,
    declaration_identifier,
    server_token,
)
from mobileconfig.ddm.schema import PlatformMinimums, check_credential, check_declaration
from mobileconfig.errors import Location, MobileconfigError
from mobileconfig.findings import Finding, Report, make_finding
from mobileconfig.output import holds_secret
from mobileconfig.payloads.accounts import ExchangePayload, MailPayload
from mobileconfig.payloads.base import Payload, RawPayload, derive_uuid
from mobileconfig.payloads.certificates import CertificatePayload, PEMCertificatePayload
from mobileconfig.payloads.identity import ACMEPayload, PKCS12Payload, SCEPPayload
from mobileconfig.render import dumps

if TYPE_CHECKING:
    from mobileconfig.cms import Digest, Signer
    from mobileconfig.pki.certs import Certificate
    from mobileconfig.spec.compile import CompiledProfile

__all__ = ["check_base_url", "map_profile", "platform_minimums"]

AnyPayload = Payload | RawPayload
IDENTITY_TYPES = (PKCS12Payload, SCEPPayload, ACMEPayload)
#: Payload types a legacy profile may never carry (Apple: legacy.yaml, ProfileURL).
NEVER_LEGACY = {"com.apple.mdm", "com.apple.declarations"}
_MDM = {"Type": "MDM"}


def check_base_url(url: str) -> str:
    """The base URL without a trailing slash; raises unless it is an https:// URL with a host
    and no query or fragment (Apple requires https for every DataURL and ProfileURL)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise MobileconfigError(
            f"the declarative base URL must start with https:// (Apple refuses other "
            f"schemes for asset and profile URLs), not {url!r}",
            hint="e.g. --ddm-base-url https://mdm.example.com/ddm",
        )
    if parts.query or parts.fragment:
        raise MobileconfigError(
            f"the declarative base URL {url!r} has a query or fragment; give the folder's URL"
        )
    return url.strip().rstrip("/")


def platform_minimums(platforms: Any) -> dict[str, str | None]:
    """The spec's ``platforms:`` as {platform: minimum version or None}: a list names the
    platforms only; a mapping gives each one's minimum version."""
    if isinstance(platforms, Mapping):
        return {str(k): (str(v) if v not in (None, "") else None) for k, v in platforms.items()}
    return {str(p): None for p in platforms or ()}


def _uuids_in(value: Any, wanted: set[str]) -> set[str]:
    """Every string in ``value`` (a plist tree) that is one of ``wanted``."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item in wanted:
                found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _single(value: Any) -> Any:
    """A SubjectAltName value as the credential schema wants it: one string."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


@dataclass
class _Mapper(AccountMapping):
    compiled: CompiledProfile
    base_url: str
    signer: Signer | None
    digest: Digest
    findings: list[Finding] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    assets: dict[str, AssetFile] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = self.compiled.source
        assert src is not None
        self.src = src
        self.spec = src.spec
        self.platforms = platform_minimums(self.spec.platforms)
        self.scope = self.spec.scope
        self.payloads: list[AnyPayload] = list(self.compiled.profile.payload_content)
        self.by_uuid = {p.payload_uuid: p for p in self.payloads if p.payload_uuid}
        self.identity_uuids = {
            p.payload_uuid for p in self.payloads if isinstance(p, IDENTITY_TYPES)
        }
        self.cert_uuids = {
            p.payload_uuid for p in self.payloads if isinstance(p, CertificatePayload)
        }
        self.where: dict[str, Location] = {}
        self.leaf: dict[str, Certificate] = {}  # identity PayloadUUID -> its certificate
        for name, info in self.compiled.identities.items():
            self.where[info.uuid] = src.location("identities", name)
            if info.certificate is not None:
                self.leaf[info.uuid] = info.certificate
        by_content: dict[bytes, Certificate] = {}
        for b in self.compiled.certificates:
            by_content[b.certificate.der] = b.certificate
            by_content[b.certificate.to_pem()] = b.certificate
        self.bundled: dict[str, Certificate] = {
            str(p.payload_uuid): by_content[p.payload_content]
            for p in self.payloads
            if isinstance(p, CertificatePayload) and p.payload_content in by_content
        }
        for section, cls in (("mail", MailPayload), ("exchange", ExchangePayload)):
            items = [p for p in self.payloads if isinstance(p, cls)]
            for n, p in enumerate(items):
                self.where[p.payload_uuid] = src.location(section, n)

    def chain_of(self, identity_uuid: str) -> set[str]:
        """The PayloadUUIDs of the bundled certificates an identity's certificate chains
        through (its issuer, that one's issuer, up to a root), so a legacy profile that
        carries the identity carries its path too and passes the profile checks alone."""
        cert = self.leaf.get(identity_uuid)
        found: set[str] = set()
        while cert is not None and not cert.self_issued:
            issuer = next(
                (
                    (uuid, c)
                    for uuid, c in self.bundled.items()
                    if c.subject_der == cert.issuer_der
                    and uuid not in found
                    and cert.authority_key_identifier in (None, c.subject_key_identifier)
                ),
                None,
            )
            if issuer is None:
                break
            found.add(issuer[0])
            cert = issuer[1]
        return found

    # -- helpers ----------------------------------------------------------------------------
    def ident(self, kind: str, entry: str) -> str:
        return declaration_identifier(self.spec.identifier, kind, entry)

    def url(self, name: str) -> str:
        return f"{self.base_url}/assets/{name}"

    def label(self, p: AnyPayload) -> str:
        return str(p.payload_display_name or p.payload_identifier or p.payload_type)

    def note(self, code: str, message: str, p: AnyPayload | None = None) -> None:
        where = self.where.get(p.payload_uuid or "") if p is not None else None
        self.findings.append(make_finding(code, message, location=where or self.src.location()))

    def declare(self, dtype: str, ident: str, payload: dict[str, Any], *data: bytes) -> str:
        body = {"Type": dtype, "Identifier": ident, "Payload": payload}
        token = server_token(body, *data)
        self.declarations.append(Declaration(dtype, ident, token, payload))
        self.tokens[ident] = token
        return ident

    def configure(self, dtype: str, ident: str, payload: dict[str, Any]) -> str:
        """A configuration: its token also covers the tokens of the assets it references."""
        refs = sorted(_uuids_in(payload, set(self.tokens)))
        return self.declare(dtype, ident, payload, *(self.tokens[r].encode() for r in refs))

    def asset(
        self,
        dtype: str,
        ident: str,
        data: bytes,
        suffix: str,
        content_type: str,
        *,
        secret: bool,
    ) -> str:
        name = f"{ident}{suffix}"
        file = self.assets[name] = AssetFile(name, data, content_type, secret)
        reference = {
            "DataURL": self.url(name),
            "ContentType": content_type,
            "Size": len(data),
            "Hash-SHA-256": file.sha256,
        }
        payload: dict[str, Any] = {"Reference": reference}
        if secret:
            payload["Authentication"] = dict(_MDM)
        return self.declare(dtype, ident, payload, data)

    def credential(
        self, dtype: str, ctype: str, ident: str, document: dict[str, Any], what: str
    ) -> str:
        self.findings.extend(
            check_credential(document, ctype, label=what, location=Location(f"assets/{ident}.json"))
        )
        data = (json_text(document)).encode()
        return self.asset(dtype, ident, data, ".json", "application/json", secret=True)

    # -- certificates -------------------------------------------------------------------------
    def certificates(self) -> None:
        for p in self.payloads:
            if not isinstance(p, CertificatePayload):
                continue
            entry = self.label(p)
            ident = self.ident("cert", entry)
            if isinstance(p, PEMCertificatePayload):
                suffix, ctype = ".pem", "application/pem"
            else:
                suffix, ctype = ".cer", "application/pkcs1"
            self.asset(
                "com.apple.asset.credential.certificate",
                ident,
                p.payload_content,
                suffix,
                ctype,
                secret=False,
            )
            self.configure(
                "com.apple.configuration.security.certificate",
                self.ident("cert-install", entry),
                {"CredentialAssetReference": ident},
            )

    # -- identities ---------------------------------------------------------------------------
    def identity_blockers(self, p: AnyPayload) -> list[tuple[str, str]]:
        """(code, reason) for each thing that keeps this identity out of a credential asset."""
        out: list[tuple[str, str]] = []
        if isinstance(p, PKCS12Payload) and not p.password:
            out.append(
                (
                    "MC807",
                    f"identity '{self.label(p)}' has no embedded password (embed_password: "
                    "false), and a credential asset needs one; it stays in the legacy profile, "
                    "where the device asks for the password",
                )
            )
        content: Mapping[str, Any] = {}
        if isinstance(p, SCEPPayload):
            content = p.payload_content.model_dump(by_alias=True, exclude_none=True)
        elif isinstance(p, ACMEPayload):
            content = p.to_plist()
            if p.hardware_bound and "macOS" in self.platforms:
                out.append(
                    (
                        "MC809",
                        f"identity '{self.label(p)}' asks for a hardware-bound ACME key, which "
                        "the declaration does not allow on macOS (HardwareBound must be false "
                        "there); it stays in the legacy profile",
                    )
                )
        san = content.get("SubjectAltName") or {}
        for key, value in san.items():
            if isinstance(value, list) and len(value) > 1:
                out.append(
                    (
                        "MC810",
                        f"identity '{self.label(p)}' asks for {len(value)} {key} names; the "
                        "credential document takes one; it stays in the legacy profile",
                    )
                )
        return out

    def identity_asset(self, p: AnyPayload) -> str:
        entry = str(p.payload_identifier)
        config: dict[str, Any] = {}
        extra: Any = p  # where the macOS-only key settings sit
        if isinstance(p, PKCS12Payload):
            assert p.password is not None
            ident = self.credential(
                "com.apple.asset.credential.identity",
                "com.apple.credential.identity",
                self.ident("identity", entry),
                {"Identity": _b64(p.payload_content), "Password": p.password},
                f"identity '{self.label(p)}'",
            )
        elif isinstance(p, SCEPPayload):
            c = p.payload_content
            doc = c.model_dump(by_alias=True, exclude_none=True)
            for key in ("KeyIsExtractable", "AllowAllAppsAccess"):
                doc.pop(key, None)
            if isinstance(doc.get("CAFingerprint"), bytes):
                doc["CAFingerprint"] = _b64(doc["CAFingerprint"])
            if "SubjectAltName" in doc:
                doc["SubjectAltName"] = {k: _single(v) for k, v in doc["SubjectAltName"].items()}
            ident = self.credential(
                "com.apple.asset.credential.scep",
                "com.apple.credential.scep",
                self.ident("scep", entry),
                doc,
                f"SCEP identity '{self.label(p)}'",
            )
            extra = c
        else:
            assert isinstance(p, ACMEPayload)
            doc = {
                k: v
                for k, v in p.to_plist().items()
                if not k.startswith("Payload")
                and k not in ("KeyIsExtractable", "AllowAllAppsAccess")
            }
            if "SubjectAltName" in doc:
                doc["SubjectAltName"] = {k: _single(v) for k, v in doc["SubjectAltName"].items()}
            ident = self.credential(
                "com.apple.asset.credential.acme",
                "com.apple.credential.acme",
                self.ident("acme", entry),
                doc,
                f"ACME identity '{self.label(p)}'",
            )
        config["CredentialAssetReference"] = ident
        for attr, key in (
            ("allow_all_apps_access", "AllowAllAppsAccess"),
            ("key_is_extractable", "KeyIsExtractable"),
        ):
            value = getattr(extra, attr, None)
            if value is not None:
                config[key] = value
        self.configure(
            "com.apple.configuration.security.identity",
            self.ident("identity-install", entry),
            config,
        )
        return ident

    # -- legacy profiles ----------------------------------------------------------------------
    def legacy(self, payloads: list[AnyPayload], restricted: bool) -> None:
        """One legacy profile with ``payloads`` and the identities and certificates they
        reference, and the legacy configuration that installs it."""
        wanted = self.identity_uuids | self.cert_uuids
        chosen = {id(p) for p in payloads}
        refs: set[str] = set()
        for p in payloads:
            refs |= _uuids_in(p.to_plist(), wanted) - {p.payload_uuid or ""}
        for uuid in list(refs) + [str(p.payload_uuid) for p in payloads]:
            refs |= self.chain_of(uuid)
        content = [
            p
            for p in self.payloads
            if id(p) in chosen or (p.payload_uuid in refs and id(p) not in chosen)
        ]
        kind = "legacy-restricted" if restricted else "legacy"
        top = self.compiled.profile
        pid = f"{self.spec.identifier}.{kind}"
        has_password = any(p.payload_type == "com.apple.profileRemovalPassword" for p in content)
        suffix = "settings user enrolment forbids" if restricted else "settings"
        profile = top.model_copy(
            update={
                "payload_identifier": pid,
                "payload_uuid": derive_uuid(pid),
                "payload_display_name": f"{top.payload_display_name} ({suffix})",
                "has_removal_passcode": True if has_password else None,
                "payload_content": content,
            }
        )
        unsigned = dumps(profile.to_plist(), "xml")
        data = unsigned
        if self.signer is not None:
            from mobileconfig.cms import sign as cms_sign

            data = cms_sign(unsigned, self.signer, digest=self.digest)
        ident = self.ident(kind, "profile")
        name = f"{ident}.mobileconfig"
        secret = holds_secret(profile.to_plist())
        self.assets[name] = AssetFile(name, data, "application/x-apple-aspen-config", secret)
        body = {"ProfileURL": self.url(name)}
        self.declare("com.apple.configuration.legacy", ident, body, unsigned)
        listing = ", ".join(sorted({p.payload_type for p in payloads}))
        copied = len(content) - len(payloads)
        also = f", and {copied} identity or certificate payload(s) they use" if copied else ""
        self.findings.append(
            make_finding(
                "MC811",
                f"{len(payloads)} payload(s) without a declaration go in the legacy profile "
                f"{name} ({listing}{also})",
                location=self.src.location(),
            )
        )

    # -- the whole mapping --------------------------------------------------------------------
    def run(self) -> None:
        self.certificates()
        plans: dict[str, Plan] = {}
        legacy: list[AnyPayload] = []
        for p in self.payloads:
            if isinstance(p, (CertificatePayload, *IDENTITY_TYPES)):
                continue
            if p.payload_type in NEVER_LEGACY:
                self.note(
                    "MC812",
                    f"payload {p.payload_type} ('{self.label(p)}') cannot go in a legacy "
                    "profile, and has no declaration; it is left out",
                    p,
                )
                continue
            plan: Plan | list[tuple[str, str]] | None = None
            if isinstance(p, MailPayload):
                plan = self.plan_mail(p)
            elif isinstance(p, ExchangePayload):
                plan = self.plan_exchange(p)
            if isinstance(plan, Plan):
                plans[str(p.payload_uuid)] = plan
                continue
            for code, message in plan or ():
                self.note(code, message, p)
            legacy.append(p)
        identities = [p for p in self.payloads if isinstance(p, IDENTITY_TYPES)]
        blocked = {str(p.payload_uuid): self.identity_blockers(p) for p in identities}
        wanted = set().union(*(plan.identities for plan in plans.values()))
        kept_legacy: set[str] = {u for u, b in blocked.items() if b}
        # An account that uses an identity which must stay legacy stays legacy too; a SCEP
        # or ACME identity that a legacy payload uses stays legacy alone (else the device
        # would enrol twice), taking its accounts with it. Repeat until nothing moves.
        while True:
            moved = False
            for uuid, plan in list(plans.items()):
                stuck = sorted(plan.identities & kept_legacy)
                if stuck:
                    names = ", ".join(f"'{self.label(self.by_uuid[u])}'" for u in stuck)
                    self.note(
                        "MC808",
                        f"'{self.label(plan.payload)}' uses identity {names}, which stays in "
                        "the legacy profile; so does this account",
                        plan.payload,
                    )
                    legacy.append(plan.payload)
                    del plans[uuid]
                    moved = True
            legacy_refs = set().union(
                *(_uuids_in(p.to_plist(), self.identity_uuids) for p in legacy)
            )
            for p in identities:
                uuid = str(p.payload_uuid)
                if uuid in kept_legacy or uuid not in legacy_refs:
                    continue
                if isinstance(p, SCEPPayload | ACMEPayload) or not any(
                    uuid in plan.identities for plan in plans.values()
                ):
                    kept_legacy.add(uuid)
                    moved = True
            if not moved:
                break
        for p in identities:
            uuid = str(p.payload_uuid)
            only_legacy = uuid in legacy_refs and uuid not in wanted
            if blocked[uuid] and not only_legacy:
                for code, message in blocked[uuid]:
                    self.note(code, message, p)
            elif uuid in kept_legacy:
                self.note(
                    "MC808",
                    f"identity '{self.label(p)}' is used only by payloads of the legacy profile "
                    "(or by accounts a declaration cannot take); it goes there alone, so the "
                    "device installs or enrols it once",
                    p,
                )
        assets: dict[str, str] = {}
        for p in identities:
            uuid = str(p.payload_uuid)
            if uuid in kept_legacy:
                if not any(uuid in _uuids_in(q.to_plist(), {uuid}) for q in legacy):
                    legacy.append(p)  # used by nothing: it still needs a home
                continue
            assets[uuid] = self.identity_asset(p)
        for plan in plans.values():
            plan.build(assets)
        groups: dict[bool, list[AnyPayload]] = {False: [], True: []}
        for p in legacy:
            forbidden = (
                p.payload_type in USER_ENROLLMENT_FORBIDDEN
                or p.payload_type not in PROFILE_PAYLOAD_TYPES
            )
            groups[forbidden and not isinstance(p, IDENTITY_TYPES)].append(p)
        for restricted, items in groups.items():
            if items:
                self.legacy(items, restricted)
        configurations = sorted(
            d.identifier for d in self.declarations if d.category == "configuration"
        )
        self.declare(
            "com.apple.activation.simple",
            self.ident("activation", "all"),
            {"StandardConfigurations": configurations},
        )


def json_text(value: Any) -> str:
    """A credential document as served: sorted keys, two-space indents, a final newline."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def map_profile(
    compiled: CompiledProfile,
    *,
    base_url: str,
    signer: Signer | None = None,
    digest: Digest = "sha256",
) -> DeclarativeOutput:
    """The declarations, asset files and legacy profiles for a compiled profile, with the
    findings of the mapping and of Apple's schema (MC801-MC812) in ``report``."""
    mapper = _Mapper(compiled, check_base_url(base_url), signer, digest)
    mapper.run()
    report = Report(list(mapper.findings))
    out = DeclarativeOutput(mapper.declarations, mapper.assets, report, mapper.base_url)
    report.extend(check_output(out, mapper.platforms))
    return out


def check_output(out: DeclarativeOutput, platforms: PlatformMinimums) -> list[Finding]:
    """Apple's schema for every declaration, and every reference resolved (MC801-MC806)."""
    from mobileconfig.ddm.schema import check_references

    findings: list[Finding] = []
    where = {d.identifier: Location(f"declarations/{d.identifier}.json") for d in out.declarations}
    for d in out.declarations:
        findings.extend(
            check_declaration(d.to_json(), platforms=platforms, location=where[d.identifier])
        )
    findings.extend(check_references([d.to_json() for d in out.declarations], location_of=where))
    return _unique(findings)


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out = []
    for f in findings:
        key = (f.code, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
