"""Declarative output: declarations, credential assets and legacy profiles from one spec.

A spec with two roots, an intermediate, a PKCS#12 identity, a mail account with S/MIME and
a Wi-Fi EAP-TLS network is built from the test PKI; examples/ddm is built as it stands. The
checks: every declaration conforms to Apple's schema and every reference resolves; asset
sizes and hashes match the files; secret-bearing files are 0600; identifiers are stable
and tokens change only with content; the legacy profiles pass the profile checks and carry
only what declarations cannot deliver (plus what their own payloads reference); inspect
reports a tampered folder; an http:// base URL is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import plistlib
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobileconfig.builder import Builder
from mobileconfig.ddm import (
    DeclarativeOutput,
    build_declarations,
    check_credential,
    check_declaration,
    check_references,
    inspect_folder,
    write_folder,
)
from mobileconfig.ddm.apple_schema import DECLARATIONS
from mobileconfig.ddm.mapping import json_text
from mobileconfig.errors import MobileconfigError, OutputError, SpecError, ValidationFailed
from mobileconfig.reader import read_profile

from conftest import ROOT, CLIResult
from pki import DAY, NOW, Issued, issue, make_key

BASE = "https://mdm.example.com/ddm"
EXAMPLE = ROOT / "examples" / "ddm" / "profile.yaml"
EXAMPLE_AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
PASSWORD = "test-only-p12-password"
SECRET_TYPES = {
    "com.apple.asset.credential.identity",
    "com.apple.asset.credential.scep",
    "com.apple.asset.credential.acme",
    "com.apple.asset.credential.userpassword",
}
CREDENTIAL_OF = {
    "com.apple.asset.credential.identity": "com.apple.credential.identity",
    "com.apple.asset.credential.scep": "com.apple.credential.scep",
    "com.apple.asset.credential.acme": "com.apple.credential.acme",
    "com.apple.asset.credential.userpassword": "com.apple.credential.usernameandpassword",
}


# -- the test world --------------------------------------------------------------------------
class World:
    """Two roots (the company's and a partner's), the company's intermediate, and Alice's
    identity for S/MIME and EAP-TLS, written into a folder with a spec."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = issue(
            "DDM Root CA",
            key=make_key("rsa2048", slot=41),
            not_before=NOW - 400 * DAY,
            not_after=NOW + 3000 * DAY,
        )
        self.inter = self.root.issue(
            "DDM Issuing CA",
            key=make_key("rsa2048", slot=42),
            path_length=0,
            not_before=NOW - 300 * DAY,
            not_after=NOW + 2000 * DAY,
        )
        self.partner = self.partner_root()
        san = x509.SubjectAlternativeName([x509.RFC822Name("alice@example.com")])
        self.alice = self.inter.issue(
            "Alice Example",
            key=make_key("rsa2048", slot=43),
            ca=False,
            eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH],
            extra_extensions=[(san, False)],
            not_before=NOW - 10 * DAY,
            not_after=NOW + 300 * DAY,
        )
        certs = folder / "certs"
        self.root.write(certs / "root.pem")
        self.inter.write(certs / "issuing.pem")
        self.partner.write(certs / "partner.pem")
        blob = pkcs12.serialize_key_and_certificates(
            b"alice",
            self.alice.key,  # type: ignore[arg-type]
            self.alice.cert,
            [self.inter.cert],
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
        (folder / "alice.p12").write_bytes(blob)
        (folder / "p12-password.txt").write_text(PASSWORD + "\n")

    @staticmethod
    def partner_root() -> Issued:
        return issue("Partner Root CA", key=make_key("ec256"), not_after=NOW + 2000 * DAY)

    def spec(self, extra: str = "", *, platforms: str = "[iOS]", mail: str | None = None) -> Path:
        text = f"""
identifier: com.example.test.ddm
name: DDM test
organization: Test Corp
platforms: {platforms}
certificates:
  - certs/root.pem
  - certs/issuing.pem
  - certs/partner.pem
identities:
  alice:
    pkcs12: alice.p12
    password: {{file: p12-password.txt}}
mail:
{mail or _MAIL}
wifi:
  - ssid: TestCorp
    security: WPA2
    eap:
      method: tls
      identity: alice
      server_names: [radius.example.com]
      anchors: [DDM Root CA]
validate: {{at: "2026-06-01T12:00:00Z"}}
{extra}
"""
        path = self.folder / "profile.yaml"
        path.write_text(text)
        return path


_MAIL = """  - address: alice@example.com
    name: Alice Example
    description: Work mail
    incoming: {host: mail.example.com, port: 993, username: alice}
    outgoing: {host: mail.example.com, port: 587, username: alice}
    smime: {signing: alice, encryption: alice, encrypt_by_default: true}
"""


def build(spec: Path, **kwargs: Any) -> DeclarativeOutput:
    return Builder(spec).build_declarations(base_url=kwargs.pop("base_url", BASE), **kwargs)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("ddm-world"))


