"""Certificate Transparency in ``probe`` (mobileconfig.probe.ct): SCTs embedded in the
server's certificate, and in a stapled OCSP response, judged by Apple's CT policy.

The certificates come from the test PKI with SCT lists made here the way a CA makes them
(RFC 6962): each SCT is signed by a test log's key over the precertificate's TBS, and the
tests check those signatures, so the fixtures are real SCTs from logs nobody else knows.
cryptography cannot build an SCT, so the list goes in as the extension's raw DER
(``x509.UnrecognizedExtension``); cryptography then parses it like any other.

The servers are pyOpenSSL servers on 127.0.0.1 (pyOpenSSL, unlike ``ssl``, can staple an
OCSP response). Validation time is pinned to ``pki.NOW``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtensionOID

from mobileconfig.findings import Finding, make_finding
from mobileconfig.pki.certs import Certificate
from mobileconfig.probe import ct

from pki import DAY, NOW, Issued, issue

TIMEOUT = 5.0


# -- SCTs, made as a CA and its logs make them ----------------------------------------------


@dataclass
class Log:
    """A test CT log: its key, and its id (the SHA-256 of its public key, RFC 6962)."""

    name: str
    key: ec.EllipticCurvePrivateKey

    @property
    def log_id(self) -> bytes:
        spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(spki).digest()


@pytest.fixture(scope="module")
def logs() -> list[Log]:
    return [Log(f"log {i}", ec.generate_private_key(ec.SECP256R1())) for i in range(4)]


def _u24(data: bytes) -> bytes:
    return len(data).to_bytes(3, "big") + data


def _u16(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def _signed_input(timestamp_ms: int, issuer_key_hash: bytes, tbs: bytes) -> bytes:
    """RFC 6962 3.2: what a log signs for a precertificate entry."""
    return (
        bytes([0, 0])  # v1, certificate_timestamp
        + struct.pack(">Q", timestamp_ms)
        + struct.pack(">H", 1)  # precert_entry
        + issuer_key_hash
        + _u24(tbs)
        + _u16(b"")  # no extensions
    )


def _sct(log: Log, timestamp_ms: int, issuer_key_hash: bytes, tbs: bytes) -> bytes:
    signature = log.key.sign(
        _signed_input(timestamp_ms, issuer_key_hash, tbs), ec.ECDSA(hashes.SHA256())
    )
    body = (
        bytes([0])
        + log.log_id
        + struct.pack(">Q", timestamp_ms)
        + _u16(b"")
        + bytes([4, 3])  # sha256, ecdsa
        + _u16(signature)
    )
    return _u16(body)


def _octet_string(data: bytes) -> bytes:
    n = len(data)
    if n < 0x80:
        return b"\x04" + bytes([n]) + data
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x04" + bytes([0x80 | len(size)]) + size + data


def sct_list(entries: list[bytes]) -> bytes:
    """The extension's value: an OCTET STRING around the TLS-encoded SCT list."""
    return _octet_string(_u16(b"".join(entries)))


def _issuer_key_hash(issuer: Issued) -> bytes:
    spki = issuer.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def server_cert(
    issuer: Issued,
    sct_logs: list[Log],
    *,
    lifetime: dt.timedelta = 90 * DAY - dt.timedelta(seconds=1),
    serial: int = 0x5C7,
) -> Issued:
    """A server certificate for localhost whose SCT list holds one SCT from each log of
    ``sct_logs`` (a log may appear twice), signed over the precertificate's TBS."""
    start = NOW - 10 * DAY
    common: dict[str, Any] = {
        "issuer": issuer,
        "ca": False,
        "server_names": ["localhost"],
        "not_before": start,
        "not_after": start + lifetime,
        "serial": serial,
        "key": ec.generate_private_key(ec.SECP256R1()),
    }
    # The precertificate's TBS: the certificate without its SCT list (and, in a real
    # precertificate, without the poison extension that this one never had).
    pre = issue("localhost", **common)
    tbs = pre.cert.tbs_certificate_bytes
    when = int((start + DAY).timestamp() * 1000)
    entries = [_sct(log, when + i, _issuer_key_hash(issuer), tbs) for i, log in enumerate(sct_logs)]
    if not entries:
        return pre
    ext = x509.UnrecognizedExtension(
        ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, sct_list(entries)
    )
    return issue("localhost", extra_extensions=[(ext, False)], **common)


@pytest.fixture(scope="module")
def ca() -> tuple[Issued, Issued]:
    root = issue("CT Test Root")
    return root, root.issue("CT Test Issuing CA", path_length=0)


