"""``mobileconfig init``: a commented spec from a folder of certificates, ready to build."""

from __future__ import annotations

import plistlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from mobileconfig import init as init_mod
from mobileconfig.errors import MobileconfigError

from conftest import CLIResult
from pki import DAY, NOW, Issued, issue

AT = NOW.isoformat()
PASSWORD = "init-test-password"


@pytest.fixture
def run_init(run_cli: Callable[..., CLIResult]) -> Any:
    """``mobileconfig ...`` through cli.main."""
    return run_cli


@pytest.fixture(scope="module")
def company_pki() -> dict[str, Issued]:
    root = issue("Init Root CA")
    ecc = issue("Init ECC Root CA")
    issuing = root.issue("Init Issuing CA", path_length=0)
    devices = ecc.issue("Init Device CA", path_length=0)
    alice = issuing.issue("alice@example.com", ca=False)
    server = issuing.issue("mail.example.com", ca=False, server_names=["mail.example.com"])
    return {
        "root": root,
        "ecc": ecc,
        "issuing": issuing,
        "devices": devices,
        "alice": alice,
        "server": server,
    }


def _p12(leaf: Issued, chain: list[Issued]) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"id",
        leaf.key,
        leaf.cert,
        [c.cert for c in chain],
        BestAvailableEncryption(PASSWORD.encode()),
    )


@pytest.fixture
def folder(tmp_path: Path, company_pki: dict[str, Issued]) -> Path:
    """certs/ with two roots, two intermediates (one in a PEM bundle with the root's DER
    copy), a server certificate, a private key, a note, and two PKCS#12 files."""
    certs = tmp_path / "certs"
    (certs / "ca").mkdir(parents=True)
    (certs / "ca" / "root.cer").write_bytes(company_pki["root"].der)
    (certs / "ca" / "ecc-root.pem").write_bytes(company_pki["ecc"].pem)
    (certs / "intermediates.pem").write_bytes(
        company_pki["issuing"].pem + company_pki["devices"].pem
    )
    (certs / "mail-server.crt").write_bytes(company_pki["server"].pem)
    (certs / "mail-server.key.pem").write_bytes(company_pki["server"].key_pem)
    (certs / "README.txt").write_text("not a certificate\n")
    (certs / ".hidden.pem").write_text("ignored\n")
    (certs / "Alice Smith.p12").write_bytes(_p12(company_pki["alice"], [company_pki["issuing"]]))
    (certs / "alice_smith.pfx").write_bytes(_p12(company_pki["alice"], []))
    return certs


def test_scaffold_lists_and_comments_everything(folder: Path, tmp_path: Path) -> None:
    result = init_mod.scaffold_spec(folder, spec_dir=tmp_path)
    text = result.text
    assert text.startswith("# yaml-language-server: $schema=mobileconfig.schema.json\n")
    data = yaml.safe_load(text)
    assert data["identifier"] == init_mod.DEFAULT_IDENTIFIER
    assert data["name"] == "Test Corp certificates" and data["organization"] == "Test Corp"
    # the folder of roots as a folder (a file added to it later is picked up), then the
    # bundle of intermediates on its own: certs/ also holds files that must not go in
    assert data["certificates"] == ["certs/ca", "certs/intermediates.pem"]
    assert "listed file by file: certs also holds" in text
    assert (result.roots, result.intermediates, result.left_out) == (2, 2, 1)
    assert "# root: CN=Init Root CA,O=Test Corp, until" in text
    assert "# intermediate: CN=Init Issuing CA,O=Test Corp" in text
    assert "#   issued by 'Init Root CA', until" in text
    assert "# - certs/mail-server.crt" in text and "not a CA" in text
    assert "# Not used: certs/mail-server.key.pem: holds no certificate" in text
    # The hidden file is not listed; it is named once, as a reason the folder is not listed
    # whole (a folder entry would read it).
    assert "README" not in text and text.count("hidden") == 1
    # one identity per PKCS#12, names from the files, passwords from the environment
    assert data["identities"] == {
        "alice-smith": {
            "pkcs12": "certs/Alice Smith.p12",
            "password": {"env": "ALICE_SMITH_P12_PASSWORD"},
        },
        "alice_smith": {
            "pkcs12": "certs/alice_smith.pfx",
            "password": {"env": "ALICE_SMITH_2_P12_PASSWORD"},
        },
    }
    assert "re-encoded at build for Apple devices (MC301)" in text
    assert PASSWORD not in text


