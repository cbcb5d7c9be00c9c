"""The default backend: one ``diskcache.Cache`` (SQLite + files) under ``OGTK_DATA_DIR/cache``.

Shared by every worker of one instance (and the dashboard) through the file system; diskcache's
transactions make ``add`` and ``delete_if`` atomic across processes, and its tag index gives
groups (each key has one tag; further groups of a key are a JSON list of linked keys). Values are
stored as JSON bytes, never pickles. Keys are prefixed with the namespace, so ``clear`` walks
the keys and removes only this namespace's.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import diskcache

from .base import CacheBackend, CacheUnavailable, Seconds, decode, encode

#: diskcache rounds nothing, but 0 or a negative expiry would store an already-dead entry
_MIN_EXPIRE_S = 0.001
#: keys per SELECT … IN (…): well under SQLite's bound on query parameters
_SELECT_CHUNK = 500
#: SQLite page cache per connection (pages of 4 KiB). Every fetch thread keeps its connection for
#: the life of the worker; with diskcache's default (8,192 pages, 32 MiB) ten threads over a large
#: cache could hold 320 MiB each. Reads go through the memory map (shared, 64 MiB) first anyway.
_PAGE_CACHE_PAGES = 512

#: One writer at a time per process. SQLite lets one connection write at a time; a thread that
#: finds the database locked sleeps in SQLite's busy handler (1, 2, 5, 10, 15, 20, 25 … ms) and
#: polls again, so the parallel pieces of one cold lookup, which all write leases and values
#: at once, used to wait 2–19 ms per write. Queueing them here wakes the next writer the moment
#: the previous one commits. Other processes still meet SQLite's lock (they rarely collide).
_WRITE_LOCK = threading.Lock()
_QUEUE_WAIT_S = 1.0


def _new_write_lock_after_fork() -> None:
    global _WRITE_LOCK
    _WRITE_LOCK = threading.Lock()  # a fork may copy it held by a thread the child does not have


os.register_at_fork(after_in_child=_new_write_lock_after_fork)


class DiskBackend(CacheBackend):
    """diskcache under ``directory``; safe across threads and processes of one machine.

    >>> cache = DiskBackend("/tmp/ogtk-cache", namespace="sandbox")
    >>> cache.set("customer:42", {"merchant_user_id": "42"}, expire=90, group="customer:42")
    """

    shared = False

    def __init__(self, directory: str | os.PathLike, *, namespace: str = "default",
                 size_limit: int = 1 << 30, sqlite_timeout: float = 1.0):
        if not namespace:
            raise ValueError("a cache namespace must not be empty")
        self.directory = Path(directory)
        self.namespace = namespace
        self.size_limit = int(size_limit)
        self._sqlite_timeout = sqlite_timeout
        self._prefix = namespace + ":"
        self._cache: diskcache.Cache | None = None

    def describe(self) -> str:
        return f"disk cache at {self.directory}"

    def _store(self) -> diskcache.Cache:
        if self._cache is None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._cache = diskcache.Cache(str(self.directory), timeout=self._sqlite_timeout,
                                              size_limit=self.size_limit, tag_index=True,
                                              eviction_policy="least-recently-stored",
                                              sqlite_cache_size=_PAGE_CACHE_PAGES)
            except Exception as exc:
                raise CacheUnavailable(f"{self.describe()} cannot be opened: {type(exc).__name__}: {exc}") from exc
        return self._cache

    def _key(self, key: str) -> str:
        return self._prefix + "k:" + key

    def _links(self, group: str) -> str:
        return self._prefix + "l:" + group

    def _tag(self, group: str | None) -> str | None:
        return None if group is None else self._prefix + "group:" + group

    def _run(self, operation, *args, **kwargs):
        """One diskcache call; any failure (full disk, locked or corrupt database) becomes CacheUnavailable."""
        try:
            return operation(self._store(), *args, **kwargs)
        except CacheUnavailable:
            raise
        except Exception as exc:
            raise CacheUnavailable(f"{self.describe()} failed: {type(exc).__name__}: {exc}") from exc

    def _run_write(self, operation, *args, **kwargs):
        """:meth:`_run` for a call that writes: queued behind this process's other writers, for
        at most :data:`_QUEUE_WAIT_S` (a writer stuck behind another process's long transaction
        must not make the others wait one after another: past that, SQLite's own lock decides)."""
        lock = _WRITE_LOCK
        queued = lock.acquire(timeout=_QUEUE_WAIT_S)
        try:
            return self._run(operation, *args, **kwargs)
        finally:
            if queued:
                lock.release()

    def get(self, key: str) -> Any:
        return decode(self._run(lambda c: c.get(self._key(key))))

    def get_many(self, keys: list[str]) -> list[Any]:
        """One SELECT for all ``keys`` instead of one ``Cache.get`` each: a warm lookup reads
        about a dozen entries, and the per-call overhead was a third of its CPU. Reads
        diskcache's table as ``Cache.get`` does (same columns, same expiry test)."""
        if not keys:
            return []
        if len(keys) == 1:
            return [self.get(keys[0])]

        def select(cache: diskcache.Cache) -> list[Any]:
            found: list[Any] = [None] * len(keys)
            where: dict[str, list[int]] = {}
            for i, key in enumerate(keys):
                where.setdefault(self._key(key), []).append(i)
            names = list(where)
            now = time.time()
            for start in range(0, len(names), _SELECT_CHUNK):
                chunk = names[start:start + _SELECT_CHUNK]
                rows = cache._sql(
                    "SELECT key, mode, filename, value FROM Cache WHERE raw = 1 AND key IN "
                    f"({','.join('?' * len(chunk))}) AND (expire_time IS NULL OR expire_time > ?)",
                    (*chunk, now)).fetchall()
                for name, mode, filename, value in rows:
                    try:
                        raw = cache._disk.fetch(mode, filename, value, False)
                    except OSError:  # its file went between the select and the read: absent
                        continue
                    for i in where[name]:
                        found[i] = raw
            return found

        return [decode(raw) for raw in self._run(select)]

    def set(self, key: str, value: Any, *, expire: Seconds, group: str | None = None) -> None:
        self._run_write(lambda c: c.set(self._key(key), encode(value), expire=max(_MIN_EXPIRE_S, expire),
                                  tag=self._tag(group)))

    def add(self, key: str, value: Any, *, expire: Seconds, group: str | None = None) -> bool:
        return bool(self._run_write(lambda c: c.add(self._key(key), encode(value), expire=max(_MIN_EXPIRE_S, expire),
                                              tag=self._tag(group))))

    def set_many(self, items: list[tuple[str, Any]], *, expire: Seconds) -> None:
        """One transaction for all (a product batch stores each product as its own entry)."""
        seconds = max(_MIN_EXPIRE_S, expire)

        def set_all(cache: diskcache.Cache) -> None:
            with cache.transact():
                for key, value in items:
                    cache.set(self._key(key), encode(value), expire=seconds)

        if items:
            self._run_write(set_all)

    def add_many_reading(self, keys: list[str], value: Any, *, expire: Seconds,
                         read: list[str]) -> tuple[list[bool], list[Any]]:
        """One transaction for all: a cold lookup's second round leases six pieces at once (one
        write transaction instead of six took about 2 ms of CPU off a cold lookup), and reads
        them in it rather than once each in the fetch threads, each on its own connection."""
        raw, seconds = encode(value), max(_MIN_EXPIRE_S, expire)

        def add_all_then_read(cache: diskcache.Cache) -> tuple[list[bool], list[Any]]:
            with cache.transact():
                added = [bool(cache.add(self._key(key), raw, expire=seconds)) for key in keys]
                return added, [cache.get(self._key(key)) for key in read]

        added, found = self._run_write(add_all_then_read)
        return added, [decode(raw) for raw in found]

    def delete(self, key: str) -> bool:
        return bool(self._run_write(lambda c: c.delete(self._key(key))))

    def delete_if(self, key: str, expected: Any) -> bool:
        def compare_and_delete(cache: diskcache.Cache) -> bool:
            with cache.transact():
                if decode(cache.get(self._key(key))) == expected:
                    return bool(cache.delete(self._key(key)))
            return False

        return self._run_write(compare_and_delete)

    def set_releasing(self, key: str, value: Any, *, expire: Seconds, group: str | None,
                      lease_key: str, token: Any) -> None:
        """One transaction instead of two: a cold lookup ends nine leased fetches this way, and
        each write waits its turn for SQLite's single write lock."""
        def store_and_release(cache: diskcache.Cache) -> None:
            with cache.transact():
                cache.set(self._key(key), encode(value), expire=max(_MIN_EXPIRE_S, expire), tag=self._tag(group))
                if decode(cache.get(self._key(lease_key))) == token:
                    cache.delete(self._key(lease_key))

        self._run_write(store_and_release)

    def link(self, group: str, key: str, *, expire: Seconds) -> None:
        def append(cache: diskcache.Cache) -> None:
            with cache.transact():
                members = decode(cache.get(self._links(group))) or []
                if key not in members:
                    members.append(key)
                cache.set(self._links(group), encode(members), expire=max(_MIN_EXPIRE_S, expire))

        self._run_write(append)

    def invalidate_group(self, group: str) -> int:
        def invalidate(cache: diskcache.Cache) -> int:
            with cache.transact():
                linked = decode(cache.pop(self._links(group))) or []
                removed = sum(1 for key in linked if cache.delete(self._key(key)))
            return removed + int(cache.evict(self._tag(group)))

        return int(self._run_write(invalidate))

    def clear(self) -> int:
        def clear_namespace(cache: diskcache.Cache) -> int:
            mine = [key for key in cache.iterkeys() if isinstance(key, str) and key.startswith(self._prefix)]
            return sum(1 for key in mine if cache.delete(key))

        return int(self._run_write(clear_namespace))

    def volume(self) -> int:
        return int(self._run(lambda c: c.volume()))

    def close(self) -> None:
        if self._cache is not None:
            try:
                self._cache.close()
            except Exception:  # closing a broken store must not raise during shutdown
                pass
            self._cache = None
