"""Nothing lost, nothing half-written: an interrupted or failing write leaves the previous
file or the complete new one, and never a temporary file (``.NAME.*.tmp``).

Signals are sent to real ``python -m mobileconfig build`` processes: once at an exact
moment (a wrapper makes ``os.fsync`` signal its own process, so the signal lands while
the temporary file exists), and once at a moment found by watching a large real build
for its temporary file. Write failures are injected in-process (ENOSPC from the write or
``fsync``, a failing rename or chmod, a KeyboardInterrupt).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from mobileconfig import output
from mobileconfig.reader import read_profile_file

from conftest import ROOT, CLIResult
from pki import NOW, TestPKI, make_key

AT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
OLD = b"the previous profile, which must survive\n"
RunCLI = Callable[..., CLIResult]


def default_signals() -> None:
    """In a child, before it runs Python: SIGINT back to its default. A shell starts
    background jobs (``nohup .ci/run &``) with SIGINT ignored, Python then leaves it
    ignored, and the Ctrl-C these tests send would do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def leftovers(folder: Path, name: str = "out.mobileconfig") -> list[Path]:
    return sorted(folder.glob(f".{name}.*.tmp"))


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI("ec256", prefix="Interrupt")


@pytest.fixture
def small_spec(tmp_path: Path, pki: TestPKI) -> Path:
    pki.root.write(tmp_path / "root.pem")
    pki.intermediate.write(tmp_path / "inter.pem")
    spec = tmp_path / "profile.yaml"
    spec.write_text(
        "identifier: com.example.interrupt\nname: Interrupt\ncertificates: [root.pem, inter.pem]\n"
    )
    return spec


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out.mobileconfig"
    path.write_bytes(OLD)
    return path


def assert_old_or_complete(path: Path, payloads: int) -> str:
    """The file at ``path`` is the previous one or a whole, readable new profile."""
    data = path.read_bytes()
    if data == OLD:
        return "old"
    loaded = read_profile_file(path)
    assert len(loaded.profile.payload_content) == payloads
    return "new"


# -- a signal at an exact moment: inside fsync, while the temporary file exists ------

#: Runs the CLI with os.fsync wrapped to send SIGNAL to its own process first.
SIGNAL_IN_FSYNC = """
import os, signal, sys
sig = getattr(signal, sys.argv[1])
real_fsync = os.fsync
def fsync(fd):
    os.kill(os.getpid(), sig)
    real_fsync(fd)
os.fsync = fsync
from mobileconfig.cli import main
sys.exit(main(sys.argv[2:]))
"""


def run_with_signal_in_fsync(sig: str, *argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SIGNAL_IN_FSYNC, sig, *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        preexec_fn=default_signals,
    )


def test_sigterm_during_the_write_keeps_the_old_file(small_spec: Path, out: Path) -> None:
    proc = run_with_signal_in_fsync("SIGTERM", "build", small_spec, "-o", out, "--at", AT)
    # Python's default SIGTERM ends the process at once, leaving the temporary file;
    # output.py holds the signal until the file is removed, then ends the process by it.
    assert proc.returncode == -signal.SIGTERM, proc
    assert out.read_bytes() == OLD
    assert leftovers(out.parent) == []


def test_sigterm_during_the_first_write_leaves_no_file(small_spec: Path, tmp_path: Path) -> None:
    target = tmp_path / "new.mobileconfig"
    proc = run_with_signal_in_fsync("SIGTERM", "build", small_spec, "-o", target, "--at", AT)
    assert proc.returncode == -signal.SIGTERM, proc
    assert not target.exists()
    assert leftovers(tmp_path, "new.mobileconfig") == []


def test_sigint_during_the_write_keeps_the_old_file(small_spec: Path, out: Path) -> None:
    proc = run_with_signal_in_fsync("SIGINT", "build", small_spec, "-o", out, "--at", AT)
    assert proc.returncode == 130, proc
    assert proc.stderr.strip() == "mobileconfig: error: interrupted; nothing written", proc
    assert "Traceback" not in proc.stderr
    assert out.read_bytes() == OLD
    assert leftovers(out.parent) == []


