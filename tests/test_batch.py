"""Batch builds: one profile per inventory row, bad rows reported, others still built."""

from __future__ import annotations

import csv
import json
import plistlib
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import CLIResult
from pki import Issued, issue, openssl_pkcs12

SPEC = """identifier: "com.example.user.{{ user }}"
name: "{{ name }}"
description: "Profile for {{ email }}"
certificates: [root.pem]
payloads:
  - PayloadType: com.example.note
    Note: "{{ note }}"
"""

HOSTILE = ["a: b", "line one\nline two", 'say "hi"', "{{ 7 * 7 }}", "&anchor *alias", "<x>&amp;"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    issue("Batch Root CA").write(tmp_path / "root.pem")
    (tmp_path / "profile.yaml").write_text(SPEC)
    return tmp_path


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(i: int, **extra: str) -> dict[str, str]:
    return {"user": f"u{i}", "name": f"User {i}", "email": f"u{i}@example.com", "note": "n",
            **extra}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_hostile_values_stay_literal(folder: Path, run_cli: Callable[..., CLIResult],
                                     jobs: str) -> None:
    rows = [_row(i, name=v, note=v) for i, v in enumerate(HOSTILE)]
    inv = _csv(folder / "inv.csv", rows)
    out = folder / "out"
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir", out,
                     "--jobs", jobs, "--name", "{{ user }}.mobileconfig")
    assert result.code == 0, result
    assert f"built {len(HOSTILE)} of {len(HOSTILE)}" in result.err
    for i, value in enumerate(HOSTILE):
        profile = plistlib.loads((out / f"u{i}.mobileconfig").read_bytes())
        assert profile["PayloadDisplayName"] == value
        assert profile["PayloadContent"][-1]["Note"] == value


def test_json_inventory_and_default_names(folder: Path, run_cli: Callable[..., CLIResult]) -> None:
    inv = folder / "inv.json"
    inv.write_text(json.dumps([_row(1), _row(2)]))
    out = folder / "out"
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir", out)
    assert result.code == 0, result
    assert sorted(p.name for p in out.iterdir()) == [
        "com.example.user.u1.mobileconfig", "com.example.user.u2.mobileconfig"]


def test_bad_rows_are_reported_and_others_built(folder: Path,
                                                run_cli: Callable[..., CLIResult]) -> None:
    rows = [_row(1), _row(2, user="bad id with spaces"), _row(3)]
    inv = _csv(folder / "inv.csv", rows)
    (folder / "profile.yaml").write_text(SPEC + 'organization: "{{ missing_column }}"\n')
    out = folder / "out"
    report = folder / "report.json"
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir", out,
                     "--name", "{{ loop_index | default(name) }}.mobileconfig", "--report", report)
    assert result.code == 1
    data = json.loads(report.read_text())
    assert data["failed"] == 3 and data["built"] == 0
    assert "undefined variable in template: 'missing_column'" in data["failures"][0]["reason"]

    (folder / "profile.yaml").write_text(SPEC)
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir", out,
                     "--name", "{{ name }}.mobileconfig", "--report", report)
    assert result.code == 1
    data = json.loads(report.read_text())
    assert (data["built"], data["failed"]) == (2, 1)
    (failure,) = data["failures"]
    assert failure["row"] == 2 and "inv.csv:3" in failure["where"]
    assert "reverse-DNS" in failure["reason"]
    assert "row 2 (" in result.err
    assert sorted(p.name for p in out.iterdir()) == ["User 1.mobileconfig", "User 3.mobileconfig"]


def test_fail_fast_stops(folder: Path, run_cli: Callable[..., CLIResult]) -> None:
    rows = [_row(1, user="bad id"), *[_row(i) for i in range(2, 6)]]
    inv = _csv(folder / "inv.csv", rows)
    out = folder / "out"
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir", out,
                     "--name", "{{ user }}.x", "--fail-fast", "--jobs", "1")
    assert result.code == 1
    assert "built 0 of 5" in result.err


@pytest.mark.parametrize(
    ("name", "message"),
    [("same.mobileconfig", "rows 1 and 2 would both write 'same.mobileconfig'"),
     ("../{{ user }}.mobileconfig", "leaves the output folder"),
     ("/etc/{{ user }}", "leaves the output folder"),
     ("{{ nope }}.x", "'nope' is undefined")],
)
def test_output_names_checked_before_anything_is_built(
    folder: Path, run_cli: Callable[..., CLIResult], name: str, message: str
) -> None:
    inv = _csv(folder / "inv.csv", [_row(1), _row(2)])
    out = folder / "out"
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir", out,
                     "--name", name)
    assert result.code == 2, result
    assert message in result.err
    assert not any(out.iterdir())


def test_a_subfolder_linked_out_of_the_output_folder_is_refused(
    folder: Path, run_cli: Callable[..., CLIResult]
) -> None:
    """Names with a folder in them are resolved: a link inside --out-dir cannot carry a
    profile elsewhere."""
    inv = _csv(folder / "inv.csv", [_row(1), _row(2)])
    out = folder / "out"
    out.mkdir()
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere)
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir", out,
                     "--name", "sub/{{ user }}.mobileconfig")
    assert result.code == 2, result
    assert "leaves the output folder" in result.err
    assert not any(elsewhere.iterdir())


