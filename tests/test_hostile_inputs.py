"""A catalogue of hostile inputs, one named test each: every one ends in a clear one-line
error naming the file (exit 2 from the command line, or the documented library error),
quickly, with nothing written; or, for odd but legal input, in a normal result.

The limits these tests hit are documented in docs/limits.md.
"""

from __future__ import annotations

import base64
import os
import plistlib
import struct
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from mobileconfig import cms
from mobileconfig.builder import Builder
from mobileconfig.errors import CertificateError, CMSError, ProfileError, SpecError
from mobileconfig.pki.certs import (
    MAX_CERTIFICATE_FILE,
    Certificate,
    load_certificate_file,
    load_certificates,
)
from mobileconfig.reader import read_profile
from mobileconfig.render import MAX_DEPTH, MAX_PLIST_BYTES, dumps, loads
from mobileconfig.spec.load import MAX_SPEC_BYTES, load_yaml

from conftest import CLIResult
from pki import NOW, TestPKI, issue

AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
RunCLI = Callable[..., CLIResult]
#: A refusal must come at once: well under this.
QUICK = 5.0


@contextmanager
def quick(limit: float = QUICK) -> Iterator[None]:
    start = time.monotonic()
    yield
    took = time.monotonic() - start
    assert took < limit, f"took {took:.1f} s"


def refused(result: CLIResult, path: Path | str, *needles: str) -> str:
    """Exit 2, one error line naming ``path`` and saying each of ``needles``, no traceback."""
    assert result.code == 2, result
    assert "Traceback" not in result.err + result.out, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result
    line = lines[0]
    assert line.startswith("mobileconfig: error: "), result
    assert str(path) in line, result
    for needle in needles:
        assert needle in line, result
    return line


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI("ec256", prefix="Hostile")


@pytest.fixture
def spec_dir(tmp_path: Path, pki: TestPKI) -> Path:
    pki.root.write(tmp_path / "root.pem")
    pki.intermediate.write(tmp_path / "inter.pem")
    return tmp_path


SPEC = "identifier: com.example.hostile\nname: Hostile\ncertificates: [root.pem, inter.pem]\n"


@pytest.fixture
def profile_xml(spec_dir: Path) -> bytes:
    spec = {
        "identifier": "com.example.hostile",
        "name": "Hostile",
        "certificates": ["root.pem", "inter.pem"],
    }
    return Builder(spec, base_dir=spec_dir).build(at=NOW)


@pytest.fixture
def signer(pki: TestPKI) -> cms.Signer:
    leaf = pki.intermediate.issue("Hostile Profile Signer", ca=False)
    chain = [Certificate(pki.intermediate.cert)]
    return cms.Signer(Certificate(leaf.cert), leaf.key, chain, source="test signer")


def profile_commands(run_cli: RunCLI, path: Path) -> list[CLIResult]:
    """``inspect`` and ``validate`` on one profile file."""
    return [run_cli("inspect", path, "--at", AT), run_cli("validate", path, "--at", AT)]


# -- XML ------------------------------------------------------------------------------

PLIST_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'
PROFILE_BODY = (
    b'<plist version="1.0"><dict><key>PayloadType</key><string>Configuration</string>'
    b"<key>PayloadVersion</key><integer>1</integer>"
    b"<key>PayloadIdentifier</key><string>com.example.x</string>"
    b"<key>PayloadUUID</key><string>%s</string><key>PayloadContent</key><array/>"
    b"</dict></plist>\n"
)


def test_xml_billion_laughs_is_refused(tmp_path: Path, run_cli: RunCLI) -> None:
    entities = [b'<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        refs = f"&lol{i - 1};".encode() * 10
        entities.append(b'<!ENTITY lol%d "%s">' % (i, refs))
    doctype = b"<!DOCTYPE plist [" + b"\n".join(entities) + b"]>\n"
    path = tmp_path / "laughs.mobileconfig"
    path.write_bytes(PLIST_HEAD + doctype + PROFILE_BODY % b"&lol9;")
    with quick():
        for result in profile_commands(run_cli, path):
            refused(result, path, "XML entity declarations are not allowed")


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE plist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE plist [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
        b'<!DOCTYPE plist [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>',
    ],
    ids=["general", "parameter", "network"],
)
def test_xml_external_entities_are_refused(tmp_path: Path, run_cli: RunCLI, doctype: bytes) -> None:
    path = tmp_path / "xxe.mobileconfig"
    path.write_bytes(PLIST_HEAD + doctype + b"\n" + PROFILE_BODY % b"&xxe;")
    for result in profile_commands(run_cli, path):
        line = refused(result, path, "entit")
        assert "root:" not in result.out + line


