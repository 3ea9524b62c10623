"""Terminal-safe text: untrusted strings made harmless before a terminal or a log sees them.

Text from a received profile, a certificate, an inventory or a template comes from anywhere.
Printed raw, an ESC sequence drives the terminal (moves the cursor, clears lines, so a
crafted certificate name can overwrite "signature: INVALID" with "signature: trusted"), a
carriage return or newline forges a line, and a bidi control (U+202E) reorders what the
reader sees. :func:`printable` writes each such character as a visible escape:

- C0 controls, DEL and C1 controls (``\\x00``-``\\x1f``, ``\\x7f``-``\\x9f``) as ``\\xNN``;
- format characters (Unicode category Cf: bidi embeddings, overrides and isolates,
  zero-width characters, the BOM, soft hyphen, tag characters), line and paragraph
  separators (Zl, Zp) and lone surrogates (Cs, which would also fail to encode) as
  ``\\uNNNN`` or ``\\UNNNNNNNN``.

Everything else, accented letters and scripts other than Latin included, is kept. The
backslash itself is kept, so escaping twice changes nothing. JSON output does not come
through here: JSON has its own escapes and stays exact.

Layering: this module imports nothing from the package, so that every layer (errors and
findings included) can make its text safe at the place it is built.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["UNSAFE_CATEGORIES", "is_unsafe", "printable", "terminal_text"]

#: The Unicode categories written as escapes (Cc covers C0, DEL and C1).
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

_ASCII_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_UNSAFE_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def is_unsafe(char: str) -> bool:
    """True when ``char`` (one character) is escaped by :func:`printable`."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _escape_match(match: re.Match[str]) -> str:
    return _escape(match.group())


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control, format and separator character escaped (see the module
    docstring): the result is one line that cannot drive or mislead a terminal.

    ``keep_newlines`` keeps ``\\n`` as it is, for text this package laid out in lines
    itself; a newline inside an untrusted value must be escaped before such text is
    assembled (every model's text does so)."""
    if text.isascii():
        pattern = _ASCII_UNSAFE_BUT_NEWLINE if keep_newlines else _ASCII_UNSAFE
        return pattern.sub(_escape_match, text)
    category = unicodedata.category
    return "".join(
        _escape(c) if category(c) in UNSAFE_CATEGORIES and not (keep_newlines and c == "\n") else c
        for c in text
    )


def terminal_text(text: str) -> str:
    """Lines of text for a terminal: :func:`printable`, newlines kept."""
    return printable(text, keep_newlines=True)
