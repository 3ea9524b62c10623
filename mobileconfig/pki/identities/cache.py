"""The per-process cache of opened identities.

Opening an RSA PKCS#12 costs about 50 ms (OpenSSL checks the key), so each file is opened
once per process, keyed by the SHA-256 of the file and a keyed hash of the password (never
the password itself, nor its plain hash).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict

__all__ = ["cache_get", "cache_put", "clear_cache", "password_tag"]

_CACHE_SIZE = 256
_CACHE: OrderedDict[tuple[str, bytes, bytes], object] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SALT = os.urandom(32)  # per process: the cache key never holds a password's plain hash


def password_tag(password: bytes | None) -> bytes:
    """A keyed hash of ``password`` for cache keys (None and empty differ)."""
    marker = b"\x00" if password is None else b"\x01" + password
    return hmac.new(_CACHE_SALT, marker, hashlib.sha256).digest()


def cache_get(key: tuple[str, bytes, bytes]) -> object | None:
    """What was cached under ``key`` (kind, SHA-256 of the file, password tag), or None."""
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
        return hit


def cache_put(key: tuple[str, bytes, bytes], value: object) -> None:
    """Keep ``value`` under ``key``, forgetting the least recently used beyond the size."""
    with _CACHE_LOCK:
        _CACHE[key] = value
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def clear_cache() -> None:
    """Forget every identity opened in this process (tests, or after rotating files)."""
    with _CACHE_LOCK:
        _CACHE.clear()