def _ddm_state(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", -signal.SIGTERM), ("SIGINT", 130)])
def test_a_signal_during_a_declarative_folder_write_keeps_the_old_folder(
    small_spec: Path, tmp_path: Path, run_cli: RunCLI, sig: str, code: int
) -> None:
    """build --ddm writes a whole folder under a temporary name: a signal while it does
    (here in the first file's fsync) removes that folder and leaves the earlier output
    exactly as it was; SIGTERM's default would have left ``.out.*.tmp`` behind."""
    target = tmp_path / "out"
    base = ("--ddm-base-url", "https://mdm.example.com/ddm", "--at", AT)
    first = run_cli("build", small_spec, "--ddm", target, *base)
    assert first.code == 0, first
    before = _ddm_state(target)
    assert "declaration-items.json" in before
    proc = run_with_signal_in_fsync(sig, "build", small_spec, "--ddm", target, *base)
    assert proc.returncode == code, proc
    assert "Traceback" not in proc.stderr
    assert _ddm_state(target) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


#: Runs the CLI with os.replace wrapped to send SIGINT to its own process first: the
#: Ctrl-C lands after the write's last check, while the new file goes into place.
SIGINT_IN_REPLACE = """
import os, signal, sys
real_replace = os.replace
def replace(src, dst, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)
    return real_replace(src, dst, **kwargs)
os.replace = replace
from mobileconfig.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_during_the_rename_says_the_file_was_written(small_spec: Path, out: Path) -> None:
    """Held until the rename is done, the Ctrl-C then stops the command: the new file is in
    place, and the message says so instead of "nothing written"."""
    proc = subprocess.run(
        [sys.executable, "-c", SIGINT_IN_REPLACE, "build", str(small_spec), "-o", str(out),
         "--at", AT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        preexec_fn=default_signals,
    )  # fmt: skip
    assert proc.returncode == 130, proc
    assert proc.stderr.strip() == (
        f"mobileconfig: error: interrupted after writing {out}; nothing else written"
    ), proc
    assert assert_old_or_complete(out, 2) == "new"
    assert leftovers(out.parent) == []


def test_an_application_sigterm_handler_is_left_in_charge(small_spec: Path, out: Path) -> None:
    # An application (an MDM server) that handles SIGTERM itself keeps its handler: the
    # write goes on and completes, and the application decides what the signal means.
    script = """
import os, signal, sys
got = []
signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
real_fsync = os.fsync
def fsync(fd):
    os.kill(os.getpid(), signal.SIGTERM)
    real_fsync(fd)
os.fsync = fsync
from mobileconfig.cli import main
code = main(sys.argv[1:])
assert got == [signal.SIGTERM], got
assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
sys.exit(code)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script, "build", str(small_spec), "-o", str(out), "--at", AT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        preexec_fn=default_signals,
    )
    assert proc.returncode == 0, proc
    assert assert_old_or_complete(out, 2) == "new"
    assert leftovers(out.parent) == []


# -- a signal at a moment found by watching a real, large build ----------------------

LEAVES = 1500


@pytest.fixture(scope="module")
def large_spec(tmp_path_factory: pytest.TempPathFactory, pki: TestPKI) -> Path:
    """A spec of 1,502 certificates: a build of a few seconds and a 2 MB profile."""
    folder = tmp_path_factory.mktemp("large")
    key = make_key("ec256", slot=7)
    pems = [pki.root.pem, pki.intermediate.pem]
    pems += [
        pki.intermediate.issue(f"Interrupt Leaf {i}", key=key, ca=False).pem for i in range(LEAVES)
    ]
    (folder / "bundle.pem").write_bytes(b"".join(pems))
    spec = folder / "profile.yaml"
    spec.write_text("identifier: com.example.large\nname: Large\ncertificates: [bundle.pem]\n")
    return spec