def test_xml_external_dtd_is_never_fetched(tmp_path: Path, run_cli: RunCLI) -> None:
    # An external subset is not an entity: it is simply not read (no file, no network).
    doctype = b'<!DOCTYPE plist SYSTEM "file:///etc/passwd">\n'
    path = tmp_path / "dtd.mobileconfig"
    path.write_bytes(PLIST_HEAD + doctype + PROFILE_BODY % b"u")
    result = run_cli("inspect", path, "--at", AT)
    assert result.code == 0, result
    assert "root:" not in result.out + result.err


def test_xml_plist_nested_10000_deep_is_refused(tmp_path: Path, run_cli: RunCLI) -> None:
    path = tmp_path / "deep.mobileconfig"
    path.write_bytes(PLIST_HEAD + b"<plist>" + b"<array>" * 10_000 + b"</array>" * 10_000)
    with quick():
        for result in profile_commands(run_cli, path):
            refused(result, path, f"nested deeper than {MAX_DEPTH} levels")


def test_xml_with_undeclared_encoding_is_refused(tmp_path: Path, run_cli: RunCLI) -> None:
    # Found by fuzzing: expat raised LookupError / ValueError for these.
    for encoding in (b"no-such-codec", b"UTF-16"):
        path = tmp_path / "encoding.mobileconfig"
        path.write_bytes(b'<?xml version="1.0" encoding="%s"?>' % encoding + PROFILE_BODY % b"u")
        refused(run_cli("inspect", path), path, "encoding")


# -- binary plists --------------------------------------------------------------------


class BPlist:
    """A small binary-plist writer: objects by hand, references as given, so cycles,
    sharing, depth and broken offsets can all be made."""

    def __init__(self, ref_size: int = 2) -> None:
        self.objects: list[bytes] = []
        self.ref_size = ref_size

    def _count(self, marker: int, n: int) -> bytes:
        if n < 15:
            return bytes([marker | n])
        return bytes([marker | 0x0F, 0x12]) + n.to_bytes(4, "big")

    def _refs(self, refs: list[int]) -> bytes:
        return b"".join(r.to_bytes(self.ref_size, "big") for r in refs)

    def add(self, encoded: bytes) -> int:
        self.objects.append(encoded)
        return len(self.objects) - 1

    def string(self, text: str) -> int:
        return self.add(self._count(0x50, len(text)) + text.encode("ascii"))

    def integer(self, value: int) -> int:
        return self.add(b"\x13" + value.to_bytes(8, "big"))

    def array(self, refs: list[int]) -> int:
        return self.add(self._count(0xA0, len(refs)) + self._refs(refs))

    def set_array(self, index: int, refs: list[int]) -> None:
        self.objects[index] = self._count(0xA0, len(refs)) + self._refs(refs)

    def dict(self, items: dict[int, int]) -> int:
        keys, values = list(items), list(items.values())
        return self.add(self._count(0xD0, len(keys)) + self._refs(keys) + self._refs(values))

    def profile(self, content: int) -> int:
        """A top-level profile dictionary whose PayloadContent is object ``content``."""
        pairs = {
            self.string("PayloadType"): self.string("Configuration"),
            self.string("PayloadVersion"): self.integer(1),
            self.string("PayloadIdentifier"): self.string("com.example.bin"),
            self.string("PayloadUUID"): self.string("u"),
            self.string("PayloadContent"): content,
        }
        return self.dict(pairs)

    def profile_holding(self, value: int) -> int:
        """A profile with one payload of an unmodelled type whose ``Data`` is ``value``:
        the reader keeps such a payload whole, so ``value`` reaches inspect's output."""
        payload = {
            self.string("PayloadType"): self.string("com.example.raw"),
            self.string("PayloadIdentifier"): self.string("com.example.raw.1"),
            self.string("PayloadUUID"): self.string("p"),
            self.string("PayloadVersion"): self.integer(1),
            self.string("Data"): value,
        }
        return self.profile(self.array([self.dict(payload)]))

    def dump(self, top: int) -> bytes:
        out = bytearray(b"bplist00")
        offsets = []
        for obj in self.objects:
            offsets.append(len(out))
            out += obj
        table = len(out)
        for off in offsets:
            out += off.to_bytes(4, "big")
        out += struct.pack(">6xBBQQQ", 4, self.ref_size, len(self.objects), top, table)
        return bytes(out)


