"""Every mistake in a spec, said in the spec's own terms: file, line, place, and the fix.

pydantic reports a spec's mistakes in its own words, one union branch at a time. This
module turns a :class:`pydantic.ValidationError` into :class:`SpecProblems`: a
:class:`~mobileconfig.errors.SpecError` holding up to :data:`MAX_PROBLEMS` problems, each
``FILE:LINE: where: what is wrong; what to write instead``, sorted by line. No pydantic
text and no pydantic URL reaches the user: each error type has its own sentence here.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from mobileconfig.errors import Location, SpecError
from mobileconfig.findings import printable
from mobileconfig.spec.load import LoadedYAML

__all__ = ["MAX_PROBLEMS", "Problem", "SpecProblems", "spec_problems"]

#: Most problems reported for one file; the rest are counted.
MAX_PROBLEMS = 20

_NAME_KEYS = ("name", "ssid", "address", "identifier", "PayloadType", "path")


@dataclass(frozen=True)
class Problem:
    """One mistake: where it is (file, line, key path) and what to write instead."""

    location: Location
    path: str
    where: str
    message: str

    def line(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return printable(f"{self.location}: {where}{self.message}")

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "path": self.path,
            "message": printable(self.message),
        }


class SpecProblems(SpecError):
    """A spec with one or more mistakes; :meth:`diagnostics` prints one line per problem."""

    def __init__(self, problems: Sequence[Problem], more: int = 0) -> None:
        self.problems = tuple(problems)
        self.more = more
        first = self.problems[0]
        super().__init__(
            (f"{first.where}: " if first.where else "") + first.message, location=first.location
        )

    def diagnostics(self) -> str:
        lines = [p.line() for p in self.problems]
        if self.more:
            lines.append(f"... and {self.more} more problem(s) in {self.problems[0].location.file}")
        if len(lines) > 1:
            lines.insert(0, f"{len(self.problems) + self.more} problems in the spec:")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "errors": [p.to_json() for p in self.problems],
            "more": self.more,
        }


# -- where ------------------------------------------------------------------------------


def _navigable(
    loc: Sequence[Any], data: Any, missing: bool = False
) -> tuple[tuple[str | int, ...], str | None]:
    """pydantic's location as keys of the spec, and the first union branch it names. Only
    a missing key's location may end in a key the spec does not have."""
    out: list[str | int] = []
    branch: str | None = None
    cur = data
    for i, part in enumerate(loc):
        last = missing and i == len(loc) - 1
        if isinstance(cur, dict) and isinstance(part, str) and (part in cur or last):
            out.append(part)
            cur = cur.get(part)
        elif isinstance(cur, list) and isinstance(part, int):
            out.append(part)
            cur = cur[part] if part < len(cur) else None
        elif branch is None:
            branch = str(part)
    return tuple(out), branch


