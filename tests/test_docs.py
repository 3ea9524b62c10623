"""The docs tell the truth: every finding code is documented, the generated reference pages
are current, the examples match the schema, the site builds, and every command shown in
README.md and docs/ runs as shown.

How the commands run (``test_commands_run_as_shown``):

- Each page's ``mobileconfig ...`` (or ``python -m mobileconfig ...``) commands in
  ```` ```sh ```` and ```` ```console ```` blocks (in ``console`` blocks, the lines after
  ``$ ``) run in the page's order, through ``bash -o pipefail``, in a fresh folder laid out
  like a user's repository (``KIT``). Other commands (``openssl``, ``curl``) are not run:
  they need the user's own files. Inline code is not run either; docs put commands with
  placeholders (``--at <date>``) there, and runnable ones in blocks.
- A command must exit 0, or the status its trailing comment gives: ``# exits 1``.
- ``SKIP`` lists the commands that need the network or a device, each with its reason.

README.md runs differently (``test_readme_runs_as_written_in_a_fresh_clone``): its shell
lines, set-up and activation included, are typed into one shell in a fresh clone of the
project, exactly as shown; afterwards ``git status`` must show nothing new. Python blocks
of README.md and docs/ run from the root of such a clone (``test_python_examples_run``).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conftest import ROOT

DOCS = ROOT / "docs"
FINDINGS = DOCS / "findings.md"

#: Commands shown in the docs that cannot run here: (regular expression, why).
SKIP: list[tuple[str, str]] = [
    (r"^mobileconfig probe (?!.*--help)", "connects to a live server over the network"),
]

#: Commands a page shows without the ``# exits N`` they need, each with the status it has
#: and why; remove an entry once the page says it (test_known_status_entries_are_needed).
KNOWN_STATUS: dict[tuple[str, str], tuple[int, str]] = {}

#: The tools a shown pipeline may use besides mobileconfig; a command that needs a missing
#: one is skipped (CI installs what it needs).
TOOLS = ("jq", "openssl", "plutil", "diff", "cmp")

SIGNER_PASSWORD = "docs-signer-password"  # the demo signer's password, in SIGNER_PASSWORD


def _load_gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module
    spec.loader.exec_module(module)
    return module


gen_docs = _load_gen_docs()


# -- finding codes -------------------------------------------------------------------------

_SECTION = re.compile(r"^## (MC\d{3}): (.+?)\s*$", re.MULTILINE)


def _sections(path: Path) -> dict[str, tuple[str, str]]:
    """code -> (title, body) for each '## MCxxx: title' section of a page."""
    text = path.read_text(encoding="utf-8")
    found: dict[str, tuple[str, str]] = {}
    matches = list(_SECTION.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        nxt = re.search(r"^## ", text[m.end() : end], re.MULTILINE)
        body = text[m.end() : m.end() + nxt.start()] if nxt else text[m.end() : end]
        assert m.group(1) not in found, f"{path.name}: {m.group(1)} has two sections"
        found[m.group(1)] = (m.group(2), body)
    return found


def test_every_code_has_one_section() -> None:
    from mobileconfig.findings import CATALOGUE

    where: dict[str, list[str]] = {}
    for page in sorted(DOCS.glob("findings*.md")):
        for code in _sections(page):
            where.setdefault(code, []).append(page.name)
    missing = []
    for code in CATALOGUE:
        pages = where.get(code, [])
        if "findings.md" not in pages:
            missing.append(f"{code} (found in: {', '.join(pages) or 'nowhere'})")
    assert not missing, "codes without a section in docs/findings.md: " + "; ".join(missing)
    twice = {code: pages for code, pages in where.items() if len(pages) > 1}
    assert not twice, f"codes documented on more than one page: {twice}"
    unknown = sorted(set(where) - set(CATALOGUE))
    assert not unknown, f"sections for codes that are not in CATALOGUE: {unknown}"


def test_findings_sections_say_what_why_fix_and_proof() -> None:
    from mobileconfig.findings import CATALOGUE

    problems = []
    for code, (title, body) in _sections(FINDINGS).items():
        entry = CATALOGUE[code]
        if title != entry.title:
            problems.append(f"{code}: title {title!r}, CATALOGUE says {entry.title!r}")
        severity = {"error": "**Error", "warning": "**Warning", "info": "**Info"}
        if not body.lstrip().startswith(severity[entry.severity.value]):
            problems.append(f"{code}: should start with {severity[entry.severity.value]}.**")
        for part in ("**On the device", "**Fix:**", "**Prove the fix:**"):
            if part not in body:
                problems.append(f"{code}: no {part}")
        proof = body.partition("**Prove the fix:**")[2]
        if "mobileconfig " not in proof and "openssl " not in proof:
            problems.append(f"{code}: the proof shows no command")
    assert not problems, "\n".join(problems)


def test_old_finding_pages_are_merged() -> None:
    assert [p.name for p in DOCS.glob("findings*.md")] == ["findings.md"]


# -- generated pages -----------------------------------------------------------------------


def test_spec_reference_is_current() -> None:
    assert gen_docs.SPEC_PAGE.read_text(encoding="utf-8") == gen_docs.spec_markdown(), (
        "docs/reference/spec.md is stale: run python scripts/gen_docs.py"
    )


def test_cli_reference_is_current() -> None:
    current = gen_docs.CLI_PAGE.read_text(encoding="utf-8")
    made = gen_docs.made_with(current)
    if made != gen_docs.PYTHON:
        pytest.skip(f"cli.md was made with Python {made}; argparse's layout differs here")
    assert current == gen_docs.cli_markdown(), (
        "docs/reference/cli.md is stale: run python scripts/gen_docs.py"
    )


def test_spec_reference_covers_every_key() -> None:
    text = gen_docs.SPEC_PAGE.read_text(encoding="utf-8")
    for model, _ in gen_docs.models():
        assert f"{{#{model.__name__.lower()}}}" in text, model.__name__
        for name, info in model.model_fields.items():
            assert f"### `{info.alias or name}`" in text, f"{model.__name__}.{name}"


def test_cli_reference_covers_every_command() -> None:
    text = gen_docs.CLI_PAGE.read_text(encoding="utf-8")
    for name in gen_docs._subcommands(gen_docs._parser()):
        assert f"## mobileconfig {name}\n" in text, name


def test_check_mode_reports_stale_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text("old\n")
    monkeypatch.setattr(gen_docs, "ROOT", tmp_path)
    monkeypatch.setattr(gen_docs, "PAGES", {page: lambda: "new\n"})
    assert gen_docs.main(["--check"]) == 1
    assert gen_docs.main([]) == 0
    assert page.read_text() == "new\n"
    assert gen_docs.main(["--check"]) == 0


#: What devices show, word for word: a user searching the docs for it finds a heading.
DEVICE_MESSAGES = [
    "Not Trusted",
    "Cannot Verify Server Identity",
    "Profile Installation Failed",
    "Unverified",
    "Not Verified",
    "The password for the certificate is incorrect",
]


@pytest.mark.parametrize("message", DEVICE_MESSAGES)
def test_troubleshooting_has_a_heading_for_what_devices_show(message: str) -> None:
    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert any(f'"{message}"' in h for h in headings), f"no heading quotes {message!r}"


def test_changelog_page_includes_the_changelog() -> None:
    text = (DOCS / "changelog.md").read_text(encoding="utf-8")
    assert '--8<-- "CHANGELOG.md"' in text


def test_api_page_names_every_public_name() -> None:
    import mobileconfig

    text = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    missing = [name for name in mobileconfig.__all__ if f"`{name}" not in text]
    assert not missing, f"docs/reference/api.md does not mention: {missing}"


#: Scenario pages that walk through an example's spec, line by line.
SCENARIOS = ["company", "mail", "wifi", "vpn", "exchange", "mail-mismatch", "batch"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_page_explains_every_key(name: str) -> None:
    import yaml

    page = DOCS / "scenarios" / f"{name}.md"
    text = page.read_text(encoding="utf-8")
    spec = ROOT / "examples" / name / "profile.yaml"
    assert f'--8<-- "examples/{name}/profile.yaml"' in text, f"{page.name} does not show {spec}"
    data = yaml.safe_load(spec.read_text())

    def keys(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield str(k)
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)

    missing = sorted({k for k in keys(data) if f"`{k}" not in text and f"- {k}:" not in text})
    assert not missing, f"docs/scenarios/{name}.md does not explain: {missing}"


# -- examples ------------------------------------------------------------------------------


def _untemplated(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{\{.*?\}\}", "x", value)
    if isinstance(value, dict):
        return {k: _untemplated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untemplated(v) for v in value]
    return value


EXAMPLE_SPECS = sorted((ROOT / "examples").glob("*/profile.yaml"))


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=[p.parent.name for p in EXAMPLE_SPECS])
def test_example_declares_and_matches_the_schema(spec: Path) -> None:
    from mobileconfig.spec.load import load_yaml
    from mobileconfig.spec.model import ProfileSpec
    from mobileconfig.spec.schema import spec_json_schema

    text = spec.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema="), (
        f"{spec.relative_to(ROOT)} must start with the yaml-language-server $schema comment"
    )
    data = load_yaml(text, file=str(spec)).value
    # Templates are rendered per row at build time; for the model's own checks (such as the
    # identifier's form), stand a plain word in for each expression.
    ProfileSpec.model_validate(_untemplated(data))
    try:
        import jsonschema
    except ImportError:
        return  # the model check above stands in for it
    jsonschema.Draft202012Validator(spec_json_schema()).validate(data)


# -- the site ------------------------------------------------------------------------------


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]


# -- commands shown in the docs ------------------------------------------------------------


@dataclass
class Shown:
    page: str
    line: int
    command: str
    status: int


_FENCE = re.compile(r"^(\s*)(`{3,})(\w*)\s*$")
_PROGRAM = re.compile(r"^(?:\S*/)?(?:python3?\s+-m\s+)?mobileconfig(?=\s|$)")
_PYTHON_PROGRAM = re.compile(r"^\S*python3?\s+-m\s+mobileconfig(?=\s|$)")
_EXITS = re.compile(r"#\s*exits?\s+(\d+)")


def _blocks(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """(language, first line number, lines) of each fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.groups()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        yield lang, i + 2, body
        i = j + 1


