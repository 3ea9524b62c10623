"""Property-based tests of every parser that reads input from outside: whatever the bytes,
the answer is a result or the documented error type, never another exception, never a hang.

Inputs are generated (random text, bytes, token soups, ASN.1-shaped trees) and mutated from
valid seeds (a signed profile made with the test PKI, unsigned XML and binary profiles,
PEM/DER/PKCS#7 certificates): truncations, flipped, inserted and removed bytes, wrong
ASN.1 tags and lengths, damaged binary-plist trailers. Each call runs under a 5 s alarm.
Warnings are not errors here: cryptography warns about odd but readable certificates.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import signal
import struct
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from mobileconfig import cms
from mobileconfig.builder import Builder
from mobileconfig.errors import (
    CertificateError,
    CMSError,
    MobileconfigError,
    ProfileError,
    SpecError,
)
from mobileconfig.pki.certs import Certificate, load_certificates
from mobileconfig.pki.chains import validate
from mobileconfig.reader import profile_certificates, read_profile
from mobileconfig.render import dumps, loads
from mobileconfig.spec.load import load_yaml, read_spec_text

from pki import NOW, TestPKI

ROOT = Path(__file__).resolve().parents[1]
#: No single call may take longer than this.
LIMIT = 5.0

T = TypeVar("T")

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- the guard ------------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` can swallow it."""


