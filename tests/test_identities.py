"""Identities (PKCS#12 in and out, PEM in) and the pkcs12, SCEP and ACME payload models.

Real keys, real PKCS#12 files made by the ``openssl`` command line and by cryptography,
checked back with ``openssl pkcs12 -info``. Passwords go to openssl through the
environment, never argv.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pydantic import ValidationError

from mobileconfig.errors import IdentityError
from mobileconfig.findings import Severity
from mobileconfig.payloads.base import Payload, payload_class
from mobileconfig.payloads.identity import (
    ACMEPayload,
    PKCS12Payload,
    SCEPContent,
    SCEPPayload,
    ca_fingerprint,
    parse_dn,
    scep_findings,
)
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.identities import (
    Identity,
    clear_cache,
    describe_pkcs12,
    encode_pkcs12,
    identity_findings,
    identity_from_pem,
    legacy_algorithms_available,
    load_pkcs12,
)
from mobileconfig.pki.identities import cache as identity_cache
from mobileconfig.secrets import Secret

from apple_schema import conform
from pki import Issued, TestPKI, issue, make_key

PASSWORD = "c0rrect-Horse-7Q"
WRONG = "Tr0ub4dor&3-wrong"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


# -- the material ---------------------------------------------------------------------------------
@dataclass
class Material:
    root: Issued
    intermediate: Issued
    alice: Issued  # RSA 2048 leaf
    bob: Issued  # another RSA leaf, another key
    carol: Issued  # EC P-256 leaf
    folder: Path


def _openssl(
    *args: str, password: str = PASSWORD, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OPENSSL_CONF": "/dev/null",
        "P12PW": password,
        **(env or {}),
    }
    proc = subprocess.run([OPENSSL, *args], capture_output=True, text=True, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    folder = tmp_path_factory.mktemp("identities")
    root = issue("Identity Root CA")
    intermediate = root.issue("Identity Issuing CA", path_length=0)
    alice = intermediate.issue("alice", key=make_key("rsa2048", slot=1), ca=False)
    bob = intermediate.issue("bob", key=make_key("rsa2048", slot=2), ca=False)
    carol = intermediate.issue("carol", key_kind="ec256", ca=False)
    for label, item in [("alice", alice), ("bob", bob), ("carol", carol)]:
        (folder / f"{label}.key").write_bytes(item.key_pem)
        (folder / f"{label}.pem").write_bytes(item.pem)
    (folder / "intermediate.pem").write_bytes(intermediate.pem)
    return Material(root, intermediate, alice, bob, carol, folder)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def _alice(material: Material) -> Identity:
    """Alice's identity from her PEM key and certificate (no chain)."""
    return identity_from_pem(
        material.alice.key_pem,
        material.alice.pem,
        key_password=None,
        name="alice",
        source="alice.pem",
    )


def _export(m: Material, out: str, *extra: str, who: str = "alice") -> bytes:
    path = m.folder / out
    _openssl(
        "pkcs12",
        "-export",
        "-inkey",
        str(m.folder / f"{who}.key"),
        "-in",
        str(m.folder / f"{who}.pem"),
        "-certfile",
        str(m.folder / "intermediate.pem"),
        "-name",
        who,
        "-passout",
        "env:P12PW",
        "-out",
        str(path),
        *extra,
    )
    return path.read_bytes()


def _info(data: bytes, folder: Path, *extra: str, password: str = PASSWORD) -> str:
    path = folder / "check.p12"
    path.write_bytes(data)
    proc = _openssl(
        "pkcs12",
        "-info",
        "-noout",
        "-in",
        str(path),
        "-passin",
        "env:P12PW",
        *extra,
        password=password,
    )
    return proc.stdout + proc.stderr


def _serialize(
    name: bytes, key: Any, cert: Any, cas: Any, *, password: str = PASSWORD, modern: bool = False
) -> bytes:
    enc = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(
            pkcs12.PBES.PBESv2SHA256AndAES256CBC
            if modern
            else pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC
        )
        .hmac_hash(hashes.SHA256() if modern else hashes.SHA1())
        .build(password.encode())
    )
    return bytes(pkcs12.serialize_key_and_certificates(name, key, cert, cas, enc))