def _value_at(data: Any, loc: Sequence[str | int]) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def dotted(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _where(loc: Sequence[str | int], data: Any) -> str:
    """``wifi[0] 'ExampleCorp' / eap / method``: the place, with each entry's name."""
    parts: list[str] = []
    cur = data
    for part in loc:
        if isinstance(part, int) and parts:
            cur = _value_at(cur, [part])
            name = next(
                (
                    cur[k]
                    for k in _NAME_KEYS
                    if isinstance(cur, dict) and isinstance(cur.get(k), str)
                ),
                None,
            )
            parts[-1] += f"[{part}]" + (f" {name!r}" if name else "")
        else:
            cur = _value_at(cur, [part])
            parts.append(str(part))
    return " / ".join(parts)


# -- what -------------------------------------------------------------------------------


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _valid_keys(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    models: list[type[BaseModel]] = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        nxt: list[type[BaseModel]] = []
        for m in models:
            for fname, info in m.model_fields.items():
                if part in (fname, info.alias):
                    nxt.extend(_models_in(info.annotation))
        models = nxt
    return sorted({info.alias or fname for m in models for fname, info in m.model_fields.items()})


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


_WANTS = {
    "string_type": "text (quote it if it looks like a number or a date)",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "list_type": "a list ([a, b], or one '- item' line each)",
    "tuple_type": "a list",
    "set_type": "a list",
    "datetime_type": "a date and time (2026-06-01T12:00:00Z)",
    "datetime_parsing": "a date and time (2026-06-01T12:00:00Z)",
    "date_type": "a date (2026-06-01)",
    "date_parsing": "a date (2026-06-01)",
}


def _alternative(err: dict[str, Any]) -> str | None:
    """What a union branch would accept, for "write one of ..."."""
    kind = err["type"]
    if kind in ("literal_error", "enum"):
        return str((err.get("ctx") or {}).get("expected", "")) or None
    return _WANTS.get(kind)


def _message(
    err: dict[str, Any], loc: tuple[str | int, ...], value: Any, root: type[BaseModel]
) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        valid = _valid_keys(root, loc[:-1])
        near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        if near:
            return f"unknown key {key!r}; did you mean {near[0]!r}?"
        if valid:
            return f"unknown key {key!r}; write one of: {', '.join(valid)}"
        return f"unknown key {key!r}; remove it"
    if kind == "missing":
        key = str(loc[-1]) if loc else "?"
        return f"required key {key!r} is missing; add it"
    if kind in ("literal_error", "enum"):
        return f"{_kind(value)} is not allowed here; write one of {ctx.get('expected', '')}"
    if kind in _WANTS:
        return f"{_kind(value)} where {_WANTS[kind]} belongs; write {_WANTS[kind]}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": "more than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }
        bound = next(iter(ctx.values()), "?")
        return f"{_kind(value)} is out of range; write {words[kind]} {bound}"
    if kind in ("string_too_short", "too_short"):
        n = ctx.get("min_length", 1)
        what = "character" if kind == "string_too_short" else "item"
        return f"{_kind(value)} is too short; write at least {n} {what}{'s' if n != 1 else ''}"
    if kind in ("string_too_long", "too_long"):
        n = ctx.get("max_length", "?")
        what = "characters" if kind == "string_too_long" else "items"
        return f"{_kind(value)} is too long; write at most {n} {what}"
    if kind == "string_pattern_mismatch":
        return (
            f"{_kind(value)} does not have the expected form; write text matching "
            f"{ctx.get('pattern', '')}"
        )
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = ctx.get("expected_tags", "")
        return f"{_kind(value)} is not a known kind; write one of {tags}"
    if kind in ("value_error", "assertion_error"):
        # Our own validators' sentences (they say what to write).
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind.startswith("url"):
        return f"{_kind(value)} is not a URL; write e.g. https://host.example.com/path"
    return f"{_kind(value)} is not valid here; see the spec reference for this key"


_RANK = {"extra_forbidden": 0, "missing": 1}


_LISTS = ("list_type", "tuple_type", "set_type")
_DICTS = ("dict_type", "model_type", "model_attributes_type")


def _rank(err: dict[str, Any], value: Any) -> int:
    """Which of a union's complaints to believe: a key that should not be there, then one
    missing, then a wrong value; last, a branch that wanted another kind of container."""
    kind = err["type"]
    if kind in _RANK:
        return _RANK[kind]
    if kind in _LISTS:
        mismatch = not isinstance(value, list)
    elif kind in _DICTS:
        mismatch = not isinstance(value, dict)
    else:
        mismatch = kind in _WANTS and isinstance(value, dict | list)
    return 3 if mismatch else 2


def spec_problems(exc: ValidationError, loaded: LoadedYAML, root: type[BaseModel]) -> SpecProblems:
    """Every problem of ``exc`` (up to :data:`MAX_PROBLEMS`), in the spec's terms."""
    groups: dict[tuple[str | int, ...], list[tuple[tuple[str | int, ...], str | None, Any]]] = {}
    for err in exc.errors():
        loc, branch = _navigable(err["loc"], loaded.value, err["type"] == "missing")
        raw = list(err["loc"])
        # Errors under one union branch point belong together: key them by the spec path
        # before the branch's name.
        cut = len(loc)
        if branch is not None:
            cut = 0
            data = loaded.value
            for part in raw:
                if (isinstance(data, dict) and part in data) or (
                    isinstance(data, list) and isinstance(part, int)
                ):
                    data = _value_at(data, [part])
                    cut += 1
                else:
                    break
        groups.setdefault(loc[:cut], []).append((loc, branch, err))
    problems: list[Problem] = []
    for _, items in groups.items():
        ranked = sorted(items, key=lambda it: _rank(it[2], _value_at(loaded.value, it[0])))
        best_branch = ranked[0][1]
        chosen = [it for it in ranked if it[1] == best_branch]
        branches = {it[1] for it in items}
        same_place = len({it[0] for it in items}) == 1
        structural = any(it[2]["type"] in _RANK for it in items)
        if len(branches) > 1 and same_place and not structural:
            loc = items[0][0]
            value = _value_at(loaded.value, loc)
            wants = [a for a in (_alternative(it[2]) for it in items) if a]
            unique = list(dict.fromkeys(wants))
            message = f"{_kind(value)} is not allowed here; write " + " or ".join(unique)
            problems.append(
                Problem(loaded.location(loc), dotted(loc), _where(loc, loaded.value), message)
            )
            continue
        for loc, _branch, err in chosen:
            if (
                err["type"] in _WANTS
                and _rank(err, _value_at(loaded.value, loc)) == 3
                and len(chosen) > 1
            ):
                continue  # a branch's "wrong container" beside its real complaints
            value = _value_at(loaded.value, loc)
            place = loc[:-1] if err["type"] in ("extra_forbidden", "missing") else loc
            problems.append(
                Problem(
                    loaded.location(loc),
                    dotted(loc),
                    _where(place, loaded.value),
                    _message(err, loc, value, root),
                )
            )
    unique_problems = list(dict.fromkeys(problems))
    unique_problems.sort(key=lambda p: (p.location.line or 0, p.path))
    kept = unique_problems[:MAX_PROBLEMS]
    return SpecProblems(kept, more=len(unique_problems) - len(kept))
