"""Secrets: sources resolve lazily and once, and no text ever holds a value."""

from __future__ import annotations

import io
import json
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from mobileconfig.errors import SpecError
from mobileconfig.findings import Severity
from mobileconfig.secrets import Secret, inline_secret_finding

VALUE = "s3cr3t-Pa55-w0rd!"
OTHER = "an0ther-Va1ue?"


class Holder(BaseModel):
    password: Secret
    challenge: Secret | None = None


def texts(obj: object) -> list[str]:
    """Every way a value could leak into text."""
    out = [repr(obj), str(obj), f"{obj}", f"{obj!r}", "{}".format(obj)]  # noqa: UP032
    if isinstance(obj, Secret):
        out.append(f"{obj:>40}")
    return out


def assert_hidden(*items: object) -> None:
    for item in items:
        for text in texts(item):
            assert VALUE not in text, text
            assert OTHER not in text, text


# -- sources --------------------------------------------------------------------------------------
def test_env_reads_lazily_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MC_TEST_PW", raising=False)
    secret = Secret.parse({"env": "MC_TEST_PW"})  # not read yet: no error without the variable
    assert not secret.resolved
    monkeypatch.setenv("MC_TEST_PW", VALUE)
    assert secret.reveal() == VALUE
    assert secret.reveal_bytes() == VALUE.encode()
    monkeypatch.setenv("MC_TEST_PW", OTHER)
    assert secret.reveal() == VALUE  # kept: read once
    assert repr(secret) == "Secret(env:MC_TEST_PW)"
    assert secret.source == "env:MC_TEST_PW"
    assert not secret.plain
    assert_hidden(secret)


def test_env_missing_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MC_TEST_MISSING", raising=False)
    secret = Secret.parse({"env": "MC_TEST_MISSING"})
    with pytest.raises(SpecError) as info:
        secret.reveal()
    assert "MC_TEST_MISSING" in str(info.value)
    assert "not set" in str(info.value)


def test_env_empty_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MC_TEST_EMPTY", "")
    with pytest.raises(SpecError, match="MC_TEST_EMPTY is empty"):
        Secret.from_env("MC_TEST_EMPTY").reveal()


def test_file_relative_to_base_strips_one_newline(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pw.txt").write_text(VALUE + "\n\n")
    secret = Secret.parse({"file": "secrets/pw.txt"}, base=tmp_path)
    assert secret.reveal() == VALUE + "\n"  # one newline removed, not all
    (tmp_path / "crlf.txt").write_bytes(VALUE.encode() + b"\r\n")
    assert Secret.from_file("crlf.txt", base=tmp_path).reveal() == VALUE
    (tmp_path / "bare.txt").write_text(VALUE)
    assert Secret.from_file(tmp_path / "bare.txt").reveal() == VALUE
    assert repr(secret) == "Secret(file:secrets/pw.txt)"
    assert_hidden(secret)


def test_file_missing_names_the_file(tmp_path: Path) -> None:
    secret = Secret.parse({"file": "nope/pw.txt"}, base=tmp_path)
    with pytest.raises(SpecError) as info:
        secret.reveal()
    assert "nope/pw.txt" in str(info.value)
    assert "not found" in str(info.value)


def test_file_empty_and_folder_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SpecError, match="empty"):
        Secret.from_file("empty", base=tmp_path).reveal()
    with pytest.raises(SpecError, match="folder"):
        Secret.from_file(".", base=tmp_path).reveal()


def test_prompt_without_tty_says_use_env_or_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(VALUE + "\n"))
    secret = Secret.parse({"prompt": True})
    with pytest.raises(SpecError) as info:
        secret.reveal()
    text = str(info.value)
    assert "not a terminal" in text
    assert "{env: NAME}" in text and "{file: path}" in text
    assert VALUE not in text


def test_prompt_on_a_terminal_asks_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    asked: list[str] = []

    def getpass(prompt: str) -> str:
        asked.append(prompt)
        return VALUE

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", getpass)
    secret = Secret.parse({"prompt": "Password for alice.p12"})
    assert secret.reveal() == VALUE
    assert secret.reveal() == VALUE
    assert asked == ["Password for alice.p12: "]
    assert repr(secret) == "Secret(prompt)"
    assert_hidden(secret)


def test_plain_string_is_accepted_and_flagged() -> None:
    secret = Secret.parse(VALUE)
    assert secret.plain
    assert secret.reveal() == VALUE
    assert repr(secret) == "Secret(***)"
    assert_hidden(secret)
    finding = inline_secret_finding(secret, what="password of identity 'alice'")
    assert finding is not None
    assert finding.code == "MC304" and finding.severity is Severity.WARNING
    assert VALUE not in finding.format()
    assert inline_secret_finding(Secret.from_env("X"), what="x") is None


