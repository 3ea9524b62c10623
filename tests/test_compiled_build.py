"""Compile once, fill per row: a templated spec's skeleton gives the very bytes, findings and
errors a full compile gives, row by row, over an inventory chosen to trip every check the
templated values reach. Counted, never timed."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

import mobileconfig.builder as builder_module
from mobileconfig import cms
from mobileconfig.builder import Builder
from mobileconfig.errors import MobileconfigError

from conftest import need_tool
from pki import DAY, NOW, Issued, issue, make_key

PASSWORD = "fill-test-pw"

SPEC = """identifier: "com.example.user.{{ user }}"
name: "Example Corp for {{ name }}"
organization: Example Corp
description: "{{ note }}"
platforms: [iOS, macOS]
certificates: [certs/root.pem, certs/issuing.pem]
identities:
  alice: {pkcs12: alice.p12, password: {file: pw.txt}}
mail:
  - address: "{{ email }}"
    name: "{{ name }}"
    incoming: {host: "{{ host }}", port: 993, username: "{{ user }}"}
    outgoing: {host: mail.example.com, port: 587, username: "{{ user }}"}
    smime: {signing: alice, encryption: alice}
  - address: helpdesk@example.com
    incoming: {host: mail.example.com, port: 993}
    outgoing: {host: mail.example.com, port: 587}
wifi:
  - ssid: ExampleCorp
    security: WPA2
    eap: {method: tls, identity: alice, server_names: [radius.example.com], anchors: [Fill Root CA]}
