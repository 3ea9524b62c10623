"""``mobileconfig probe``: real TLS servers on 127.0.0.1, started here, each bounded in time.

Every server is a thread with Python's ``ssl`` server socket; ``load_cert_chain`` sends
exactly the certificates in its file, in that order, which is how a missing intermediate or
a wrong order is staged. The STARTTLS greeters speak just enough IMAP, SMTP and POP3.
No traffic leaves loopback; validation time is pinned to ``pki.NOW``.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from mobileconfig.errors import Location
from mobileconfig.findings import CATALOGUE, Severity
from mobileconfig.pki.certs import Certificate
from mobileconfig.probe import (
    ProbeConnectionError,
    ProbeError,
    ProbeProtocolError,
    ProbeTimeout,
    parse_target,
    probe,
    spec_targets,
)
from mobileconfig.probe.connect import chain_reader, starttls_mode
from mobileconfig.spec.load import LoadedYAML

from pki import DAY, NOW, Issued, issue, openssl_resign

TIMEOUT = 5.0
NAMES = ["localhost", "mail.example.test"]


def need_chain_reader() -> None:
    """pyOpenSSL (the probe extra) or Python 3.13+; in CI its absence fails, else skips."""
    try:
        chain_reader()
    except ProbeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the probe tests need pyOpenSSL in CI: {exc}")
        pytest.skip(str(exc))


def cert(issued: Issued) -> Certificate:
    return Certificate(issued.cert)


# -- the PKI -------------------------------------------------------------------------------


@dataclass
class PKI:
    root: Issued
    inter: Issued
    leaf: Issued
    other: Issued  # an unrelated CA


@pytest.fixture(scope="module")
def pki() -> PKI:
    root = issue("Probe Root CA")
    inter = root.issue("Probe Issuing CA", path_length=0)
    leaf = inter.issue(
        "localhost",
        ca=False,
        server_names=NAMES,
        not_before=NOW - 30 * DAY,
        not_after=NOW + 300 * DAY,
    )
    other = issue("Unrelated CA")
    return PKI(root, inter, leaf, other)


def server_leaf(issuer: Issued, **kw: Any) -> Issued:
    kw.setdefault("server_names", NAMES)
    kw.setdefault("not_before", NOW - 30 * DAY)
    kw.setdefault("not_after", NOW + 300 * DAY)
    return issuer.issue(kw.pop("cn", "localhost"), ca=False, **kw)


# -- servers -------------------------------------------------------------------------------


def _greet_imap(conn: socket.socket, reader: Any) -> bool:
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] test IMAP ready\r\n")
    line = reader.readline()
    tag = line.split(b" ", 1)[0]
    conn.sendall(tag + b" OK Begin TLS negotiation now\r\n")
    return True


def _refuse_imap(conn: socket.socket, reader: Any) -> bool:
    conn.sendall(b"* OK test IMAP ready\r\n")
    line = reader.readline()
    conn.sendall(line.split(b" ", 1)[0] + b" NO STARTTLS is disabled\r\n")
    return False


def _smtp(starttls: bool) -> Callable[[socket.socket, Any], bool]:
    def greet(conn: socket.socket, reader: Any) -> bool:
        conn.sendall(b"220 mail.example.test ESMTP test\r\n")
        reader.readline()  # EHLO
        ext = b"250-mail.example.test\r\n250-PIPELINING\r\n"
        conn.sendall(ext + (b"250 STARTTLS\r\n" if starttls else b"250 8BITMIME\r\n"))
        if not starttls:
            reader.readline()
            return False
        reader.readline()  # STARTTLS
        conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
        return True

    return greet


def _greet_pop3(conn: socket.socket, reader: Any) -> bool:
    conn.sendall(b"+OK test POP3 ready\r\n")
    reader.readline()
    conn.sendall(b"+OK Begin TLS\r\n")
    return True


def _plain_text(conn: socket.socket, reader: Any) -> bool:
    conn.sendall(b"220 plain.example.test ESMTP no TLS here\r\n")
    conn.recv(4096)
    conn.sendall(b"500 5.5.2 what?\r\n")
    return False


class Server:
    """A loopback server: an optional plain-text dialogue, then a TLS handshake."""

    def __init__(
        self,
        ctx: ssl.SSLContext | None,
        greet: Callable[[socket.socket, Any], bool] | None = None,
        *,
        silent: bool = False,
    ) -> None:
        self.ctx = ctx
        self.greet = greet
        self.silent = silent
        self.server_names: list[str | None] = []
        if ctx is not None:
            ctx.sni_callback = self._sni
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sni(self, _obj: Any, name: str | None, _ctx: Any) -> None:
        self.server_names.append(name)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            try:
                self._handle(conn)
            except Exception:  # a test server: the client side asserts
                pass
            finally:
                conn.close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(TIMEOUT)
        if self.silent:
            while not self._stop.is_set():
                try:
                    if not conn.recv(4096):
                        return
                except TimeoutError:
                    continue
            return
        if self.greet is not None:
            reader = conn.makefile("rb")
            try:
                if not self.greet(conn, reader):
                    return
            finally:
                reader.close()
        assert self.ctx is not None
        tls = self.ctx.wrap_socket(conn, server_side=True)
        try:
            tls.recv(1)  # until the client goes away
        finally:
            tls.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self.thread.join(TIMEOUT)


def write_chain(folder: Path, *certs: Issued) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    chain = folder / f"chain-{len(list(folder.iterdir()))}.pem"
    chain.write_bytes(b"".join(c.pem for c in certs))
    key = chain.with_suffix(".key")
    key.write_bytes(certs[0].key_pem)
    return chain, key


def server_context(
    chain: tuple[Path, Path],
    *,
    max_version: ssl.TLSVersion | None = None,
    ciphers: str = "DEFAULT:@SECLEVEL=0",
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers(ciphers)
    if max_version is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 on purpose
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = max_version
    ctx.load_cert_chain(certfile=str(chain[0]), keyfile=str(chain[1]))
    return ctx


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """serve(leaf, *intermediates, greet=..., max_version=..., ciphers=...) -> Server."""
    need_chain_reader()
    servers: list[Server] = []

    def start(*certs: Issued, greet: Any = None, silent: bool = False, **ctx_kw: Any) -> Server:
        ctx = server_context(write_chain(tmp_path / "srv", *certs), **ctx_kw) if certs else None
        server = Server(ctx, greet, silent=silent)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def run(port: int, bundle: list[Issued], host: str = "localhost", **kw: Any) -> Any:
    kw.setdefault("timeout", TIMEOUT)
    kw.setdefault("at", NOW)
    return probe(host, port, bundle=[cert(c) for c in bundle], **kw)


def codes(result: Any, severity: Severity | None = None) -> set[str]:
    return {f.code for f in result.findings.findings if severity in (None, f.severity)}


def finding(result: Any, code: str) -> Any:
    found = [f for f in result.findings.findings if f.code == code]
    assert found, f"no {code} in {[f.code for f in result.findings.findings]}"
    return found[0]


# -- the catalogue -------------------------------------------------------------------------


def test_mc6xx_codes_are_catalogued_and_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "findings.md").read_text()
    codes_6xx = [c for c in CATALOGUE if c.startswith("MC6")]
    assert codes_6xx == ["MC601", "MC602", "MC603", "MC604", "MC605", "MC606", "MC607", "MC608"]
    for code in codes_6xx:
        assert f"## {code}: {CATALOGUE[code].title}" in doc


# -- chains --------------------------------------------------------------------------------


def test_complete_chain_has_no_error(pki: PKI, serve: Callable[..., Server]) -> None:
    server = serve(pki.leaf, pki.inter)
    result = run(server.port, [pki.root])
    assert result.findings.errors == []
    assert result.findings.warnings == []
    assert result.protocol == "tls"
    assert result.tls_version == "TLSv1.3"
    assert result.cipher.startswith("TLS_")
    assert result.chain == (cert(pki.leaf), cert(pki.inter))  # as sent, in order
    assert server.server_names == ["localhost"]  # SNI
    data = result.to_json()
    assert [c["subject"] for c in data["chain"]] == [
        "CN=localhost,O=Test Corp",
        "CN=Probe Issuing CA,O=Test Corp",
    ]
    assert data["summary"]["errors"] == 0


def test_missing_intermediate_names_the_issuer(pki: PKI, serve: Callable[..., Server]) -> None:
    server = serve(pki.leaf)  # leaf only
    result = run(server.port, [pki.root])
    f = finding(result, "MC601")
    assert f.severity is Severity.ERROR
    assert "sends only its own certificate 'localhost'" in f.message
    assert "'CN=Probe Issuing CA,O=Test Corp'" in f.message
    assert "MC510" in codes(result)  # tls.py: no chain to a root either
    assert "MC602" not in codes(result)


def test_missing_intermediate_in_the_profile_is_a_warning(
    pki: PKI, serve: Callable[..., Server]
) -> None:
    server = serve(pki.leaf)
    result = run(server.port, [pki.root, pki.inter])
    assert result.findings.errors == []
    f = finding(result, "MC602")
    assert f.severity is Severity.WARNING
    assert "does not send 'Probe Issuing CA'" in f.message
    assert "devices with this profile still trust it" in f.message
    assert f.certificate.subject == "CN=Probe Issuing CA,O=Test Corp"


def test_chain_stopping_below_a_root_the_profile_lacks(
    pki: PKI, serve: Callable[..., Server]
) -> None:
    server = serve(pki.leaf, pki.inter)
    result = run(server.port, [pki.other])
    f = finding(result, "MC601")
    assert "ends at 'Probe Issuing CA'" in f.message
    assert "its issuer 'CN=Probe Root CA,O=Test Corp'" in f.message
    assert "if it is your root, the profile must install it" in f.message


def test_wrong_name_lists_the_names_carried(pki: PKI, serve: Callable[..., Server]) -> None:
    other_name = server_leaf(pki.inter, cn="mail.example.test", server_names=["mail.example.test"])
    server = serve(other_name, pki.inter)
    result = run(server.port, [pki.root])
    f = finding(result, "MC501")
    assert "mail.example.test" in f.message
    assert "localhost" in f.message
    assert codes(result, Severity.ERROR) == {"MC501"}


def test_expired_leaf(pki: PKI, serve: Callable[..., Server]) -> None:
    expired = server_leaf(pki.inter, not_before=NOW - 200 * DAY, not_after=NOW - 10 * DAY)
    server = serve(expired, pki.inter)
    result = run(server.port, [pki.root])
    assert "expired on" in finding(result, "MC507").message


def test_self_signed_leaf(serve: Callable[..., Server], pki: PKI) -> None:
    selfie = issue(
        "localhost",
        ca=False,
        server_names=NAMES,
        not_before=NOW - 30 * DAY,
        not_after=NOW + 300 * DAY,
    )
    server = serve(selfie)
    result = run(server.port, [pki.root])
    assert "MC510" in codes(result, Severity.ERROR)
    assert "MC601" not in codes(result)  # nothing was left out: it has no issuer to send


def test_sha1_intermediate(pki: PKI, serve: Callable[..., Server]) -> None:
    sha1_inter = openssl_resign(pki.inter, pki.root, "sha1")
    assert cert(sha1_inter).signature_hash == "sha1"
    server = serve(pki.leaf, sha1_inter)
    result = run(server.port, [pki.root])
    f = finding(result, "MC504")
    assert "SHA1" in f.message and "Probe Issuing CA" in f.message


def test_rsa1024_leaf(pki: PKI, serve: Callable[..., Server]) -> None:
    weak = server_leaf(pki.inter, key_kind="rsa1024")
    server = serve(weak, pki.inter)  # SECLEVEL=0 on both sides lets the handshake happen
    result = run(server.port, [pki.root])
    assert "RSA 1024" in finding(result, "MC503").message


def test_chain_out_of_order_and_extra_certificate(pki: PKI, serve: Callable[..., Server]) -> None:
    server = serve(pki.leaf, pki.other, pki.root, pki.inter)
    result = run(server.port, [pki.root])
    assert result.findings.errors == []
    f = finding(result, "MC604")
    assert f.severity is Severity.INFO
    assert "out of order" in f.message and "'Unrelated CA'" in f.message


def test_old_tls_version(pki: PKI, serve: Callable[..., Server]) -> None:
    server = serve(pki.leaf, pki.inter, max_version=ssl.TLSVersion.TLSv1_1)
    try:
        result = run(server.port, [pki.root])
    except ProbeProtocolError as exc:  # pragma: no cover - an OpenSSL built without TLS 1.1
        pytest.skip(f"this OpenSSL cannot speak TLS 1.1: {exc}")
    assert result.tls_version == "TLSv1.1"
    assert "Apple devices require TLS 1.2" in finding(result, "MC603").message


def test_cipher_without_forward_secrecy(pki: PKI, serve: Callable[..., Server]) -> None:
    rsa_leaf = server_leaf(pki.inter, key_kind="rsa2048")
    server = serve(
        rsa_leaf, pki.inter, max_version=ssl.TLSVersion.TLSv1_2, ciphers="AES128-GCM-SHA256"
    )
    result = run(server.port, [pki.root])
    assert (result.tls_version, result.cipher) == ("TLSv1.2", "AES128-GCM-SHA256")
    assert finding(result, "MC605").severity is Severity.WARNING
    assert result.findings.errors == []


def test_public_roots_are_named_when_the_chain_reaches_none(
    pki: PKI, serve: Callable[..., Server]
) -> None:
    server = serve(pki.leaf, pki.inter)
    result = run(server.port, [], public_roots=True)
    assert "nor in the profile nor the public roots" in finding(result, "MC601").message


# -- STARTTLS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "greet", "protocol"),
    [
        ("imap", _greet_imap, "imap+starttls"),
        ("smtp", _smtp(starttls=True), "smtp+starttls"),
        ("pop3", _greet_pop3, "pop3+stls"),
    ],
)
def test_starttls(
    pki: PKI, serve: Callable[..., Server], mode: str, greet: Any, protocol: str
) -> None:
    server = serve(pki.leaf, pki.inter, greet=greet)
    result = run(server.port, [pki.root], starttls=mode)
    assert result.protocol == protocol
    assert result.chain == (cert(pki.leaf), cert(pki.inter))
    assert result.findings.errors == []


def test_smtp_without_starttls(pki: PKI, serve: Callable[..., Server]) -> None:
    server = serve(pki.leaf, greet=_smtp(starttls=False))
    with pytest.raises(ProbeProtocolError, match="does not offer STARTTLS"):
        run(server.port, [pki.root], starttls="smtp")


def test_imap_starttls_refused(pki: PKI, serve: Callable[..., Server]) -> None:
    server = serve(pki.leaf, greet=_refuse_imap)
    with pytest.raises(ProbeProtocolError, match=r"STARTTLS refused: 'a001 NO"):
        run(server.port, [pki.root], starttls="imap")


def test_starttls_mode_follows_the_port() -> None:
    upgrade = starttls_mode
    assert [upgrade("auto", p) for p in (143, 25, 587, 110)] == ["imap", "smtp", "smtp", "pop3"]
    assert [upgrade("auto", p) for p in (993, 995, 465, 443, 8443)] == ["none"] * 5
    assert upgrade("smtp", 2525) == "smtp"


# -- network failures ----------------------------------------------------------------------


def test_plain_text_port(pki: PKI, serve: Callable[..., Server]) -> None:
    server = serve(greet=_plain_text)
    with pytest.raises(ProbeProtocolError) as info:
        run(server.port, [pki.root])
    text = info.value.diagnostics()
    assert text.startswith(f"localhost:{server.port}: no TLS on this port")
    assert "'220 plain.example.test ESMTP no TLS here'" in text
    assert "try --starttls" in text


def test_closed_port() -> None:
    need_chain_reader()
    port = closed_port()
    with pytest.raises(ProbeConnectionError) as info:
        probe("127.0.0.1", port, timeout=TIMEOUT)
    assert info.value.diagnostics().startswith(f"127.0.0.1:{port}: connection refused")


def test_server_that_never_answers(serve: Callable[..., Server]) -> None:
    server = serve(silent=True)
    started = time.monotonic()
    with pytest.raises(ProbeTimeout, match=r"no answer within 1 s during the TLS handshake"):
        probe("127.0.0.1", server.port, timeout=1.0)
    assert time.monotonic() - started < 3


def test_no_chain_reader_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "OpenSSL", None)
    monkeypatch.setitem(sys.modules, "OpenSSL.SSL", None)
    monkeypatch.delattr(ssl.SSLObject, "get_unverified_chain", raising=False)
    with pytest.raises(ProbeError, match=r"pip install pyopenssl"):
        probe("127.0.0.1", closed_port(), timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail.example.com", ("mail.example.com", None)),
        ("mail.example.com:993", ("mail.example.com", 993)),
        ("[::1]:993", ("::1", 993)),
        ("::1", ("::1", None)),
    ],
)
def test_parse_target(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["", "host:0", "host:99999", "host:imap", "[::1"])
def test_parse_target_refuses(text: str) -> None:
    with pytest.raises(ProbeError):
        parse_target(text)


# -- spec targets --------------------------------------------------------------------------


def test_spec_targets() -> None:
    raw = {
        "mail": [
            {
                "incoming": {"protocol": "imap", "host": "mail.example.com", "port": 993},
                "outgoing": {"host": "mail.example.com", "tls": True},
            },
            {"incoming": {"protocol": "pop", "host": "pop.example.com", "tls": False}},
            {"incoming": {"host": "{{ mail_host }}"}},
        ],
        "exchange": [{"host": "eas.example.com"}],
        "vpn": [{"name": "VPN", "ikev2": {"server": "vpn.example.com"}}],
    }
    targets, skipped = spec_targets(LoadedYAML(raw, "profile.yaml", {("mail", 0): 7}))
    assert [(t.host, t.port, t.setting) for t in targets] == [
        ("mail.example.com", 993, "mail[0].incoming.host"),
        ("mail.example.com", 587, "mail[0].outgoing.host"),
        ("eas.example.com", 443, "exchange[0].host"),
    ]
    assert targets[0].location == Location("profile.yaml", 7)
    reasons = dict(skipped)
    assert "tls is false" in reasons["mail[1].incoming.host"]
    assert "template" in reasons["mail[2].incoming.host"]
    assert "IKEv2 is not TLS" in reasons["vpn[0].ikev2.server"]


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def run_probe(run_cli: Callable[..., Any]) -> Callable[..., Any]:
    """``mobileconfig probe ...`` through cli.main."""
    need_chain_reader()

    def go(*argv: str | Path) -> Any:
        return run_cli("probe", *argv)

    return go


AT = NOW.isoformat()


def test_cli_complete_chain(
    pki: PKI, serve: Callable[..., Server], run_probe: Any, tmp_path: Path
) -> None:
    server = serve(pki.leaf, pki.inter)
    root = pki.root.write(tmp_path / "root.pem")
    r = run_probe(f"localhost:{server.port}", "--ca", root, "--at", AT, "--timeout", "5")
    assert r.code == 0, r
    assert f"localhost:{server.port}: tls, TLSv1.3" in r.out
    assert "0. 'CN=localhost,O=Test Corp'" in r.out
    assert "1. 'CN=Probe Issuing CA,O=Test Corp'" in r.out
    assert "0 errors" in r.out


def test_cli_missing_intermediate_json(
    pki: PKI, serve: Callable[..., Server], run_probe: Any, tmp_path: Path
) -> None:
    server = serve(pki.leaf)
    root = pki.root.write(tmp_path / "root.pem")
    r = run_probe(f"localhost:{server.port}", "--ca", root, "--at", AT, "--format", "json")
    assert r.code == 1, r
    data = json.loads(r.out)
    (only,) = data["probes"]
    assert (only["host"], only["port"], only["tls_version"]) == (
        "localhost",
        server.port,
        "TLSv1.3",
    )
    assert "MC601" in {f["code"] for f in only["findings"]}
    assert only["summary"]["errors"] >= 1


def test_cli_network_failures_exit_2(run_probe: Any, serve: Callable[..., Server]) -> None:
    port = closed_port()
    r = run_probe(f"127.0.0.1:{port}", "--timeout", "5")
    assert r.code == 2, r
    assert f"mobileconfig: error: 127.0.0.1:{port}: connection refused" in r.err

    silent = serve(silent=True)
    r = run_probe(f"127.0.0.1:{silent.port}", "--timeout", "1")
    assert r.code == 2, r
    assert "no answer within 1 s" in r.err


def test_cli_bad_input_exit_2(run_probe: Any) -> None:
    r = run_probe()
    assert r.code == 2 and "give HOST[:PORT]" in r.err
    r = run_probe("host:notaport")
    assert r.code == 2 and "the port must be a number" in r.err


def test_cli_spec_probes_every_server(
    pki: PKI, serve: Callable[..., Server], run_probe: Any, tmp_path: Path
) -> None:
    imaps = serve(pki.leaf, pki.inter)
    smtps = serve(pki.leaf)  # forgets its intermediate; the profile has it
    pki.root.write(tmp_path / "certs" / "root.pem")
    pki.inter.write(tmp_path / "certs" / "issuing.pem")
    spec = tmp_path / "profile.yaml"
    spec.write_text(
        "identifier: com.example.test.mail\n"
        "name: Test mail\n"
        "certificates: [certs/*.pem]\n"
        f"validate: {{at: '{AT}'}}\n"
        "mail:\n"
        "  - address: user@example.test\n"
        f"    incoming: {{protocol: imap, host: localhost, port: {imaps.port}, tls: true}}\n"
        f"    outgoing: {{host: localhost, port: {smtps.port}, tls: true}}\n"
        "vpn:\n"
        "  - {name: Test VPN, ikev2: {server: vpn.example.test}}\n"
        "identities:\n"  # a probe needs no secret: the identities are not opened
        "  alice: {pkcs12: missing.p12, password: {env: MOBILECONFIG_TEST_UNSET}}\n"
    )
    r = run_probe("--spec", spec, "--timeout", "5")
    assert r.code == 0, r  # MC602 is a warning
    assert f"localhost:{imaps.port} (mail[0].incoming.host): tls" in r.out
    assert f"localhost:{smtps.port} (mail[0].outgoing.host): tls" in r.out
    assert "MC602" in r.out
    assert "skipped vpn[0].ikev2.server: IKEv2 is not TLS" in r.err
    assert "profile.yaml:8: warning MC602" in r.out.replace(str(tmp_path) + "/", "")

    r = run_probe("--spec", spec, "--timeout", "5", "--strict")
    assert r.code == 1, r


def test_cli_spec_host_selects_its_servers(
    pki: PKI, serve: Callable[..., Server], run_probe: Any, tmp_path: Path
) -> None:
    server = serve(pki.leaf, pki.inter)
    pki.root.write(tmp_path / "certs" / "root.pem")
    spec = tmp_path / "profile.yaml"
    spec.write_text(
        "identifier: com.example.test.eas\nname: Test\ncertificates: [certs/root.pem]\n"
        f"exchange:\n  - {{host: localhost, port: {server.port}}}\n"
    )
    r = run_probe("localhost", "--spec", spec, "--at", AT, "--timeout", "5", "--format", "json")
    assert r.code == 0, r
    (only,) = json.loads(r.out)["probes"]
    assert (only["setting"], only["port"]) == ("exchange[0].host", server.port)


def test_reading_the_chain_does_not_trust_it(pki: PKI, serve: Callable[..., Server]) -> None:
    # A server whose chain no one trusts still hands over every certificate.
    server = serve(pki.leaf, pki.inter, pki.root)
    result = run(server.port, [])
    assert [c.display_name for c in result.chain] == [
        "localhost",
        "Probe Issuing CA",
        "Probe Root CA",
    ]
    assert isinstance(result.chain[0].x509, x509.Certificate)


def test_starttls_against_a_tls_port_times_out_with_a_hint(
    pki: PKI, serve: Callable[..., Server]
) -> None:
    server = serve(pki.leaf, pki.inter)
    with pytest.raises(ProbeTimeout) as info:
        run(server.port, [pki.root], starttls="imap", timeout=1.0)
    text = info.value.diagnostics()
    assert "no answer within 1 s waiting for the IMAP greeting" in text
    assert "--starttls none" in text


def test_public_root_applies_the_398_day_rule(
    pki: PKI, serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mobileconfig.cms

    # Stand in for certifi: the test root plays a public root.
    monkeypatch.setattr(mobileconfig.cms, "public_roots", lambda: [cert(pki.root)])
    long_lived = server_leaf(pki.inter, not_before=NOW - 30 * DAY, not_after=NOW + 370 * DAY)
    server = serve(long_lived, pki.inter)
    public = run(server.port, [], public_roots=True)
    # MC606 too: from a public root, the certificate needs SCTs (test_probe_ct.py).
    assert codes(public, Severity.ERROR) == {"MC506", "MC606"}
    private = run(server.port, [pki.root], public_roots=True)  # the profile's own root
    assert codes(private, Severity.ERROR) == set()


def test_standard_library_reader(
    pki: PKI, serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyOpenSSL, Python 3.13's SSLObject.get_unverified_chain() reads the chain.
    On older Pythons, stand in for it with the leaf alone to run the same code path."""
    monkeypatch.setitem(sys.modules, "OpenSSL", None)
    monkeypatch.setitem(sys.modules, "OpenSSL.SSL", None)
    if not hasattr(ssl.SSLObject, "get_unverified_chain"):
        monkeypatch.setattr(
            ssl.SSLObject,
            "get_unverified_chain",
            lambda self: [self.getpeercert(binary_form=True)],
            raising=False,
        )
        expected: tuple[Certificate, ...] = (cert(pki.leaf),)
    else:  # pragma: no cover - Python 3.13 and later
        expected = (cert(pki.leaf), cert(pki.inter))
    server = serve(pki.leaf, pki.inter)
    result = run(server.port, [pki.root, pki.inter])
    assert result.chain == expected
    assert result.tls_version == "TLSv1.3"
    assert server.server_names == ["localhost"]