@pytest.mark.parametrize(
    "bad",
    [
        {"env": "A", "file": "b"},
        {},
        {"value": VALUE},
        {"env": 5},
        {"prompt": False},
        12345,
        [VALUE],
        None,
    ],
)
def test_bad_shapes_refused_without_the_value(bad: object) -> None:
    with pytest.raises(SpecError) as info:
        Secret.parse(bad)
    assert VALUE not in str(info.value)


# -- never the value ------------------------------------------------------------------------------
def test_errors_and_texts_never_hold_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MC_TEST_PW", VALUE)
    (tmp_path / "pw").write_text(OTHER)
    items = [
        Secret.from_env("MC_TEST_PW"),
        Secret.from_file("pw", base=tmp_path),
        Secret.from_plain(VALUE),
    ]
    for s in items:
        s.reveal()
    assert_hidden(*items, items, {"a": items[0]}, tuple(items))


def test_pydantic_field_dump_json_and_repr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MC_TEST_PW", VALUE)
    (tmp_path / "challenge.txt").write_text(OTHER + "\n")
    model = Holder.model_validate(
        {"password": {"env": "MC_TEST_PW"}, "challenge": {"file": "challenge.txt"}},
        context={"base_dir": tmp_path},
    )
    assert model.password.reveal() == VALUE
    assert model.challenge is not None and model.challenge.reveal() == OTHER
    dumped = model.model_dump()
    assert dumped == {"password": {"env": "MC_TEST_PW"}, "challenge": {"file": "challenge.txt"}}
    as_json = model.model_dump_json()
    assert json.loads(as_json) == dumped
    assert_hidden(model, dumped, as_json, model.model_dump(mode="json"))
    # the dump is the source again: it reads back
    again = Holder.model_validate(dumped, context={"base_dir": tmp_path})
    assert again.password == model.password

    inline = Holder.model_validate({"password": VALUE})
    assert inline.password.plain
    assert inline.model_dump() == {"password": "***", "challenge": None}
    assert_hidden(inline, inline.model_dump_json())


def test_pydantic_errors_hide_the_input() -> None:
    with pytest.raises(ValidationError) as info:
        Holder.model_validate({"password": {"value": VALUE}})
    assert VALUE not in str(info.value)
    assert VALUE not in info.value.json()
    assert VALUE not in repr(info.value.errors())
    with pytest.raises(ValidationError) as info:
        Holder.model_validate_json(json.dumps({"password": [VALUE]}))
    assert VALUE not in str(info.value)


def test_json_schema_is_one_of_the_four_forms() -> None:
    schema = TypeAdapter(Secret).json_schema()
    forms = schema["oneOf"]
    assert forms[0]["type"] == "string"
    assert [f["required"] for f in forms[1:]] == [["env"], ["file"], ["prompt"]]
    assert all(f["additionalProperties"] is False for f in forms[1:])
    # and inside a model, beside None
    model_schema = Holder.model_json_schema()
    assert "oneOf" in model_schema["properties"]["password"]
    json.dumps(model_schema)


# -- pickling (batch across processes) ------------------------------------------------------------
def test_pickle_carries_the_source_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MC_TEST_PW", VALUE)
    secret = Secret.from_env("MC_TEST_PW")
    secret.reveal()
    data = pickle.dumps(secret)
    assert VALUE.encode() not in data
    monkeypatch.setenv("MC_TEST_PW", OTHER)
    copy = pickle.loads(data)
    assert not copy.resolved
    assert copy.reveal() == OTHER  # the worker reads the variable again
    assert copy == secret


def test_pickle_of_a_file_secret_reads_the_file_again(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(VALUE)
    secret = Secret.from_file("pw", base=tmp_path)
    secret.reveal()
    data = pickle.dumps(secret)
    assert VALUE.encode() not in data
    (tmp_path / "pw").write_text(OTHER)
    assert pickle.loads(data).reveal() == OTHER


def test_pickle_of_an_inline_value_carries_it() -> None:
    # An inline value has no other source; the worker needs it (documented choice).
    assert pickle.loads(pickle.dumps(Secret.from_plain(VALUE))).reveal() == VALUE


def test_equality_and_hash_use_the_source(tmp_path: Path) -> None:
    assert Secret.from_env("A") == Secret.parse({"env": "A"})
    assert Secret.from_env("A") != Secret.from_env("B")
    assert Secret.from_file("x", base=tmp_path) == Secret.from_file(tmp_path / "x")
    assert len({Secret.from_env("A"), Secret.from_env("A")}) == 1
    assert Secret.from_plain(VALUE) == Secret.from_plain(VALUE)
    assert Secret.from_plain(VALUE) != Secret.from_plain(OTHER)
