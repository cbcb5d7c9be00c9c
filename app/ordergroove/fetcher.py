"""Profile fetcher: customers by id or email, and whole profiles, through the shared cache.

Profiles follow the two-round plan of :mod:`app.ordergroove.plan`; email searches run in
parallel. Pieces already fresh in the cache are read inline; only misses go to the process's
fetch threads (at most ``max_in_flight`` requests in flight per lookup), so a warm lookup makes
no upstream call and hands nothing to a thread.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from ..deadline import Deadline
from ..memo import BoundedMemo
from .affinity import choose_cpu, pin_current_thread
from .cache import CacheResult, ResourceCache, WriteBehind
from .client import OrdergrooveClient
from .errors import NotFound, OrdergrooveError
from .models import Customer, CustomerProfile, Product, Subscription, parse_records
from .plan import ProfilePlan

log = logging.getLogger(__name__)

#: parsed cache entries kept per process (a few per customer; bounded, least recently used out)
PARSED_MEMO_SIZE = 4096
#: warm profiles each process keeps for reuse (see _RememberedProfile)
PROFILE_MEMO_SIZE = 1024
#: lookups one process runs at once (gunicorn.conf.py's default threads). The fetch threads are
#: sized for twice that many cold lookups: a lookup that ended early (an unknown customer) leaves
#: its running pieces to finish inside their deadline, and the next lookups must not wait on them.
#: Threads start only when needed, so the bound costs nothing while Ordergroove answers quickly.
CONCURRENT_LOOKUPS = 4


class FetchStats:
    """Thread-safe counters for one lookup: upstream calls, cache hits/misses, stale pieces.

    >>> stats = FetchStats(); stats.incr("upstream_calls")
    >>> stats.as_dict()["upstream_calls"]
    1
    """

    FIELDS = ("upstream_calls", "cache_hits", "cache_misses", "stale")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.upstream_calls = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self.stale = 0

    def incr(self, name: str, n: int = 1) -> None:
        if name not in self.FIELDS:
            raise AttributeError(name)
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {name: getattr(self, name) for name in self.FIELDS}

    def __repr__(self) -> str:
        return f"FetchStats({self.as_dict()})"


@dataclass(frozen=True)
class _RememberedProfile:
    """A profile every piece of which came fresh from the cache, reused by this process while
    the pieces stay fresh and none was dropped (same generations).

    Building a warm profile read every piece from the store and re-ran the plan: about a third
    of a warm lookup's CPU. Reusing one costs a single store read of two small keys. A piece
    only changes before it expires by being dropped (webhooks, actions and refreshes drop the
    customer's; ``clear`` drops all), and a drop changes a generation on every process sharing
    the store."""

    profile: CustomerProfile
    generations: tuple
    fresh_until: float  # when the first of its pieces stops being fresh, on the cache's clock
    hits: dict[str, int]  # the cache hits its pieces counted, counted again on each reuse


@dataclass(frozen=True)
class _Job:
    kind: str
    key: str
    fetch: Callable[[], Any]
    customer_id: str | None


def email_queries(emails: Iterable[Any]) -> list[str]:
    """What to ask Ordergroove's email filter: each address trimmed, as Gladly sent it and, when
    different, lower-cased (whether the filter is case-sensitive is undocumented); no empties or
    repeats, input order kept."""
    if isinstance(emails, str):
        emails = [emails]
    seen: dict[str, None] = {}
    for email in emails or ():
        if not isinstance(email, str) or not email.strip():
            continue
        seen.setdefault(email.strip(), None)
        seen.setdefault(email.strip().lower(), None)
    return list(seen)


def normalise_emails(emails: Iterable[Any]) -> list[str]:
    """Trim, lower-case, drop empties and duplicates, keep input order."""
    if isinstance(emails, str):
        emails = [emails]
    seen: dict[str, None] = {}
    for email in emails or ():
        if not isinstance(email, str):
            continue
        text = email.strip().lower()
        if text:
            seen.setdefault(text, None)
    return list(seen)


class ProfileFetcher:
    """Customer lookups through the shared cache, bounded by a :class:`Deadline`.

    >>> fetcher = ProfileFetcher.from_settings(Settings.from_env())  # doctest: +SKIP
    >>> fetcher.profile("7781203344", deadline=Deadline(4.0), stats=FetchStats()).customer.full_name  # doctest: +SKIP
    """

    def __init__(self, client: OrdergrooveClient, cache: ResourceCache, *, timezone: ZoneInfo | None = None,
                 max_in_flight: int = 10, one_cpu: bool = True):
        self.client = client
        self.cache = cache
        self.timezone = timezone or getattr(client, "timezone", None) or ZoneInfo("UTC")
        self.max_in_flight = max(1, int(max_in_flight))
        self.pool_size = self.max_in_flight * CONCURRENT_LOOKUPS * 2
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()
        self.one_cpu = one_cpu  # hold the fetch threads to one CPU (app.ordergroove.affinity)
        #: the CPU this process's fetch threads run on (None: wherever the scheduler puts them)
        self.fetch_cpu: int | None = None
        self._parsed: BoundedMemo[tuple[str, str], tuple[Any, Any]] = BoundedMemo(PARSED_MEMO_SIZE)
        self._profiles: BoundedMemo[str, _RememberedProfile] = BoundedMemo(PROFILE_MEMO_SIZE)

    @classmethod
    def from_settings(cls, settings) -> "ProfileFetcher":
        return cls(OrdergrooveClient.from_settings(settings), ResourceCache.from_settings(settings),
                   timezone=settings.ordergroove_timezone, max_in_flight=settings.upstream_max_in_flight,
                   one_cpu=settings.fetch_one_cpu)

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
        self.cache.close()

    def executor(self) -> ThreadPoolExecutor:
        """This process's fetch threads, kept from one lookup to the next.

        A pool per lookup started a thread per piece, and each new thread opened its own SQLite
        connection to the disk cache on its first read: 1–3 ms per piece on the cold path, and
        churn that fragments the allocator. Threads start lazily (a warm process that never
        misses has none) and are re-made after a fork, whose child has none of the parent's. Each
        runs on the process's one fetch CPU (:mod:`app.ordergroove.affinity`), chosen here, after
        any fork, so workers spread over the cores.
        """
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self.fetch_cpu = cpu = choose_cpu(self.one_cpu)
                self._pool = ThreadPoolExecutor(max_workers=self.pool_size, thread_name_prefix="og-fetch",
                                                initializer=pin_current_thread, initargs=(cpu,))
                self._pool_pid = os.getpid()
            return self._pool

    def invalidate(self, customer_id: Any) -> int:
        """Drop every cached piece of this customer, the email searches that found them included
        (refresh, actions, webhooks); shared products stay. Returns how many entries went.

        This process also forgets the profile it remembers: the next lookup would otherwise read
        the generations on their own first (a Redis round trip) only to find them changed."""
        cid = str(customer_id).strip()
        gone = self.cache.invalidate_customer(cid)
        self._profiles.discard(cid)
        return gone

    def prestart(self, timeout_s: float = 5.0) -> int:
        """Start one cold lookup's worth of fetch threads now, each with its cache connection
        open, so a fresh worker's first cold lookups do not pay for them (gunicorn's
        post_worker_init): ``max_in_flight``, plus round one's three, whose threads may not be
        back in the pool yet when the next round's pieces are handed out. Returns how many."""
        pool = self.executor()
        count = min(self.pool_size, self.max_in_flight + 3)
        everyone = threading.Barrier(count + 1, timeout=timeout_s)

        def open_and_wait() -> None:
            self.cache.peek("customer", "__prestart__")  # opens this thread's store connection
            everyone.wait()  # hold the thread, so each task gets a thread of its own

        for _ in range(count):
            pool.submit(open_and_wait)
        try:
            everyone.wait()
        except threading.BrokenBarrierError:  # a slow store: the threads start anyway, later
            return 0
        return count

    # -- running pieces -----------------------------------------------------------------------

    def _run(self, jobs: list[_Job], deadline: Deadline, stats: FetchStats | None, *,
             stop_on_not_found: bool = False) -> list[CacheResult | OrdergrooveError]:
        """Each job's CacheResult or the OrdergrooveError it failed with, in job order.

        Fresh entries are read inline; misses run in a pool only when there are two or more.
        """
        results: list[CacheResult | OrdergrooveError | None] = [None] * len(jobs)
        misses: list[int] = []
        peeked = self.cache.peek_many([(job.kind, job.key) for job in jobs], stats=stats,
                                      stop_on_not_found=stop_on_not_found)
        for i, found in enumerate(peeked):
            if isinstance(found, NotFound):
                results[i] = found
                if stop_on_not_found:
                    return [r if r is not None else found for r in results]
                continue
            if found is None:
                misses.append(i)
            else:
                results[i] = found

        def call(job: _Job) -> CacheResult | OrdergrooveError:
            try:
                return self.cache.get_or_fetch(job.kind, job.key, job.fetch, deadline=deadline,
                                               customer_id=job.customer_id, stats=stats)
            except OrdergrooveError as exc:
                return exc

        if len(misses) == 1:
            results[misses[0]] = call(jobs[misses[0]])
        elif misses:
            pool = self.executor()
            for start in range(0, len(misses), self.max_in_flight):
                futures = [(i, pool.submit(call, jobs[i])) for i in misses[start:start + self.max_in_flight]]
                for i, future in futures:
                    results[i] = future.result()
        return results  # type: ignore[return-value]

    # -- public -------------------------------------------------------------------------------

    def customer(self, customer_id: Any, *, deadline: Deadline, stats: FetchStats | None = None) -> Customer | None:
        """The customer, or ``None`` when Ordergroove does not know the id."""
        cid = str(customer_id).strip() if customer_id is not None else ""
        if not cid:
            return None
        try:
            result = self.cache.get_or_fetch(
                "customer", cid, lambda: self.client.customer(cid, deadline=deadline, stats=stats),
                deadline=deadline, customer_id=cid, stats=stats)
        except NotFound:
            return None
        return self._parse_customer(result.value)

    def find_by_emails(self, emails: Iterable[str], *, deadline: Deadline,
                       stats: FetchStats | None = None) -> list[Customer]:
        """Customers whose email equals one of ``emails`` (case-insensitively): the union of
        every query of :func:`email_queries`, de-duplicated by id, in first-seen order.

        Each search is linked to the customers it found, so invalidating one of them (refresh,
        action, webhook) drops the search too: an email change must not keep the old answer.
        """
        queries = email_queries(emails)
        jobs = [
            _Job("search", query,
                 (lambda q=query: self.client.customers_by_email(q, deadline=deadline, stats=stats)), None)
            for query in queries
        ]
        found: dict[str, Customer] = {}
        for query, outcome in zip(queries, self._run(jobs, deadline, stats)):
            if isinstance(outcome, NotFound):
                continue
            if isinstance(outcome, OrdergrooveError):
                raise outcome
            records = outcome.value if isinstance(outcome.value, list) else [outcome.value]
            matches = []
            for raw in records:
                customer = self._parse_customer(raw)
                # Only exact (trimmed, case-insensitive) matches: should Ordergroove's filter be
                # looser than documented, or ignored for a key without bulk access, strangers'
                # profiles must not reach Gladly.
                if customer is not None and customer.email.strip().lower() == query.lower():
                    matches.append(customer)
                    found.setdefault(customer.merchant_user_id, customer)
            if not outcome.hit and not outcome.stale:
                self.cache.link("search", query, [c.merchant_user_id for c in matches])
        return list(found.values())

    def profile(self, customer_id: Any, *, deadline: Deadline, stats: FetchStats | None = None,
                later: WriteBehind | None = None) -> CustomerProfile | None:
        """Customer, subscriptions, next order dates and products; ``None`` for an unknown customer.

        Fetched by the two-round plan of :mod:`app.ordergroove.plan`. Raises an OrdergrooveError
        when the customer or the subscriptions cannot be had (not even stale). Upcoming orders,
        their lines and products are best effort: one that fails is left out and the profile is
        marked ``partial``. With ``later`` (the caller flushes it once it has answered), what was
        fetched is written to the cache after the answer rather than on its way. A profile whose
        every piece came fresh from the cache is reused while they stay fresh and none was
        dropped (see :class:`_RememberedProfile`).
        """
        cid = str(customer_id).strip() if customer_id is not None else ""
        if not cid:
            return None
        remembered = self._profiles.get(cid)
        generations = None  # read before the pieces, or with the first of them: see invalidate_customer
        if remembered is not None and self.cache.now() < remembered.fresh_until:
            generations = self.cache.generations(cid)
            if generations is not None and generations == remembered.generations:
                self.cache.count_hits(remembered.hits, stats)
                return remembered.profile
        plan = ProfilePlan(self, cid, deadline, stats, later,
                           read_along=() if generations is not None else self.cache.generation_keys(cid))
        profile = plan.run()
        seen = plan.freshness
        generations = generations if generations is not None else seen.generations
        if profile is not None and generations is not None and seen.complete and not profile.partial \
                and not profile.stale:
            self._profiles.put(cid, _RememberedProfile(profile, generations, seen.until, dict(seen.hits)))
        return profile

    # -- parsing (a bad record is skipped, never fatal) ----------------------------------------

    def _memo(self, kind: str, key: str, result: CacheResult, parse: Callable[[Any], Any]) -> Any:
        """Parse a cached answer once per process. Re-parsing the same JSON on every warm lookup
        was the largest cost of the warm path; comparing it with the JSON parsed last time is
        done in C and is far cheaper, and it can never hand out a parse of other data."""
        memo_key = (kind, key)
        remembered = self._parsed.get(memo_key)
        if remembered is not None and remembered[0] == result.value:
            return remembered[1]
        value = parse(result.value)
        self._parsed.put(memo_key, (result.value, value))
        return value

    def _parse_customer(self, raw: Any) -> Customer | None:
        if not isinstance(raw, dict):
            log.warning("Ordergroove customer record is not an object; skipped")
            return None
        try:
            return Customer.from_api(raw, self.timezone)
        except (ValueError, TypeError, AttributeError):
            log.warning("Ordergroove customer record without a usable merchant_user_id skipped (id=%s)",
                        raw.get("id"))
            return None

    def _parse_subscriptions(self, raw: Any) -> tuple[Subscription, ...]:
        parsed: dict[str, Subscription] = {}
        for sub in parse_records(raw, Subscription, self.timezone):
            parsed.setdefault(sub.public_id, sub)
        return tuple(parsed.values())

    def _parse_product(self, raw: Any, product_id: str) -> Product | None:
        if not isinstance(raw, dict):
            return None
        try:
            return Product.from_api(raw, self.timezone)
        except (ValueError, TypeError, AttributeError):
            log.warning("Ordergroove product record %s has no usable external_product_id; skipped", product_id)
            return None