def test_probe_spec_on_the_mail_example_checks_both_mail_servers(
    pki: PKI, serve: Callable[..., Server], run_probe: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real examples/mail spec: IMAP on 993 (TLS from the start) and SMTP on 587
    (STARTTLS). Only the TCP destination is redirected to loopback servers; the TLS, the
    STARTTLS dialogue and the certificate checks are real."""
    from mobileconfig.probe import connect

    examples = Path(__file__).resolve().parents[1] / "examples" / "mail" / "profile.yaml"
    leaf = server_leaf(pki.inter, cn="mail.example.com", server_names=["mail.example.com"])
    imaps = serve(leaf, pki.inter)
    submission = serve(leaf, pki.inter, greet=_smtp(True))
    ports = {("mail.example.com", 993): imaps.port, ("mail.example.com", 587): submission.port}
    seen: list[tuple[str, int]] = []
    real = socket.create_connection

    def redirect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        return real(("127.0.0.1", ports[address]), *args, **kwargs)

    monkeypatch.setattr(connect.socket, "create_connection", redirect)
    r = run_probe("--spec", examples, "--at", AT, "--timeout", "5", "--format", "json")
    assert sorted(seen) == [("mail.example.com", 587), ("mail.example.com", 993)]
    data = json.loads(r.out)
    protocols = sorted(p["protocol"] for p in data["probes"])
    assert protocols == ["smtp+starttls", "tls"]
    # The test PKI is not the example's CA, so both chains are reported as not reaching
    # the profile's roots: the probe judged each server against the example's bundle.
    assert r.code == 1
    for p in data["probes"]:
        found = {f["code"] for f in p["findings"]}
        assert {"MC510", "MC601"} <= found, found
        assert "MC501" not in found  # the name matches: mail.example.com is in the SAN