def signal_when_the_temporary_file_appears(
    spec: Path, out: Path, sig: signal.Signals
) -> tuple[subprocess.Popen[bytes], bool]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mobileconfig", "build", str(spec), "-o", str(out), "--at", AT],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=default_signals,
    )
    prefix = f".{out.name}."
    seen = False
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            with os.scandir(out.parent) as entries:
                seen = any(e.name.startswith(prefix) and e.name.endswith(".tmp") for e in entries)
            if seen:
                proc.send_signal(sig)
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:  # pragma: no cover - only if the build hung
            proc.kill()
            proc.wait()
    return proc, seen


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_while_a_large_build_writes(
    large_spec: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "out.mobileconfig"
    out.write_bytes(OLD)
    proc, seen = signal_when_the_temporary_file_appears(large_spec, out, sig)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    state = assert_old_or_complete(out, LEAVES + 2)
    assert leftovers(tmp_path) == []
    assert "Traceback" not in stderr, stderr
    if not seen:
        pytest.skip("the write was over before the temporary file was seen")
    expected = -signal.SIGTERM if sig == signal.SIGTERM else 130
    assert proc.returncode in (expected, 0), (proc.returncode, stderr)
    if proc.returncode == 0:  # the rename was done before the signal was delivered
        assert state == "new"
    elif sig == signal.SIGINT:
        assert "interrupted; nothing written" in stderr
    # Interrupted: the old file stays, or the whole new one when the signal came in the
    # instant between the rename and the end of the write; both were checked above.


# -- injected failures, in-process ---------------------------------------------------


def _enospc(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_no_space_at_fsync_keeps_the_old_file(
    small_spec: Path, out: Path, run_cli: RunCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output.os, "fsync", _enospc)
    result = run_cli("build", small_spec, "-o", out, "--at", AT)
    assert result.code == 2, result
    assert (
        result.err.strip() == f"mobileconfig: error: {out}: cannot write: No space left on device"
    )
    assert out.read_bytes() == OLD
    assert leftovers(out.parent) == []


def test_no_space_half_way_through_the_write_leaves_no_partial_file(
    small_spec: Path, tmp_path: Path, run_cli: RunCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills after half the profile: the half-written temporary file goes."""
    real_write = os.write
    partial: list[str] = []

    def write(fd: int, data: Any) -> int:
        name = os.readlink(f"/proc/self/fd/{fd}") if Path("/proc/self").exists() else ""
        if not name.endswith(".tmp"):
            return real_write(fd, data)
        partial.append(name)
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output.os, "write", write)
    target = tmp_path / "new.mobileconfig"
    result = run_cli("build", small_spec, "-o", target, "--at", AT)
    assert result.code == 2 and "No space left on device" in result.err, result
    assert partial, "the write was not reached"
    assert not target.exists()
    assert leftovers(tmp_path, "new.mobileconfig") == []


@pytest.mark.parametrize(
    ("name", "error"),
    [("replace", errno.EXDEV), ("replace", errno.EACCES), ("fchmod", errno.EPERM)],
    ids=["rename-across-devices", "rename-refused", "chmod-refused"],
)
def test_failing_rename_or_chmod_keeps_the_old_file(
    small_spec: Path,
    out: Path,
    run_cli: RunCLI,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    error: int,
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(output.os, name, fail)
    result = run_cli("build", small_spec, "-o", out, "--at", AT)
    assert result.code == 2, result
    assert f"{out}: cannot write: {os.strerror(error)}" in result.err
    assert out.read_bytes() == OLD
    assert leftovers(out.parent) == []


def test_keyboard_interrupt_inside_the_write_keeps_the_old_file(
    small_spec: Path, out: Path, run_cli: RunCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "fsync", interrupt)
    result = run_cli("build", small_spec, "-o", out, "--at", AT)
    assert result.code == 130, result
    assert "interrupted; nothing written" in result.err
    assert out.read_bytes() == OLD
    assert leftovers(out.parent) == []


def test_signal_handlers_are_restored_after_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    output.write_atomic(tmp_path / "a.mobileconfig", b"data")
    assert {s: signal.getsignal(s) for s in before} == before
    monkeypatch.setattr(output.os, "fsync", _enospc)
    with pytest.raises(output.OutputError):
        output.write_atomic(tmp_path / "b.mobileconfig", b"data")
    assert {s: signal.getsignal(s) for s in before} == before
    assert not (tmp_path / "b.mobileconfig").exists()
    assert leftovers(tmp_path, "b.mobileconfig") == []


def test_writes_from_worker_threads_touch_no_signal_handler(tmp_path: Path) -> None:
    # Only the main thread may install handlers: an MDM server's workers write as usual.
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            output.write_atomic(tmp_path / f"p{i}.mobileconfig", b"profile %d" % i, mode=0o600)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(8):
        path = tmp_path / f"p{i}.mobileconfig"
        assert path.read_bytes() == b"profile %d" % i
        assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.glob(".*.tmp")) == []


# -- Ctrl-C in a batch: exactly what was written, and where ---------------------------

BATCH_ROWS = 300


@pytest.fixture(scope="module")
def batch_spec(tmp_path_factory: pytest.TempPathFactory, pki: TestPKI) -> Path:
    """A templated spec of 202 certificates (a fraction of a second a profile) and an
    inventory of 300 rows: long enough to be interrupted part-way."""
    folder = tmp_path_factory.mktemp("batch")
    key = make_key("ec256", slot=7)
    pems = [pki.root.pem, pki.intermediate.pem]
    pems += [pki.intermediate.issue(f"Batch Leaf {i}", key=key, ca=False).pem for i in range(200)]
    (folder / "bundle.pem").write_bytes(b"".join(pems))
    (folder / "users.csv").write_text("user\n" + "".join(f"u{i}\n" for i in range(BATCH_ROWS)))
    spec = folder / "profile.yaml"
    spec.write_text(
        'identifier: "com.example.{{ user }}"\nname: Batch\ncertificates: [bundle.pem]\n'
    )
    return spec


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_in_a_batch_reports_what_was_written(
    batch_spec: Path, tmp_path: Path, jobs: str
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # A file from an earlier run, for a row the batch will not reach: kept, not counted.
    (out_dir / f"u{BATCH_ROWS - 1}.mobileconfig").write_bytes(OLD)
    report = tmp_path / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mobileconfig", "build", str(batch_spec),
         "--each", str(batch_spec.parent / "users.csv"), "--out-dir", str(out_dir),
         "--name", "{{ user }}.mobileconfig", "--jobs", jobs, "--report", str(report),
         "--at", AT],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal's job is
        preexec_fn=default_signals,
    )  # fmt: skip

    def new_files() -> list[Path]:
        return [p for p in out_dir.glob("u*.mobileconfig") if p.read_bytes() != OLD]

    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and len(new_files()) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        # Ctrl-C: SIGINT to the whole group, the parent and its workers alike.
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # pragma: no cover - only if the batch hung
            proc.kill()
            proc.wait()
    stderr = err.decode()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    written = new_files()
    assert 3 <= len(written) < BATCH_ROWS - 1
    assert stderr.strip() == (
        f"mobileconfig: error: interrupted: {len(written)} of {BATCH_ROWS} profiles written "
        f"into {out_dir}, {BATCH_ROWS - len(written)} not written; no temporary file left "
        "(run again with --resume to finish)"
    )
    assert list(out_dir.glob(".*")) == []
    for path in written:
        assert len(read_profile_file(path).profile.payload_content) == 202
    assert (out_dir / f"u{BATCH_ROWS - 1}.mobileconfig").read_bytes() == OLD
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert sorted(data["written"]) == sorted(map(str, written))


def test_writes_are_recorded_only_where_asked(tmp_path: Path) -> None:
    """The command line collects what it put in place (for the Ctrl-C message); a library
    caller that does not ask keeps nothing, and a batch's per-row files are not listed
    (a list per row would grow with the inventory)."""
    output.write_atomic(tmp_path / "a.txt", b"a")
    with output.writes_recorded() as written:
        output.write_atomic(tmp_path / "b.txt", b"b")
        output.write_atomic(tmp_path / "c.txt", b"c", record=False)
        with output.writes_recorded() as inner:
            output.write_atomic(tmp_path / "d.txt", b"d")
        output.record_write("e")
    output.write_atomic(tmp_path / "f.txt", b"f")
    assert written == [str(tmp_path / "b.txt"), "e"]
    assert inner == [str(tmp_path / "d.txt")]
