"""Who may read what the tool writes: every writing command, run under umask 022, creates a
secret-bearing file (a PKCS#12, a password, a SCEP challenge) 0600 from its first byte,
and every other file 0644, so users are not surprised by unreadable certificates.

"From its first byte" is checked where it can be seen: the temporary file is watched as it
is created (an ``os.open`` wrapper records the mode it asks for and the mode the file has
before anything is written), not only the mode it ends with.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from mobileconfig import output
from mobileconfig.output import holds_secret, plist_holds_secret
from mobileconfig.reader import read_profile_file
from mobileconfig.render import dumps

from conftest import CLIResult
from pki import NOW, TestPKI, openssl_pkcs12

AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
PASSWORD = "mode-test-password"
RunCLI = Callable[..., CLIResult]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE_P12_PW", PASSWORD)
    monkeypatch.setenv("MODE_CHALLENGE", "a-scep-challenge")
    monkeypatch.setenv("MODE_REMOVAL_PW", "a-removal-password")


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI("ec256", prefix="Mode")


@pytest.fixture
def folder(tmp_path: Path, pki: TestPKI) -> Path:
    pki.root.write(tmp_path / "root.pem")
    pki.intermediate.write(tmp_path / "inter.pem")
    alice = pki.intermediate.issue("Mode Alice", ca=False)
    openssl_pkcs12(alice, tmp_path / "alice.p12", PASSWORD, chain=[pki.intermediate])
    signer = pki.intermediate.issue("Mode Profile Signer", ca=False)
    (tmp_path / "signer.pem").write_bytes(signer.pem)
    (tmp_path / "signer.key").write_bytes(signer.key_pem)
    (tmp_path / "signer.key").chmod(0o600)
    return tmp_path


HEAD = "identifier: com.example.mode.{kind}\nname: Mode\ncertificates: [root.pem, inter.pem]\n"
SPECS = {
    "plain": "",
    "pkcs12": "identities:\n  alice: {pkcs12: alice.p12, password: {env: MODE_P12_PW}}\n",
    "scep": (
        "identities:\n  device:\n    scep: {url: 'https://scep.example.com/scep', "
        "subject: 'CN=device,O=Example', challenge: {env: MODE_CHALLENGE}, key_size: 2048}\n"
    ),
    "removal-password": "removal: {password: {env: MODE_REMOVAL_PW}}\n",
}
SECRET = {"plain": False, "pkcs12": True, "scep": True, "removal-password": True}


def spec(folder: Path, kind: str) -> Path:
    path = folder / f"{kind}.yaml"
    path.write_text(HEAD.format(kind=kind) + SPECS[kind])
    return path


def expected(kind: str) -> int:
    return 0o600 if SECRET[kind] else 0o644


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Every temporary file the shared writer creates: (name, mode asked, mode at once)."""
    seen: list[tuple[str, int, int]] = []
    real_open = os.open

    def watched(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, flags, mode, *args, **kwargs)
        if str(path).endswith(".tmp") and flags & os.O_CREAT:
            seen.append((os.path.basename(path), mode, stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    monkeypatch.setattr(output.os, "open", watched)
    return seen


# -- build ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SPECS))
def test_build_writes_secret_bearing_profiles_0600(
    folder: Path, run_cli: RunCLI, created: list[tuple[str, int, int]], kind: str
) -> None:
    out = folder / f"{kind}.mobileconfig"
    result = run_cli("build", spec(folder, kind), "-o", out, "--at", AT)
    assert result.code == 0, result
    assert mode(out) == expected(kind)
    # The temporary file was created 0600 by the open call itself, before any byte.
    assert [(m, at_once) for _, m, at_once in created] == [(0o600, 0o600)]
    assert plist_holds_secret(read_profile_file(out).content) is SECRET[kind]


def test_an_encrypted_profile_is_not_secret_bearing(
    folder: Path, pki: TestPKI, run_cli: RunCLI
) -> None:
    # Only the device's key opens EncryptedPayloadContent: the file itself reveals nothing.
    device = pki.intermediate.issue("Mode Device", key_kind="rsa2048", ca=False)
    device.write(folder / "device.pem")
    out = folder / "encrypted.mobileconfig"
    result = run_cli(
        "build", spec(folder, "pkcs12"), "-o", out, "--encrypt-to", folder / "device.pem",
        "--at", AT,
    )  # fmt: skip
    assert result.code == 0, result
    assert mode(out) == 0o644


# -- build --each ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "pkcs12", "removal-password"])
def test_batch_outputs_follow_their_content(folder: Path, run_cli: RunCLI, kind: str) -> None:
    path = folder / f"batch-{kind}.yaml"
    path.write_text(
        HEAD.format(kind=kind).replace("com.example.mode." + kind, "com.example.{{ user }}")
        + SPECS[kind]
    )
    (folder / "users.csv").write_text("user\n" + "".join(f"u{i}\n" for i in range(6)))
    out_dir = folder / "out"
    report = folder / "report.json"
    result = run_cli(
        "build", path, "--each", folder / "users.csv", "--out-dir", out_dir,
        "--name", "{{ user }}.mobileconfig", "--jobs", "2", "--report", report, "--at", AT,
    )  # fmt: skip
    assert result.code == 0, result
    written = sorted(out_dir.iterdir())
    assert len(written) == 6
    assert {mode(p) for p in written} == {expected(kind)}
    assert mode(report) == 0o644  # the summary holds no secret
    assert not list(out_dir.glob(".*.tmp"))


# -- sign and unsign --------------------------------------------------------------------


def signer_args(folder: Path) -> list[str | Path]:
    return [
        "--sign-with", folder / "signer.pem", "--sign-key", folder / "signer.key",
        "--sign-chain", folder / "inter.pem",
    ]  # fmt: skip


@pytest.mark.parametrize("kind", ["plain", "pkcs12", "scep"])
def test_sign_and_unsign_keep_the_content_private(
    folder: Path, run_cli: RunCLI, created: list[tuple[str, int, int]], kind: str
) -> None:
    unsigned = folder / f"{kind}.mobileconfig"
    assert run_cli("build", spec(folder, kind), "-o", unsigned, "--at", AT).code == 0
    signed = folder / f"{kind}-signed.mobileconfig"
    result = run_cli("sign", unsigned, "-o", signed, "--at", AT, *signer_args(folder))
    assert result.code == 0, result
    assert mode(signed) == expected(kind)
    back = folder / f"{kind}-unsigned.mobileconfig"
    result = run_cli("unsign", signed, "-o", back, "--ca", folder / "root.pem", "--at", AT)
    assert result.code == 0, result
    assert mode(back) == expected(kind)
    assert back.read_bytes() == unsigned.read_bytes()
    assert {(m, at_once) for _, m, at_once in created} == {(0o600, 0o600)}


def test_signing_in_the_build_keeps_the_mode(folder: Path, run_cli: RunCLI) -> None:
    out = folder / "signed.mobileconfig"
    result = run_cli("build", spec(folder, "pkcs12"), "-o", out, "--at", AT, *signer_args(folder))
    assert result.code == 0, result
    assert mode(out) == 0o600


# -- init and schema ----------------------------------------------------------------------


def test_init_writes_a_spec_anyone_may_read(folder: Path, run_cli: RunCLI) -> None:
    # The spec names the PKCS#12's password by environment variable, never by value.
    target = folder / "new-profile.yaml"
    result = run_cli("init", folder, "-o", target)
    assert result.code == 0, result
    assert mode(target) == 0o644
    assert PASSWORD not in target.read_text()


def test_schema_writes_no_file(folder: Path, run_cli: RunCLI) -> None:
    before = sorted(folder.iterdir())
    result = run_cli("schema")
    assert result.code == 0 and result.out.startswith("{"), result
    assert sorted(folder.iterdir()) == before


# -- declarative output ---------------------------------------------------------------------


def test_declarative_folder_keeps_credentials_private(folder: Path) -> None:
    from mobileconfig.builder import Builder
    from mobileconfig.ddm import write_folder

    ddm = Builder(spec(folder, "pkcs12")).build_declarations(
        base_url="https://mdm.example.com/ddm", at=NOW
    )
    target = folder / "ddm"
    written = write_folder(ddm, target)
    secret = {f"assets/{a.name}" for a in ddm.assets.values() if a.secret}
    assert secret, "the PKCS#12 became no credential asset"
    for rel in written:
        want = 0o600 if rel in secret else 0o644
        assert mode(target / rel) == want, rel


# -- the one test of "secret-bearing" ------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "secret"),
    [
        ({"PayloadType": "com.apple.security.pkcs12", "PayloadContent": b"..."}, True),
        ({"PayloadType": "com.apple.security.pkcs12"}, True),  # asks at install, still a key
        ({"PayloadType": "com.apple.wifi.managed", "Password": "hunter2"}, True),
        ({"PayloadType": "com.apple.wifi.managed", "Password": ""}, False),
        ({"PayloadType": "x", "EAPClientConfiguration": {"UserPassword": "p"}}, True),
        ({"PayloadType": "com.apple.vpn.managed", "IPSec": {"SharedSecret": b"s"}}, True),
        ({"PayloadType": "com.apple.security.scep", "PayloadContent": {"Challenge": "c"}}, True),
        ({"PayloadType": "x", "CertificatePassword": "p"}, True),
        ({"PayloadType": "com.apple.profileRemovalPassword", "RemovalPassword": "r"}, True),
        ({"PayloadType": "x", "OutgoingPasswordSameAsIncomingPassword": True}, False),
        ({"PayloadType": "x", "allowPasswordAutoFill": False}, False),
        ({"PayloadType": "com.apple.security.root", "PayloadContent": b"DER"}, False),
        (
            {
                "PayloadType": "com.apple.security.pem",
                "PayloadContent": b"-----BEGIN "
                b"EC PRIVATE KEY-----\nMHc...\n-----END EC PRIVATE KEY-----\n",
            },
            True,
        ),
    ],
)
def test_holds_secret(content: dict[str, Any], secret: bool) -> None:
    profile = {"PayloadType": "Configuration", "PayloadContent": [content]}
    assert holds_secret(profile) is secret
    assert plist_holds_secret(dumps(profile, "binary")) is secret


def test_unreadable_content_counts_as_secret() -> None:
    assert plist_holds_secret(b"not a plist") is True
