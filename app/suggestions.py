"""Work done after a lookup's answer has gone out: the "likely linked to the wrong id" suggestion.

When a DETAILED lookup's ``externalCustomerId`` is unknown to Ordergroove, the emails Gladly sent
along are searched and the ids found stored on the event (CONTRACT section 5). The answer never
waits for it and never changes because of it: the lookup submits the search only once the
response is closed (sent), to a :class:`BackgroundQueue` of its process. The queue is bounded
and rate-limited, so a flood of misses costs Ordergroove at most ``rate_per_s`` searches per
worker; what does not fit is dropped and counted (``ogtk_suggestions_total{outcome="dropped"}``).

>>> queue = BackgroundQueue(maxsize=32, rate_per_s=1.0, burst=5)
>>> queue.submit(lambda: search_and_record(...))
True
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable

from . import metrics
from .deadline import Deadline
from .ordergroove.errors import OrdergrooveError

log = logging.getLogger("ogtk.suggestions")

#: at most this many of a request's emails are searched for one suggestion
MAX_EMAILS = 3
QUEUE_SIZE = 32
RATE_PER_S = 1.0
BURST = 5


class TokenBucket:
    """``rate_per_s`` on average, ``burst`` at once; :meth:`wait` sleeps until a token is free."""

    def __init__(self, rate_per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate, self.burst = float(rate_per_s), float(burst)
        self.clock, self.sleep = clock, sleep
        self.tokens, self.at = self.burst, clock()

    def wait(self) -> None:
        while True:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            self.sleep((1.0 - self.tokens) / self.rate)


class BackgroundQueue:
    """One worker thread, a bounded queue and a rate limit; full means the work is dropped.

    The thread starts with the first submit (so a forked gunicorn worker starts its own), and
    :meth:`close` stops it after the work already queued.
    """

    def __init__(self, *, maxsize: int = QUEUE_SIZE, rate_per_s: float = RATE_PER_S, burst: int = BURST,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 name: str = "ogtk-suggestions"):
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._bucket = TokenBucket(rate_per_s, burst, clock=clock, sleep=sleep)
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, work: Callable[[], None]) -> bool:
        """Queue ``work``; ``False`` (counted as dropped) when the queue is full or closed."""
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(work)
        except queue.Full:
            metrics.SUGGESTIONS.labels(outcome="dropped").inc()
            return False
        return True

    def pending(self) -> int:
        return self._queue.qsize()

    def join(self) -> None:
        """Wait until everything submitted so far has run (tests, shutdown)."""
        self._queue.join()

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            try:
                if work is None:
                    return
                self._bucket.wait()
                work()
            except Exception:  # background work must never kill the thread
                log.exception("background work failed")
            finally:
                self._queue.task_done()


def search_and_record(fetcher, events, uid: str, emails: tuple[str, ...], *, deadline_s: float,
                      unknown_id: str | None = None) -> str:
    """Search Ordergroove for ``emails`` and store the customer ids found on event ``uid``.

    Returns the outcome counted in ``ogtk_suggestions_total``: ``found``, ``none`` or ``failed``.
    Never logs an address.
    """
    try:
        customers = fetcher.find_by_emails(emails[:MAX_EMAILS], deadline=Deadline(deadline_s))
    except OrdergrooveError as exc:
        log.info("suggestion search for event %s failed: %s", uid, type(exc).__name__)
        outcome = "failed"
    else:
        ids = [c.merchant_user_id for c in customers if c.merchant_user_id != unknown_id]
        outcome = "found" if ids and events.record_suggestion(uid, ids) else "none"
    metrics.SUGGESTIONS.labels(outcome=outcome).inc()
    return outcome
