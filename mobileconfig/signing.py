"""Load a signer once from what the user names: a spec's ``sign:`` or command-line files.

Passwords come from a :class:`~mobileconfig.secrets.Secret` (environment, file, prompt),
never from a flag's value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mobileconfig.cms import Signer
from mobileconfig.errors import IdentityError, Location

if TYPE_CHECKING:
    from mobileconfig.secrets import Secret
    from mobileconfig.spec.compile import SpecSource

__all__ = ["load_signer", "signer_from_spec"]

_P12_SUFFIXES = {".p12", ".pfx"}


def _read(path: Path, shown: str, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IdentityError(f"{what} not found", location=Location(shown)) from None
    except IsADirectoryError:
        raise IdentityError(f"{what} is a folder", location=Location(shown)) from None
    except OSError as exc:
        raise IdentityError(
            f"cannot read {what}: {exc.strerror}", location=Location(shown)
        ) from None


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
