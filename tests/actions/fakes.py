"""Stand-ins for the ActionService's collaborators: a scripted Ordergroove, a fetcher, an event list.

The lock store is never faked: tests use a real ``diskcache.Cache`` (the same primitive the
shared ResourceCache is built on), so the cross-thread and cross-process behaviour is the real one.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from app.actions import ActionService
from app.ordergroove.models import Product
from app.ordergroove.writes import WriteAnswer
from app.settings import DEFAULT_CANCEL_REASONS

SID = "0767811a8025176986607ad9e36fd616"
OID = "b5384130608aff9075a80fee319ab115"
CUSTOMER = "7781203344"
PRODUCT = "40212877221943"
PRODUCT_NAME = "Cold Brew Concentrate 32 oz"


def live_subscription(live: Any = True, **extra) -> dict:
    return {"public_id": SID, "customer": CUSTOMER, "product": PRODUCT, "live": live, **extra}


def upcoming_order(status: int = 1, place: str = "2025-03-28 00:00:00") -> dict:
    return {"public_id": OID, "customer": CUSTOMER, "status": status, "place": place}


class ScriptedWrites:
    """Ordergroove as a script: each write pops its next answer (a WriteAnswer, or an exception).

    ``subscription`` (and ``order``) are what reads return; a list is consumed one read at a time
    (the last value repeats). ``holds`` answers the skip read-back the same way. ``gate``, when
    set, holds every write until it is set (to line up concurrent submits).
    """

    def __init__(self, writes=(), subscription: Any = None, order: Any = None, holds: Any = True):
        self.answers = deque(writes)
        self._reads = {"subscription": self._queue(live_subscription() if subscription is None else subscription),
                       "order": self._queue(upcoming_order() if order is None else order),
                       "holds": self._queue(holds)}
        self.calls: list[tuple] = []
        self.lock = threading.Lock()
        self.gate: threading.Event | None = None
        self.writing = threading.Event()

    @staticmethod
    def _queue(value: Any) -> deque:
        return deque(value if isinstance(value, list) else [value])

    def _read(self, name: str) -> Any:
        with self.lock:
            queue = self._reads[name]
            value = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(value, Exception):
            raise value
        return value

    @property
    def patches(self) -> list[tuple]:
        return [c for c in self.calls if c[0] in ("cancel", "skip")]

    def _write(self, call: tuple) -> WriteAnswer:
        with self.lock:
            self.calls.append(call)
            answer = self.answers.popleft() if self.answers else WriteAnswer(200, {"public_id": SID})
        self.writing.set()
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        if isinstance(answer, Exception):
            raise answer
        return answer

    def cancel_subscription(self, subscription_id, cancel_reason, *, deadline, stats=None):
        return self._write(("cancel", subscription_id, cancel_reason))

    def skip_subscription(self, order_id, subscription_id, *, deadline, stats=None):
        return self._write(("skip", order_id, subscription_id))

    def read_subscription(self, subscription_id, *, deadline, stats=None):
        self.calls.append(("read_subscription", subscription_id))
        return self._read("subscription")

    def read_order(self, order_id, *, deadline, stats=None):
        self.calls.append(("read_order", order_id))
        return self._read("order")

    def order_holds_subscription(self, order_id, subscription_id, *, deadline, stats=None):
        self.calls.append(("order_holds_subscription", order_id, subscription_id))
        return self._read("holds")


@dataclass
class FakeProfile:
    products: dict


class FakeFetcher:
    def __init__(self):
        self.invalidated: list[str] = []

    def invalidate(self, customer_id):
        self.invalidated.append(customer_id)
        return 1

    def profile(self, customer_id, *, deadline, stats=None, later=None):  # ProfileFetcher.profile's signature
        return FakeProfile({PRODUCT: Product(PRODUCT, name=PRODUCT_NAME)})


@dataclass
class EventList:
    actions: list = field(default_factory=list)

    def record_action(self, event) -> bool:
        self.actions.append(event)
        return True


def timeout() -> WriteAnswer:
    """What ``OrdergrooveWrites`` hands back when the PATCH got no answer in time."""
    return WriteAnswer(None, None, timed_out=True)


def make_service(writes: ScriptedWrites, locks, *, enabled=("cancel", "skip"), fetcher=None, events=None,
                 sleep=None) -> ActionService:
    return ActionService(enabled=enabled, cancel_reasons=DEFAULT_CANCEL_REASONS, timezone=ZoneInfo("UTC"),
                         writes=writes, fetcher=fetcher or FakeFetcher(), locks=locks,
                         events=events if events is not None else EventList(),
                         sleep=sleep or (lambda s: None))