def test_binary_plist_writer_makes_readable_profiles() -> None:
    b = BPlist()
    loaded = read_profile(b.dump(b.profile_holding(b.array([b.string("x"), b.integer(7)]))))
    assert loaded.format == "binary"
    assert loaded.profile.payload_content[0].model_extra["Data"] == ["x", 7]


def test_binary_plist_reference_cycle_is_refused(tmp_path: Path, run_cli: RunCLI) -> None:
    b = BPlist()
    content = b.array([])
    b.set_array(content, [content])  # an array that holds itself
    path = tmp_path / "cycle.mobileconfig"
    path.write_bytes(b.dump(b.profile_holding(content)))  # was: json "Circular reference"
    with quick():
        for result in profile_commands(run_cli, path):
            refused(result, path, "reference cycle or a shared container")


def test_binary_plist_dict_cycle_through_the_top_is_refused() -> None:
    b = BPlist()
    key = b.string("self")
    top = b.dict({key: 1})  # object 1 is the dictionary itself
    with pytest.raises(ProfileError, match="same array or dictionary twice"):
        loads(b.dump(top), source="cycle.plist")


def test_binary_plist_shared_container_bomb_is_refused(tmp_path: Path, run_cli: RunCLI) -> None:
    # Each level holds the next one twice: 60 levels unfold to 2**60 elements.
    b = BPlist()
    below = b.array([b.string("lol")])
    for _ in range(60):
        below = b.array([below, below])
    path = tmp_path / "laughs.mobileconfig"
    path.write_bytes(b.dump(b.profile_holding(below)))  # was: 2**22 levels took 20 s
    with quick():
        for result in profile_commands(run_cli, path):
            refused(result, path, "shared container")


def test_binary_plist_nested_10000_deep_is_refused(tmp_path: Path, run_cli: RunCLI) -> None:
    b = BPlist()
    below = b.array([])
    for _ in range(10_000):
        below = b.array([below])
    path = tmp_path / "deep.mobileconfig"
    path.write_bytes(b.dump(b.profile_holding(below)))
    with quick():
        for result in profile_commands(run_cli, path):
            refused(result, path, f"nested deeper than {MAX_DEPTH} levels")


def test_binary_plist_deep_with_a_raised_recursion_limit_is_refused() -> None:
    # The depth walk is iterative: it does not lean on RecursionError, which a program
    # that raised the limit would not get before the C stack overflowed.
    b = BPlist()
    below = b.array([])
    for _ in range(5_000):
        below = b.array([below])
    data = b.dump(below)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        with pytest.raises(ProfileError, match="nested deeper"):
            loads(data, source="deep.plist")
    finally:
        sys.setrecursionlimit(old)


def _binary_profile(profile_xml: bytes) -> bytes:
    return dumps(loads(profile_xml).value, "binary")


