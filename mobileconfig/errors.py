"""Errors: the program cannot go on.

Every exception the library raises on purpose is a :class:`MobileconfigError`.
Its :meth:`~MobileconfigError.diagnostics` text is what the command line prints,
on one line, before exiting with status 2 (or 1 for :class:`ValidationFailed`).

Findings about a profile's *content* are not exceptions: see :mod:`mobileconfig.findings`.

Layering: ``errors`` is the base layer and imports nothing from this package at run time
(the :class:`~mobileconfig.findings.Report` that :class:`ValidationFailed` carries is named
for type checkers only); :mod:`mobileconfig.findings` imports ``errors``, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mobileconfig.findings import Report

__all__ = [
    "CMSError",
    "CertificateError",
    "IdentityError",
    "Location",
    "MobileconfigError",
    "OutputError",
    "ProfileError",
    "SpecError",
    "ValidationFailed",
]


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """Where something came from: a file and, when known, a line (1-based)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class MobileconfigError(Exception):
    """Base class of every error this package raises deliberately."""

    exit_code = 2

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def diagnostics(self) -> str:
        """The one-line text a user sees: where, what, and what to do."""
        text = self.message
        if self.location is not None:
            text = f"{self.location}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text

    def __str__(self) -> str:
        return self.diagnostics()

    def to_json(self) -> dict[str, Any]:
        """The error for ``--format json``: ``{"errors": [{file, line, path, message}]}``,
        the same fields a spec's problems have."""
        where = self.location
        message = f"{self.message} ({self.hint})" if self.hint else self.message
        return {
            "errors": [
                {
                    "file": where.file if where else None,
                    "line": where.line if where else None,
                    "path": None,
                    "message": message,
                }
            ]
        }


class SpecError(MobileconfigError):
    """The spec file cannot be read: bad YAML, unknown key, wrong type, missing file."""


class CertificateError(MobileconfigError):
    """A file that should hold certificates holds none, or one that cannot be parsed."""


class IdentityError(MobileconfigError):
    """A PKCS#12 or key cannot be used: wrong password, key mismatch, bad format."""


class ProfileError(MobileconfigError):
    """A .mobileconfig cannot be read: not a plist, not CMS, too large or too deep."""


class CMSError(MobileconfigError):
    """A CMS structure cannot be built or parsed."""


class OutputError(MobileconfigError):
    """The output cannot be written where asked."""


class ValidationFailed(MobileconfigError):
    """The content was checked and refused; carries the :class:`Report`."""

    exit_code = 1

    def __init__(self, report: Report, message: str | None = None):
        n = len(report.blocking)
        super().__init__(message or f"refused: {n} blocking finding{'s' if n != 1 else ''}")
        self.report = report