def test_a_link_named_like_an_output_is_refused_not_followed(
    folder: Path, run_cli: Callable[..., CLIResult]
) -> None:
    """Plain names are not resolved one by one (that cost the batch's serial part): a link
    already in --out-dir under a row's name fails that row at the writer, which never
    writes through a link, and what it pointed at is left alone; the other rows go on."""
    inv = _csv(folder / "inv.csv", [_row(1), _row(2)])
    out = folder / "out"
    out.mkdir()
    victim = folder / "victim.txt"
    victim.write_text("keep me\n")
    (out / "u1.mobileconfig").symlink_to(victim)
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir", out,
                     "--name", "{{ user }}.mobileconfig", "--jobs", "1")
    assert result.code == 1, result
    assert "row 1 (" in result.err and "built 1 of 2" in result.err
    assert victim.read_text() == "keep me\n"
    assert (out / "u1.mobileconfig").is_symlink()
    assert (out / "u2.mobileconfig").read_bytes().startswith(b"<?xml")


def test_resume_skips_complete_outputs(folder: Path, run_cli: Callable[..., CLIResult]) -> None:
    inv = _csv(folder / "inv.csv", [_row(i) for i in range(4)])
    out = folder / "out"
    args = ("build", folder / "profile.yaml", "--each", inv, "--out-dir", out, "--name",
            "{{ user }}.mobileconfig")
    assert run_cli(*args).code == 0
    (out / "u1.mobileconfig").unlink()
    (out / "u2.mobileconfig").write_bytes(b"<?xml half a file")
    result = run_cli(*args, "--resume")
    assert result.code == 0
    assert "built 2 of 4" in result.err and "2 skipped" in result.err
    plistlib.loads((out / "u2.mobileconfig").read_bytes())


def test_bad_inventories(folder: Path, run_cli: Callable[..., CLIResult]) -> None:
    spec = folder / "profile.yaml"
    cases = {
        "empty.csv": ("", "needs a header row"),
        "ragged.csv": ("user,name\nu1\n", "row has 1 values for 2 columns"),
        "dup.csv": ("user,user\na,b\n", "unique"),
        "bad.json": ("[{", "not valid JSON"),
        "obj.json": ('{"a": 1}', "list of objects"),
    }
    for filename, (text, message) in cases.items():
        (folder / filename).write_text(text)
        result = run_cli("build", spec, "--each", folder / filename, "--out-dir", folder / "o")
        assert result.code == 2, (filename, result)
        assert message in result.err and filename in result.err
    result = run_cli("build", spec, "--each", folder / "missing.csv", "--out-dir", folder / "o")
    assert result.code == 2 and "inventory not found" in result.err
    result = run_cli("build", spec, "--each", folder / "dup.csv", "-o", folder / "x")
    assert result.code == 2 and "--out-dir" in result.err


