"""How much does validating a bundle cost over its bare signature checks?

    python benchmarks/bench_chains.py [--repeat 5] [--rebuild]

Builds (once, cached in benchmarks/.cache/) a bundle of 10 roots and 1,000 intermediates
(EC P-256: each root issues 20 CAs, each of which issues 4 more), then times, best of
``--repeat``:

(a) the 1,000 link signature checks alone (``child.verify_directly_issued_by(issuer)``);
(b) ``validate(...)`` on the whole bundle, on new Certificate objects every repetition.

The two alternate, so a busy machine slows both alike.

Certificates are parsed from DER before each timing starts, so neither side is charged for
parsing and nothing computed in one repetition is reused in the next. The target ratio
(b)/(a) is at most 1.5.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mobileconfig.pki.certs import Certificate  # noqa: E402
from mobileconfig.pki.chains import validate  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache" / "chains-10-roots-1000-cas.pem"
AT = datetime(2026, 6, 1, tzinfo=UTC)
ROOTS, FIRST, SECOND = 10, 20, 4  # 10 * (20 + 20 * 4) = 1,000 intermediates


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Bench Corp"),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, cn),
        ]
    )


def _ca(
    cn: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    serial: int,
    depth: int,
) -> x509.Certificate:
    subject = _name(cn)
    end = datetime(2040 - 2 * depth, 1, 1, tzinfo=UTC)  # each CA outlives what it issues
    iname, ikey = issuer or (subject, key)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(iname)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(end - timedelta(days=serial % 300))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), False)
        .sign(ikey, hashes.SHA256())
    )


def build_bundle() -> list[bytes]:
    """DER of 10 roots and 1,000 intermediates, roots first."""
    ders: list[bytes] = []
    serial = 1
    for r in range(ROOTS):
        rkey = ec.generate_private_key(ec.SECP256R1())
        root = _ca(f"Bench Root {r}", rkey, None, serial, 0)
        serial += 1
        ders.append(root.public_bytes(serialization.Encoding.DER))
        for a in range(FIRST):
            akey = ec.generate_private_key(ec.SECP256R1())
            ca = _ca(f"Bench CA {r}.{a}", akey, (root.subject, rkey), serial, 1)
            serial += 1
            ders.append(ca.public_bytes(serialization.Encoding.DER))
            for b in range(SECOND):
                bkey = ec.generate_private_key(ec.SECP256R1())
                sub = _ca(f"Bench CA {r}.{a}.{b}", bkey, (ca.subject, akey), serial, 2)
                serial += 1
                ders.append(sub.public_bytes(serialization.Encoding.DER))
    return ders


def load_bundle(rebuild: bool) -> list[bytes]:
    if CACHE.exists() and not rebuild:
        return [
            c.public_bytes(serialization.Encoding.DER)
            for c in x509.load_pem_x509_certificates(CACHE.read_bytes())
        ]
    ders = build_bundle()
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    pem = b"".join(
        x509.load_der_x509_certificate(d).public_bytes(serialization.Encoding.PEM) for d in ders
    )
    CACHE.write_bytes(pem)
    return ders


def _pairs(certs: list[x509.Certificate]) -> list[tuple[x509.Certificate, x509.Certificate]]:
    by_subject = {c.subject.public_bytes(): c for c in certs}
    return [(c, by_subject[c.issuer.public_bytes()]) for c in certs if c.subject != c.issuer]


def time_links(ders: list[bytes]) -> float:
    certs = [x509.load_der_x509_certificate(d) for d in ders]
    pairs = _pairs(certs)
    start = time.perf_counter()
    for child, issuer in pairs:
        child.verify_directly_issued_by(issuer)
    return time.perf_counter() - start


def time_validate(ders: list[bytes]) -> tuple[float, int, int]:
    certs = [Certificate(x509.load_der_x509_certificate(d), der=d) for d in ders]
    start = time.perf_counter()
    report = validate(certs, at=AT)
    elapsed = time.perf_counter() - start
    return elapsed, len(report.findings), sum(1 for c in report.chains if c["complete"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions; the best counts")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached bundle")
    args = parser.parse_args(argv)

    ders = load_bundle(args.rebuild)
    links = sum(1 for _ in _pairs([x509.load_der_x509_certificate(d) for d in ders]))
    # Alternate the two so that a busy machine slows both alike; keep the best of each.
    bare = whole = float("inf")
    findings = complete = 0
    for _ in range(args.repeat):
        bare = min(bare, time_links(ders))
        elapsed, findings, complete = time_validate(ders)
        whole = min(whole, elapsed)
    print(f"bundle:             {len(ders)} certificates, {links} issuer links")
    print(f"signature checks:   {bare * 1000:8.1f} ms  (verify_directly_issued_by per link)")
    print(
        f"validate(bundle):   {whole * 1000:8.1f} ms  ({findings} findings, "
        f"{complete}/{len(ders)} chains complete)"
    )
    ratio = whole / bare
    print(f"ratio:              {ratio:8.2f}x  (target <= 1.50x)")
    return 0 if findings == 0 and complete == len(ders) else 1


if __name__ == "__main__":
    raise SystemExit(main())
