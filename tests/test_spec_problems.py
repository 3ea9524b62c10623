"""Spec mistakes, all of them, in the spec's own terms: FILE:LINE: where: what; the fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mobileconfig.spec.load import load_yaml
from mobileconfig.spec.model import ProfileSpec
from mobileconfig.spec.problems import MAX_PROBLEMS, SpecProblems, spec_problems

SPEC = """\
identifier: x
name: n
certificates:
  - {pth: a}
  - 5
platforms: [iOS, Andr]
wifi:
  - ssid: Corp
    eap: {method: tlss}
removal: maybe
"""


def problems_of(text: str) -> SpecProblems:
    loaded = load_yaml(text, file="profile.yaml")
    with pytest.raises(ValidationError) as info:
        ProfileSpec.model_validate(loaded.value, context={"base_dir": "."})
    return spec_problems(info.value, loaded, ProfileSpec)


def test_every_problem_of_a_file_in_one_run() -> None:
    err = problems_of(SPEC)
    lines = err.diagnostics().splitlines()
    assert lines[0] == "7 problems in the spec:"
    assert lines[1:] == [
        "profile.yaml:1: identifier: 'x' is not a reverse-DNS identifier; write it like "
        "com.example.certificates",
        "profile.yaml:4: certificates[0]: required key 'path' is missing; add it",
        "profile.yaml:4: certificates[0]: unknown key 'pth'; did you mean 'path'?",
        "profile.yaml:5: certificates[1]: the number 5 is not allowed here; write text (quote "
        "it if it looks like a number or a date) or a mapping (key: value lines)",
        "profile.yaml:6: platforms[1]: the text 'Andr' is not allowed here; write one of 'iOS', "
        "'macOS', 'tvOS', 'visionOS' or 'watchOS'",
        "profile.yaml:9: wifi[0] 'Corp' / eap / method: the text 'tlss' is not allowed here; "
        "write one of 'tls', 'ttls' or 'peap'",
        "profile.yaml:10: removal: the text 'maybe' is not allowed here; write 'allowed' or "
        "'disallowed' or a mapping (key: value lines)",
    ]


def test_no_pydantic_text_or_url() -> None:
    text = problems_of(SPEC).diagnostics()
    for phrase in (
        "pydantic",
        "errors.pydantic.dev",
        "Input should be",
        "Field required",
        "Extra inputs",
        "validation error",
        "type=",
        "input_value",
    ):
        assert phrase not in text


def test_json_form_names_file_line_path_and_message() -> None:
    data = problems_of(SPEC).to_json()
    assert data["more"] == 0
    assert data["errors"][5] == {
        "file": "profile.yaml",
        "line": 9,
        "path": "wifi[0].eap.method",
        "message": "the text 'tlss' is not allowed here; write one of 'tls', 'ttls' or 'peap'",
    }
    assert {e["path"] for e in data["errors"]} >= {"certificates[0].pth", "certificates[0].path"}


def test_problems_are_capped_and_counted() -> None:
    text = "identifier: com.example.x\nname: n\ncertificates:\n" + "".join(
        f"  - {{pth{i}: a}}\n" for i in range(30)
    )
    err = problems_of(text)
    assert len(err.problems) == MAX_PROBLEMS
    assert err.more > 0
    assert err.diagnostics().splitlines()[-1].startswith(f"... and {err.more} more problem(s)")
    assert err.to_json()["more"] == err.more


def test_first_problem_is_the_errors_own_message() -> None:
    err = problems_of("identifier: com.example.x\nname: n\ncertificates: [a.pem]\nscope: all\n")
    assert len(err.problems) == 1
    assert err.diagnostics() == (
        "profile.yaml:4: scope: the text 'all' is not allowed here; write one of 'system' or 'user'"
    )
    assert str(err.location) == "profile.yaml:4"


def test_control_characters_in_keys_are_escaped() -> None:
    err = problems_of(
        'identifier: com.example.x\nname: n\ncertificates: [a.pem]\n"bad\\x1bkey": 1\n'
    )
    assert "\x1b" not in err.diagnostics()
    assert "\\x1b" in err.diagnostics()
