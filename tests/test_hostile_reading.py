"""Hostile input, part two (issue #17): what the reading side must survive. Each test is a
named case that ends in a normal result or in one clear line naming the file (exit 2 from
the command line, the documented error from the library): never a traceback, never a hang.

No test here is timed: a bound is shown by counting the work done (the objects built, the
certificates parsed, the loop turns a template ran), or by a refusal that comes before the
expensive step could start. The limits are listed in docs/limits.md.
"""

from __future__ import annotations

import os
import plistlib
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import algos as asn1_algos  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import cms as asn1_cms
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    PrivateFormat,
    pkcs12,
)

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from test_hostile_inputs import BPlist, refused

from mobileconfig import cms, render
from mobileconfig.errors import IdentityError, ProfileError
from mobileconfig.inspection import inspect_profile
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.identities import MAX_PKCS12_ITERATIONS, load_pkcs12
from mobileconfig.reader import read_profile
from mobileconfig.render import MAX_PLIST_VALUES, dumps_array, loads

from conftest import CLIResult
from pki import NOW, Issued, TestPKI

AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
RunCLI = Callable[..., CLIResult]


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI("ec256", prefix="Reading")


@pytest.fixture(scope="module")
def rsa_pki() -> TestPKI:
    return TestPKI("rsa2048", prefix="Reading RSA")


def profile_commands(run_cli: RunCLI, path: Path) -> list[CLIResult]:
    return [run_cli("inspect", path, "--at", AT), run_cli("validate", path, "--at", AT)]


