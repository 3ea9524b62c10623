"""Secrets: passwords and challenges that must never be printed.

A :class:`Secret` is where a value comes from, not the value: an environment variable
(``{env: NAME}``), a file (``{file: PATH}``, relative to the spec's folder), a prompt
(``{prompt: true}``, only on a terminal) or, discouraged, the value written inline in the
spec. The value is read on first use (:meth:`Secret.reveal`) and kept for the life of the
object.

No text this module produces holds a value: ``repr``, ``str``, ``format``, pydantic dumps
and JSON show the source (``Secret(env:ALICE_P12_PASSWORD)``), and errors name the variable
or the file. Pickling carries the source, never the value, so a worker process of a batch
reads the variable or the file again; the two sources that cannot be read again (an inline
value and an answered prompt) travel as their value, which the worker needs.
"""

from __future__ import annotations

import getpass
import hmac
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from mobileconfig.errors import Location, SpecError
from mobileconfig.files import path_problem, read_limited
from mobileconfig.findings import CertificateRef, Finding, make_finding

__all__ = [
    "MAX_SECRET_FILE",
    "Secret",
    "SecretKind",
    "inline_secret_finding",
]

SecretKind = Literal["env", "file", "prompt", "plain"]

#: A secret file larger than this is refused (a password file is a few bytes).
MAX_SECRET_FILE = 64 * 1024

_HIDDEN = "***"


