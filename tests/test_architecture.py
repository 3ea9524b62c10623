"""The package's import contract (docs/architecture.md), checked by reading the source.

Four rules, each a test:

- imports go one way: a module may import modules of its own layer or of a lower one, never of
  a higher one (``LAYERS`` below is the table from docs/architecture.md);
- no import cycle anywhere in the package, counting imports inside functions, not counting those
  under ``if TYPE_CHECKING:`` (they never run);
- no underscore-private name crosses a subpackage line: ``from mobileconfig.x import _y`` is only
  for modules inside ``mobileconfig.x``'s own subpackage.

Nothing is imported: the tests parse the files with ``ast``, so a broken module cannot hide a
violation and the check costs a few milliseconds.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "mobileconfig"

# Lowest layer first. A module's layer is that of the longest prefix listed here; every module
# must match one (a new top-level module must be placed on purpose). Keep in step with the table
# in docs/architecture.md.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: the vocabulary every layer speaks: errors, then findings (a finding may name a
    # Location; an error may carry a Report, but only for type checkers).
    # Terminal-safe text sits with errors: it imports nothing, and findings escape with it.
    ("mobileconfig.errors", "mobileconfig.text"),
    ("mobileconfig.findings",),
    # 2: leaf utilities: bounded reading and atomic writing of files, plists, secrets, Apple
    # schema data.
    (
        "mobileconfig.files",
        "mobileconfig.output",
        "mobileconfig.render",
        "mobileconfig.secrets",
        "mobileconfig.schema",
    ),
    # 3: certificates, keys, PKCS#12, chains and TLS rules.
    ("mobileconfig.pki",),
    # 4: CMS: sign, verify, encrypt, decrypt.
    ("mobileconfig.cms",),
    # 5: Apple's payload models, which know nothing of YAML.
    ("mobileconfig.payloads",),
    # 6: the spec's leaf helpers that services build on (pydantic base, YAML locations, MDM
    # variables), then the services themselves, then the spec front end that walks them.
    ("mobileconfig.spec._base", "mobileconfig.spec.load", "mobileconfig.mdm"),
    ("mobileconfig.services",),
    ("mobileconfig.spec",),
    # 9: what the library does with a spec or a profile.
    (
        "mobileconfig.reader",
        "mobileconfig.signers",
        "mobileconfig.builder",
        "mobileconfig.skeleton",
        "mobileconfig.inspection",
        "mobileconfig.batch",
        "mobileconfig.probe",
        "mobileconfig.init",
        "mobileconfig.planning",
        "mobileconfig.ddm",
    ),
    # 10: the command line renders what the library returns; nothing imports it.
    ("mobileconfig.cli",),
    # 11: the public facade and the -m entry point.
    ("mobileconfig.__main__", "mobileconfig"),
)


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            # The facade ``mobileconfig`` is the package's __init__ alone, not a prefix of all.
            nested = prefix != "mobileconfig" and module.startswith(prefix + ".")
            if (module == prefix or nested) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), index)
    if best is None:
        raise LookupError(module)
    return best[1]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    names: tuple[str, ...]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: all but those under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def edges_of(module: str, path: Path, known: set[str]) -> Iterator[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mobileconfig":
                    yield Edge(module, alias.name, node.lineno, ())
            continue
        base = node.module or ""
        if node.level:
            anchor = module.split(".")
            if not is_package:
                anchor = anchor[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        if base.split(".")[0] != "mobileconfig":
            continue
        names = tuple(alias.name for alias in node.names)
        for name in names:
            # ``from mobileconfig.pki import chains`` imports the module pki.chains.
            if f"{base}.{name}" in known:
                yield Edge(module, f"{base}.{name}", node.lineno, ())
            else:
                yield Edge(module, base, node.lineno, (name,))


def package_edges() -> list[Edge]:
    modules = all_modules()
    known = set(modules)
    return [edge for name, path in modules.items() for edge in edges_of(name, path, known)]


def test_every_module_has_a_layer() -> None:
    unplaced = []
    for name in all_modules():
        try:
            layer_of(name)
        except LookupError:
            unplaced.append(name)
    assert not unplaced, f"place these modules in LAYERS and docs/architecture.md: {unplaced}"


def _placed(module: str) -> bool:
    try:
        layer_of(module)
    except LookupError:
        return False  # reported by test_every_module_has_a_layer
    return True


def test_imports_go_one_way() -> None:
    wrong = [
        f"{e.source} (layer {layer_of(e.source)}) imports {e.target} "
        f"(layer {layer_of(e.target)}) at line {e.line}"
        for e in package_edges()
        if _placed(e.source) and _placed(e.target) and layer_of(e.target) > layer_of(e.source)
    ]
    assert not wrong, "imports against the direction:\n" + "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _graph(edges: list[Edge], known: set[str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in known}
    for edge in edges:
        target = edge.target
        # Importing mobileconfig.a.b runs mobileconfig.a's __init__ first.
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != edge.source:
            graph[edge.source].add(target)
    return graph


def test_no_import_cycles() -> None:
    modules = set(all_modules())
    cycles = _cycles(_graph(package_edges(), modules))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _owner(module: str, modules: dict[str, Path]) -> str:
    """The unit whose private names ``module`` may share: its subpackage, or, for a module at
    the top of the package, the module itself (top-level modules are not one family)."""
    if modules[module].name == "__init__.py":
        return module
    parent = module.rpartition(".")[0]
    return module if parent == "mobileconfig" else parent


def test_no_private_name_crosses_a_subpackage() -> None:
    modules = all_modules()
    wrong = []
    for edge in package_edges():
        target = edge.target
        while target and target not in modules:
            target = target.rpartition(".")[0]
        private = [n for n in edge.names if n.startswith("_") and not n.startswith("__")]
        owner = _owner(target, modules)
        leaf = edge.target.rpartition(".")[2]
        if not edge.names and leaf.startswith("_") and not leaf.startswith("__"):
            # A private module (spec._base) belongs to the package around it.
            private = [leaf]
            owner = edge.target.rpartition(".")[0]
        if not private:
            continue
        if not (edge.source == owner or edge.source.startswith(owner + ".")):
            wrong.append(f"{edge.source}:{edge.line} imports {private} from {edge.target}")
    assert not wrong, "private names across subpackages:\n" + "\n".join(wrong)


MAX_LINES = 800
GENERATED_MARK = "Generated by scripts/"


def test_no_module_is_too_large() -> None:
    """A module past ~800 lines has more than one job: split it along its seams. Generated data
    modules (their first lines say "Generated by scripts/...") are exempt."""
    large = []
    for name, path in all_modules().items():
        text = path.read_text(encoding="utf-8")
        if GENERATED_MARK in text[:2000]:
            continue
        lines = text.count("\n")
        if lines > MAX_LINES:
            large.append(f"{name}: {lines} lines")
    assert not large, "modules to split:\n" + "\n".join(large)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from mobileconfig.cli import x\n", "mobileconfig.cli"),
        ("def f():\n    from mobileconfig.cli import x\n", "mobileconfig.cli"),
    ],
)
def test_the_parser_sees_function_level_imports(
    tmp_path: Path, source: str, expected: str
) -> None:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    targets = {e.target for e in edges_of("mobileconfig.m", path, set())}
    assert targets == {expected}


def test_the_parser_skips_type_checking_imports(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mobileconfig.cli import x\n",
        encoding="utf-8",
    )
    assert list(edges_of("mobileconfig.m", path, set())) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