class CountingParser:
    """Counts the objects plistlib's binary reader builds while the block runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.built = 0
        original = plistlib._BinaryPlistParser._read_object  # type: ignore[attr-defined]

        def counted(parser: object, ref: int) -> object:
            self.built += 1
            return original(parser, ref)

        monkeypatch.setattr(plistlib._BinaryPlistParser, "_read_object", counted)  # type: ignore[attr-defined]


# -- binary plists that explode when read -----------------------------------------------


class LenientCount(BPlist):
    """Writes every count through the long form with a marker byte plistlib does not check
    (it reads only the low two bits): the first hardening's shape walk skipped such
    containers, so a cycle or a bomb written this way reached plistlib and the models."""

    def _count(self, marker: int, n: int) -> bytes:
        return bytes([marker | 0x0F, 0x00, n])


def shared_40_by_40(b: BPlist) -> bytes:
    """One array shared 40 times at each of 40 levels: 40**40 logical elements."""
    below = b.array([b.string("lol")])
    for _ in range(40):
        below = b.array([below] * 40)
    return b.dump(b.profile_holding(below))


@pytest.mark.parametrize("writer", [BPlist, LenientCount], ids=["plain", "odd-count-marker"])
def test_binary_plist_shared_40_times_at_40_levels_is_refused(
    tmp_path: Path, run_cli: RunCLI, monkeypatch: pytest.MonkeyPatch, writer: type[BPlist]
) -> None:
    path = tmp_path / "shared.mobileconfig"
    path.write_bytes(shared_40_by_40(writer()))
    counter = CountingParser(monkeypatch)
    for result in profile_commands(run_cli, path):
        refused(result, path, "shared container")
    assert counter.built == 0  # refused by the walk, before plistlib built anything


@pytest.mark.parametrize("writer", [BPlist, LenientCount], ids=["plain", "odd-count-marker"])
def test_binary_plist_container_that_contains_itself_is_refused(
    tmp_path: Path, run_cli: RunCLI, writer: type[BPlist]
) -> None:
    b = writer()
    content = b.array([])
    b.set_array(content, [b.string("x"), content])
    path = tmp_path / "self.mobileconfig"
    path.write_bytes(b.dump(b.profile_holding(content)))
    for result in profile_commands(run_cli, path):
        refused(result, path, "reference cycle")


def test_binary_plist_cycle_hidden_in_the_trailer_padding_is_refused() -> None:
    # plistlib reads an object anywhere before the end of the file, the six unused bytes
    # of the trailer included; the walk used to stop at the trailer and miss this array.
    b = BPlist(ref_size=1)
    b.string("x")
    b.string("placeholder")
    data = bytearray(b.dump(1))  # two objects; the top is object 1
    pad = len(data) - 32  # the trailer's padding: an array of one, holding object 1
    data[pad : pad + 2] = b"\xa1\x01"
    table = int.from_bytes(data[-8:], "big")
    data[table + 4 : table + 8] = pad.to_bytes(4, "big")  # object 1 is that array
    with pytest.raises(ProfileError, match="same array or dictionary twice"):
        loads(bytes(data), source="trailer.plist")


def test_binary_plist_over_the_value_limit_is_refused_before_it_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b = BPlist(ref_size=1)
    one = b.string("x")
    data = b.dump(b.array([one] * 50))
    monkeypatch.setattr(render, "MAX_PLIST_VALUES", 40)
    counter = CountingParser(monkeypatch)
    with pytest.raises(ProfileError, match="plist holds more than 40 values"):
        loads(data, source="many.plist")
    assert counter.built == 0
    monkeypatch.setattr(render, "MAX_PLIST_VALUES", 60)
    assert len(loads(data).value) == 50


def test_xml_plist_over_the_value_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = plistlib.dumps({"a": [True] * 100})
    monkeypatch.setattr(render, "MAX_PLIST_VALUES", 50)
    with pytest.raises(ProfileError, match=r"x\.plist: plist holds more than 50 values"):
        loads(data, source="x.plist")
    assert MAX_PLIST_VALUES == 500_000


# -- plists that used to raise a traceback ----------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        (lambda b: b.integer(5), "int"),
        (lambda b: b.add(b"\x43abc"), "bytes"),
        (lambda b: b.add(b"\x09"), "bool"),
    ],
    ids=["int", "data", "bool"],
)
def test_binary_plist_with_a_non_string_key_is_refused(
    tmp_path: Path, run_cli: RunCLI, key: Callable[[BPlist], int], kind: str
) -> None:
    b = BPlist()
    path = tmp_path / "key.mobileconfig"
    path.write_bytes(b.dump(b.profile_holding(b.dict({key(b): b.string("v")}))))
    for result in profile_commands(run_cli, path):  # was: AttributeError 'int' ... 'lower'
        refused(result, path, f"dictionary key that is not a string ({kind})")


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (b"\x00", "holds a null"),
        (b"\x80\x07", "holds a UID"),
        (b"\x1f" + b"\x01" * (1 << 15), "plist integer of 262137 bits"),
    ],
    ids=["null", "uid", "32-kb-integer"],
)
def test_binary_plist_values_no_profile_holds_are_refused(
    tmp_path: Path, run_cli: RunCLI, obj: bytes, message: str
) -> None:
    b = BPlist()
    path = tmp_path / "odd.mobileconfig"
    path.write_bytes(b.dump(b.profile_holding(b.add(obj))))
    for result in profile_commands(run_cli, path):
        refused(result, path, message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9" * 5000, "<integer> of 5000 characters"),
        ("-" + "1" * 4400, "<integer> of 4401 characters"),
        ("0x" + "f" * 100_000, "<integer> of 100002 characters"),
        ("18446744073709551616", "does not fit in 64 bits"),
    ],
    ids=["5000-digits", "negative-4401-digits", "100000-hex-digits", "2**64"],
)
def test_xml_plist_huge_integers_are_refused(
    tmp_path: Path, run_cli: RunCLI, text: str, message: str
) -> None:
    body = plistlib.dumps(
        {
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadIdentifier": "com.example.int",
            "PayloadUUID": "u",
            "PayloadContent": [],
            "Big": 123456789,
        }
    ).replace(b"123456789", text.encode())
    path = tmp_path / "int.mobileconfig"
    path.write_bytes(body)
    for result in profile_commands(run_cli, path):
        refused(result, path, message)


def test_xml_plist_64_bit_integers_still_read() -> None:
    value = {"a": [-(1 << 63), (1 << 64) - 1, 0x7F]}
    assert loads(plistlib.dumps(value)).value == value


def _profile(content: object, **extra: object) -> dict[str, object]:
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.content",
        "PayloadUUID": "u",
        "PayloadContent": content,
        **extra,
    }


@pytest.mark.parametrize("content", [["a"], [{}], [1], [[]], "a"], ids=repr)
def test_payload_content_that_holds_no_payloads_is_refused(
    tmp_path: Path, run_cli: RunCLI, content: object
) -> None:
    path = tmp_path / "content.mobileconfig"
    path.write_bytes(plistlib.dumps(_profile(content)))
    for result in profile_commands(run_cli, path):
        refused(result, path, "not a valid profile")


@pytest.fixture(scope="module")
def device(rsa_pki: TestPKI) -> Issued:
    return rsa_pki.intermediate.issue("Reading Device", ca=False, key_kind="rsa2048")


@pytest.mark.parametrize("items", [["a"], [{}], [{"PayloadType": 3}]], ids=repr)
def test_decrypted_payload_content_that_holds_no_payloads_is_a_note(
    device: Issued, items: list[object]
) -> None:
    profile = _profile([], IsEncrypted=True)
    profile["EncryptedPayloadContent"] = cms.encrypt_payload_content(
        dumps_array(items), Certificate(device.cert)
    )
    del profile["PayloadContent"]
    loaded = read_profile(plistlib.dumps(profile), source="enc.mobileconfig")
    key_holder = cms.Signer(Certificate(device.cert), device.key, source="device")
    out = inspect_profile(loaded, at=NOW, decrypt_with=key_holder)
    assert any("decrypted payloads are not valid" in n for n in out["notes"]), out["notes"]


# -- PKCS#12 with absurd iteration counts ----------------------------------------------


def _p12(owner: Issued, password: bytes) -> bytes:
    algorithm = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password)
    )
    return pkcs12.serialize_key_and_certificates(b"owner", owner.key, owner.cert, None, algorithm)


def _with_mac_iterations(data: bytes, count: int) -> bytes:
    pfx = asn1_pkcs12.Pfx.load(data)
    mac = pfx["mac_data"]
    pfx["mac_data"] = asn1_pkcs12.MacData(
        {"mac": mac["mac"], "mac_salt": mac["mac_salt"], "iterations": count}
    )
    return bytes(pfx.dump(force=True))


def _with_bag_iterations(data: bytes, count: int) -> bytes:
    """The same file with the key bag's PBKDF2 iteration count set to ``count``."""
    pfx = asn1_pkcs12.Pfx.load(data)
    safes = asn1_pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native)
    for ci in safes:
        if ci["content_type"].native != "data":
            continue
        bags = asn1_pkcs12.SafeContents.load(ci["content"].native)
        for bag in bags:
            if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                alg = bag["bag_value"]["encryption_algorithm"]
                kdf = alg["parameters"]["key_derivation_func"]["parameters"]
                kdf["iteration_count"] = count
        ci["content"] = asn1_cms.ContentInfo(
            {"content_type": "data", "content": bags.dump(force=True)}
        )["content"]
    pfx["auth_safe"] = asn1_cms.ContentInfo(
        {"content_type": "data", "content": safes.dump(force=True)}
    )
    return bytes(pfx.dump(force=True))


