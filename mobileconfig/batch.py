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
import io
import json
import multiprocessing
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobileconfig.builder import Builder
from mobileconfig.errors import Location, MobileconfigError, SpecError, ValidationFailed
from mobileconfig.output import write_atomic
from mobileconfig.render import PlistFormat

__all__ = ["BatchResult", "RowFailure", "plan_outputs", "read_inventory", "run_batch"]

MAX_INVENTORY_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
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


def read_inventory(path: str | Path) -> list[Row]:
    """The rows of a CSV (header row first) or JSON (a list of objects) inventory."""
    p = Path(path)
    shown = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_INVENTORY_BYTES:
            raise SpecError(
                f"inventory is {size} bytes, over the {MAX_INVENTORY_BYTES} limit",
                location=Location(shown),
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SpecError("inventory not found", location=Location(shown)) from None
    except IsADirectoryError:
        raise SpecError("inventory is a folder", location=Location(shown)) from None
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
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    try:
        compiled = env.from_string(template)
    except TemplateError as exc:
        raise SpecError(f"--name: bad template: {exc.message}") from None
    root = out_dir.resolve()
    seen: dict[Path, int] = {}
    out = []
    for row in rows:
        try:
            name = compiled.render(row.values).strip()
        except TemplateError as exc:
            raise SpecError(
                f"row {row.number}: --name: {exc.message}", location=row.where
            ) from None
        if not name or name in (".", ".."):
            raise SpecError(f"row {row.number}: the output name is empty", location=row.where)
        target = (root / name).resolve()
        if root not in target.parents:
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
        out.append(target)
    return out


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
        mode = 0o600 if result.holds_private_key else 0o644
        write_atomic(target, result.data, mode=mode, durable=False)  # synced once at the end
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
    if folder.exists() and not folder.is_dir():
        raise SpecError("--out-dir is not a folder", location=Location(str(out_dir)))
    folder.mkdir(parents=True, exist_ok=True)
    targets = plan_outputs(rows, folder, _name_template(builder, name))
    result = BatchResult(total=len(rows))
    if rows and sign is not False:
        # Load the signer once, here, so that forked workers inherit it instead of each
        # opening the PKCS#12 again (about 50 ms for an RSA key).
        with contextlib.suppress(MobileconfigError):  # a bad row reports its own error
            builder.signer_for(builder.source({**(variables or {}), **rows[0].values}))
    tasks: list[tuple[int, str, dict[str, Any], str]] = []
    for row, target in zip(rows, targets, strict=True):
        if resume and target.exists() and _complete(target):
            result.skipped += 1
            continue
        tasks.append((row.number, str(row.where), row.values, str(target)))
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
    try:
        for number, where, error in _results(tasks, n_jobs):
            if error is None:
                result.built += 1
            else:
                result.failures.append(RowFailure(number, where, error))
            if bar is not None:
                bar.update(1)
            if error is not None and fail_fast:
                break
    finally:
        if bar is not None:
            bar.close()
        _STATE.clear()
        os.sync()  # the files were written without a per-file fsync
    result.failures.sort(key=lambda f: f.row)
    return result


def _results(
    tasks: list[tuple[int, str, dict[str, Any], str]], jobs: int
) -> Iterator[tuple[int, str, str | None]]:
    if jobs == 1 or len(tasks) < 2:
        for task in tasks:
            yield _build_row(task)
        return
    context = multiprocessing.get_context("fork")
    chunk = max(1, min(64, len(tasks) // (jobs * 8) or 1))
    with context.Pool(jobs) as pool:
        yield from pool.imap_unordered(_build_row, tasks, chunksize=chunk)


def _progress(total: int) -> Any:
    """A tqdm bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit="profile", file=sys.stderr, dynamic_ncols=True)
