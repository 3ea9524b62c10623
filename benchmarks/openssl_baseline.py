"""The baseline both signing benchmarks compare against: one ``openssl cms -sign`` process
per profile, signing as we do (SHA-256, content attached, binary, the chain included)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def sign_each(
    openssl: str, signer_pem: Path, key_pem: Path, chain_pem: Path | None, inputs: Sequence[Path]
) -> float:
    """Seconds per profile to sign each of ``inputs`` with its own openssl process."""
    started = time.perf_counter()
    for path in inputs:
        cmd = [
            openssl,
            "cms",
            "-sign",
            "-nodetach",
            "-binary",
            "-outform",
            "DER",
            "-md",
            "sha256",
            "-signer",
            str(signer_pem),
            "-inkey",
            str(key_pem),
            "-in",
            str(path),
            "-out",
            str(path.with_suffix(".der")),
        ]
        if chain_pem is not None:
            cmd[cmd.index("-in") : cmd.index("-in")] = ["-certfile", str(chain_pem)]
        subprocess.run(cmd, check=True, capture_output=True)
    return (time.perf_counter() - started) / max(1, len(inputs))