@pytest.fixture(scope="module")
def built(world: World) -> DeclarativeOutput:
    return build(world.spec())


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _by_type(out: DeclarativeOutput) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for d in out.declarations:
        found.setdefault(d.type, []).append(d.to_json())
    return found


# -- the spec of the issue ---------------------------------------------------------------------
def test_every_declaration_follows_apples_schema_and_resolves(built: DeclarativeOutput) -> None:
    decls = [d.to_json() for d in built.declarations]
    for d in decls:
        assert check_declaration(d, platforms={"iOS": "17.0"}) == [], d["Identifier"]
        assert len(d["Identifier"].encode()) <= 64 and len(d["ServerToken"].encode()) <= 64
    assert check_references(decls) == []
    types = _by_type(built)
    assert len(types["com.apple.asset.credential.certificate"]) == 3
    assert len(types["com.apple.configuration.security.certificate"]) == 3
    assert len(types["com.apple.asset.credential.identity"]) == 1
    assert len(types["com.apple.configuration.security.identity"]) == 1
    assert len(types["com.apple.configuration.legacy"]) == 1
    assert "com.apple.management.server-capabilities" not in types
    (activation,) = types["com.apple.activation.simple"]
    configurations = sorted(
        d["Identifier"] for d in decls if d["Type"].startswith("com.apple.configuration.")
    )
    assert sorted(activation["Payload"]["StandardConfigurations"]) == configurations
    items = built.items()
    assert set(items["Declarations"]) == {"Activations", "Configurations", "Assets", "Management"}
    assert items["Declarations"]["Management"] == []
    assert all(d.type in DECLARATIONS for d in built.declarations)


def test_mail_account_maps_to_a_declaration_with_smime_and_credentials(
    built: DeclarativeOutput,
) -> None:
    types = _by_type(built)
    (mail,) = types["com.apple.configuration.account.mail"]
    (identity,) = types["com.apple.asset.credential.identity"]
    payload = mail["Payload"]
    assert payload["VisibleName"] == "Work mail"
    smime = payload["SMIME"]
    assert smime["Signing"] == {"Enabled": True, "IdentityAssetReference": identity["Identifier"]}
    # Enabled in Encryption means "encrypt by default" (legacy SMIMEEncryptByDefault).
    assert smime["Encryption"] == {
        "Enabled": True,
        "IdentityAssetReference": identity["Identifier"],
    }
    by_id = built.by_identifier()
    user = by_id[payload["UserIdentityAssetReference"]]
    assert user.payload == {"EmailAddress": "alice@example.com", "FullName": "Alice Example"}
    login = by_id[payload["IncomingServer"]["AuthenticationCredentialsAssetReference"]]
    assert login.type == "com.apple.asset.credential.userpassword"
    assert login.payload["Authentication"] == {"Type": "MDM"}
    data = json.loads(built.assets[login.payload["Reference"]["DataURL"].rsplit("/", 1)[1]].data)
    assert data == {"UserName": "alice"}
    assert payload["IncomingServer"]["ServerType"] == "IMAP"
    assert payload["IncomingServer"]["AuthenticationMethod"] == "Password"