def test_pkcs12_with_2_billion_mac_iterations_is_refused_by_the_library(pki: TestPKI) -> None:
    owner = pki.intermediate.issue("Iter Owner", ca=False)
    good = _p12(owner, b"pw")
    assert load_pkcs12(good, b"pw", name="ok", source="ok.p12").certificate.der == owner.der
    bad = _with_mac_iterations(good, 2_000_000_000)
    with pytest.raises(IdentityError, match=r"MAC asks for 2,000,000,000 iterations, over the"):
        load_pkcs12(bad, b"pw", name="alice", source="alice.p12")
    with pytest.raises(IdentityError, match=r"bad\.p12: its MAC asks for 2,000,000,000"):
        cms.Signer.from_pkcs12(bad, b"pw", source="bad.p12")


def test_pkcs12_with_2_billion_key_bag_iterations_is_refused(pki: TestPKI) -> None:
    owner = pki.intermediate.issue("Iter Bag Owner", ca=False)
    bad = _with_bag_iterations(_p12(owner, b"pw"), 2_000_000_000)
    with pytest.raises(IdentityError, match="key encryption asks for 2,000,000,000 iterations"):
        load_pkcs12(bad, b"pw", name="alice", source="alice.p12")


def test_pkcs12_iteration_limit_is_inclusive(pki: TestPKI) -> None:
    # At the limit the file is opened (its MAC no longer matches: an honest refusal after
    # the derivation, which the limit keeps to a fraction of a second).
    owner = pki.intermediate.issue("Iter Edge Owner", ca=False)
    at_limit = _with_mac_iterations(_p12(owner, b"pw"), MAX_PKCS12_ITERATIONS)
    with pytest.raises(IdentityError) as caught:
        load_pkcs12(at_limit, b"pw", name="edge", source="edge.p12")
    assert "iterations" not in str(caught.value)