class Secret:
    """A secret value and where it comes from; the value is read lazily, once.

    Build one with :meth:`parse` (the spec's forms), or :meth:`from_env`, :meth:`from_file`,
    :meth:`from_prompt`, :meth:`from_plain`. As a pydantic field type it accepts the same
    forms and dumps only the source.
    """

    __slots__ = ("_base", "_kind", "_label", "_location", "_lock", "_ref", "_value")

    def __init__(
        self,
        kind: SecretKind,
        ref: str,
        *,
        base: Path | None = None,
        location: Location | None = None,
        value: str | None = None,
    ) -> None:
        if kind not in ("env", "file", "prompt", "plain"):
            raise ValueError(f"unknown secret kind {kind!r}")
        self._kind: SecretKind = kind
        # env: the variable's name; file: the path as written; prompt: the prompt's label;
        # plain: empty (the value is the source).
        self._ref = ref
        self._base = base
        self._location = location
        self._value = value
        self._lock = threading.Lock()

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_env(cls, name: str, *, location: Location | None = None) -> Secret:
        if not name or "=" in name or "\0" in name:
            raise SpecError(f"{name!r} is not an environment variable name", location=location)
        return cls("env", name, location=location)

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        base: Path | str | None = None,
        location: Location | None = None,
    ) -> Secret:
        text = os.fspath(path)
        if not text:
            raise SpecError("secret file path is empty", location=location)
        return cls("file", text, base=Path(base) if base is not None else None, location=location)

    @classmethod
    def from_prompt(cls, label: str = "password", *, location: Location | None = None) -> Secret:
        return cls("prompt", label or "password", location=location)

    @classmethod
    def from_plain(cls, value: str, *, location: Location | None = None) -> Secret:
        return cls("plain", "", location=location, value=value)

    @classmethod
    def parse(
        cls, value: object, *, base: Path | str | None = None, location: Location | None = None
    ) -> Secret:
        """A secret from the spec's forms: ``{env: NAME}``, ``{file: PATH}``,
        ``{prompt: true}`` (or ``{prompt: "label"}``), or a string (an inline value).

        Raises :class:`SpecError` for anything else; the message never holds a value.
        """
        if isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return cls.from_plain(value, location=location)
        if isinstance(value, Mapping):
            keys = set(value)
            if len(keys) != 1 or not keys <= {"env", "file", "prompt"}:
                shown = ", ".join(sorted(str(k) for k in keys)) or "nothing"
                raise SpecError(
                    f"a secret has exactly one of env, file or prompt (found: {shown})",
                    location=location,
                    hint="write {env: NAME}, {file: path} or {prompt: true}",
                )
            (key,) = keys
            ref = value[key]
            if key == "env":
                if not isinstance(ref, str):
                    raise SpecError("env: takes an environment variable name", location=location)
                return cls.from_env(ref, location=location)
            if key == "file":
                if not isinstance(ref, str | os.PathLike):
                    raise SpecError("file: takes a path", location=location)
                return cls.from_file(ref, base=base, location=location)
            if ref is True:
                return cls.from_prompt(location=location)
            if isinstance(ref, str) and ref:
                return cls.from_prompt(ref, location=location)
            raise SpecError("prompt: takes true or a label", location=location)
        if isinstance(value, bool | int | float):
            raise SpecError(
                f"a secret cannot be a {type(value).__name__}",
                location=location,
                hint="quote an inline value, or better use {env: NAME} or {file: path}",
            )
        raise SpecError(
            f"a secret cannot be a {type(value).__name__}",
            location=location,
            hint="write {env: NAME}, {file: path} or {prompt: true}",
        )

    # -- facts that are not the value --------------------------------------------------
    @property
    def kind(self) -> SecretKind:
        return self._kind

    @property
    def plain(self) -> bool:
        """True when the value was written inline in the spec (callers warn: MC304)."""
        return self._kind == "plain"

    @property
    def location(self) -> Location | None:
        return self._location

    @property
    def source(self) -> str:
        """Where the value comes from, safe to show: ``env:NAME``, ``file:PATH``,
        ``prompt``, or ``***`` for an inline value."""
        if self._kind == "env":
            return f"env:{self._ref}"
        if self._kind == "file":
            return f"file:{self._ref}"
        if self._kind == "prompt":
            return "prompt"
        return _HIDDEN

    @property
    def resolved(self) -> bool:
        return self._value is not None

    def describe(self) -> dict[str, Any] | str:
        """The source in the spec's own form: ``{"env": NAME}``, ``{"file": PATH}``,
        ``{"prompt": True}``, or ``"***"`` for an inline value (which cannot be shown)."""
        if self._kind == "env":
            return {"env": self._ref}
        if self._kind == "file":
            return {"file": self._ref}
        if self._kind == "prompt":
            return {"prompt": True if self._ref == "password" else self._ref}
        return _HIDDEN

    # -- the value ------------------------------------------------------------------
    def reveal(self) -> str:
        """The value, read on first call and kept. Raises :class:`SpecError` naming the
        variable or the file (never the value) when it cannot be read."""
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._read()
            return self._value

    def reveal_bytes(self) -> bytes:
        """The value as UTF-8 bytes (what PKCS#12 and CMS functions take)."""
        return self.reveal().encode("utf-8")

    def _read(self) -> str:
        if self._kind == "env":
            value = os.environ.get(self._ref)
            if value is None:
                raise SpecError(
                    f"environment variable {self._ref} is not set",
                    location=self._location,
                    hint=f"export {self._ref} before running, or use {{file: path}}",
                )
            if value == "":
                raise SpecError(
                    f"environment variable {self._ref} is empty", location=self._location
                )
            try:  # bytes that are not UTF-8 arrive as lone surrogates, which nothing encodes
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise SpecError(
                    f"environment variable {self._ref} is not UTF-8 text",
                    location=self._location,
                    hint="set it as UTF-8, or keep the value in a UTF-8 file ({file: path})",
                ) from None
            return value
        if self._kind == "file":
            return self._read_file()
        if self._kind == "prompt":
            return self._ask()
        raise AssertionError("an inline secret always has its value")  # pragma: no cover

    def _path(self) -> Path:
        path = Path(self._ref).expanduser()
        if not path.is_absolute() and self._base is not None:
            path = self._base / path
        return path

    def _read_file(self) -> str:
        shown = self._ref
        if path_problem(shown):
            raise SpecError(
                f"secret file {shown!r} has a NUL byte in its name", location=self._location
            )
        path = self._path()

        def error(problem: str) -> SpecError:
            hint = f"looked for {path}" if problem == "not found" and str(path) != shown else None
            return SpecError(f"secret file {shown} {problem}", location=self._location, hint=hint)

        # Regular files only, bounded: a FIFO would hang, /dev/zero would never end.
        data = read_limited(path, MAX_SECRET_FILE, error=error)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError(
                f"secret file {shown} is not UTF-8 text", location=self._location
            ) from None
        text = text.removeprefix("\ufeff")
        if text.endswith("\r\n"):
            text = text[:-2]
        elif text.endswith("\n"):
            text = text[:-1]
        if text == "":
            raise SpecError(f"secret file {shown} is empty", location=self._location)
        return text

    def _ask(self) -> str:
        stdin = sys.stdin
        if stdin is None or not stdin.isatty():
            raise SpecError(
                f"cannot prompt for {self._ref}: standard input is not a terminal",
                location=self._location,
                hint="give the secret with {env: NAME} or {file: path}",
            )
        from mobileconfig.text import printable

        value = getpass.getpass(printable(f"{self._ref}: "))  # the label comes from the spec
        if value == "":
            raise SpecError(f"no {self._ref} was entered", location=self._location)
        return value

    # -- never the value ---------------------------------------------------------------
    def __repr__(self) -> str:
        return f"Secret({self.source})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        if self._kind != other._kind:
            return False
        if self._kind == "plain":
            return hmac.compare_digest(self.reveal_bytes(), other.reveal_bytes())
        return self._path_key() == other._path_key()

    def _path_key(self) -> str:
        return str(self._path()) if self._kind == "file" else self._ref

    def __hash__(self) -> int:
        return hash((self._kind, self._path_key() if self._kind != "plain" else ""))

    def __reduce__(self) -> tuple[Any, ...]:
        # The source travels; a value only when it has no other source (inline, prompted).
        carried = self._value if self._kind in ("plain", "prompt") else None
        return (_restore, (self._kind, self._ref, self._base, self._location, carried))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    # -- pydantic -----------------------------------------------------------------------
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Two steps, so that a refused input reaches pydantic's error text only as
        # "<secret input>": the first step wraps whatever came, the second reads it.
        return core_schema.chain_schema(
            [
                core_schema.no_info_plain_validator_function(_Redacted),
                core_schema.with_info_plain_validator_function(_validate),
            ],
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize, when_used="always"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        def one(key: str, value: dict[str, Any], description: str) -> dict[str, Any]:
            return {
                "type": "object",
                "properties": {key: value},
                "required": [key],
                "additionalProperties": False,
                "description": description,
            }

        return {
            "title": "Secret",
            "description": "A password or challenge, never printed. Prefer env or file.",
            "oneOf": [
                {"type": "string", "description": "the value inline (discouraged: warns MC304)"},
                one(
                    "env", {"type": "string", "minLength": 1}, "read from this environment variable"
                ),
                one(
                    "file",
                    {"type": "string", "minLength": 1},
                    "read from this file (relative to the spec's folder), one trailing newline "
                    "removed",
                ),
                one(
                    "prompt",
                    {"oneOf": [{"const": True}, {"type": "string", "minLength": 1}]},
                    "asked for on the terminal (true, or the prompt's label)",
                ),
            ],
        }


def _restore(
    kind: SecretKind, ref: str, base: Path | None, location: Location | None, value: str | None
) -> Secret:
    return Secret(kind, ref, base=base, location=location, value=value)


class _Redacted:
    """An input on its way to becoming a Secret; shows nothing of itself."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret input>"


def _validate(wrapped: Any, info: core_schema.ValidationInfo) -> Secret:
    value = wrapped.value if isinstance(wrapped, _Redacted) else wrapped
    base: Path | str | None = None
    context = info.context
    if isinstance(context, Mapping):
        raw = context.get("base_dir")
        if isinstance(raw, str | Path):
            base = raw
    try:
        return Secret.parse(value, base=base)
    except SpecError as exc:
        # Re-raised as ValueError so pydantic reports it at the field's place.
        raise ValueError(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None


def _serialize(value: Secret) -> dict[str, Any] | str:
    return value.describe()


def inline_secret_finding(
    secret: Secret,
    *,
    what: str,
    location: Location | None = None,
    certificate: CertificateRef | None = None,
) -> Finding | None:
    """MC304 when ``secret`` was written inline in the spec; None otherwise.

    ``what`` names the secret for the user, e.g. ``"password of identity 'alice'"``.
    """
    if not secret.plain:
        return None
    return make_finding(
        "MC304",
        f"the {what} is written in the spec itself",
        location=location or secret.location,
        certificate=certificate,
    )