def test_identity_asset_is_the_apple_pkcs12_with_its_password(
    built: DeclarativeOutput,
) -> None:
    (identity,) = _by_type(built)["com.apple.asset.credential.identity"]
    ref = identity["Payload"]["Reference"]
    assert ref["ContentType"] == "application/json"
    assert identity["Payload"]["Authentication"] == {"Type": "MDM"}
    asset = built.assets[ref["DataURL"].rsplit("/", 1)[1]]
    assert asset.secret
    doc = json.loads(asset.data)
    assert check_credential(doc, "com.apple.credential.identity", label="alice") == []
    assert doc["Password"] == PASSWORD
    assert PASSWORD not in repr(built) and PASSWORD not in built.report.dumps()
    key, cert, _ = pkcs12.load_key_and_certificates(
        base64.b64decode(doc["Identity"]), PASSWORD.encode()
    )
    assert key is not None and cert is not None
    assert "Alice Example" in cert.subject.rfc4514_string()


def test_credential_documents_follow_apples_schema(built: DeclarativeOutput) -> None:
    for d in built.declarations:
        if d.type in CREDENTIAL_OF:
            asset = built.assets[d.payload["Reference"]["DataURL"].rsplit("/", 1)[1]]
            doc = json.loads(asset.data)
            assert check_credential(doc, CREDENTIAL_OF[d.type], label=d.identifier) == []


def test_folder_hashes_sizes_and_modes(
    built: DeclarativeOutput, tmp_path: Path, umask_022: None
) -> None:
    out_dir = tmp_path / "ddm"
    write_folder(built, out_dir)
    items = json.loads((out_dir / "declaration-items.json").read_text())
    assert items == built.items()
    for d in built.declarations:
        on_disk = json.loads((out_dir / "declarations" / f"{d.identifier}.json").read_text())
        assert on_disk == d.to_json()
        ref = d.payload.get("Reference")
        if ref is None:
            continue
        assert ref["DataURL"].startswith(BASE + "/assets/")
        path = out_dir / "assets" / ref["DataURL"].rsplit("/", 1)[1]
        data = path.read_bytes()
        assert len(data) == ref["Size"]
        assert hashlib.sha256(data).hexdigest() == ref["Hash-SHA-256"]
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o600 if d.type in SECRET_TYPES else 0o644), (d.type, oct(mode))
    legacy = next(out_dir.glob("assets/legacy.*.mobileconfig"))
    assert stat.S_IMODE(legacy.stat().st_mode) == 0o600  # carries Alice's PKCS#12
    report = inspect_folder(out_dir)
    assert report["findings"] == [], report["findings"]
    assert all(r["resolved"] for d in report["declarations"] for r in d["references"])


def test_identifiers_stable_and_tokens_change_only_with_content(
    world: World, built: DeclarativeOutput
) -> None:
    again = build(world.spec())
    assert [d.to_json() for d in again.declarations] == [d.to_json() for d in built.declarations]
    assert again.declarations_token == built.declarations_token
    # Re-issue the partner root (same name, new key): only its asset, its configuration and
    # the DeclarationsToken change.
    saved = (world.folder / "certs" / "partner.pem").read_bytes()
    try:
        World.partner_root().write(world.folder / "certs" / "partner.pem")
        changed = build(world.spec())
    finally:
        (world.folder / "certs" / "partner.pem").write_bytes(saved)
    before = {d.identifier: d for d in built.declarations}
    after = {d.identifier: d for d in changed.declarations}
    assert before.keys() == after.keys()
    moved = {i for i in before if before[i].server_token != after[i].server_token}
    assert {before[i].type for i in moved} == {
        "com.apple.asset.credential.certificate",
        "com.apple.configuration.security.certificate",
    }
    assert len(moved) == 2
    assert changed.declarations_token != built.declarations_token


def test_certificates_sharing_a_common_name_get_distinct_stable_identifiers(
    tmp_path: Path,
) -> None:
    for n in (1, 2):
        issue("Same Name Root", key=make_key("ec256")).write(tmp_path / f"root{n}.pem")
    spec = tmp_path / "profile.yaml"
    spec.write_text(
        "identifier: com.example.twins\nname: Twins\ncertificates: [root1.pem, root2.pem]\n"
        "validate: {at: '2026-06-01T12:00:00Z'}\n"
    )
    first, second = build(spec), build(spec)
    assets = [d.identifier for d in first.declarations if d.type.endswith("certificate")]
    assert len(assets) == len(set(assets)) == 4
    assert [d.identifier for d in first.declarations] == [d.identifier for d in second.declarations]


