"""Shared disk cache of raw Ordergroove answers: freshness per kind, stale-if-error, 404 memory.

One ``diskcache.Cache`` (SQLite + files) under ``OGTK_DATA_DIR/cache`` is shared by every
gunicorn worker and the dashboard. Each entry keeps its fetch time, so freshness is decided
here (per kind TTL) while diskcache only evicts entries too old to be served even as stale.
Concurrent misses on one key, in any thread or process, make one upstream call: the first
caller takes a short lease (``Cache.add``), the others poll for its answer. A broken cache
directory never fails a lookup: reads and writes degrade to calling Ordergroove directly.

Every key lives under a namespace derived from the Ordergroove base URL and the API key's
identity (:func:`namespace_for`), so data cached from the sandbox or a staging account is never
served for another account sharing the directory. Values are stored as JSON text, never pickles,
and every direct diskcache call sits in the ``_store_*`` methods, the one seam a shared backend
(Redis) has to fill.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import diskcache

from .. import metrics
from ..deadline import Deadline
from .errors import NotFound, RateLimited, Unavailable

log = logging.getLogger(__name__)

KINDS = ("customer", "subscriptions", "orders", "product", "search")
#: kinds whose 404s are remembered for ``negative_ttl`` seconds
NEGATIVE_KINDS = frozenset({"customer", "product"})
#: failures after which an expired entry may be served (never NotFound / Unauthorized)
STALE_ON = (Unavailable, RateLimited)

_OK = "ok"
_NOT_FOUND = "404"
_PROBE_KEY = "__ogtk_probe__"


def namespace_for(base_url: str, api_key: Any) -> str:
    """A short, stable name for one Ordergroove account as seen through one key.

    ``sha256(base URL, sha256(key))`` cut to 16 hex digits: different URLs or keys never share
    entries, and neither the key nor anything that could be reversed to it is stored.
    """
    key = api_key.reveal() if hasattr(api_key, "reveal") else str(api_key or "")
    key_id = hashlib.sha256(key.encode()).hexdigest()
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{key_id}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CacheResult:
    """A value and where it came from: ``hit`` (fresh from cache), ``stale`` (expired, served on error).

    >>> r = cache.get_or_fetch("product", "P1", fetch, deadline=Deadline(4))  # doctest: +SKIP
    >>> r.value, r.fetched_at, r.stale, r.hit  # doctest: +SKIP
    """

    value: Any
    fetched_at: datetime
    stale: bool = False
    hit: bool = False


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


class ResourceCache:
    """Per-kind TTL cache around upstream fetches, safe across threads and processes.

    >>> cache = ResourceCache("/tmp/ogtk-cache", ttls={"customer": 90})
    >>> cache.get_or_fetch("customer", "42", lambda: {"merchant_user_id": "42"}, deadline=Deadline(4)).value
    {'merchant_user_id': '42'}
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        ttls: Mapping[str, float],
        stale_max_age: float = 24 * 3600.0,
        negative_ttl: float = 30.0,
        size_limit: int = 1 << 30,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.01,
        max_lease_s: float = 30.0,
        sqlite_timeout: float = 1.0,
        namespace: str = "",
        stale_wait_s: float = 1.0,
    ):
        self.directory = Path(directory)
        self.namespace = namespace
        self._prefix = f"{namespace}/" if namespace else ""
        #: how long a caller holding an expired copy waits for another caller's fetch of the same
        #: key before answering from its copy (Ordergroove's SLA is about 1 s per call)
        self.stale_wait_s = float(stale_wait_s)
        self.ttls = dict(ttls)
        self.stale_max_age = float(stale_max_age)
        self.negative_ttl = float(negative_ttl)
        self.size_limit = int(size_limit)
        self._clock = clock
        self._sleep = sleep
        self.poll_interval = poll_interval
        self.max_lease_s = max_lease_s
        self._sqlite_timeout = sqlite_timeout
        self._warned = False
        self._warn_lock = threading.Lock()
        self._cache: diskcache.Cache | None = None
        try:
            self._cache = self._open()
        except Exception as exc:  # unusable directory: serve straight from Ordergroove
            self._degraded(exc)

    @classmethod
    def from_settings(cls, settings, **overrides: Any) -> "ResourceCache":
        options: dict[str, Any] = dict(
            ttls={
                "customer": settings.cache_ttl_customer_s,
                "subscriptions": settings.cache_ttl_subscriptions_s,
                "orders": settings.cache_ttl_orders_s,
                "product": settings.cache_ttl_product_s,
                "search": settings.cache_ttl_search_s,
            },
            stale_max_age=settings.cache_stale_max_age_s,
            negative_ttl=settings.cache_negative_ttl_s,
            size_limit=settings.cache_size_limit_bytes,
            namespace=namespace_for(settings.ordergroove_base_url, settings.effective_api_key),
        )
        options.update(overrides)
        return cls(settings.cache_dir, **options)

    def _open(self) -> diskcache.Cache:
        self.directory.mkdir(parents=True, exist_ok=True)
        return diskcache.Cache(str(self.directory), timeout=self._sqlite_timeout, size_limit=self.size_limit,
                               tag_index=True, eviction_policy="least-recently-stored")

    def _degraded(self, exc: BaseException) -> None:
        with self._warn_lock:
            if self._warned:
                return
            self._warned = True
        log.warning("disk cache at %s is unusable (%s: %s); calling Ordergroove directly",
                    self.directory, type(exc).__name__, exc)

    # -- the storage seam: every direct diskcache call, each degrading instead of raising -------

    def _store_get(self, key: str) -> str | None:
        if self._cache is None:
            return None
        try:
            value = self._cache.get(key)
        except Exception as exc:
            self._degraded(exc)
            return None
        return value if isinstance(value, str) else None

    def _store_set(self, key: str, text: str, expire: float, tag: str | None = None) -> None:
        if self._cache is None:
            return
        try:
            self._cache.set(key, text, expire=max(1.0, expire), tag=tag)
        except Exception as exc:
            self._degraded(exc)

    def _store_add(self, key: str, text: str, expire: float, *, unusable: bool) -> bool:
        """Set-if-absent; ``unusable`` is the answer when the store cannot be reached."""
        if self._cache is None:
            return unusable
        try:
            return bool(self._cache.add(key, text, expire=expire))
        except Exception as exc:
            self._degraded(exc)
            return unusable

    def _store_has(self, key: str) -> bool:
        if self._cache is None:
            return False
        try:
            return key in self._cache
        except Exception as exc:
            self._degraded(exc)
            return False

    def _store_delete(self, key: str, *, only_if: str | None = None) -> bool:
        """Delete ``key`` (when ``only_if`` is given, only while it still holds that value)."""
        if self._cache is None:
            return False
        try:
            if only_if is None:
                return bool(self._cache.delete(key))
            with self._cache.transact():
                if self._cache.get(key) == only_if:
                    return bool(self._cache.delete(key))
            return False
        except Exception as exc:
            self._degraded(exc)
            return False

    def _store_append(self, key: str, member: str, expire: float, tag: str | None) -> None:
        """Add ``member`` to the JSON list at ``key`` (a set: no duplicates)."""
        if self._cache is None:
            return
        try:
            with self._cache.transact():
                members = _loads(self._cache.get(key))
                members = members if isinstance(members, list) else []
                if member not in members:
                    members.append(member)
                self._cache.set(key, json.dumps(members), expire=max(1.0, expire), tag=tag)
        except Exception as exc:
            self._degraded(exc)

    def _store_evict(self, tag: str) -> int:
        if self._cache is None:
            return 0
        try:
            return int(self._cache.evict(tag))
        except Exception as exc:
            self._degraded(exc)
            return 0

    # -- entries: [marker, fetched_at, value] as JSON text --------------------------------------

    def _key(self, key: str) -> str:
        return self._prefix + key

    def _read(self, key: str) -> tuple | None:
        entry = _loads(self._store_get(self._key(key)))
        if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[1], (int, float)):
            return tuple(entry)
        return None

    def _write(self, key: str, entry: tuple, expire: float, tag: str | None) -> None:
        self._store_set(self._key(key), json.dumps(list(entry), separators=(",", ":")), expire, tag)

    def _take_lease(self, lock_key: str, token: str, seconds: float) -> bool:
        """True when this caller should fetch: it holds the lease, or the cache cannot lease."""
        return self._store_add(self._key(lock_key), token, seconds, unusable=True)

    def _lease_held(self, lock_key: str) -> bool:
        return self._store_has(self._key(lock_key))

    def _release(self, lock_key: str, token: str) -> None:
        self._store_delete(self._key(lock_key), only_if=token)

    # -- freshness ----------------------------------------------------------------------------

    def _ttl(self, kind: str) -> float:
        return float(self.ttls.get(kind, 0.0))

    def _fresh(self, kind: str, entry: tuple | None, now: float) -> bool:
        if entry is None:
            return False
        marker, fetched_at, _ = entry
        age = now - fetched_at
        if marker == _NOT_FOUND:
            return age < self.negative_ttl
        return age < self._ttl(kind)

    def _usable_stale(self, kind: str, entry: tuple | None, now: float) -> bool:
        return (entry is not None and entry[0] == _OK
                and now - entry[1] < self._ttl(kind) + self.stale_max_age)

    def _answer_fresh(self, kind: str, entry: tuple, stats) -> CacheResult:
        metrics.CACHE_HITS.labels(kind).inc()
        if stats is not None:
            stats.incr("cache_hits")
        marker, fetched_at, value = entry
        if marker == _NOT_FOUND:
            raise NotFound("Ordergroove has no such record (remembered)", endpoint=f"{kind} (cached)", status=404)
        return CacheResult(value, _utc(fetched_at), stale=False, hit=True)

    @staticmethod
    def _answer_stale(kind: str, entry: tuple, stats) -> CacheResult:
        metrics.CACHE_STALE.labels(kind).inc()
        if stats is not None:
            stats.incr("stale")
        return CacheResult(entry[2], _utc(entry[1]), stale=True, hit=False)

    # -- public -------------------------------------------------------------------------------

    @staticmethod
    def cache_key(kind: str, key: Any) -> str:
        return f"{kind}:{key}"

    def peek(self, kind: str, key: Any, *, stats=None) -> CacheResult | None:
        """The fresh entry (counted as a hit), or ``None``; a remembered 404 raises ``NotFound``.

        One diskcache read and no locks: the warm path of every lookup.
        """
        entry = self._read(self.cache_key(kind, key))
        if self._fresh(kind, entry, self._clock()):
            return self._answer_fresh(kind, entry, stats)
        return None

    def get_or_fetch(self, kind: str, key: Any, fetch: Callable[[], Any], *, deadline: Deadline,
                     customer_id: Any = None, stats=None) -> CacheResult:
        """The cached value when fresh; otherwise ``fetch()`` once (across threads and processes).

        ``customer_id`` tags the entry for :meth:`invalidate_customer`. When ``fetch`` raises
        Unavailable/RateLimited and an expired entry younger than ``stale_max_age`` exists, that
        entry is returned with ``stale=True``. A 404 of a customer or product is remembered for
        ``negative_ttl`` seconds and re-raised from the cache.
        """
        ckey = self.cache_key(kind, key)
        entry = self._read(ckey)
        if self._fresh(kind, entry, self._clock()):
            return self._answer_fresh(kind, entry, stats)

        lock_key = "lock:" + ckey
        token = uuid.uuid4().hex
        leased = False
        while True:
            lease_s = max(1.0, min(self.max_lease_s, deadline.remaining()))
            if self._take_lease(lock_key, token, lease_s):
                leased = True
                break
            # Someone else is fetching this key: wait for their answer rather than ask again. With
            # an expired copy in hand, wait only ``stale_wait_s``; if their fetch fails or takes
            # longer, answer from the copy instead of asking Ordergroove again ourselves.
            has_stale = self._usable_stale(kind, entry, self._clock())
            patience = Deadline(min(self.stale_wait_s, deadline.remaining())) if has_stale else deadline
            while self._lease_held(lock_key) and not patience.expired():
                self._sleep(min(self.poll_interval, patience.remaining()))
            latest = self._read(ckey)
            if self._fresh(kind, latest, self._clock()):
                return self._answer_fresh(kind, latest, stats)
            if latest is not None:
                entry = latest
            if self._usable_stale(kind, entry, self._clock()):
                return self._answer_stale(kind, entry, stats)
            if deadline.expired():
                break  # fetch below fails fast on the expired deadline, then raise

        try:
            if leased:  # the winner may have finished between our first read and our lease
                latest = self._read(ckey)
                if self._fresh(kind, latest, self._clock()):
                    return self._answer_fresh(kind, latest, stats)
            metrics.CACHE_MISSES.labels(kind).inc()
            if stats is not None:
                stats.incr("cache_misses")
            try:
                value = fetch()
            except NotFound:
                if kind in NEGATIVE_KINDS and self.negative_ttl > 0:
                    self._write(ckey, (_NOT_FOUND, self._clock(), None), self.negative_ttl,
                                self._tag(customer_id))
                raise
            except STALE_ON:
                if self._usable_stale(kind, entry, self._clock()):
                    return self._answer_stale(kind, entry, stats)
                raise
            now = self._clock()
            self._write(ckey, (_OK, now, value), self._ttl(kind) + self.stale_max_age, self._tag(customer_id))
            return CacheResult(value, _utc(now), stale=False, hit=False)
        finally:
            if leased:
                self._release(lock_key, token)

    def _tag(self, customer_id: Any) -> str | None:
        return None if customer_id is None else self._key(f"customer:{customer_id}")

    def link(self, kind: str, key: Any, customer_ids: Iterable[Any]) -> None:
        """Make ``invalidate_customer`` of any of these customers drop the entry ``kind:key`` too.

        For entries that belong to no single customer but were found through them: an email
        search must go when the customer it found changes (their email may have changed).
        """
        for customer_id in customer_ids:
            self._store_append(self._key(f"links:{customer_id}"), self.cache_key(kind, key),
                               self._ttl(kind) + self.stale_max_age, self._tag(customer_id))

    def invalidate_customer(self, customer_id: Any) -> int:
        """Drop every entry fetched for this customer, and those linked to them (email searches);
        products are shared and kept. Returns how many entries went."""
        dropped = 0
        linked = _loads(self._store_get(self._key(f"links:{customer_id}")))
        for ckey in linked if isinstance(linked, list) else ():
            dropped += self._store_delete(self._key(str(ckey)))
        evicted = self._store_evict(self._tag(customer_id))
        return dropped + evicted - (1 if linked else 0)  # the link list itself is not an entry

    # -- shared state for other parts of the app (locks, de-duplication) ----------------------

    def _state_key(self, key: str) -> str:
        return self._key(f"state:{key}")

    def add(self, key: str, value: Any, expire: float) -> bool:
        """Set ``key`` only if absent, atomically across workers: ``True`` when this call set it
        (a lock taken, an event seen for the first time). When the cache is unusable no lock can
        be held, and the answer is ``True`` (go ahead) rather than blocking every caller."""
        return self._store_add(self._state_key(key), json.dumps(value), expire, unusable=True)

    def get(self, key: str, default: Any = None) -> Any:
        text = self._store_get(self._state_key(key))
        return default if text is None else _loads(text)

    def set(self, key: str, value: Any, expire: float) -> None:
        self._store_set(self._state_key(key), json.dumps(value), expire)

    def delete(self, key: str) -> bool:
        return self._store_delete(self._state_key(key))

    # -- maintenance ----------------------------------------------------------------------------

    def clear(self) -> int:
        if self._cache is None:
            return 0
        return int(self._cache.clear())

    def volume(self) -> int:
        """Bytes on disk (database plus value files)."""
        if self._cache is None:
            return 0
        return int(self._cache.volume())

    def check(self) -> None:
        """Write and read back a probe entry; raises when the cache is unusable (``/readyz``)."""
        if self._cache is None:
            self._cache = self._open()
        probe = uuid.uuid4().hex
        self._cache.set(_PROBE_KEY, probe, expire=60)
        if self._cache.get(_PROBE_KEY) != probe:
            raise OSError(f"disk cache at {self.directory} did not read back what was written")

    def close(self) -> None:
        if self._cache is not None:
            try:
                self._cache.close()
            except Exception as exc:
                self._degraded(exc)
