"""One profile per row of an inventory (CSV with a header row, or a JSON list of objects).

The spec, its certificates and its signer are loaded once, in the parent; worker processes
are forked from it and inherit them. Each result is written (atomically) as soon as it is
made, so memory does not grow with the number of rows. A failing row does not stop the
others unless ``fail_fast``. Output names are planned before anything is built: two rows
that would write the same file, or a name that escapes the output folder, are refused.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import io
import json
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobileconfig.builder import Builder
from mobileconfig.errors import Location, MobileconfigError, SpecError, ValidationFailed
from mobileconfig.files import read_limited
from mobileconfig.output import write_atomic
from mobileconfig.render import PlistFormat
from mobileconfig.skeleton import MAX_FILLED_VALUE, print_simple, simple_template

__all__ = [
    "BatchInterrupted",
    "BatchResult",
    "RowFailure",
    "plan_outputs",
    "read_inventory",
    "run_batch",
]

MAX_INVENTORY_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # 1-based data row
    where: Location  # the inventory file and line (CSV) or index (JSON)
    values: dict[str, Any]


@dataclass(frozen=True)
class RowFailure:
    row: int
    where: str
    reason: str


@dataclass
class BatchResult:
    built: int = 0
    skipped: int = 0
    failures: list[RowFailure] = field(default_factory=list)
    total: int = 0

    @property
    def failed(self) -> int:
        return len(self.failures)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "built": self.built,
            "skipped": self.skipped,
            "failed": self.failed,
            "failures": [
                {"row": f.row, "where": f.where, "reason": f.reason} for f in self.failures
            ],
        }


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a batch. ``written`` lists the profiles this run put in
    place before it stopped, counted on disk (a worker may finish a file whose result never
    reached the parent); no temporary file is left. ``result`` holds the failures seen."""

    def __init__(self, result: BatchResult, written: list[Path], out_dir: Path) -> None:
        super().__init__(f"interrupted: {len(written)} of {result.total} profiles written")
        self.result = result
        self.written = written
        self.out_dir = out_dir


def read_inventory(path: str | Path) -> list[Row]:
    """The rows of a CSV (header row first) or JSON (a list of objects) inventory."""
    p = Path(path)
    shown = str(path)

    def error(problem: str) -> SpecError:
        return SpecError(f"inventory {problem}", location=Location(shown))

    # Regular files only, bounded: a FIFO would hang, /dev/zero would never end.
    raw = read_limited(p, MAX_INVENTORY_BYTES, error=error)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError("inventory is not UTF-8 text", location=Location(shown)) from None
    if p.suffix.lower() == ".json" or text.lstrip().startswith("["):
        return _json_rows(text, shown)
    return _csv_rows(text, shown)


def _json_rows(text: str, shown: str) -> list[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"inventory is not valid JSON: {exc.msg}", location=Location(shown, exc.lineno)
        ) from None
    except ValueError:  # a number of more than 4,300 digits (Python's conversion limit)
        raise SpecError(
            "inventory holds a number too long to read", location=Location(shown)
        ) from None
    except RecursionError:  # "[[[[...]]]]" nested thousands deep
        raise SpecError("inventory is nested too deeply", location=Location(shown)) from None
    if not isinstance(data, list):
        raise SpecError("a JSON inventory must be a list of objects", location=Location(shown))
    rows = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise SpecError(f"row {i} is not an object", location=Location(shown))
        rows.append(Row(i, Location(f"{shown}[{i - 1}]"), {str(k): v for k, v in item.items()}))
    return rows