def test_pkcs12_with_2_billion_iterations_on_the_command_line(
    tmp_path: Path, run_cli: RunCLI, pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = pki.intermediate.issue("Iter CLI Owner", ca=False)
    p12 = tmp_path / "slow.p12"
    p12.write_bytes(_with_mac_iterations(_p12(owner, b"pw"), 2_000_000_000))
    monkeypatch.setenv("P12_PW", "pw")
    profile = tmp_path / "p.mobileconfig"
    profile.write_bytes(plistlib.dumps(_profile([])))
    out = tmp_path / "signed.mobileconfig"
    result = run_cli(
        "sign", profile, "--sign-with", p12, "--sign-password-env", "P12_PW", "-o", out
    )
    refused(result, p12, "2,000,000,000 iterations")
    assert not out.exists()
    result = run_cli("inspect", profile, "--decrypt-with", p12, "--decrypt-password-env", "P12_PW")
    refused(result, p12, "2,000,000,000 iterations")
    spec = tmp_path / "profile.yaml"
    spec.write_text(
        "identifier: com.example.iter\nname: Iter\n"
        "identities:\n  alice:\n    pkcs12: slow.p12\n    password: {env: P12_PW}\n"
    )
    refused(run_cli("build", spec, "-o", out), spec, "2,000,000,000 iterations")
    assert not out.exists()


# -- a PSS signature with an absurd salt length -----------------------------------------


def _pss_signed(profile: bytes, signer: Issued, salt: int, real_salt: int = 32) -> bytes:
    """``profile`` signed by ``signer`` (RSA) with RSASSA-PSS (SHA-256, MGF1 SHA-256) made
    with a ``real_salt`` byte salt, whose parameters then claim ``salt``."""
    from cryptography.hazmat.primitives.asymmetric import padding

    chain = [Certificate(signer.cert)]
    info = asn1_cms.ContentInfo.load(
        cms.sign(profile, cms.Signer(chain[0], signer.key, source="rsa signer"))
    )
    si = info["content"]["signer_infos"][0]
    attrs = si["signed_attrs"].dump(force=True)
    to_sign = b"\x31" + attrs[1:]  # the signed attributes, re-tagged as a SET
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=real_salt)
    si["signature"] = signer.key.sign(to_sign, pss, hashes.SHA256())  # type: ignore[union-attr, call-arg]
    sha256 = {"algorithm": "sha256"}
    params = asn1_algos.RSASSAPSSParams(
        {
            "hash_algorithm": sha256,
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": sha256},
            "salt_length": salt,
        }
    )
    si["signature_algorithm"] = asn1_algos.SignedDigestAlgorithm(
        {"algorithm": "rsassa_pss", "parameters": params}
    )
    return bytes(info.dump(force=True))


@pytest.mark.parametrize("salt", [2**64, 2**64 + 1, -1, 1 << 200], ids=str)
def test_pss_signature_with_an_absurd_salt_length_is_invalid_not_a_crash(
    tmp_path: Path, run_cli: RunCLI, device: Issued, salt: int
) -> None:
    profile = plistlib.dumps(_profile([]))
    sound = cms.verify(cms.unwrap(_pss_signed(profile, device, 32)), at=NOW)
    assert sound.valid and sound.signature_algorithm == "RSASSA-PSS", sound.reason
    data = _pss_signed(profile, device, salt)
    result = cms.verify(cms.unwrap(data, source="pss.mobileconfig"), at=NOW)  # was OverflowError
    assert result.status == "invalid" and "salt length" in result.reason, result.reason
    path = tmp_path / "pss.mobileconfig"
    path.write_bytes(data)
    for command in ("verify", "inspect"):
        outcome = run_cli(command, path, "--at", AT)
        assert outcome.code == 1, outcome
        assert "Traceback" not in outcome.err and "salt length" in outcome.out + outcome.err


# -- a PEM bundle of 15,000 certificates ------------------------------------------------


class ScanCounter(bytes):
    """Bytes that count how many bytes ``find`` and ``count`` examine: the PEM reader's
    work, measured without a clock."""

    scanned = 0

    def find(self, sub: object, start: object = None, end: object = None) -> int:  # type: ignore[override]
        begin = 0 if start is None else int(start)  # type: ignore[call-overload]
        found = super().find(sub, begin)  # type: ignore[arg-type]
        ScanCounter.scanned += (found if found != -1 else len(self)) - begin
        return found

    def count(self, sub: object, start: object = None, end: object = None) -> int:  # type: ignore[override]
        begin = 0 if start is None else int(start)  # type: ignore[call-overload]
        stop = len(self) if end is None else int(end)  # type: ignore[call-overload]
        ScanCounter.scanned += stop - begin
        return super().count(sub, begin, stop)  # type: ignore[arg-type]