def test_legacy_profile_carries_only_what_declarations_cannot(built: DeclarativeOutput) -> None:
    (legacy,) = [a for a in built.assets.values() if a.name.endswith(".mobileconfig")]
    loaded = read_profile(legacy.data, source=legacy.name)
    plist = plistlib.loads(legacy.data)
    types = sorted(p["PayloadType"] for p in plist["PayloadContent"])
    # The Wi-Fi network, and what it references: Alice's identity with its chain (the
    # intermediate, and the root, which is also the network's anchor). Not the partner root.
    assert types == [
        "com.apple.security.pkcs1",
        "com.apple.security.pkcs12",
        "com.apple.security.root",
        "com.apple.wifi.managed",
    ]
    uuids = {p["PayloadUUID"] for p in plist["PayloadContent"]}
    wifi = next(p for p in plist["PayloadContent"] if p["PayloadType"] == "com.apple.wifi.managed")
    assert wifi["PayloadCertificateUUID"] in uuids
    assert set(wifi["EAPClientConfiguration"]["PayloadCertificateAnchorUUID"]) <= uuids
    assert plist["PayloadIdentifier"] == "com.example.test.ddm.legacy"
    assert not {"com.apple.mdm", "com.apple.declarations"} & set(types)
    from mobileconfig.inspection import inspect_profile

    result = inspect_profile(loaded, at=NOW)
    assert result["summary"]["errors"] == 0, result["findings"]


def test_legacy_profile_passes_apples_schema(built: DeclarativeOutput) -> None:
    from apple_schema import conform_profile

    for asset in built.assets.values():
        if asset.name.endswith(".mobileconfig"):
            assert conform_profile(plistlib.loads(asset.data)) == []


# -- the example -------------------------------------------------------------------------------
def test_example_builds_signed_and_verifies(tmp_path: Path, umask_022: None) -> None:
    out = build_declarations(Builder(EXAMPLE), base_url=BASE, at=EXAMPLE_AT)
    write_folder(out, tmp_path / "ddm")
    report = inspect_folder(tmp_path / "ddm")
    assert report["summary"]["errors"] == 0, report["findings"]
    assert [f["code"] for f in report["findings"]] == []
    decls = [d.to_json() for d in out.declarations]
    assert check_references(decls) == []
    for d in decls:
        assert check_declaration(d) == []
    (legacy,) = [a for a in out.assets.values() if a.name.endswith(".mobileconfig")]
    assert legacy.data[:1] == b"\x30"  # CMS SignedData: the spec signs
    loaded = read_profile(legacy.data, source=legacy.name)
    assert loaded.signed is not None
    payload_types = sorted(p.payload_type for p in loaded.profile.payload_content)
    # The SCEP identity is used only by the Wi-Fi network: it stays there alone.
    assert payload_types == [
        "com.apple.security.root",
        "com.apple.security.scep",
        "com.apple.wifi.managed",
    ]
    assert "MC808" in out.report.codes()
    again = build_declarations(Builder(EXAMPLE), base_url=BASE, at=EXAMPLE_AT)
    # Re-signing alone changes no token: the legacy token covers the unsigned profile.
    assert [d.server_token for d in again.declarations] == [
        d.server_token for d in out.declarations
    ]


# -- refusals and fall-backs -------------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://mdm.example.com/ddm", "ftp://x", "mdm.example.com"])
def test_non_https_base_url_is_refused(world: World, url: str, tmp_path: Path) -> None:
    with pytest.raises(MobileconfigError, match="https://"):
        build(world.spec(), base_url=url)


def test_identity_without_embedded_password_stays_legacy_with_its_account(
    world: World, tmp_path: Path
) -> None:
    spec = world.spec()
    text = spec.read_text().replace(
        "password: {file: p12-password.txt}",
        "password: {file: p12-password.txt}\n    embed_password: false",
    )
    spec.write_text(text)
    try:
        out = build(spec)
    finally:
        world.spec()
    codes = out.report.codes()
    assert {"MC807", "MC808"} <= codes
    types = _by_type(out)
    assert "com.apple.asset.credential.identity" not in types
    assert "com.apple.configuration.account.mail" not in types
    legacy = plistlib.loads(
        next(a for a in out.assets.values() if a.name.endswith(".mobileconfig")).data
    )
    assert "com.apple.mail.managed" in {p["PayloadType"] for p in legacy["PayloadContent"]}