def shown_commands(path: Path) -> list[Shown]:
    """Every mobileconfig command a page shows in sh / console blocks, in order."""
    found: list[Shown] = []
    page = path.relative_to(ROOT).as_posix()
    for lang, first, body in _blocks(path.read_text(encoding="utf-8")):
        if lang not in ("sh", "console", "bash", "shell"):
            continue
        k = 0
        while k < len(body):
            raw, number = body[k], first + k
            k += 1
            if lang == "console":
                if not raw.startswith("$ "):
                    continue
                raw = raw[2:]
            command = raw.strip()
            while command.endswith("\\") and k < len(body):
                command = command[:-1].rstrip() + " " + body[k].strip()
                k += 1
            if lang == "console":
                command = command.removeprefix("$ ")
            if not _PROGRAM.match(command):
                continue
            command = _PYTHON_PROGRAM.sub("mobileconfig", command, count=1)
            m = _EXITS.search(command)
            status = int(m.group(1)) if m else KNOWN_STATUS.get((page, command), (0, ""))[0]
            found.append(Shown(page, number, command, status))
    return found


def _pages() -> list[Path]:
    """The pages whose commands run in the reader's folder (``kit``): docs/ and the
    examples' READMEs. README.md runs on its own, in a fresh clone
    (test_readme_runs_as_written_in_a_fresh_clone)."""
    return [*sorted(DOCS.rglob("*.md")), *sorted((ROOT / "examples").glob("*/README.md"))]