def test_pem_bundle_of_15000_certificates_loads_in_linear_work(
    pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobileconfig.pki import certs as certs_module

    parsed = 0
    original = certs_module._parse_der_certificate

    def counted(der: bytes, source: str, origin: object) -> Certificate:
        nonlocal parsed
        parsed += 1
        return original(der, source, origin)  # type: ignore[arg-type]

    monkeypatch.setattr(certs_module, "_parse_der_certificate", counted)
    one = pki.leaf.pem
    data = ScanCounter(b"# a comment line\n" + one * 15_000)
    ScanCounter.scanned = 0
    loaded = certs_module.load_certificates(data, source="bundle.pem")
    assert len(loaded) == 15_000 and parsed == 15_000
    # Line numbers counted on, not from the top for each block (that was quadratic):
    assert ScanCounter.scanned <= 3 * len(data), ScanCounter.scanned
    lines_per_block = one.count(b"\n")
    assert loaded[-1].origin is not None
    assert loaded[-1].origin.line == 2 + 14_999 * lines_per_block


@pytest.mark.parametrize(
    "data",
    [
        b"-----BEGIN CERTIFICATE-----\nAAAA\n" * 200_000,
        b"-----BEGIN PRIVATE KEY-----\n" * 200_000 + b"-----BEGIN CERTIFICATE-----\n",
        b"".join(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATEX-----\n" for _ in range(1000)),
    ],
    ids=["begin-without-end", "other-labels", "mismatched-end"],
)
def test_pem_text_without_end_lines_is_scanned_once(data: bytes) -> None:
    from mobileconfig.errors import CertificateError
    from mobileconfig.pki.certs import load_certificates

    counted = ScanCounter(data)
    ScanCounter.scanned = 0
    with pytest.raises(CertificateError, match=r"bad\.pem"):
        load_certificates(counted, source="bad.pem")
    assert ScanCounter.scanned <= 3 * len(data), ScanCounter.scanned


def test_pem_bundle_over_the_certificate_limit_is_refused(
    pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobileconfig.errors import CertificateError
    from mobileconfig.pki import certs as certs_module

    monkeypatch.setattr(certs_module, "MAX_CERTIFICATES_PER_FILE", 5)
    assert len(certs_module.load_certificates(pki.leaf.pem * 5)) == 5
    with pytest.raises(CertificateError, match=r"big\.pem:.*holds more than 5 certificates"):
        certs_module.load_certificates(pki.leaf.pem * 6, source="big.pem")
    assert certs_module.MAX_CERTIFICATES_PER_FILE == 5


# -- inputs that are not regular files -------------------------------------------------


@pytest.fixture
def spec_dir(tmp_path: Path, pki: TestPKI) -> Path:
    pki.root.write(tmp_path / "root.pem")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to("loop")
    return tmp_path


SPEC = "identifier: com.example.reading\nname: Reading\ncertificates: [root.pem]\n"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("fifo", "is a FIFO (named pipe), not a regular file"),
        ("/dev/zero", "is a device, not a regular file"),
        ("loop", "Too many levels of symbolic links"),
    ],
    ids=["fifo", "dev-zero", "symlink-loop"],
)
def test_identity_key_and_secret_files_that_are_not_regular_files_are_refused(
    spec_dir: Path, run_cli: RunCLI, target: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Opening the FIFO for reading used to wait for a writer for ever; /dev/zero used to be
    # read until memory ran out. Each is refused before it is read.
    if target == "/dev/zero" and not Path(target).exists():
        pytest.skip("no /dev/zero")
    monkeypatch.setenv("PW", "secret")
    out = spec_dir / "o.mobileconfig"
    identity_specs = {
        "pkcs12": f"    pkcs12: {target}\n    password: {{env: PW}}\n",
        "key": f"    certificate: root.pem\n    key: {target}\n    password: {{env: PW}}\n",
        "secret": f"    pkcs12: root.pem\n    password: {{file: {target}}}\n",
    }
    for kind, body in identity_specs.items():
        spec = spec_dir / f"{kind}.yaml"
        spec.write_text(SPEC + "identities:\n  alice:\n" + body)
        refused(run_cli("build", spec, "-o", out), spec, target, message)
        assert not out.exists()
    cert_spec = spec_dir / "cert.yaml"
    cert_spec.write_text(SPEC.replace("[root.pem]", f"[root.pem, {target}]"))
    refused(run_cli("build", cert_spec, "-o", out), cert_spec, message)
    path = spec_dir / target  # target itself when it is absolute
    for command in ("inspect", "validate", "build"):
        refused(run_cli(command, path), path, message)
    profile = spec_dir / "p.mobileconfig"
    profile.write_bytes(plistlib.dumps(_profile([])))
    refused(run_cli("sign", profile, "--sign-with", path, "-o", out), path, message)
    assert not out.exists()


def test_fifo_vars_and_inventory_are_refused(spec_dir: Path, run_cli: RunCLI) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC)
    fifo = spec_dir / "fifo"
    refused(run_cli("build", spec, "--vars", fifo), fifo, "variables file is a FIFO")
    refused(
        run_cli("build", spec, "--each", fifo, "--out-dir", spec_dir / "o"),
        fifo,
        "inventory is a FIFO",
    )


def test_read_limited_reads_a_file_that_grows_no_further_than_its_limit(tmp_path: Path) -> None:
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.files import read_limited

    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_limited(path, 10, error=MobileconfigError) == b"x" * 10
    with pytest.raises(MobileconfigError, match="is 10 bytes, over the 9 byte limit"):
        read_limited(path, 9, error=MobileconfigError)
    with pytest.raises(MobileconfigError, match="not found"):
        read_limited(tmp_path / "none", 9, error=MobileconfigError)
    with pytest.raises(MobileconfigError, match="is a folder"):
        read_limited(tmp_path, 9, error=MobileconfigError)


def test_glob_of_the_whole_disk_is_bounded(spec_dir: Path, run_cli: RunCLI) -> None:
    from mobileconfig.files import MAX_GLOB_ENTRIES

    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC.replace("[root.pem]", "['/**']"))
    refused(run_cli("build", spec), spec, f"looks at more than {MAX_GLOB_ENTRIES} files")


