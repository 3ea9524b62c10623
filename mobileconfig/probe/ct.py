"""Certificate Transparency: the signed certificate timestamps (SCTs) a server's
certificate carries, judged by Apple's CT policy for publicly trusted TLS certificates.

Apple's policy (https://support.apple.com/103214): a publicly trusted server certificate
needs at least two SCTs, and either

- at least two SCTs from currently approved logs, one of them delivered in the TLS
  handshake (the ``signed_certificate_timestamp`` extension) or in a stapled OCSP
  response; or
- at least one embedded SCT from a currently approved log, and as many embedded SCTs from
  distinct logs as the certificate's lifetime asks: 2 for 180 days or less, 3 for 181 to
  398 days (with at most 1, resp. 2, counted per log operator).

The lifetime is notBefore through notAfter inclusive, in days of 86,400 seconds, a part of
a day counting as a day.

What is read here: the SCTs embedded in the certificate (always), and those in a stapled
OCSP response (when the TLS client got one). What is not: SCTs sent in the TLS extension
(neither Python's ``ssl`` nor pyOpenSSL exposes them), whether a log is approved by Apple,
and who operates it (both need Apple's current log list, fetched from the network). A
server that delivers its SCTs only in the TLS extension is therefore reported as lacking
them; the message says so. A certificate from a private CA (a root the user or an MDM
installed) is exempt from the policy and is not judged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtensionOID

from mobileconfig.findings import Finding
from mobileconfig.pki.certs import Certificate

__all__ = [
    "APPLE_CT_POLICY",
    "CtVerdict",
    "Sct",
    "embedded_scts",
    "evaluate",
    "findings",
    "lifetime_days",
    "ocsp_scts",
    "required_embedded",
]

APPLE_CT_POLICY = "https://support.apple.com/103214"

Source = Literal["embedded", "ocsp", "tls"]

#: (longest lifetime in days, embedded SCTs from distinct logs required).
_TABLE: tuple[tuple[int, int], ...] = ((180, 2), (398, 3))

#: SCTs read from one certificate or OCSP response at most (a real one holds 2 to 5).
MAX_SCTS = 64


@dataclass(frozen=True)
class Sct:
    """One signed certificate timestamp: which log, when, and how it reached us."""

    log_id: bytes
    timestamp: datetime
    source: Source

    @property
    def log(self) -> str:
        """The log's id, shortened for a message (its first 8 bytes in hex)."""
        return self.log_id[:8].hex()


def lifetime_days(cert: Certificate) -> int:
    """The certificate's validity period in Apple's days: notBefore through notAfter
    inclusive, 86,400 seconds a day, any part of a day counting as one."""
    seconds = (cert.not_after - cert.not_before).total_seconds() + 1
    return max(1, math.ceil(seconds / 86_400))


def required_embedded(days: int) -> int | None:
    """Embedded SCTs from distinct logs that Apple asks of a ``days``-day certificate;
    ``None`` past 398 days, which a publicly trusted certificate may not last."""
    for longest, count in _TABLE:
        if days <= longest:
            return count
    return None


def _from_list(
    values: Iterable[x509.certificate_transparency.SignedCertificateTimestamp], source: Source
) -> list[Sct]:
    found: list[Sct] = []
    for sct in values:
        if len(found) >= MAX_SCTS:
            break
        found.append(Sct(bytes(sct.log_id), sct.timestamp, source))
    return found


def embedded_scts(cert: Certificate) -> list[Sct]:
    """The SCTs embedded in ``cert`` (the precertificate SCT list extension)."""
    try:
        ext = cert.x509.extensions.get_extension_for_oid(
            ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS
        )
    except x509.ExtensionNotFound:
        return []
    except ValueError:  # a malformed list: cryptography refuses to parse it
        return []
    value = ext.value
    if not isinstance(value, x509.PrecertificateSignedCertificateTimestamps):
        return []
    return _from_list(value, "embedded")


def ocsp_scts(response_der: bytes, cert: Certificate | None = None) -> list[Sct]:
    """The SCTs in a stapled OCSP response (the single response's SCT extension).

    An unreadable or unsuccessful response holds none. With ``cert``, a response about
    another certificate holds none either."""
    if not response_der or len(response_der) > 64 * 1024:
        return []
    try:
        response = ocsp.load_der_ocsp_response(response_der)
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return []
        if cert is not None and response.serial_number != cert.x509.serial_number:
            return []
        ext = response.single_extensions.get_extension_for_oid(
            ExtensionOID.SIGNED_CERTIFICATE_TIMESTAMPS
        )
    except (ValueError, x509.ExtensionNotFound):
        return []
    value = ext.value
    if not isinstance(value, x509.SignedCertificateTimestamps):
        return []
    return _from_list(value, "ocsp")


