"""Write the fuzz seed corpus into fuzz/corpus/ from examples/ and the test PKI.

    python fuzz/make_corpus.py            # (re)writes fuzz/corpus/

Seeds: the example profile built unsigned (XML and binary), the same profile signed
with a throw-away test signer (DER, base64 and PEM-armoured), each example certificate as
PEM, DER and a PKCS#7 bundle, and a few small odd plists. The shared sample profiles
(../shared/samples) are *not* copied here: give their folder to the fuzzer as a second
corpus directory instead (see fuzz/README.md). The test PKI makes fresh keys on every
run, so the signed seeds differ between runs; everything else is byte-stable.
"""

from __future__ import annotations

import base64
import datetime as dt
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.serialization import pkcs7  # noqa: E402

from mobileconfig import cms  # noqa: E402
from mobileconfig.builder import Builder  # noqa: E402
from mobileconfig.pki.certs import Certificate, load_certificate_file  # noqa: E402
from mobileconfig.render import dumps, loads  # noqa: E402

from pki import TestPKI  # noqa: E402

CORPUS = HERE / "corpus"
EXAMPLE = ROOT / "examples" / "company" / "profile.yaml"
#: Every example certificate is valid at this instant (the re-keyed CA starts 2026-06-30).
AT = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


def seeds() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    xml = Builder(EXAMPLE).build(at=AT, fmt="xml")
    binary = dumps(loads(xml).value, "binary")
    out["company.xml.mobileconfig"] = xml
    out["company.binary.mobileconfig"] = binary

    pki = TestPKI("ec256", prefix="Fuzz")
    leaf = pki.intermediate.issue("Fuzz Profile Signer", ca=False)
    signer = cms.Signer(
        Certificate(leaf.cert),
        leaf.key,
        [Certificate(pki.intermediate.cert), Certificate(pki.root.cert)],
        source="fuzz signer",
    )
    signed = cms.sign(xml, signer)
    out["company.signed.der.mobileconfig"] = signed
    out["company.signed-binary.der.mobileconfig"] = cms.sign(binary, signer)
    out["company.signed.b64.mobileconfig"] = base64.encodebytes(signed)
    out["company.signed.pem.mobileconfig"] = (
        b"-----BEGIN PKCS7-----\n" + base64.encodebytes(signed) + b"-----END PKCS7-----\n"
    )
    out["company.xml-nul-padded.mobileconfig"] = xml + b"\x00" * 8

    certs = []
    for path in sorted((ROOT / "examples" / "company").rglob("*")):
        if path.suffix in (".pem", ".cer"):
            certs.extend(load_certificate_file(path))
    for i, cert in enumerate(certs):
        out[f"cert-{i}.pem"] = cert.to_pem()
        out[f"cert-{i}.der"] = cert.der
    out["bundle.p7b"] = pkcs7.serialize_certificates(
        [c.x509 for c in certs], serialization.Encoding.DER
    )
    out["bundle.pem"] = b"".join(c.to_pem() for c in certs)

    out["tiny.xml.plist"] = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
        b"<key>PayloadType</key><string>Configuration</string>"
        b"<key>PayloadVersion</key><integer>1</integer>"
        b"<key>PayloadIdentifier</key><string>a</string>"
        b"<key>PayloadUUID</key><string>b</string>"
        b"<key>PayloadContent</key><array><dict><key>PayloadType</key>"
        b"<string>com.apple.security.root</string><key>PayloadContent</key>"
        b"<data>AAAA</data></dict></array></dict></plist>\n"
    )
    out["tiny.binary.plist"] = dumps(loads(out["tiny.xml.plist"]).value, "binary")
    return out


def main() -> int:
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.iterdir():
        if old.is_file():
            old.unlink()
    for name, data in seeds().items():
        (CORPUS / name).write_bytes(data)
    print(f"wrote {len(list(CORPUS.iterdir()))} seeds to {CORPUS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