def test_macos_keeps_the_smime_account_in_the_legacy_profile(world: World) -> None:
    out = build(world.spec(platforms="[iOS, macOS]"))
    assert "MC809" in out.report.codes()
    assert "com.apple.configuration.account.mail" not in _by_type(out)


def test_option_without_declaration_equivalent_is_a_finding(world: World) -> None:
    mail = _MAIL + "    prevent_move: true\n"
    out = build(world.spec(mail=mail))
    finding = next(f for f in out.report.findings if f.code == "MC810")
    assert "PreventMove" in finding.message
    assert "com.apple.configuration.account.mail" not in _by_type(out)


def test_vpn_and_removal_password_go_into_their_own_legacy_profile(world: World) -> None:
    (world.folder / "removal.txt").write_text("remove-me\n")
    extra = (
        "removal: {password: {file: removal.txt}}\n"
        "vpn:\n  - {name: Test VPN, ikev2: {server: vpn.example.com, identity: alice,"
        " server_ca: DDM Issuing CA}}\n"
    )
    out = build(world.spec(extra))
    legacy = _by_type(out)["com.apple.configuration.legacy"]
    assert len(legacy) == 2
    profiles = {
        a.name: plistlib.loads(a.data)
        for a in out.assets.values()
        if a.name.endswith(".mobileconfig")
    }
    restricted = next(v for k, v in profiles.items() if k.startswith("legacy-restricted."))
    other = next(v for k, v in profiles.items() if not k.startswith("legacy-restricted."))
    types = {p["PayloadType"] for p in restricted["PayloadContent"]}
    # User enrolment forbids VPN and the removal password: they must not sink the Wi-Fi.
    assert types == {
        "com.apple.vpn.managed",
        "com.apple.profileRemovalPassword",
        "com.apple.security.pkcs12",  # the VPN's identity travels with it, with its chain
        "com.apple.security.pkcs1",
        "com.apple.security.root",
    }
    assert restricted["HasRemovalPasscode"] is True
    assert restricted["PayloadIdentifier"] == "com.example.test.ddm.legacy-restricted"
    assert {p["PayloadType"] for p in other["PayloadContent"]} == {
        "com.apple.wifi.managed",
        "com.apple.security.pkcs12",
        "com.apple.security.pkcs1",
        "com.apple.security.root",
    }
    assert "HasRemovalPasscode" not in other
    from mobileconfig.inspection import inspect_profile

    for asset in out.assets.values():
        if asset.name.endswith(".mobileconfig"):
            checked = inspect_profile(read_profile(asset.data, source=asset.name), at=NOW)
            assert checked["summary"]["errors"] == 0, checked["findings"]


def test_a_payload_a_legacy_profile_may_not_carry_stops_the_build(world: World) -> None:
    extra = "payloads:\n  - {PayloadType: com.apple.declarations, Note: x}\n"
    with pytest.raises(ValidationFailed) as caught:
        build(world.spec(extra))
    assert "MC812" in caught.value.report.codes()


def test_checks_that_refuse_a_profile_refuse_the_declarations(world: World) -> None:
    spec = world.spec().read_text().replace("2026-06-01T12:00:00Z", "2036-06-01T12:00:00Z")
    path = world.folder / "expired.yaml"
    path.write_text(spec)
    with pytest.raises(ValidationFailed):
        build(path)


# -- the folder --------------------------------------------------------------------------------
def test_inspect_reports_a_tampered_folder(built: DeclarativeOutput, tmp_path: Path) -> None:
    out_dir = tmp_path / "ddm"
    write_folder(built, out_dir)
    cert = next(out_dir.glob("assets/cert.*.cer"))
    cert.write_bytes(cert.read_bytes()[:-1] + b"\x00")
    codes = [f["code"] for f in inspect_folder(out_dir)["findings"]]
    assert codes == ["MC813"]
    secret = next(out_dir.glob("assets/identity.*.json"))
    secret.chmod(0o644)
    legacy = next(out_dir.glob("assets/legacy.*.mobileconfig"))
    legacy.chmod(0o644)  # it holds Alice's PKCS#12
    assert sum(f["code"] == "MC815" for f in inspect_folder(out_dir)["findings"]) == 2
    next(out_dir.glob("assets/mail-login-in.*.json")).unlink()
    items = json.loads((out_dir / "declaration-items.json").read_text())
    items["Declarations"]["Assets"][0]["ServerToken"] = "0" * 64
    (out_dir / "declaration-items.json").write_text(json.dumps(items))
    (out_dir / "declarations" / "junk.json").write_text("{not json")
    next(out_dir.glob("assets/legacy.*.mobileconfig")).write_bytes(b"<plist>not a profile")
    findings = inspect_folder(out_dir)["findings"]
    assert sorted({f["code"] for f in findings}) == ["MC813", "MC814", "MC815", "MC816", "MC817"]
    assert sum(f["code"] == "MC817" for f in findings) == 2


