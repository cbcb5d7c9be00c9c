"""The shared-cache interface every backend implements, and the value format they all store.

A backend is a key-value store with expiry shared by every worker (and, for Redis, every
instance): ``get``/``get_many``/``set``/``delete``, ``add`` (set only if absent: the primitive behind locks and
de-duplication), ``delete_if`` (compare-and-delete: release only a lock still ours), groups
(every key of one customer dropped at once; ``link`` adds a key to further groups), ``clear``, ``volume``, ``check`` and ``close``.
All keys and groups live under the backend's namespace (CONTRACT section 2): two namespaces
sharing one directory or Redis database never see, invalidate or clear each other's entries.

Values are JSON (compact, no pickles): an entry written by one release reads back in the next,
and a Redis database can be inspected with ``redis-cli``. Backends raise :class:`CacheUnavailable`
when their store fails; callers decide how to degrade.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any

_PROBE_KEY = "__probe__"
#: one clock for expiry everywhere: seconds, fractions allowed
Seconds = float


class CacheUnavailable(RuntimeError):
    """The cache's store (disk or server) failed; the message says which and why."""


def encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class _Decoded:
    """Recently decoded values by their stored bytes, least recently used out, bounded in bytes.

    A warm lookup reads the same dozen entries on every request and decoding them was a tenth of
    its CPU; identical bytes decode to the identical value, so the copy decoded last time is
    handed out again. Values are shared between callers: nothing may change what the cache
    returns (nothing does: entries are parsed into new objects).
    """

    def __init__(self, max_bytes: int, max_entry: int):
        self.max_bytes, self.max_entry = max_bytes, max_entry
        self._values: OrderedDict[bytes, Any] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._lock = threading.Lock()  # a fork may copy it held

    def get(self, raw: bytes) -> Any:
        with self._lock:
            value = self._values.get(raw, _MISSING)
            if value is not _MISSING:
                self._values.move_to_end(raw)
            return value

    def put(self, raw: bytes, value: Any) -> None:
        if len(raw) > self.max_entry:
            return
        with self._lock:
            if raw not in self._values:
                self._values[raw] = value
                self._bytes += len(raw)
                while self._bytes > self.max_bytes:
                    old, _ = self._values.popitem(last=False)
                    self._bytes -= len(old)


_MISSING = object()
#: about a megabyte of stored JSON (a few times that decoded) per process
_DECODED = _Decoded(max_bytes=1 << 20, max_entry=64 << 10)


def decode(raw: Any) -> Any:
    """The stored value; anything that is not JSON (an entry pickled by an older release, a
    foreign key) reads as absent, never as an error."""
    if not isinstance(raw, (bytes, str)):
        return None
    if isinstance(raw, bytes):
        value = _DECODED.get(raw)
        if value is not _MISSING:
            return value
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if isinstance(raw, bytes):
        _DECODED.put(raw, value)
    return value


class CacheBackend(ABC):
    """A namespaced key-value store with expiry, shared across threads and processes.

    >>> backend = open_backend(settings)  # doctest: +SKIP  (see app.cache.open_backend)
    >>> backend.add("lock:customer:42", "me", expire=5), backend.add("lock:customer:42", "you", expire=5)
    (True, False)
    """

    #: True when other instances share this store: its failure is theirs too, so it is reported
    #: rather than failing this instance's readiness (CONTRACT section 3)
    shared: bool = False
    namespace: str = ""

    @abstractmethod
    def get(self, key: str) -> Any:
        """The value, or ``None`` when absent or expired."""

    def get_many(self, keys: list[str]) -> list[Any]:
        """The values of ``keys`` in order (``None`` where absent); one round trip where the store allows."""
        return [self.get(key) for key in keys]

    @abstractmethod
    def set(self, key: str, value: Any, *, expire: Seconds, group: str | None = None) -> None:
        """Store ``value`` for ``expire`` seconds; ``group`` ties it to :meth:`invalidate_group`."""

    @abstractmethod
    def add(self, key: str, value: Any, *, expire: Seconds, group: str | None = None) -> bool:
        """Store only when absent (or expired); True for exactly one of concurrent callers."""

    def set_many(self, items: list[tuple[str, Any]], *, expire: Seconds) -> None:
        """:meth:`set` of several ``(key, value)`` pairs, in no group (one transaction or round
        trip where the store allows): the records of one batch request."""
        for key, value in items:
            self.set(key, value, expire=expire)

    def add_many_reading(self, keys: list[str], value: Any, *, expire: Seconds,
                         read: list[str]) -> tuple[list[bool], list[Any]]:
        """:meth:`add` of ``value`` under each of ``keys``, then the values of ``read`` as they are
        once those adds are done (one transaction or round trip where the store allows): the
        leases of one round's pieces, taken before any is fetched, and the pieces as any fetch
        that finished before the leases left them."""
        return [self.add(key, value, expire=expire) for key in keys], self.get_many(read)

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""

    @abstractmethod
    def delete_if(self, key: str, expected: Any) -> bool:
        """Remove ``key`` only while it still holds ``expected`` (atomically); True when removed."""

    def set_releasing(self, key: str, value: Any, *, expire: Seconds, group: str | None,
                      lease_key: str, token: Any) -> None:
        """:meth:`set`, then :meth:`delete_if` of the lease ``lease_key`` still holding ``token``:
        the end of a leased fetch (one transaction where the store allows)."""
        self.set(key, value, expire=expire, group=group)
        self.delete_if(lease_key, token)

    @abstractmethod
    def link(self, group: str, key: str, *, expire: Seconds) -> None:
        """Make :meth:`invalidate_group` of ``group`` remove ``key`` too (a key found through
        several customers, such as an email search), for at least ``expire`` seconds."""

    @abstractmethod
    def invalidate_group(self, group: str) -> int:
        """Remove every key stored with or linked to ``group``; the number removed."""

    @abstractmethod
    def clear(self) -> int:
        """Remove every key of this namespace (and no other); the number removed."""

    @abstractmethod
    def volume(self) -> int:
        """Bytes the store holds (for the dashboard and metrics)."""

    def check(self) -> None:
        """Write and read back a probe; raise :class:`CacheUnavailable` with the reason if that fails."""
        probe = uuid.uuid4().hex
        self.set(_PROBE_KEY, probe, expire=60)
        if self.get(_PROBE_KEY) != probe:
            raise CacheUnavailable(f"{self.describe()} did not read back what was written")

    @abstractmethod
    def close(self) -> None:
        """Release files or connections; the backend may be used again afterwards (it reopens)."""

    def describe(self) -> str:
        """Where the store is, without secrets (for logs and /readyz)."""
        return type(self).__name__
