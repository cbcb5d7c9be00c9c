"""Shared cache of raw Ordergroove answers: freshness per kind, stale-if-error, 404 memory.

The entries live in a :class:`~app.cache.CacheBackend`: diskcache under ``OGTK_DATA_DIR/cache``
(shared by every gunicorn worker of one instance and the dashboard) or, with ``OGTK_CACHE_URL``,
Redis (shared by every instance). Each entry keeps its fetch time, so freshness is decided here
(per kind TTL) while the backend only expires entries too old to be served even as stale.
Concurrent misses on one key, in any thread, process or instance, make one upstream call: the
first caller takes a short lease (``add`` with expiry), the others poll for its answer. A broken
store (full disk, Redis gone) never fails a lookup: reads and writes degrade to calling
Ordergroove directly, and the next call that works ends the degradation without a restart.

Every key lives under a namespace derived from the Ordergroove base URL and the API key's
identity (:func:`namespace_for`), so data cached from the sandbox or a staging account is never
served for another account sharing the directory or the Redis database. Values are JSON, never
pickles; every backend call sits in the ``_store_*`` methods.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, TypeVar

from .. import metrics
from ..cache import CacheBackend, DiskBackend, open_backend
from ..deadline import Deadline
from ..turns import off_turn
from .errors import NotFound, OrdergrooveError, RateLimited, Unavailable

log = logging.getLogger(__name__)

#: ``orders``: a customer's upcoming orders; ``items``: the lines of one order
KINDS = ("customer", "subscriptions", "orders", "items", "product", "search")
#: kinds whose 404s are remembered for ``negative_ttl`` seconds
NEGATIVE_KINDS = frozenset({"customer", "product"})
#: failures after which an expired entry may be served (never NotFound / Unauthorized)
STALE_ON = (Unavailable, RateLimited)

_OK = "ok"
_NOT_FOUND = "404"
#: a leased piece's entry not read with its lease: read before fetching (see get_or_fetch)
_UNREAD = object()
T = TypeVar("T")


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


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


class Freshness:
    """What the cache reads of one profile found: until when every piece stays fresh, and the
    hits by kind (counted again when the profile is reused), or that a piece was not fresh.

    >>> seen = Freshness(); cache.peek_many(pieces, freshness=seen)  # doctest: +SKIP
    >>> seen.complete, seen.until, seen.hits  # doctest: +SKIP
    (True, 1764633600.0, {'customer': 1, 'subscriptions': 1, 'orders': 1})
    """

    __slots__ = ("until", "hits", "complete", "read_along", "generations")

    def __init__(self, read_along: Iterable[str] = ()) -> None:
        self.until = float("inf")
        self.hits: dict[str, int] = {}
        self.complete = True
        #: store keys read with the first read and kept in ``generations`` (``None`` when that
        #: read failed): a cold lookup learns its generations without a store call of their own
        self.read_along = list(read_along)
        self.generations: tuple | None = None


class WriteBehind:
    """The cache writes of one lookup, held back until its answer is sent.

    A cold lookup stores each of its nine answers as it arrives. Written then, every write
    takes the GIL from the requests still being sent and from the answer being built: 2–4 ms
    of a cold lookup's path. Given a ``WriteBehind`` (``later=``), the cache hands the
    fetched value on at once and queues its write, together with the release of its lease, so
    a concurrent lookup of the same key keeps waiting for this one rather than asking
    Ordergroove again. :meth:`flush`, called once the answer is sent, writes them; a piece that
    finishes only after that (a lookup that stopped early leaves its other pieces running) is
    written as soon as it arrives, never left queued with its lease held. Before this
    process reads a key with a write still queued it writes that one first, so nothing here
    ever reads around its own pending write; a worker that dies before flushing loses only
    those writes, and its leases run out as any dead holder's do.

    >>> later = cache.write_behind()  # doctest: +SKIP
    >>> cache.get_or_fetch("customer", "42", fetch, deadline=Deadline(4), later=later)  # doctest: +SKIP
    >>> later.flush()  # after the answer  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._queued: list[_Pending] = []
        self._flushed = False
        self._lock = threading.Lock()

    def _add(self, pending: "_Pending") -> bool:
        """Queue ``pending``; ``False`` once flushed (the caller then writes it at once)."""
        with self._lock:
            if self._flushed:
                return False
            self._queued.append(pending)
            return True

    def flush(self) -> int:
        """Write everything queued (each write at most once); returns how many were written.
        Whatever arrives after this is written as it arrives."""
        with self._lock:
            queued, self._queued, self._flushed = self._queued, [], True
        return sum(pending.run() for pending in queued)