def _pkcs12_mac_key(password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 7292 B.2 for the MAC key (purpose 3, SHA-1): written here, independently of the
    library, to build a file cryptography cannot write (two private keys)."""
    v, u = 64, 20
    pw = password.encode("utf-16-be") + b"\x00\x00"

    def fill(b: bytes) -> bytes:
        n = v * ((len(b) + v - 1) // v)
        return (b * (n // len(b) + 1))[:n]

    i = fill(salt) + fill(pw)
    a = hashlib.sha1(b"\x03" * v + i).digest()
    for _ in range(iterations - 1):
        a = hashlib.sha1(a).digest()
    return a[:u]


def _two_keys(m: Material) -> bytes:
    """One PKCS#12 holding alice's and bob's keys and certificates, with a valid MAC."""
    parts = [
        asn1_pkcs12.Pfx.load(_serialize(b"alice", m.alice.key, m.alice.cert, None)),
        asn1_pkcs12.Pfx.load(_serialize(b"bob", m.bob.key, m.bob.cert, None)),
    ]
    safes = [ci for pfx in parts for ci in pfx.authenticated_safe]
    content = asn1_pkcs12.AuthenticatedSafe(safes).dump()
    salt, rounds = os.urandom(8), 2048
    digest = hmac.new(_pkcs12_mac_key(PASSWORD, salt, rounds), content, hashlib.sha1).digest()
    pfx = asn1_pkcs12.Pfx(
        {
            "version": "v3",
            "auth_safe": asn1_cms.ContentInfo({"content_type": "data", "content": content}),
            "mac_data": {
                "mac": {"digest_algorithm": {"algorithm": "sha1"}, "digest": digest},
                "mac_salt": salt,
                "iterations": rounds,
            },
        }
    )
    return bytes(pfx.dump())


# -- reading PKCS#12 ------------------------------------------------------------------------------
@needs_openssl
def test_openssl3_default_pkcs12_loads_as_modern(material: Material) -> None:
    data = _export(material, "modern.p12")
    assert "PBES2" in _info(data, material.folder)  # OpenSSL 3's own default
    identity = load_pkcs12(data, PASSWORD.encode(), name="alice", source="identities/alice.p12")
    assert identity.encryption == "PBES2/AES-256-CBC"
    assert identity.mac == "sha256"
    assert identity.is_modern
    assert identity.key_description == "RSA 2048"
    assert identity.certificate.common_name == "alice"
    assert [c.common_name for c in identity.chain] == ["Identity Issuing CA"]
    assert identity.input_format == "pkcs12"
    assert "key=" not in repr(identity) and "PRIVATE" not in repr(identity)
    facts = describe_pkcs12(data)
    assert facts["mac"] == "sha256" and facts["modern"] and not facts["apple_compatible"]
    assert facts["key_encryption"] == facts["certificate_encryption"] == "PBES2/AES-256-CBC"


@needs_openssl
def test_encode_apple_is_3des_sha1_and_opens_everywhere(material: Material) -> None:
    modern = load_pkcs12(
        _export(material, "modern.p12"),
        PASSWORD.encode(),
        name="alice",
        source="identities/alice.p12",
    )
    out = encode_pkcs12(modern, PASSWORD.encode())
    info = _info(out, material.folder, "-legacy")
    assert "MAC: sha1" in info
    assert "salt length: 8" in info
    assert "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC" in info
    assert "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC" in info
    assert "PBES2" not in info
    # OpenSSL 3 reads it without the legacy provider too: 3DES is in the default one
    assert "MAC: sha1" in _info(out, material.folder)
    # the friendly name is the identity's name, and only the leaf went in
    dump = _openssl(
        "pkcs12", "-in", str(material.folder / "check.p12"), "-nokeys", "-passin", "env:P12PW"
    ).stdout
    assert "friendlyName: alice" in dump
    assert dump.count("BEGIN CERTIFICATE") == 1
    # and we read our own output with the same password
    again = load_pkcs12(out, PASSWORD.encode(), name="alice", source="out.p12")
    assert again.certificate == modern.certificate
    assert again.encryption == "pbeWithSHA1And3-KeyTripleDES-CBC"
    assert again.mac == "sha1" and not again.is_modern
    assert again.chain == ()
    facts = describe_pkcs12(out)
    assert facts["apple_compatible"]
    assert facts["mac_salt_length"] == 8
    assert all(s.get("salt_length", 8) == 8 for s in facts["safes"] if s["encrypted"])
    key_bags = [b for s in facts["safes"] if not s["encrypted"] for b in s["bags"]]
    assert [b.get("salt_length") for b in key_bags] == [8]
    assert [b.get("friendly_name") for b in key_bags] == ["alice"]


@needs_openssl
def test_encode_with_chain_and_modern(material: Material) -> None:
    identity = load_pkcs12(
        _export(material, "modern.p12"), PASSWORD.encode(), name="alice", source="alice.p12"
    )
    with_chain = encode_pkcs12(identity, PASSWORD.encode(), include_chain=True)
    assert len(load_pkcs12(with_chain, PASSWORD.encode(), name="a", source="x").chain) == 1
    modern = encode_pkcs12(identity, PASSWORD.encode(), format="modern")
    facts = describe_pkcs12(modern)
    assert facts["encryption"] == "PBES2/AES-256-CBC" and facts["mac"] == "sha256"
    assert "MAC: sha256" in _info(modern, material.folder)


@needs_openssl
@pytest.mark.parametrize("include_chain", [False, True], ids=["leaf", "chain"])
def test_encode_apple_deterministic(material: Material, include_chain: bool) -> None:
    identity = load_pkcs12(
        _export(material, "modern.p12"), PASSWORD.encode(), name="alice", source="alice.p12"
    )
    one = encode_pkcs12(
        identity, PASSWORD.encode(), deterministic=True, include_chain=include_chain
    )
    assert one == encode_pkcs12(
        identity, PASSWORD.encode(), deterministic=True, include_chain=include_chain
    )
    assert one != encode_pkcs12(
        identity, WRONG.encode(), deterministic=True, include_chain=include_chain
    )
    # the same structure as cryptography's writer, down to the attributes
    reference = encode_pkcs12(identity, PASSWORD.encode(), include_chain=include_chain)
    assert describe_pkcs12(one) == describe_pkcs12(reference)
    info = _info(one, material.folder, "-legacy")
    assert "MAC: sha1" in info and "salt length: 8" in info
    assert "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC" in info
    assert "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC" in info
    dump = _openssl(
        "pkcs12", "-in", str(material.folder / "check.p12"), "-nodes", "-passin", "env:P12PW"
    ).stdout
    assert dump.count("BEGIN CERTIFICATE") == (2 if include_chain else 1)
    assert "friendlyName: alice" in dump
    key = serialization.load_pem_private_key(
        dump[dump.index("-----BEGIN PRIVATE KEY") :].encode(), None
    )
    assert key.public_key() == identity.key.public_key()
    back = load_pkcs12(one, PASSWORD.encode(), name="alice", source="det.p12")
    assert back.certificate == identity.certificate
    assert len(back.chain) == (1 if include_chain else 0)
    with pytest.raises(ValueError, match="apple format only"):
        encode_pkcs12(identity, PASSWORD.encode(), format="modern", deterministic=True)


def test_encode_apple_needs_a_password(material: Material) -> None:
    identity = _alice(material)
    with pytest.raises(IdentityError, match="non-empty password"):
        encode_pkcs12(identity, b"")
    with pytest.raises(ValueError, match="format"):
        encode_pkcs12(identity, b"x", format="other")  # type: ignore[arg-type]


@needs_openssl
def test_rc2_40_legacy_file(material: Material) -> None:
    data = _export(material, "legacy.p12", "-legacy")
    info = _info(data, material.folder, "-legacy")
    assert "PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC" in info
    facts = describe_pkcs12(data)  # no password needed for this
    assert facts["certificate_encryption"] == "pbeWithSHA1And40BitRC2-CBC"
    assert facts["key_encryption"] == "pbeWithSHA1And3-KeyTripleDES-CBC"
    assert facts["needs_legacy_algorithms"]
    if legacy_algorithms_available():
        # The truth here: cryptography's bundled OpenSSL loads its legacy provider.
        identity = load_pkcs12(data, PASSWORD.encode(), name="alice", source="old.p12")
        assert identity.encryption == (
            "pbeWithSHA1And3-KeyTripleDES-CBC (key), pbeWithSHA1And40BitRC2-CBC (certificates)"
        )
        assert identity.mac == "sha1" and not identity.is_modern
        assert identity.certificate.common_name == "alice"
    else:
        with pytest.raises(IdentityError, match="legacy algorithms"):
            load_pkcs12(data, PASSWORD.encode(), name="alice", source="old.p12")


@needs_openssl
def test_rc2_40_without_the_legacy_provider_says_what_to_do(material: Material) -> None:
    path = material.folder / "legacy-noprov.p12"
    path.write_bytes(_export(material, "legacy.p12", "-legacy"))
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mobileconfig.pki.identities import load_pkcs12, legacy_algorithms_available\n"
        "from mobileconfig.errors import IdentityError\n"
        "print('legacy', legacy_algorithms_available())\n"
        "try:\n"
        f"    load_pkcs12(Path({str(path)!r}).read_bytes(), sys.argv[1].encode(),"
        " name='alice', source='old.p12')\n"
        "except IdentityError as e:\n"
        "    print(e)\n"
    )
    env = {**os.environ, "CRYPTOGRAPHY_OPENSSL_NO_LEGACY": "1"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code, PASSWORD],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=True,
    )
    out = proc.stdout
    assert "legacy False" in out
    assert "identity 'alice' (old.p12)" in out
    assert "pbeWithSHA1And40BitRC2-CBC" in out and "legacy algorithms" in out
    assert "openssl pkcs12 -legacy" in out  # how to re-export it
    assert PASSWORD not in out