def test_per_row_identities_with_per_row_password_env(
    tmp_path: Path, run_cli: Callable[..., CLIResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = issue("Row Root", key_kind="rsa2048")
    root.write(tmp_path / "root.pem")
    users: dict[str, Issued] = {}
    for n in ("ann", "ben"):
        users[n] = root.issue(f"{n}@example.com", key_kind="rsa2048", ca=False)
        openssl_pkcs12(users[n], tmp_path / f"{n}.p12", f"pw-{n}-secret")
        monkeypatch.setenv(f"P12_{n.upper()}", f"pw-{n}-secret")
    (tmp_path / "profile.yaml").write_text(
        'identifier: "com.example.smime.{{ user }}"\nname: "S/MIME for {{ user }}"\n'
        "certificates: [root.pem]\nidentities:\n  me:\n"
        '    pkcs12: "{{ user }}.p12"\n    password: {env: "{{ pw_env }}"}\n'
    )
    inv = _csv(tmp_path / "inv.csv", [{"user": "ann", "pw_env": "P12_ANN"},
                                      {"user": "ben", "pw_env": "P12_BEN"},
                                      {"user": "cat", "pw_env": "P12_CAT"}])
    out = tmp_path / "out"
    result = run_cli("build", tmp_path / "profile.yaml", "--each", inv, "--out-dir", out,
                     "--name", "{{ user }}.mobileconfig", "--at", "2026-06-01")
    assert result.code == 1
    assert "built 2 of 3" in result.err and "row 3" in result.err
    assert oct((out / "ann.mobileconfig").stat().st_mode & 0o777) == "0o600"
    assert "pw-ann-secret" not in result.err


def test_secret_columns_are_redacted(folder: Path, run_cli: Callable[..., CLIResult]) -> None:
    (folder / "profile.yaml").write_text(SPEC.replace("certificates: [root.pem]",
                                                      'certificates: ["{{ token }}.pem"]'))
    inv = _csv(folder / "inv.csv", [_row(1, token="T0P-SECRET-value")])
    result = run_cli("build", folder / "profile.yaml", "--each", inv, "--out-dir",
                     folder / "out", "--secret-column", "token")
    assert result.code == 1
    assert "T0P-SECRET-value" not in result.err and "***" in result.err


@pytest.mark.parametrize("fail_fast", [False, True])
def test_library_batch_leaves_the_collector_as_it_found_it(folder: Path, fail_fast: bool) -> None:
    """run_batch freezes the collector for its workers; a long-lived caller (an MDM server)
    gets it back unfrozen, after --fail-fast's early stop too."""
    import gc

    from mobileconfig.batch import run_batch

    rows = [_row(1, user="bad id"), _row(2), _row(3)]
    inv = _csv(folder / "inv.csv", rows)
    result = run_batch(folder / "profile.yaml", inv, folder / "out", name="{{ user }}.x",
                       jobs=1, fail_fast=fail_fast)
    assert result.failures
    assert gc.get_freeze_count() == 0


NAME_VALUES: list[object] = [
    "u1", "Ünïcødé ✓", " spaced ", "trailing\n", "{{ 7 * 7 }}", "", 0, -12, 2**64 - 1, 2**70,
    1.5, 1e16, float("nan"), float("inf"), True, False, None, ["a"], {"k": "v"}, "x" * 5000,
]


@pytest.mark.parametrize("value", NAME_VALUES, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("template", ["{{ v }}.mobileconfig", "p-{{ v }}-{{ n }}\n", "{{ v }}"])
def test_names_printed_without_rendering_match_the_sandbox(
    tmp_path: Path, template: str, value: object
) -> None:
    """Output names of a template that only prints columns are joined, not rendered, in
    the parent (speed): every kind of value must give what the sandbox gives, or go to it
    (a missing column, a list, None, a long value), so that a batch names, refuses and
    reports its rows as before."""
    from jinja2 import UndefinedError

    from mobileconfig.batch import Row, _plan
    from mobileconfig.errors import Location, SpecError
    from mobileconfig.spec.template import bounded_render, compile_template, template_problem

    row = Row(1, Location("inv.json"), {"v": value, "n": 7})
    try:
        expected: str | None = bounded_render(compile_template(template), row.values).strip()
        problem = None
    except UndefinedError:
        raise AssertionError("every column is given") from None
    except Exception as exc:  # a bound: the row fails with the sandbox's reason
        expected, problem = None, template_problem(exc)
    if expected == "":
        with pytest.raises(SpecError, match="the output name is empty"):
            _plan([row], tmp_path, template)
        return
    planned, failures = _plan([row], tmp_path, template)
    if problem is not None:
        assert [f.reason for f in failures] == [f"row 1: --name: {problem}"]
    else:
        assert failures == [] and [Path(t).name for _, t in planned] == [expected]


def test_a_missing_name_column_is_refused_for_the_whole_batch(tmp_path: Path) -> None:
    from mobileconfig.batch import Row, _plan
    from mobileconfig.errors import Location, SpecError

    with pytest.raises(SpecError, match="'nobody' is undefined"):
        _plan([Row(1, Location("inv.csv", 2), {"user": "u"})], tmp_path, "{{ nobody }}.x")


def test_plain_names_skip_the_sandbox_and_others_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mobileconfig.spec.template as template
    from mobileconfig.batch import Row, _plan
    from mobileconfig.errors import Location

    rendered: list[object] = []
    real = template.bounded_render

    def counting(compiled: object, values: dict[str, object]) -> str:
        rendered.append(values["v"])
        return real(compiled, values)

    monkeypatch.setattr(template, "bounded_render", counting)
    rows = [Row(i, Location("inv.json"), {"v": v}) for i, v in enumerate(["a", 3, None, ["l"]])]
    planned, failures = _plan(rows, tmp_path, "{{ v }}.mobileconfig")
    assert [Path(t).name for _, t in planned] == [
        "a.mobileconfig", "3.mobileconfig", "None.mobileconfig", "['l'].mobileconfig"
    ]
    assert failures == [] and rendered == [None, ["l"]]
    planned, _ = _plan(rows[:1], tmp_path, "{{ v | upper }}.mobileconfig")
    assert [Path(t).name for _, t in planned] == ["A.mobileconfig"] and rendered[-1] == "a"


def test_planning_memory_per_row_stays_small(tmp_path: Path) -> None:
    """A batch's parent holds every row and its output path while the workers run (and
    forked workers count those pages too). Counted with tracemalloc, not timed.
    """
    import tracemalloc

    from mobileconfig.batch import _plan, read_inventory

    n = 4000
    inv = _csv(tmp_path / "inv.csv", [_row(i) for i in range(n)])
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        rows = read_inventory(inv)
        planned, failures = _plan(rows, tmp_path, "{{ user }}.mobileconfig")
        per_row = (tracemalloc.get_traced_memory()[0] - start) / n
    finally:
        tracemalloc.stop()
    assert len(planned) == n and not failures
    # ~730 bytes here (four columns, Python 3.11); ~970 with a Path and a Row dict per row.
    assert per_row < 850, f"{per_row:.0f} bytes a row"
