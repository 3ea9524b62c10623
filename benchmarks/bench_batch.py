"""Benchmark: per-user profiles at scale, each figure a ratio against a baseline measured
in the same run.

    python benchmarks/bench_batch.py [--rows 10000] [--openssl-n 100] [--skip-identities]

1. 10,000 signed profiles, each with its own pre-issued PKCS#12 identity (made once and
   cached under benchmarks/.cache/): profiles per second with 1 and 2 jobs, and the ratio
   to the floor (open each PKCS#12 once + re-encode it + one signature, in one process).
   Target: within 1.3x of the floor.
2. 10,000 signed profiles without identities (a per-user mail account): profiles per
   second with 1 and 2 jobs, and the speed-up over one ``openssl cms -sign`` process per
   profile. Target: 1,000 profiles per second with 2 jobs.
3. Peak memory of a batch run of N/5 and N rows (it must not grow with the rows).
4. Start-up: ``mobileconfig --help`` against ``python -c pass``, and building the company
   example. Target: --help at most 100 ms above bare Python.

The PKCS#12 files use RSA-2048 keys drawn from a pool of 64 (generating 10,000 RSA keys
would take longer than the benchmark); every file is distinct, so each is opened on its
own, RSA key check included.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench_pki import issue  # noqa: E402 - benchmarks/ is on sys.path when run
from openssl_baseline import sign_each  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache" / "batch"
PASSWORD = "bench-password"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _material(rows: int) -> Path:
    """The PKI, the signer, ``rows`` user identities and the specs, made once."""
    folder = CACHE
    marker = folder / f"ready-{rows}"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "users").mkdir(parents=True)
    t0 = time.perf_counter()
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = issue("Bench Root CA", root_key, None, ca=True, start=START, days=3650)
    inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inter = issue("Bench Issuing CA", inter_key, (root, root_key), ca=True, start=START, days=3650)
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = issue(
        "profiles.bench.example", signer_key, (inter, inter_key), ca=False, start=START, days=3650
    )
    for name, cert in (("root.pem", root), ("inter.pem", inter)):
        (folder / name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    enc = serialization.BestAvailableEncryption(PASSWORD.encode())
    (folder / "signer.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(b"signer", signer_key, signer, [inter], enc)
    )
    (folder / "pw.txt").write_text(PASSWORD)
    pool = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(64)]
    with (folder / "users.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["user", "email"])
        for i in range(rows):
            user = f"user{i:05d}"
            key = pool[i % len(pool)]
            cert = issue(
                user,
                key,
                (inter, inter_key),
                ca=False,
                start=START,
                days=3650,
                email=f"{user}@bench.example",
            )
            (folder / "users" / f"{user}.p12").write_bytes(
                pkcs12.serialize_key_and_certificates(user.encode(), key, cert, None, enc)
            )
            writer.writerow([user, f"{user}@bench.example"])
    common = (
        'identifier: "com.bench.{{ user }}"\nname: "Profile for {{ email }}"\n'
        "certificates: [root.pem, inter.pem]\n"
        "sign: {pkcs12: signer.p12, password: {file: pw.txt}}\n"
        'mail:\n  - address: "{{ email }}"\n'
        "    incoming: {protocol: imap, host: mail.bench.example, port: 993}\n"
        "    outgoing: {host: mail.bench.example, port: 587}\n"
    )
    (folder / "mail.yaml").write_text(common)
    (folder / "identity.yaml").write_text(
        common + 'identities:\n  me:\n    pkcs12: "users/{{ user }}.p12"\n'
        "    password: {file: pw.txt}\n"
    )
    marker.write_text("")
    print(f"made the material for {rows} rows in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder


def _batch(spec: Path, inventory: Path, jobs: int) -> tuple[float, int]:
    from mobileconfig.batch import run_batch
    from mobileconfig.pki.identities import clear_cache

    # The batch runs in this process: without this it would find the PKCS#12 files the
    # floor (or the previous batch) opened already in the identity cache, and beat the
    # floor by skipping its key derivations (0.31x at 50 rows).
    clear_cache()
    out = Path(tempfile.mkdtemp(prefix="bench-out-"))
    try:
        t0 = time.perf_counter()
        result = run_batch(
            spec,
            inventory,
            out,
            name="{{ user }}.mobileconfig",
            jobs=jobs,
            at=START + dt.timedelta(days=200),
        )
        elapsed = time.perf_counter() - t0
        assert result.failed == 0, result.failures[:3]
        return elapsed, result.built
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _floor(folder: Path, rows: int) -> float:
    """Open each PKCS#12 once, re-encode it for Apple, sign one profile: nothing else."""
    from mobileconfig import cms
    from mobileconfig.pki.identities import clear_cache, encode_pkcs12, load_pkcs12

    clear_cache()
    signer = cms.Signer.from_pkcs12(
        (folder / "signer.p12").read_bytes(), PASSWORD.encode(), source="signer.p12"
    )
    content = b'<?xml version="1.0"?>' + b"x" * 6000
    t0 = time.perf_counter()
    for i in range(rows):
        data = (folder / "users" / f"user{i:05d}.p12").read_bytes()
        ident = load_pkcs12(data, PASSWORD.encode(), name="me", source="p12")
        encode_pkcs12(ident, PASSWORD.encode(), deterministic=True)
        cms.sign(content, signer)
    return time.perf_counter() - t0


