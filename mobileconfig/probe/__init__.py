"""Live TLS check of a server named in a profile: connect, read the chain it sends, judge it.

:func:`probe` connects to ``host:port`` (after STARTTLS for IMAP, SMTP and POP3 where the
port or the caller asks for it), completes a TLS handshake *without* trusting the server,
reads every certificate the server sends, in the order it sends them
(:mod:`mobileconfig.probe.connect`), and judges that chain the way an Apple device would
(:mod:`mobileconfig.probe.judge`, findings MC501 to MC510 and MC601 to MC605).
:mod:`mobileconfig.probe.targets` finds the servers a spec names.

A network failure is not a finding: it raises :class:`ProbeError` (refused, unreachable,
timed out, not TLS, STARTTLS refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from mobileconfig.errors import Location
from mobileconfig.findings import Report
from mobileconfig.pki.certs import Certificate
from mobileconfig.probe.connect import IMPLICIT_TLS_PORTS, STARTTLS_PORTS, read_chain
from mobileconfig.probe.errors import (
    ProbeConnectionError,
    ProbeError,
    ProbeProtocolError,
    ProbeTimeout,
)
from mobileconfig.probe.judge import judge
from mobileconfig.probe.targets import (
    ProbeTarget,
    SpecContext,
    label,
    parse_target,
    spec_context,
    spec_targets,
)

__all__ = [
    "IMPLICIT_TLS_PORTS",
    "STARTTLS_PORTS",
    "ProbeConnectionError",
    "ProbeError",
    "ProbeProtocolError",
    "ProbeResult",
    "ProbeTarget",
    "ProbeTimeout",
    "SpecContext",
    "judge",
    "parse_target",
    "probe",
    "spec_context",
    "spec_targets",
]


# -- the result ---------------------------------------------------------------------------------


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
        return label(self.host, self.port)

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
    ct: Literal["public", "always", "never"] = "public",
) -> ProbeResult:
    """Connect to ``host:port``, read the certificate chain the server sends, and judge it.

    ``starttls``: ``auto`` runs IMAP STARTTLS on 143, SMTP STARTTLS on 25 and 587 and POP3
    STLS on 110, and TLS from the first byte on every other port; ``imap``, ``smtp``,
    ``pop3`` or ``none`` force one. ``timeout`` bounds the whole exchange. ``bundle`` is the
    profile's certificates (its roots anchor the chain; its intermediates are on the
    device); ``public_roots`` trusts certifi's roots too. ``at`` is the check time (now).
    ``ct`` chooses when Certificate Transparency is judged (see :func:`judge`). The host
    name is sent as SNI (not for an IP address).

    Raises :class:`ProbeError` when the server cannot be probed; findings never raise.
    """
    sent = read_chain(host, port, starttls=starttls, timeout=timeout)
    report = judge(
        host,
        sent.chain,
        tls_version=sent.tls_version,
        cipher=sent.cipher,
        bundle=bundle,
        public_roots=public_roots,
        at=at,
        expiry_warning=expiry_warning,
        location=location,
        setting=setting,
        port=port,
        ocsp_response=sent.ocsp_response,
        ct=ct,
    )
    return ProbeResult(
        host=host,
        port=port,
        protocol=sent.protocol,
        tls_version=sent.tls_version,
        cipher=sent.cipher,
        chain=sent.chain,
        findings=report,
    )
