"""Live TLS check of a server named in a profile: connect, read the chain it sends, judge it.

:func:`probe` connects to ``host:port`` (after STARTTLS for IMAP, SMTP and POP3 where the
port or the caller asks for it), completes a TLS handshake *without* trusting the server,
reads every certificate the server sends, in the order it sends them, and judges that chain
the way an Apple device would:

- every rule of :func:`mobileconfig.pki.tls.check_server_certificate` (MC501 to MC510: the
  name, serverAuth, key sizes, SHA-2, validity limits, dates, a chain to a root);
- the server sends its intermediates (MC601, MC602): a desktop browser often fills a gap
  from its cache or by downloading the missing issuer; iOS Mail, per field reports, does
  not, so "works in the browser, fails in Mail";
- the order of what it sends (MC604), the TLS version (MC603: 1.2 or later) and forward
  secrecy of the cipher (MC605).

A network failure is not a finding: it raises :class:`ProbeError` (refused, unreachable,
timed out, not TLS, STARTTLS refused), and the command line exits 2.

Reading the chain as sent
    Python 3.11's :mod:`ssl` gives only the server's own certificate
    (``getpeercert(binary_form=True)``), and only 3.13 added
    ``SSLObject.get_unverified_chain()``. So the chain is read with pyOpenSSL
    (``Connection.get_peer_cert_chain()``), installed by the ``probe`` extra
    (``pip install 'mobileconfig-kit[probe]'``); without it, on 3.13 and later, the
    standard library's ``get_unverified_chain()`` is used. Both run over memory buffers
    fed from one socket, so a timeout covers the whole exchange.

The client offers TLS 1.0 to 1.3 and OpenSSL security level 0, so that an old protocol
or a 1024-bit key is reported as a finding instead of failing the handshake.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from mobileconfig.errors import Location, MobileconfigError
from mobileconfig.findings import Finding, Report, make_finding
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.chains import ChainResult, Policy, verify_chain
from mobileconfig.pki.tls import check_server_certificate

if TYPE_CHECKING:
    from mobileconfig.cli import _Out
    from mobileconfig.spec.load import LoadedYAML

__all__ = [
    "IMPLICIT_TLS_PORTS",
    "STARTTLS_PORTS",
    "ProbeConnectionError",
    "ProbeError",
    "ProbeProtocolError",
    "ProbeResult",
    "ProbeTarget",
    "ProbeTimeout",
    "cmd_probe",
    "judge",
    "parse_target",
    "probe",
    "register_cli",
    "spec_targets",
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
#: TLS 1.2 suites (OpenSSL's names) with an ephemeral key exchange.
_FORWARD_SECRET = ("ECDHE-", "DHE-", "EDH-")

_PROTOCOL_NAMES = {
    "none": "tls",
    "imap": "imap+starttls",
    "smtp": "smtp+starttls",
    "pop3": "pop3+stls",
}
_GOOD_TLS_VERSIONS = frozenset({"TLSv1.2", "TLSv1.3"})
# verify_chain's codes for "the path stops before an anchor".
_STOPS = frozenset({"MC101", "MC102", "MC110", "MC115", "MC118"})
_MAX_LINE = 8192
_MAX_LINES = 100


# -- errors ---------------------------------------------------------------------------------


class ProbeError(MobileconfigError):
    """The server could not be probed: the network, the protocol, or the probe's setup."""


class ProbeConnectionError(ProbeError):
    """No TCP connection: refused, unreachable, or the host name does not resolve."""


class ProbeTimeout(ProbeError):
    """The server did not answer within the timeout."""


class ProbeProtocolError(ProbeError):
    """The server does not speak TLS (or STARTTLS) on that port, or the handshake failed."""


def _label(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    """What a probe saw and what it found.

    ``protocol`` is ``tls`` (TLS from the first byte), ``imap+starttls``,
    ``smtp+starttls`` or ``pop3+stls``; ``tls_version`` and ``cipher`` are OpenSSL's names
    (``TLSv1.3``, ``TLS_AES_256_GCM_SHA384``); ``chain`` is every certificate the server
    sent, in its order, the server's own first.
    """

    host: str
    port: int
    protocol: str
    tls_version: str
    cipher: str
    chain: tuple[Certificate, ...]
    findings: Report

    @property
    def target(self) -> str:
        return _label(self.host, self.port)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "tls_version": self.tls_version,
            "cipher": self.cipher,
            "chain": [
                {
                    "subject": c.subject_text,
                    "issuer": c.issuer_text,
                    "sha256": c.sha256,
                    "not_after": c.not_after.isoformat(),
                }
                for c in self.chain
            ],
            **self.findings.to_json(),
        }