def _openssl_per_profile(folder: Path, n: int) -> float:
    openssl = shutil.which("openssl")
    if openssl is None:
        return float("nan")
    from mobileconfig import cms

    signer = cms.Signer.from_pkcs12(
        (folder / "signer.p12").read_bytes(), PASSWORD.encode(), source="signer.p12"
    )
    tmp = Path(tempfile.mkdtemp())
    (tmp / "s.pem").write_bytes(signer.certificate.to_pem())
    (tmp / "s.key").write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp / "chain.pem").write_bytes(b"".join(c.to_pem() for c in signer.chain))
    inputs = []
    for i in range(n):
        inputs.append(tmp / f"in{i}.plist")
        inputs[-1].write_bytes(b'<?xml version="1.0"?>' + b"x" * 6000)
    per_profile = sign_each(openssl, tmp / "s.pem", tmp / "s.key", tmp / "chain.pem", inputs)
    shutil.rmtree(tmp, ignore_errors=True)
    return per_profile


def _peak_rss_mb(spec: Path, inventory: Path, rows: int, jobs: int) -> float:
    """Peak RSS (MB) of a CLI batch run over the first ``rows`` rows, in a fresh process."""
    lines = inventory.read_text().splitlines()[: rows + 1]
    inv = Path(tempfile.mkdtemp()) / "inv.csv"
    inv.write_text("\n".join(lines) + "\n")
    out = inv.parent / "out"
    code = (
        "import resource,sys; from mobileconfig.cli import main; "
        f"rc = main(['build', {str(spec)!r}, '--each', {str(inv)!r}, '--out-dir', "
        f"{str(out)!r}, '--name', '{{{{ user }}}}.mobileconfig', '--jobs', '{jobs}', '-q', "
        f"'--at', '2026-07-20']); "
        "m = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(m); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    shutil.rmtree(inv.parent, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return int(proc.stdout.strip().splitlines()[-1]) / 1024


def _wall(cmd: list[str], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--openssl-n", type=int, default=100)
    parser.add_argument("--skip-identities", action="store_true")
    parser.add_argument(
        "--identity-rows",
        type=int,
        default=None,
        help="rows for the identity part (default: --rows; it costs ~0.2 s a row)",
    )
    args = parser.parse_args()
    folder = _material(args.rows)
    inventory = folder / "users.csv"
    if args.rows < sum(1 for _ in inventory.open()) - 1:
        lines = inventory.read_text().splitlines()[: args.rows + 1]
        inventory = folder / f"users-{args.rows}.csv"
        inventory.write_text("\n".join(lines) + "\n")
    print(f"rows: {args.rows}, cores: {os.cpu_count()}")

    print("\n[1] mail account per user, signed (RSA-2048 signer)")
    openssl = _openssl_per_profile(folder, args.openssl_n)
    for jobs in (1, 2):
        t, n = _batch(folder / "mail.yaml", inventory, jobs)
        print(
            f"  jobs {jobs}: {n / t:8.0f} profiles/s ({t / n * 1000:.2f} ms each); "
            f"speed-up over one openssl process per profile ({openssl * 1000:.1f} ms): "
            f"{openssl / (t / n):.0f}x"
        )

    if not args.skip_identities:
        print("\n[2] own PKCS#12 identity per user, signed")
        irows = min(args.identity_rows or args.rows, args.rows)
        inv = inventory
        if irows < args.rows:
            inv = folder / f"users-{irows}.csv"
            inv.write_text("\n".join(inventory.read_text().splitlines()[: irows + 1]) + "\n")
        floor = _floor(folder, irows)
        print(
            f"  rows: {irows}; floor (open p12 + re-encode + sign, 1 process): "
            f"{irows / floor:.0f} profiles/s ({floor / irows * 1000:.2f} ms each)"
        )
        for jobs in (1, 2):
            t, n = _batch(folder / "identity.yaml", inv, jobs)
            # With N jobs the floor is floor / N (the same work spread over N cores).
            print(
                f"  jobs {jobs}: {n / t:.0f} profiles/s ({t / n * 1000:.2f} ms each); "
                f"ratio to the floor over {jobs} core(s): {t * jobs / floor:.2f}x"
            )

    print("\n[3] peak memory of a batch (mail spec, 2 jobs)")
    small, big = max(1, args.rows // 5), args.rows
    a = _peak_rss_mb(folder / "mail.yaml", inventory, small, 2)
    b = _peak_rss_mb(folder / "mail.yaml", inventory, big, 2)
    print(f"  {small} rows: {a:.0f} MB; {big} rows: {b:.0f} MB; ratio {b / a:.2f}")

    print("\n[4] start-up")
    bare = _wall([sys.executable, "-c", "pass"])
    helps = _wall([sys.executable, "-m", "mobileconfig", "--help"])
    company = _wall(
        [
            sys.executable,
            "-m",
            "mobileconfig",
            "build",
            "examples/company/profile.yaml",
            "-o",
            os.devnull,
            "-q",
        ],
        repeat=5,
    )
    print(
        f"  python -c pass: {bare * 1000:.0f} ms; mobileconfig --help: {helps * 1000:.0f} ms "
        f"(+{(helps - bare) * 1000:.0f} ms); build examples/company: {company * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))
    sys.exit(main())