@pytest.mark.parametrize(
    ("name", "patch"),
    [
        ("object offset past the end", lambda d: _set_offset(d, 0, 0xFFFFFFF0)),
        ("last object offset past the end", lambda d: _set_offset(d, -1, len(d) + 100)),
        ("offset table past the end", lambda d: _trailer(d, table=len(d) * 4)),
        ("top object past the count", lambda d: _trailer(d, top=2**40)),
        ("object count of 2**63", lambda d: _trailer(d, count=2**63)),
        ("reference size 0", lambda d: _trailer(d, ref_size=0)),
        ("offsets into the trailer", lambda d: _set_offset(d, 0, len(d) - 10)),
    ],
)
def test_binary_plist_with_broken_offsets_is_refused(
    tmp_path: Path, run_cli: RunCLI, profile_xml: bytes, name: str, patch: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / "offsets.mobileconfig"
    path.write_bytes(patch(_binary_profile(profile_xml)))
    with quick():
        line = refused(run_cli("inspect", path, "--at", AT), path)
    assert "binary plist" in line or "not a" in line, name


def _fields(data: bytes) -> dict[str, int]:
    names = ("offset_size", "ref_size", "count", "top", "table")
    return dict(zip(names, struct.unpack(">6xBBQQQ", data[-32:]), strict=True))


def _trailer(data: bytes, **changes: int) -> bytes:
    f = {**_fields(data), **changes}
    trailer = struct.pack(
        ">6xBBQQQ", f["offset_size"], f["ref_size"], f["count"], f["top"], f["table"]
    )
    return data[:-32] + trailer


def _set_offset(data: bytes, index: int, value: int) -> bytes:
    f = _fields(data)
    index %= f["count"]
    at = f["table"] + index * f["offset_size"]
    width = f["offset_size"]
    value &= (1 << (8 * width)) - 1
    return data[:at] + value.to_bytes(width, "big") + data[at + width :]


# -- sizes ----------------------------------------------------------------------------


def sparse(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def test_100_mb_profile_is_refused_unread(tmp_path: Path, run_cli: RunCLI) -> None:
    path = sparse(tmp_path / "huge.mobileconfig", 100 * 1024 * 1024)
    with quick():
        for result in profile_commands(run_cli, path):
            refused(result, path, f"over the {MAX_PLIST_BYTES} byte limit")


def test_100_mb_spec_is_refused_unread(tmp_path: Path, run_cli: RunCLI) -> None:
    path = sparse(tmp_path / "huge.yaml", 100 * 1024 * 1024)
    out = tmp_path / "out.mobileconfig"
    with quick():
        refused(run_cli("build", path, "-o", out), path, f"over the {MAX_SPEC_BYTES} byte limit")
        refused(run_cli("validate", path), path, "byte limit")
    assert not out.exists()


def test_100_mb_certificate_in_a_spec_is_refused(spec_dir: Path, run_cli: RunCLI) -> None:
    sparse(spec_dir / "huge.pem", 100 * 1024 * 1024)
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC.replace("inter.pem", "huge.pem"))
    with quick():
        line = refused(run_cli("build", spec, "-o", spec_dir / "o.mobileconfig"), spec)
    assert "huge.pem" in line and f"over the {MAX_CERTIFICATE_FILE} byte limit" in line


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_endless_devices_are_refused_unread(spec_dir: Path, run_cli: RunCLI) -> None:
    # /dev/zero reports a size of 0: a size check alone would read it until memory ran out.
    # Only regular files are read (docs/limits.md, "Input files"); see also
    # test_hostile_reading.py for FIFOs and symbolic link loops.
    zero = Path("/dev/zero")
    device = "is a device, not a regular file"
    with quick():
        for result in profile_commands(run_cli, zero):
            refused(result, zero, device)
        refused(run_cli("build", zero), zero, device)
        with pytest.raises(CertificateError, match=device):
            load_certificate_file(zero)
        spec = spec_dir / "profile.yaml"
        spec.write_text(SPEC.replace("inter.pem", "/dev/zero"))
        refused(run_cli("build", spec, "-o", spec_dir / "o.mobileconfig"), spec, device)


# -- YAML -----------------------------------------------------------------------------


def test_yaml_alias_bomb_is_refused(tmp_path: Path, run_cli: RunCLI) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    spec = tmp_path / "bomb.yaml"
    spec.write_text("\n".join(lines) + "\n")
    with quick():
        refused(run_cli("build", spec, "-o", tmp_path / "o.mobileconfig"), spec, "alias bomb")
        refused(run_cli("validate", spec), spec, "alias bomb")


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 10_000 + "]" * 10_000, "a: " + "[" * 100 + "]" * 100],
    ids=["10000-deep", "100-deep"],
)
def test_yaml_nested_deep_is_refused(tmp_path: Path, run_cli: RunCLI, text: str) -> None:
    # Found by these tests: 10,000 levels overflowed PyYAML's recursive composer.
    spec = tmp_path / "deep.yaml"
    spec.write_text(text + "\n")
    with quick():
        refused(run_cli("build", spec), spec, "nested deeper than 64 levels")


