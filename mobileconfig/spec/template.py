"""Templated values: Jinja2 renders each string value *after* the YAML is parsed.

Because rendering happens per value, a variable can never change the spec's structure:
a user name holding ``: ``, a quote, a newline or ``{{`` stays one string. Rendering runs
in Jinja2's sandbox with StrictUndefined, so an undefined variable is an error naming the
variable, the file and the line. Templates are compiled once per process and reused.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mobileconfig.errors import SpecError
from mobileconfig.spec.load import LoadedYAML, PathKey

__all__ = ["has_templates", "render_values"]

_MARKERS = ("{{", "{%", "{#")
_lock = threading.Lock()
_env = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    with _lock:
        return _env.from_string(source)


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
            return str(_compiled(source).render(context))
        except UndefinedError as exc:
            raise SpecError(
                f"undefined variable in template: {_undefined_name(exc)}",
                location=where,
                hint="pass it with --var NAME=VALUE, --vars FILE, or an inventory column",
            ) from None
        except TemplateError as exc:
            message = (exc.message or type(exc).__name__).splitlines()[0]
            raise SpecError(f"template error: {message}", location=where) from None
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise SpecError(f"template error: {exc}".splitlines()[0], location=where) from None

    return LoadedYAML(walk(loaded.value, ()), loaded.file, loaded.lines)


def _undefined_name(exc: UndefinedError) -> str:
    text = exc.message or ""
    # Jinja2 says "'email' is undefined" or "'dict object' has no attribute 'x'".
    if text.endswith(" is undefined"):
        return text.removesuffix(" is undefined")
    return text
