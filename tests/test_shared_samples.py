"""Tests on the real-world profiles in ../shared/samples: signed files from public CAs,
Apple Developer ID and S/MIME signers, certificates in any order, and profiles made by
other tools (Kandji, ICP-Brasil).

The samples are not part of this repository (their licences are their authors'): they sit
beside a checkout, in ../shared/samples/profiles. Without them this whole module is
skipped, with that reason; every other test carries its own material.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import SAMPLES, CLIResult

if not SAMPLES.is_dir():
    pytest.skip(
        "../shared/samples is not beside this checkout: the real-world sample tests need it",
        allow_module_level=True,
    )

from mobileconfig import cms
from mobileconfig.findings import Severity
from mobileconfig.pki.certs import Certificate

from pki import DAY


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


@pytest.fixture
def samples() -> Path:
    return SAMPLES


# -- signatures (mobileconfig.cms) ------------------------------------------------------


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} is absent")
    return path


def signed_samples() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.signed.*"))


def leaf_of(signed: cms.SignedProfile) -> Certificate:
    leaves = [c for c in signed.certificates if not c.is_ca]
    assert len(leaves) == 1
    return leaves[0]


def midpoint(c: Certificate) -> dt.datetime:
    return c.not_before + (c.not_after - c.not_before) / 2


LETS_ENCRYPT = [
    "encrypted-dns.signed.adguard-default-https.at-e59c073.mobileconfig",
    "encrypted-dns.signed.adguard-default-https.mobileconfig",
    "encrypted-dns.signed.cloudflare-default-https.mobileconfig",
    "encrypted-dns.signed.google-default-https.mobileconfig",
    "encrypted-dns.signed.mullvad-default-https.mobileconfig",
    "encrypted-dns.signed.quad9-default-tls.mobileconfig",
    "encrypted-dns.signed.template-on-demand-default-https.mobileconfig",
]
APPLE_DEVELOPER_ID = "encrypted-dns.signed.adguard-https.at-f440c84.mobileconfig"
SMIME = "encrypted-dns.signed.adguard-https.at-34a6f55.mobileconfig"
SECTIGO = [
    "encrypted-dns.signed.adguard-default-https.at-685c268.mobileconfig",
    "encrypted-dns.signed.adguard-default-https.at-46f64c6.mobileconfig",
]


def test_samples_folder_lists_the_expected_files() -> None:
    names = set(signed_samples())
    assert {*LETS_ENCRYPT, APPLE_DEVELOPER_ID, SMIME, *SECTIGO} <= names


@pytest.mark.parametrize("name", signed_samples() or ["<none>"])
def test_every_signed_sample_is_cryptographically_valid(name: str) -> None:
    path = sample(name)
    raw = path.read_bytes()
    assert cms.is_cms(raw)
    signed = cms.unwrap(raw, source=name)
    assert signed.raw == raw
    assert signed.content.startswith(b"<?xml")
    leaf = leaf_of(signed)
    result = cms.verify(signed, at=midpoint(leaf))
    assert result.status in ("untrusted", "trusted"), result.reason
    assert result.signer == leaf
    # Outside its window the signer is expired: never trusted, and the reason says so.
    late = cms.verify(signed, at=leaf.not_after + DAY)
    assert late.status == "untrusted" and "expired" in late.reason


@pytest.mark.parametrize("name", LETS_ENCRYPT)
def test_lets_encrypt_ecdsa_samples(name: str) -> None:
    signed = cms.unwrap(sample(name).read_bytes(), source=name)
    assert signed.digest_algorithm == "sha256"
    assert signed.signature_algorithm == "ecdsa-with-SHA256"
    assert signed.signing_time is None
    assert [c.common_name for c in signed.certificates] == ["encrypted-dns.brunch.io", "E8"]
    result = cms.verify(signed, at=midpoint(leaf_of(signed)))
    assert result.valid
    assert "MC205" not in {f.code for f in result.findings}


@pytest.mark.parametrize("name", LETS_ENCRYPT)
def test_lets_encrypt_samples_are_trusted_by_public_roots(name: str) -> None:
    signed = cms.unwrap(sample(name).read_bytes(), source=name)
    roots = cms.public_roots()
    if not any(r.common_name == "ISRG Root X1" for r in roots):
        pytest.skip("this certifi bundle has no ISRG Root X1")
    result = cms.verify(signed, anchors=roots, at=midpoint(leaf_of(signed)))
    # The E8 in these files is the one issued by ISRG Root X1, which certifi carries.
    assert result.status == "trusted", result.reason
    assert [c.common_name for c in result.chain] == [
        "encrypted-dns.brunch.io",
        "E8",
        "ISRG Root X1",
    ]


def test_apple_developer_id_sample_sha1_with_critical_apple_extensions() -> None:
    signed = cms.unwrap(sample(APPLE_DEVELOPER_ID).read_bytes(), source=APPLE_DEVELOPER_ID)
    assert signed.raw[:2] == b"0\x80"  # BER, indefinite length
    assert signed.digest_algorithm == "sha1"
    assert signed.signature_algorithm == "sha1WithRSAEncryption"
    leaf = leaf_of(signed)
    assert "1.2.840.113635.100.6.1.14" in leaf.critical_extension_oids
    result = cms.verify(signed, at=midpoint(leaf))
    assert result.valid
    sha1 = [f for f in result.findings if f.code == "MC205"]
    assert sha1 and sha1[0].severity is Severity.WARNING


def test_apple_developer_id_sample_is_not_rejected_for_apple_extensions() -> None:
    signed = cms.unwrap(sample(APPLE_DEVELOPER_ID).read_bytes(), source=APPLE_DEVELOPER_ID)
    leaf = leaf_of(signed)
    developer_id_ca = next(c for c in signed.certificates if c.is_ca)
    # Apple Root CA is not in the Mozilla bundle: untrusted, because the issuer is missing.
    public = cms.verify(signed, anchors=cms.public_roots(), at=midpoint(leaf))
    assert public.status == "untrusted"
    assert "Apple Root CA" in public.reason or "issuer" in public.reason.lower()
    assert "MC101" in {f.code for f in public.findings}  # issuer missing
    # Anchored at the Developer ID CA itself, the critical Apple extensions do not stop it:
    # the chain policy accepts 1.2.840.113635.100.6.* and notes it (MC114), never MC113.
    anchored = cms.verify(signed, anchors=[developer_id_ca], at=midpoint(leaf))
    assert anchored.status == "trusted", anchored.reason
    codes = {f.code for f in anchored.findings}
    assert "MC114" in codes and "MC113" not in codes
    assert "MC205" in codes


@pytest.mark.parametrize(
    ("name", "root"),
    [
        (SECTIGO[0], "USERTrust RSA Certification Authority"),
        (SECTIGO[1], "USERTrust RSA Certification Authority"),
        (SMIME, "Actalis Authentication Root CA"),
    ],
)
def test_sha1_rsa_samples_are_trusted_by_public_roots(name: str, root: str) -> None:
    signed = cms.unwrap(sample(name).read_bytes(), source=name)
    roots = cms.public_roots()
    if not any(r.common_name == root for r in roots):
        pytest.skip(f"this certifi bundle has no {root}")
    result = cms.verify(signed, anchors=roots, at=midpoint(leaf_of(signed)))
    assert result.status == "trusted", result.reason
    assert result.chain[-1].common_name == root
    assert [f.code for f in result.findings] == ["MC205"]  # SHA-1 CMS digest: a warning


@pytest.mark.parametrize("name", SECTIGO)
def test_sectigo_samples_with_certificates_in_reverse_order(name: str) -> None:
    signed = cms.unwrap(sample(name).read_bytes(), source=name)
    first, second = signed.certificates
    assert first.is_ca and not second.is_ca  # intermediate first, as sent
    result = cms.verify(signed, at=midpoint(second))
    assert result.valid
    assert result.signer == second


def test_smime_sample_with_extra_signed_attributes() -> None:
    signed = cms.unwrap(sample(SMIME).read_bytes(), source=SMIME)
    assert signed.has_signed_attributes
    assert signed.signer_info.signed_attributes is not None
    assert b"\x2b\x06\x01\x04\x01\x82\x37\x10\x04" in signed.signer_info.signed_attributes
    leaf = leaf_of(signed)
    assert leaf.common_name is not None and "@" in leaf.common_name
    result = cms.verify(signed, at=midpoint(leaf))
    assert result.valid, result.reason


def test_unsigned_twin_equals_unwrapped_content() -> None:
    signed = sample("encrypted-dns.signed.cloudflare-default-https.mobileconfig").read_bytes()
    twin = sample("encrypted-dns.unsigned.cloudflare-default-https.mobileconfig").read_bytes()
    assert cms.unwrap(signed).content == twin


def test_tampered_sample_is_invalid() -> None:
    raw = sample("encrypted-dns.signed.cloudflare-default-https.mobileconfig").read_bytes()
    signed = cms.unwrap(raw)
    at = raw.index(b"cloudflare")
    tampered = cms.unwrap(flip(raw, at, 0x20))
    assert tampered.content != signed.content
    assert cms.verify(tampered, at=midpoint(leaf_of(signed))).status == "invalid"


# -- the command line ------------------------------------------------------------------


def test_kandji_sample_names_the_missing_root(
    samples: Path, run_cli: Callable[..., CLIResult]
) -> None:
    path = samples / "kandji.custom_wifi_scep_certchain_example.mobileconfig"
    result = run_cli("validate", path, "--at", "2024-01-01", "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    missing = [f for f in report["findings"] if f["code"] == "MC101"]
    assert len(missing) == 1
    assert "Adobe Intermediate CA 10-4" in missing[0]["message"]
    assert "Adobe Root CA 10-3" in missing[0]["message"]
    assert report["summary"]["errors"] == 1


def test_icp_brasil_expired_roots_and_damaged_pem_named(
    samples: Path, run_cli: Callable[..., CLIResult]
) -> None:
    path = samples / "icp-brasil.ac-icp-brasil-full.mobileconfig"
    result = run_cli("validate", path, "--at", "2026-12-01", "--format", "json")
    assert result.code == 1
    findings = json.loads(result.out)["findings"]
    damaged = [f for f in findings if f["code"] == "MC002"]
    assert len(damaged) == 5
    assert all("damaged" in f["message"] and ".crt" in f["message"] for f in damaged)
    expired = [f for f in findings if f["code"] == "MC103"]
    assert expired, "some ICP-Brasil certificates have expired by 2026"
    assert all(f["certificate"]["subject"] for f in expired)
    # The 156 readable certificates were all checked: a chain entry for each.
    assert len(json.loads(result.out)["chains"]) == 161 - 5


def test_every_sample_inspects_without_traceback(
    samples: Path, run_cli: Callable[..., CLIResult]
) -> None:
    for path in sorted(samples.iterdir()):
        result = run_cli("inspect", path, "--at", "2026-04-01", "--format", "json")
        assert result.code in (0, 1), (path.name, result)
        assert "Traceback" not in result.err


def test_signed_samples_verify_inside_their_window(
    samples: Path, run_cli: Callable[..., CLIResult]
) -> None:
    for path in sorted(samples.glob("*.signed.*")):
        result = run_cli(
            "verify", path, "--public-roots", "--at", _midpoint(path), "--format", "json"
        )
        assert '"status": "invalid"' not in result.out, path.name


def _midpoint(path: Path) -> str:
    from mobileconfig.cms import unwrap, verify

    v = verify(unwrap(path.read_bytes()))
    assert v.signer is not None
    mid = v.signer.not_before + (v.signer.not_after - v.signer.not_before) / 2
    return mid.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_cloudflare_twin_equals_unsigned_content(
    samples: Path, tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    out = tmp_path / "twin.mobileconfig"
    result = run_cli(
        "unsign",
        samples / "encrypted-dns.signed.cloudflare-default-https.mobileconfig",
        "-o",
        out,
        "--public-roots",
        "--at",
        "2026-04-01",
    )
    assert result.code == 0, result
    twin = samples / "encrypted-dns.unsigned.cloudflare-default-https.mobileconfig"
    assert out.read_bytes() == twin.read_bytes()
    assert os.path.getsize(out) == os.path.getsize(twin)