@pytest.mark.parametrize(
    ("text", "kind"),
    [("a: !!timestamp x", "timestamp"), ("a: !!int", "int"), ("a: !!bool maybe", "bool")],
)
def test_yaml_badly_tagged_scalars_are_refused(text: str, kind: str) -> None:
    # Found by fuzzing: PyYAML raised AttributeError, IndexError and KeyError for these.
    with pytest.raises(SpecError, match=f"fuzz.yaml:1: bad value: .* is not a valid {kind}"):
        load_yaml(text, file="fuzz.yaml")


def test_non_utf8_yaml_is_refused(spec_dir: Path, run_cli: RunCLI) -> None:
    spec = spec_dir / "latin1.yaml"
    spec.write_bytes(SPEC.encode() + b"description: caf\xe9\n")
    line = refused(run_cli("build", spec), spec, "spec is not UTF-8 text")
    assert f"{spec}:4:" in line and "save the file as UTF-8" in line
    spec.write_bytes(b"\xff\xfe" + SPEC.encode("utf-16-le"))  # UTF-16 with its BOM
    refused(run_cli("validate", spec), spec, "not UTF-8")


def test_bom_prefixed_yaml_builds(spec_dir: Path, run_cli: RunCLI) -> None:
    spec = spec_dir / "bom.yaml"
    spec.write_bytes(b"\xef\xbb\xbf" + SPEC.encode())
    out = spec_dir / "bom.mobileconfig"
    result = run_cli("build", spec, "-o", out, "--at", AT)
    assert result.code == 0, result
    assert read_profile(out.read_bytes()).profile.payload_identifier == "com.example.hostile"


# -- certificates ---------------------------------------------------------------------


ODD_NAMES = {
    "T61String": ("Caf\u00e9 T61 Root", _ASN1Type.T61String, "Caf\u00e9 T61 Root"),
    "BMPString": ("\u65e5\u672c BMP Root", _ASN1Type.BMPString, "\u65e5\u672c BMP Root"),
    "UniversalString": ("\U0001f512 Root", _ASN1Type.UniversalString, "\U0001f512 Root"),
    "UTF8 with NUL": ("Evil\x00Corp Root", _ASN1Type.UTF8String, "Evil\\x00Corp Root"),
    "UTF8 with ESC and LF": ("A\nB\x1b[31m Root", _ASN1Type.UTF8String, "A\\x0aB\\x1b[31m Root"),
}


@pytest.fixture
def odd_certificates(tmp_path: Path) -> Path:
    for label, (cn, kind, _shown) in ODD_NAMES.items():
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Odd", _type=kind),
                x509.NameAttribute(NameOID.COMMON_NAME, cn, _type=kind),
            ]
        )
        issue(label, subject=subject).write(tmp_path / f"{label.replace(' ', '-')}.pem")
    return tmp_path


def test_certificates_with_odd_string_encodings_load_and_display(
    odd_certificates: Path, run_cli: RunCLI
) -> None:
    shown = {}
    for path in odd_certificates.glob("*.pem"):
        (cert,) = load_certificate_file(path)
        shown[cert.display_name] = cert
        assert "\n" not in cert.subject_text and "\x1b" not in cert.subject_text
    assert set(shown) == {s for _cn, _kind, s in ODD_NAMES.values()}
    # Built into a profile (the names become PayloadDisplayNames), then inspected.
    spec = odd_certificates / "profile.yaml"
    spec.write_text("identifier: com.example.odd\nname: Odd\ncertificates: ['*.pem']\n")
    out = odd_certificates / "odd.mobileconfig"
    result = run_cli("build", spec, "-o", out, "--at", AT)
    assert result.code == 0, result
    result = run_cli("inspect", out, "--at", AT)
    assert result.code == 0, result
    for name in shown:
        assert name in result.out
    assert "\x1b" not in result.out and "\x00" not in result.out


