"""Read a spec file: YAML into plain values, with the line of every value kept.

PyYAML's composer gives every node its position; we build the values ourselves so
that each (key path) maps to a line, refuse duplicate keys, and bound the expansion
of aliases (a YAML "billion laughs" would otherwise build an exponential tree).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mobileconfig.errors import Location, SpecError
from mobileconfig.files import read_limited

__all__ = [
    "MAX_SPEC_BYTES",
    "MAX_SPEC_DEPTH",
    "MAX_SPEC_NODES",
    "LoadedYAML",
    "load_yaml",
    "read_spec_text",
]

MAX_SPEC_BYTES = 4 * 1024 * 1024
#: Most values a spec may expand to, aliases included.
MAX_SPEC_NODES = 200_000
#: Deepest nesting of mappings and lists in a spec (a real one is under 8 deep).
MAX_SPEC_DEPTH = 64

PathKey = tuple[str | int, ...]


@dataclass
class LoadedYAML:
    """The parsed values and where each came from."""

    value: Any
    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)

    def location(self, path: PathKey) -> Location:
        """The closest line known for ``path`` (walking up to the parent when needed)."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return Location(self.file, self.lines[p])
            p = p[:-1]
        return Location(self.file, self.lines.get((), 1))


def read_spec_text(path: Path, display: str) -> str:
    def error(problem: str) -> SpecError:
        if problem.startswith("is a folder"):
            problem = "is a folder, expected a YAML spec file"
        elif problem.startswith("cannot be read: "):
            problem = "cannot read spec: " + problem.removeprefix("cannot be read: ")
        else:
            problem = f"spec file {problem}" if problem == "not found" else f"spec {problem}"
        return SpecError(problem, location=Location(display))

    # Regular files only, and at most one byte past the limit: a FIFO would hang the open,
    # a device (/dev/zero) reports a size of 0 and would be read until memory ran out.
    raw = read_limited(path, MAX_SPEC_BYTES, error=error)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            "spec is not UTF-8 text",
            location=Location(display, line),
            hint="save the file as UTF-8",
        ) from None


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[PathKey, int] = {}
        self.count = 0

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if len(path) >= MAX_SPEC_DEPTH:
            raise SpecError(
                f"spec nested deeper than {MAX_SPEC_DEPTH} levels",
                location=Location(self.file, node.start_mark.line + 1),
            )
        if self.count > MAX_SPEC_NODES:
            raise SpecError(
                f"spec expands to more than {MAX_SPEC_NODES} values (an alias bomb?)",
                location=Location(self.file, node.start_mark.line + 1),
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise SpecError(
                        "YAML merge keys (<<) are not supported in a spec",
                        location=Location(self.file, key_node.start_mark.line + 1),
                    )
                key = self._scalar(key_node)
                if not isinstance(key, str | int | bool | float) or isinstance(key, bool):
                    raise SpecError(
                        "mapping keys must be plain strings",
                        location=Location(self.file, key_node.start_mark.line + 1),
                    )
                skey = str(key)
                if skey in out:
                    raise SpecError(
                        f"key {skey!r} appears twice",
                        location=Location(self.file, key_node.start_mark.line + 1),
                    )
                self.lines[(*path, skey)] = key_node.start_mark.line + 1
                out[skey] = self.build(value_node, (*path, skey))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise SpecError(
                "a key must be a plain value",
                location=Location(self.file, node.start_mark.line + 1),
            )
        loader = yaml.SafeLoader("")
        try:
            value = loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise SpecError(
                f"bad value: {exc}".splitlines()[0],
                location=Location(self.file, node.start_mark.line + 1),
            ) from None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
            # PyYAML's constructors raise bare Python errors for an explicitly tagged scalar
            # they cannot convert (found by fuzzing): "!!timestamp x" AttributeError,
            # "!!int" (empty) IndexError, "!!bool maybe" KeyError, "!!int x" ValueError;
            # and an integer of more than 4300 digits is a ValueError too.
            tag = node.tag.rsplit(":", 1)[-1]
            raise SpecError(
                f"bad value: {str(node.value)[:40]!r} is not a valid {tag}",
                location=Location(self.file, node.start_mark.line + 1),
            ) from None
        finally:
            loader.dispose()
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()  # dates stay text; the model parses what it needs
        return value


def load_yaml(text: str, *, file: str) -> LoadedYAML:
    """Parse one YAML document into values and a line map; errors name the file and line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        # PyYAML's composer recurses once per level: "[[[[...]]]]" a few hundred deep
        # overflows the stack before MAX_SPEC_DEPTH can be checked (found by the tests).
        raise SpecError(
            f"spec nested deeper than {MAX_SPEC_DEPTH} levels", location=Location(file)
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise SpecError(f"malformed YAML: {problem}", location=Location(file, line)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"malformed YAML: {exc}".splitlines()[0], location=Location(file)) from None
    if node is None:
        raise SpecError(
            "spec is empty",
            location=Location(file, 1),
            hint="start from examples/company/profile.yaml",
        )
    builder = _Builder(file)
    value = builder.build(node, ())
    return LoadedYAML(value, file, builder.lines)
