"""The shared cache: one interface (:class:`CacheBackend`), a disk and a Redis backend.

``open_backend`` picks the backend from the settings: Redis when ``OGTK_CACHE_URL`` is set
(several instances, CONTRACT section 10), else diskcache under ``OGTK_DATA_DIR/cache``.

>>> backend = open_backend(settings, namespace="sandbox")
>>> with Lease(backend, "refresh:42", expire=10) as lease:
...     lease.acquired
"""

from __future__ import annotations

from .base import CacheBackend, CacheUnavailable, decode, encode
from .disk import DiskBackend
from .locks import Lease

__all__ = ["CacheBackend", "CacheUnavailable", "DiskBackend", "Lease", "RedisBackend", "decode", "encode",
           "open_backend", "open_location"]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_backend(settings, *, namespace: str) -> CacheBackend:
    """The backend ``settings`` ask for, under ``namespace``."""
    if settings.cache_url:
        return open_location(settings.cache_url.reveal(), namespace=namespace,
                             max_connections=settings.cache_max_connections, timeout_s=settings.cache_timeout_s)
    return open_location(settings.cache_dir, namespace=namespace, size_limit=settings.cache_size_limit_bytes)


def open_location(location, *, namespace: str, **options) -> CacheBackend:
    """Redis for a ``redis://``/``rediss://``/``unix://`` URL, else diskcache in that directory."""
    if str(location).startswith(REDIS_SCHEMES):
        from .redis import RedisBackend  # only instances configured for Redis pay for the import

        return RedisBackend(str(location), namespace=namespace, **options)
    return DiskBackend(location, namespace=namespace, **options)


def __getattr__(name: str):
    if name == "RedisBackend":
        from .redis import RedisBackend

        return RedisBackend
    raise AttributeError(name)