def test_certificate_with_invalid_utf8_string_is_refused(tmp_path: Path, pki: TestPKI) -> None:
    marker = "Bad UTF8 Here"
    der = issue(marker).der
    bad = der.replace(marker.encode(), b"Bad \xff\xfe\xfd8 Here")
    assert bad != der and len(bad) == len(der)
    with pytest.raises(CertificateError, match=r"bad\.der: cannot parse certificate"):
        load_certificates(bad, source="bad.der")


def test_pem_block_with_garbage_inside_is_refused(spec_dir: Path, run_cli: RunCLI) -> None:
    (spec_dir / "garbage.pem").write_bytes(
        b"-----BEGIN CERTIFICATE-----\nthis is %%% not base64 at all ***\n"
        b"-----END CERTIFICATE-----\n"
    )
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC.replace("inter.pem", "garbage.pem"))
    line = refused(run_cli("build", spec, "-o", spec_dir / "o.mobileconfig"), spec)
    assert "garbage.pem:1" in line and "PEM block is not valid base64" in line


def test_pem_block_with_random_der_inside_is_refused() -> None:
    body = base64.encodebytes(b"\x30\x82\x01\x00" + os.urandom(64))
    pem = b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"
    with pytest.raises(CertificateError, match=r"x\.pem:1: cannot parse certificate"):
        load_certificates(pem, source="x.pem")


def test_certificate_path_traversal_names_the_file(spec_dir: Path, run_cli: RunCLI) -> None:
    # Policy (docs/limits.md): a spec is trusted like a Makefile; its paths may lead out of
    # its folder, relatively or absolutely, but what they name must be a certificate.
    if not Path("/etc/passwd").is_file():
        pytest.skip("no /etc/passwd here")
    target = os.path.relpath("/etc/passwd", spec_dir)
    assert target.startswith("../")
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC.replace("inter.pem", target))
    out = spec_dir / "o.mobileconfig"
    line = refused(run_cli("build", spec, "-o", out), spec, "passwd", "holds no certificate")
    assert f"{spec}:3:" in line
    assert "root:" not in line and not out.exists()


def test_private_key_named_as_a_certificate_is_refused(
    spec_dir: Path, run_cli: RunCLI, pki: TestPKI
) -> None:
    (spec_dir / "secret.pem").write_bytes(pki.root.key_pem)
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC.replace("inter.pem", "secret.pem"))
    line = refused(run_cli("build", spec), spec, "holds no certificate", "PRIVATE KEY")
    assert "MII" not in line  # nothing of the key itself


# -- CMS ------------------------------------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _rebuild(
    signed: bytes, *, certificates: bytes | None = None, encap: bytes | None = None
) -> bytes:
    """The SignedData of ``signed`` with its certificates field or encapContentInfo
    replaced by the given raw bytes (the signature no longer matters here)."""
    info = asn1_cms.ContentInfo.load(signed)
    sd = info["content"]
    parts = [sd["version"].dump(), sd["digest_algorithms"].dump()]
    parts.append(encap if encap is not None else sd["encap_content_info"].dump())
    if certificates is not None:
        parts.append(_tlv(0xA0, certificates))
    else:
        parts.append(sd["certificates"].dump())
    parts.append(sd["signer_infos"].dump())
    return _tlv(0x30, info["content_type"].dump() + _tlv(0xA0, _tlv(0x30, b"".join(parts))))


def test_cms_with_a_million_tiny_certificates_is_refused(
    tmp_path: Path, run_cli: RunCLI, profile_xml: bytes, signer: cms.Signer
) -> None:
    signed = cms.sign(profile_xml, signer)
    bomb = _rebuild(signed, certificates=b"\x30\x00" * 1_000_000)
    path = tmp_path / "million.mobileconfig"
    path.write_bytes(bomb)
    with quick(2.0):
        with pytest.raises(CMSError, match=f"more than {cms.MAX_CMS_CERTIFICATES} certificates"):
            cms.unwrap(bomb, source="million")
        for result in profile_commands(run_cli, path):
            refused(result, path, "certificates, over the limit")


