"""Why a server could not be probed. A network failure is not a finding: it is one of these,
and the command line exits 2."""

from __future__ import annotations

from mobileconfig.errors import MobileconfigError

__all__ = ["ProbeConnectionError", "ProbeError", "ProbeProtocolError", "ProbeTimeout"]


class ProbeError(MobileconfigError):
    """The server could not be probed: the network, the protocol, or the probe's setup."""


class ProbeConnectionError(ProbeError):
    """No TCP connection: refused, unreachable, or the host name does not resolve."""


class ProbeTimeout(ProbeError):
    """The server did not answer within the timeout."""


class ProbeProtocolError(ProbeError):
    """The server does not speak TLS (or STARTTLS) on that port, or the handshake failed."""