def test_glob_through_symbolic_link_loops_ends(
    spec_dir: Path, run_cli: RunCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two links to the folder itself: glob.glob('**') used to walk a/b/a/b/... (2**40 paths)
    certs = spec_dir / "certs"
    certs.mkdir()
    (spec_dir / "root.pem").rename(certs / "root.pem")
    (certs / "a").symlink_to(".")
    (certs / "b").symlink_to(".")
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC.replace("[root.pem]", "['certs/**/*.pem']"))
    looked = []
    from mobileconfig import files

    original = os.scandir

    def counting(path: object) -> object:
        looked.append(path)
        return original(path)  # type: ignore[arg-type]

    monkeypatch.setattr(files.os, "scandir", counting)
    out = spec_dir / "o.mobileconfig"
    result = run_cli("build", spec, "-o", out, "--at", AT)
    assert result.code == 0, result
    assert len(read_profile(out.read_bytes()).profile.payload_content) == 1
    assert len(looked) <= 4  # certs/ (twice: ** and *.pem); the links are not followed


def test_glob_matches_what_glob_matches(tmp_path: Path) -> None:
    import glob

    from mobileconfig.files import bounded_glob

    for name in ("a.pem", ".h.pem", "c/b.pem", "c/d/e.pem", "c/.x/f.pem", "ab/x.cer"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    for pattern in ("*.pem", "**/*.pem", "c/**", "a?/*.cer", "c/*", ".*.pem", "nope/*"):
        full = str(tmp_path / pattern)
        assert bounded_glob(full) == sorted(Path(p) for p in glob.glob(full, recursive=True))


# -- path arguments no file can have ----------------------------------------------------


LONG = "n" * 300  # longer than NAME_MAX (255) on every common file system


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["inspect", "bad\x00name"], "NUL byte"),
        (["validate", "bad\x00name"], "NUL byte"),
        (["build", "bad\x00.yaml"], "NUL byte"),
        (["inspect", "~nosuchuser/x.mobileconfig"], "not found"),
        (["build", "~nosuchuser/profile.yaml"], "not found"),
        (["inspect", LONG], "File name too long"),
        (["validate", LONG], "File name too long"),
        (["build", LONG], "File name too long"),
        (["verify", LONG], "File name too long"),
        (["unsign", LONG], "File name too long"),
    ],
    ids=lambda v: str(v)[:30] if isinstance(v, list) else v,
)
def test_path_arguments_no_file_can_have_are_one_line_errors(
    tmp_path: Path, run_cli: RunCLI, monkeypatch: pytest.MonkeyPatch, argv: list[str], needle: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(*argv)
    assert result.code == 2, result
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result
    assert needle in result.err, result


@pytest.mark.parametrize(
    "out",
    ["bad\x00.mobileconfig", LONG, "notes.txt/o.mobileconfig"],
    ids=["nul", "name-max", "under-a-file"],
)
def test_output_paths_no_file_can_have_are_one_line_errors(
    spec_dir: Path, run_cli: RunCLI, monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    monkeypatch.chdir(spec_dir)
    (spec_dir / "notes.txt").write_text("a regular file\n")
    (spec_dir / "profile.yaml").write_text(SPEC)
    result = run_cli("build", "profile.yaml", "-o", out, "--at", AT)
    assert result.code == 2 and "Traceback" not in result.err, result
    assert len(result.err.strip().splitlines()) == 1, result
    assert (spec_dir / "notes.txt").read_text() == "a regular file\n"


@pytest.mark.parametrize("where", ["under-a-file", "in-sys", "nul", "name-max"])
def test_out_dir_that_cannot_be_made_is_a_one_line_error(
    spec_dir: Path, run_cli: RunCLI, where: str
) -> None:
    (spec_dir / "notes.txt").write_text("a regular file\n")
    out_dir = {
        "under-a-file": str(spec_dir / "notes.txt" / "profiles"),
        "in-sys": "/sys/mobileconfig-profiles",  # refuses new entries even to root
        "nul": str(spec_dir / "a\x00b"),
        "name-max": str(spec_dir / LONG),
    }[where]
    if where == "in-sys" and not Path("/sys/kernel").is_dir():
        pytest.skip("no sysfs here")
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC)
    inventory = spec_dir / "users.csv"
    inventory.write_text("user\nalice\n")
    result = run_cli(
        "build", spec, "--each", inventory, "--out-dir", out_dir, "--name", "{{ user }}.mc"
    )
    assert result.code == 2 and "Traceback" not in result.err, result
    assert "cannot create the --out-dir folder" in result.err, result
    assert (spec_dir / "notes.txt").read_text() == "a regular file\n"


# -- inventories and passwords ----------------------------------------------------------


def test_inventory_cells_of_5000_digits_or_with_nul_fail_their_row_only(
    spec_dir: Path, run_cli: RunCLI
) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(
        "identifier: 'com.example.{{ user }}'\nname: 'P {{ n }}'\ncertificates: [root.pem]\n"
        "removal: {password: '{{ n }}'}\n"
    )
    big = "9" * 5000
    inventory = spec_dir / "users.csv"
    inventory.write_text(f"user,n\nalice,1\nbob,{big}\nca\x00rol,3\ndan,{big}x\n")
    out = spec_dir / "out"
    result = run_cli(
        "build", spec, "--each", inventory, "--out-dir", out, "--name", "{{ user }}.mc",
        "--at", AT,
    )  # fmt: skip
    assert result.code == 1 and "Traceback" not in result.err, result
    assert "row 3" in result.err and "NUL byte" in result.err, result
    assert (out / "alice.mc").exists() and (out / "bob.mc").exists()
    assert (out / "dan.mc").exists()


def test_json_inventory_with_a_5000_digit_number_is_refused(
    spec_dir: Path, run_cli: RunCLI
) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC)
    inventory = spec_dir / "users.json"
    inventory.write_text('[{"user": "a", "n": %s}]' % ("9" * 5000))
    result = run_cli("build", spec, "--each", inventory, "--out-dir", spec_dir / "o")
    refused(result, inventory, "number too long")
    inventory.write_text("[" * 100_000 + "]" * 100_000)
    refused(run_cli("build", spec, "--each", inventory, "--out-dir", spec_dir / "o"), inventory)