def test_cms_with_many_real_certificates_is_bounded(
    profile_xml: bytes, signer: cms.Signer, pki: TestPKI
) -> None:
    signed = cms.sign(profile_xml, signer)
    one = pki.root.der
    at_limit = _rebuild(signed, certificates=one * cms.MAX_CMS_CERTIFICATES)
    with quick():
        assert len(cms.unwrap(at_limit).certificates) == cms.MAX_CMS_CERTIFICATES
    with pytest.raises(CMSError, match="over the limit"):
        cms.unwrap(_rebuild(signed, certificates=one * (cms.MAX_CMS_CERTIFICATES + 1)))


def test_ber_content_in_200000_chunks_is_refused(profile_xml: bytes, signer: cms.Signer) -> None:
    signed = cms.sign(profile_xml, signer)
    data_oid = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
    chunks = b"".join(b"\x04\x01" + bytes([c]) for c in (profile_xml * 100)[:200_000])
    encap = b"\x30\x80" + data_oid + b"\xa0\x80\x24\x80" + chunks + b"\x00\x00" * 3
    with quick(), pytest.raises(CMSError, match="chunks in the signed content"):
        cms.unwrap(_rebuild(signed, encap=encap), source="chunks")
    # A real streamed profile (a few chunks) still reads.
    few = b"".join(
        b"\x04" + _tlv(0x04, profile_xml[i : i + 1000])[1:]
        for i in range(0, len(profile_xml), 1000)
    )
    encap = b"\x30\x80" + data_oid + b"\xa0\x80\x24\x80" + few + b"\x00\x00" * 3
    assert cms.unwrap(_rebuild(signed, encap=encap)).content == profile_xml


def test_cms_over_the_size_limit_is_refused() -> None:
    with pytest.raises(CMSError, match="byte limit"):
        cms.unwrap(b"\x30" + bytes(cms.MAX_CMS_BYTES))


@pytest.mark.parametrize(
    ("oid", "message"),
    [
        # An eContentType asn1crypto does not know: the reader names it and refuses it.
        (b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x09", "1.2.840.113549.1.7.9, not data"),
        # One it knows (digestedData): refused while parsing, as not valid SignedData.
        (b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x05", "not a valid CMS SignedData"),
    ],
    ids=["unknown", "digestedData"],
)
def test_signed_profile_of_another_content_type_is_refused(
    tmp_path: Path,
    run_cli: RunCLI,
    profile_xml: bytes,
    signer: cms.Signer,
    oid: bytes,
    message: str,
) -> None:
    signed = cms.sign(profile_xml, signer)
    data_oid = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
    at = signed.index(data_oid)  # the first id-data is the eContentType
    path = tmp_path / "other-type.mobileconfig"
    path.write_bytes(signed[:at] + oid + signed[at + len(data_oid) :])
    for result in profile_commands(run_cli, path):
        refused(result, path, message)


def test_signed_content_that_is_not_a_plist_is_refused(
    tmp_path: Path, run_cli: RunCLI, signer: cms.Signer
) -> None:
    path = tmp_path / "text.mobileconfig"
    path.write_bytes(cms.sign(b"hello, I am not a profile\n", signer))
    for result in profile_commands(run_cli, path):
        refused(result, path, "(signed content): not a plist")


def test_signed_profile_inside_a_signed_profile_is_refused(
    tmp_path: Path, run_cli: RunCLI, profile_xml: bytes, signer: cms.Signer
) -> None:
    path = tmp_path / "twice.mobileconfig"
    path.write_bytes(cms.sign(cms.sign(profile_xml, signer), signer))
    refused(run_cli("inspect", path, "--at", AT), path, "signed content")


def test_signer_with_a_huge_issuer_name_is_refused(profile_xml: bytes, signer: cms.Signer) -> None:
    info = asn1_cms.ContentInfo.load(cms.sign(profile_xml, signer))
    si = info["content"]["signer_infos"][0]
    serial = si["sid"].chosen["serial_number"].native
    rdn = _tlv(0x31, _tlv(0x30, b"\x06\x03\x55\x04\x03" + _tlv(0x0C, b"x" * 100)))
    huge = asn1_x509.Name.load(_tlv(0x30, rdn * 1000))  # 1,000 CNs: 110 KB of issuer
    si["sid"] = asn1_cms.SignerIdentifier(
        name="issuer_and_serial_number",
        value=asn1_cms.IssuerAndSerialNumber({"issuer": huge, "serial_number": serial}),
    )
    with quick(), pytest.raises(CMSError, match=r"issuer name is .* over the 65536 byte limit"):
        cms.unwrap(info.dump(force=True))


# -- output paths ---------------------------------------------------------------------


def test_output_path_that_is_a_symlink_is_refused(spec_dir: Path, run_cli: RunCLI) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC)
    elsewhere = spec_dir / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    link = spec_dir / "link.mobileconfig"
    link.symlink_to(elsewhere)
    refused(run_cli("build", spec, "-o", link, "--at", AT), link, "symbolic link")
    assert elsewhere.read_text() == "keep me\n" and link.is_symlink()
    assert list(spec_dir.glob(".link.mobileconfig.*")) == []


def test_output_path_that_is_a_folder_is_refused(spec_dir: Path, run_cli: RunCLI) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC)
    folder = spec_dir / "folder.mobileconfig"
    folder.mkdir()
    refused(run_cli("build", spec, "-o", folder, "--at", AT), folder, "is a folder")
    assert list(folder.iterdir()) == []


