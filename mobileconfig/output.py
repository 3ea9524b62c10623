"""Write files so that a reader sees the old file or the whole new one, never a part.

The bytes go to a temporary file in the target folder (created 0600, so a profile
holding a private key is never readable by others, even briefly), are flushed to disk,
given their final mode, and renamed over the target.

Interrupts: while the temporary file exists, SIGINT (Ctrl-C) and SIGTERM are *held*
(when the process leaves them at their defaults and this is the main thread). If one
arrives, the temporary file is removed, the target is left as it was, and the signal is
then acted on as usual: SIGINT raises :class:`KeyboardInterrupt`, SIGTERM ends the process
by that signal. Without this, Python's default SIGTERM would kill the process at once and
leave ``.NAME.*.tmp`` behind, and a Ctrl-C landing between creating the temporary file
and entering the clean-up block would do the same.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from mobileconfig.errors import Location, OutputError

__all__ = ["write_atomic", "write_output"]

#: The signals held during a write, each with the handler it must still have for us to
#: take it over (an application that installed its own handler keeps control of it).
_HELD_SIGNALS: tuple[tuple[signal.Signals, Any], ...] = (
    (signal.SIGINT, signal.default_int_handler),
    (signal.SIGTERM, signal.SIG_DFL),
)


class _Interrupted(BaseException):
    """A held signal arrived: abandon the write (internal, never escapes this module)."""


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM for the block; yields the list of those that arrived, and
    acts on them when the block ends (whatever way it ends), handlers restored first.

    Python signal handlers only run in the main thread, and only that thread may install
    them: elsewhere (an MDM server's worker threads) nothing is changed."""
    arrived: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield arrived
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    restore: list[tuple[signal.Signals, Any]] = []
    for sig, default in _HELD_SIGNALS:
        if signal.getsignal(sig) is default:
            signal.signal(sig, hold)
            restore.append((sig, default))
    try:
        yield arrived
    finally:
        for sig, handler in restore:
            signal.signal(sig, handler)
        if arrived:
            _deliver(arrived)


def _deliver(arrived: list[int]) -> None:
    """Act on held signals now that the handlers are restored: SIGTERM first."""
    if signal.SIGTERM in arrived:
        os.kill(os.getpid(), signal.SIGTERM)  # default action: the process ends here
        raise SystemExit(128 + signal.SIGTERM)  # only if the kernel has not ended it yet
    if signal.SIGINT in arrived:
        raise KeyboardInterrupt


def write_atomic(path: str | Path, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically. Refuses folders and symlinks.

    ``durable=False`` skips the fsync (about 1 ms a file here): the rename is still atomic
    for every reader, but a power cut may lose the newest files. A batch uses it and syncs
    once at the end; ``--resume`` re-checks every output it skips."""
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
    with _signals_held() as arrived:

        def check() -> None:
            if arrived:
                raise _Interrupted

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
                check()
                if durable:
                    os.fsync(fh.fileno())
            check()
            os.chmod(tmp, mode)
            check()
            os.replace(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, _Interrupted):
                pass  # acted on by _signals_held, once the handlers are back
            elif isinstance(exc, OSError):
                raise OutputError(f"cannot write: {exc.strerror}", location=where) from None
            else:
                raise


def write_output(path: str | None, data: bytes, *, private: bool = False) -> None:
    """Write to ``path``, or to standard output when ``path`` is None or ``-``."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_atomic(path, data, mode=0o600 if private else 0o644)
