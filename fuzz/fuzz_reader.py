"""Fuzz the profile reader: anything from anywhere must end in a MobileconfigError or a result.

The target reads the input as a profile (``reader.read_profile``), takes its certificates
(``reader.profile_certificates``), checks them (``pki.chains.validate``) and, for a signed
profile, checks the signature (``cms.verify``, which never raises); then it runs what
``mobileconfig inspect`` shows (``inspection.inspect_profile``), renders it as text
(``inspection.render_text``) and as JSON, and checks that the text holds no control, bidi
or other format character (a newline apart): whatever the profile says, it cannot drive
the terminal. Input that is not a profile is also read as a certificate file
(``pki.certs.load_certificates``) and, when it is DER, as a PKCS#12
(``pki.identities.load_pkcs12``), since the corpus holds both. Input that starts with
``#jinja`` is a template: it is rendered as a spec's value is (``spec.template``), where
every bound must hold. A ``MobileconfigError`` is
the expected answer to bad input; any other exception, or one input taking longer than
``SLOW`` seconds, is a bug.

With atheris (libFuzzer), arguments are libFuzzer's::

    python fuzz/fuzz_reader.py -max_total_time=60 -timeout=10 fuzz/corpus

Without atheris, or with ``--plain``, a simple random-mutation loop over the corpus runs::

    python fuzz/fuzz_reader.py --plain --seconds 60 [--seed N] [--crashes DIR] [CORPUS ...]

See fuzz/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import random
import struct
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The check time: fixed, so a run is repeatable (the test PKI's pinned instant).
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
#: One input taking longer than this is reported as a hang.
SLOW = 5.0


#: The password of the PKCS#12 seeds (make_corpus.py).
P12_PASSWORD = b"fuzz"
#: What marks a template seed, and the variables it is rendered with.
TEMPLATE_MARK = b"#jinja\n"
TEMPLATE_VARIABLES = {"user": "alice", "count": "3", "items": ["a", "b"], "n": 7}


def _import_targets() -> None:
    global MobileconfigError, cms, read_profile, profile_certificates, validate
    global load_certificates, inspect_profile, render_text, is_unsafe, load_pkcs12
    global LoadedYAML, render_values, ct
    from mobileconfig import cms
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.inspection import inspect_profile, render_text
    from mobileconfig.pki.certs import load_certificates
    from mobileconfig.pki.chains import validate
    from mobileconfig.pki.identities import load_pkcs12
    from mobileconfig.probe import ct
    from mobileconfig.reader import profile_certificates, read_profile
    from mobileconfig.spec.load import LoadedYAML
    from mobileconfig.spec.template import render_values
    from mobileconfig.text import is_unsafe


def one_input(data: bytes) -> None:
    """The fuzz target: return normally or raise MobileconfigError; anything else is a bug."""
    if data.startswith(TEMPLATE_MARK):
        text = data[len(TEMPLATE_MARK) :].decode("utf-8", "replace")
        spec = LoadedYAML({"description": text}, "<fuzz>", {})
        with contextlib.suppress(MobileconfigError):
            render_values(spec, TEMPLATE_VARIABLES)
        return
    try:
        loaded = read_profile(data, source="<fuzz>")
    except MobileconfigError:
        loaded = None
    if loaded is not None:
        certs, _findings = profile_certificates(loaded)
        if certs:
            validate(certs, at=AT)
        if loaded.signed is not None:
            result = cms.verify(loaded.signed, anchors=certs, at=AT)
            assert result.status in ("trusted", "untrusted", "invalid")
        shown = inspect_profile(loaded, anchors=certs, at=AT)
        json.dumps(shown, default=str)
        text = render_text(shown)
        unsafe = sorted({c for c in text if c != "\n" and is_unsafe(c)})
        assert not unsafe, f"inspect's text holds {[hex(ord(c)) for c in unsafe]}"
        return
    try:
        certs = load_certificates(data, source="<fuzz>")
    except MobileconfigError:
        certs = []
    if certs:
        validate(certs, at=AT)
        for cert in certs:  # Certificate Transparency: the SCT list a server's cert carries
            ct.findings(ct.evaluate(cert), cert, target="fuzz", emit=_ct_finding)
    elif data[:1] == b"\x30":
        ct.ocsp_scts(data)  # a stapled OCSP response: never raises
        with contextlib.suppress(MobileconfigError):
            load_pkcs12(data, P12_PASSWORD, name="fuzz", source="<fuzz>")


def _ct_finding(code: str, cert: object, role: str, message: str) -> object:
    from mobileconfig.findings import make_finding

    return make_finding(code, message)


def _test_one_input_atheris(data: bytes) -> None:
    one_input(bytes(data))


def _custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's own mutations, and a third of the time on a binary plist, a rewired
    object reference (cycles and shared containers are rare for byte-level mutation)."""
    import atheris

    rng = random.Random(seed)  # noqa: S311 - mutations, not secrets
    if data.startswith(b"bplist00") and rng.randrange(3) == 0:
        buf = bytearray(data)
        _rewire_binary_plist(rng, buf)
        return bytes(buf[:max_size])
    return bytes(atheris.Mutate(data, max_size))