class _Pending:
    """One queued write, under the store keys it will change (entries and the lease it frees)."""

    __slots__ = ("cache", "keys", "write", "done", "lock")

    def __init__(self, cache: "ResourceCache", keys: tuple[str, ...], write: Callable[[], None]):
        self.cache, self.keys, self.write = cache, keys, write
        self.done = False
        self.lock = threading.Lock()

    def run(self) -> bool:
        """Write, unless done already; a caller arriving meanwhile waits until it is written."""
        with self.lock:
            if self.done:
                return False
            self.done = True
            try:
                self.write()
            finally:
                self.cache._forget(self)
        return True


class ResourceCache:
    """Per-kind TTL cache around upstream fetches, safe across threads, processes and instances.

    >>> cache = ResourceCache("/tmp/ogtk-cache", ttls={"customer": 90})  # or backend=RedisBackend(...)
    >>> cache.get_or_fetch("customer", "42", lambda: {"merchant_user_id": "42"}, deadline=Deadline(4)).value
    {'merchant_user_id': '42'}
    """

    def __init__(
        self,
        directory: str | os.PathLike | None = None,
        *,
        ttls: Mapping[str, float],
        backend: CacheBackend | None = None,
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
        if backend is None:
            if directory is None:
                raise ValueError("ResourceCache needs a directory (disk cache) or a backend")
            backend = DiskBackend(directory, namespace=namespace or "default", size_limit=size_limit,
                                  sqlite_timeout=sqlite_timeout)
        self.backend = backend
        self.directory = getattr(backend, "directory", None)
        self.namespace = backend.namespace
        #: how long a caller holding an expired copy waits for another caller's fetch of the same
        #: key before answering from its copy (Ordergroove's SLA is about 1 s per call)
        self.stale_wait_s = float(stale_wait_s)
        self.ttls = dict(ttls)
        self.stale_max_age = float(stale_max_age)
        self.negative_ttl = float(negative_ttl)
        self._clock = clock
        self._sleep = sleep
        self.poll_interval = poll_interval
        self.max_lease_s = max_lease_s
        self._failing = False
        self._warn_lock = threading.Lock()
        #: store key → its queued write (see WriteBehind)
        self._pending: dict[str, _Pending] = {}
        self._pending_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings, **overrides: Any) -> "ResourceCache":
        """Disk or Redis as ``settings`` say (``OGTK_CACHE_URL``), namespaced for this account."""
        options: dict[str, Any] = dict(
            ttls={
                "customer": settings.cache_ttl_customer_s,
                "subscriptions": settings.cache_ttl_subscriptions_s,
                "orders": settings.cache_ttl_orders_s,
                "items": settings.cache_ttl_orders_s,
                "product": settings.cache_ttl_product_s,
                "search": settings.cache_ttl_search_s,
            },
            stale_max_age=settings.cache_stale_max_age_s,
            negative_ttl=settings.cache_negative_ttl_s,
        )
        options.update(overrides)
        if "backend" not in options:
            namespace = namespace_for(settings.ordergroove_base_url, settings.effective_api_key)
            options["backend"] = open_backend(settings, namespace=namespace)
        return cls(**options)

    @property
    def shared(self) -> bool:
        """True when other instances share the store (Redis): its failure is reported, not ours."""
        return self.backend.shared

    def _degraded(self, exc: BaseException) -> None:
        with self._warn_lock:
            if self._failing:
                return
            self._failing = True
        log.warning("%s is unusable (%s: %s); calling Ordergroove directly until it works again",
                    self.backend.describe(), type(exc).__name__, exc)

    def _recovered(self) -> None:
        with self._warn_lock:
            if not self._failing:
                return
            self._failing = False
        log.warning("%s works again; serving from the cache", self.backend.describe())

    # -- writes held back until the answer is sent (WriteBehind) --------------------------------

    def write_behind(self) -> WriteBehind:
        """A new :class:`WriteBehind` for one lookup's writes."""
        return WriteBehind()

    def _hold(self, later: WriteBehind, keys: tuple[str, ...], write: Callable[[], None]) -> None:
        pending = _Pending(self, keys, write)
        with self._pending_lock:
            for key in keys:
                self._pending[key] = pending
        if not later._add(pending):  # the answer is out already: nothing waits for this write
            pending.run()

    def _forget(self, pending: _Pending) -> None:
        with self._pending_lock:
            for key in pending.keys:
                if self._pending.get(key) is pending:
                    del self._pending[key]

    def _settle(self, keys: Iterable[str] | None = None) -> None:
        """Write the queued writes of ``keys`` (all, when ``None``) before reading them."""
        if not self._pending:  # the warm path: nothing queued, no lock taken
            return
        with self._pending_lock:
            due = list(self._pending.values()) if keys is None else \
                [p for p in (self._pending.get(key) for key in keys) if p is not None]
        for pending in dict.fromkeys(due):
            pending.run()

    # -- the storage seam: every backend call, each degrading instead of raising ---------------

    def _safe(self, fallback: T, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            result = operation(*args, **kwargs)
        except Exception as exc:
            self._degraded(exc)
            return fallback
        if self._failing:
            self._recovered()
        return result

    def _store_get(self, key: str) -> Any:
        self._settle((key,))
        return self._safe(None, self.backend.get, key)

    def _store_set(self, key: str, value: Any, expire: float, group: str | None = None) -> None:
        self._safe(None, self.backend.set, key, value, expire=max(1.0, expire), group=group)

    def _store_add(self, key: str, value: Any, expire: float, *, unusable: bool) -> bool:
        """Set-if-absent; ``unusable`` is the answer when the store cannot be reached."""
        self._settle((key,))
        return self._safe(unusable, self.backend.add, key, value, expire=expire)

    def _store_has(self, key: str) -> bool:
        self._settle((key,))
        return self._safe(None, self.backend.get, key) is not None

    def _store_delete(self, key: str, *, only_if: Any = None) -> bool:
        """Delete ``key`` (when ``only_if`` is given, only while it still holds that value)."""
        if only_if is None:
            return self._safe(False, self.backend.delete, key)
        return self._safe(False, self.backend.delete_if, key, only_if)

    def _store_link(self, group: str, key: str, expire: float) -> None:
        self._safe(None, self.backend.link, group, key, expire=max(1.0, expire))

    def _store_evict(self, group: str) -> int:
        self._settle()  # a queued write must not land after the entries it belongs with are gone
        return self._safe(0, self.backend.invalidate_group, group)

    # -- entries: [marker, fetched_at, value] ---------------------------------------------------

    @staticmethod
    def _entry(stored: Any) -> tuple | None:
        if isinstance(stored, list) and len(stored) == 3 and isinstance(stored[1], (int, float)):
            return tuple(stored)
        return None

    def _read(self, key: str) -> tuple | None:
        return self._entry(self._store_get(key))

    def _read_many(self, kind: str, keys: Iterable[str]) -> dict[str, tuple | None]:
        """``{key: entry or None}`` of one kind, in one store read."""
        keys = list(keys)
        store_keys = [self.cache_key(kind, key) for key in keys]
        self._settle(store_keys)
        stored = self._safe([None] * len(keys), self.backend.get_many, store_keys)
        return {key: self._entry(raw) for key, raw in zip(keys, stored)}

    def _write(self, key: str, entry: tuple, expire: float, group: str | None) -> None:
        self._store_set(key, list(entry), expire, group)

    def _take_lease(self, lock_key: str, token: str, seconds: float) -> bool:
        """True when this caller should fetch: it holds the lease, or the cache cannot lease."""
        return self._store_add(lock_key, token, seconds, unusable=True)

    def _lease_held(self, lock_key: str) -> bool:
        return self._store_has(lock_key)

    def _release(self, lock_key: str, token: str) -> None:
        self._store_delete(lock_key, only_if=token)

    def _write_releasing(self, key: str, entry: tuple, expire: float, group: str | None,
                         lock_key: str, token: str) -> None:
        """:meth:`_write` and :meth:`_release` together (one store transaction on disk)."""
        self._safe(None, self.backend.set_releasing, key, list(entry), expire=max(1.0, expire), group=group,
                   lease_key=lock_key, token=token)

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

    def _answer_fresh(self, kind: str, entry: tuple, stats, *, count: bool = True) -> CacheResult:
        """The fresh entry as an answer (a remembered 404 raises), counted as a hit unless
        ``count`` is false (:meth:`peek_many` counts its hits once per kind)."""
        if count:
            self._count_hits(kind, 1, stats)
        marker, fetched_at, value = entry
        if marker == _NOT_FOUND:
            raise NotFound("Ordergroove has no such record (remembered)", endpoint=f"{kind} (cached)", status=404)
        return CacheResult(value, _utc(fetched_at), stale=False, hit=True)

    @staticmethod
    def _count_hits(kind: str, n: int, stats) -> None:
        metrics.CACHE_HITS.labels(kind).inc(n)
        if stats is not None:
            stats.incr("cache_hits", n)

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

        One store read and no locks: the warm path of every lookup.
        """
        entry = self._read(self.cache_key(kind, key))
        if self._fresh(kind, entry, self._clock()):
            return self._answer_fresh(kind, entry, stats)
        return None

    def peek_many(self, pieces: list[tuple[str, Any]], *, stats=None, stop_on_not_found: bool = False,
                  freshness: Freshness | None = None) -> list[CacheResult | NotFound | None]:
        """:meth:`peek` of several ``(kind, key)`` pieces in one store read (one round trip on
        Redis); a remembered 404 comes back as a ``NotFound`` in its place, not raised. With
        ``stop_on_not_found`` the pieces after the first 404 are left ``None`` and not counted.
        ``freshness`` notes what was found (see :class:`Freshness`)."""
        keys = [self.cache_key(kind, key) for kind, key in pieces]
        self._settle(keys)
        along: list[str] = []
        if freshness is not None and freshness.read_along:
            along, freshness.read_along = freshness.read_along, []
        stored = self._safe(None, self.backend.get_many, keys + along)
        if stored is None:  # unusable: every piece missing, no generations
            stored = [None] * len(keys)
        elif along:
            freshness.generations, stored = tuple(stored[len(keys):]), stored[:len(keys)]
        now = self._clock()
        found: list[CacheResult | NotFound | None] = [None] * len(pieces)
        hits: dict[str, int] = {}  # counted once per kind: a warm lookup finds about a dozen
        for i, ((kind, _), raw) in enumerate(zip(pieces, stored)):
            entry = self._entry(raw)
            if not self._fresh(kind, entry, now):
                if freshness is not None:
                    freshness.complete = False
                continue
            hits[kind] = hits.get(kind, 0) + 1
            if freshness is not None:
                ttl = self.negative_ttl if entry[0] == _NOT_FOUND else self._ttl(kind)
                freshness.until = min(freshness.until, entry[1] + ttl)
            try:
                found[i] = self._answer_fresh(kind, entry, stats, count=False)
            except NotFound as exc:
                found[i] = exc
                if stop_on_not_found:
                    break
        for kind, n in hits.items():
            self._count_hits(kind, n, stats)
            if freshness is not None:
                freshness.hits[kind] = freshness.hits.get(kind, 0) + n
        return found

    def now(self) -> float:
        """The cache's clock (epoch seconds): what entries' freshness is measured against."""
        return self._clock()

    def count_hits(self, hits: Mapping[str, int], stats=None) -> None:
        """Count ``hits`` (by kind) as :meth:`peek_many` counted them: for a profile reused
        from memory, whose pieces were all fresh in the cache and are still."""
        for kind, n in hits.items():
            self._count_hits(kind, n, stats)

    def lease_many(self, pieces: list[tuple[str, Any]], *, deadline: Deadline) -> list[tuple[str | None, Any]]:
        """Take the fetch leases of several ``(kind, key)`` pieces and read the pieces, in one
        store call: per piece, the token of the lease taken (``None`` where another caller holds
        it) and the entry as it is once the leases are taken; hand both to :meth:`get_or_fetch`
        (``lease``, ``leased_entry``). A cold round leases all its pieces before sending any
        request, instead of each piece writing its own lease in turn; and a fetch that finished
        before our lease is seen in that read, not in a read of each piece of its own (a Redis
        round trip per piece, before its request could leave)."""
        token = uuid.uuid4().hex
        lease_s = max(1.0, min(self.max_lease_s, deadline.remaining()))
        keys = [self.cache_key(kind, key) for kind, key in pieces]
        locks = ["lock:" + key for key in keys]
        self._settle(locks + keys)
        taken, stored = self._safe(([True] * len(keys), [None] * len(keys)), self.backend.add_many_reading,
                                   locks, token, expire=lease_s, read=keys)
        return [(token if ok else None, self._entry(raw)) for ok, raw in zip(taken, stored)]

    def release_lease(self, kind: str, key: Any, token: str) -> None:
        """Give back a lease of :meth:`lease_many` whose piece will not be fetched after all."""
        self._release("lock:" + self.cache_key(kind, key), token)

    def get_or_fetch(self, kind: str, key: Any, fetch: Callable[[], Any], *, deadline: Deadline,
                     customer_id: Any = None, stats=None, lease: str | None = None,
                     leased_entry: Any = _UNREAD, later: WriteBehind | None = None) -> CacheResult:
        """The cached value when fresh; otherwise ``fetch()`` once (across threads and processes).

        ``customer_id`` tags the entry for :meth:`invalidate_customer`. When ``fetch`` raises
        Unavailable/RateLimited and an expired entry younger than ``stale_max_age`` exists, that
        entry is returned with ``stale=True``. A 404 of a customer or product is remembered for
        ``negative_ttl`` seconds and re-raised from the cache. ``lease`` is the token of this
        piece's lease when the caller already took it (:meth:`lease_many`); it is released here.
        The entry is read once more before fetching (another fetch may have finished before the
        lease was taken), unless ``leased_entry`` is that read, made with the lease
        (:meth:`lease_many`). With ``later``, a fetched value's write (and the lease's
        release) waits in it.
        """
        ckey = self.cache_key(kind, key)
        lock_key = "lock:" + ckey
        if lease is not None:
            return self._fetch_leased(kind, ckey, None, fetch, lock_key, lease, customer_id, stats, later,
                                      latest=leased_entry)
        entry = self._read(ckey)
        if self._fresh(kind, entry, self._clock()):
            return self._answer_fresh(kind, entry, stats)

        token = uuid.uuid4().hex
        while True:
            lease_s = max(1.0, min(self.max_lease_s, deadline.remaining()))
            if self._take_lease(lock_key, token, lease_s):
                return self._fetch_leased(kind, ckey, entry, fetch, lock_key, token, customer_id, stats, later)
            # Someone else is fetching this key: wait for their answer rather than ask again. With
            # an expired copy in hand, wait only ``stale_wait_s``; if their fetch fails or takes
            # longer, answer from the copy instead of asking Ordergroove again ourselves.
            has_stale = self._usable_stale(kind, entry, self._clock())
            patience = Deadline(min(self.stale_wait_s, deadline.remaining())) if has_stale else deadline
            with off_turn():  # another fetch's answer: the worker's next request runs meanwhile
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
                return self._fetch(kind, ckey, entry, fetch, customer_id, stats)  # fails fast, then raises

    def _fetch_leased(self, kind: str, ckey: str, entry: tuple | None, fetch: Callable[[], Any],
                      lock_key: str, token: str, customer_id: Any, stats,
                      later: WriteBehind | None = None, *, latest: Any = _UNREAD) -> CacheResult:
        """:meth:`_fetch` holding the lease, which the value's write (or the end) releases."""
        leased = True
        try:
            if latest is _UNREAD:  # the winner may have finished between the last read and our lease
                latest = self._read(ckey)
            if self._fresh(kind, latest, self._clock()):
                return self._answer_fresh(kind, latest, stats)
            leased = False  # from here _fetch releases it
            return self._fetch(kind, ckey, latest or entry, fetch, customer_id, stats, lease=(lock_key, token),
                               later=later)
        finally:
            if leased:
                self._release(lock_key, token)

    def _fetch(self, kind: str, ckey: str, entry: tuple | None, fetch: Callable[[], Any], customer_id: Any,
               stats, *, lease: tuple[str, str] | None = None, later: WriteBehind | None = None) -> CacheResult:
        """Ask Ordergroove and store the answer (releasing ``lease``, a ``(lock_key, token)``),
        now or, with ``later``, once the answer is sent; on Unavailable/RateLimited answer
        ``entry`` when it is usable stale."""
        try:
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
            result = CacheResult(value, _utc(now), stale=False, hit=False)
            entry, expire, group = (_OK, now, value), self._ttl(kind) + self.stale_max_age, self._tag(customer_id)
            if lease is not None:
                lock_key, token = lease
                lease = None  # released by the write
                write = lambda: self._write_releasing(ckey, entry, expire, group, lock_key, token)  # noqa: E731
                keys: tuple[str, ...] = (ckey, lock_key)
            else:
                write, keys = (lambda: self._write(ckey, entry, expire, group)), (ckey,)
            if later is None:
                write()
            else:
                self._hold(later, keys, write)
            return result
        finally:
            if lease is not None:
                self._release(*lease)

    def get_many(self, kind: str, keys: Iterable[str], fetch_many: Callable[[list[str]], Iterable[Any]], *,
                 id_of: Callable[[Any], str | None], deadline: Deadline, stats=None,
                 later: WriteBehind | None = None) -> dict[str, CacheResult | OrdergrooveError | None]:
        """Fresh entries from the cache, the others with one ``fetch_many(missing_keys)`` call.

        For batch endpoints (products by a list of ids): ``id_of(record)`` says which key each
        returned record answers, and each is stored as its own entry, so every piece keeps its
        own freshness. A key the batch did not return maps to ``None`` (the caller may retrieve
        it by id); a remembered 404 to ``NotFound``; when the batch fails, each key gets its
        stale copy where one is usable, else the error. Identical concurrent batches (a
        stampede on one customer) share one fetch through a lease on the set of keys. With
        ``later``, the records' write and the lease's release wait in it.
        """
        results: dict[str, CacheResult | OrdergrooveError | None] = {}
        expired: dict[str, tuple | None] = {}
        for key, entry in self._read_many(kind, dict.fromkeys(keys)).items():
            if self._fresh(kind, entry, self._clock()):
                results[key] = self._fresh_or_error(kind, entry, stats)
            else:
                expired[key] = entry
        if not expired:
            return results
        digest = hashlib.sha256("\n".join(sorted(expired)).encode()).hexdigest()[:16]
        lock_key = f"lock:batch:{kind}:{digest}"
        token = uuid.uuid4().hex
        leased = self._take_lease(lock_key, token, max(1.0, min(self.max_lease_s, deadline.remaining())))
        try:
            if not leased:  # someone fetches this very batch: wait for it, as get_or_fetch does
                all_stale = all(self._usable_stale(kind, e, self._clock()) for e in expired.values())
                patience = Deadline(min(self.stale_wait_s, deadline.remaining())) if all_stale else deadline
                with off_turn():
                    while self._lease_held(lock_key) and not patience.expired():
                        self._sleep(min(self.poll_interval, patience.remaining()))
            for key, latest in self._read_many(kind, list(expired)).items():
                if self._fresh(kind, latest, self._clock()):
                    results[key] = self._fresh_or_error(kind, latest, stats)
                    del expired[key]
                elif not leased and self._usable_stale(kind, latest or expired[key], self._clock()):
                    results[key] = self._answer_stale(kind, latest or expired[key], stats)
                    del expired[key]
                elif latest is not None:
                    expired[key] = latest
            if not expired:
                return results
            metrics.CACHE_MISSES.labels(kind).inc(len(expired))
            if stats is not None:
                stats.incr("cache_misses", len(expired))
            try:
                records = list(fetch_many(list(expired)))
            except STALE_ON as exc:
                for key, entry in expired.items():
                    results[key] = self._answer_stale(kind, entry, stats) \
                        if self._usable_stale(kind, entry, self._clock()) else exc
                return results
            now = self._clock()
            fetched: dict[str, Any] = {}
            for record in records:
                key = id_of(record)
                if key in expired and key not in fetched:
                    fetched[key] = record
                    results[key] = CacheResult(record, _utc(now), stale=False, hit=False)
            for key in expired:
                results.setdefault(key, None)
            items = [(self.cache_key(kind, key), [_OK, now, record]) for key, record in fetched.items()]
            expire = max(1.0, self._ttl(kind) + self.stale_max_age)

            held, leased = leased, False  # the lease, when ours, is released by the write

            def write() -> None:
                try:
                    if items:  # one store write for the batch's records
                        self._safe(None, self.backend.set_many, items, expire=expire)
                finally:
                    if held:
                        self._release(lock_key, token)

            if later is None:
                write()
            elif items or held:
                self._hold(later, (*(key for key, _ in items), lock_key), write)
            return results
        finally:
            if leased:
                self._release(lock_key, token)

    def _fresh_or_error(self, kind: str, entry: tuple, stats) -> CacheResult | OrdergrooveError:
        try:
            return self._answer_fresh(kind, entry, stats)
        except NotFound as exc:
            return exc

    @staticmethod
    def _tag(customer_id: Any) -> str | None:
        return None if customer_id is None else f"customer:{customer_id}"

    def link(self, kind: str, key: Any, customer_ids: Iterable[Any]) -> None:
        """Make ``invalidate_customer`` of any of these customers drop the entry ``kind:key`` too.

        For entries that belong to no single customer but were found through them: an email
        search must go when the customer it found changes (their email may have changed).
        """
        for customer_id in customer_ids:
            self._store_link(self._tag(customer_id), self.cache_key(kind, key), self._ttl(kind) + self.stale_max_age)

    def invalidate_customer(self, customer_id: Any) -> int:
        """Drop every entry fetched for this customer, and those linked to them (email searches),
        on every instance sharing the store; products are shared and kept. Returns how many went.

        Then the customer's generation changes, so every process stops reusing the profile it
        remembers (:meth:`generations`). In that order: a process that reads the new generation
        reads its pieces after they went, and never remembers the old ones under it."""
        gone = self._store_evict(self._tag(customer_id))
        self._new_generation(self._generation_key(customer_id))
        return gone

    # -- generations: when a profile a process remembers may be reused -------------------------

    @staticmethod
    def _generation_key(customer_id: Any = None) -> str:
        return "generation:*" if customer_id is None else f"generation:customer:{customer_id}"

    def _new_generation(self, key: str) -> None:
        # Kept longer than any entry stays fresh: a generation that expired back to "none" must
        # not make a profile remembered before it look current again.
        longest = max([*self.ttls.values(), self.negative_ttl, 0.0])
        self._store_set(key, uuid.uuid4().hex, longest + self.stale_max_age + 3600.0)

    def generation_keys(self, customer_id: Any) -> list[str]:
        """The store keys of :meth:`generations` (to read along with other entries: see
        :class:`Freshness`)."""
        return [self._generation_key(), self._generation_key(customer_id)]

    def generations(self, customer_id: Any) -> tuple | None:
        """The store's and the customer's generations, in one read: a profile remembered under
        the same generations has had none of its entries dropped since (see
        :meth:`invalidate_customer`, :meth:`clear`). ``None`` when the store cannot say."""
        found = self._safe(None, self.backend.get_many, self.generation_keys(customer_id))
        return None if found is None else tuple(found)

    # -- shared state for other parts of the app (locks, de-duplication) ----------------------

    @staticmethod
    def _state_key(key: str) -> str:
        return f"state:{key}"

    def add(self, key: str, value: Any, expire: float) -> bool:
        """Set ``key`` only if absent, atomically across workers (and instances, on Redis): ``True``
        when this call set it (a lock taken, an event seen for the first time). When the cache is
        unusable no lock can be held, and the answer is ``True`` (go ahead) rather than blocking
        every caller."""
        return self._store_add(self._state_key(key), value, expire, unusable=True)

    def get(self, key: str, default: Any = None) -> Any:
        value = self._store_get(self._state_key(key))
        return default if value is None else value

    def set(self, key: str, value: Any, expire: float) -> None:
        self._store_set(self._state_key(key), value, expire)

    def delete(self, key: str) -> bool:
        return self._store_delete(self._state_key(key))

    # -- maintenance ----------------------------------------------------------------------------

    def clear(self) -> int:
        """Drop every entry of this namespace (other accounts sharing the store keep theirs), and
        with them every profile a process remembers."""
        self._settle()
        gone = self._safe(0, self.backend.clear)
        self._new_generation(self._generation_key())
        return gone

    def volume(self) -> int:
        """Bytes the store holds (disk: database plus value files; Redis: the server's memory)."""
        return self._safe(0, self.backend.volume)

    def check(self) -> None:
        """Write and read back a probe entry; raises when the cache is unusable (``/readyz``)."""
        self.backend.check()

    def close(self) -> None:
        self._settle()
        self._safe(None, self.backend.close)
