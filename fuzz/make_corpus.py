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
import plistlib
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

from pki import Issued, TestPKI  # noqa: E402

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
    # Read as macOS reads them (issue #16): padding and text after </plist>, inside the
    # signature too, and the over-the-air enrolment shape.
    out["company.xml-trailing-text.mobileconfig"] = xml + b"\n-- sent from my phone\n"
    out["company.signed-padded-content.mobileconfig"] = cms.sign(xml + b"\x00\n\x00", signer)
    out["profile-service.xml.mobileconfig"] = plistlib.dumps(
        {
            "PayloadType": "Profile Service",
            "PayloadVersion": 1,
            "PayloadIdentifier": "com.example.enrol",
            "PayloadUUID": "e",
            "PayloadContent": {
                "URL": "https://mdm.example.com/enrol",
                "DeviceAttributes": ["UDID", "SERIAL"],
                "Challenge": "c",
            },
        }
    )

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
    out.update(hostile_seeds(leaf))
    out.update(ct_seeds(pki.intermediate))
    return out


def ct_seeds(issuer: Issued) -> dict[str, bytes]:
    """A server certificate with an embedded SCT list, and an OCSP response whose single
    response carries one (Certificate Transparency, mobileconfig.probe.ct)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from test_probe_ct import Log, ocsp_response, server_cert

    logs = [Log(f"fuzz log {i}", ec.generate_private_key(ec.SECP256R1())) for i in range(3)]
    cert = server_cert(issuer, logs[:2])
    return {
        "ct.server-with-scts.der": cert.der,
        "ct.ocsp-with-scts.der": ocsp_response(cert, issuer, logs[2:]),
    }


def _raw_profile(**extra: object) -> dict[str, object]:
    payload = {
        "PayloadType": "com.example.raw",
        "PayloadIdentifier": "com.example.raw.1",
        "PayloadUUID": "p",
        "PayloadVersion": 1,
        **extra,
    }
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.fuzz",
        "PayloadUUID": "u",
        "PayloadDisplayName": "Fuzz",
        "PayloadContent": [payload],
    }


def hostile_seeds(owner: Issued) -> dict[str, bytes]:
    """The hostile inputs of tests/test_hostile_reading.py (issue #17), small versions: each
    is refused or read, and mutations of them probe the walk that guards the binary reader
    (cycles, shared containers, odd count markers, non-string keys), the text inspect
    prints, and PKCS#12 reading."""
    from test_hostile_inputs import BPlist
    from test_hostile_reading import LenientCount, shared_40_by_40

    out: dict[str, bytes] = {}
    for label, writer in (("plain", BPlist), ("odd-count", LenientCount)):
        out[f"hostile.shared-40x40.{label}.bplist"] = shared_40_by_40(writer())
        b = writer()
        content = b.array([])
        b.set_array(content, [b.string("x"), content])
        out[f"hostile.self-containing.{label}.bplist"] = b.dump(b.profile_holding(content))
    b = BPlist()
    nested = b.dict({b.integer(5): b.string("v"), b.string("k"): b.array([b.add(b"\x00")])})
    out["hostile.non-string-key.bplist"] = b.dump(b.profile_holding(nested))
    b = BPlist()
    tree = b.array([b.dict({b.string(f"k{i}"): b.array([b.integer(i)])}) for i in range(4)])
    out["hostile.raw-tree.bplist"] = b.dump(b.profile_holding(tree))
    out["hostile.huge-integer.xml"] = plistlib.dumps(_raw_profile(Big=1234567)).replace(
        b"1234567", b"9" * 5000
    )
    named = _raw_profile(Note="A\x1b[2J\u202eB\u200b\x85")
    named["PayloadDisplayName"] = "Evil\x1b]0;title\x07\u202e\u2066 Corp"
    out["hostile.escapes.bplist"] = plistlib.dumps(named, fmt=plistlib.FMT_BINARY)

    # PKCS#12: a readable one (password "fuzz"), one with 2e9 MAC iterations, and a profile
    # carrying one as a payload with its password, so inspect opens it.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import PrivateFormat, pkcs12

    algorithm = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303 - the PKCS#12 Apple devices read
        .build(b"fuzz")
    )
    p12 = pkcs12.serialize_key_and_certificates(b"fuzz", owner.key, owner.cert, None, algorithm)
    out["identity.p12"] = p12
    from test_hostile_reading import _with_mac_iterations

    out["hostile.mac-2e9-iterations.p12"] = _with_mac_iterations(p12, 2_000_000_000)
    identity = _raw_profile()
    identity["PayloadContent"] = [
        {
            "PayloadType": "com.apple.security.pkcs12",
            "PayloadIdentifier": "com.example.fuzz.p12",
            "PayloadUUID": "i",
            "PayloadVersion": 1,
            "PayloadContent": p12,
            "Password": "fuzz",
        }
    ]
    out["identity.xml.mobileconfig"] = plistlib.dumps(identity)

    # An RSASSA-PSS signature whose salt length is 2**64 (OverflowError before), and a sound one.
    from test_hostile_reading import _profile, _pss_signed

    signer = TestPKI("rsa2048", prefix="Fuzz PSS").leaf
    profile = plistlib.dumps(_profile([]))
    out["hostile.pss-salt-2-64.mobileconfig"] = _pss_signed(profile, signer, 2**64)
    out["signed.pss.mobileconfig"] = _pss_signed(profile, signer, 32)

    # Templates (the fuzz target renders input that starts with "#jinja"), hostile and not.
    from test_hostile_reading import HOSTILE_TEMPLATES

    templates = {name: source for name, (source, _why) in HOSTILE_TEMPLATES.items()}
    templates["ordinary"] = (
        "{{ user|upper ~ '!' }} {% for i in items %}{{ loop.index }}{{ i }}{% endfor %} "
        "{{ '%05d'|format(n) }} {{ '{:>4}'.format(user) }} {{ user|replace('a', 'b') }}"
    )
    for name, source in templates.items():
        out[f"template.{name}.jinja"] = b"#jinja\n" + source.encode()
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