def test_scaffold_builds_when_the_passwords_are_set(
    folder: Path, tmp_path: Path, run_init: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "profile.yaml"
    result = run_init("init", folder, "-o", spec, "--identifier", "com.example.test.certs")
    assert result.code == 0, result
    assert (
        f"wrote {spec}: 3 certificate files (2 roots, 2 intermediates), 2 identities" in result.err
    )
    assert "next: export ALICE_SMITH_P12_PASSWORD ALICE_SMITH_2_P12_PASSWORD" in result.err

    missing = run_init("build", spec, "-o", tmp_path / "p.mobileconfig", "--at", AT)
    assert missing.code == 2 and "ALICE_SMITH_P12_PASSWORD is not set" in missing.err

    monkeypatch.setenv("ALICE_SMITH_P12_PASSWORD", PASSWORD)
    monkeypatch.setenv("ALICE_SMITH_2_P12_PASSWORD", PASSWORD)
    out = tmp_path / "p.mobileconfig"
    built = run_init("build", spec, "-o", out, "--at", AT)
    assert built.code == 0, built
    profile = plistlib.loads(out.read_bytes())
    assert profile["PayloadIdentifier"] == "com.example.test.certs"
    kinds = sorted(p["PayloadType"] for p in profile["PayloadContent"])
    assert kinds == [
        "com.apple.security.pkcs1",
        "com.apple.security.pkcs1",
        "com.apple.security.pkcs12",
        "com.apple.security.pkcs12",
        "com.apple.security.root",
        "com.apple.security.root",
    ]


def test_paths_are_relative_to_the_spec(folder: Path, tmp_path: Path, run_init: Any) -> None:
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "corp.yaml"
    assert run_init("init", folder, "-o", spec).code == 0
    data = yaml.safe_load(spec.read_text())
    assert data["certificates"][0] == "../certs/ca"
    assert "#   mobileconfig validate corp.yaml" in spec.read_text()


def test_refuses_to_overwrite_without_force(folder: Path, tmp_path: Path, run_init: Any) -> None:
    spec = tmp_path / "profile.yaml"
    spec.write_text("mine\n")
    result = run_init("init", folder, "-o", spec)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "already exists; nothing written" in lines[0]
    assert "--force" in lines[0]
    assert spec.read_text() == "mine\n"

    forced = run_init("init", folder, "-o", spec, "--force")
    assert forced.code == 0, forced
    assert spec.read_text().startswith("# yaml-language-server:")


def test_writes_atomically(
    folder: Path, tmp_path: Path, run_init: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mobileconfig.output

    calls: list[Path] = []
    real = mobileconfig.output.write_atomic

    def spy(path: Any, data: bytes, **kwargs: Any) -> None:
        calls.append(Path(path))
        real(path, data, **kwargs)

    monkeypatch.setattr(mobileconfig.output, "write_atomic", spy)
    spec = tmp_path / "profile.yaml"
    assert run_init("init", folder, "-o", spec).code == 0
    assert calls == [spec]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["certs", "profile.yaml"]


def test_standard_output(
    folder: Path, tmp_path: Path, run_init: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_init("init", "certs", "-o", "-", "--name", "Corp trust")
    assert result.code == 0, result
    data = yaml.safe_load(result.out)
    assert data["name"] == "Corp trust"
    assert data["certificates"][0] == "certs/ca"
    assert not (tmp_path / "profile.yaml").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nope", "nope: folder not found"),
        (
            lambda p: (p / "file.pem").write_text("x") and p / "file.pem",
            "is a file, expected a folder",
        ),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no certificate or PKCS#12 files found"),
    ],
    ids=["missing", "a-file", "empty"],
)
def test_bad_folder_is_one_line_exit_2(
    tmp_path: Path, run_init: Any, make: Callable[[Path], Path], message: str
) -> None:
    target = make(tmp_path)
    result = run_init("init", target, "-o", tmp_path / "out.yaml")
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("mobileconfig: error: ") and message in lines[0]
    assert not (tmp_path / "out.yaml").exists()


def test_only_unreadable_files(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "broken.cer").write_bytes(b"\x30\x03\x02\x01")
    with pytest.raises(MobileconfigError, match=r"1 could not be read, first .*broken\.cer"):
        init_mod.scaffold_spec(certs)


def test_bad_identifier(folder: Path, run_init: Any, tmp_path: Path) -> None:
    result = run_init("init", folder, "-o", tmp_path / "x.yaml", "--identifier", "not dns")
    assert result.code == 2 and "is not a reverse-DNS identifier" in result.err


def test_missing_issuer_is_named(
    tmp_path: Path, company_pki: dict[str, Issued], run_init: Any
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "issuing.pem").write_bytes(company_pki["issuing"].pem)
    spec = tmp_path / "profile.yaml"
    result = run_init("init", certs, "-o", spec)
    assert result.code == 0, result
    assert "note: the issuer 'CN=Init Root CA,O=Test Corp' is not in" in result.err
    assert "Add its certificate, or the build stops with MC101." in spec.read_text()
    built = run_init("build", spec, "-o", tmp_path / "p.mobileconfig", "--at", AT)
    assert built.code == 1 and "MC101" in built.err


def test_rekeyed_ca_is_noted(tmp_path: Path, company_pki: dict[str, Issued]) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    root = company_pki["root"]
    (certs / "root.pem").write_bytes(root.pem)
    (certs / "issuing-1.pem").write_bytes(company_pki["issuing"].pem)
    (certs / "issuing-2.pem").write_bytes(root.issue("Init Issuing CA", path_length=0).pem)
    text = init_mod.scaffold_spec(certs).text
    assert text.count("a re-keyed CA, MC116") == 2


def test_odd_file_names_stay_valid_yaml(
    tmp_path: Path, company_pki: dict[str, Issued], monkeypatch: pytest.MonkeyPatch
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "root [old] #1: ca.pem").write_bytes(company_pki["root"].pem)
    (certs / "{{ evil }}.pem").write_bytes(company_pki["ecc"].pem)
    (certs / "1.p12").write_bytes(_p12(company_pki["alice"], []))
    result = init_mod.scaffold_spec(certs, spec_dir=tmp_path)
    data = yaml.safe_load(result.text)
    # listed alone (the folder also holds a skipped file), its name glob-escaped
    assert data["certificates"] == ["certs/root [[]old] #1: ca.pem"]
    assert data["identities"] == {
        "1": {"pkcs12": "certs/1.p12", "password": {"env": "ID_1_P12_PASSWORD"}}
    }
    assert [why for _, _, why in result.skipped] == [
        "its name holds template markup ({{, {% or {#)"
    ]
    spec = tmp_path / "profile.yaml"
    spec.write_text(result.text)
    monkeypatch.setenv("ID_1_P12_PASSWORD", PASSWORD)
    from mobileconfig.builder import Builder

    compiled = Builder(spec).compile()
    assert [b.certificate.common_name for b in compiled.certificates] == ["Init Root CA"]
    kinds = [p.payload_type for p in compiled.profile.payload_content]
    assert kinds.count("com.apple.security.pkcs12") == 1


def test_init_is_registered_on_the_command_line() -> None:
    from mobileconfig.cli import init as init_command
    from mobileconfig.cli.main import build_parser

    args = build_parser().parse_args(["init"])
    assert (args.folder, args.output, args.identifier, args.name, args.force) == (
        ".",
        "profile.yaml",
        None,
        None,
        False,
    )
    assert args.run is init_command.run


def test_only_end_entity_certificates(
    tmp_path: Path, company_pki: dict[str, Issued], run_init: Any
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "server.pem").write_bytes(company_pki["server"].pem)
    result = run_init("init", certs, "-o", tmp_path / "p.yaml")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert "holds no CA certificate and no PKCS#12" in result.err
    # with an identity beside it, the spec is still valid: no CA listed, one identity
    (certs / "alice.p12").write_bytes(_p12(company_pki["alice"], []))
    text = init_mod.scaffold_spec(certs).text
    data = yaml.safe_load(text)
    assert data["certificates"] == [] and list(data["identities"]) == ["alice"]
    assert "Not in this folder" not in text  # the left-out leaf's issuer is not asked for


# -- folders, globs and dates --------------------------------------------------------------


def _write(path: Path, *issued: Issued) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(i.pem for i in issued))