# -- the checks, offline --------------------------------------------------------------------

#: Path building for reachability only: keys, hashes and dates are tls.py's to judge
#: (MC503, MC504, MC507), so they do not stop a path here.
_REACH = Policy(min_rsa_bits=0, min_ec_bits=0, weak_hashes=frozenset(), expiry_warning=timedelta(0))


def _reaches(result: ChainResult) -> bool:
    return not any(f.code in _STOPS for f in result.findings)


def _issuer_url(cert: Certificate) -> str | None:
    try:
        ext = cert.x509.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except x509.ExtensionNotFound:
        return None
    if not isinstance(ext.value, x509.AuthorityInformationAccess):
        return None
    for desc in ext.value:
        loc = desc.access_location
        if desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS and isinstance(
            loc, x509.UniformResourceIdentifier
        ):
            return loc.value
    return None


def _names(certs: Sequence[Certificate]) -> str:
    return ", ".join(f"'{c.display_name}'" for c in certs)


@dataclass(frozen=True)
class _Seen:
    """One server's chain and what the device has, shared by the checks below."""

    target: str
    chain: Sequence[Certificate]
    intermediates: Sequence[Certificate]  # the profile's non-root certificates
    anchors: Sequence[Certificate]  # the profile's roots, then the public ones if trusted
    public: Sequence[Certificate]
    emit: Callable[[str, Certificate, str, str], Finding]

    @property
    def leaf(self) -> Certificate:
        return self.chain[0]


def judge(
    host: str,
    chain: Sequence[Certificate],
    *,
    tls_version: str,
    cipher: str,
    bundle: Sequence[Certificate] = (),
    public_roots: bool = False,
    at: datetime | None = None,
    expiry_warning: timedelta = timedelta(days=30),
    location: Location | None = None,
    setting: str = "the host in the profile",
    port: int | None = None,
) -> Report:
    """Every finding about a chain a server sent (``chain``, in its order, the server's own
    certificate first) and the TLS it negotiated, without the network.

    ``bundle`` is the profile's certificates: its roots are trusted and its intermediates
    are on the device. With ``public_roots``, certifi's roots are trusted too. ``setting``
    names the spec setting a name mismatch is fixed in. Never raises for a finding.
    """
    if not chain:
        raise ValueError("the chain is empty: pass the server's certificate first")
    public: list[Certificate] = []
    if public_roots:
        from mobileconfig.cms import public_roots as load_public_roots

        profile = {c.sha256 for c in bundle}
        public = [c for c in load_public_roots() if c.sha256 not in profile]
    label = chain[0].display_name

    def emit(code: str, cert: Certificate, role: str, message: str) -> Finding:
        return make_finding(
            code, message, certificate=cert.ref(role), location=location, chain=label
        )

    seen = _Seen(
        target=_label(host, port) if port is not None else host,
        chain=chain,
        intermediates=[c for c in bundle if not c.self_signed],
        anchors=[*(c for c in bundle if c.self_signed), *public],
        public=public,
        emit=emit,
    )
    # The best path, with the profile's intermediates: what a device with the profile builds.
    full = verify_chain(
        seen.leaf, [*chain[1:], *seen.intermediates], seen.anchors, at=at, policy=_REACH
    )
    report = Report()
    report.extend(
        _certificate_rules(
            host,
            seen,
            full,
            bundle=bundle,
            at=at,
            expiry_warning=expiry_warning,
            location=location,
            setting=setting,
        )
    )
    report.extend(_intermediates(seen, full, at))
    report.extend(_order(seen, full))
    report.extend(_negotiated(seen, tls_version, cipher))
    return report


def _certificate_rules(
    host: str,
    seen: _Seen,
    full: ChainResult,
    *,
    bundle: Sequence[Certificate],
    at: datetime | None,
    expiry_warning: timedelta,
    location: Location | None,
    setting: str,
) -> list[Finding]:
    """tls.py's rules (MC501 to MC510) on the chain as sent; the public roots, when
    trusted, count as roots for its chain check."""
    found = check_server_certificate(
        host,
        seen.chain,
        bundle=[*bundle, *seen.public],
        at=at,
        public_root=False,
        location=location,
        expiry_warning=expiry_warning,
        setting=setting,
    )
    top = full.path[-1]
    public_keys = {(c.subject_der, c.spki_sha256) for c in seen.public}
    if _reaches(full) and (top.subject_der, top.spki_sha256) in public_keys:
        # From a public root: the 398-day rule (MC506), which tls.py applies only with
        # public_root=True (and then skips its chain check), replaces the 825-day one.
        public_rule = check_server_certificate(
            host,
            seen.chain,
            bundle=[],
            at=at,
            public_root=True,
            location=location,
            expiry_warning=expiry_warning,
            setting=setting,
        )
        mc506 = [f for f in public_rule if f.code == "MC506"]
        if mc506:
            found = [f for f in found if f.code != "MC505"] + mc506
    return found


