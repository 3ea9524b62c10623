"""The servers to probe: ``HOST[:PORT]`` from the command line, or every TLS server a spec
names (mail, Exchange), with the certificates the spec installs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mobileconfig.errors import Location
from mobileconfig.probe.errors import ProbeError

if TYPE_CHECKING:
    from mobileconfig.pki.certs import Certificate
    from mobileconfig.spec.load import LoadedYAML

__all__ = [
    "ProbeTarget",
    "SpecContext",
    "label",
    "parse_target",
    "spec_context",
    "spec_targets",
]


def label(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# -- one target ---------------------------------------------------------------------------------


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
    from mobileconfig.mdm import depends_on_variable, spec_mdm

    raw = loaded.value if isinstance(loaded.value, Mapping) else {}
    found = _SpecServers()
    mdm_key = spec_mdm(raw)

    def add(host: Any, port: Any, path: tuple[Any, ...], setting: str, default: int) -> None:
        where = loaded.location(path)
        if not isinstance(host, str) or not host.strip():
            found.skipped.append((setting, "no host"))
            return
        if depends_on_variable(host, mdm_key):
            found.skipped.append(
                (setting, f"the host depends on an MDM variable ({host}); probe HOST instead")
            )
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
class SpecContext:
    """What a probe takes from a spec: see :func:`spec_context`."""

    bundle: list[Certificate]
    targets: list[ProbeTarget]
    skipped: list[tuple[str, str]]
    at: datetime | None
    expiry_warning: timedelta
    strict: bool
    accept: list[dict[str, str]]


def spec_context(path: str, variables: Mapping[str, Any]) -> SpecContext:
    """The servers a spec names, the certificates it installs, and its ``validate:``
    settings (the time, the expiry warning, strict, accepted findings).

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
    return SpecContext(
        bundle=[b.certificate for b in compiled.certificates],
        targets=targets,
        skipped=skipped,
        at=parse_time(settings.at) if settings else None,
        expiry_warning=parse_duration(settings.expiry_warning) if settings else timedelta(days=30),
        strict=settings.strict if settings else False,
        accept=[r.model_dump(exclude_none=True) for r in settings.accept] if settings else [],
    )