def test_output_in_a_missing_folder_is_refused(spec_dir: Path, run_cli: RunCLI) -> None:
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC)
    out = spec_dir / "no" / "such" / "o.mobileconfig"
    refused(run_cli("build", spec, "-o", out, "--at", AT), out, "does not exist")


def test_output_in_a_read_only_folder_is_refused(spec_dir: Path, run_cli: RunCLI) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod does not stop root (see the /sys test)")
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC)
    folder = spec_dir / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        out = folder / "o.mobileconfig"
        refused(run_cli("build", spec, "-o", out, "--at", AT), out, "Permission denied")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_output_in_a_folder_that_refuses_files_even_to_root(
    spec_dir: Path, run_cli: RunCLI
) -> None:
    # sysfs refuses new files to everyone, root included: a real unwritable folder.
    import tempfile

    try:
        fd, name = tempfile.mkstemp(dir="/sys")
    except OSError:
        pass
    else:  # pragma: no cover - an unusual /sys
        os.close(fd)
        os.unlink(name)
        pytest.skip("/sys accepts new files here")
    spec = spec_dir / "profile.yaml"
    spec.write_text(SPEC)
    out = Path("/sys/o.mobileconfig")
    refused(run_cli("build", spec, "-o", out, "--at", AT), out, "cannot write in '/sys'")


def test_unreadable_der_public_key_is_refused_at_load(pki: TestPKI) -> None:
    # Found by fuzzing: a damaged public key passed loading and crashed the chain check.
    der = bytearray(pki.root.der)
    spki = pki.root.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    at = bytes(der).index(spki)
    der[at + len(spki) - 40] ^= 0xFF  # inside the EC point: not on the curve
    with pytest.raises(CertificateError, match=r"public key cannot be read|cannot parse"):
        load_certificates(bytes(der), source="badkey.der")


def test_plistlib_refuses_what_we_refuse() -> None:
    # Sanity: the stdlib writer never makes the shapes refused above from ordinary values.
    value = {"a": [], "b": [], "c": {"d": [1, 2]}}
    assert loads(plistlib.dumps(value, fmt=plistlib.FMT_BINARY)).value == value


def test_control_characters_in_profile_strings_are_not_printed_raw(
    tmp_path: Path, run_cli: RunCLI
) -> None:
    value = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.esc",
        "PayloadUUID": "u",
        "PayloadDisplayName": "Nice\x1b[2J\x1b[31m\nsignature: trusted",
        "PayloadContent": [],
    }
    path = tmp_path / "esc.mobileconfig"
    path.write_bytes(plistlib.dumps(value, fmt=plistlib.FMT_BINARY))
    result = run_cli("inspect", path)
    assert result.code == 0, result
    assert "\x1b" not in result.out
    assert "\nsignature: trusted" not in result.out