def _intermediates(seen: _Seen, full: ChainResult, at: datetime | None) -> list[Finding]:
    """MC601 / MC602: does the chain as sent reach a root without help?"""
    as_sent = verify_chain(seen.leaf, seen.chain[1:], seen.anchors, at=at, policy=_REACH)
    if _reaches(as_sent) or not any(f.code == "MC101" for f in as_sent.findings):
        return []  # complete, or broken in a way tls.py's MC510 reports
    if _reaches(full):
        known = {c.sha256 for c in [*seen.chain, *seen.anchors]}
        added = [c for c in full.path[1:] if c.sha256 not in known]
        if not added:  # pragma: no cover - a path that needed nothing new was complete
            return []
        them = "that intermediate" if len(added) == 1 else "those intermediates"
        return [
            seen.emit(
                "MC602",
                added[0],
                "intermediate not sent by the server",
                f"{seen.target} does not send {_names(added)}: devices with this profile "
                f"still trust it, because the profile installs {them}; devices without the "
                "profile, and other clients, fail.",
            )
        ]
    end = full.path[-1]
    aki = end.authority_key_identifier
    kid = f" (key id {aki.hex(':').upper()})" if aki else ""
    url = _issuer_url(end)
    published = f"; the certificate says it is published at {url}" if url else ""
    nowhere = "the profile" + (" nor the public roots" if seen.public else "")
    if end == seen.leaf:
        start = f"{seen.target} sends only its own certificate '{end.display_name}'"
        role = "end-entity certificate"
    else:
        via = "" if end in seen.chain else ", an intermediate from the profile"
        start = f"the chain {seen.target} sends ends at '{end.display_name}'{via}"
        role = "last certificate of the chain"
    return [
        seen.emit(
            "MC601",
            end,
            role,
            f"{start}: its issuer '{end.issuer_text}'{kid} is neither sent by the server nor "
            f"in {nowhere}{published}. If '{end.issuer_common_name or end.issuer_text}' is an "
            "intermediate CA, the server must send it; if it is your root, the profile must "
            "install it.",
        )
    ]


def _order(seen: _Seen, full: ChainResult) -> list[Finding]:
    """MC604: Apple devices sort a chain out themselves; other clients may not."""
    sent = seen.chain[1:]
    on_path = {c.sha256: i for i, c in enumerate(full.path)}
    extra = [c for c in sent if c.sha256 not in on_path]
    used = [on_path[c.sha256] for c in sent if c.sha256 in on_path]
    in_order = used == list(range(1, len(used) + 1))
    if in_order and not extra:
        return []
    parts = []
    if not in_order:
        order = " → ".join(f"'{c.display_name}'" for c in seen.chain)
        parts.append(f"sends its chain out of order ({order})")
    if extra:
        parts.append(f"sends certificates that are not on its chain: {_names(extra)}")
    return [
        seen.emit(
            "MC604",
            extra[0] if extra else seen.leaf,
            "certificate sent" if extra else "server certificate",
            f"{seen.target} " + " and ".join(parts) + ".",
        )
    ]


def _negotiated(seen: _Seen, tls_version: str, cipher: str) -> list[Finding]:
    """MC603 (TLS before 1.2) and MC605 (TLS 1.2 without forward secrecy)."""
    if tls_version not in _GOOD_TLS_VERSIONS:
        return [
            seen.emit(
                "MC603",
                seen.leaf,
                "server certificate",
                f"{seen.target} negotiated {tls_version} ({cipher}) with a client offering "
                "TLS 1.0 to 1.3: Apple devices require TLS 1.2 or later.",
            )
        ]
    if tls_version == "TLSv1.2" and not cipher.startswith(_FORWARD_SECRET):
        return [
            seen.emit(
                "MC605",
                seen.leaf,
                "server certificate",
                f"{seen.target} chose {cipher} under TLS 1.2: RSA key exchange, without "
                "forward secrecy. Apps that keep App Transport Security's defaults refuse it.",
            )
        ]
    return []