def test_a_file_added_to_the_folder_is_picked_up(
    tmp_path: Path, company_pki: dict[str, Issued], monkeypatch: pytest.MonkeyPatch
) -> None:
    """init writes the folder; a CA dropped into it later is in the next build."""
    from mobileconfig.builder import Builder

    certs = tmp_path / "certs"
    _write(certs / "root.pem", company_pki["root"])
    result = init_mod.scaffold_spec(certs, spec_dir=tmp_path, at=NOW)
    assert result.entries == ["certs"]
    spec = tmp_path / "profile.yaml"
    spec.write_text(result.text)
    before = Builder(spec).compile(at=NOW)
    assert [b.certificate.common_name for b in before.certificates] == ["Init Root CA"]
    # The missing intermediate arrives: no edit to the spec.
    _write(certs / "issuing.pem", company_pki["issuing"])
    after = Builder(spec).compile(at=NOW)
    assert sorted(b.certificate.common_name for b in after.certificates) == [
        "Init Issuing CA",
        "Init Root CA",
    ]


def test_a_glob_when_the_folder_holds_other_files(
    tmp_path: Path, company_pki: dict[str, Issued]
) -> None:
    certs = tmp_path / "certs"
    _write(certs / "root.pem", company_pki["root"])
    _write(certs / "issuing.pem", company_pki["issuing"])
    _write(certs / "mail.crt", company_pki["server"])  # end-entity: left out
    result = init_mod.scaffold_spec(certs, spec_dir=tmp_path, at=NOW)
    data = yaml.safe_load(result.text)
    assert data["certificates"] == ["certs/*.pem"]  # the .crt stays out of the glob
    assert result.excluded == [("certs/mail.crt", result.excluded[0][1])]
    assert "not a CA" in result.excluded[0][1]
    assert "# - certs/mail.crt" in result.text


