"""The company bundle: every certificate once, classified, ordered, named, identified."""

from __future__ import annotations

import plistlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobileconfig.builder import Builder
from mobileconfig.payloads.base import derive_uuid
from mobileconfig.spec.compile import compile_spec, load_spec

from pki import Issued, TestPKI, issue


def _bundle(tmp_path: Path) -> dict[str, Issued]:
    root = issue("Bundle Root CA")
    other_root = issue("Another Root CA")
    inter = root.issue("Bundle Issuing CA", path_length=1)
    sub = inter.issue("Bundle Sub CA", path_length=0)
    certs = {"root": root, "other": other_root, "inter": inter, "sub": sub}
    d = tmp_path / "certs"
    # Written in an order that is not the issuing order, to check the sort.
    sub.write(d / "a-sub.pem")
    inter.write(d / "b-inter.pem")
    root.write(d / "c-root.pem")
    (tmp_path / "other.cer").write_bytes(other_root.der)
    return certs


def _payloads(spec: Path) -> list[dict[str, object]]:
    profile = compile_spec(load_spec(spec)).profile.to_plist()
    return profile["PayloadContent"]  # type: ignore[no-any-return]


def test_classification_and_order(tmp_path: Path, write_spec: Callable[..., Path]) -> None:
    _bundle(tmp_path)
    spec = write_spec(
        "identifier: com.example.b\nname: B\ncertificates: [certs/*.pem, other.cer]\n"
    )
    items = _payloads(spec)
    assert [(p["PayloadType"], p["PayloadDisplayName"]) for p in items] == [
        ("com.apple.security.root", "Bundle Root CA"),
        ("com.apple.security.root", "Another Root CA"),
        ("com.apple.security.pkcs1", "Bundle Issuing CA"),
        ("com.apple.security.pkcs1", "Bundle Sub CA"),
    ]
    assert all(str(p["PayloadCertificateFileName"]).endswith(".cer") for p in items)


def test_folder_glob_and_pem_override(tmp_path: Path, write_spec: Callable[..., Path]) -> None:
    certs = _bundle(tmp_path)
    spec = write_spec(
        "identifier: com.example.b\nname: B\ncertificates:\n  - certs\n"
        "  - {path: other.cer, payload: pem, name: other}\n"
    )
    items = _payloads(spec)
    pem = [p for p in items if p["PayloadType"] == "com.apple.security.pem"]
    assert len(items) == 4 and len(pem) == 1
    assert pem[0]["PayloadContent"] == certs["other"].pem
    assert pem[0]["PayloadDisplayName"] == "other"


def test_duplicates_collapse_and_are_reported(
    tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    _bundle(tmp_path)
    (tmp_path / "copy.pem").write_bytes((tmp_path / "certs" / "c-root.pem").read_bytes())
    spec = write_spec("identifier: com.example.b\nname: B\ncertificates: [certs/*.pem, copy.pem]\n")
    compiled = compile_spec(load_spec(spec))
    assert len(compiled.profile.payload_content) == 3
    (dup,) = compiled.findings
    assert dup.code == "MC001" and "copy.pem" in dup.message and dup.location is not None
    assert dup.location.line == 3


def test_same_name_gets_unique_display_names(
    tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    root = issue("Twin Root")
    first = root.issue("Twin Issuing CA")
    second = root.issue("Twin Issuing CA")  # re-keyed: same name, new key
    for n, c in enumerate((root, first, second)):
        c.write(tmp_path / f"{n}.pem")
    spec = write_spec("identifier: com.example.t\nname: T\ncertificates: ['*.pem']\n")
    names = [p["PayloadDisplayName"] for p in _payloads(spec)]
    assert names == ["Twin Root", "Twin Issuing CA", "Twin Issuing CA (2)"]


def test_identifiers_derive_from_profile_and_fingerprint(
    pki_ec: TestPKI, tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    pki_ec.root.write(tmp_path / "root.pem")
    spec = write_spec("identifier: com.example.ids\nname: I\ncertificates: [root.pem]\n")
    compiled = compile_spec(load_spec(spec))
    (payload,) = compiled.profile.to_plist()["PayloadContent"]
    sha = compiled.certificates[0].certificate.sha256
    assert payload["PayloadIdentifier"] == f"com.example.ids.certificate.{sha[:32]}"
    assert payload["PayloadUUID"] == derive_uuid("com.example.ids", payload["PayloadIdentifier"])
    assert compiled.profile.payload_uuid == derive_uuid("com.example.ids")


def test_adding_a_certificate_changes_only_its_payload(
    tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    certs = _bundle(tmp_path)
    spec = write_spec("identifier: com.example.b\nname: B\ncertificates: [certs/*.pem]\n")
    before = _payloads(spec)
    extra = certs["inter"].issue("Bundle Second Sub CA", path_length=0)
    extra.write(tmp_path / "certs" / "d-extra.pem")
    after = _payloads(spec)
    assert len(after) == len(before) + 1
    assert [p for p in after if p["PayloadDisplayName"] != "Bundle Second Sub CA"] == before


def test_raw_payloads_get_deterministic_identifiers(
    tmp_path: Path, pki_ec: TestPKI, write_spec: Callable[..., Path]
) -> None:
    pki_ec.root.write(tmp_path / "root.pem")
    spec = write_spec(
        "identifier: com.example.r\nname: R\ncertificates: [root.pem]\npayloads:\n"
        "  - {PayloadType: com.apple.dnsSettings.managed, DNSSettings: {DNSProtocol: HTTPS,"
        " ServerURL: 'https://dns.example.com/dns-query'}}\n"
    )
    raw = _payloads(spec)[-1]
    assert raw["PayloadIdentifier"] == "com.example.r.com.apple.dnsSettings.managed.1"
    assert raw["PayloadUUID"] == derive_uuid(
        "com.example.r", "com.example.r.com.apple.dnsSettings.managed.1"
    )
    assert raw["DNSSettings"] == {
        "DNSProtocol": "HTTPS",
        "ServerURL": "https://dns.example.com/dns-query",
    }


def test_builder_output_is_a_plist_with_every_certificate(
    pki_ec: TestPKI, tmp_path: Path, write_spec: Callable[..., Path]
) -> None:
    pki_ec.root.write(tmp_path / "root.pem")
    pki_ec.intermediate.write(tmp_path / "inter.pem")
    spec = write_spec(
        "identifier: com.example.x\nname: X\ncertificates: ['*.pem']\n"
        "validate: {at: '2026-06-01'}\n"
    )
    data = Builder(spec).build()
    profile = plistlib.loads(data)
    assert profile["PayloadType"] == "Configuration" and profile["PayloadVersion"] == 1
    assert {p["PayloadContent"] for p in profile["PayloadContent"]} == {
        pki_ec.root.der,
        pki_ec.intermediate.der,
    }


@given(st.text(max_size=80), st.one_of(st.none(), st.text(max_size=80)))
def test_derived_uuids_are_rfc4122_uuid5(profile_id: str, payload_id: str | None) -> None:
    """derive_uuid skips the UUID object for speed: it must still be uuid5, uppercased."""
    import uuid

    from mobileconfig.payloads.base import NAMESPACE

    key = profile_id if payload_id is None else f"{profile_id}\n{payload_id}"
    try:
        want = str(uuid.uuid5(NAMESPACE, key)).upper()
    except UnicodeEncodeError:  # a lone surrogate: neither can encode it
        with pytest.raises(UnicodeEncodeError):
            derive_uuid.__wrapped__(profile_id, payload_id)
        return
    assert derive_uuid.__wrapped__(profile_id, payload_id) == want
    assert uuid.UUID(want).version == 5