validate: {at: "2026-06-01T12:00:00Z"}
"""


def _row(user: Any = "bob", **values: Any) -> dict[str, Any]:
    row = {
        "user": user,
        "name": "Bob Example",
        "email": "bob@example.com",
        "note": "Work profile",
        "host": "mail.example.com",
    }
    row.update(values)
    return row


#: (label, row, filled): filled says whether the row is expected to take the skeleton.
ROWS: list[tuple[str, dict[str, Any], bool]] = [
    ("plain", _row("alice", name="Alice Example", email="alice.work@example.com"), True),
    ("xml-specials", _row(name="Bob & <Co> \"quoted\" 'x' ]]>", note="a <b> & c"), True),
    ("unicode", _row("carol", name="Zoë 名前 🚀 עברית", email="zoë@example.com"), True),
    ("empty-note", _row(note=""), True),
    ("newline-and-tab", _row(name="line one\nline two", note="tab\there"), True),
    ("other-host", _row(host="imap.other.example.org"), True),
    ("numbers", _row(12345, name=3.5, note=True), True),
    ("literal-braces", _row(name="{{ user }} {% raw %}"), True),
    ("upper-case-smime-match", _row("ALICE", email="ALICE@EXAMPLE.COM"), False),
    ("smime-match", _row("alice", email="alice@example.com"), False),
    ("same-slug-as-constant-account", _row(email="helpdesk@example.com"), True),
    ("long", _row(name="n" * 3000), True),
    ("too-long-to-fill", _row(note="x" * 5000), False),
    ("empty-address", _row(email=""), False),
    ("carriage-return", _row(name="one\r\ntwo"), False),
    ("mdm-look-alike", _row(name="$EMAIL"), False),
    ("bad-identifier", _row("bad user"), False),
    ("bad-host", _row(host="bad host"), False),
    ("control-character", _row(note="bell\x07"), False),
    ("lone-surrogate", _row(name="a\ud800b"), False),
    ("undefined-variable", {k: v for k, v in _row().items() if k != "note"}, False),
]


class _Material:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = issue("Fill Root CA", key=make_key("rsa2048", slot=51))
        self.inter = self.root.issue("Fill Issuing CA", key=make_key("rsa2048", slot=52))
        san = x509.SubjectAlternativeName([x509.RFC822Name("alice@example.com")])
        self.alice = self.inter.issue(
            "Alice Example",
            key=make_key("rsa2048", slot=53),
            ca=False,
            eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH],
            extra_extensions=[(san, False)],
            not_before=NOW - 10 * DAY,
            not_after=NOW + 300 * DAY,
        )
        self.signer = self.inter.issue(
            "profiles.example.com", key=make_key("rsa2048", slot=54), ca=False
        )
        self.root.write(folder / "certs" / "root.pem")
        self.inter.write(folder / "certs" / "issuing.pem")
        (folder / "pw.txt").write_text(PASSWORD + "\n")
        self._p12(folder / "alice.p12", self.alice)
        self._p12(folder / "signer.p12", self.signer)

    def _p12(self, path: Path, who: Issued) -> None:
        blob = pkcs12.serialize_key_and_certificates(
            b"id",
            who.key,  # type: ignore[arg-type]
            who.cert,
            [self.inter.cert],
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
        path.write_bytes(blob)

    def spec(self, text: str = SPEC, name: str = "profile.yaml") -> Path:
        path = self.folder / name
        path.write_text(text)
        return path


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> _Material:
    return _Material(tmp_path_factory.mktemp("fill"))


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts full compiles made through the builder module."""
    count = [0]
    real = builder_module.compile_spec

    def counting(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(builder_module, "compile_spec", counting)
    return count


def _outcome(
    builder: Builder, row: dict[str, Any], *, at: dt.datetime = NOW, **kwargs: Any
) -> tuple[Any, ...]:
    try:
        result = builder.build_result(row, at=at, sign=False, **kwargs)
    except MobileconfigError as exc:
        return ("error", type(exc).__name__, exc.diagnostics())
    return ("built", result.data, result.report.findings, result.holds_secret)


def test_filled_rows_are_byte_identical_to_full_compiles(
    material: _Material, compiles: list[int]
) -> None:
    spec = material.spec()
    fast, full = Builder(spec), Builder(spec, fill=False)
    assert fast.prepare(_row(), at=NOW)
    errors = 0
    for label, row, filled in ROWS:
        want = _outcome(full, row)
        before = compiles[0]
        got = _outcome(fast, row)
        assert got == want, label
        errors += want[0] == "error"
        if want[0] == "error":
            continue  # refused by both (the spec's model, a template, the plist writer)
        if filled:
            assert compiles[0] == before, f"{label}: expected the skeleton, got a full compile"
        else:
            assert compiles[0] > before, f"{label}: expected the full path"
    assert errors == 5  # identifier, host, control character, surrogate, undefined variable


def test_findings_about_a_row_value_come_through_with_the_value(material: _Material) -> None:
    fast = Builder(material.spec())
    result = fast.build_result(_row(email="bob@example.com"), at=NOW, sign=False)
    mismatch = [f for f in result.report.findings if f.code == "MC409"]
    assert mismatch and all("bob@example.com" in f.message for f in mismatch)
    assert not any("mcfill" in f.message or "mcfill" in f.fix for f in result.report.findings)
    assert result.compiled.profile.payload_identifier == "com.example.user.bob"


def test_signed_rows_carry_the_same_content_and_verify(material: _Material, tmp_path: Path) -> None:
    spec = material.spec(SPEC + "sign: {pkcs12: signer.p12, password: {file: pw.txt}}\n", "s.yaml")
    fast, full = Builder(spec), Builder(spec, fill=False)
    rows = [r for _, r, filled in ROWS if filled][:4]
    for row in rows:
        a = fast.build_result(row, at=NOW)
        b = full.build_result(row, at=NOW)
        assert a.signed and b.signed
        assert cms.unwrap(a.data).content == cms.unwrap(b.data).content
        assert a.report.findings == b.report.findings
    openssl = need_tool("openssl")
    (tmp_path / "signed.der").write_bytes(fast.build(rows[1], at=NOW))
    (tmp_path / "root.pem").write_bytes(material.root.pem)
    check = subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "signed.der"),
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-purpose",
            "any",
            "-attime",
            str(int(NOW.timestamp())),
            "-out",
            str(tmp_path / "content.xml"),
        ],
        capture_output=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr.decode()
    unsigned = full.build_result(rows[1], at=NOW, sign=False).data
    assert (tmp_path / "content.xml").read_bytes() == unsigned


@pytest.mark.parametrize(
    ("label", "edit"),
    [
        ("templated certificate path", ("certs/root.pem,", '"certs/{{ ca }}.pem",')),
        ("a filter", ('"{{ note }}"', '"{{ note | upper }}"')),
        ("an mdm", ("organization: Example Corp", "organization: Example Corp\nmdm: jamf")),
    ],
)
def test_templates_the_skeleton_cannot_follow_take_the_full_path(
    material: _Material, compiles: list[int], label: str, edit: tuple[str, str]
) -> None:
    spec = material.spec(SPEC.replace(*edit), "other.yaml")
    fast, full = Builder(spec), Builder(spec, fill=False)
    row = _row(ca="root")
    assert not fast.prepare(row, at=NOW), label
    before = compiles[0]
    assert _outcome(fast, row) == _outcome(full, row)
    assert compiles[0] > before


