"""Write files so that a reader sees the old file or the whole new one, never a part.

The bytes go to a temporary file in the target folder, are flushed to disk and renamed
over the target. The temporary file is created with its final mode: 0600 for a
secret-bearing file (see :func:`holds_secret`), so a private key, a PKCS#12, a password
or a SCEP challenge is never readable by others, not even for an instant; 0644 otherwise.

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
import contextvars
import os
import re
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from mobileconfig.errors import Location, OutputError
from mobileconfig.files import path_problem

__all__ = [
    "SECRET_PAYLOAD_TYPES",
    "holds_secret",
    "plist_holds_secret",
    "record_write",
    "signals_held",
    "write_atomic",
    "write_output",
    "writes_recorded",
]

#: Payload types that carry a private key whatever their other keys say.
SECRET_PAYLOAD_TYPES = frozenset({"com.apple.security.pkcs12"})
#: A PEM private key ("-----BEGIN PRIVATE KEY-----", "... RSA PRIVATE KEY-----", ...).
_PEM_KEY = b"PRIVATE KEY-----"
#: Keys whose value, when given, is a secret: Password, UserPassword, CertificatePassword,
#: RemovalPassword, IncomingPassword, XAuthPassword, ...; SharedSecret; Challenge (SCEP);
#: PIN; Passphrase. A true/false flag named like one (OutgoingPasswordSameAsIncomingPassword)
#: holds no secret: only a string or data value counts.
_SECRET_KEY = re.compile(r"(?:Password|Secret|Passphrase)\Z|\A(?:Challenge|PIN)\Z")


def holds_secret(value: Any) -> bool:
    """True when a profile, given as its plist values (dictionaries, lists, strings...),
    carries a secret readable without a device key: a PKCS#12 payload, a password, shared
    secret, passphrase, PIN or challenge with a value, or data holding a PEM private key, at
    any depth. The one test of "secret-bearing" for every writer: such files are 0600.

    An encrypted profile's payloads sit in ``EncryptedPayloadContent`` (data), which only
    the device can open, so they do not count; a signed profile is judged by its content.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("PayloadType") in SECRET_PAYLOAD_TYPES:
                return True
            for key, child in item.items():
                if isinstance(child, dict | list):
                    stack.append(child)
                elif (
                    isinstance(key, str)
                    and isinstance(child, str | bytes)
                    and child
                    and _SECRET_KEY.search(key)
                ):
                    return True
                elif isinstance(child, bytes) and _PEM_KEY in child:
                    return True  # a PEM private key as data, whatever the key's name
        elif isinstance(item, list):
            stack.extend(item)
    return False


def plist_holds_secret(data: bytes) -> bool:
    """:func:`holds_secret` for plist bytes (XML or binary); bytes that are not a readable
    plist count as secret-bearing, so that a doubt never makes a file world-readable."""
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.render import loads

    try:
        return holds_secret(loads(data).value)
    except MobileconfigError:
        return True


#: The signals held during a write, each with the handler it must still have for us to
#: take it over (an application that installed its own handler keeps control of it).
_HELD_SIGNALS: tuple[tuple[signal.Signals, Any], ...] = (
    (signal.SIGINT, signal.default_int_handler),
    (signal.SIGTERM, signal.SIG_DFL),
)


class _Interrupted(BaseException):
    """A held signal arrived: abandon the work (raised by the ``check`` that
    :func:`signals_held` yields, and absorbed by it: never escapes this module)."""


@contextlib.contextmanager
def signals_held() -> Iterator[Callable[[], None]]:
    """Hold SIGINT and SIGTERM for the block, and act on those that arrived when it ends
    (whatever way it ends), handlers restored first: SIGTERM ends the process by that
    signal, SIGINT raises KeyboardInterrupt.

    Yields ``check``: call it between steps (after each file of a folder, before a rename);
    once a signal has arrived it raises, so that the block's own clean-up runs (remove the
    temporary file or folder, put back what it moved) before the signal takes effect.
    Python signal handlers only run in the main thread, and only that thread may install
    them: elsewhere (an MDM server's worker threads) nothing is changed."""
    arrived: list[int] = []

    def check() -> None:
        if arrived:
            raise _Interrupted

    if threading.current_thread() is not threading.main_thread():
        yield check
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    restore: list[tuple[signal.Signals, Any]] = []
    for sig, default in _HELD_SIGNALS:
        if signal.getsignal(sig) is default:
            signal.signal(sig, hold)
            restore.append((sig, default))
    try:
        yield check
    except _Interrupted:
        pass  # acted on below, once the handlers are back
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