# -- refusals -------------------------------------------------------------------------------------
def _refused(
    data: bytes,
    password: str | None = PASSWORD,
    *,
    name: str = "alice",
    source: str = "identities/alice.p12",
) -> str:
    with pytest.raises(IdentityError) as info:
        load_pkcs12(
            data, password.encode() if password is not None else None, name=name, source=source
        )
    text = str(info.value)
    assert f"identity '{name}' ({source})" in text
    assert "\n" not in text
    for secret in (PASSWORD, WRONG):
        assert secret not in text
        assert secret not in repr(info.value)
    return text


@needs_openssl
def test_wrong_password(material: Material) -> None:
    for label, data in [
        ("modern", _export(material, "modern.p12")),
        (
            "apple",
            encode_pkcs12(
                identity_from_pem(
                    material.alice.key_pem,
                    material.alice.pem,
                    key_password=None,
                    name="a",
                    source="a",
                ),
                PASSWORD.encode(),
            ),
        ),
    ]:
        text = _refused(data, WRONG)
        assert "wrong password, or the file is damaged" in text, label
        assert "MAC" not in text
    assert "none was given" in _refused(_export(material, "modern.p12"), None)


def test_key_that_matches_no_certificate(material: Material) -> None:
    data = _serialize(b"alice", material.alice.key, None, [material.bob.cert])
    assert "matches none of its 1 certificate" in _refused(data)