def test_binary_and_encrypted_output_take_the_full_path(
    material: _Material, compiles: list[int]
) -> None:
    spec = material.spec()
    fast, full = Builder(spec), Builder(spec, fill=False)
    fast.prepare(_row(), at=NOW)
    before = compiles[0]
    assert _outcome(fast, _row(), fmt="binary") == _outcome(full, _row(), fmt="binary")
    assert compiles[0] > before


def test_a_skeleton_per_validation_time(material: _Material) -> None:
    spec = material.spec()
    fast, full = Builder(spec), Builder(spec, fill=False)
    later = NOW + dt.timedelta(days=400)  # alice's certificate has expired by then
    for when in (NOW, later, NOW):
        assert _outcome(fast, _row(), at=when) == _outcome(full, _row(), at=when)


def test_a_value_a_schema_rule_reads_is_checked_per_row(
    material: _Material, compiles: list[int]
) -> None:
    # Apple's schema makes other Wi-Fi keys depend on SSID_STR: the row's payload is checked.
    spec = material.spec(SPEC.replace("ssid: ExampleCorp", 'ssid: "Corp {{ user }}"'), "w.yaml")
    fast, full = Builder(spec), Builder(spec, fill=False)
    assert fast.prepare(_row(), at=NOW)
    for user in ("bob", "carol", "x" * 200, "Zoë"):
        want = _outcome(full, _row(user))
        before = compiles[0]
        assert _outcome(fast, _row(user)) == want, user
        if want[0] == "built":
            assert compiles[0] == before, user
        else:  # refused by both: an SSID over 32 bytes, a non-ASCII identifier
            assert user in ("x" * 200, "Zoë"), want


def test_threads_share_one_skeleton(material: _Material) -> None:
    from concurrent.futures import ThreadPoolExecutor

    spec = material.spec()
    fast, full = Builder(spec), Builder(spec, fill=False)
    rows = [_row(f"user{i}", email=f"user{i}@example.com", name=f"User {i}") for i in range(40)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda r: _outcome(fast, r), rows))
    assert got == [_outcome(full, r) for r in rows]


def test_one_build_compiles_once_and_the_second_makes_the_skeleton(
    material: _Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mobileconfig.skeleton as skeleton_module

    made = [0]
    real = skeleton_module.compile_spec

    def counting(*args: Any, **kwargs: Any) -> Any:
        made[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(skeleton_module, "compile_spec", counting)
    fast = Builder(material.spec())
    fast.build_result(_row("one"), at=NOW, sign=False)
    assert made[0] == 0  # a single build (mobileconfig.build, the CLI) pays no skeleton
    fast.build_result(_row("two"), at=NOW, sign=False)
    fast.build_result(_row("three"), at=NOW, sign=False)
    assert made[0] == 1


OTHER_SERVICES = """identifier: com.example.shared
name: Shared profile
organization: "{{ name }} Corp"
description: "{{ note }}"
certificates: [certs/root.pem, certs/issuing.pem]
identities:
  alice: {pkcs12: alice.p12, password: {file: pw.txt}}
wifi:
  - ssid: ExampleCorp
    security: WPA2
    eap:
      method: peap
      username: "{{ user }}"
      server_names: [radius.example.com]
      anchors: [Fill Root CA]
vpn:
  - name: "VPN for {{ user }}"
    ikev2: {server: "{{ host }}", username: "{{ user }}"}
exchange:
  - host: "{{ host }}"
    email: "{{ email }}"
    user: "{{ user }}"
    smime: {signing: alice}
validate: {at: "2026-06-01T12:00:00Z"}
"""


def test_other_services_and_a_constant_identifier_fill_byte_identical(
    material: _Material, compiles: list[int]
) -> None:
    spec = material.spec(OTHER_SERVICES, "services.yaml")
    fast, full = Builder(spec), Builder(spec, fill=False)
    assert fast.prepare(_row(), at=NOW)
    filled = 0
    for label, row, _ in ROWS:
        want = _outcome(full, row)
        before = compiles[0]
        assert _outcome(fast, row) == want, label
        filled += want[0] == "built" and compiles[0] == before
    assert filled >= len(ROWS) // 2


def test_a_value_holding_a_marker_takes_the_full_path(
    material: _Material, compiles: list[int]
) -> None:
    spec = material.spec()
    fast, full = Builder(spec), Builder(spec, fill=False)
    assert fast.prepare(_row(), at=NOW)
    marker = f"mcfill{fast._fills[NOW].nonce}v1"  # type: ignore[union-attr]
    row = _row(name=f"x {marker} y", note=marker)
    want = _outcome(full, row)
    before = compiles[0]
    assert _outcome(fast, row) == want
    assert compiles[0] == before + 1