def test_password_variable_holding_non_utf8_bytes_is_refused(spec_dir: Path, pki: TestPKI) -> None:
    import subprocess

    owner = pki.intermediate.issue("Env Owner", ca=False)
    (spec_dir / "alice.p12").write_bytes(_p12(owner, b"pw"))
    spec = spec_dir / "profile.yaml"
    spec.write_text(
        SPEC + "identities:\n  alice:\n    pkcs12: alice.p12\n    password: {env: P12_PW}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "P12_PW"}
    env_bytes = {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
    env_bytes[b"P12_PW"] = b"caf\xe9"  # Latin-1, not UTF-8: UnicodeEncodeError before
    proc = subprocess.run(
        [sys.executable, "-m", "mobileconfig", "build", str(spec), "-o", "-"],
        env=env_bytes,  # type: ignore[arg-type]
        capture_output=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert "environment variable P12_PW is not UTF-8 text" in err
    assert b"caf" not in proc.stderr


# -- templates that would run for ever or fill the memory -------------------------------

HOSTILE_TEMPLATES = {
    "str-times-10**10": ('{{ "a" * 10**10 }}', "produces more than"),
    "recursive-macro": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "nests calls"),
    "fan-out-macro": (
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(25) }}",
        "loop turns and calls",
    ),
    "range-10**9": ("{% for i in range(10**9) %}{% endfor %}", "range of 1000000000"),
    "nested-loops": (
        "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
        "loop turns and calls",
    ),
    "lipsum-10**6": ("{{ lipsum(10**6) }}", "lipsum() takes at most"),
    "doubling-concat": (
        '{% set ns = namespace(s="ab") %}{% for i in range(60) %}'
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "produces more than",
    ),
    "squaring": (
        "{% set ns = namespace(x=3) %}{% for i in range(60) %}"
        "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}",
        "more than 4096 bits",
    ),
    "power": ("{{ 2 ** 100000 }}", "more than 4096 bits"),
    "center": ('{{ "a".center(10**10) }}', "width of 10000000000"),
    "center-filter": ('{{ "a"|center(10**10) }}', "width of 10000000000"),
    "format-width": ('{{ "{:>1000000000}".format(1) }}', "format spec"),
    "printf-width": ('{{ "%*d" % (1000000000, 1) }}', "% format"),
    "replace": ('{{ ("a" * 1000)|replace("a", "b" * 100000) }}', "produces more than"),
    "join": ('{{ ("a" * 1000).join(["b"] * 50000) }}', "produces more than"),
    "batch-fill": ('{{ [1]|batch(10**9, "x")|list }}', "batch of 1000000000"),
    "loop-literal": (
        "{% for i in range(100000) %}{% set x %}" + "L" * 100 + "{% endset %}{% endfor %}",
        "produces more than",
    ),
}