# -- the network ----------------------------------------------------------------------------


class _Engine(Protocol):
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
        self._conn = SSL.Connection(ctx, None)
        self._conn.set_connect_state()
        if server_name:
            self._conn.set_tlsext_host_name(server_name.encode("idna"))

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


def _engine_factory() -> Callable[[str | None], _Engine]:
    """pyOpenSSL when installed, else the standard library on 3.13+, else a clear error."""
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
            hint="pip install 'mobileconfig-kit[probe]'",
        ) from None
    return _PyOpenSSLEngine


class _Wire:
    """One TCP connection with a deadline; every failure becomes a :class:`ProbeError`."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.target = _label(host, port)
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


_STARTTLS: dict[str, Callable[[_Wire], None]] = {
    "imap": _starttls_imap,
    "smtp": _starttls_smtp,
    "pop3": _starttls_pop3,
}


def _upgrade(mode: str, port: int) -> str:
    """The plain-text dialogue to run first: imap, smtp, pop3 or none."""
    if mode == "auto":
        return STARTTLS_PORTS.get(port, "none")
    if mode not in ("imap", "smtp", "pop3", "none"):
        raise ProbeError(f"unknown STARTTLS mode {mode!r}: use auto, imap, smtp, pop3 or none")
    return mode


def _handshake(wire: _Wire, engine: _Engine, upgraded: str) -> tuple[str, str, list[bytes]]:
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


def probe(
    host: str,
    port: int,
    *,
    starttls: str = "auto",
    timeout: float = 10.0,
    bundle: Sequence[Certificate] = (),
    public_roots: bool = False,
    at: datetime | None = None,
    expiry_warning: timedelta = timedelta(days=30),
    location: Location | None = None,
    setting: str = "the host in the profile",
) -> ProbeResult:
    """Connect to ``host:port``, read the certificate chain the server sends, and judge it.

    ``starttls``: ``auto`` runs IMAP STARTTLS on 143, SMTP STARTTLS on 25 and 587 and POP3
    STLS on 110, and TLS from the first byte on every other port; ``imap``, ``smtp``,
    ``pop3`` or ``none`` force one. ``timeout`` bounds the whole exchange. ``bundle`` is the
    profile's certificates (its roots anchor the chain; its intermediates are on the
    device); ``public_roots`` trusts certifi's roots too. ``at`` is the check time (now).
    The host name is sent as SNI (not for an IP address).

    Raises :class:`ProbeError` when the server cannot be probed; findings never raise.
    """
    if not 0 < port < 65536:
        raise ProbeError(f"{_label(host, port)}: the port must be between 1 and 65535")
    if timeout <= 0:
        raise ProbeError(f"the timeout must be positive, not {timeout:g}")
    upgraded = _upgrade(starttls, port)
    factory = _engine_factory()
    wire = _Wire(host, port, timeout)
    try:
        if upgraded != "none":
            try:
                _STARTTLS[upgraded](wire)
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
    finally:
        wire.close()
    if not ders:
        raise ProbeProtocolError(f"{_label(host, port)}: the server sent no certificate")
    chain = tuple(
        Certificate(
            x509.load_der_x509_certificate(der), der=der, origin=Location(_label(host, port))
        )
        for der in ders
    )
    report = judge(
        host,
        chain,
        tls_version=version,
        cipher=cipher,
        bundle=bundle,
        public_roots=public_roots,
        at=at,
        expiry_warning=expiry_warning,
        location=location,
        setting=setting,
        port=port,
    )
    return ProbeResult(
        host=host,
        port=port,
        protocol=_PROTOCOL_NAMES[upgraded],
        tls_version=version,
        cipher=cipher,
        chain=chain,
        findings=report,
    )


# -- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeTarget:
    """A server to probe, and the spec setting that names it (for messages and fixes)."""

    host: str
    port: int
    setting: str | None = None
    location: Location | None = None
    starttls: str = "auto"


def parse_target(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address → (host, port or None)."""
    value = text.strip()
    if not value:
        raise ProbeError("empty host: give HOST or HOST:PORT")
    port_text: str | None = None
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ProbeError(f"{text!r}: write an IPv6 address as [::1]:993")
        port_text = rest[1:] if rest else None
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:
        host = value  # a name, or a bare IPv6 address
    if not host:
        raise ProbeError(f"{text!r}: the host is missing")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ProbeError(f"{text!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


def _default_mail_port(kind: str, protocol: str) -> int:
    """The port a mail server with TLS listens on when the spec gives none."""
    if kind == "outgoing":
        return 587
    return 995 if protocol == "pop" else 993


@dataclass
class _SpecServers:
    targets: list[ProbeTarget] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (setting, why)


def spec_targets(loaded: LoadedYAML) -> tuple[list[ProbeTarget], list[tuple[str, str]]]:
    """The TLS servers a spec names (``mail[*].incoming``/``outgoing``, ``exchange[*]``),
    and what was left out and why (``vpn[*].ikev2``: IKEv2 is not TLS)."""
    raw = loaded.value if isinstance(loaded.value, Mapping) else {}
    found = _SpecServers()

    def add(host: Any, port: Any, path: tuple[Any, ...], setting: str, default: int) -> None:
        where = loaded.location(path)
        if not isinstance(host, str) or not host.strip():
            found.skipped.append((setting, "no host"))
            return
        if "{{" in host or "{%" in host:
            found.skipped.append((setting, f"the host is a template ({host}); probe HOST instead"))
            return
        if port is None:
            port = default
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            found.skipped.append((setting, f"the port {port!r} is not a number from 1 to 65535"))
            return
        found.targets.append(ProbeTarget(host.strip(), port, setting, where))

    for i, account in enumerate(_items(raw.get("mail"))):
        incoming = account.get("incoming")
        protocol = (
            str(incoming.get("protocol", "imap")).lower() if isinstance(incoming, Mapping) else ""
        )
        for kind in ("incoming", "outgoing"):
            server = account.get(kind)
            if not isinstance(server, Mapping):
                continue
            setting = f"mail[{i}].{kind}.host"
            tls = server.get("tls", True)
            if tls is False:
                found.skipped.append(
                    (
                        setting,
                        "tls is false: the device would not use TLS, so there is nothing "
                        "to probe (and passwords cross the network in clear)",
                    )
                )
                continue
            add(
                server.get("host"),
                server.get("port"),
                ("mail", i, kind, "host"),
                setting,
                _default_mail_port(kind, protocol),
            )
    for i, account in enumerate(_items(raw.get("exchange"))):
        add(
            account.get("host"),
            account.get("port"),
            ("exchange", i, "host"),
            f"exchange[{i}].host",
            443,
        )
    for i, vpn in enumerate(_items(raw.get("vpn"))):
        if isinstance(vpn.get("ikev2"), Mapping):
            found.skipped.append(
                (
                    f"vpn[{i}].ikev2.server",
                    "IKEv2 is not TLS; its certificate is checked offline, not probed",
                )
            )
    seen: set[tuple[str, int]] = set()
    unique = []
    for t in found.targets:
        key = (t.host.lower(), t.port)
        if key not in seen:
            seen.add(key)
            unique.append(t)
    return unique, found.skipped


def _items(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                yield item


#: The spec keys the certificate bundle depends on.
_BUNDLE_KEYS = frozenset({"identifier", "name", "certificates", "validate"})


@dataclass
class _SpecContext:
    bundle: list[Certificate]
    targets: list[ProbeTarget]
    skipped: list[tuple[str, str]]
    at: datetime | None
    expiry_warning: timedelta
    strict: bool
    accept: list[dict[str, str]]


def _from_spec(path: str, variables: Mapping[str, Any]) -> _SpecContext:
    """The servers a spec names and the certificates it installs.

    The bundle comes from :class:`~mobileconfig.builder.Builder`, compiling only the keys
    it depends on (:data:`_BUNDLE_KEYS`): a probe needs no PKCS#12 password or SCEP
    challenge, and works while the spec model is still learning ``mail``, ``exchange``
    and ``vpn``.
    """
    from mobileconfig.builder import Builder
    from mobileconfig.spec.compile import check_spec, read_spec
    from mobileconfig.spec.load import LoadedYAML
    from mobileconfig.spec.model import parse_duration, parse_time

    loaded, base = read_spec(path)
    targets, skipped = spec_targets(loaded)
    raw = loaded.value if isinstance(loaded.value, Mapping) else {}
    bundle_only = LoadedYAML(
        {k: v for k, v in raw.items() if k in _BUNDLE_KEYS}, loaded.file, loaded.lines
    )
    builder = Builder(check_spec(bundle_only, base, variables))
    compiled = builder.compile(variables)
    settings = compiled.source.spec.validate_ if compiled.source is not None else None
    return _SpecContext(
        bundle=[b.certificate for b in compiled.certificates],
        targets=targets,
        skipped=skipped,
        at=parse_time(settings.at) if settings else None,
        expiry_warning=parse_duration(settings.expiry_warning) if settings else timedelta(days=30),
        strict=settings.strict if settings else False,
        accept=[r.model_dump(exclude_none=True) for r in settings.accept] if settings else [],
    )


# -- the command line -----------------------------------------------------------------------


def register_cli(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add ``mobileconfig probe`` to a parser (kept in :mod:`mobileconfig.probe_cli`, which
    loads this module only when the command runs)."""
    from mobileconfig.probe_cli import register_cli as register

    register(subparsers, common)


def cmd_probe(args: argparse.Namespace, out: _Out) -> int:
    """``mobileconfig probe``: 0 no error, 1 error findings, 2 a server could not be probed."""
    import json

    from mobileconfig.cli import _at, _print_report, _variables
    from mobileconfig.pki.certs import load_certificate_file

    if not args.target and not args.spec:
        raise ProbeError("give HOST[:PORT] to probe, or --spec profile.yaml")
    if args.timeout <= 0:
        raise ProbeError(f"--timeout must be positive, not {args.timeout:g}")
    at = _at(args.at)
    bundle: list[Certificate] = []
    targets: list[ProbeTarget] = []
    skipped: list[tuple[str, str]] = []
    window = timedelta(days=30)
    strict = bool(args.strict)
    accept: list[dict[str, str]] = []
    if args.spec:
        ctx = _from_spec(args.spec, _variables(args))
        bundle, targets, skipped = ctx.bundle, ctx.targets, ctx.skipped
        at = at or ctx.at
        window, strict, accept = ctx.expiry_warning, strict or ctx.strict, ctx.accept
    for path in args.ca or []:
        bundle.extend(load_certificate_file(path))
    if args.target:
        host, port = parse_target(args.target)
        named = [
            t
            for t in targets
            if t.host.lower() == host.lower() and (port is None or t.port == port)
        ]
        targets = named or [ProbeTarget(host, port or 443)]
        skipped = []
    if args.starttls != "auto":
        targets = [replace(t, starttls=args.starttls) for t in targets]
    public = bool(args.public_roots) or (not args.spec and not args.ca)
    if public and not args.public_roots:
        out.info("no --spec or --ca given: checking against the public roots (certifi)")
    if args.spec and not targets:
        out.info(f"{args.spec}: names no TLS server to probe")

    results: list[dict[str, Any]] = []
    worst = 0
    printed = False
    for setting, why in skipped:
        out.info(f"skipped {setting}: {why}")
    for t in targets:
        try:
            result = probe(
                t.host,
                t.port,
                starttls=t.starttls,
                timeout=args.timeout,
                bundle=bundle,
                public_roots=public,
                at=at,
                expiry_warning=window,
                location=t.location,
                setting=t.setting or "the host in the profile",
            )
        except ProbeError as exc:
            if args.verbose:
                raise
            worst = 2
            if args.format == "json":
                results.append({"host": t.host, "port": t.port, "error": exc.diagnostics()})
            else:
                out.error(exc.diagnostics())
            continue
        if accept:
            result.findings.accept(accept)
        if result.findings.has_errors(strict=strict):
            worst = max(worst, 1)
        if args.format == "json":
            results.append({**({"setting": t.setting} if t.setting else {}), **result.to_json()})
        else:
            if printed:
                print()
            _print_text(result, t, out, _print_report)
            printed = True
    if args.format == "json":
        print(
            json.dumps(
                {
                    "probes": results,
                    "skipped": [{"setting": s, "reason": why} for s, why in skipped],
                },
                indent=2,
                default=str,
            )
        )
    return worst


def _print_text(
    result: ProbeResult, target: ProbeTarget, out: _Out, print_report: Callable[..., None]
) -> None:
    via = f" ({target.setting})" if target.setting else ""
    print(f"{result.target}{via}: {result.protocol}, {result.tls_version}, {result.cipher}")
    print(f"  chain sent ({len(result.chain)}):")
    for i, cert in enumerate(result.chain):
        print(
            f"    {i}. '{cert.subject_text}' sha256:{cert.sha256[:16]} expires "
            f"{cert.not_after:%Y-%m-%d}, issued by '{cert.issuer_text}'"
        )
    print_report(result.findings, "text", out, to_stdout=True)
