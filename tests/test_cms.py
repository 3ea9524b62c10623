"""mobileconfig.cms: signing, reading, verifying, encrypting. Real keys, real openssl,
real profiles from the wild; time pinned to ``pki.NOW``."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms as asn1_cms  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import pkcs12

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from mobileconfig import cms
from mobileconfig.errors import CMSError, IdentityError
from mobileconfig.findings import Severity
from mobileconfig.pki.certs import Certificate

from pki import DAY, NOW, Issued, TestPKI, issue, make_key

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")

#: Profile-like content with LF, CRLF, a NUL byte, and non-ASCII: all must survive signing.
CONTENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\r\n'
    b"\t<key>PayloadDisplayName</key>\n\t<string>Caf\xc3\xa9 \x00 corp</string>\r\n"
    b"</dict>\n</plist>\n"
)


# -- fixtures -------------------------------------------------------------------------


class SigningPKI:
    """A root, an intermediate and a leaf fit for signing (digitalSignature, no EKU)."""

    def __init__(self, kind: str) -> None:
        key_kind: Any = "rsa2048" if kind == "rsa" else "ec256"
        base = TestPKI(key_kind, prefix=f"CMS {kind}")
        self.root = base.root
        self.intermediate = base.intermediate
        self.leaf = self.intermediate.issue(
            f"CMS {kind} Profile Signer", key_kind=key_kind, ca=False
        )
        self.signer = cms.Signer(
            cert(self.leaf), self.leaf.key, [cert(self.intermediate)], source="test signer"
        )


def cert(issued: Issued) -> Certificate:
    return Certificate(issued.cert)


@pytest.fixture(scope="module", params=["rsa", "ec"])
def pki(request: pytest.FixtureRequest) -> SigningPKI:
    return SigningPKI(request.param)


@pytest.fixture(scope="module")
def ec_pki() -> SigningPKI:
    return SigningPKI("ec")


@pytest.fixture(scope="module")
def rsa_pki() -> SigningPKI:
    return SigningPKI("rsa")


def openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    env = {"OPENSSL_CONF": "/dev/null", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([OPENSSL, *args], input=stdin, capture_output=True, env=env, check=False)


def attime() -> str:
    return str(int(NOW.timestamp()))


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def replace_certificates(signed: bytes, certs: list[bytes]) -> bytes:
    """The CMS with its certificate set replaced (everything else re-encoded as DER)."""
    info = asn1_cms.ContentInfo.load(signed)
    info["content"]["certificates"] = asn1_cms.CertificateSet(
        [
            asn1_cms.CertificateChoices(name="certificate", value=asn1_x509.Certificate.load(c))
            for c in certs
        ]
    )
    return bytes(info.dump(force=True))


# -- signing: openssl must accept what we make -----------------------------------------


@needs_openssl
@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_openssl_verifies_our_signature_and_content_is_exact(
    pki: SigningPKI, digest: cms.Digest, tmp_path: Path
) -> None:
    signed = cms.sign(CONTENT, pki.signer, digest=digest)
    # Only the root is given to openssl: the intermediate must come from the CMS.
    proc = openssl(
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-attime",
        attime(),
        "-CAfile",
        write(tmp_path / "root.pem", pki.root.pem),
        "-in",
        write(tmp_path / "signed", signed),
        "-out",
        str(tmp_path / "content"),
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert (tmp_path / "content").read_bytes() == CONTENT

    unwrapped = cms.unwrap(signed)
    assert unwrapped.content == CONTENT
    assert unwrapped.digest_algorithm == digest
    assert unwrapped.has_signed_attributes
    assert unwrapped.signing_time is not None
    assert {c.sha256 for c in unwrapped.certificates} == {
        cert(pki.leaf).sha256,
        cert(pki.intermediate).sha256,
    }  # the root is left out: it was not in the chain given


def test_signed_output_is_minimal_der(ec_pki: SigningPKI) -> None:
    signed = cms.sign(CONTENT, ec_pki.signer)
    info = asn1_cms.ContentInfo.load(signed, strict=True)
    assert bytes(info.dump(force=True)) == signed  # DER, not BER
    si = info["content"]["signer_infos"][0]
    types = [a["type"].dotted for a in si["signed_attrs"]]
    # contentType, signingTime, messageDigest; no S/MIME capabilities
    assert sorted(types) == sorted(
        ["1.2.840.113549.1.9.3", "1.2.840.113549.1.9.5", "1.2.840.113549.1.9.4"]
    )
    assert cms.is_cms(signed)


def test_root_is_included_only_when_given(ec_pki: SigningPKI) -> None:
    with_root = cms.Signer(
        cert(ec_pki.leaf),
        ec_pki.leaf.key,
        [cert(ec_pki.intermediate), cert(ec_pki.root), cert(ec_pki.leaf)],
        source="s",
    )
    certs = cms.unwrap(cms.sign(CONTENT, with_root)).certificates
    assert len(certs) == 3  # the leaf given again in the chain is not repeated
    assert cert(ec_pki.root) in certs


def test_sign_refuses_sha1(ec_pki: SigningPKI) -> None:
    with pytest.raises(CMSError, match="SHA-1 is never used"):
        cms.sign(CONTENT, ec_pki.signer, digest="sha1")  # type: ignore[arg-type]


def test_signer_is_reused_without_reparsing(ec_pki: SigningPKI) -> None:
    first = cms.sign(b"one", ec_pki.signer)
    second = cms.sign(b"two", ec_pki.signer)
    assert cms.unwrap(first).content == b"one"
    assert cms.unwrap(second).content == b"two"


# -- signer loading and checks ---------------------------------------------------------


def test_signer_from_pkcs12(rsa_pki: SigningPKI) -> None:
    data = pkcs12.serialize_key_and_certificates(
        b"signer",
        rsa_pki.leaf.key,
        rsa_pki.leaf.cert,
        [rsa_pki.intermediate.cert],
        serialization.BestAvailableEncryption(b"s3cret-pw"),
    )
    signer = cms.Signer.from_pkcs12(data, b"s3cret-pw", source="signing/signer.p12")
    assert signer.certificate == cert(rsa_pki.leaf)
    assert signer.chain == (cert(rsa_pki.intermediate),)
    assert repr(signer) == f"<Signer {cert(rsa_pki.leaf).subject_text!r}>"

    with pytest.raises(IdentityError) as err:
        cms.Signer.from_pkcs12(data, b"wrong-pw", source="signing/signer.p12")
    text = str(err.value)
    assert text == "signing/signer.p12: wrong password for the PKCS#12 (or it is corrupt)"
    assert "wrong-pw" not in text and "s3cret" not in text

    with pytest.raises(IdentityError, match=r"signing/signer\.p12"):
        cms.Signer.from_pkcs12(b"not a pkcs12", None, source="signing/signer.p12")


def test_signer_from_pem_fullchain_and_encrypted_key(ec_pki: SigningPKI) -> None:
    key_pem = ec_pki.leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pem-pw"),
    )
    fullchain = ec_pki.intermediate.pem + ec_pki.leaf.pem  # order does not matter
    signer = cms.Signer.from_pem(fullchain, key_pem, key_password=b"pem-pw", source="signer.pem")
    assert signer.certificate == cert(ec_pki.leaf)
    assert signer.chain == (cert(ec_pki.intermediate),)

    with pytest.raises(IdentityError, match=r"signer\.pem: wrong password for the private key"):
        cms.Signer.from_pem(fullchain, key_pem, key_password=b"nope", source="signer.pem")
    with pytest.raises(IdentityError, match="encrypted and no password"):
        cms.Signer.from_pem(fullchain, key_pem, source="signer.pem")
    with pytest.raises(IdentityError, match=r"signer\.pem"):
        cms.Signer.from_pem(ec_pki.leaf.pem, b"garbage", source="signer.pem")


def test_key_not_matching_certificate_is_refused(ec_pki: SigningPKI) -> None:
    other = make_key("ec256")
    with pytest.raises(IdentityError, match="does not belong to the certificate"):
        cms.Signer(cert(ec_pki.leaf), other, source="s")
    other_pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(IdentityError, match="does not belong") as err:
        cms.Signer.from_pem(ec_pki.leaf.pem, other_pem, source="pair.pem")
    assert "PRIVATE KEY" not in str(err.value)


def test_ed25519_key_cannot_sign(ec_pki: SigningPKI) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(IdentityError, match="cannot sign profiles"):
        cms.Signer(cert(ec_pki.leaf), key, source="s")  # type: ignore[arg-type]


def test_signer_check(ec_pki: SigningPKI) -> None:
    leaf = cert(ec_pki.leaf)
    assert ec_pki.signer.check(NOW) == []
    expired = ec_pki.signer.check(leaf.not_after + DAY)
    assert [f.code for f in expired] == ["MC201"]
    assert expired[0].severity is Severity.ERROR
    assert [f.code for f in ec_pki.signer.check(leaf.not_before - DAY)] == ["MC202"]
    soon = ec_pki.signer.check(leaf.not_after - 10 * DAY)
    assert [f.code for f in soon] == ["MC203"]
    assert soon[0].severity is Severity.WARNING
    assert "in 10 days" in soon[0].message
    assert "200 days" in soon[0].fix


def test_signer_without_digital_signature_is_an_error(ec_pki: SigningPKI) -> None:
    # The intermediate's keyUsage is keyCertSign + cRLSign only.
    ca_signer = cms.Signer(cert(ec_pki.intermediate), ec_pki.intermediate.key, source="ca")
    findings = ca_signer.check(NOW)
    assert [(f.code, f.severity) for f in findings] == [("MC204", Severity.ERROR)]


# -- verifying: what openssl makes, ours must read --------------------------------------


def openssl_sign(pki: SigningPKI, tmp_path: Path, *extra: str, content: bytes = CONTENT) -> bytes:
    out = tmp_path / "openssl-signed"
    proc = openssl(
        "cms",
        "-sign",
        "-nodetach",
        "-binary",
        "-signer",
        write(tmp_path / "leaf.pem", pki.leaf.pem),
        "-inkey",
        write(tmp_path / "leaf.key", pki.leaf.key_pem),
        "-certfile",
        write(tmp_path / "inter.pem", pki.intermediate.pem),
        "-in",
        write(tmp_path / "content", content),
        "-out",
        str(out),
        *(extra or ("-outform", "DER", "-md", "sha256")),
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return out.read_bytes()


@needs_openssl
def test_openssl_signed_profile_is_trusted(pki: SigningPKI, tmp_path: Path) -> None:
    signed = cms.unwrap(openssl_sign(pki, tmp_path), source="openssl.mobileconfig")
    assert signed.content == CONTENT
    result = cms.verify(signed, anchors=[cert(pki.root)], at=NOW)
    assert result.status == "trusted", result.reason
    assert result.signer == cert(pki.leaf)
    assert result.chain[0] == cert(pki.leaf) and result.chain[-1] == cert(pki.root)
    assert result.digest_algorithm == "sha256"
    assert not [f for f in result.findings if f.severity is Severity.ERROR]


@needs_openssl
@pytest.mark.parametrize(
    ("name", "args", "expect"),
    [
        ("BER streaming", ("-stream", "-outform", "DER", "-md", "sha256"), {}),
        ("PEM armour", ("-outform", "PEM", "-md", "sha384"), {"digest": "sha384"}),
        ("no signed attributes", ("-noattr", "-outform", "DER"), {"attrs": False}),
        ("subjectKeyIdentifier", ("-keyid", "-outform", "DER"), {}),
        ("SHA-1", ("-md", "sha1", "-outform", "DER"), {"digest": "sha1", "code": "MC205"}),
    ],
)
def test_openssl_variants_verify(
    ec_pki: SigningPKI, tmp_path: Path, name: str, args: tuple[str, ...], expect: dict[str, Any]
) -> None:
    raw = openssl_sign(ec_pki, tmp_path, *args)
    assert cms.is_cms(raw), name
    signed = cms.unwrap(raw)
    assert signed.content == CONTENT
    assert signed.has_signed_attributes is expect.get("attrs", True)
    assert signed.digest_algorithm == expect.get("digest", "sha256")
    result = cms.verify(signed, at=NOW)
    assert result.status == "untrusted", result.reason  # sound, but no anchors given
    assert result.signer == cert(ec_pki.leaf)
    if "code" in expect:
        sha1 = [f for f in result.findings if f.code == expect["code"]]
        assert sha1 and sha1[0].severity is Severity.WARNING


@needs_openssl
def test_rsa_pss_signature_verifies(rsa_pki: SigningPKI, tmp_path: Path) -> None:
    raw = openssl_sign(
        rsa_pki,
        tmp_path,
        "-outform",
        "DER",
        "-md",
        "sha256",
        "-keyopt",
        "rsa_padding_mode:pss",
        "-keyopt",
        "rsa_pss_saltlen:32",
    )
    signed = cms.unwrap(raw)
    assert signed.signature_algorithm == "RSASSA-PSS"
    assert cms.verify(signed, at=NOW).status == "untrusted"
    tampered = cms.unwrap(flip(raw, len(raw) - 3))
    assert cms.verify(tampered, at=NOW).status == "invalid"


# -- tampering never verifies -----------------------------------------------------------


def anchors_for(pki: SigningPKI) -> list[Certificate]:
    return [cert(pki.root)]


def test_flipped_content_byte_is_invalid(pki: SigningPKI) -> None:
    signed = cms.sign(CONTENT, pki.signer)
    at = signed.index(CONTENT) + 20
    result = cms.verify(cms.unwrap(flip(signed, at)), anchors=anchors_for(pki), at=NOW)
    assert result.status == "invalid"
    assert "changed after signing" in result.reason
    assert [f.code for f in result.findings] == ["MC206"]


def test_flipped_signature_byte_is_invalid(pki: SigningPKI) -> None:
    signed = cms.sign(CONTENT, pki.signer)
    signature = cms.unwrap(signed).signer_info.signature
    at = signed.rindex(signature) + len(signature) // 2
    result = cms.verify(cms.unwrap(flip(signed, at)), anchors=anchors_for(pki), at=NOW)
    assert result.status == "invalid"


def test_flipped_signed_attribute_is_invalid(pki: SigningPKI) -> None:
    signed = cms.sign(CONTENT, pki.signer)
    info = cms.unwrap(signed).signer_info
    assert info.message_digest is not None and info.signed_attributes is not None
    # In the messageDigest value: caught by the digest comparison.
    at = signed.index(info.message_digest) + 3
    assert cms.verify(cms.unwrap(flip(signed, at)), at=NOW).status == "invalid"
    # In the signingTime (a digit changed, still a valid time): caught by the signature.
    body = info.signed_attributes[1:]
    start = signed.index(body)
    utc = signed.index(b"\x17\x0d", start) + 2 + 11  # the seconds' last digit
    changed = bytearray(signed)
    changed[utc] = ord("1") if changed[utc] != ord("1") else ord("2")
    tampered = cms.unwrap(bytes(changed))
    assert tampered.signing_time != cms.unwrap(signed).signing_time
    result = cms.verify(tampered, anchors=anchors_for(pki), at=NOW)
    assert result.status == "invalid"
    assert "does not verify" in result.reason


def test_signer_certificate_swapped_for_one_with_the_same_name_is_invalid(
    pki: SigningPKI,
) -> None:
    signed = cms.sign(CONTENT, pki.signer)
    leaf = cert(pki.leaf)
    # Same subject, same issuer, same serial, properly issued by the real intermediate:
    # only the key differs.
    twin = issue(
        "x",
        issuer=pki.intermediate,
        subject=pki.leaf.cert.subject,
        ca=False,
        serial=leaf.serial_number,
        key_kind="ec256",
    )
    # Control: rebuilding the CMS with the original certificates still verifies.
    same = replace_certificates(signed, [leaf.der, cert(pki.intermediate).der])
    assert cms.verify(cms.unwrap(same), at=NOW).status == "untrusted"

    swapped = replace_certificates(signed, [twin.der, cert(pki.intermediate).der])
    result = cms.verify(cms.unwrap(swapped), anchors=anchors_for(pki), at=NOW)
    assert result.status == "invalid"
    assert "does not verify" in result.reason

    # Same name, another serial: the signer is simply not there.
    other = issue("x", issuer=pki.intermediate, subject=pki.leaf.cert.subject, ca=False)
    missing = replace_certificates(signed, [other.der, cert(pki.intermediate).der])
    result = cms.verify(cms.unwrap(missing), anchors=anchors_for(pki), at=NOW)
    assert result.status == "invalid"
    assert [f.code for f in result.findings] == ["MC208"]


def test_an_extra_impostor_does_not_hide_the_real_signer(ec_pki: SigningPKI) -> None:
    signed = cms.sign(CONTENT, ec_pki.signer)
    leaf = cert(ec_pki.leaf)
    twin = issue(
        "x",
        issuer=ec_pki.intermediate,
        subject=ec_pki.leaf.cert.subject,
        ca=False,
        serial=leaf.serial_number,
    )
    both = replace_certificates(signed, [twin.der, leaf.der, cert(ec_pki.intermediate).der])
    result = cms.verify(cms.unwrap(both), at=NOW)
    assert result.status == "untrusted"
    assert result.signer == leaf


def test_fuzzed_profile_never_verifies_other_content(ec_pki: SigningPKI) -> None:
    """Any single flipped byte: unwrap raises CMSError or parses; verify never raises; and
    whatever is 'trusted' still carries exactly the signed content."""
    signed = cms.sign(CONTENT, ec_pki.signer)
    anchors = [cert(ec_pki.root)]
    for index in range(0, len(signed), 3):
        data = flip(signed, index, 0x41)
        try:
            parsed = cms.unwrap(data)
        except CMSError:
            continue
        result = cms.verify(parsed, anchors=anchors, at=NOW)
        if result.status == "trusted":
            assert parsed.content == CONTENT, index


# -- trust ------------------------------------------------------------------------------


def test_our_signature_is_trusted_by_its_root(pki: SigningPKI) -> None:
    result = cms.verify(cms.unwrap(cms.sign(CONTENT, pki.signer)), anchors=[cert(pki.root)], at=NOW)
    assert result.status == "trusted", result.reason
    assert result.trusted and result.valid
    assert "chains to the trusted root" in result.reason


def test_untrusted_root(ec_pki: SigningPKI) -> None:
    stranger = issue("Stranger Root CA")
    result = cms.verify(
        cms.unwrap(cms.sign(CONTENT, ec_pki.signer)), anchors=[cert(stranger)], at=NOW
    )
    assert result.status == "untrusted"
    assert result.valid and not result.trusted
    assert "not trusted" in result.reason
    assert "MC207" in {f.code for f in result.findings}


def test_no_anchors_is_untrusted_with_a_reason(ec_pki: SigningPKI) -> None:
    result = cms.verify(cms.unwrap(cms.sign(CONTENT, ec_pki.signer)), at=NOW)
    assert result.status == "untrusted"
    assert "no trust anchors" in result.reason


def test_expired_signer_is_not_trusted(ec_pki: SigningPKI) -> None:
    signed = cms.unwrap(cms.sign(CONTENT, ec_pki.signer))
    later = cert(ec_pki.leaf).not_after + DAY
    result = cms.verify(signed, anchors=anchors_for(ec_pki), at=later)
    assert result.status == "untrusted"
    assert "expired" in result.reason
    assert "MC201" in {f.code for f in result.findings}


# -- encryption -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def device() -> Issued:
    return issue("Device 0042", key_kind="rsa2048", ca=False)


@pytest.mark.parametrize(("cipher", "oid"), [("aes256", "aes256_cbc"), ("aes128", "aes128_cbc")])
def test_encrypt_decrypt_round_trip(device: Issued, cipher: cms.Cipher, oid: str) -> None:
    enveloped = cms.encrypt_payload_content(CONTENT, cert(device), cipher=cipher)
    info = asn1_cms.ContentInfo.load(enveloped)
    assert info["content_type"].native == "enveloped_data"
    eci = info["content"]["encrypted_content_info"]
    assert eci["content_encryption_algorithm"]["algorithm"].native == oid
    assert cms.decrypt(enveloped, cert(device), device.key) == CONTENT


def test_default_cipher_is_aes256(device: Issued) -> None:
    enveloped = cms.encrypt_payload_content(CONTENT, cert(device))
    eci = asn1_cms.ContentInfo.load(enveloped)["content"]["encrypted_content_info"]
    assert eci["content_encryption_algorithm"]["algorithm"].native == "aes256_cbc"


@needs_openssl
def test_openssl_decrypts_what_we_encrypt(device: Issued, tmp_path: Path) -> None:
    enveloped = cms.encrypt_payload_content(CONTENT, cert(device))
    proc = openssl(
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-recip",
        write(tmp_path / "cert.pem", device.pem),
        "-inkey",
        write(tmp_path / "key.pem", device.key_pem),
        "-in",
        write(tmp_path / "enc", enveloped),
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == CONTENT


def test_encrypt_refuses_non_rsa(ec_pki: SigningPKI) -> None:
    with pytest.raises(CMSError, match="RSA"):
        cms.encrypt_payload_content(CONTENT, cert(ec_pki.leaf))


def test_decrypt_with_the_wrong_certificate(device: Issued) -> None:
    other = issue("Device 0043", key_kind="rsa2048", ca=False)
    enveloped = cms.encrypt_payload_content(CONTENT, cert(device))
    with pytest.raises(CMSError, match="not encrypted to"):
        cms.decrypt(enveloped, cert(other), other.key)
    with pytest.raises(CMSError, match="does not belong"):
        cms.decrypt(enveloped, cert(device), other.key)
    with pytest.raises(CMSError):
        cms.decrypt(b"\x30\x03\x02\x01\x00", cert(device), device.key)


def test_enveloped_data_is_not_a_signed_profile(device: Issued) -> None:
    enveloped = cms.encrypt_payload_content(CONTENT, cert(device))
    assert cms.is_cms(enveloped)
    with pytest.raises(CMSError, match="envelopedData"):
        cms.unwrap(enveloped, source="enc.mobileconfig")


# -- malformed input --------------------------------------------------------------------


def _truncations(ec_pki: SigningPKI) -> list[bytes]:
    signed = cms.sign(CONTENT, ec_pki.signer)
    return [signed[:n] for n in range(0, len(signed), 7)]


@pytest.mark.parametrize(
    "make",
    [
        lambda _: b"",
        lambda _: b"\x00",
        lambda _: b"0",
        lambda _: b"0\x80",
        lambda _: b"0\x84\xff\xff\xff\xff",
        lambda _: b'<?xml version="1.0"?><plist/>',
        lambda _: b"bplist00\xd0\x08",
        lambda _: b"-----BEGIN PKCS7-----\n!!!\n-----END PKCS7-----\n",
        lambda _: b"-----BEGIN CMS-----\nMAA=\n-----END CMS-----\n",
        lambda _: b"0\x03\x06\x01\x00",
        lambda p: cms.sign(CONTENT, p.signer) + b"trailing junk",
    ],
)
def test_garbage_raises_cms_error(ec_pki: SigningPKI, make: Callable[[SigningPKI], bytes]) -> None:
    with pytest.raises(CMSError) as err:
        cms.unwrap(make(ec_pki), source="junk.mobileconfig")
    assert str(err.value).startswith("junk.mobileconfig: ")
    assert "\n" not in str(err.value)


def test_truncated_and_random_bytes_raise_cms_error_only(ec_pki: SigningPKI) -> None:
    rng = random.Random(20260601)
    inputs = _truncations(ec_pki)
    inputs += [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 400))) for _ in range(200)]
    inputs += [b"0\x80" + bytes(rng.getrandbits(8) for _ in range(64)) for _ in range(100)]
    inputs += [
        b"\x30\x82\x01\x00\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"
        + bytes(rng.getrandbits(8) for _ in range(256))
        for _ in range(100)
    ]
    errors: list[str] = []
    for data in inputs:
        try:
            cms.unwrap(data, source="random")
        except CMSError as exc:  # anything else fails the test
            errors.append(str(exc))
    assert errors
    assert all(e.startswith("random: ") and "\n" not in e for e in errors)


def test_detached_signature_is_refused(ec_pki: SigningPKI) -> None:
    builder = ec_pki.signer._builder(CONTENT, "sha256")
    from cryptography.hazmat.primitives.serialization import pkcs7

    detached = builder.sign(
        serialization.Encoding.DER,
        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
    )
    with pytest.raises(CMSError, match="detached"):
        cms.unwrap(detached)


def test_duplicate_message_digest_is_refused(ec_pki: SigningPKI) -> None:
    info = asn1_cms.ContentInfo.load(cms.sign(CONTENT, ec_pki.signer))
    attrs = info["content"]["signer_infos"][0]["signed_attrs"]
    digest = next(a for a in attrs if a["type"].native == "message_digest")
    info["content"]["signer_infos"][0]["signed_attrs"] = asn1_cms.CMSAttributes(
        [*attrs, asn1_cms.CMSAttribute.load(digest.dump())]
    )
    with pytest.raises(CMSError, match="messageDigest appears twice"):
        cms.unwrap(bytes(info.dump(force=True)))


def test_is_cms_sniff(ec_pki: SigningPKI) -> None:
    assert cms.is_cms(cms.sign(CONTENT, ec_pki.signer))
    assert not cms.is_cms(CONTENT)
    assert not cms.is_cms(b"")
    assert not cms.is_cms(b"bplist00")
    assert not cms.is_cms(b"0\x82\x01\x00\x02\x01\x01")  # a SEQUENCE, but not ContentInfo


# -- public roots -----------------------------------------------------------------------


def test_public_roots_from_certifi() -> None:
    pytest.importorskip("certifi")
    roots = cms.public_roots()
    assert len(roots) > 50
    assert all(isinstance(r, Certificate) for r in roots)
    assert roots is not cms.public_roots()  # a fresh list each time, parsed once