@needs_openssl
def test_no_private_key(material: Material) -> None:
    path = material.folder / "nokey.p12"
    _openssl(
        "pkcs12",
        "-export",
        "-nokeys",
        "-in",
        str(material.folder / "alice.pem"),
        "-passout",
        "env:P12PW",
        "-out",
        str(path),
    )
    assert "holds no private key" in _refused(path.read_bytes())


@needs_openssl
def test_two_private_keys(material: Material) -> None:
    data = _two_keys(material)
    # a valid file (openssl checks our MAC), that cryptography alone would half-read
    (material.folder / "two.p12").write_bytes(data)
    _openssl(
        "pkcs12", "-info", "-noout", "-in", str(material.folder / "two.p12"), "-passin", "env:P12PW"
    )
    assert describe_pkcs12(data)["private_keys"] == 2
    assert "holds 2 private keys" in _refused(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is not a PKCS#12"),
        (bytes(range(200)), "is not a PKCS#12"),
        (b"\x30\x82\x01\x00" + bytes(range(256)), "not a PKCS#12 file (or it is damaged)"),
        (b"\x30\x03\x02\x01\x03", "not a PKCS#12"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "PEM text"),
    ],
    ids=["empty", "binary", "der-garbage", "tiny-der", "pem"],
)
def test_not_a_pkcs12(data: bytes, expected: str) -> None:
    assert expected in _refused(data)
    with pytest.raises(IdentityError):
        describe_pkcs12(data)


