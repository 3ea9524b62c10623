"""Load a signer once from what the user names: a spec's ``sign:`` or command-line files,
and judge it for one profile (:func:`prepare_signer`).

Passwords come from a :class:`~mobileconfig.secrets.Secret` (environment, file, prompt),
never from a flag's value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mobileconfig.cms import Signer
from mobileconfig.errors import IdentityError, Location
from mobileconfig.files import read_limited
from mobileconfig.pki.certs import MAX_CERTIFICATE_FILE

if TYPE_CHECKING:
    from mobileconfig.findings import Finding
    from mobileconfig.secrets import Secret
    from mobileconfig.spec.compile import SpecSource

__all__ = ["load_signer", "prepare_signer", "removal_time", "signer_from_spec"]

_P12_SUFFIXES = {".p12", ".pfx"}


def _read(path: Path, shown: str, what: str) -> bytes:
    def error(problem: str) -> IdentityError:
        return IdentityError(f"{what} {problem}", location=Location(shown))

    # Regular files only, bounded: a FIFO would hang, /dev/zero would never end.
    return read_limited(path, MAX_CERTIFICATE_FILE, error=error)


def load_signer(
    certificate: str | Path,
    *,
    key: str | Path | None = None,
    chain: Sequence[str | Path] = (),
    password: Secret | None = None,
    key_password: Secret | None = None,
    base_dir: Path | None = None,
) -> Signer:
    """A signer from a PKCS#12 (``certificate`` ending .p12/.pfx, or with no ``key``) or
    from a PEM certificate and key, with optional chain files."""

    def resolve(p: str | Path) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() or base_dir is None else base_dir / q

    cpath = resolve(certificate)
    shown = str(certificate)
    data = _read(cpath, shown, "signer file")
    if key is None or cpath.suffix.lower() in _P12_SUFFIXES:
        if key is not None:
            raise IdentityError(
                "a PKCS#12 carries its own key; do not give --sign-key too",
                location=Location(shown),
            )
        secret = password.reveal_bytes() if password is not None else None
        return Signer.from_pkcs12(data, secret, source=shown)
    key_data = _read(resolve(key), str(key), "signer key")
    chain_data = b"".join(_read(resolve(c), str(c), "chain file") + b"\n" for c in chain)
    return Signer.from_pem(
        data,
        key_data,
        chain_data or None,
        key_password=key_password.reveal_bytes() if key_password is not None else None,
        source=shown,
    )


def signer_from_spec(src: SpecSource) -> Signer | None:
    """The signer a spec's ``sign:`` names, or None when it has none."""
    settings = src.spec.sign
    if settings is None:
        return None
    if settings.pkcs12 is not None:
        return load_signer(settings.pkcs12, password=settings.password, base_dir=src.base_dir)
    assert settings.certificate is not None  # the model requires one of the two
    return load_signer(
        settings.certificate,
        key=settings.key,
        chain=settings.chain,
        key_password=settings.key_password,
        base_dir=src.base_dir,
    )


def removal_time(
    at: dt.datetime,
    removal_date: str | dt.datetime | None = None,
    duration_until_removal: float | None = None,
) -> dt.datetime | None:
    """When a device removes a profile installed at ``at``: its ``RemovalDate``, or ``at``
    plus ``DurationUntilRemoval`` (seconds), whichever comes first; None when it stays."""
    from mobileconfig.spec.model import parse_time

    times: list[dt.datetime] = []
    when = parse_time(removal_date) if removal_date is not None else None
    if when is not None:
        times.append(when)
    if duration_until_removal is not None:
        with contextlib.suppress(OverflowError):  # beyond the year 9999: nothing to compare
            times.append(at + dt.timedelta(seconds=duration_until_removal))
    return min(times) if times else None


def prepare_signer(
    signer: Signer,
    at: dt.datetime,
    removal_date: str | dt.datetime | None = None,
    duration_until_removal: float | None = None,
) -> list[Finding]:
    """Every finding about signing, at ``at``, a profile removed at ``removal_date`` or
    after ``duration_until_removal`` seconds, with ``signer`` (chain already completed, see
    :meth:`~mobileconfig.cms.Signer.complete_chain`): MC201-MC204, MC212, MC213."""
    until = removal_time(at, removal_date, duration_until_removal)
    return signer.check(at, valid_until=until)
