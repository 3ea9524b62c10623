"""Templated values: Jinja2 renders each string value *after* the YAML is parsed.

Because rendering happens per value, a variable can never change the spec's structure:
a user name holding ``: ``, a quote, a newline or ``{{`` stays one string. Rendering runs
in Jinja2's sandbox with StrictUndefined, so an undefined variable is an error naming the
variable, the file and the line. Templates are compiled once per process and reused.
"""

from __future__ import annotations

import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mobileconfig.errors import SpecError
from mobileconfig.spec.load import LoadedYAML, PathKey

__all__ = [
    "MAX_TEMPLATE_DEPTH",
    "MAX_TEMPLATE_OUTPUT",
    "MAX_TEMPLATE_SECONDS",
    "MAX_TEMPLATE_STEPS",
    "TemplateLimit",
    "bounded_render",
    "compile_template",
    "has_templates",
    "render_values",
    "template_problem",
]

# -- bounds on one render --------------------------------------------------------------
# Jinja2's sandbox stops a template from reaching Python's internals, not from using the
# machine: "{{ 'a' * 10**10 }}" asks for 10 GB, a macro that calls itself overflows the
# stack, "{% for i in range(10**9) %}" never ends. Templates are part of the spec, which
# you write, but --name and per-user specs come from scripts and inventories, so every
# render is bounded here, by counting (the same template always stops at the same point,
# whatever the machine) and, as a last resort, by time.

#: Loop turns plus calls (filters, macros, methods) one render may make.
MAX_TEMPLATE_STEPS = 100_000
#: Characters one render may produce, its output and every intermediate string counted.
MAX_TEMPLATE_OUTPUT = 1024 * 1024
#: Calls nested in one another (a macro calling itself).
MAX_TEMPLATE_DEPTH = 32
#: Wall-clock seconds one render may take.
MAX_TEMPLATE_SECONDS = 5.0
#: Bits of an integer a template may compute (2**4096 has 1,234 digits).
MAX_TEMPLATE_INT_BITS = 4096


class TemplateLimit(SecurityError):
    """A template went past one of the bounds above (a Jinja2 ``TemplateError``)."""


@dataclass
class _Budget:
    steps: int = 0
    produced: int = 0
    depth: int = 0
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_TEMPLATE_SECONDS)

    def step(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > MAX_TEMPLATE_STEPS:
            raise TemplateLimit(
                f"the template makes more than {MAX_TEMPLATE_STEPS} loop turns and calls"
            )
        if self.steps % 64 == 0:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"the template ran for more than {MAX_TEMPLATE_SECONDS:g} s")

    def produce(self, n: int) -> None:
        self.produced += n
        if self.produced > MAX_TEMPLATE_OUTPUT:
            raise TemplateLimit(f"the template produces more than {MAX_TEMPLATE_OUTPUT} characters")