def test_fixture_scts_are_real(ca: tuple[Issued, Issued], logs: list[Log]) -> None:
    """Each SCT verifies with its log's key over the precertificate TBS: the same check a
    device makes against the log's published key."""
    _, inter = ca
    issued = server_cert(inter, logs[:3])
    cert = Certificate(issued.cert)
    scts = issued.cert.extensions.get_extension_for_oid(
        ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS
    ).value
    tbs_without = _tbs_without_scts(issued.cert)
    by_id = {log.log_id: log for log in logs}
    for sct in scts:
        log = by_id[sct.log_id]
        millis = int(sct.timestamp.replace(tzinfo=dt.UTC).timestamp() * 1000)
        log.key.public_key().verify(
            sct.signature,
            _signed_input(millis, _issuer_key_hash(inter), tbs_without),
            ec.ECDSA(hashes.SHA256()),
        )
    assert [s.log_id for s in ct.embedded_scts(cert)] == [log.log_id for log in logs[:3]]


def _tbs_without_scts(cert: x509.Certificate) -> bytes:
    """The TBS with the SCT list extension removed, re-encoded (asn1crypto)."""
    from asn1crypto import x509 as asn1_x509

    tbs = asn1_x509.TbsCertificate.load(cert.tbs_certificate_bytes)
    kept = [
        e
        for e in tbs["extensions"]
        if e["extn_id"].dotted != ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS.dotted_string
    ]
    tbs["extensions"] = asn1_x509.Extensions(kept)
    return bytes(tbs.dump(force=True))


# -- the policy -----------------------------------------------------------------------------


class _Dates:
    def __init__(self, before: dt.datetime, after: dt.datetime) -> None:
        self.not_before, self.not_after = before, after


@pytest.mark.parametrize(
    ("length", "days"),
    [
        (90 * DAY - dt.timedelta(seconds=1), 90),  # Let's Encrypt: 90 days inclusive
        (180 * DAY - dt.timedelta(seconds=1), 180),
        (180 * DAY, 181),  # notAfter inclusive: one second more is another day
        (398 * DAY - dt.timedelta(seconds=1), 398),
        (398 * DAY, 399),
    ],
)
def test_lifetime_counts_days_as_apple_does(length: dt.timedelta, days: int) -> None:
    dates = _Dates(NOW, NOW + length)
    assert ct.lifetime_days(dates) == days  # type: ignore[arg-type]


@pytest.mark.parametrize(("days", "need"), [(1, 2), (180, 2), (181, 3), (398, 3), (399, None)])
def test_required_embedded_scts_follow_apples_table(days: int, need: int | None) -> None:
    assert ct.required_embedded(days) == need


def _emit(code: str, cert: Certificate, role: str, message: str) -> Finding:
    return make_finding(code, message, certificate=cert.ref(role))


def _judge(cert: Certificate, **kw: Any) -> list[Finding]:
    return ct.findings(ct.evaluate(cert, **kw), cert, target="localhost:443", emit=_emit)


def test_no_sct_is_mc606(ca: tuple[Issued, Issued], logs: list[Log]) -> None:
    cert = Certificate(server_cert(ca[1], []).cert)
    (finding,) = _judge(cert)
    assert finding.code == "MC606" and finding.blocks
    assert "no SCT" in finding.message and "TLS extension" in finding.message


def test_one_log_is_not_enough(ca: tuple[Issued, Issued], logs: list[Log]) -> None:
    cert = Certificate(server_cert(ca[1], logs[:1]).cert)
    (finding,) = _judge(cert)
    assert finding.code == "MC607"
    assert "1 SCT from 1 log" in finding.message and "2 embedded SCTs" in finding.message


def test_the_same_log_twice_counts_once(ca: tuple[Issued, Issued], logs: list[Log]) -> None:
    cert = Certificate(server_cert(ca[1], [logs[0], logs[0]]).cert)
    verdict = ct.evaluate(cert)
    assert len(verdict.embedded) == 2 and verdict.distinct_logs == 1
    assert verdict.duplicates_only and not verdict.meets
    (finding,) = _judge(cert)
    assert finding.code == "MC607" and "counts once" in finding.message


def test_two_logs_meet_the_policy_up_to_180_days(
    ca: tuple[Issued, Issued], logs: list[Log]
) -> None:
    cert = Certificate(server_cert(ca[1], logs[:2]).cert)
    (finding,) = _judge(cert)
    assert finding.code == "MC608" and finding.severity.value == "info"
    assert "a 90-day certificate" in finding.message
    assert "Not checked" in finding.message


def test_a_year_long_certificate_needs_three(ca: tuple[Issued, Issued], logs: list[Log]) -> None:
    two = Certificate(server_cert(ca[1], logs[:2], lifetime=365 * DAY).cert)
    (finding,) = _judge(two)
    assert finding.code == "MC607" and "3 embedded SCTs" in finding.message
    three = Certificate(server_cert(ca[1], logs[:3], lifetime=365 * DAY).cert)
    assert [f.code for f in _judge(three)] == ["MC608"]


