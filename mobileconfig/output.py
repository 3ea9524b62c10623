"""Write files so that a reader sees the old file or the whole new one, never a part.

The bytes go to a temporary file in the target folder (created 0600, so a profile
holding a private key is never readable by others, even briefly), are flushed to disk,
given their final mode, and renamed over the target.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from mobileconfig.errors import Location, OutputError

__all__ = ["write_atomic", "write_output"]


def write_atomic(path: str | Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically. Refuses folders and symlinks."""
    target = Path(path)
    where = Location(str(path))
    if target.is_symlink():
        raise OutputError(
            "output path is a symbolic link; refusing to write through it",
            location=where,
            hint="give the real file's path",
        )
    if target.is_dir():
        raise OutputError(
            "output path is a folder",
            location=where,
            hint="give a file name, e.g. company.mobileconfig",
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"folder {str(folder)!r} does not exist", location=where)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(
            f"cannot write in {str(folder)!r}: {exc.strerror}", location=where
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror}", location=where) from None
        raise


def write_output(path: str | None, data: bytes, *, private: bool = False) -> None:
    """Write to ``path``, or to standard output when ``path`` is None or ``-``."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_atomic(path, data, mode=0o600 if private else 0o644)