_BUDGET: ContextVar[_Budget | None] = ContextVar("mobileconfig_template_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:  # rendered without bounded_render: bound it all the same
        budget = _Budget()
        _BUDGET.set(budget)
    return budget


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _width_ok(width: Any) -> None:
    if isinstance(width, int) and width > MAX_TEMPLATE_OUTPUT:
        raise TemplateLimit(f"a width of {width} is over {MAX_TEMPLATE_OUTPUT} characters")


#: A printf conversion's width or precision ("%10d", "%.5s", "%*d").
_PRINTF = re.compile(r"%[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")
_DIGITS = re.compile(r"\d+")


def _check_printf(text: str) -> None:
    for width, precision in _PRINTF.findall(text):
        for part in (width, precision):
            if part == "*" or (part and int(part[:8]) > MAX_TEMPLATE_OUTPUT):
                raise TemplateLimit("a % format with a computed or huge width")


def _check_format(text: str) -> None:
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format reports it
    for _literal, _name, spec, _conversion in fields:
        if spec and (
            "{" in spec or any(int(d[:8]) > MAX_TEMPLATE_OUTPUT for d in _DIGITS.findall(spec))
        ):
            raise TemplateLimit("a format spec with a computed or huge width")


def _check_int(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_TEMPLATE_INT_BITS:
        raise TemplateLimit(f"a number of more than {MAX_TEMPLATE_INT_BITS} bits")
    return value


def _binop_bound(operator: str, left: Any, right: Any) -> None:
    """Refuse, before Python computes it, a result over the bounds."""
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(count, int):
                _budget().produce(len(seq) * max(count, 0))
        both_int = isinstance(left, int) and isinstance(right, int)
        if both_int and left.bit_length() + right.bit_length() > MAX_TEMPLATE_INT_BITS:
            raise TemplateLimit(f"a number of more than {MAX_TEMPLATE_INT_BITS} bits")
    elif operator == "**":
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right > 0
            and left.bit_length() * right > MAX_TEMPLATE_INT_BITS
        ):
            raise TemplateLimit(f"a number of more than {MAX_TEMPLATE_INT_BITS} bits")
    elif operator == "+":
        if isinstance(left, str | bytes | list | tuple) and isinstance(right, type(left)):
            _budget().produce(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        _check_printf(left)


def _method_bound(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A str method's arguments checked for the size of what it returns; ``args`` as the
    call must use them (an iterable to join is read once, here)."""
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if not isinstance(owner, str):
        return args
    if name in ("center", "ljust", "rjust", "zfill"):
        _width_ok(args[0] if args else kwargs.get("width"))
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        _budget().produce(len(owner) * max(tab if isinstance(tab, int) else 8, 1))
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            times = owner.count(old) if old else len(owner) + 1
            _budget().produce(len(owner) + times * len(new))
    elif name == "join" and args:
        items = list(_limited(args[0]))
        _budget().produce(sum(_size(i) for i in items) + len(owner) * len(items))
        return (items, *args[1:])
    elif name in ("translate", "maketrans"):
        raise TemplateLimit(f"str.{name} is not available in templates")
    return args


def _limited(items: Iterable[Any], literal: int = 0) -> Iterator[Any]:
    """Each item of a loop or a join, one step each (and the loop body's own text)."""
    budget = _budget()
    for item in items:
        budget.step()
        if literal:
            budget.produce(literal)
        yield item


class _Environment(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with every render bounded (see the constants above)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=self._finalize,
        )
        self.globals["range"] = _range
        self.globals["lipsum"] = _lipsum
        self.filters["mc_loop"] = _limited
        self.filters["mc_concat"] = _concat
        for name in ("center", "indent", "wordwrap", "format", "replace", "join", "batch", "slice"):
            self.filters[name] = _bounded_filter(name, self.filters[name])

    @staticmethod
    def _finalize(value: Any) -> Any:
        _budget().produce(_size(value) if isinstance(value, str) else 8)
        return value

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _binop_bound(operator, left, right)
        return _check_int(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.step()
        args = _method_bound(__obj, args, kwargs)
        budget.depth += 1
        try:
            if budget.depth > MAX_TEMPLATE_DEPTH:
                raise TemplateLimit(
                    f"the template nests calls more than {MAX_TEMPLATE_DEPTH} deep "
                    "(a macro that calls itself?)"
                )
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        budget.produce(_size(result))
        return result

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _instrument(super()._parse(source, name, filename))


def _instrument(tree: nodes.Template) -> nodes.Template:
    """Route every loop through ``mc_loop`` (a step per turn, and the body's text counted)
    and every ``~`` through ``mc_concat``: the two things a template does without a call
    or an operator the sandbox intercepts."""
    for loop in tree.find_all(nodes.For):
        literal = sum(len(d.data) for d in loop.find_all(nodes.TemplateData))
        wrapped = nodes.Filter(loop.iter, "mc_loop", [nodes.Const(literal)], [], None, None)
        loop.iter = wrapped.set_lineno(loop.lineno)
    for concat in list(tree.find_all(nodes.Concat)):
        parts = nodes.List(list(concat.nodes)).set_lineno(concat.lineno)
        replacement = nodes.Filter(parts, "mc_concat", [], [], None, None)
        replacement.set_lineno(concat.lineno)
        concat.nodes = [replacement]
    tree.set_environment(_env)
    return tree


def _concat(parts: list[Any]) -> str:
    budget = _budget()
    budget.step()
    text = "".join(str(p) for p in parts)
    budget.produce(len(text))
    return text


def _range(*args: Any) -> range:
    values = range(*args)
    if len(values) > MAX_TEMPLATE_STEPS:
        raise TemplateLimit(f"range of {len(values)} numbers, over {MAX_TEMPLATE_STEPS}")
    return values


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    from jinja2.utils import generate_lorem_ipsum

    if not all(isinstance(v, int) for v in (n, min, max)) or n > 100 or max > 1000:
        raise TemplateLimit("lipsum() takes at most 100 paragraphs of at most 1000 words")
    _budget().produce(n * max * 12)
    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in filter that refuses arguments that would make its result huge."""

    skip = 1 if hasattr(original, "jinja_pass_arg") else 0

    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.step()
        head, args = args[:skip], args[skip:]  # the context a filter asks for comes first
        value = args[0] if args else None
        rest = args[1:]
        if name == "center":
            _width_ok(rest[0] if rest else kwargs.get("width"))
        elif name == "indent":
            width = rest[0] if rest else kwargs.get("width", 4)
            lines = str(value).count("\n") + 1
            budget.produce((len(width) if isinstance(width, str) else max(int(width), 0)) * lines)
        elif name == "wordwrap":
            wrap = kwargs.get("wrapstring") or (rest[2] if len(rest) > 2 else None) or "\n"
            budget.produce(len(str(value)) * (1 + len(str(wrap))))
        elif name == "format" and isinstance(value, str):
            _check_printf(value)
        elif name == "replace" and len(rest) >= 2:
            text, old, new = str(value), str(rest[0]), str(rest[1])
            times = text.count(old) if old else len(text) + 1
            budget.produce(len(text) + times * len(new))
        elif name == "join" and value is not None:
            value = list(_limited(value))
            budget.produce(sum(_size(str(v)) for v in value))
            args = (value, *rest)
        elif name in ("batch", "slice"):
            count = rest[0] if rest else kwargs.get("linecount", kwargs.get("slices"))
            if isinstance(count, int) and count > MAX_TEMPLATE_STEPS:
                raise TemplateLimit(f"{name} of {count}, over {MAX_TEMPLATE_STEPS}")
        result = original(*head, *args, **kwargs)
        budget.produce(_size(result) if isinstance(result, str) else 0)
        return result

    bounded.__name__ = original.__name__
    # Filters that take the context or the environment keep saying so.
    for marker in ("jinja_pass_arg",):
        if hasattr(original, marker):
            setattr(bounded, marker, getattr(original, marker))
    return bounded


_MARKERS = ("{{", "{%", "{#")
_lock = threading.Lock()
_env = _Environment()


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    with _lock:
        return _env.from_string(source)


def compile_template(source: str) -> Any:
    """``source`` compiled in the bounded sandbox (cached per process); raises Jinja2's
    ``TemplateSyntaxError``."""
    return _compiled(source)


def bounded_render(template: Any, context: Mapping[str, Any]) -> str:
    """Render ``template`` (from :func:`compile_template`) within the bounds above; raises
    :class:`TemplateLimit` past one, and whatever Jinja2 raises otherwise."""
    budget = _Budget()
    token = _BUDGET.set(budget)
    try:
        chunks: list[str] = []
        for chunk in template.generate(context):
            budget.produce(len(chunk))
            budget.check_time()
            chunks.append(chunk)
        return "".join(chunks)
    finally:
        _BUDGET.reset(token)


def _is_template(value: str) -> bool:
    return any(m in value for m in _MARKERS)


def has_templates(value: Any) -> bool:
    """True when any string in ``value`` holds Jinja2 markup."""
    if isinstance(value, str):
        return _is_template(value)
    if isinstance(value, dict):
        return any(has_templates(v) for v in value.values())
    if isinstance(value, list):
        return any(has_templates(v) for v in value)
    return False


def render_values(loaded: LoadedYAML, variables: Mapping[str, Any]) -> LoadedYAML:
    """A copy of ``loaded`` with every templated string rendered with ``variables``."""
    context = dict(variables)

    def walk(value: Any, path: PathKey) -> Any:
        if isinstance(value, str):
            return _render(value, path) if _is_template(value) else value
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    def _render(source: str, path: PathKey) -> str:
        where = loaded.location(path)
        try:
            return bounded_render(_compiled(source), context)
        except UndefinedError as exc:
            if not (exc.message or "").endswith(" is undefined"):  # "No random item..."
                raise SpecError(template_problem(exc), location=where) from None
            raise SpecError(
                f"undefined variable in template: {_undefined_name(exc)}",
                location=where,
                hint="pass it with --var NAME=VALUE, --vars FILE, or an inventory column",
            ) from None
        except TemplateError as exc:
            message = (exc.message or type(exc).__name__).splitlines()[0]
            raise SpecError(f"template error: {message}", location=where) from None
        except Exception as exc:
            # Whatever else a template raises (1/0, []|random, a RecursionError) is the
            # template's error, not the program's: one line naming the value's place.
            raise SpecError(template_problem(exc), location=where) from None

    return LoadedYAML(walk(loaded.value, ()), loaded.file, loaded.lines)


def template_problem(exc: Exception) -> str:
    """One line saying why a template failed to render (not for UndefinedError)."""
    if isinstance(exc, TemplateError):
        text = exc.message or type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"template error: {text.splitlines()[0] if text else type(exc).__name__}"


def _undefined_name(exc: UndefinedError) -> str:
    text = exc.message or ""
    # Jinja2 says "'email' is undefined" or "'dict object' has no attribute 'x'".
    if text.endswith(" is undefined"):
        return text.removesuffix(" is undefined")
    return text