PAGES_WITH_COMMANDS = [p for p in _pages() if shown_commands(p)]


def test_the_extractor_finds_the_commands() -> None:
    readme = [c.command for c in shown_commands(ROOT / "README.md")]
    assert "mobileconfig schema > mobileconfig.schema.json" in [
        re.sub(r"\s+#.*$", "", c) for c in readme
    ]
    session = shown_commands(gen_docs.CLI_PAGE)
    assert [c.command.split("   #")[0] for c in session] == gen_docs.SESSION
    assert session[-1].status == 1


def _make_signer(folder: Path) -> None:
    """A demo signing identity valid for years around now: signer.p12, signer-root.pem."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from pki import issue

    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2035, 12, 31, tzinfo=dt.UTC)
    root = issue("Example Corp Signing Root", not_before=start, not_after=end)
    leaf = root.issue(
        "Example Corp Profile Signing",
        ca=False,
        not_before=start,
        not_after=end,
        eku=[ExtendedKeyUsageOID.CODE_SIGNING],
    )
    (folder / "signer-root.pem").write_bytes(root.pem)
    (folder / "signer.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            # The root goes with it: a signer's issuer must be at hand (MC210).
            b"signer",
            leaf.key,
            leaf.cert,
            [root.cert],
            BestAvailableEncryption(SIGNER_PASSWORD.encode()),
        )
    )


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the docs assume a reader has, in one folder:

    - ``examples/``: a copy of the repository's examples;
    - ``profile.yaml``, ``certs/``, ``partner-root.cer``: "your spec", the company example;
    - ``signer.p12`` (password in ``SIGNER_PASSWORD``) and ``signer-root.pem``, its root;
    - ``profile.mobileconfig`` and ``signed.mobileconfig``, built and signed from them.
    """
    import mobileconfig

    folder = tmp_path_factory.mktemp("kit")
    shutil.copytree(ROOT / "examples", folder / "examples")
    company = ROOT / "examples" / "company"
    shutil.copytree(company / "certs", folder / "certs")
    for name in ("partner-root.cer", "profile.yaml"):
        shutil.copy2(company / name, folder / name)
    _make_signer(folder)
    data = mobileconfig.build(folder / "profile.yaml")
    (folder / "profile.mobileconfig").write_bytes(data)
    signer = mobileconfig.Signer.from_pkcs12(
        (folder / "signer.p12").read_bytes(), SIGNER_PASSWORD.encode(), source="signer.p12"
    )
    (folder / "signed.mobileconfig").write_bytes(mobileconfig.sign(data, signer))
    return folder


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bin folder whose ``mobileconfig`` is this interpreter running this checkout, with
    a fresh interpreter (gen_docs.RUNNER)."""
    folder = tmp_path_factory.mktemp("bin")
    runner = folder / "mobileconfig_runner.py"
    runner.write_text(gen_docs.RUNNER)
    script = folder / "mobileconfig"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{runner}" "$@"\n')
    script.chmod(0o755)
    for name in ("python", "python3"):
        (folder / name).symlink_to(sys.executable)
    return folder


_READ_ONLY = re.compile(r"^mobileconfig (validate|inspect|verify|schema)\b[^>]*$")


@pytest.mark.parametrize(
    "page", PAGES_WITH_COMMANDS, ids=[p.relative_to(ROOT).as_posix() for p in PAGES_WITH_COMMANDS]
)
def test_commands_run_as_shown(page: Path, kit: Path, shim: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(kit, work, symlinks=True)
    env = {
        **os.environ,
        "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "SIGNER_PASSWORD": SIGNER_PASSWORD,
        "COLUMNS": "100",
        "NO_COLOR": "1",
    }
    done: dict[str, int] = {}  # read-only commands already run since the last write
    failures = []
    for shown in shown_commands(page):
        why = next((why for rx, why in SKIP if re.search(rx, shown.command)), None)
        tools = [t for t in TOOLS if re.search(rf"(^|[|;&]\s*){t}\b", shown.command)]
        if why is None and any(shutil.which(t) is None for t in tools):
            why = f"needs {', '.join(tools)}"
        if why is not None:
            continue
        if _READ_ONLY.match(shown.command) and shown.command in done:
            status = done[shown.command]
        else:
            proc = subprocess.run(
                ["bash", "-o", "pipefail", "-c", shown.command],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            status = proc.returncode
            if _READ_ONLY.match(shown.command):
                done[shown.command] = status
            else:
                done.clear()
            if status != shown.status:
                failures.append(
                    f"{shown.page}:{shown.line}: `{shown.command}` exited {status}, "
                    f"expected {shown.status}\n{proc.stderr[-1500:]}"
                )
    assert not failures, "\n".join(failures)


def test_skip_list_is_used() -> None:
    """Each SKIP entry matches a command the docs show (no dead entries)."""
    commands = [c.command for p in PAGES_WITH_COMMANDS for c in shown_commands(p)]
    for rx, why in SKIP:
        assert any(re.search(rx, c) for c in commands), f"unused skip entry {rx!r} ({why})"
    session = [c for c, _, _ in readme_session()]
    for rx, why in README_SKIP:
        assert any(re.search(rx, c) for c in session), f"unused README skip {rx!r} ({why})"


def test_known_status_entries_are_needed() -> None:
    for (page, command), (_, why) in KNOWN_STATUS.items():
        shown = [c.command for c in shown_commands(ROOT / page)]
        assert command in shown, f"{page} no longer shows {command!r}: remove its entry ({why})"


# -- a fresh clone ---------------------------------------------------------------------------


def _clone_files() -> list[str]:
    """The files a fresh clone of this checkout would hold once the working tree is
    committed: tracked files and new ones that .gitignore does not exclude."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of the project and the git command")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def fresh_clone(target: Path) -> Path:
    """A copy of the project as a clone would have it, committed in a new repository."""
    for name in _clone_files():
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest)
    git = ["git", "-c", "user.name=docs test", "-c", "user.email=docs@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-gpg-sign", "-m", "clone"]):
        subprocess.run([*git, *args], cwd=target, check=True, capture_output=True)
    return target