def _create_temporary(folder: str, name: str) -> tuple[int, str]:
    """A new temporary file ``.NAME.XXXXXXXXXXXX.tmp`` in ``folder``, created 0600 by the
    open call itself (O_EXCL: never an existing file, never through a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")  # pragma: no cover


def _check_target(target: Path, where: Location) -> None:
    """Refuse a symbolic link, a folder, and a parent that is missing or not a folder."""
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
        if folder.exists():  # "notes.txt/out.mobileconfig"
            raise OutputError(f"{str(folder)!r} is a file, not a folder", location=where)
        raise OutputError(f"folder {str(folder)!r} does not exist", location=where)


def write_atomic(
    path: str | Path,
    data: bytes,
    *,
    mode: int = 0o644,
    durable: bool = True,
    record: bool = True,
) -> None:
    """Replace ``path`` with ``data`` atomically. Refuses folders and symlinks.

    ``durable=False`` skips the fsync (about 1 ms a file here): the rename is still atomic
    for every reader, but a power cut may lose the newest files. A batch uses it and syncs
    once at the end; ``--resume`` re-checks every output it skips. ``record=False`` leaves
    the file out of :func:`writes_recorded` (a batch counts its own)."""
    target = Path(path)
    where = Location(str(path))
    problem = path_problem(target)
    if problem:
        raise OutputError(f"output path {problem}", location=where)
    text = str(target)
    folder = str(target.parent) or "."
    # One lstat on the way that works (a batch writes thousands of files); the checks that
    # name what is wrong run only when something is.
    try:
        kind = stat.S_IFMT(os.lstat(text).st_mode)
    except FileNotFoundError:
        kind = None
    except OSError:  # a parent that is a file, a name too long, a link loop
        kind = -1
    if kind in (-1, stat.S_IFLNK, stat.S_IFDIR):
        _explain(target, where)
    with signals_held() as check:
        try:
            fd, tmp = _create_temporary(folder, target.name)
        except OSError as exc:
            _explain(target, where)
            raise OutputError(
                f"cannot write in {folder!r}: {exc.strerror}", location=where
            ) from None
        try:
            try:
                if mode != 0o600:  # widened before any byte is written, never narrowed after
                    os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                check()
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            check()
            os.replace(tmp, text)
            if record:
                record_write(text)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write: {exc.strerror}", location=where) from None
            raise  # an interrupt goes on to signals_held, which acts on it


def _explain(target: Path, where: Location) -> None:
    """Raise the error that says what is wrong with writing ``target``, if it can tell."""
    try:
        _check_target(target, where)
    except OSError as exc:  # a name too long, a link loop
        raise OutputError(f"cannot write: {exc.strerror}", location=where) from None


#: The paths put in place in this context, while :func:`writes_recorded` collects them.
_WRITES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "mobileconfig_writes", default=None
)


@contextlib.contextmanager
def writes_recorded() -> Iterator[list[str]]:
    """Collect, for the block, the path of every file and folder put in place (by
    :func:`write_atomic` and the declarative folder writer): what the command line names
    when Ctrl-C stops a command that had already written some of its output."""
    written: list[str] = []
    token = _WRITES.set(written)
    try:
        yield written
    finally:
        _WRITES.reset(token)


def record_write(path: str) -> None:
    """Note that ``path`` is now in place (see :func:`writes_recorded`); nothing outside it."""
    written = _WRITES.get()
    if written is not None:
        written.append(path)


def write_output(path: str | None, data: bytes, *, private: bool = False) -> None:
    """Write to ``path``, or to standard output when ``path`` is None or ``-``; ``private``
    (secret-bearing: see :func:`holds_secret`) makes the file 0600 from its first byte."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_atomic(path, data, mode=0o600 if private else 0o644)