def _csv_rows(text: str, shown: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise SpecError(
            "inventory is empty: it needs a header row", location=Location(shown, 1)
        ) from None
    except csv.Error as exc:
        raise SpecError(f"bad CSV: {exc}", location=Location(shown, 1)) from None
    names = [h.strip() for h in header]
    if not all(names) or len(set(names)) != len(names):
        raise SpecError(
            "the header row needs unique, non-empty column names", location=Location(shown, 1)
        )
    rows: list[Row] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                raise SpecError(
                    f"row has {len(cells)} values for {len(names)} columns",
                    location=Location(shown, line),
                )
            rows.append(
                Row(len(rows) + 1, Location(shown, line), dict(zip(names, cells, strict=True)))
            )
    except csv.Error as exc:
        raise SpecError(f"bad CSV: {exc}", location=Location(shown, reader.line_num)) from None
    return rows


def _name_template(builder: Builder, template: str | None) -> str:
    if template:
        return template
    ident = (
        builder._loaded.value.get("identifier") if isinstance(builder._loaded.value, dict) else None
    )
    return f"{ident}.mobileconfig" if isinstance(ident, str) else "profile.mobileconfig"


def plan_outputs(rows: Sequence[Row], out_dir: Path, template: str) -> list[Path]:
    """Each row's output file; refuses duplicates and names that leave ``out_dir``."""
    planned, failures = _plan(rows, out_dir, template)
    if failures:
        raise SpecError(failures[0].reason, location=rows[failures[0].row - 1].where)
    return [Path(target) for _row, target in planned]


def _plan(
    rows: Sequence[Row], out_dir: Path, template: str
) -> tuple[list[tuple[Row, str]], list[RowFailure]]:
    """Each row with its output file's path, and a failure for each row whose --name does
    not render (it goes past a template bound, divides by zero...): the other rows go on.
    Duplicates and names that leave ``out_dir`` are refused for the whole batch.

    Paths are strings, not Path objects: a batch holds one per row, and a Path costs
    twice the memory (the batch's memory is meant to stay flat in its rows)."""
    from jinja2 import TemplateError, UndefinedError

    from mobileconfig.spec.template import bounded_render, compile_template, template_problem

    try:
        compiled = compile_template(template)
    except TemplateError as exc:
        raise SpecError(f"--name: bad template: {exc.message}") from None
    parts = simple_template(template)
    root = out_dir.resolve()
    prefix = os.path.join(root, "")
    seen: dict[str, int] = {}
    out: list[tuple[Row, str]] = []
    failures: list[RowFailure] = []
    for row in rows:
        try:
            # Printed without rendering when it can be: the parent names every row before
            # the workers start, and rendering 5,000 names took a tenth of a second.
            quick = print_simple(parts, row.values) if parts is not None else None
            if quick is None or len(quick) > MAX_FILLED_VALUE:
                quick = bounded_render(compiled, row.values)
            name = quick.strip()
        except UndefinedError as exc:  # a misspelt column: every row's problem, say it once
            raise SpecError(
                f"row {row.number}: --name: {exc.message}", location=row.where
            ) from None
        except Exception as exc:  # a bound, 1/0...: the value's error, this row's alone
            reason = f"row {row.number}: --name: {template_problem(exc)}"
            failures.append(RowFailure(row.number, str(row.where), reason))
            continue
        if "\x00" in name:  # from a cell: this row's problem, not the batch's
            reason = f"row {row.number}: --name: the output name has a NUL byte"
            failures.append(RowFailure(row.number, str(row.where), reason))
            continue
        if not name or name in (".", ".."):
            raise SpecError(f"row {row.number}: the output name is empty", location=row.where)
        if os.sep in name or (os.altsep and os.altsep in name):
            # A subfolder may be a link out of the folder: resolve it.
            resolved = (root / name).resolve()
            target = str(resolved) if root in resolved.parents else ""
        else:
            # A plain file name stays in the (resolved) folder; a link already there
            # under that name fails its row at the writer, which never writes through a
            # link. Resolving 5,000 names cost 0.3 s of the parent's serial time.
            target = prefix + name
        if not target:
            raise SpecError(
                f"row {row.number}: output name {name!r} leaves the output folder",
                location=row.where,
            )
        if target in seen:
            raise SpecError(
                f"rows {seen[target]} and {row.number} would both write {name!r}",
                location=row.where,
                hint="make --name depend on a column that differs per row, e.g. "
                "--name '{{ user }}.mobileconfig'",
            )
        seen[target] = row.number
        out.append((row, target))
    return out, failures


# -- workers ---------------------------------------------------------------------------

_STATE: dict[str, Any] = {}
_MADE: set[str] = set()  # output folders known to exist (per process)


def _redact(text: str, secrets: Sequence[str]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


def _build_row(task: tuple[int, str, dict[str, Any], str]) -> tuple[int, str, str | None]:
    number, where, values, target = task
    builder: Builder = _STATE["builder"]
    options: dict[str, Any] = _STATE["options"]
    secrets = [str(values[c]) for c in options["secret_columns"] if c in values]
    variables = {**options["variables"], **values}
    try:
        result = builder.build_result(
            variables,
            at=options["at"],
            fmt=options["fmt"],
            strict=options["strict"],
            sign=options["sign"],
        )
        parent = os.path.dirname(target)
        if parent not in _MADE:
            os.makedirs(parent, exist_ok=True)
            _MADE.add(parent)
        mode = 0o600 if result.holds_secret else 0o644
        # Synced once at the end; counted by the batch itself (a list of every path
        # would grow with the rows).
        write_atomic(target, result.data, mode=mode, durable=False, record=False)
    except ValidationFailed as exc:
        first = exc.report.blocking[0] if exc.report.blocking else None
        detail = f"{first.code}: {first.message}" if first else exc.message
        return number, where, _redact(f"{exc.message}; {detail}", secrets)
    except MobileconfigError as exc:
        return number, where, _redact(exc.diagnostics(), secrets)
    except Exception as exc:  # pragma: no cover - a bug: report the row, keep going
        return number, where, _redact(f"internal error: {type(exc).__name__}: {exc}", secrets)
    return number, where, None


def _complete(path: Path) -> bool:
    """True when ``path`` holds a whole profile (for --resume)."""
    from mobileconfig.reader import read_profile_file

    try:
        read_profile_file(path)
    except MobileconfigError:
        return False
    return True


def run_batch(
    spec: str | Path,
    inventory: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    jobs: int | None = None,
    fail_fast: bool = False,
    resume: bool = False,
    variables: Mapping[str, Any] | None = None,
    secret_columns: Sequence[str] = (),
    at: dt.datetime | None = None,
    fmt: PlistFormat = "xml",
    strict: bool | None = None,
    sign: bool | None = None,
    builder: Builder | None = None,
    progress: bool = False,
) -> BatchResult:
    """Build one profile per inventory row into ``out_dir``; see the module docstring."""
    builder = builder or Builder(spec)
    rows = read_inventory(inventory)
    if not rows:
        raise SpecError("the inventory has no rows", location=Location(str(inventory)))
    folder = Path(out_dir)
    try:
        if folder.exists() and not folder.is_dir():
            raise SpecError("--out-dir is not a folder", location=Location(str(out_dir)))
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:  # under a file, read-only, a NUL, a name too long
        reason = exc.strerror if isinstance(exc, OSError) else "the path has a NUL byte"
        raise SpecError(
            f"cannot create the --out-dir folder: {reason}", location=Location(str(out_dir))
        ) from None
    planned, name_failures = _plan(rows, folder, _name_template(builder, name))
    result = BatchResult(total=len(rows), failures=name_failures)
    if name_failures and fail_fast:
        return result
    if rows and sign is not False:
        # Load the signer once, here, so that forked workers inherit it instead of each
        # opening the PKCS#12 again (about 50 ms for an RSA key).
        with contextlib.suppress(MobileconfigError):  # a bad row reports its own error
            builder.signer_for(builder.source({**(variables or {}), **rows[0].values}))
    if rows and fmt == "xml":
        # Compile the spec's skeleton once, here, for every worker to fill (a templated
        # spec; see mobileconfig.skeleton); it is checked against a full build of row 1.
        with contextlib.suppress(MobileconfigError):
            builder.prepare({**(variables or {}), **rows[0].values}, at=at, sign=sign)
    tasks: list[tuple[int, str, dict[str, Any], str]] = []
    for row, target in planned:
        if resume and os.path.exists(target) and _complete(Path(target)):
            result.skipped += 1
            continue
        tasks.append((row.number, str(row.where), row.values, target))
    del planned, rows  # the tasks hold what the workers need
    _STATE["builder"] = builder
    _STATE["options"] = {
        "variables": dict(variables or {}),
        "secret_columns": list(secret_columns),
        "at": at,
        "fmt": fmt,
        "strict": strict,
        "sign": sign,
    }
    n_jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks) or 1))
    bar = _progress(len(tasks)) if progress else None
    # What each output that already exists is now, to tell on Ctrl-C what this run wrote.
    before = {task[3]: seen for task in tasks if (seen := _file_identity(task[3])) is not None}
    results = _results(tasks, n_jobs)
    try:
        for number, where, error in results:
            if error is None:
                result.built += 1
            else:
                result.failures.append(RowFailure(number, where, error))
            if bar is not None:
                bar.update(1)
            if error is not None and fail_fast:
                break
    except KeyboardInterrupt:
        with _second_interrupt_ignored():  # a second Ctrl-C must not cut the count short
            results.close()  # ends the workers; each removes its temporary file first
            outputs = [task[3] for task in tasks]
            written = [Path(p) for p in outputs if _file_identity(p) != before.get(p)]
            _remove_temporary_files(outputs)
        result.built = len(written)
        result.failures.sort(key=lambda f: f.row)
        raise BatchInterrupted(result, written, folder) from None
    finally:
        results.close()  # after --fail-fast's break too: the pool ends, the collector thaws
        if bar is not None:
            bar.close()
        _STATE.clear()
        os.sync()  # the files were written without a per-file fsync
    result.failures.sort(key=lambda f: f.row)
    return result


