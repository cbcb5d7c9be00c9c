"""The fetch plan of one customer profile: every piece starts as soon as what it needs is known.

Round one needs only the customer id: the customer ∥ their subscriptions ∥ their upcoming orders
(``/orders/?customer=&status=1``). Round two needs round one's answers: the lines of each upcoming
order (``/items/?order=``, the only link from an order to its subscriptions) ∥ every distinct
product in one batch (``/products/?external_product_ids[]=…`` with both flags, so discontinued
and non-autoship products are not silently dropped). Only ids the batch did not return are
retrieved one by one; a customer with more than one page of subscriptions takes a third round
(their products wait for the last page). That is ``3 + upcoming orders + 1`` requests cold.

Every piece is cached on its own with its own freshness. Fresh pieces are used inline without a
thread; misses run on the fetcher's threads, at most ``max_in_flight`` at once per profile, so a
warm profile makes no request and hands nothing to a thread, and a partly warm one asks only for
what is missing. The misses of one read take their stampede leases in one store call before
any is sent, not one write each (about 8% less CPU per cold lookup), and that call reads them
once more (another fetch may have finished just before): a read of its own in each fetch thread
cost every cold piece a Redis round trip before its request could leave (catalogue cached on
Redis, 2.108 → 2.095 round trips). Given the lookup's ``WriteBehind``, fetched pieces are
written only after the answer is sent: written as they arrived, they took the GIL from the
requests still going out (2–4 ms of a cold lookup's path).

Over its two round trips a cold lookup spends 6–7 ms more (of 112 on 2 cores, bench
customer), mostly on the GIL handed between the round's threads: across cores each request of
round two left about 0.7 ms after the one before, so the fetch threads share one CPU
(:mod:`app.ordergroove.affinity`), about 2 ms less. Holding the whole process to one core with
the sandbox on the other took it to 2.07 round trips; pinning gunicorn's workers whole took
warm throughput up 7% but made the warm tail longer (p99 up to 27 ms against 18–19, one
maximum of 141 ms), so only the fetch threads are held.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator

from ..deadline import Deadline
from ..turns import off_turn
from .cache import CacheResult, Freshness
from .errors import NotFound, OrdergrooveError
from .models import CustomerProfile, Item, Order, Product, Subscription, parse_records
from .parsing import parse_id

log = logging.getLogger(__name__)

Outcome = Any  # CacheResult | OrdergrooveError | None, as the piece's callback receives it


class Pieces:
    """A small scheduler: cache hits answered inline, misses on shared threads, a few at a time.

    Callbacks always run on the caller's thread (inside :meth:`get`/:meth:`call` for hits, in
    :meth:`run` for fetched pieces), so they may schedule further pieces without locks. At most
    ``max_in_flight`` pieces run at once; the others wait here, not in the shared pool, so one
    profile with many pieces never takes every thread of the process.

    >>> pieces = Pieces(cache, executor, max_in_flight=10, deadline=Deadline(4), stats=None)  # doctest: +SKIP
    >>> pieces.get("customer", "42", fetch, "42", then=print); pieces.run()  # doctest: +SKIP
    """

    def __init__(self, cache, executor: Callable[[], Executor], *, max_in_flight: int, deadline: Deadline,
                 stats: Any, later: Any = None, freshness: Freshness | None = None):
        self.cache = cache
        self.freshness = freshness  # notes what the reads found (see ResourceCache.peek_many)
        self._executor = executor
        self.max_in_flight = max_in_flight
        self.deadline = deadline
        self.stats = stats
        self.later = later  # the lookup's WriteBehind, or None: fetched pieces are written at once
        self._pending: dict[Future, Callable[[Outcome], None]] = {}
        self._gathering: list[tuple[list[tuple[str, str]], Callable[[list], None]]] | None = None
        self._waiting: deque[tuple[Callable[[], Outcome], Callable[[Outcome], None], Any]] = deque()
        self._leases: dict[Future, tuple[str, str, str]] = {}  # leases the pending work will release
        self.stopped = False

    def get(self, kind: str, key: str, fetch: Callable[[], Any], customer_id: str | None,
            then: Callable[[Outcome], None]) -> None:
        """``then(CacheResult | OrdergrooveError)`` for one cached piece, fetched when not fresh."""
        self.get_all([(kind, key, fetch, customer_id, then)])

    def get_all(self, pieces: list[tuple[str, str, Callable[[], Any], str | None, Callable[[Outcome], None]]]) -> None:
        """:meth:`get` of several pieces, their cache entries read in one store call."""
        def dispatch(peeked: list) -> None:
            missing = []
            for piece, found in zip(pieces, peeked):
                if found is not None:  # fresh, or a remembered 404
                    piece[4](found)
                else:
                    missing.append(piece)
            if not missing or self.stopped:
                return
            # every lease of the round in one store call, before the first request goes out, with
            # the read that tells whether another fetch finished before them
            leases = self.cache.lease_many([(kind, key) for kind, key, *_ in missing], deadline=self.deadline)
            for (kind, key, fetch, customer_id, then), (token, entry) in zip(missing, leases):
                self.call(lambda k=kind, y=key, f=fetch, c=customer_id, t=token, e=entry: self.cache.get_or_fetch(
                    k, y, f, deadline=self.deadline, customer_id=c, stats=self.stats, lease=t, leased_entry=e,
                    later=self.later),
                    then,
                    lease=None if token is None else (kind, key, token))

        self.peek([(kind, key) for kind, key, *_ in pieces], dispatch)

    def peek(self, keys: list[tuple[str, str]], then: Callable[[list], None]) -> None:
        """``then(fresh entries or None, in order)`` for ``keys``. Reads asked for by the
        callbacks of a read (round two, found while handing out round one's cache hits), or by
        the callbacks of pieces that finished together (:meth:`run`), are gathered into one
        store call: a warm profile is two reads, one per round (two MGETs on Redis, not one per
        kind of piece), and a cold one's subscriptions and orders, back together, ask for their
        products and order lines in one."""
        with self._gathered():
            self._gathering.append((keys, then))

    @contextmanager
    def _gathered(self) -> Iterator[None]:
        """Reads asked for inside are made together on the way out (nested: by the outermost)."""
        if self._gathering is not None:
            yield
            return
        self._gathering = []
        try:
            yield
            while self._gathering:
                reads, self._gathering = self._gathering, []
                found = self.cache.peek_many([key for keys_, _ in reads for key in keys_], stats=self.stats,
                                             freshness=self.freshness)
                at = 0
                for keys_, handle in reads:  # may ask for more reads: gathered for the next pass
                    handle(found[at:at + len(keys_)])
                    at += len(keys_)
        finally:
            self._gathering = None

    def call(self, work: Callable[[], Outcome], then: Callable[[Outcome], None],
             lease: tuple[str, str, str] | None = None) -> None:
        """Run ``work`` in the pool; an OrdergrooveError it raises is handed to ``then``.
        ``lease`` (kind, key, token) is the lease ``work`` releases, given back here when the
        work never runs (stopped, or dropped by :meth:`close`)."""
        if self.stopped:
            self._give_back(lease)
            return
        if len(self._pending) >= self.max_in_flight:
            self._waiting.append((work, then, lease))
            return

        def guarded() -> Outcome:
            try:
                return work()
            except OrdergrooveError as exc:
                return exc

        future = self._executor().submit(guarded)
        self._pending[future] = then
        if lease is not None:
            self._leases[future] = lease

    def run(self) -> None:
        """Hand each finished piece to its callback until nothing is pending (or :meth:`stop`)."""
        while self._pending and not self.stopped:
            with off_turn():  # waiting on Ordergroove: the worker's next request runs meanwhile
                done, _ = wait(list(self._pending), return_when=FIRST_COMPLETED)
            finished = [(self._pending.pop(future), future) for future in done]
            for future in done:
                self._leases.pop(future, None)
            while self._waiting and len(self._pending) < self.max_in_flight:  # refill before callbacks
                self.call(*self._waiting.popleft())
            with self._gathered():
                for then, future in finished:
                    if not self.stopped:
                        then(future.result())

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        """Leave without waiting: pieces not started are dropped; one still running after a stop
        finishes on its own, inside its deadline, and only fills the cache."""
        waiting, self._waiting = self._waiting, deque()
        for _, _, lease in waiting:
            self._give_back(lease)
        for future in self._pending:
            if future.cancel():
                self._give_back(self._leases.pop(future, None))

    def _give_back(self, lease: tuple[str, str, str] | None) -> None:
        if lease is not None:
            self.cache.release_lease(*lease)


class ProfilePlan:
    """Assembles one :class:`CustomerProfile` from its pieces (see the module docstring).

    ``fetcher`` is the :class:`~app.ordergroove.fetcher.ProfileFetcher` (client, cache, parsers;
    not imported here, which would make the two modules import each other), ``stats`` its
    ``FetchStats`` or ``None``.

    >>> ProfilePlan(fetcher, "7781203344", Deadline(4), FetchStats()).run()  # doctest: +SKIP
    """

    def __init__(self, fetcher: Any, customer_id: str, deadline: Deadline, stats: Any, later: Any = None,
                 read_along: Any = ()):
        self.fetcher = fetcher
        #: complete when every piece came fresh from the cache; ``read_along``: store keys read
        #: with round one's pieces (the generations, see ProfileFetcher.profile)
        self.freshness = Freshness(read_along)
        self.client = fetcher.client
        self.cid = customer_id
        self.deadline = deadline
        self.stats = stats
        self.pieces = Pieces(fetcher.cache, fetcher.executor, max_in_flight=fetcher.max_in_flight,
                             deadline=deadline, stats=stats, later=later, freshness=self.freshness)
        self.used: list[CacheResult] = []
        self.failure: OrdergrooveError | None = None
        self.unknown = False
        self.partial = False
        self.customer = None
        self.subscriptions: tuple[Subscription, ...] | None = None
        self.orders: dict[str, Order] = {}
        self.order_subscriptions: dict[str, tuple[str, ...]] = {}
        self.products: dict[str, Product] = {}

    def run(self) -> CustomerProfile | None:
        cid, client, deadline, stats = self.cid, self.client, self.deadline, self.stats
        pieces = self.pieces
        try:
            pieces.get_all([
                ("customer", cid, lambda: client.customer(cid, deadline=deadline, stats=stats), cid,
                 self._on_customer),
                ("subscriptions", cid, lambda: client.subscriptions(cid, deadline=deadline, stats=stats), cid,
                 self._on_subscriptions),
                ("orders", cid, lambda: client.customer_upcoming_orders(cid, deadline=deadline, stats=stats), cid,
                 self._on_orders),
            ])
            pieces.run()
        finally:
            pieces.close()
        if self.unknown:
            return None
        if self.failure is not None:
            raise self.failure
        assert self.customer is not None and self.subscriptions is not None
        return self._profile()

    # -- round one ------------------------------------------------------------------------------

    def _fatal(self, outcome: OrdergrooveError, *, unknown: bool = False) -> None:
        self.unknown = self.unknown or unknown
        if not unknown and self.failure is None:
            self.failure = outcome
        self.pieces.stop()

    def _on_customer(self, outcome: Outcome) -> None:
        if isinstance(outcome, OrdergrooveError):
            self._fatal(outcome, unknown=isinstance(outcome, NotFound))
            return
        self.customer = self.fetcher._memo("customer", self.cid, outcome, self.fetcher._parse_customer)
        if self.customer is None:
            self._fatal(NotFound("customer record unusable"), unknown=True)
            return
        self.used.append(outcome)

    def _on_subscriptions(self, outcome: Outcome) -> None:
        if isinstance(outcome, NotFound):
            self.subscriptions = ()
            return
        if isinstance(outcome, OrdergrooveError):
            self._fatal(outcome)
            return
        self.used.append(outcome)
        self.subscriptions = self.fetcher._memo("subscriptions", self.cid, outcome,
                                                self.fetcher._parse_subscriptions)
        product_ids = list(dict.fromkeys(s.product for s in self.subscriptions if s.product))
        self._fetch_products(product_ids)

    def _on_orders(self, outcome: Outcome) -> None:
        if isinstance(outcome, OrdergrooveError):
            self._left_out("upcoming orders", self.cid, outcome)
            return
        self.used.append(outcome)
        orders = self.fetcher._memo("orders", self.cid, outcome, self._parse_orders)
        self.orders.update((order.public_id, order) for order in orders)
        self.pieces.get_all([
            ("items", oid, lambda o=oid: self.client.order_items(o, deadline=self.deadline, stats=self.stats),
             self.cid, lambda result, o=oid: self._on_items(o, result))
            for oid in dict.fromkeys(order.public_id for order in orders)
        ])

    # -- round two ------------------------------------------------------------------------------

    def _on_items(self, order_id: str, outcome: Outcome) -> None:
        if isinstance(outcome, OrdergrooveError):
            if not isinstance(outcome, NotFound):  # an order gone since the list: no date from it
                self._left_out("order lines", order_id, outcome)
            return
        self.used.append(outcome)
        self.order_subscriptions[order_id] = self.fetcher._memo("items", order_id, outcome,
                                                                 self._subscriptions_of_items)

    def _fetch_products(self, product_ids: list[str]) -> None:
        def dispatch(peeked: list) -> None:
            wanted: list[str] = []
            for pid, found in zip(product_ids, peeked):
                if found is None:
                    wanted.append(pid)
                else:  # fresh, or a remembered 404 (left out, not partial)
                    self._on_product(pid, found)
            size = self.client.page_size
            for start in range(0, len(wanted), size):
                chunk = wanted[start:start + size]
                self.pieces.call(lambda c=chunk: self._product_batch(c),
                                 lambda results, c=chunk: self._on_batch(c, results))

        self.pieces.peek([("product", pid) for pid in product_ids], dispatch)

    def _product_batch(self, ids: list[str]) -> dict[str, Outcome]:
        return self.fetcher.cache.get_many(
            "product", ids, lambda missing: self.client.products_batch(missing, deadline=self.deadline,
                                                                       stats=self.stats),
            id_of=lambda raw: parse_id(raw.get("external_product_id")) if isinstance(raw, dict) else None,
            deadline=self.deadline, stats=self.stats, later=self.pieces.later)

    def _on_batch(self, ids: list[str], results: Any) -> None:
        if isinstance(results, OrdergrooveError):
            results = {pid: results for pid in ids}
        for pid in ids:
            outcome = results.get(pid)
            if outcome is None:  # not in the batch answer: ask for it by id (any state, or a 404)
                self.pieces.get("product", pid,
                                lambda p=pid: self.client.product(p, deadline=self.deadline, stats=self.stats),
                                None, lambda result, p=pid: self._on_product(p, result))
            else:
                self._on_product(pid, outcome)

    def _on_product(self, product_id: str, outcome: Outcome) -> None:
        if isinstance(outcome, OrdergrooveError):
            if not isinstance(outcome, NotFound):
                self._left_out("product", product_id, outcome)
            return
        self.used.append(outcome)
        product = self.fetcher._memo("product", product_id, outcome,
                                     lambda raw: self.fetcher._parse_product(raw, product_id))
        if product is not None:
            self.products[product_id] = product

    def _left_out(self, what: str, key: str, error: OrdergrooveError) -> None:
        self.partial = True
        log.warning("Ordergroove %s %s unavailable for the profile (%s); left out", what, key, type(error).__name__)

    # -- assembling -----------------------------------------------------------------------------

    def _profile(self) -> CustomerProfile:
        live = {s.public_id for s in self.subscriptions if s.live}
        next_orders: dict[str, datetime] = {}
        next_order_ids: dict[str, str] = {}
        for oid, subscription_ids in self.order_subscriptions.items():
            order = self.orders[oid]
            for sid in subscription_ids:
                if sid in live and (sid not in next_orders or order.place < next_orders[sid]):
                    next_orders[sid], next_order_ids[sid] = order.place, oid
        return CustomerProfile(
            customer=self.customer,
            subscriptions=self.subscriptions,
            next_orders=next_orders,
            products=self.products,
            fetched_at=min(r.fetched_at for r in self.used),
            stale=any(r.stale for r in self.used),
            next_order_ids=next_order_ids,
            partial=self.partial,
        )

    def _parse_orders(self, raw: Any) -> tuple[Order, ...]:
        """Upcoming orders with a place date."""
        return tuple(o for o in parse_records(raw, Order, self.fetcher.timezone)
                     if o.status in (None, Order.UNSENT) and o.place is not None)

    def _subscriptions_of_items(self, raw: Any) -> tuple[str, ...]:
        """The subscriptions an order's lines belong to (one-time add-ons have none)."""
        items = parse_records(raw, Item, self.fetcher.timezone)
        return tuple(dict.fromkeys(i.subscription for i in items if i.subscription))
