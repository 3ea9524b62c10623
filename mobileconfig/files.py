"""Reading the files a user, a spec or a command line names: regular files only, bounded.

Every input file (a profile, a certificate, a PKCS#12, a key, a secret, a spec, an
inventory) is read through :func:`read_limited`, which refuses what would hang or exhaust
the process before reading it:

- a FIFO (opening one for reading waits for a writer, for ever), a socket or a device
  (``/dev/zero`` never ends; ``/dev/stdin`` is whatever the terminal holds): only regular
  files are read, and the file is opened non-blocking so that even a FIFO swapped in after
  the check cannot hang the open;
- a file over the caller's byte limit: refused by its size, and never read further than one
  byte past the limit (a file that grows while it is read is caught too);
- names no file can have: a NUL byte (Python raises ValueError), a component longer than
  the system allows, a symbolic link loop: each is one line, not a traceback.

:func:`bounded_glob` expands a certificate pattern (``certs/**/*.pem``) and stops, with
:class:`GlobTooBroad`, once it has looked at :data:`MAX_GLOB_ENTRIES` directory entries, so
that ``/**`` ends at once. It does not follow symbolic links to folders (a link to ``..``
would make ``**`` endless).

Errors are the caller's own family: the caller passes ``error``, a function that turns the
problem ("is a FIFO, not a regular file") into its exception with its location.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from mobileconfig.errors import MobileconfigError

__all__ = [
    "MAX_GLOB_ENTRIES",
    "GlobTooBroad",
    "bounded_glob",
    "path_problem",
    "read_limited",
]

#: Most directory entries a certificate pattern may look at before it is refused.
MAX_GLOB_ENTRIES = 50_000

ErrorFactory = Callable[[str], MobileconfigError]

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def path_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot name a file at all (a NUL byte), or None. Python raises
    ValueError for such a name from every file function, so callers check it first."""
    text = os.fspath(path)
    if "\x00" in (text if isinstance(text, str) else text.decode("latin-1")):
        return "has a NUL byte in its name"
    return None


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    kind = _kind(mode)
    return f"is {kind}, not a regular file" if kind != "not a regular file" else kind


def read_limited(path: str | os.PathLike[str], limit: int, *, error: ErrorFactory) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises ``error(problem)`` for a name no file can have, a missing file, a folder, a
    FIFO, socket or device, a file over ``limit`` bytes (by its size, or by what was read),
    or any other failure to open or read (a link loop, a name too long, no permission)."""
    problem = path_problem(path)
    if problem:
        raise error(problem)
    try:
        # Checked before opening: opening a device can have effects of its own.
        problem = _not_regular(os.stat(path).st_mode)
        if problem:
            raise error(problem)
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error("not found") from None
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        problem = _not_regular(info.st_mode)  # swapped for something else since the check
        if problem:
            raise error(problem)
        if info.st_size > limit:
            raise error(f"is {info.st_size} bytes, over the {limit} byte limit")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise error(f"is over the {limit} byte limit")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


class GlobTooBroad(Exception):
    """A pattern looked at more than :data:`MAX_GLOB_ENTRIES` directory entries."""


_MAGIC = re.compile(r"[*?[]")


def bounded_glob(pattern: str, limit: int = MAX_GLOB_ENTRIES) -> list[Path]:
    """The paths ``pattern`` matches, as ``glob.glob(pattern, recursive=True)`` finds them
    (``**`` is any number of folders, names starting with a dot match only a pattern that
    starts with one), sorted; but symbolic links to folders are not followed by ``**``,
    and :class:`GlobTooBroad` is raised after ``limit`` directory entries were looked at."""
    if path_problem(pattern):
        return []
    budget = [limit]

    def entries(folder: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as it:
                found = []
                for entry in it:
                    budget[0] -= 1
                    if budget[0] < 0:
                        raise GlobTooBroad(pattern)
                    found.append(entry)
                return found
        except OSError:
            return []

    def match(name: str, part: str) -> bool:
        if name.startswith(".") and not part.startswith("."):
            return False
        return fnmatch.fnmatchcase(name, part)

    def below(folder: Path) -> list[Path]:
        """``folder`` and every folder under it, links to folders not followed."""
        out, todo = [folder], [folder]
        while todo:
            for entry in entries(todo.pop()):
                if entry.name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    child = Path(entry.path)
                    out.append(child)
                    todo.append(child)
        return out

    path = Path(pattern)
    parts = list(path.parts)
    start = Path(parts.pop(0)) if path.is_absolute() else Path()
    current = [start]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following: list[Path] = []
        if part == "**":
            for folder in current:
                for sub in below(folder):
                    following.append(sub)
                    if last:
                        following.extend(
                            Path(e.path)
                            for e in entries(sub)
                            if not e.name.startswith(".") and not _is_dir(e)
                        )
        elif _MAGIC.search(part):
            for folder in current:
                following.extend(folder / e.name for e in entries(folder) if match(e.name, part))
        else:
            following = [folder / part for folder in current]
        current = following if last else [p for p in following if _is_folder(p)]
    return sorted({p for p in current if p != start and _exists(p)})


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except (OSError, ValueError):
        return False


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False