def _outside_env() -> dict[str, str]:
    """The environment of a new shell: no virtual environment active, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    ours = {Path(sys.prefix) / "bin", Path(sys.executable).parent}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) not in ours
    )
    env.update({"COLUMNS": "100", "NO_COLOR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


#: README commands the session does not run: (regular expression, why).
README_SKIP: list[tuple[str, str]] = [
    (r"python -m pytest$", "the test suite itself; this test is part of it"),
    (r"^pip install -e '\.\[(test|docs)\]'$", "installs tools this test does not use"),
    (r"^mkdocs build", "test_mkdocs_build_strict builds the site"),
    (r"^mobileconfig probe ", "connects to a live server over the network"),
]


def readme_session() -> list[tuple[str, int, int]]:
    """README.md's shell commands in order, as one session: (command, line, status).

    Every line of ``sh`` blocks is a command (activation included); in ``console``
    blocks, the lines after ``$ ``. A trailing ``# exits N`` gives the expected status."""
    found: list[tuple[str, int, int]] = []
    for lang, first, body in _blocks((ROOT / "README.md").read_text(encoding="utf-8")):
        if lang not in ("sh", "console", "bash", "shell"):
            continue
        k = 0
        while k < len(body):
            raw, number = body[k], first + k
            k += 1
            if lang == "console":
                if not raw.startswith("$ "):
                    continue
                raw = raw[2:]
            command = raw.strip()
            while command.endswith("\\") and k < len(body):
                command = command[:-1].rstrip() + " " + body[k].strip()
                k += 1
            if not command or command.startswith("#"):
                continue
            m = _EXITS.search(command)
            found.append((command, number, int(m.group(1)) if m else 0))
    return found