# -- the plain mutation loop ----------------------------------------------------------

_INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\x81", b"\x82", b"\x83", b"\x84", b"\x30"]
_TOKENS = [
    b"<dict>",
    b"</dict>",
    b"<array>",
    b"</array>",
    b"<key>PayloadContent</key>",
    b"<data>",
    b"</data>",
    b"<integer>99999999999999999999</integer>",
    b"<real>nan</real>",
    b"<date>9999-99-99T00:00:00Z</date>",
    b"<!DOCTYPE plist [<!ENTITY a 'b'>]>",
    b"&#0;",
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02",  # OID signedData
    b"\x30\x80",
    b"\x00\x00",
    b"-----BEGIN CERTIFICATE-----\n",
    b"-----END CERTIFICATE-----\n",
    b"bplist00",
]


def _rewire_binary_plist(rng: random.Random, buf: bytearray) -> None:
    """Point one object reference of a binary plist at another object (often a container
    above it: a cycle; or one already referenced: sharing), or the top at any object."""
    if not buf.startswith(b"bplist00") or len(buf) < 40:
        return
    offset_size, ref_size, count, _top, table = struct.unpack_from(">6xBBQQQ", buf, len(buf) - 32)
    if not offset_size or not ref_size or not count or table + count * offset_size > len(buf):
        return
    if rng.randrange(8) == 0:  # a new top object
        struct.pack_into(">Q", buf, len(buf) - 16, rng.randrange(count))
        return
    containers = []
    for i in range(count):
        at = table + i * offset_size
        start = int.from_bytes(buf[at : at + offset_size], "big")
        marker = buf[start] if start < len(buf) else 0
        if marker & 0xF0 in (0xA0, 0xD0) and marker & 0x0F not in (0, 15):
            containers.append((i, start))
    if not containers:
        return
    _index, start = rng.choice(containers)
    n = buf[start] & 0x0F
    n *= 2 if buf[start] & 0xF0 == 0xD0 else 1
    slot = start + 1 + rng.randrange(n) * ref_size
    if slot + ref_size <= len(buf):
        target = rng.choice(containers)[0] if rng.randrange(2) else rng.randrange(count)
        buf[slot : slot + ref_size] = (target % (1 << (8 * ref_size))).to_bytes(ref_size, "big")


def _mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data or b"\x00")
    if buf.startswith(b"bplist00") and rng.randrange(3) == 0:
        _rewire_binary_plist(rng, buf)
        return bytes(buf)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        n = len(buf)
        op = rng.randrange(10)
        pos = rng.randrange(n) if n else 0
        if op == 0 and n:  # flip a bit
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # set a byte
            buf[pos] = rng.randrange(256)
        elif op == 2:  # insert bytes
            buf[pos:pos] = rng.randbytes(rng.randrange(1, 9))
        elif op == 3 and n > 1:  # delete a run
            del buf[pos : pos + rng.randrange(1, 1 + min(64, n - pos))]
        elif op == 4 and n > 1:  # truncate
            del buf[rng.randrange(1, n) :]
        elif op == 5 and n:  # an interesting byte (ASN.1 tags and length forms)
            buf[pos] = rng.choice(_INTERESTING)[0]
        elif op == 6:  # a token
            buf[pos:pos] = rng.choice(_TOKENS)
        elif op == 7 and n > 4:  # duplicate a chunk
            a = rng.randrange(n)
            b = min(n, a + rng.randrange(1, 256))
            buf[pos:pos] = buf[a:b]
        elif op == 8 and pool:  # splice with another seed
            other = rng.choice(pool)
            if other:
                cut = rng.randrange(len(other))
                buf = buf[:pos] + other[cut : cut + rng.randrange(1, 1024)]
        elif op == 9 and n > 2:  # a big-endian length field: grow or shrink it
            buf[pos] = (buf[pos] + rng.choice((1, -1, 0x40, 0x80))) & 0xFF
    return bytes(buf)