@contextlib.contextmanager
def time_guard(limit: float = LIMIT) -> Iterator[None]:
    """Fail if the block takes longer than ``limit`` seconds (alarm, then elapsed time)."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {limit} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    took = time.monotonic() - start
    assert took < limit, f"took {took:.1f} s"


def outcome(
    call: Callable[[], T], errors: tuple[type[MobileconfigError], ...]
) -> T | MobileconfigError:
    """Run ``call`` guarded: its result, or the MobileconfigError it raised, which must be one
    of ``errors`` and read as one line. Any other exception fails the test."""
    with time_guard(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except MobileconfigError as exc:
            error = exc
    assert isinstance(error, errors), f"{type(error).__name__}: {error}"
    text = error.diagnostics()
    assert text and "\n" not in text, repr(text)
    assert "Traceback" not in text
    return error


def use_certificates(certs: list[Certificate]) -> None:
    """What inspect and validate do with certificates found: every displayed fact, then the
    chain checks. None of it may raise."""
    for cert in certs:
        _ = (cert.subject_text, cert.issuer_text, cert.display_name, cert.sha256)
        _ = (cert.key_description, cert.signature_algorithm, cert.signature_hash)
        _ = (cert.is_ca, cert.self_signed, cert.not_before, cert.not_after, cert.dns_names)
        cert.ref("certificate")
    if certs:
        validate(certs, at=NOW)


# -- seeds ----------------------------------------------------------------------------


@dataclass
class Seeds:
    xml: bytes
    binary: bytes
    signed_ec: bytes
    signed_rsa: bytes
    signed_binary: bytes
    pem: bytes
    der: bytes
    p7b: bytes
    bundle: bytes
    spec: str

    @property
    def profiles(self) -> list[bytes]:
        return [self.xml, self.binary, self.signed_ec, self.signed_rsa, self.signed_binary]

    @property
    def certificates(self) -> list[bytes]:
        return [self.pem, self.der, self.p7b, self.bundle]

    @property
    def signed(self) -> list[bytes]:
        return [self.signed_ec, self.signed_rsa, self.signed_binary]


def _signer(pki: TestPKI, kind: Any) -> cms.Signer:
    leaf = pki.intermediate.issue(f"{kind} Profile Signer", key_kind=kind, ca=False)
    chain = [Certificate(pki.intermediate.cert), Certificate(pki.root.cert)]
    return cms.Signer(Certificate(leaf.cert), leaf.key, chain, source=f"{kind} signer")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    folder = tmp_path_factory.mktemp("seeds")
    pki = TestPKI("ec256", prefix="Fuzz")
    pki.root.write(folder / "root.pem")
    pki.intermediate.write(folder / "inter.pem")
    spec = {
        "identifier": "com.example.fuzz",
        "name": "Fuzz",
        "certificates": ["root.pem", "inter.pem"],
    }
    xml = Builder(spec, base_dir=folder).build(at=NOW)
    binary = dumps(loads(xml).value, "binary")
    rsa = TestPKI("rsa2048", prefix="Fuzz RSA")
    certs = [pki.root.cert, pki.intermediate.cert]
    return Seeds(
        xml=xml,
        binary=binary,
        signed_ec=cms.sign(xml, _signer(pki, "ec256")),
        signed_rsa=cms.sign(xml, _signer(rsa, "rsa2048")),
        signed_binary=cms.sign(binary, _signer(pki, "ec256")),
        pem=pki.root.pem,
        der=pki.root.der,
        p7b=pkcs7.serialize_certificates(certs, serialization.Encoding.DER),
        bundle=pki.root.pem + b"some text between blocks\n" + pki.intermediate.pem,
        spec=(ROOT / "examples" / "company" / "profile.yaml").read_text(),
    )


# -- mutations ------------------------------------------------------------------------


def der_headers(data: bytes, limit: int = 400) -> list[tuple[int, int]]:
    """(tag offset, length offset) of the DER elements in ``data``, walking into constructed
    ones: where a wrong tag or length does the most damage."""
    out: list[tuple[int, int]] = []

    def walk(pos: int, end: int, depth: int) -> None:
        while pos + 2 <= end and len(out) < limit and depth < 20:
            tag, lpos = data[pos], pos + 1
            first = data[lpos]
            if first < 0x80:
                length, body = first, lpos + 1
            elif first == 0x80 or first > 0x84:
                return
            else:
                n = first & 0x7F
                length, body = int.from_bytes(data[lpos + 1 : lpos + 1 + n], "big"), lpos + 1 + n
            if body + length > end:
                return
            out.append((pos, lpos))
            if tag & 0x20:
                walk(body, body + length, depth + 1)
            pos = body + length

    walk(0, len(data), 0)
    return out


_TAGS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x14, 0x17, 0x18, 0x1E]
_TAGS += [0x1F, 0x24, 0x30, 0x31, 0x80, 0xA0, 0xA1, 0xA3, 0xFF]
_LENGTHS = [0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0xFF]


@st.composite
def mutated(draw: st.DrawFn, pick: Callable[[Seeds], list[bytes]], seeds: Seeds) -> bytes:
    data = bytearray(draw(st.sampled_from(pick(seeds))))
    headers = der_headers(bytes(data)) if data[:1] == b"\x30" else []
    for _ in range(draw(st.integers(1, 4))):
        n = len(data)
        if n == 0:
            data = bytearray(draw(st.binary(max_size=16)))
            continue
        op = draw(st.sampled_from(["cut", "flip", "insert", "remove", "tag", "length", "trailer"]))
        pos = draw(st.integers(0, n - 1))
        if op == "cut":
            del data[pos:]
        elif op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "remove":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op in ("tag", "length") and headers:
            tag_at, len_at = draw(st.sampled_from(headers))
            at = tag_at if op == "tag" else len_at
            if at < len(data):
                data[at] = draw(st.sampled_from(_TAGS if op == "tag" else _LENGTHS))
        elif op == "trailer" and data.startswith(b"bplist00") and n >= 40:
            # The 32-byte trailer: sizes, object count, top object, offset table offset.
            field_at = draw(st.sampled_from([n - 26, n - 25, n - 24, n - 16, n - 8]))
            width = 1 if field_at in (n - 26, n - 25) else 8
            value = draw(st.sampled_from([0, 1, 3, 7, 9, 255, 2**31, 2**63 - 1, 2**64 - 1]))
            value &= (1 << (8 * width)) - 1
            data[field_at : field_at + width] = value.to_bytes(width, "big")
        else:
            data[pos] = draw(st.integers(0, 255))
    return bytes(data)


def asn1_tree(max_leaves: int = 20) -> st.SearchStrategy[bytes]:
    """Random BER/DER-shaped trees, sometimes with wrong lengths, starting like a CMS."""

    def tlv(tag: int, body: bytes, bad: int) -> bytes:
        n = len(body) + bad
        if n < 0:
            n = 0
        head = bytes([n]) if n < 0x80 else bytes([0x82]) + (n & 0xFFFF).to_bytes(2, "big")
        return bytes([tag]) + head + body

    leaf = st.builds(
        tlv, st.sampled_from(_TAGS), st.binary(max_size=12), st.sampled_from([0, 0, 1, -1])
    )
    tree = st.recursive(
        leaf,
        lambda kids: st.builds(
            tlv,
            st.sampled_from([0x30, 0x31, 0xA0, 0xA3, 0x24]),
            st.lists(kids, max_size=4).map(b"".join),
            st.sampled_from([0, 0, 0, 1, -1]),
        ),
        max_leaves=max_leaves,
    )
    oid = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"
    return st.builds(lambda body: tlv(0x30, oid + tlv(0xA0, body, 0), 0), tree)


# -- spec YAML ------------------------------------------------------------------------

_YAML_ALPHABET = st.characters(codec="utf-8") | st.sampled_from(list("{}[]:-&*!|>'\"#%@`,?\n\t "))
_YAML_TOKENS = st.sampled_from(
    [
        *["a: ", "- ", "&x ", "*x", "<<: *x", "!!binary ", "!!python/object ", "? ", "---\n"],
        *["...\n", "{", "}", "[", "]", "\n  ", "'", '"', "|\n", ">\n", "%YAML 1.1\n", "\t"],
        *["1: 2", "2026-06-01", "~", "yes", ".nan", "0x1F", "!!timestamp 2001-12-14", "\x00"],
        *["!!timestamp", "!!int", "!!bool maybe", "!!float x", "\ufeff", "9" * 5000],
    ]
)


@FUZZ
@given(st.text(_YAML_ALPHABET, max_size=300) | st.lists(_YAML_TOKENS, max_size=40).map("".join))
def test_load_yaml_raises_only_spec_errors(text: str) -> None:
    outcome(lambda: load_yaml(text, file="fuzz.yaml"), (SpecError,))


@FUZZ
@given(data=st.data())
def test_load_yaml_on_mutated_example_spec(seeds: Seeds, data: st.DataObject) -> None:
    raw = data.draw(mutated(lambda s: [s.spec.encode()], seeds))
    text = raw.decode("utf-8", "replace")
    result = outcome(lambda: load_yaml(text, file="fuzz.yaml"), (SpecError,))
    if isinstance(result, SpecError):
        assert result.location is not None and result.location.file == "fuzz.yaml"


@FUZZ
@given(raw=st.binary(max_size=400) | st.text(_YAML_ALPHABET, max_size=200).map(str.encode))
def test_spec_bytes_are_decoded_or_refused(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzz-spec.yaml"
    path.write_bytes(raw)
    outcome(lambda: load_yaml(read_spec_text(path, "fuzz.yaml"), file="fuzz.yaml"), (SpecError,))


# -- certificates ---------------------------------------------------------------------


def _certificates(data: bytes) -> list[Certificate] | MobileconfigError:
    def call() -> list[Certificate]:
        certs = load_certificates(data, source="fuzz.pem")
        use_certificates(certs)
        return certs

    return outcome(call, (CertificateError,))


@FUZZ
@given(data=st.data())
def test_load_certificates_on_mutated_certificates(seeds: Seeds, data: st.DataObject) -> None:
    _certificates(data.draw(mutated(lambda s: s.certificates, seeds)))


_PEM = st.builds(
    lambda label, body: (
        b"-----BEGIN " + label + b"-----\n" + body + b"\n-----END " + label + b"-----\n"
    ),
    st.sampled_from([b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"PKCS7", b"X509 CERTIFICATE"]),
    st.binary(max_size=200).map(lambda b: base64.encodebytes(b).strip()) | st.binary(max_size=100),
)


@FUZZ
@given(st.binary(max_size=500) | _PEM | asn1_tree())
def test_load_certificates_on_generated_input(data: bytes) -> None:
    _certificates(data)


# -- plists ---------------------------------------------------------------------------

_XML_TOKENS = st.sampled_from(
    [
        *["<plist>", "</plist>", "<dict>", "</dict>", "<array>", "</array>", "<key>k</key>"],
        *["<string>s</string>", "<integer>12</integer>", "<integer>x</integer>", "<true/>"],
        *["<real>1e999</real>", "<date>2026-06-01T00:00:00Z</date>", "<data>AAA*</data>"],
        *["<data>", "</data>", "<key>", "</key>", "<!DOCTYPE plist [<!ENTITY e 'x'>]>", "&e;"],
        *['<?xml version="1.0" encoding="UTF-16"?>', '<?xml version="1.0" encoding="nope"?>'],
        *["<!ENTITY x SYSTEM 'file:///etc/passwd'>", "&#0;", "<![CDATA[x]]>", "<?pi?>", "<x/>"],
        *["<integer>" + "9" * 5000 + "</integer>", "<date>0000-00-00T00:00:00Z</date>"],
    ]
)


@FUZZ
@given(st.lists(_XML_TOKENS, max_size=40).map(lambda t: "".join(t).encode()))
def test_xml_plist_token_soup(data: bytes) -> None:
    outcome(lambda: loads(data, source="fuzz.plist"), (ProfileError,))


@FUZZ
@given(st.binary(max_size=300).map(lambda b: b"bplist00" + b) | st.binary(max_size=300))
def test_random_plist_bytes(data: bytes) -> None:
    outcome(lambda: loads(data, source="fuzz.plist"), (ProfileError,))


@FUZZ
@given(data=st.data())
def test_loads_on_mutated_profiles(seeds: Seeds, data: st.DataObject) -> None:
    outcome(lambda: loads(data.draw(mutated(lambda s: [s.xml, s.binary], seeds))), (ProfileError,))


#: Text XML can carry as it is: no control characters (plistlib refuses them) and no CR,
#: which every XML parser reads back as LF (XML 1.0, section 2.11).
_TEXT = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])

_PLIST_VALUES = st.recursive(
    st.text(_TEXT, max_size=20)
    | st.integers(-(2**63), 2**63 - 1)
    | st.booleans()
    | st.binary(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.datetimes(dt.datetime(1901, 1, 1), dt.datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(_TEXT, max_size=8), kids, max_size=4)
    ),
    max_leaves=30,
)


@FUZZ
@given(
    st.dictionaries(st.text(_TEXT, max_size=8), _PLIST_VALUES, max_size=5),
    st.sampled_from(["xml", "binary"]),
)
def test_what_plistlib_writes_reads_back(value: dict[str, Any], fmt: Any) -> None:
    data = dumps(value, fmt)
    read = outcome(lambda: loads(data), (ProfileError,))
    assert not isinstance(read, ProfileError), read
    assert read.value == value and read.format == fmt


# -- CMS ------------------------------------------------------------------------------


def _cms(data: bytes) -> None:
    signed = outcome(lambda: cms.unwrap(data, source="fuzz.mobileconfig"), (CMSError,))
    if isinstance(signed, CMSError):
        return
    anchors = [c for c in signed.certificates if c.self_issued]
    result = outcome(lambda: cms.verify(signed, anchors=anchors, at=NOW), ())
    assert not isinstance(result, MobileconfigError)
    assert result.status in ("trusted", "untrusted", "invalid")
    assert result.reason


@FUZZ
@given(data=st.data())
def test_unwrap_and_verify_on_mutated_signed_profiles(seeds: Seeds, data: st.DataObject) -> None:
    _cms(data.draw(mutated(lambda s: s.signed, seeds)))


@FUZZ
@given(asn1_tree() | st.binary(max_size=300).map(lambda b: b"\x30" + b))
def test_unwrap_on_generated_asn1(data: bytes) -> None:
    _cms(data)


def test_unmodified_seeds_verify(seeds: Seeds) -> None:
    for data in seeds.signed:
        signed = cms.unwrap(data)
        anchors = [c for c in signed.certificates if c.self_signed]
        assert cms.verify(signed, anchors=anchors, at=NOW).status == "trusted"


# -- the profile reader ---------------------------------------------------------------


def _profile(data: bytes) -> None:
    def call() -> None:
        loaded = read_profile(data, source="fuzz.mobileconfig")
        certs, _findings = profile_certificates(loaded)
        use_certificates(certs)
        if loaded.signed is not None:
            cms.verify(loaded.signed, anchors=certs, at=NOW)

    outcome(call, (ProfileError, CMSError))


@FUZZ
@given(data=st.data())
def test_read_profile_on_mutated_profiles(seeds: Seeds, data: st.DataObject) -> None:
    _profile(data.draw(mutated(lambda s: s.profiles, seeds)))


@FUZZ
@given(
    st.binary(max_size=400)
    | asn1_tree()
    | st.lists(_XML_TOKENS, max_size=30).map(lambda t: "".join(t).encode())
    | st.binary(max_size=300).map(lambda b: base64.encodebytes(b"\x30" + b))
)
def test_read_profile_on_generated_input(data: bytes) -> None:
    _profile(data)


def test_seed_profiles_read(seeds: Seeds) -> None:
    for data in seeds.profiles:
        loaded = read_profile(data)
        certs, findings = profile_certificates(loaded)
        assert len(certs) == 2 and not findings


def test_damaged_binary_plist_trailer_is_refused(seeds: Seeds) -> None:
    # The fixed cases the trailer mutation above explores at random.
    n = len(seeds.binary)
    for at, width, value in [(n - 8, 8, 2**64 - 1), (n - 16, 8, 2**63), (n - 26, 1, 0)]:
        data = bytearray(seeds.binary)
        data[at : at + width] = value.to_bytes(width, "big")
        with time_guard(), pytest.raises(ProfileError, match=r"damaged binary plist|not"):
            loads(bytes(data), source="bad.plist")
    assert struct.calcsize(">6xBBQQQ") == 32  # the trailer layout the offsets assume
