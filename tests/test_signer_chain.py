"""Signing with the whole chain: a signer given without its intermediate is completed from the
profile's (or the spec's) certificates when they hold it, and refused otherwise (MC210) unless
allowed; a signer that expires before the profile's removal date is reported (MC212); a
PKCS#12 signer holding more than one private key is refused (MC213).

Every signature here is real (keys of the test PKI) and the claims about chains are checked
by ``openssl cms -verify``, as a device would build the chain: from the certificates the
signature carries, up to the root it trusts.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from mobileconfig.builder import Builder
from mobileconfig.cms import Signer
from mobileconfig.errors import ValidationFailed
from mobileconfig.pki.certs import Certificate

from conftest import CLIResult, need_tool
from pki import DAY, NOW, Issued, TestPKI, issue

AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
RunCLI = Callable[..., CLIResult]


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI("ec256", prefix="Chain")


@pytest.fixture(scope="module")
def signer_cert(pki: TestPKI) -> Issued:
    return pki.intermediate.issue("Chain Profile Signer", ca=False)


@pytest.fixture
def folder(tmp_path: Path, pki: TestPKI, signer_cert: Issued) -> Path:
    pki.root.write(tmp_path / "root.pem")
    pki.intermediate.write(tmp_path / "inter.pem")
    signer_cert.write(tmp_path / "signer.pem")
    (tmp_path / "signer.key").write_bytes(signer_cert.key_pem)
    return tmp_path


def profile(folder: Path, *certs: str, **extra: object) -> Path:
    """An unsigned profile holding ``certs`` (file names in ``folder``)."""
    spec = {"identifier": "com.example.chain", "name": "Chain", "certificates": list(certs)}
    path = folder / f"profile-{len(certs)}.mobileconfig"
    path.write_bytes(Builder({**spec, **extra}, base_dir=folder).build(at=NOW))
    return path


def pem_signer(folder: Path, *chain: str) -> list[str | Path]:
    args: list[str | Path] = [
        "--sign-with", folder / "signer.pem", "--sign-key", folder / "signer.key",
    ]  # fmt: skip
    for name in chain:
        args += ["--sign-chain", folder / name]
    return args


def openssl_verify(signed: Path, root: Path, *more_trusted: Path) -> bool:
    """``openssl cms -verify`` trusting only ``root`` (and ``more_trusted``): True when the
    chain builds from what the signature carries, as on a device that holds the root."""
    openssl = need_tool("openssl")
    cafile = signed.with_suffix(".cafile.pem")
    cafile.write_bytes(b"".join(p.read_bytes() for p in (root, *more_trusted)))
    cmd = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signed),
           "-CAfile", str(cafile), "-purpose", "any", "-attime", str(int(NOW.timestamp())),
           "-out", "/dev/null"]  # fmt: skip
    return subprocess.run(cmd, capture_output=True).returncode == 0


# -- sign: complete, or refuse naming the missing issuer ------------------------------------


def test_pem_signer_without_its_intermediate_is_refused(folder: Path, run_cli: RunCLI) -> None:
    unsigned = profile(folder, "root.pem")  # the profile does not hold the intermediate
    out = folder / "signed.mobileconfig"
    result = run_cli("sign", unsigned, "-o", out, "--at", AT, *pem_signer(folder))
    assert result.code == 1, result
    assert "error MC210" in result.err, result
    assert "without its issuer 'CN=Chain Issuing CA 1,O=Test Corp'" in result.err, result
    assert "nothing written" in result.err
    assert not out.exists()


def test_allowed_incomplete_chain_signs_with_a_warning(folder: Path, run_cli: RunCLI) -> None:
    unsigned = profile(folder, "root.pem")
    out = folder / "signed.mobileconfig"
    result = run_cli(
        "sign", unsigned, "-o", out, "--at", AT, "--allow-incomplete-signer-chain",
        *pem_signer(folder),
    )  # fmt: skip
    assert result.code == 0, result
    assert "warning MC210" in result.err, result
    # What the device meets: the chain does not build from the signature alone; the
    # signature itself is sound (it verifies once the intermediate is known).
    assert not openssl_verify(out, folder / "root.pem")
    assert openssl_verify(out, folder / "root.pem", folder / "inter.pem")


def test_intermediate_is_taken_from_the_profile(folder: Path, run_cli: RunCLI) -> None:
    unsigned = profile(folder, "root.pem", "inter.pem")
    out = folder / "signed.mobileconfig"
    result = run_cli("sign", unsigned, "-o", out, "--at", AT, *pem_signer(folder))
    assert result.code == 0, result
    assert "info MC211" in result.err and "'Chain Issuing CA 1'" in result.err, result
    assert "MC210" not in result.err
    assert openssl_verify(out, folder / "root.pem")  # the signature carries it
    verified = run_cli("verify", out, "--ca", folder / "root.pem", "--at", AT)
    assert verified.code == 0 and ": trusted:" in verified.out, verified


def test_intermediate_given_with_the_signer_is_enough(folder: Path, run_cli: RunCLI) -> None:
    unsigned = profile(folder, "root.pem")
    out = folder / "signed.mobileconfig"
    result = run_cli("sign", unsigned, "-o", out, "--at", AT, *pem_signer(folder, "inter.pem"))
    assert result.code == 0, result
    assert "MC21" not in result.err, result
    assert openssl_verify(out, folder / "root.pem")


def test_a_signer_issued_by_a_root_needs_the_root_at_hand(
    folder: Path, pki: TestPKI, run_cli: RunCLI
) -> None:
    # Nothing tells a root from an intermediate but the certificate itself: give the root
    # (with the signer or in the profile) and the chain is complete.
    direct = pki.root.issue("Chain Direct Signer", ca=False)
    direct.write(folder / "direct.pem")
    (folder / "direct.key").write_bytes(direct.key_pem)
    signer = ["--sign-with", folder / "direct.pem", "--sign-key", folder / "direct.key"]
    issue("Chain Unrelated Root").write(folder / "unrelated.pem")
    bare = profile(folder, "unrelated.pem")
    result = run_cli("sign", bare, "-o", folder / "a.mobileconfig", "--at", AT, *signer)
    assert result.code == 1 and "MC210" in result.err, result
    with_root = profile(folder, "root.pem", "inter.pem")
    out = folder / "b.mobileconfig"
    result = run_cli("sign", with_root, "-o", out, "--at", AT, *signer)
    assert result.code == 0 and "MC21" not in result.err, result
    assert openssl_verify(out, folder / "root.pem")


# -- build: the spec's certificates complete the chain ---------------------------------------


def spec_with_signer(folder: Path, certificates: str, sign_extra: str = "") -> Path:
    path = folder / "profile.yaml"
    path.write_text(
        "identifier: com.example.chain.build\nname: Chain\n"
        f"certificates: [{certificates}]\n"
        f"sign: {{certificate: signer.pem, key: signer.key{sign_extra}}}\n"
    )
    return path


def test_build_completes_the_chain_from_the_spec(folder: Path, run_cli: RunCLI) -> None:
    out = folder / "built.mobileconfig"
    spec = spec_with_signer(folder, "root.pem, inter.pem")
    result = run_cli("build", spec, "-o", out, "--at", AT)
    assert result.code == 0, result
    assert "MC211" in result.err, result
    assert openssl_verify(out, folder / "root.pem")


def test_build_refuses_a_signer_whose_issuer_is_nowhere(folder: Path, run_cli: RunCLI) -> None:
    out = folder / "built.mobileconfig"
    result = run_cli("build", spec_with_signer(folder, "root.pem"), "-o", out, "--at", AT)
    assert result.code == 1, result
    assert "error MC210" in result.err and "Chain Issuing CA 1" in result.err, result
    assert not out.exists()
    # The same, allowed in the spec or on the command line: built, with the warning.
    allowed = spec_with_signer(folder, "root.pem", ", allow_incomplete_chain: true")
    result = run_cli("build", allowed, "-o", out, "--at", AT)
    assert result.code == 0 and "warning MC210" in result.err, result
    out.unlink()
    plain = spec_with_signer(folder, "root.pem")
    result = run_cli("build", plain, "-o", out, "--at", AT, "--allow-incomplete-signer-chain")
    assert result.code == 0 and "warning MC210" in result.err, result


def test_library_builder_and_batch_agree(folder: Path) -> None:
    spec = spec_with_signer(folder, "root.pem")
    with pytest.raises(ValidationFailed) as caught:
        Builder(spec).build(at=NOW)
    assert [f.code for f in caught.value.report.blocking] == ["MC210"]
    data = Builder(spec, allow_incomplete_signer_chain=True).build(at=NOW)
    assert data[:1] == b"\x30"


# -- expiry: within 30 days, or before the profile is removed ---------------------------------


def test_signer_expiring_before_the_removal_date_is_reported(
    folder: Path, pki: TestPKI, run_cli: RunCLI
) -> None:
    short = pki.intermediate.issue("Chain Short Signer", ca=False, not_after=NOW + 90 * DAY)
    short.write(folder / "signer.pem")
    (folder / "signer.key").write_bytes(short.key_pem)
    removal = (NOW + 200 * DAY).strftime("%Y-%m-%d")
    unsigned = profile(folder, "root.pem", "inter.pem", removal_date=removal)
    result = run_cli("sign", unsigned, "-o", folder / "s.mobileconfig", "--at", AT,
                     *pem_signer(folder))  # fmt: skip
    assert result.code == 0, result
    assert "warning MC212" in result.err and removal in result.err, result
    # Without a removal date, 90 days ahead is no concern; 20 days ahead is (MC203).
    plain = profile(folder, "root.pem", "inter.pem")
    result = run_cli("sign", plain, "-o", folder / "t.mobileconfig", "--at", AT,
                     *pem_signer(folder))  # fmt: skip
    assert result.code == 0 and "MC212" not in result.err and "MC203" not in result.err, result
    soon = (NOW + 70 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run_cli("sign", plain, "-o", folder / "u.mobileconfig", "--at", soon,
                     *pem_signer(folder))  # fmt: skip
    assert result.code == 0 and "warning MC203" in result.err, result


# -- a PKCS#12 with two private keys ---------------------------------------------------------


def two_key_pkcs12(first: Issued, second: Issued) -> bytes:
    """One PKCS#12 holding two identities (as a Keychain export of two can): the safes of
    two single-identity files in one authenticated safe."""
    safes = []
    for issued, label in ((first, b"first"), (second, b"second")):
        data = pkcs12.serialize_key_and_certificates(
            label, issued.key, issued.cert, None, NoEncryption()
        )
        safes.extend(asn1_pkcs12.Pfx.load(data).authenticated_safe)
    auth = asn1_cms.ContentInfo(
        {"content_type": "data", "content": asn1_pkcs12.AuthenticatedSafe(safes).dump()}
    )
    return bytes(asn1_pkcs12.Pfx({"version": 3, "auth_safe": auth}).dump())


def test_pkcs12_signer_with_two_keys_is_refused(
    folder: Path, pki: TestPKI, signer_cert: Issued, run_cli: RunCLI
) -> None:
    other = pki.intermediate.issue("Chain Other Identity", ca=False)
    (folder / "two.p12").write_bytes(two_key_pkcs12(signer_cert, other))
    signer = Signer.from_pkcs12((folder / "two.p12").read_bytes(), None, source="two.p12")
    assert signer.private_keys == 2
    unsigned = profile(folder, "root.pem", "inter.pem")
    out = folder / "signed.mobileconfig"
    result = run_cli("sign", unsigned, "-o", out, "--at", AT, "--sign-with", folder / "two.p12")
    assert result.code == 1, result
    assert "error MC213" in result.err and "holds 2 private keys" in result.err, result
    assert not out.exists()


def test_complete_chain_returns_the_same_signer_when_nothing_is_missing(
    pki: TestPKI, signer_cert: Issued
) -> None:
    signer = Signer(
        Certificate(signer_cert.cert), signer_cert.key, [Certificate(pki.intermediate.cert)]
    )
    same, findings = signer.complete_chain([Certificate(pki.root.cert)])
    assert same is signer and findings == []
    bare = Signer(Certificate(signer_cert.cert), signer_cert.key)
    completed, findings = bare.complete_chain(
        [Certificate(pki.root.cert), Certificate(pki.intermediate.cert)]
    )
    assert [c.common_name for c in completed.chain] == ["Chain Issuing CA 1"]  # no root
    assert [f.code for f in findings] == ["MC211"]