def _load_corpus(dirs: list[Path]) -> list[bytes]:
    pool: list[bytes] = []
    for d in dirs:
        files = [d] if d.is_file() else sorted(p for p in d.rglob("*") if p.is_file())
        pool.extend(p.read_bytes() for p in files)
    return pool


def plain(
    seconds: float, dirs: list[Path], seed: int | None, crashes: Path, progress: float = 30.0
) -> int:
    """Mutate corpus inputs at random for ``seconds``; save each crash or hang to ``crashes``.

    Returns the number of distinct crashes found."""
    _import_targets()
    pool = _load_corpus(dirs) or [b""]
    rng = random.Random(seed)  # noqa: S311 - mutations, not secrets
    start = last = time.monotonic()
    tried = 0
    found: set[str] = set()
    for data in pool:  # the seeds themselves first
        tried += 1
        _run_guarded(one_input, data, crashes, found)
    while time.monotonic() - start < seconds:
        data = _mutate(rng, rng.choice(pool), pool)
        tried += 1
        _run_guarded(one_input, data, crashes, found)
        now = time.monotonic()
        if now - last >= progress:
            last = now
            rate = tried / (now - start)
            print(f"#{tried} inputs, {rate:.0f}/s, {len(found)} crashes", flush=True)
    took = time.monotonic() - start
    print(f"done: {tried} inputs in {took:.0f} s, {len(found)} distinct crashes", flush=True)
    return len(found)


def _run_guarded(
    target: Callable[[bytes], None], data: bytes, crashes: Path, found: set[str]
) -> None:
    t0 = time.monotonic()
    try:
        target(data)
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{type(exc).__name__}@{tb[-1].filename}:{tb[-1].lineno}" if tb else repr(exc)
        _save(crashes, "crash", data, where, traceback.format_exc(), found)
        return
    took = time.monotonic() - t0
    if took > SLOW:
        _save(crashes, "slow", data, f"slow-{len(data) // 1024}k", f"took {took:.1f} s\n", found)


def _save(crashes: Path, kind: str, data: bytes, key: str, text: str, found: set[str]) -> None:
    if key in found:
        return
    found.add(key)
    crashes.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}"
    (crashes / name).write_bytes(data)
    (crashes / f"{name}.txt").write_text(f"{key}\n{text}")
    print(f"{kind}: {key} -> {crashes / name}", flush=True)


def main(argv: list[str]) -> int:
    # cryptography warns about odd but readable certificates (a negative serial number):
    # a warning is not a crash, and printing thousands of them slows the run.
    warnings.simplefilter("ignore")
    try:
        import atheris
    except ImportError:
        atheris = None
    if atheris is None or "--plain" in argv:
        p = argparse.ArgumentParser(description="random-mutation fuzzing of the profile reader")
        p.add_argument("--plain", action="store_true", help="do not use atheris")
        p.add_argument("--seconds", type=float, default=60.0)
        p.add_argument("--seed", type=int, default=None)
        p.add_argument("--crashes", type=Path, default=HERE / "crashes")
        p.add_argument("corpus", nargs="*", type=Path, default=[HERE / "corpus"])
        args = p.parse_args(argv)
        return 1 if plain(args.seconds, args.corpus, args.seed, args.crashes) else 0
    with atheris.instrument_imports():
        _import_targets()
    atheris.Setup([sys.argv[0], *argv], _test_one_input_atheris, custom_mutator=_custom_mutator)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