@dataclass(frozen=True)
class CtVerdict:
    """What Apple's CT policy says of one certificate, as far as it can be checked here."""

    lifetime: int
    required: int | None
    """Embedded SCTs from distinct logs the lifetime asks for (None: past 398 days)."""
    embedded: tuple[Sct, ...]
    delivered: tuple[Sct, ...]
    """SCTs that came with the connection (stapled OCSP; the TLS extension if readable)."""
    tls_extension_read: bool

    @property
    def all(self) -> tuple[Sct, ...]:
        return (*self.embedded, *self.delivered)

    @property
    def distinct_logs(self) -> int:
        return len({s.log_id for s in self.all})

    @property
    def embedded_logs(self) -> int:
        return len({s.log_id for s in self.embedded})

    @property
    def by_delivery(self) -> bool:
        """The first way: two SCTs from distinct logs, one delivered with the connection."""
        return bool(self.delivered) and self.distinct_logs >= 2

    @property
    def by_embedding(self) -> bool:
        """The second way: enough embedded SCTs from distinct logs for the lifetime."""
        return (
            self.required is not None
            and bool(self.embedded)
            and self.embedded_logs >= self.required
        )

    @property
    def meets(self) -> bool:
        return self.distinct_logs >= 2 and (self.by_delivery or self.by_embedding)

    @property
    def duplicates_only(self) -> bool:
        """Enough SCTs by count, too few by distinct logs: the same log more than once."""
        need = max(2, self.required or 2)
        return not self.meets and len(self.all) >= need and self.distinct_logs < need

    def describe(self) -> str:
        """``3 SCTs from 2 logs (2 embedded, 1 in the stapled OCSP response)``."""
        parts = [f"{len(self.embedded)} embedded"]
        ocsp_count = sum(1 for s in self.delivered if s.source == "ocsp")
        tls_count = sum(1 for s in self.delivered if s.source == "tls")
        if ocsp_count:
            parts.append(f"{ocsp_count} in the stapled OCSP response")
        if tls_count:
            parts.append(f"{tls_count} in the TLS extension")
        n, logs = len(self.all), self.distinct_logs
        return (
            f"{n} SCT{'s' if n != 1 else ''} from {logs} log{'s' if logs != 1 else ''} "
            f"({', '.join(parts)})"
        )


def evaluate(
    cert: Certificate,
    *,
    ocsp_response: bytes | None = None,
    tls_scts: Sequence[Sct] = (),
    tls_extension_read: bool = False,
) -> CtVerdict:
    """Apple's CT policy applied to ``cert`` with what the connection delivered."""
    days = lifetime_days(cert)
    delivered = [*ocsp_scts(ocsp_response or b"", cert), *tls_scts]
    return CtVerdict(
        lifetime=days,
        required=required_embedded(days),
        embedded=tuple(embedded_scts(cert)),
        delivered=tuple(delivered[:MAX_SCTS]),
        tls_extension_read=tls_extension_read,
    )


def _logs(scts: Sequence[Sct]) -> str:
    return ", ".join(sorted({s.log for s in scts})) or "none"


_NOT_READ = (
    "SCTs sent in the TLS handshake's extension are not read (no Python TLS library exposes them)"
)


def findings(
    verdict: CtVerdict,
    leaf: Certificate,
    *,
    target: str,
    emit: Callable[[str, Certificate, str, str], Finding],
) -> list[Finding]:
    """MC606 / MC607 when ``verdict`` fails Apple's CT policy, MC608 saying what was
    checked. ``emit(code, certificate, role, message)`` makes a finding."""
    role = "server certificate"
    need = verdict.required
    lifetime = f"a {verdict.lifetime}-day certificate"
    asks = (
        f"Apple asks {need} embedded SCTs from distinct logs of {lifetime}, or 2 from distinct "
        "logs with one delivered by OCSP stapling or the TLS extension"
        if need is not None
        else f"{lifetime} is past the 398 days a publicly trusted certificate may last"
    )
    unread = "" if verdict.tls_extension_read else f"; {_NOT_READ}"
    if not verdict.all:
        return [
            emit(
                "MC606",
                leaf,
                role,
                f"{target}: '{leaf.display_name}' chains to a public root but carries no SCT, "
                f"neither embedded nor in a stapled OCSP response ({asks}{unread}). Apple "
                "devices refuse the connection unless the server sends SCTs in the TLS "
                "extension.",
            )
        ]
    if not verdict.meets:
        again = " (the same log more than once counts once)" if verdict.duplicates_only else ""
        return [
            emit(
                "MC607",
                leaf,
                role,
                f"{target}: '{leaf.display_name}' has {verdict.describe()}, logs "
                f"{_logs(verdict.all)}{again}: {asks}{unread}.",
            )
        ]
    way = (
        "embedded SCTs from enough distinct logs"
        if verdict.by_embedding
        else "SCTs from 2 distinct logs, one delivered with the connection"
    )
    return [
        emit(
            "MC608",
            leaf,
            role,
            f"{target}: '{leaf.display_name}' ({lifetime}) has {verdict.describe()}, logs "
            f"{_logs(verdict.all)}: {way}, as Apple's CT policy asks. Not checked: whether "
            "Apple approves each log, and the per-operator limit (both need Apple's log "
            f"list){unread}.",
        )
    ]