@pytest.mark.slow
def test_readme_runs_as_written_in_a_fresh_clone(tmp_path: Path) -> None:
    """The README's set-up and tour, typed into one shell in a fresh clone, exactly as
    shown (the venv is made and activated by the README itself); afterwards, git sees
    nothing new: everything the tour writes is ignored."""
    clone = fresh_clone(tmp_path / "clone")
    lines = ["set -u"]
    ran = 0
    for command, line, status in readme_session():
        if any(re.search(rx, command) for rx, _ in README_SKIP):
            continue
        ran += 1
        lines.append(command)
        lines.append(
            f"s=$?; if [ $s -ne {status} ]; then echo 'README.md:{line}: exited '$s', "
            f"expected {status}' >&2; exit 1; fi"
        )
    assert ran >= 10, "the README shows fewer commands than expected"
    script = tmp_path / "readme.sh"
    script.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-o", "pipefail", str(script)],
        cwd=clone,
        env=_outside_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == "", f"the tour left files git would add:\n{status}"
    assert (clone / ".venv" / "bin" / "mobileconfig").exists()
    assert (clone / "company.mobileconfig").exists()


def test_readme_session_is_what_the_readme_shows() -> None:
    commands = [c for c, _, _ in readme_session()]
    assert commands[0] == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && "
        "mobileconfig build examples/company/profile.yaml -o company.mobileconfig"
    )
    tests = [c for c in commands if c.endswith("python -m pytest")]
    assert tests == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && "
        "python -m pytest"
    ]
    exits = {c: s for c, _, s in readme_session() if s}
    assert any("mail-mismatch" in c for c in exits), exits


# -- Python shown in the docs --------------------------------------------------------------


def _python_blocks(path: Path) -> list[str]:
    return ["\n".join(body) for lang, _, body in _blocks(path.read_text()) if lang == "python"]


PYTHON_PAGES = [
    p.relative_to(ROOT).as_posix()
    for p in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    if _python_blocks(p)
]


@pytest.fixture(scope="module")
def repository_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files, as a clone has them, so that examples run from its root
    without writing into the working tree."""
    return fresh_clone(tmp_path_factory.mktemp("repo"))


def test_python_pages_are_found() -> None:
    assert {"README.md", "docs/reference/api.md"} <= set(PYTHON_PAGES)


@pytest.mark.parametrize("page", PYTHON_PAGES)
def test_python_examples_run(page: str, repository_copy: Path) -> None:
    """Each page's Python blocks, in order, as one program run from the repository's root."""
    code = "\n\n".join(_python_blocks(ROOT / page))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}
    env["PYTHONPATH"] = str(repository_copy)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repository_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{page}:\n{proc.stderr[-3000:]}"


def test_schema_check_catches_a_bad_spec() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from mobileconfig.spec.schema import spec_json_schema

    validator = jsonschema.Draft202012Validator(spec_json_schema())
    assert not list(validator.iter_errors({"identifier": "com.example.x", "name": "X"}))
    errors = list(validator.iter_errors({"identifier": "com.example.x", "name": "X", "certs": []}))
    assert errors and "certs" in errors[0].message
