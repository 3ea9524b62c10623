"""The network half of a probe: connect, run STARTTLS when the port or the caller asks, and
read every certificate the server sends, in its order, without trusting it.

Reading the chain as sent
    Python 3.11's :mod:`ssl` gives only the server's own certificate
    (``getpeercert(binary_form=True)``), and only 3.13 added
    ``SSLObject.get_unverified_chain()``. So the chain is read with pyOpenSSL
    (``Connection.get_peer_cert_chain()``), a dependency of the default install; if it is
    missing, on 3.13 and later, the standard library's ``get_unverified_chain()`` is used.
    Both run over memory buffers fed from one socket, so a timeout covers the whole
    exchange. pyOpenSSL also asks for, and keeps, a stapled OCSP response (it may carry
    Certificate Transparency SCTs); the standard library cannot.

The client offers TLS 1.0 to 1.3 and OpenSSL security level 0, so that an old protocol
or a 1024-bit key is reported as a finding instead of failing the handshake. Nothing here
judges what it read: that is :mod:`mobileconfig.probe.judge`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from cryptography import x509

from mobileconfig.errors import Location
from mobileconfig.pki.certs import Certificate
from mobileconfig.probe.errors import (
    ProbeConnectionError,
    ProbeError,
    ProbeProtocolError,
    ProbeTimeout,
)
from mobileconfig.probe.targets import label

__all__ = [
    "IMPLICIT_TLS_PORTS",
    "PROTOCOL_NAMES",
    "STARTTLS_PORTS",
    "Engine",
    "SentChain",
    "chain_reader",
    "read_chain",
    "starttls_mode",
]

#: Ports where ``starttls="auto"`` upgrades a plain-text session first.
STARTTLS_PORTS: Mapping[int, Literal["imap", "smtp", "pop3"]] = {
    143: "imap",
    25: "smtp",
    587: "smtp",
    110: "pop3",
}
#: Ports that speak TLS from the first byte (as does any port not in :data:`STARTTLS_PORTS`).
IMPLICIT_TLS_PORTS = frozenset({993, 995, 465, 443})
#: How a probe reached TLS, by the plain-text dialogue it ran first.
PROTOCOL_NAMES = {
    "none": "tls",
    "imap": "imap+starttls",
    "smtp": "smtp+starttls",
    "pop3": "pop3+stls",
}
_MAX_LINE = 8192
_MAX_LINES = 100


# -- the TLS client -----------------------------------------------------------------------------


class Engine(Protocol):
    """A TLS client over memory buffers: one per connection."""

    def step(self) -> bool:
        """Advance the handshake: True when done, False when it needs bytes from the server.
        Raises :class:`_HandshakeFailed`."""

    def pending(self) -> bytes:
        """Bytes to send to the server."""

    def feed(self, data: bytes) -> None: ...

    def eof(self) -> None: ...

    def outcome(self) -> tuple[str, str, list[bytes]]:
        """(TLS version, cipher, every certificate the server sent as DER, in its order)."""


class _HandshakeFailed(Exception):
    pass


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


class _PyOpenSSLEngine:
    def __init__(self, server_name: str | None) -> None:
        from OpenSSL import SSL

        self._ssl = SSL
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_NONE)  # we judge the chain ourselves, after the handshake
        ctx.set_min_proto_version(SSL.TLS1_VERSION)
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        # Ask for a stapled OCSP response: it may carry SCTs (Certificate Transparency).
        ctx.set_ocsp_client_callback(self._stapled)
        self.ocsp_response: bytes | None = None
        self._conn = SSL.Connection(ctx, None)
        self._conn.set_connect_state()
        self._conn.request_ocsp()
        if server_name:
            self._conn.set_tlsext_host_name(server_name.encode("idna"))

    def _stapled(self, _conn: object, data: bytes, _extra: object) -> bool:
        # Kept as sent, judged later (ct.py); never a reason to stop the handshake.
        self.ocsp_response = bytes(data[: 64 * 1024]) if data else None
        return True

    def step(self) -> bool:
        try:
            self._conn.do_handshake()
        except self._ssl.WantReadError:
            return False
        except self._ssl.Error as exc:
            raise _HandshakeFailed(_openssl_reason(exc)) from None
        return True

    def pending(self) -> bytes:
        out = b""
        while True:
            try:
                chunk = self._conn.bio_read(65536)
            except self._ssl.WantReadError:
                return out
            if not chunk:
                return out
            out += chunk

    def feed(self, data: bytes) -> None:
        self._conn.bio_write(data)

    def eof(self) -> None:
        self._conn.bio_shutdown()

    def outcome(self) -> tuple[str, str, list[bytes]]:
        from cryptography.hazmat.primitives.serialization import Encoding

        chain = self._conn.get_peer_cert_chain(as_cryptography=True) or []
        return (
            self._conn.get_protocol_version_name(),
            self._conn.get_cipher_name() or "unknown",
            [c.public_bytes(Encoding.DER) for c in chain],
        )


def _openssl_reason(exc: BaseException) -> str:
    # pyOpenSSL: Error([(lib, func, reason), ...]); the reasons are what a user can read.
    args = exc.args[0] if exc.args else None
    if isinstance(args, list):
        reasons = [str(item[-1]) for item in args if isinstance(item, tuple) and item]
        if reasons:
            return "; ".join(reasons)
    return _short(exc)


class _StdlibEngine:
    """Python 3.13 and later: ``SSLObject.get_unverified_chain()``."""

    def __init__(self, server_name: str | None) -> None:
        import ssl

        self._mod = ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # we judge the chain ourselves, after the handshake
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._in, self._out, server_hostname=server_name)

    def step(self) -> bool:
        try:
            self._obj.do_handshake()
        except self._mod.SSLWantReadError:
            return False
        except self._mod.SSLError as exc:
            raise _HandshakeFailed(getattr(exc, "reason", None) or _short(exc)) from None
        return True

    def pending(self) -> bytes:
        return self._out.read()

    def feed(self, data: bytes) -> None:
        self._in.write(data)

    def eof(self) -> None:
        self._in.write_eof()

    def outcome(self) -> tuple[str, str, list[bytes]]:
        raw = getattr(self._obj, "get_unverified_chain")() or []  # noqa: B009 - 3.13+
        chain = [bytes(c) for c in raw if isinstance(c, bytes | bytearray)]
        if len(chain) != len(raw):  # pragma: no cover - 3.13.0 and later give DER bytes
            raise _HandshakeFailed("the ssl module returned the chain in an unexpected form")
        cipher = self._obj.cipher()
        return self._obj.version() or "unknown", cipher[0] if cipher else "unknown", chain


def chain_reader() -> Callable[[str | None], Engine]:
    """The TLS client that can read the chain a server sends: pyOpenSSL when installed, else
    the standard library on 3.13+; raises :class:`ProbeError` when there is neither."""
    try:
        import OpenSSL.SSL  # noqa: F401
    except ImportError:
        import ssl

        if hasattr(ssl.SSLObject, "get_unverified_chain"):
            return _StdlibEngine
        raise ProbeError(
            "reading the certificate chain a server sends needs pyOpenSSL on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} (the standard library can "
            "from 3.13)",
            hint="pip install pyopenssl (mobileconfig-kit depends on it; reinstall it)",
        ) from None
    return _PyOpenSSLEngine


class _Wire:
    """One TCP connection with a deadline; every failure becomes a :class:`ProbeError`."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.target = label(host, port)
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.buffer = b""
        self.received = b""  # the first bytes the server sent, for messages
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except socket.gaierror as exc:
            raise ProbeConnectionError(
                f"{self.target}: cannot resolve the host name ({exc.strerror or _short(exc)})"
            ) from None
        except ConnectionRefusedError:
            raise ProbeConnectionError(
                f"{self.target}: connection refused",
                hint="nothing listens on that port: check the host and port",
            ) from None
        except TimeoutError:
            raise ProbeTimeout(
                f"{self.target}: no connection within {timeout:g} s",
                hint="a firewall may drop the packets; check the host and port",
            ) from None
        except OSError as exc:
            raise ProbeConnectionError(
                f"{self.target}: unreachable ({exc.strerror or _short(exc)})"
            ) from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def _left(self, doing: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ProbeTimeout(f"{self.target}: no answer within {self.timeout:g} s {doing}")
        return left

    def send(self, data: bytes, doing: str) -> None:
        if not data:
            return
        self.sock.settimeout(self._left(doing))
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise ProbeTimeout(
                f"{self.target}: no answer within {self.timeout:g} s {doing}"
            ) from None
        except OSError as exc:
            raise ProbeProtocolError(
                f"{self.target}: connection lost {doing} ({exc.strerror or _short(exc)})"
            ) from None

    def recv(self, doing: str) -> bytes:
        """Bytes from the server; b"" when it closed the connection."""
        self.sock.settimeout(self._left(doing))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise ProbeTimeout(
                f"{self.target}: no answer within {self.timeout:g} s {doing}"
            ) from None
        except ConnectionResetError:
            return b""
        except OSError as exc:
            raise ProbeProtocolError(
                f"{self.target}: connection lost {doing} ({exc.strerror or _short(exc)})"
            ) from None
        if len(self.received) < 256:
            self.received += data[: 256 - len(self.received)]
        return data

    # -- plain-text lines, for STARTTLS -----------------------------------------------------
    def line(self, doing: str) -> str:
        while b"\n" not in self.buffer:
            if len(self.buffer) > _MAX_LINE:
                raise ProbeProtocolError(f"{self.target}: a line over {_MAX_LINE} bytes {doing}")
            data = self.recv(doing)
            if not data:
                raise ProbeProtocolError(
                    f"{self.target}: the server closed the connection {doing}"
                    + (f" after {_quoted(self.buffer)}" if self.buffer.strip() else "")
                )
            self.buffer += data
        raw, _, self.buffer = self.buffer.partition(b"\n")
        return raw.rstrip(b"\r").decode("utf-8", "replace")

    def command(self, text: str, doing: str) -> None:
        self.send(text.encode("ascii") + b"\r\n", doing)


def _quoted(data: bytes, limit: int = 60) -> str:
    text = data.decode("utf-8", "replace").strip().splitlines()
    first = text[0] if text else ""
    return repr(first[:limit] + ("…" if len(first) > limit else ""))


def _looks_like_text(data: bytes) -> bool:
    head = data[:64]
    return bool(head) and all(32 <= b < 127 or b in (9, 10, 13) for b in head)


# -- STARTTLS -------------------------------------------------------------------------------


def _starttls_imap(wire: _Wire) -> None:
    greeting = wire.line("waiting for the IMAP greeting")
    upper = greeting.upper()
    if upper.startswith("* BYE"):
        raise ProbeProtocolError(
            f"{wire.target}: the IMAP server refused the session: {greeting!r}"
        )
    if not upper.startswith(("* OK", "* PREAUTH")):
        raise ProbeProtocolError(
            f"{wire.target}: expected an IMAP greeting, got {_quoted(greeting.encode())}",
            hint="check the port, or the --starttls choice",
        )
    wire.command("a001 STARTTLS", "after the IMAP STARTTLS command")
    for _ in range(_MAX_LINES):
        reply = wire.line("waiting for the answer to STARTTLS")
        if reply.upper().startswith("A001 "):
            if reply[5:].upper().startswith("OK"):
                return
            raise ProbeProtocolError(f"{wire.target}: STARTTLS refused: {reply!r}")
    raise ProbeProtocolError(f"{wire.target}: no answer to STARTTLS in {_MAX_LINES} lines")


def _smtp_reply(wire: _Wire, doing: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    for _ in range(_MAX_LINES):
        line = wire.line(doing)
        if len(line) < 3 or not line[:3].isdigit():
            raise ProbeProtocolError(
                f"{wire.target}: expected an SMTP reply {doing}, got {_quoted(line.encode())}",
                hint="check the port, or the --starttls choice",
            )
        lines.append(line[4:])
        if line[3:4] != "-":
            return int(line[:3]), lines
    raise ProbeProtocolError(f"{wire.target}: an SMTP reply over {_MAX_LINES} lines")


def _starttls_smtp(wire: _Wire) -> None:
    code, text = _smtp_reply(wire, "waiting for the SMTP greeting")
    if code != 220:
        raise ProbeProtocolError(
            f"{wire.target}: the SMTP server refused the session: {code} {' '.join(text)}"
        )
    local = wire.sock.getsockname()[0]
    literal = f"[IPv6:{local}]" if ":" in local else f"[{local}]"
    wire.command(f"EHLO {literal}", "after EHLO")
    code, text = _smtp_reply(wire, "waiting for the answer to EHLO")
    if code != 250:
        raise ProbeProtocolError(f"{wire.target}: EHLO refused: {code} {' '.join(text)}")
    keywords = {line.split()[0].upper() for line in text[1:] if line.split()}
    if "STARTTLS" not in keywords:
        offered = ", ".join(sorted(keywords)) or "nothing"
        raise ProbeProtocolError(
            f"{wire.target}: the SMTP server does not offer STARTTLS (EHLO lists {offered})",
            hint="use the port with implicit TLS (465), or enable STARTTLS on the server",
        )
    wire.command("STARTTLS", "after STARTTLS")
    code, text = _smtp_reply(wire, "waiting for the answer to STARTTLS")
    if code != 220:
        raise ProbeProtocolError(f"{wire.target}: STARTTLS refused: {code} {' '.join(text)}")


def _starttls_pop3(wire: _Wire) -> None:
    greeting = wire.line("waiting for the POP3 greeting")
    if not greeting.upper().startswith("+OK"):
        raise ProbeProtocolError(
            f"{wire.target}: expected a POP3 greeting, got {_quoted(greeting.encode())}",
            hint="check the port, or the --starttls choice",
        )
    wire.command("STLS", "after the POP3 STLS command")
    reply = wire.line("waiting for the answer to STLS")
    if not reply.upper().startswith("+OK"):
        raise ProbeProtocolError(f"{wire.target}: STLS refused: {reply!r}")


_DIALOGUES: dict[str, Callable[[_Wire], None]] = {
    "imap": _starttls_imap,
    "smtp": _starttls_smtp,
    "pop3": _starttls_pop3,
}


def starttls_mode(mode: str, port: int) -> str:
    """The plain-text dialogue to run first (imap, smtp, pop3 or none) for a ``--starttls``
    mode (auto, imap, smtp, pop3, none) and a port."""
    if mode == "auto":
        return STARTTLS_PORTS.get(port, "none")
    if mode not in ("imap", "smtp", "pop3", "none"):
        raise ProbeError(f"unknown STARTTLS mode {mode!r}: use auto, imap, smtp, pop3 or none")
    return mode


def _handshake(wire: _Wire, engine: Engine, upgraded: str) -> tuple[str, str, list[bytes]]:
    doing = "during the TLS handshake"
    wire.received = b""
    try:
        while not engine.step():
            wire.send(engine.pending(), doing)
            data = wire.recv(doing)
            if not data:
                engine.eof()
                engine.step()  # raises with OpenSSL's reason, or returns
                raise _HandshakeFailed("the server closed the connection")
            engine.feed(data)
        with contextlib.suppress(ProbeError):  # our Finished: the chain is already in
            wire.send(engine.pending(), doing)
        return engine.outcome()
    except _HandshakeFailed as exc:
        first = wire.received
        if _looks_like_text(first):
            hint = None
            if upgraded == "none":
                hint = "the port may need STARTTLS: try --starttls imap, smtp or pop3"
            raise ProbeProtocolError(
                f"{wire.target}: no TLS on this port: the server answered in plain text "
                f"{_quoted(first)}",
                hint=hint,
            ) from None
        raise ProbeProtocolError(f"{wire.target}: TLS handshake failed ({exc})") from None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SentChain:
    """What a server sent: ``protocol`` as in :data:`PROTOCOL_NAMES`, the TLS version and
    cipher by OpenSSL's names, and every certificate, in its order, the server's own first."""

    protocol: str
    tls_version: str
    cipher: str
    chain: tuple[Certificate, ...]
    ocsp_response: bytes | None = None
    """The OCSP response the server stapled, as sent (pyOpenSSL only; None otherwise)."""


def read_chain(host: str, port: int, *, starttls: str = "auto", timeout: float = 10.0) -> SentChain:
    """Connect to ``host:port`` and read the certificate chain the server sends.

    ``starttls`` as in :func:`mobileconfig.probe.probe`; ``timeout`` bounds the whole
    exchange. The host name is sent as SNI (not for an IP address). Raises
    :class:`ProbeError` when the server cannot be read.
    """
    if not 0 < port < 65536:
        raise ProbeError(f"{label(host, port)}: the port must be between 1 and 65535")
    if timeout <= 0:
        raise ProbeError(f"the timeout must be positive, not {timeout:g}")
    upgraded = starttls_mode(starttls, port)
    factory = chain_reader()
    wire = _Wire(host, port, timeout)
    try:
        if upgraded != "none":
            try:
                _DIALOGUES[upgraded](wire)
            except ProbeTimeout as exc:
                if not wire.received and exc.hint is None:
                    exc.hint = "the server said nothing: it may speak TLS from the first byte "
                    exc.hint += "(--starttls none)"
                raise
            if wire.buffer:
                raise ProbeProtocolError(
                    f"{wire.target}: the server sent data after accepting STARTTLS, before "
                    f"the TLS handshake ({_quoted(wire.buffer)})"
                )
        engine = factory(None if _is_ip(host) else host)
        version, cipher, ders = _handshake(wire, engine, upgraded)
        stapled = getattr(engine, "ocsp_response", None)
    finally:
        wire.close()
    if not ders:
        raise ProbeProtocolError(f"{label(host, port)}: the server sent no certificate")
    chain = tuple(
        Certificate(
            x509.load_der_x509_certificate(der), der=der, origin=Location(label(host, port))
        )
        for der in ders
    )
    return SentChain(
        PROTOCOL_NAMES[upgraded],
        version,
        cipher,
        chain,
        stapled if isinstance(stapled, bytes) else None,
    )