def test_a_certificate_is_not_a_pkcs12(material: Material) -> None:
    assert "not a PKCS#12" in _refused(material.alice.der)


def test_damaged_files(material: Material) -> None:
    data = _serialize(b"alice", material.alice.key, material.alice.cert, None)
    assert "damaged" in _refused(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01  # inside the encrypted content: the MAC no longer matches
    assert "wrong password, or the file is damaged" in _refused(bytes(flipped))


# -- PEM input ------------------------------------------------------------------------------------
def test_identity_from_pem(material: Material) -> None:
    bundle = material.intermediate.pem + material.alice.pem  # leaf second: still found
    identity = identity_from_pem(
        material.alice.key_pem,
        bundle,
        [material.root.pem],
        key_password=None,
        name="alice",
        source="alice.pem",
    )
    assert identity.certificate.common_name == "alice"
    assert [c.common_name for c in identity.chain] == ["Identity Issuing CA", "Identity Root CA"]
    assert identity.input_format == "pem" and identity.encryption is None
    assert not identity.is_modern
    carol = identity_from_pem(
        material.carol.key_pem,
        material.carol.pem,
        key_password=None,
        name="carol",
        source="carol.pem",
    )
    assert carol.key_description == "EC secp256r1"
    # EC identities survive the Apple encoding too
    back = load_pkcs12(
        encode_pkcs12(carol, PASSWORD.encode()), PASSWORD.encode(), name="carol", source="x"
    )
    assert back.certificate == carol.certificate


def test_identity_from_encrypted_pem(material: Material) -> None:
    key = material.alice.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    identity = identity_from_pem(
        key, material.alice.pem, key_password=PASSWORD.encode(), name="alice", source="alice.key"
    )
    assert identity.key_description == "RSA 2048"
    for password, expected in [(WRONG, "wrong password"), (None, "no password was given")]:
        with pytest.raises(IdentityError) as info:
            identity_from_pem(
                key,
                material.alice.pem,
                key_password=password.encode() if password else None,
                name="alice",
                source="alice.key",
            )
        assert expected in str(info.value)
        assert "identity 'alice' (alice.key)" in str(info.value)
        assert PASSWORD not in str(info.value) and WRONG not in str(info.value)


def test_identity_from_pem_refusals(material: Material) -> None:
    cases = [
        (material.alice.key_pem, material.bob.pem, "does not match the certificate"),
        (material.alice.pem, material.alice.pem, "holds no private key"),
        (material.alice.key_pem + material.bob.key_pem, material.alice.pem, "2 private keys"),
        (b"not a key", material.alice.pem, "holds no private key"),
        (material.alice.key_pem, b"nothing here", "holds no certificate"),
    ]
    for key, cert, expected in cases:
        with pytest.raises(IdentityError) as info:
            identity_from_pem(key, cert, key_password=None, name="alice", source="alice.pem")
        assert expected in str(info.value), str(info.value)
        assert "identity 'alice' (alice.pem)" in str(info.value)


# -- the cache ------------------------------------------------------------------------------------
@needs_openssl
def test_each_file_is_opened_once(material: Material) -> None:
    data = _export(material, "modern.p12")
    first = load_pkcs12(data, PASSWORD.encode(), name="alice", source="a.p12")
    second = load_pkcs12(data, PASSWORD.encode(), name="alice2", source="b.p12")
    assert second.key is first.key  # the same object: not opened again
    assert (second.name, second.source) == ("alice2", "b.p12")
    # a wrong password is not served from the cache
    _refused(data, WRONG)
    # the cache never holds the password, nor its plain hash
    plain = PASSWORD.encode()
    for key in identity_cache._CACHE:
        for part in key:
            assert plain not in (part if isinstance(part, bytes) else part.encode())
            assert part != hashlib.sha256(plain).digest()
    clear_cache()
    assert load_pkcs12(data, PASSWORD.encode(), name="a", source="a").key is not first.key


# -- findings -------------------------------------------------------------------------------------
@needs_openssl
def test_identity_findings(material: Material) -> None:
    modern = load_pkcs12(
        _export(material, "modern.p12"), PASSWORD.encode(), name="alice", source="alice.p12"
    )
    legacy = load_pkcs12(
        encode_pkcs12(modern, PASSWORD.encode()),
        PASSWORD.encode(),
        name="alice",
        source="apple.p12",
    )

    def codes(identity: Identity, **kw: Any) -> dict[str, Severity]:
        found = identity_findings(identity, **kw)
        for f in found:
            assert PASSWORD not in f.format()
            assert f.certificate is not None and f.certificate.name == identity.name
        return {f.code: f.severity for f in found}

    assert codes(modern, format="apple", embedded_password=False) == {"MC301": Severity.INFO}
    assert (
        "The password for the certificate is incorrect"
        in identity_findings(modern, format="apple", embedded_password=False)[0].message
    )
    assert codes(legacy, format="apple", embedded_password=False) == {}
    assert codes(legacy, format="modern", embedded_password=True) == {
        "MC303": Severity.WARNING,
        "MC302": Severity.INFO,
    }
    assert codes(
        legacy, format="apple", embedded_password=True, password=Secret.from_plain(PASSWORD)
    ) == {
        "MC302": Severity.INFO,
        "MC304": Severity.WARNING,
    }
    assert (
        codes(legacy, format="apple", embedded_password=False, password=Secret.from_env("P12PW"))
        == {}
    )
    with pytest.raises(ValueError, match="format"):
        identity_findings(legacy, format="new", embedded_password=False)


# -- payload models: the helpers ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CN=device 1,O=Example Corp", [[["CN", "device 1"]], [["O", "Example Corp"]]]),
        (r"CN=x, O=Example\, Inc.", [[["CN", "x"]], [["O", "Example, Inc."]]]),
        ("CN=a+OU=b,C=US", [[["CN", "a"], ["OU", "b"]], [["C", "US"]]]),
        (
            "/C=US/O=Apple Inc./CN=foo/1.2.5.3=bar",
            [[["C", "US"]], [["O", "Apple Inc."]], [["CN", "foo"]], [["1.2.5.3", "bar"]]],
        ),
        (
            "cn=lower,emailAddress=a@example.com",
            [[["CN", "lower"]], [["1.2.840.113549.1.9.1", "a@example.com"]]],
        ),
        (r"CN=caf\C3\A9", [[["CN", "café"]]]),
        ("CN=a=b", [[["CN", "a=b"]]]),
    ],
)
def test_parse_dn(text: str, expected: list[list[list[str]]]) -> None:
    assert parse_dn(text) == expected


