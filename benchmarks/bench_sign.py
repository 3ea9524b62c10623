"""Benchmark: signing many profiles with one signer, against a bare RSA signature and
against one ``openssl cms -sign`` process per profile.

    python benchmarks/bench_sign.py [--n 1000] [--openssl-n 100] [--check]

Targets: ours at most 2x a bare RSA-2048 PKCS#1 v1.5 SHA-256 signature of the same bytes,
and at least 10x faster than an openssl process per profile. ``--check`` exits 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import plistlib
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_pki import issue
from openssl_baseline import sign_each

from mobileconfig import cms
from mobileconfig.pki.certs import Certificate

NOW = dt.datetime.now(dt.UTC)


def make_pki() -> tuple[x509.Certificate, x509.Certificate, x509.Certificate, rsa.RSAPrivateKey]:
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]
    start, days = NOW - dt.timedelta(days=1), 366
    root = issue("Bench Root CA", keys[0], None, ca=True, start=start, days=days)
    inter = issue("Bench Issuing CA", keys[1], (root, keys[0]), ca=True, start=start, days=days)
    leaf = issue(
        "Bench Profile Signer", keys[2], (inter, keys[1]), ca=False, start=start, days=days
    )
    return root, inter, leaf, keys[2]


def make_profiles(n: int) -> list[bytes]:
    """``n`` realistic ~4 KB XML profiles, each different (names, UUIDs, a certificate)."""
    out = []
    blob = bytes(range(256)) * 3
    for i in range(n):
        payloads = [
            {
                "PayloadType": "com.apple.security.pkcs1",
                "PayloadIdentifier": f"com.example.corp.cert.{i}.{j}",
                "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{i}.{j}")).upper(),
                "PayloadVersion": 1,
                "PayloadDisplayName": f"Example Issuing CA {j}",
                "PayloadContent": blob[j:] + i.to_bytes(4, "big"),
            }
            for j in range(2)
        ]
        payloads.append(
            {
                "PayloadType": "com.apple.wifi.managed",
                "PayloadIdentifier": f"com.example.corp.wifi.{i}",
                "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"wifi.{i}")).upper(),
                "PayloadVersion": 1,
                "SSID_STR": "ExampleCorp",
                "EAPClientConfiguration": {
                    "AcceptEAPTypes": [13],
                    "TLSTrustedServerNames": ["radius.example.com"],
                    "UserName": f"user{i:05d}@example.com",
                },
            }
        )
        profile = {
            "PayloadType": "Configuration",
            "PayloadIdentifier": f"com.example.corp.user{i:05d}",
            "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"profile.{i}")).upper(),
            "PayloadVersion": 1,
            "PayloadDisplayName": f"Example Corp for user{i:05d}",
            "PayloadContent": payloads,
        }
        out.append(plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="profiles signed in process")
    parser.add_argument("--openssl-n", type=int, default=100, help="openssl processes to run")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    root, inter, leaf, key = make_pki()
    profiles = make_profiles(args.n)
    size = sum(map(len, profiles)) / len(profiles)

    started = time.perf_counter()
    signer = cms.Signer(Certificate(leaf), key, [Certificate(inter)], source="bench")
    load = time.perf_counter() - started

    started = time.perf_counter()
    signed = [cms.sign(p, signer) for p in profiles]
    ours = (time.perf_counter() - started) / args.n

    started = time.perf_counter()
    for p in profiles:
        key.sign(p, padding.PKCS1v15(), hashes.SHA256())
    bare = (time.perf_counter() - started) / args.n

    # Sanity: what we made verifies, with our reader and (when present) openssl.
    assert cms.unwrap(signed[-1]).content == profiles[-1]
    openssl = shutil.which("openssl")
    per_process: float | None = None
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        pem = serialization.Encoding.PEM
        (t / "root.pem").write_bytes(root.public_bytes(pem))
        (t / "inter.pem").write_bytes(inter.public_bytes(pem))
        (t / "leaf.pem").write_bytes(leaf.public_bytes(pem))
        (t / "leaf.key").write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        if openssl:
            (t / "ours.der").write_bytes(signed[0])
            check = subprocess.run(
                [
                    openssl,
                    "cms",
                    "-verify",
                    "-binary",
                    "-inform",
                    "DER",
                    "-CAfile",
                    str(t / "root.pem"),
                    "-in",
                    str(t / "ours.der"),
                    "-out",
                    str(t / "out"),
                ],
                capture_output=True,
                check=False,
            )
            if check.returncode != 0 or (t / "out").read_bytes() != profiles[0]:
                print("openssl does not verify our output:", check.stderr.decode(), file=sys.stderr)
                return 1
            m = min(args.openssl_n, args.n)
            for i in range(m):
                (t / f"p{i}.xml").write_bytes(profiles[i])
            per_process = sign_each(
                openssl,
                t / "leaf.pem",
                t / "leaf.key",
                t / "inter.pem",
                [t / f"p{i}.xml" for i in range(m)],
            )

    ratio = ours / bare
    print(
        f"profiles: {args.n} x {size / 1024:.1f} KB, one RSA-2048 signer (loaded in "
        f"{load * 1e3:.2f} ms), chain of 1 intermediate"
    )
    print(f"ours (cms.sign):            {ours * 1e3:8.3f} ms/profile")
    print(f"bare RSA-2048 PKCS#1 v1.5:  {bare * 1e3:8.3f} ms/profile")
    print(f"ratio ours/bare:            {ratio:8.2f}x   (target <= 2x)")
    ok = ratio <= 2.0
    if per_process is not None:
        speedup = per_process / ours
        print(
            f"openssl process/profile:    {per_process * 1e3:8.3f} ms/profile "
            f"(n={min(args.openssl_n, args.n)})"
        )
        print(f"speed-up over openssl:      {speedup:8.1f}x   (target >= 10x)")
        ok = ok and speedup >= 10
    else:
        print("openssl not found: the per-process comparison was skipped")
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