@pytest.mark.parametrize(
    ("dates", "marker", "code"),
    [
        ({"not_before": NOW - 1400 * DAY, "not_after": NOW - 300 * DAY}, "expired on", "MC103"),
        (
            {"not_before": NOW + 300 * DAY, "not_after": NOW + 1400 * DAY},
            "is not valid until",
            "MC104",
        ),
    ],
    ids=["expired", "not-yet-valid"],
)
def test_expired_and_not_yet_valid_cas_are_left_out_with_the_reason(
    tmp_path: Path,
    company_pki: dict[str, Issued],
    run_init: Any,
    dates: dict[str, Any],
    marker: str,
    code: str,
) -> None:
    root = company_pki["root"]
    odd = root.issue("Init Old Issuing CA", path_length=0, **dates)
    certs = tmp_path / "certs"
    _write(certs / "root.pem", root)
    _write(certs / "issuing.pem", company_pki["issuing"])
    _write(certs / "old-issuing.pem", odd)
    spec = tmp_path / "profile.yaml"
    result = run_init("init", certs, "-o", spec, "--at", AT)
    assert result.code == 0, result
    text = spec.read_text()
    data = yaml.safe_load(text)
    # Listed file by file (a glob would take the bad one back in), the bad one commented.
    assert data["certificates"] == ["certs/root.pem", "certs/issuing.pem"]
    assert "# - certs/old-issuing.pem" in text
    assert marker in text and code in text
    assert "EXPIRED" in text or "NOT YET VALID" in text
    left = "left out certs/old-issuing.pem (commented out in the spec): 'Init Old Issuing CA'"
    assert left in result.err
    # The spec builds: the bad certificate is not in it.
    built = run_init("build", spec, "-o", tmp_path / "p.mobileconfig", "--at", AT)
    assert built.code == 0, built
    assert code not in built.err


def test_a_bundle_with_one_expired_ca_is_kept_with_a_note(
    tmp_path: Path, company_pki: dict[str, Issued]
) -> None:
    root = company_pki["root"]
    old = root.issue(
        "Init Retired CA",
        path_length=0,
        not_before=NOW - 1400 * DAY,
        not_after=NOW - 300 * DAY,
    )
    certs = tmp_path / "certs"
    _write(certs / "root.pem", root)
    _write(certs / "bundle.pem", company_pki["issuing"], old)
    result = init_mod.scaffold_spec(certs, spec_dir=tmp_path, at=NOW)
    assert result.entries == ["certs"]
    assert "this file also holds 'Init Retired CA', expired: remove it from the file" in (
        " ".join(result.text.split())
    )


def test_a_folder_with_glob_characters_in_its_name_is_listed_by_file(
    tmp_path: Path, company_pki: dict[str, Issued]
) -> None:
    certs = tmp_path / "certs [2026]"
    _write(certs / "root.pem", company_pki["root"])
    result = init_mod.scaffold_spec(certs, spec_dir=tmp_path, at=NOW)
    assert yaml.safe_load(result.text)["certificates"] == ["certs [[]2026]/root.pem"]