def _file_identity(path: str) -> tuple[int, int, int] | None:
    """What tells a file put in place by this run from the one that was there before."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _remove_temporary_files(planned: Sequence[str]) -> None:
    """Remove any ``.NAME.*.tmp`` of a planned output: the writer removes its own even when
    stopped, so this only matters if a worker died without running its clean-up."""
    names: dict[str, set[str]] = {}
    for path in planned:
        parent, name = os.path.split(path)
        names.setdefault(parent, set()).add(name)
    for parent, wanted in names.items():
        with contextlib.suppress(OSError), os.scandir(parent) as entries:
            for entry in entries:
                stem = entry.name[1:].rsplit(".", 2)[0] if entry.name.endswith(".tmp") else ""
                if entry.name.startswith(".") and stem in wanted:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


@contextlib.contextmanager
def _second_interrupt_ignored() -> Generator[None, None, None]:
    """SIGINT ignored for the block (main thread only: elsewhere nothing is changed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _ignore_sigint() -> None:
    """In each worker: Ctrl-C reaches the whole process group; only the parent acts on it
    (it ends the workers with SIGTERM, which a write in progress holds until its temporary
    file is removed). Without this every worker would print a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _results(
    tasks: list[tuple[int, str, dict[str, Any], str]], jobs: int
) -> Generator[tuple[int, str, str | None], None, None]:
    """Each row's (number, where, error); rows built in ``jobs`` forked workers.

    Workers inherit the tasks and the builder (with its skeleton, certificates and signer)
    when forked, take chunks of rows by index range, build and write them, and send back
    only how many they built and the failures; the parent counts and shows progress."""
    # Move everything built so far (spec, skeleton, certificates, signer) out of the
    # collector's reach for the batch: otherwise each collection walks it again; in forked
    # workers that walk also copies every page it touches (copy-on-write), which cost the
    # second core a third of its time. Unfrozen afterwards, so that a long-lived process
    # (an MDM server calling run_batch) can still collect what it built before.
    gc.freeze()
    try:
        if jobs == 1 or len(tasks) < 2:
            for task in tasks:
                yield _build_row(task)
            return
        _STATE["tasks"] = tasks
        # About 64 chunks a worker: the last one ends at most ~20 ms after the other.
        size = max(1, min(64, len(tasks) // (jobs * 64)))
        chunks = [(start, min(start + size, len(tasks))) for start in range(0, len(tasks), size)]
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, initializer=_ignore_sigint) as pool:
            for built, failures in pool.imap_unordered(_build_chunk, chunks):
                yield from failures
                for _ in range(built):
                    yield 0, "", None
    finally:
        gc.unfreeze()


def _build_chunk(
    chunk: tuple[int, int],
) -> tuple[int, list[tuple[int, str, str | None]]]:
    """In a worker: build rows ``start`` to ``end`` of the inherited tasks."""
    built, failures = 0, []
    for task in _STATE["tasks"][chunk[0] : chunk[1]]:
        outcome = _build_row(task)
        if outcome[2] is None:
            built += 1
        else:
            failures.append(outcome)
    return built, failures


def _progress(total: int) -> Any:
    """A tqdm bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit="profile", file=sys.stderr, dynamic_ncols=True)