@pytest.mark.parametrize("text", ["", "CN", "CN=", "XYZ=1", "CN=a,,O=b", "CN=a\\"])
def test_parse_dn_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_dn(text)


def test_ca_fingerprint(material: Material) -> None:
    cert = Certificate(material.root.cert)
    assert ca_fingerprint(cert) == hashlib.sha1(cert.der).digest()
    assert len(ca_fingerprint(cert, "sha256")) == 32


# -- payload models against Apple's schema --------------------------------------------------------
def _check_payload(payload: Payload, schema_name: str) -> dict[str, Any]:
    """The payload's plist, after checking it against Apple's schema (tests/apple_schema.py)."""
    assert payload.payload_type == schema_name
    plist = payload.to_plist()
    assert conform(plist) == []
    return plist


def _common(ptype: str) -> dict[str, Any]:
    return {
        "PayloadType": ptype,
        "PayloadIdentifier": f"{ptype}.test",
        "PayloadUUID": "6B7C1A52-1B0C-4A0E-9C57-2E5E3B2B5C11",
    }


def test_pkcs12_payload_matches_apples_schema(material: Material) -> None:
    identity = _alice(material)
    payload = PKCS12Payload(
        **_common("com.apple.security.pkcs12"),
        payload_content=encode_pkcs12(identity, PASSWORD.encode()),
        password=PASSWORD,
        payload_certificate_file_name="alice.p12",
        allow_all_apps_access=False,
        key_is_extractable=False,
    )
    plist = _check_payload(payload, "com.apple.security.pkcs12")
    assert plist["Password"] == PASSWORD  # the renderer gets it...
    assert PASSWORD not in repr(payload) and PASSWORD not in str(payload)  # ...repr never
    assert payload_class("com.apple.security.pkcs12") is PKCS12Payload
    assert PKCS12Payload.model_validate(plist) == payload
    field = PKCS12Payload.model_fields["key_is_extractable"]
    assert field.description is not None and "macOS only" in field.description