def test_write_is_atomic_and_never_replaces_a_foreign_folder(
    built: DeclarativeOutput, tmp_path: Path
) -> None:
    target = tmp_path / "ddm"
    write_folder(built, target)
    first = sorted(p.name for p in (target / "assets").iterdir())
    broken = DeclarativeOutput(
        built.declarations,
        {**built.assets, "x": built.assets[first[0]].__class__("no/such/dir", b"x", "t", True)},
        built.report,
        built.base_url,
    )
    with pytest.raises(OutputError):
        write_folder(broken, target)
    assert sorted(p.name for p in (target / "assets").iterdir()) == first
    assert [p.name for p in tmp_path.iterdir()] == ["ddm"]  # no temporary folder left
    (target / "assets" / "stale.json").write_text("{}")  # from an older build
    write_folder(built, target)  # replaces the earlier output as a whole
    assert sorted(p.name for p in (target / "assets").iterdir()) == first
    assert [p.name for p in tmp_path.iterdir()] == ["ddm"]
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a declarative output folder"):
        write_folder(built, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


# -- the schema checker and its data ----------------------------------------------------------
def test_schema_checker_finds_each_kind_of_problem() -> None:
    bad = {
        "Type": "com.apple.configuration.account.mail",
        "Identifier": "x" * 65,
        "ServerToken": "t",
        "Payload": {
            "IncomingServer": {"ServerType": "SMTP", "HostName": 7, "AuthenticationMethod": "None"},
            "SMIME": {"Signing": {"Enabled": True, "IdentityAssetReference": "cert.1"}},
            "Colour": "blue",
        },
    }
    cert = {
        "Type": "com.apple.asset.credential.certificate",
        "Identifier": "cert.1",
        "ServerToken": "t",
        "Payload": {
            "Reference": {"DataURL": "http://x/assets/c.cer", "ContentType": "application/json"}
        },
    }
    codes = [f.code for f in check_declaration(bad, platforms={"iOS": "16.0", "macOS": None})]
    assert codes.count("MC801") == 3  # OutgoingServer missing, SMTP, HostName not a string
    assert {"MC802", "MC805", "MC806"} <= set(codes)
    assert {f.code for f in check_declaration(cert)} == {"MC801", "MC804"}
    refs = check_references([bad, cert])
    assert [f.code for f in refs] == ["MC803"]
    assert "com.apple.asset.credential.certificate" in refs[0].message


def test_credential_json_is_sorted_and_stable() -> None:
    assert json_text({"b": 1, "a": "é"}) == '{\n  "a": "é",\n  "b": 1\n}\n'


def test_generated_schema_module_is_fresh() -> None:
    source = ROOT.parent / "shared" / "apple-device-management" / "declarative"
    if not source.is_dir():
        pytest.skip(
            "Apple's schema (../shared/apple-device-management) is not beside this checkout"
        )
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_ddm_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- hostile folders ---------------------------------------------------------------------------
def test_inspect_survives_hostile_folders(built: DeclarativeOutput, tmp_path: Path) -> None:
    out_dir = tmp_path / "ddm"
    write_folder(built, out_dir)
    decls = out_dir / "declarations"
    (decls / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (decls / "big.json").write_bytes(b" " * (2 << 20))
    (decls / "list.json").write_text("[1, 2]")
    os.mkfifo(decls / "fifo.json")  # reading it would block for ever
    (decls / "link.json").symlink_to("/etc/passwd")
    cert = next(out_dir.glob("assets/cert.*.cer"))
    saved = cert.read_bytes()
    cert.unlink()
    cert.symlink_to("/etc/passwd")  # a link is not followed, even to a readable file
    (out_dir / "assets" / "\x1b[31mred.json").write_text("{}")
    report = inspect_folder(out_dir)
    codes = sorted({f["code"] for f in report["findings"]})
    assert codes == ["MC814", "MC817"], codes
    assert sum(f["code"] == "MC817" for f in report["findings"]) == 5
    cert.unlink()
    cert.write_bytes(saved)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["Type", "Identifier", "ServerToken", "Payload", "Reference", "x"]),
                inner,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_inspect_never_raises_on_any_declaration(tmp_path: Path, document: Any) -> None:
    folder = tmp_path / f"fuzz-{abs(hash(json.dumps(document, sort_keys=True)))}"
    (folder / "declarations").mkdir(parents=True, exist_ok=True)
    (folder / "declarations" / "d.json").write_text(json.dumps(document))
    if isinstance(document, dict):
        (folder / "declaration-items.json").write_text(json.dumps(document))
    report = inspect_folder(folder)
    assert isinstance(report["findings"], list)


# -- the command line --------------------------------------------------------------------------
def test_cli_builds_the_example_and_inspects_it(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out_dir = tmp_path / "ddm"
    result = run_cli("build", EXAMPLE, "--ddm", out_dir, "--at", "2026-12-01")
    assert result.code == 0, result
    assert "wrote" in result.err and "14 declarations" in result.err
    items = json.loads((out_dir / "declaration-items.json").read_text())
    # The spec's ddm.base_url is used when --ddm-base-url is not given.
    asset = next(out_dir.glob("declarations/cert.*.json"))
    url = json.loads(asset.read_text())["Payload"]["Reference"]["DataURL"]
    assert url.startswith("https://mdm.example.com/ddm/alice/assets/cert.")
    assert len(items["Declarations"]["Configurations"]) == 6
    shown = run_cli("inspect", out_dir)
    assert shown.code == 0, shown
    assert "0 errors" in shown.out
    cert = next(out_dir.glob("assets/cert.*.cer"))
    cert.write_bytes(cert.read_bytes() + b"\n")
    shown = run_cli("inspect", out_dir, "--format", "json")
    assert shown.code == 1
    assert [f["code"] for f in json.loads(shown.out)["findings"]] == ["MC813"]


def test_cli_without_base_url_exits_2_naming_the_option(
    world: World, tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out_dir = tmp_path / "ddm"
    result = run_cli("build", world.spec(), "--ddm", out_dir)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "--ddm-base-url" in lines[0], result
    assert not out_dir.exists()
    result = run_cli("build", world.spec(), "--ddm", out_dir, "--ddm-base-url", "http://x.test")
    assert result.code == 2 and "https://" in result.err
    assert not out_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_cli_refused_content_writes_nothing(
    world: World, tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out_dir = tmp_path / "ddm"
    result = run_cli(
        "build", world.spec(), "--ddm", out_dir, "--ddm-base-url", BASE, "--at", "2036-06-01"
    )
    assert result.code == 1, result
    assert "nothing written" in result.err
    assert not out_dir.exists() and list(tmp_path.iterdir()) == []


def test_spec_base_url_must_be_https(world: World, run_cli: Callable[..., CLIResult]) -> None:
    spec = world.spec('ddm: {base_url: "http://mdm.example.com/ddm"}')
    result = run_cli("build", spec, "--ddm", world.folder / "out")
    assert result.code == 2
    assert "https://" in result.err and "profile.yaml" in result.err


# -- SCEP and ACME -----------------------------------------------------------------------------
def _scep(world: World, name: str = "enrol") -> str:
    (world.folder / "challenge.txt").write_text("test-only-challenge\n")
    return (
        f"  {name}:\n    scep:\n      url: https://scep.example.com/scep\n"
        '      subject: "CN=device,O=Test Corp"\n      challenge: {file: challenge.txt}\n'
        "      ca_certificate: certs/issuing.pem\n"
    )


def test_scep_identity_of_its_own_is_a_credential_asset(world: World) -> None:
    spec = world.spec()
    spec.write_text(spec.read_text().replace("identities:\n", "identities:\n" + _scep(world)))
    out = build(spec)
    (scep,) = _by_type(out)["com.apple.asset.credential.scep"]
    asset = out.assets[scep["Payload"]["Reference"]["DataURL"].rsplit("/", 1)[1]]
    assert asset.secret and scep["Payload"]["Authentication"] == {"Type": "MDM"}
    doc = json.loads(asset.data)
    assert check_credential(doc, "com.apple.credential.scep", label="enrol") == []
    assert doc["Keysize"] == 2048  # always written: Apple's default is 1024
    assert doc["Challenge"] == "test-only-challenge"
    assert len(base64.b64decode(doc["CAFingerprint"])) == 20
    assert doc["Subject"] == [[["CN", "device"]], [["O", "Test Corp"]]]
    installs = [
        d["Payload"]["CredentialAssetReference"]
        for d in _by_type(out)["com.apple.configuration.security.identity"]
    ]
    assert scep["Identifier"] in installs
    assert "test-only-challenge" not in repr(out)  # secrets stay out of reprs


def test_scep_identity_shared_with_a_legacy_payload_keeps_its_account_legacy(
    world: World,
) -> None:
    spec = world.spec()
    text = spec.read_text().replace("identities:\n", "identities:\n" + _scep(world, "device"))
    text = text.replace("identity: alice", "identity: device")  # the Wi-Fi enrols by SCEP
    text = text.replace("smime: {signing: alice,", "smime: {signing: device,")
    spec.write_text(text)
    out = build(spec)
    types = _by_type(out)
    assert "com.apple.asset.credential.scep" not in types  # enrolled once, in the legacy profile
    assert "com.apple.configuration.account.mail" not in types
    legacy = plistlib.loads(
        next(a for a in out.assets.values() if a.name.endswith(".mobileconfig")).data
    )
    kinds = [p["PayloadType"] for p in legacy["PayloadContent"]]
    assert kinds.count("com.apple.security.scep") == 1
    assert "com.apple.mail.managed" in kinds
    assert "MC808" in out.report.codes()


def test_declarations_newer_than_the_minimum_os_are_reported(world: World) -> None:
    try:
        out = build(world.spec(platforms='{iOS: "16.0"}'))
    except SpecError as exc:  # a spec model without minimum versions
        pytest.skip(f"platforms with versions are not in this spec model: {exc}")
    gated = [f.message for f in out.report.findings if f.code == "MC806"]
    assert any("Payload.SMIME: needs iOS 17.0" in m for m in gated), gated
    assert any("credential.certificate" in m or "cert." in m for m in gated), gated
    again = build(world.spec(platforms='{iOS: "17.0"}'))
    assert "MC806" not in again.report.codes()


def test_exchange_example_maps_to_an_exchange_declaration() -> None:
    spec = ROOT / "examples" / "exchange" / "profile.yaml"
    out = build_declarations(Builder(spec), base_url=BASE, at=EXAMPLE_AT)
    types = _by_type(out)
    (exchange,) = types["com.apple.configuration.account.exchange"]
    payload = exchange["Payload"]
    assert payload["EnabledProtocolTypes"] == ["EAS"]
    assert payload["HostName"] == "outlook.example.com"
    by_id = out.by_identifier()
    identity = by_id[payload["AuthenticationIdentityAssetReference"]]
    assert identity.type == "com.apple.asset.credential.identity"
    login = by_id[payload["AuthenticationCredentialsAssetReference"]]
    assert login.type == "com.apple.asset.credential.userpassword"
    user = by_id[payload["UserIdentityAssetReference"]]
    assert user.payload == {"EmailAddress": "bob@example.com"}
    assert "com.apple.configuration.legacy" not in types  # nothing needs a legacy profile
    assert check_references([d.to_json() for d in out.declarations]) == []
    assert not [f for f in out.report.findings if f.code.startswith("MC8") and f.blocks]


def test_inspect_reads_a_bounded_number_of_declarations(
    built: DeclarativeOutput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobileconfig.ddm import folder

    out_dir = tmp_path / "ddm"
    write_folder(built, out_dir)
    monkeypatch.setattr(folder, "MAX_FILES", 3)
    report = inspect_folder(out_dir)
    assert len(report["declarations"]) == 3
    assert any("more than 3" in f["message"] for f in report["findings"] if f["code"] == "MC817")
