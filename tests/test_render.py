"""Plists out (byte-stable, read back by two parsers) and in (hardened)."""

from __future__ import annotations

import datetime as dt
import plistlib
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobileconfig.errors import ProfileError
from mobileconfig.render import MAX_DEPTH, DamagedData, dumps, loads

from conftest import need_tool

VALUE = {
    "b": [1, 2.5, True, False, b"\x00\x01binary", {"nested": "x"}],
    "a": 'text with <xml> & "quotes"',
}


def test_keys_sorted_and_stable() -> None:
    first = dumps(VALUE)
    assert first == dumps(dict(reversed(list(VALUE.items()))))
    assert first.index(b"<key>a</key>") < first.index(b"<key>b</key>")


@pytest.mark.parametrize("fmt", ["xml", "binary"])
def test_round_trip_with_plistlib_and_ours(fmt: str) -> None:
    data = dumps(VALUE, fmt)  # type: ignore[arg-type]
    assert plistlib.loads(data) == VALUE
    read = loads(data)
    assert read.value == VALUE and read.format == fmt and not read.damaged


def test_independent_parser_plistutil(tmp_path: Path) -> None:
    tool = need_tool("plistutil")
    src = tmp_path / "in.plist"
    src.write_bytes(dumps(VALUE))
    out = tmp_path / "out.bplist"
    subprocess.run([tool, "-i", str(src), "-o", str(out), "-f", "bin"], check=True, timeout=30)
    assert plistlib.loads(out.read_bytes()) == VALUE


def test_entities_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><plist><string>&b;</string></plist>'
    )
    with pytest.raises(ProfileError, match="entity"):
        loads(bomb, source="bomb.plist")
    external = (
        b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<plist><string>&x;</string></plist>"
    )
    with pytest.raises(ProfileError, match="entit"):
        loads(external)


def test_depth_limited() -> None:
    deep = b"<plist>" + b"<array>" * (MAX_DEPTH + 5) + b"</array>" * (MAX_DEPTH + 5) + b"</plist>"
    with pytest.raises(ProfileError, match="nested deeper"):
        loads(deep)


def test_damaged_base64_is_kept_and_flagged() -> None:
    xml = (
        b"<plist><dict><key>PayloadContent</key>"
        b"<data>QUJD-----ENDCERTIFICATE-----</data></dict></plist>"
    )
    read = loads(xml)
    value = read.value["PayloadContent"]
    assert isinstance(value, DamagedData) and read.damaged == ["PayloadContent"]


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"not a plist",
        b"<plist><integer>x</integer></plist>",
        b"<plist><dict><string>a</string></dict></plist>",
        b"bplist00\x00\x01garbage",
        b"<plist><foo/></plist>",
    ],
)
def test_garbage_raises_profile_error(junk: bytes) -> None:
    with pytest.raises(ProfileError):
        loads(junk, source="junk")


def test_binary_plist_ending_in_nul_bytes_reads_back() -> None:
    from mobileconfig.reader import read_profile

    # Grow a profile until its offset table sits at a multiple of 256: the trailer's last
    # byte is then 0x00, which a careless "strip trailing NULs" would destroy.
    for n in range(1, 600):
        value = {
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadIdentifier": "a.b",
            "PayloadUUID": "U",
            "PayloadContent": [],
            "PayloadDescription": "x" * n,
        }
        data = dumps(value, "binary")
        if data.endswith(b"\x00"):
            break
    else:  # pragma: no cover
        pytest.fail("no binary plist ending in NUL was made")
    assert read_profile(data).profile.payload_description == "x" * n


_plist_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\x00\x01\x02\x03"
        "\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
        "\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f",
    ),
    max_size=40,
)
_plist_values = st.recursive(
    st.none().map(lambda _: True)
    | st.booleans()
    | st.integers(-(1 << 63), (1 << 64) - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _plist_text
    | st.binary(max_size=300)
    | st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(_plist_text, children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_plist_text, _plist_values, max_size=6))
def test_xml_writer_is_byte_identical_to_plistlib(value: dict[str, object]) -> None:
    assert dumps(value) == plistlib.dumps(value, sort_keys=True)