# -- OCSP -----------------------------------------------------------------------------------


def ocsp_response(
    cert: Issued, issuer: Issued, sct_logs: list[Log], *, tbs: bytes | None = None
) -> bytes:
    """A signed, successful OCSP response for ``cert`` whose single response carries an SCT
    list (built with asn1crypto: cryptography cannot add single-response extensions)."""
    from asn1crypto import core
    from asn1crypto import ocsp as asn1_ocsp

    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert.cert,
            issuer=issuer.cert,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=NOW - DAY,
            next_update=NOW + 6 * DAY,
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
    )
    plain = builder.sign(issuer.key, hashes.SHA256())  # type: ignore[arg-type]
    parsed = asn1_ocsp.OCSPResponse.load(plain.public_bytes(serialization.Encoding.DER))
    basic = parsed["response_bytes"]["response"].parsed
    data = basic["tbs_response_data"]
    single = data["responses"][0]
    when = int((NOW - 2 * DAY).timestamp() * 1000)
    entries = [
        _sct(log, when + i, _issuer_key_hash(issuer), tbs or cert.cert.tbs_certificate_bytes)
        for i, log in enumerate(sct_logs)
    ]
    inner = _u16(b"".join(entries))
    ext = asn1_ocsp.SingleResponseExtension(
        {
            "extn_id": ExtensionOID.SIGNED_CERTIFICATE_TIMESTAMPS.dotted_string,
            "critical": False,
            "extn_value": inner,  # asn1crypto wraps it in the OCTET STRING RFC 6962 asks
        }
    )
    single["single_extensions"] = asn1_ocsp.SingleResponseExtensions([ext])
    tbs_der = data.dump(force=True)
    signature = issuer.key.sign(tbs_der, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
    basic["signature"] = signature
    parsed["response_bytes"]["response"] = core.ParsableOctetString(basic.dump(force=True))
    return bytes(parsed.dump(force=True))


def test_ocsp_scts_are_read(ca: tuple[Issued, Issued], logs: list[Log]) -> None:
    issued = server_cert(ca[1], logs[:1])
    der = ocsp_response(issued, ca[1], logs[1:2])
    loaded = ocsp.load_der_ocsp_response(der)
    # The response is genuinely signed by the issuer.
    ca[1].cert.public_key().verify(  # type: ignore[call-arg, union-attr]
        loaded.signature, loaded.tbs_response_bytes, ec.ECDSA(hashes.SHA256())
    )
    cert = Certificate(issued.cert)
    scts = ct.ocsp_scts(der, cert)
    assert [(s.log_id, s.source) for s in scts] == [(logs[1].log_id, "ocsp")]
    # About another certificate: not counted.
    other = Certificate(server_cert(ca[1], [], serial=0xBAD).cert)
    assert ct.ocsp_scts(der, other) == []
    # One embedded + one stapled from another log: the first way of the policy.
    verdict = ct.evaluate(cert, ocsp_response=der)
    assert verdict.by_delivery and verdict.meets
    (finding,) = _judge(cert, ocsp_response=der)
    assert finding.code == "MC608" and "stapled OCSP" in finding.message


@pytest.mark.parametrize("junk", [b"", b"\x30\x03\x0a\x01\x01", b"\x00" * 10, b"\x30" * 70_000])
def test_unreadable_ocsp_responses_hold_no_sct(junk: bytes) -> None:
    assert ct.ocsp_scts(junk) == []


# -- a real server --------------------------------------------------------------------------


class StaplingServer:
    """A pyOpenSSL TLS server on 127.0.0.1 that sends ``chain`` and, when a client asks,
    staples ``staple`` (an OCSP response)."""

    def __init__(self, chain: list[Issued], staple: bytes | None) -> None:
        from OpenSSL import SSL

        self.ssl = SSL
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.use_certificate(chain[0].cert)
        ctx.use_privatekey(chain[0].key)  # type: ignore[arg-type]
        for extra in chain[1:]:
            ctx.add_extra_chain_cert(extra.cert)
        self.stapled = 0
        if staple is not None:

            def callback(_conn: Any, _data: Any) -> bytes:
                self.stapled += 1
                return staple

            ctx.set_ocsp_server_callback(callback)
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except OSError:
                continue
            # Blocking: OpenSSL over a socket with a timeout sees it as non-blocking and
            # stops at the first WantRead. The client closes, or the daemon thread dies.
            raw.setblocking(True)
            conn = self.ssl.Connection(self.ctx, raw)
            conn.set_accept_state()
            try:
                conn.do_handshake()
                conn.recv(1)
            except Exception:  # a test server: the client side asserts
                pass
            finally:
                raw.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self.thread.join(TIMEOUT)


@pytest.fixture
def serve() -> Iterator[Callable[..., StaplingServer]]:
    servers: list[StaplingServer] = []

    def start(chain: list[Issued], staple: bytes | None = None) -> StaplingServer:
        server = StaplingServer(chain, staple)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_embedded_scts_read_from_a_live_server(
    serve: Callable[..., StaplingServer], ca: tuple[Issued, Issued], logs: list[Log]
) -> None:
    from mobileconfig.probe.connect import read_chain

    issued = server_cert(ca[1], logs[:2])
    server = serve([issued, ca[1]])
    sent = read_chain("localhost", server.port, starttls="none", timeout=TIMEOUT)
    leaf = sent.chain[0]
    assert leaf.sha256 == Certificate(issued.cert).sha256
    assert [s.log_id for s in ct.embedded_scts(leaf)] == [log.log_id for log in logs[:2]]
    assert [f.code for f in _judge(leaf)] == ["MC608"]


def test_stapled_ocsp_is_read_and_counted(
    serve: Callable[..., StaplingServer], ca: tuple[Issued, Issued], logs: list[Log]
) -> None:
    from mobileconfig.probe import probe
    from mobileconfig.probe.connect import read_chain

    root, inter = ca
    issued = server_cert(inter, logs[:1])
    staple = ocsp_response(issued, inter, logs[1:2])
    server = serve([issued, inter], staple)
    sent = read_chain("localhost", server.port, starttls="none", timeout=TIMEOUT)
    assert sent.ocsp_response == staple and server.stapled == 1
    bundle = [Certificate(root.cert), Certificate(inter.cert)]
    result = probe(
        "localhost",
        server.port,
        starttls="none",
        timeout=TIMEOUT,
        bundle=bundle,
        at=NOW,
        ct="always",
    )
    ct_findings = [f for f in result.findings if f.code.startswith("MC60") and f.code >= "MC606"]
    assert [f.code for f in ct_findings] == ["MC608"]
    assert "1 in the stapled OCSP response" in ct_findings[0].message


def test_no_sct_from_a_live_server_is_an_error(
    serve: Callable[..., StaplingServer], ca: tuple[Issued, Issued]
) -> None:
    from mobileconfig.probe import probe

    root, inter = ca
    server = serve([server_cert(inter, []), inter])
    bundle = [Certificate(root.cert), Certificate(inter.cert)]
    always = probe(
        "localhost",
        server.port,
        starttls="none",
        timeout=TIMEOUT,
        bundle=bundle,
        at=NOW,
        ct="always",
    )
    assert "MC606" in always.findings.codes() and always.findings.has_errors()
    # By default only a certificate from a public root is judged: this one is private.
    private = probe(
        "localhost", server.port, starttls="none", timeout=TIMEOUT, bundle=bundle, at=NOW
    )
    assert not {"MC606", "MC607", "MC608"} & private.findings.codes()


def test_a_public_root_turns_the_check_on(
    serve: Callable[..., StaplingServer],
    ca: tuple[Issued, Issued],
    logs: list[Log],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With --public-roots, a chain to one of them is judged by default. The test root
    stands in for certifi's bundle (which roots count as public is configuration; the
    chain and the SCTs are checked for real)."""
    import mobileconfig.cms as cms_module
    from mobileconfig.probe import probe

    root, inter = ca
    monkeypatch.setattr(cms_module, "public_roots", lambda: [Certificate(root.cert)])
    server = serve([server_cert(inter, logs[:1]), inter])
    result = probe(
        "localhost", server.port, starttls="none", timeout=TIMEOUT, public_roots=True, at=NOW
    )
    assert "MC607" in result.findings.codes()


@pytest.mark.parametrize(
    "value",
    [
        b"\x04\x00",  # an empty OCTET STRING: no list at all
        _octet_string(b"\x00\x05abc"),  # a list whose length lies
        _octet_string(_u16(_u16(b"\x00" * 10))),  # an SCT cut short
        b"\x30\x00",  # not an OCTET STRING
    ],
)
def test_a_malformed_sct_list_counts_as_none(ca: tuple[Issued, Issued], value: bytes) -> None:
    ext = x509.UnrecognizedExtension(ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, value)
    issued = ca[1].issue(
        "localhost", ca=False, server_names=["localhost"], extra_extensions=[(ext, False)]
    )
    cert = Certificate(issued.cert)
    assert ct.embedded_scts(cert) == []
    (finding,) = _judge(cert)
    assert finding.code == "MC606"