@pytest.mark.parametrize(
    ("source", "message"), list(HOSTILE_TEMPLATES.values()), ids=list(HOSTILE_TEMPLATES)
)
def test_hostile_template_stops_at_a_bound(source: str, message: str) -> None:
    from mobileconfig.spec.template import TemplateLimit, bounded_render, compile_template

    with pytest.raises(TemplateLimit, match=re.escape(message)):
        bounded_render(compile_template(source), {})


def test_template_bounds_count_work_not_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from mobileconfig.spec import template

    # The same template stops at the same step on any machine: the limit is a count.
    monkeypatch.setattr(template, "MAX_TEMPLATE_STEPS", 50)
    loop = template.compile_template("{% for i in items %}{{ i }}{% endfor %}")
    assert template.bounded_render(loop, {"items": list(range(40))}).endswith("39")
    with pytest.raises(template.TemplateLimit, match="more than 50 loop turns"):
        template.bounded_render(loop, {"items": list(range(60))})


def test_ordinary_templates_still_render() -> None:
    from mobileconfig.spec.template import bounded_render, compile_template

    source = (
        "{{ user|upper ~ '!' }} {% for i in range(3) %}{{ loop.index }}{% endfor %} "
        "{{ '%05d'|format(42) }} {{ '{:>4}'.format('x') }} {{ 'a,b'.split(',')|join('+') }} "
        "{{ email|replace('@', ' at ') }} {{ 2 ** 64 }} {{ 'x' * 3 }}"
    )
    out = bounded_render(compile_template(source), {"user": "alice", "email": "a@b.c"})
    assert out == "ALICE! 123 00042    x a+b a at b.c 18446744073709551616 xxx"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("'{{ \"a\" * 10**10 }}'", "template error: the template produces more than"),
        ("'{{ 1/0 }}'", "template error: ZeroDivisionError: division by zero"),
        ("'{{ nothing.attr }}'", "undefined variable in template: 'nothing'"),
        ("'{{ [] | random }}'", "template error: No random item"),
        ("'{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}'", "nests calls"),
    ],
    ids=["huge", "zero-division", "undefined-attribute", "random-of-empty", "recursion"],
)
def test_template_errors_in_a_spec_name_the_line(
    spec_dir: Path, run_cli: RunCLI, value: str, message: str
) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC + f"description: {value}\n")
    refused(run_cli("build", spec), f"{spec}:4", message)
    refused(run_cli("validate", spec), f"{spec}:4", message)


def test_batch_row_past_a_template_bound_fails_alone(spec_dir: Path, run_cli: RunCLI) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(
        "identifier: 'com.example.{{ user }}'\nname: Batch\ncertificates: [root.pem]\n"
        "description: \"{{ 'x' * (count|int) }}\"\n"
    )
    inventory = spec_dir / "users.csv"
    inventory.write_text("user,count\nalice,3\nbob,10000000000\ncarol,2\n")
    out = spec_dir / "out"
    argv = ["build", spec, "--each", inventory, "--out-dir", out, "--at", AT]
    result = run_cli(*argv, "--name", "{{ user }}.mobileconfig")
    assert result.code == 1 and "Traceback" not in result.err, result
    assert "row 2" in result.err and "produces more than" in result.err, result
    assert sorted(p.name for p in out.iterdir()) == ["alice.mobileconfig", "carol.mobileconfig"]

    # --name is bounded the same way, per row, and --fail-fast stops at the first failure.
    names = "{{ user }}{{ 'x' * (count|int) }}.mobileconfig"
    out2 = spec_dir / "out2"
    result = run_cli(*argv[:5], out2, "--at", AT, "--name", names)
    assert result.code == 1 and "row 2: --name: template error" in result.err, result
    assert len(list(out2.iterdir())) == 2
    out3 = spec_dir / "out3"
    result = run_cli(*argv[:5], out3, "--at", AT, "--name", names, "--fail-fast", "--jobs", "1")
    assert result.code == 1 and "row 2" in result.err, result
    assert list(out3.iterdir()) == []


def test_init_skips_fifos_named_like_certificates(spec_dir: Path, run_cli: RunCLI) -> None:
    os.mkfifo(spec_dir / "x.p12")
    os.mkfifo(spec_dir / "y.pem")
    out = spec_dir / "init.yaml"
    result = run_cli("init", spec_dir, "-o", out)  # read_bytes() on x.p12 waited for ever
    assert result.code == 0, result
    assert "x.p12: is a FIFO" in result.err + result.out, result
    assert "y.pem: file is a FIFO" in result.err + result.out, result
    assert "root.pem" in out.read_text()
