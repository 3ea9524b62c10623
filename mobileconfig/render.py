"""Plists in and out. The only module that calls plistlib to write.

Writing is byte-stable: keys sorted, no dates that change between runs. Reading is
hardened for files from anywhere: no DTD entities (so no "billion laughs" and no
external entities), bounded size and depth, and base64 ``<data>`` that real tools
damaged is read as far as it goes and flagged instead of failing the whole file.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import plistlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from xml.parsers import expat

from mobileconfig.errors import ProfileError

__all__ = [
    "MAX_DEPTH",
    "MAX_PLIST_BYTES",
    "MAX_PLIST_VALUES",
    "DamagedData",
    "PlistFormat",
    "ReadPlist",
    "dumps",
    "dumps_array",
    "loads",
]

PlistFormat = Literal["xml", "binary"]

#: Largest plist we read (a 161-certificate bundle is about 0.5 MB).
MAX_PLIST_BYTES = 64 * 1024 * 1024
#: Deepest nesting of arrays and dictionaries we read.
MAX_DEPTH = 64
#: Most values (containers and scalars, each dictionary key counted) a plist may hold; a
#: profile of 161 certificates holds under 3,000.
MAX_PLIST_VALUES = 500_000


def dumps(value: dict[str, Any], fmt: PlistFormat = "xml") -> bytes:
    """Serialize a plist dictionary: XML (default) or binary, keys sorted.

    XML output is byte-identical to ``plistlib.dumps(value, sort_keys=True)`` (a test checks
    it on generated values); it is written here because profiles built in a batch share
    their certificates, whose base64 lines are then encoded once instead of per profile.
    """
    try:
        if fmt == "binary":
            return plistlib.dumps(value, fmt=plistlib.FMT_BINARY, sort_keys=True)
        parts: list[bytes] = [_XML_HEADER]
        _write(value, 0, parts)
        parts.append(b"</plist>\n")
        return b"".join(parts)
    except (TypeError, OverflowError, ValueError) as exc:
        raise ProfileError(f"cannot write plist: {exc}") from None


_XML_HEADER = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
    b'"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n'
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# Caches sized for what repeats from one profile to the next (keys, constant values, the
# company's certificates), not for what a batch's rows bring: a batch writes each row's
# values once, and a larger cache only grew a worker's memory with its rows.
@functools.lru_cache(maxsize=1024)
def _text(value: str) -> bytes:
    if _CONTROL.search(value):
        raise ValueError("strings can't contain control characters; use bytes instead")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()


@functools.lru_cache(maxsize=256)
def _data_block(data: bytes, level: int) -> bytes:
    """A <data> element's lines at ``level``, exactly as plistlib wraps them."""
    tabs = b"\t" * level
    width = max(16, 76 - 8 * level)
    chunk = (width // 4) * 3
    lines = [binascii.b2a_base64(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    return b"".join(tabs + line for line in lines)


def _write(value: Any, level: int, out: list[bytes]) -> None:
    tabs = b"\t" * level
    if isinstance(value, str):
        out.append(tabs + b"<string>" + _text(value) + b"</string>\n")
    elif value is True:
        out.append(tabs + b"<true/>\n")
    elif value is False:
        out.append(tabs + b"<false/>\n")
    elif isinstance(value, int):
        if not -1 << 63 <= value < 1 << 64:
            raise OverflowError(value)
        out.append(tabs + b"<integer>%d</integer>\n" % value)
    elif isinstance(value, float):
        out.append(tabs + b"<real>" + repr(value).encode() + b"</real>\n")
    elif isinstance(value, dict):
        if not value:
            out.append(tabs + b"<dict/>\n")
            return
        out.append(tabs + b"<dict>\n")
        inner = tabs + b"\t"
        for key, item in sorted(value.items()):
            if not isinstance(key, str):
                raise TypeError("keys must be strings")
            out.append(inner + b"<key>" + _text(key) + b"</key>\n")
            _write(item, level + 1, out)
        out.append(tabs + b"</dict>\n")
    elif isinstance(value, bytes | bytearray):
        out.append(tabs + b"<data>\n")
        out.append(_data_block(bytes(value), level))
        out.append(tabs + b"</data>\n")
    elif isinstance(value, dt.datetime):
        out.append(tabs + b"<date>" + value.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + b"</date>\n")
    elif isinstance(value, tuple | list):
        if not value:
            out.append(tabs + b"<array/>\n")
            return
        out.append(tabs + b"<array>\n")
        for item in value:
            _write(item, level + 1, out)
        out.append(tabs + b"</array>\n")
    else:
        raise TypeError(f"unsupported type: {type(value)}")


def dumps_array(value: list[Any]) -> bytes:
    """Serialize a plist array (XML): an encrypted profile's PayloadContent."""
    try:
        return plistlib.dumps(value, fmt=plistlib.FMT_XML, sort_keys=True)
    except (TypeError, OverflowError, ValueError) as exc:
        raise ProfileError(f"cannot write plist: {exc}") from None


class DamagedData(bytes):
    """A ``<data>`` value whose base64 was damaged; holds what could be decoded.

    ``text`` is the element's original text so that a checker can say what was wrong.
    """

    text: str

    def __new__(cls, value: bytes, text: str) -> DamagedData:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


@dataclass
class ReadPlist:
    """A plist read from bytes, with what the reader noticed on the way."""

    value: Any
    format: PlistFormat
    damaged: list[str] = field(default_factory=list)  # key paths of damaged <data>


def loads(data: bytes, *, source: str = "<bytes>") -> ReadPlist:
    """Read an XML or binary plist, hardened as the module docstring says.

    Raises :class:`ProfileError` naming ``source`` for anything that is not a readable plist.
    """
    if len(data) > MAX_PLIST_BYTES:
        raise ProfileError(
            f"{source}: plist is {len(data)} bytes, over the {MAX_PLIST_BYTES} byte limit"
        )
    if data.startswith(b"bplist00"):
        return ReadPlist(_load_binary(data, source), "binary")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:64]
    if head.startswith(b"<"):
        reader = _XMLReader(source)
        value = reader.parse(data)
        return ReadPlist(value, "xml", reader.damaged)
    raise ProfileError(f"{source}: not a plist (neither XML nor binary)")


def _load_binary(data: bytes, source: str) -> Any:
    _check_binary_shape(data, source)
    try:
        value = plistlib.loads(data, fmt=plistlib.FMT_BINARY)
    except RecursionError:
        raise ProfileError(f"{source}: binary plist nested too deeply") from None
    except (
        plistlib.InvalidFileException,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
        UnicodeDecodeError,
        MemoryError,
    ) as exc:
        raise ProfileError(f"{source}: damaged binary plist ({type(exc).__name__})") from None
    _check_tree(value, source)
    return value


_BINARY_TRAILER = struct.Struct(">6xBBQQQ")  # offset size, ref size, count, top, table
_ARRAY, _DICT = 0xA0, 0xD0


def _check_binary_shape(data: bytes, source: str) -> None:
    """Walk a binary plist's object references, without building anything, and refuse
    nesting deeper than MAX_DEPTH, more than MAX_PLIST_VALUES values, and any array or
    dictionary reached twice.

    A binary plist is a graph: an array may hold itself (plistlib then builds a list that
    contains itself, which pydantic, json and inspect follow for ever) or two arrays may
    share one child, level after level (40 levels of 40 references unfold to 40**40
    elements: a "billion laughs" in binary). Apple's writers and plistlib's never share a
    container, so a profile's plist is always a tree, as XML can only be. plistlib also
    reads depth by recursion, so a deep file would depend on the interpreter's recursion
    limit; this walk is iterative and runs first.

    The walk reads the file exactly as plistlib does (the trailer, the offset table, a
    count's width from its low two bits, objects anywhere before the end of the file,
    the trailer's padding included), so that nothing plistlib follows escapes it. What
    plistlib cannot read is left to plistlib, which refuses it."""
    if len(data) < 8 + _BINARY_TRAILER.size:
        return
    size = len(data)
    offset_size, ref_size, count, top, table = _BINARY_TRAILER.unpack_from(
        data, size - _BINARY_TRAILER.size
    )
    if not offset_size or not ref_size or top >= count or table + count * offset_size > size:
        return

    def children(obj: int) -> list[int] | None:
        """The references an array or dictionary holds; None for anything else."""
        at = table + obj * offset_size
        start = int.from_bytes(data[at : at + offset_size], "big")
        if start >= size or data[start] & 0xF0 not in (_ARRAY, _DICT):
            return None
        kind, n, at = data[start] & 0xF0, data[start] & 0x0F, start + 1
        if n == 0x0F:  # plistlib: the count's width is 2**(low two bits of the next byte)
            if at >= size:
                return []  # plistlib reports the truncation
            width = 1 << (data[at] & 0x03)
            if at + 1 + width > size:
                return []
            n, at = int.from_bytes(data[at + 1 : at + 1 + width], "big"), at + 1 + width
        n *= 2 if kind == _DICT else 1  # a dictionary's key references, then its values
        if at + n * ref_size > size:
            return []  # plistlib reports the truncation
        refs = data[at : at + n * ref_size]
        return [
            int.from_bytes(refs[i : i + ref_size], "big") for i in range(0, len(refs), ref_size)
        ]

    seen: set[int] = set()
    values = 1
    stack = [(top, 1)]
    while stack:
        obj, depth = stack.pop()
        refs = children(obj)
        if refs is None:
            continue
        if obj in seen:
            raise ProfileError(
                f"{source}: binary plist uses the same array or dictionary twice "
                "(a reference cycle or a shared container); a profile's plist is a tree"
            )
        seen.add(obj)
        if depth > MAX_DEPTH:
            raise ProfileError(f"{source}: plist nested deeper than {MAX_DEPTH} levels")
        values += len(refs)
        if values > MAX_PLIST_VALUES:
            raise _too_many(source)
        stack.extend((ref, depth + 1) for ref in refs if ref < count)


def _too_many(source: str) -> ProfileError:
    return ProfileError(f"{source}: plist holds more than {MAX_PLIST_VALUES} values")


#: What a plist value may be, once read (a binary plist can also hold null and UIDs).
_SCALARS = (str, int, float, bytes, dt.datetime)
#: Plist integers are 64-bit, signed or unsigned; plistlib reads up to 2**15 bytes of one.
_INT_RANGE = range(-(1 << 63), 1 << 64)


def _check_tree(value: Any, source: str) -> None:
    """Refuse, in what plistlib built from a binary plist, anything a profile cannot be:
    a container met twice (whatever slipped past the shape walk), more than
    MAX_PLIST_VALUES values, nesting deeper than MAX_DEPTH, a dictionary key that is not
    a string, an integer outside 64 bits, a null or a UID. Every later reader (models,
    JSON, text) can then walk the value as the tree it is."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen: set[int] = set()
    values = 0
    while stack:
        item, depth = stack.pop()
        values += 1
        if values > MAX_PLIST_VALUES:
            raise _too_many(source)
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ProfileError(f"{source}: plist nested deeper than {MAX_DEPTH} levels")
            if id(item) in seen:
                raise ProfileError(
                    f"{source}: binary plist uses the same array or dictionary twice "
                    "(a reference cycle or a shared container); a profile's plist is a tree"
                )
            seen.add(id(item))
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise ProfileError(
                            f"{source}: binary plist has a dictionary key that is not a "
                            f"string ({type(key).__name__}); a profile's keys are strings"
                        )
                stack.extend((c, depth + 1) for c in item.values())
            else:
                stack.extend((c, depth + 1) for c in item)
        elif not isinstance(item, _SCALARS):
            kind = "null" if item is None else type(item).__name__
            raise ProfileError(f"{source}: binary plist holds a {kind}, which a profile cannot")
        elif isinstance(item, int) and not isinstance(item, bool) and item not in _INT_RANGE:
            raise ProfileError(
                f"{source}: plist integer of {item.bit_length()} bits; plist integers have 64"
            )


_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")


class _XMLReader:
    """A small XML plist parser on expat that refuses DTD entity declarations."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.stack: list[Any] = []
        self.keys: list[str | None] = []
        self.labels: list[str] = []
        self.text: list[str] = []
        self.result: Any = None
        self.have_result = False
        self.damaged: list[str] = []
        self.depth = 0
        self.values = 0

    def fail(self, why: str) -> ProfileError:
        return ProfileError(f"{self.source}: {why}")

    def parse(self, data: bytes) -> Any:
        parser = expat.ParserCreate()
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self._chars
        parser.EntityDeclHandler = self._entity
        parser.ExternalEntityRefHandler = self._external
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        try:
            parser.Parse(data, True)
        except expat.ExpatError as exc:
            raise self.fail(
                f"not a well-formed XML plist (line {exc.lineno}: {expat.ErrorString(exc.code)})"
            ) from None
        except (LookupError, ValueError) as exc:
            # <?xml encoding="..."?> naming a codec Python lacks (LookupError) or one expat
            # cannot stream (ValueError: "multi-byte encodings are not supported").
            raise self.fail(f"the XML declares an encoding that cannot be read ({exc})") from None
        if not self.have_result:
            raise self.fail("XML holds no plist value")
        return self.result

    def _chars(self, text: str) -> None:
        self.text.append(text)

    def _entity(self, *args: Any) -> None:
        raise self.fail("XML entity declarations are not allowed in a plist")

    def _external(self, *args: Any) -> int:
        raise self.fail("external XML entities are not allowed in a plist")

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.text = []
        if tag in ("dict", "array"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"plist nested deeper than {MAX_DEPTH} levels")
            container: Any = {} if tag == "dict" else []
            self.labels.append(self._here())
            self._add(container)
            self.stack.append(container)
            self.keys.append(None)

    def end(self, tag: str) -> None:
        text = "".join(self.text)
        self.text = []
        handler = self._scalars.get(tag)
        if tag in ("dict", "array"):
            if self.stack and isinstance(self.stack[-1], dict) and self.keys[-1] is not None:
                raise self.fail(f"key {self.keys[-1]!r} has no value")
            self.stack.pop()
            self.keys.pop()
            self.labels.pop()
            self.depth -= 1
        elif tag == "key":
            if not self.stack or not isinstance(self.stack[-1], dict):
                raise self.fail("<key> outside a <dict>")
            self.keys[-1] = text
        elif handler is not None:
            self._add(handler(self, text))
        elif tag in ("true", "false"):
            self._add(tag == "true")
        elif tag != "plist":
            raise self.fail(f"unknown plist element <{tag}>")

    def _add(self, value: Any) -> None:
        self.values += 1
        if self.values > MAX_PLIST_VALUES:
            raise _too_many(self.source)
        if not self.stack:
            if self.have_result:
                raise self.fail("more than one top-level value")
            self.result, self.have_result = value, True
            return
        top = self.stack[-1]
        if isinstance(top, dict):
            key = self.keys[-1]
            if key is None:
                raise self.fail("dictionary value without a <key>")
            top[key] = value
            self.keys[-1] = None
        else:
            top.append(value)

    def _integer(self, text: str) -> int:
        t = text.strip()
        if len(t) > 40:  # 2**64 has 20 digits: never ask int() to read thousands
            raise self.fail(f"<integer> of {len(t)} characters; plist integers have 64 bits")
        try:
            value = int(t, 16) if t.lower().startswith(("0x", "-0x")) else int(t)
        except ValueError:
            raise self.fail(f"<integer> {t[:40]!r} is not a number") from None
        if value not in _INT_RANGE:
            raise self.fail(f"<integer> {t!r} does not fit in 64 bits")
        return value

    def _real(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            raise self.fail(f"<real> {text.strip()[:40]!r} is not a number") from None

    def _date(self, text: str) -> dt.datetime:
        try:
            return dt.datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            raise self.fail(f"<date> {text.strip()[:40]!r} is not an ISO 8601 UTC date") from None

    def _data(self, text: str) -> bytes:
        raw = text.encode("ascii", "replace")
        compact = b"".join(raw.split())
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            pass
        cleaned = _B64_JUNK.sub(b"", compact)
        cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if b"=" not in cleaned else cleaned
        try:
            value = base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            value = b""
        self.damaged.append(self._path_for_value())
        return DamagedData(value, text)

    def _here(self) -> str:
        if not self.stack:
            return ""
        top = self.stack[-1]
        return (self.keys[-1] or "?") if isinstance(top, dict) else str(len(top))

    def _path_for_value(self) -> str:
        return "/".join(p for p in [*self.labels[1:], self._here()] if p)

    _scalars: ClassVar[dict[str, Callable[[_XMLReader, str], Any]]] = {
        "string": lambda self, t: t,
        "integer": _integer,
        "real": _real,
        "date": _date,
        "data": _data,
    }
