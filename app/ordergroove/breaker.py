"""A circuit breaker for Ordergroove: stop waiting on an upstream that is down.

When Ordergroove hangs, every lookup would otherwise hold a worker thread for its whole
deadline, and lookups queue behind each other until they miss Gladly's timeout. After
``threshold`` consecutive failures (timeouts, connection errors, 5xx) the breaker opens: calls
fail at once with ``Unavailable`` (so the cache answers stale, or the API a quick 503) for
``reset_after_s``; then one trial call is let through, and its success closes the breaker.
State is per process: each gunicorn worker learns on its own within a few calls.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


#: how many plain failures one timeout counts as
TIMEOUT_WEIGHT = 4


class CircuitBreaker:
    """Counts consecutive upstream failures and short-circuits calls while open.

    >>> breaker = CircuitBreaker(threshold=8, reset_after_s=5.0)
    >>> breaker.allow()  # before each request; then breaker.record(ok=...)
    True
    """

    def __init__(self, threshold: int = 8, reset_after_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.threshold = max(1, int(threshold))
        self.reset_after_s = float(reset_after_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: float | None = None
        self._trial_in_flight = False

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None

    def allow(self) -> bool:
        """True when a request may be sent now (closed, or the one trial of a half-open breaker)."""
        with self._lock:
            if self._open_until is None:
                return True
            if self._clock() < self._open_until or self._trial_in_flight:
                return False
            self._trial_in_flight = True
            return True

    def abandon(self) -> None:
        """An allowed request that says nothing about Ordergroove (cut short by our own deadline,
        or failed on our side): counts neither way, but frees the half-open trial slot."""
        with self._lock:
            self._trial_in_flight = False

    def record(self, *, ok: bool, timed_out: bool = False) -> None:
        """The outcome of a request that was allowed: ``ok`` means Ordergroove answered sanely.

        A timeout weighs ``TIMEOUT_WEIGHT`` failures: it held a worker thread for seconds where a
        5xx took milliseconds, so a hanging Ordergroove opens the breaker after two calls with no
        answer in between (eight with the default threshold for plain errors).
        """
        with self._lock:
            self._trial_in_flight = False
            if ok:
                self._failures = 0
                self._open_until = None
                return
            self._failures += TIMEOUT_WEIGHT if timed_out else 1
            if self._open_until is not None or self._failures >= self.threshold:
                self._open_until = self._clock() + self.reset_after_s
