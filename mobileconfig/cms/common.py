"""Small helpers every CMS module shares: times in UTC, how a certificate and an error are
worded in a message."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mobileconfig.pki.certs import Certificate

__all__ = ["as_utc", "format_date", "short_error", "utc_now", "who"]


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` with UTC as its zone when it has none."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def short_error(exc: BaseException) -> str:
    """The first line of ``exc``'s text (its type's name when it has none), at most 200
    characters: what a one-line error may quote of a library's exception."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def format_date(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def who(cert: Certificate) -> str:
    """The certificate as messages name it: its display name in quotes."""
    return f"'{cert.display_name}'"