def _scep(**content: Any) -> SCEPPayload:
    base: dict[str, Any] = {"URL": "https://scep.example.com/scep"}
    base.update(content)
    return SCEPPayload.model_validate(
        {**_common("com.apple.security.scep"), "PayloadContent": base}
    )


def test_scep_payload_matches_apples_schema(material: Material) -> None:
    payload = _scep(
        Name="EXAMPLE-CA",
        Subject="CN=device 1,O=Example Corp",
        Challenge=PASSWORD,
        Keysize=4096,
        **{"Key Type": "RSA", "Key Usage": 5},
        Retries=3,
        RetryDelay=10,
        CAFingerprint=ca_fingerprint(Certificate(material.root.cert)),
        SubjectAltName={
            "dNSName": "device1.example.com",
            "rfc822Name": "it@example.com",
            "uniformResourceIdentifier": "https://example.com/d/1",
            "ntPrincipalName": "device1@EXAMPLE.COM",
        },
        KeyIsExtractable=False,
        AllowAllAppsAccess=False,
    )
    plist = _check_payload(payload, "com.apple.security.scep")
    content = plist["PayloadContent"]
    assert content["Subject"] == [[["CN", "device 1"]], [["O", "Example Corp"]]]
    assert content["Keysize"] == 4096 and content["Key Type"] == "RSA"
    assert PASSWORD not in repr(payload)
    assert payload_class("com.apple.security.scep") is SCEPPayload
    assert SCEPPayload.model_validate(plist) == payload

    minimal = _check_payload(_scep(), "com.apple.security.scep")
    assert minimal["PayloadContent"]["Keysize"] == 2048  # written, never Apple's 1024 default


