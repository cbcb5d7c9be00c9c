"""A lease: a lock in the shared cache that expires by itself.

Taken with ``add`` (set-if-absent with expiry), released with ``delete_if`` (only while the
value is still this holder's random token), so a holder that is killed blocks the others for
at most ``expire`` seconds and a slow holder never releases someone else's lease.
"""

from __future__ import annotations

import uuid

from .base import CacheBackend, Seconds


class Lease:
    """One holder at a time for ``key``, across threads, processes and (with Redis) instances.

    >>> lease = Lease(backend, "action:cancel:S1", expire=30)
    >>> if lease.acquire(): ...; lease.release()
    """

    def __init__(self, backend: CacheBackend, key: str, *, expire: Seconds):
        self.backend = backend
        self.key = "lease:" + key
        self.expire = expire
        self.token = uuid.uuid4().hex
        self.acquired = False

    def acquire(self) -> bool:
        self.acquired = self.backend.add(self.key, self.token, expire=self.expire)
        return self.acquired

    def held_by_anyone(self) -> bool:
        return self.backend.get(self.key) is not None

    def release(self) -> bool:
        """Drop the lease if it is still ours; False when it had expired (and maybe been retaken)."""
        if not self.acquired:
            return False
        self.acquired = False
        return self.backend.delete_if(self.key, self.token)

    def __enter__(self) -> "Lease":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