def test_scep_accepts_python_names_and_hex_fingerprint(material: Material) -> None:
    cert = Certificate(material.root.cert)
    hexed = ":".join(f"{b:02X}" for b in ca_fingerprint(cert))
    content = SCEPContent.model_validate(
        {
            "url": "http://scep.example.com/",
            "ca_fingerprint": hexed,
            "subject": [[["CN", "x"]]],
            "key_usage": 1,
        }
    )
    assert content.ca_fingerprint == ca_fingerprint(cert)
    assert scep_findings(content) == []
    plain = SCEPContent(url="http://scep.example.com/")
    [finding] = scep_findings(plain)
    assert finding.code == "MC305" and finding.severity is Severity.WARNING
    assert scep_findings(SCEPContent(url="https://scep.example.com/")) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"Keysize": 1024}, "Keysize 1024 is refused"),
        ({"Keysize": 3072}, "2048 or 4096"),
        ({"Key Type": "EC"}, "Key Type"),
        ({"Key Usage": 2}, "Key Usage"),
        ({"URL": "ftp://scep.example.com"}, "http:// or https://"),
        ({"Subject": [[["CN"]]]}, "pair"),
        ({"Subject": [[["XYZ", "1"]]]}, "dotted OID"),
        ({"CAFingerprint": b"\x00" * 7}, "CAFingerprint is 7 bytes"),
        ({"Retries": -1}, "Retries"),
        ({"KeySize": 2048}, "KeySize"),  # ACME's spelling is not SCEP's: refused as unknown
        ({"SubjectAltName": {}}, "at least one"),
    ],
)
def test_scep_rules(content: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        _scep(**content)
    assert message in str(info.value)


def _acme(**keys: Any) -> ACMEPayload:
    base: dict[str, Any] = {
        **_common("com.apple.security.acme"),
        "DirectoryURL": "https://acme.example.com/directory",
        "ClientIdentifier": PASSWORD,
        "Subject": "CN=device 1,O=Example Corp",
    }
    base.update(keys)
    return ACMEPayload.model_validate(base)


@pytest.mark.parametrize(
    "keys",
    [
        {},
        {"KeyType": "ECSECPrimeRandom", "KeySize": 384, "HardwareBound": True, "Attest": True},
        {"KeyType": "ECSECPrimeRandom", "KeySize": 521, "HardwareBound": False},
        {
            "KeyType": "RSA",
            "KeySize": 4096,
            "HardwareBound": False,
            "UsageFlags": 5,
            "ExtendedKeyUsage": ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.4"],
            "SubjectAltName": {"dNSName": "device1.example.com"},
            "KeyIsExtractable": False,
            "AllowAllAppsAccess": True,
        },
    ],
    ids=["defaults", "hardware-bound", "p521", "rsa-full"],
)
def test_acme_payload_matches_apples_schema(keys: dict[str, Any]) -> None:
    payload = _acme(**keys)
    plist = _check_payload(payload, "com.apple.security.acme")
    assert PASSWORD not in repr(payload)
    assert plist["ClientIdentifier"] == PASSWORD
    assert payload_class("com.apple.security.acme") is ACMEPayload
    assert ACMEPayload.model_validate(plist) == payload


def test_acme_eku_names() -> None:
    payload = _acme(ExtendedKeyUsage=["clientAuth", "1.3.6.1.5.5.7.3.4"])
    assert payload.extended_key_usage == ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.4"]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"DirectoryURL": "http://acme.example.com/directory"}, "https://"),
        ({"KeyType": "RSA", "KeySize": 2048, "HardwareBound": True}, "ECSECPrimeRandom"),
        ({"KeyType": "ECSECPrimeRandom", "KeySize": 521, "HardwareBound": True}, "256 or 384"),
        ({"Attest": True}, "Attest needs HardwareBound"),
        ({"KeyType": "RSA", "KeySize": 1024}, "KeySize 1024 is refused"),
        ({"KeyType": "RSA", "KeySize": 2049}, "multiple of 8"),
        ({"KeyType": "RSA", "KeySize": 8192}, "multiple of 8 from 2048 to 4096"),
        ({"KeyType": "ECSECPrimeRandom", "KeySize": 512}, "521, not 512"),
        ({"KeyType": "ECSECPrimeRandom", "KeySize": 192}, "P-192"),
        ({"KeyType": "DSA"}, "KeyType"),
        ({"ExtendedKeyUsage": ["client auth"]}, "not a dotted OID"),
        ({"UsageFlags": 3}, "UsageFlags"),
        ({"ClientIdentifier": ""}, "ClientIdentifier"),
        ({"Keysize": 2048}, "Keysize"),  # SCEP's spelling is not ACME's
    ],
)
def test_acme_rules(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        _acme(**keys)
    text = str(info.value)
    assert message in text
    assert PASSWORD not in text or "ClientIdentifier" in keys


def test_acme_and_scep_keys_required_by_apple_are_required() -> None:
    with pytest.raises(ValidationError, match="ClientIdentifier"):
        ACMEPayload.model_validate(
            {
                **_common("com.apple.security.acme"),
                "DirectoryURL": "https://a.example/d",
                "Subject": "CN=x",
            }
        )
    with pytest.raises(ValidationError, match="URL"):
        SCEPPayload.model_validate({**_common("com.apple.security.scep"), "PayloadContent": {}})


def test_models_spell_apples_keys() -> None:
    scep_aliases = {f.alias for f in SCEPContent.model_fields.values()}
    assert {"Keysize", "Key Type", "Key Usage", "CAFingerprint", "RetryDelay"} <= scep_aliases
    acme_aliases = {f.alias for f in ACMEPayload.model_fields.values()}
    assert {"DirectoryURL", "KeySize", "KeyType", "PayloadUUID"} <= acme_aliases
    assert re.search("PayloadUuid", repr(ACMEPayload.model_fields)) is None


def test_test_pki_is_usable() -> None:
    # the shared factory still gives a full chain (guards this file's assumptions)
    pki = TestPKI()
    assert pki.leaf.cert.issuer == pki.intermediate.cert.subject
