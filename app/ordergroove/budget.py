"""An Ordergroove request budget shared by every worker process of one instance.

Ordergroove allows 6,000 requests per minute per IP (100/s) and answers 429 beyond. Every
gunicorn worker, the dashboard and the CLI of one host share that IP, so the budget is kept in one
small file that every process updates under an exclusive ``flock``: a generic cell rate algorithm
(GCRA) whose whole state is the "theoretical arrival time" of the next request, plus a slow-down
factor. A request that finds no slot waits for one, but only within its lookup's deadline (then it
fails as a deadline cut, which the breaker does not count). A 429 halves the rate for
``SLOW_S`` seconds (a further 429 restarts that period), since Ordergroove has told us the IP is
over its limit whatever our own count says.

The default, ``OGTK_UPSTREAM_RATE_PER_S=80``, stays 20% under Ordergroove's 100/s so that other
tools of the merchant behind the same egress IP and retries never push the instance into 429s.
The limit is counted per minute, so one second's worth (``burst``, default the rate) may go at
once: a burst of cold lookups is not spaced out, and any minute still stays under 6,000
(80 + 60 x 80 = 4,880). ``time.monotonic`` is one system-wide clock on Linux, so processes agree on it.
The file lives in memory-backed storage beside the metrics files (``Settings.upstream_budget_path``);
when it cannot be used, each process keeps the budget on its own and says so once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import time
from pathlib import Path
from typing import Callable

from ..deadline import Deadline
from .errors import Unavailable

log = logging.getLogger(__name__)

#: a 429 halves the budget for this long
SLOW_S = 10.0
_STATE = struct.Struct("<ddd")  # next arrival time, rate factor, slowed until


class RequestBudget:
    """At most ``rate_per_s`` requests per second across every process sharing ``path``.

    >>> budget = RequestBudget(80, path="/dev/shm/ogtk-budget")  # doctest: +SKIP
    >>> budget.acquire(Deadline(4))  # doctest: +SKIP
    0.0
    """

    def __init__(self, rate_per_s: float, *, path: str | os.PathLike | None = None, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.rate_per_s = float(rate_per_s)
        self.burst = max(1, int(self.rate_per_s if burst is None else burst))
        self.path = Path(path) if path is not None else None
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._local = (0.0, 1.0, 0.0)
        self._fd: int | None = None
        self._warned = False
        if self.path is not None:
            try:
                self._fd = self._open(self.path)
            except OSError as exc:
                self._local_only(exc)

    @staticmethod
    def _open(path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_size < _STATE.size:  # written out in full once: later writes need no new block
                os.pwrite(fd, _STATE.pack(0.0, 1.0, 0.0), 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return fd

    def _local_only(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            log.warning("request budget file %s unusable (%s); each process keeps its own budget", self.path, exc)
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None

    def _update(self, change: Callable[[tuple[float, float, float], float], tuple[tuple[float, float, float], float]]
                ) -> float:
        """Apply ``change(state, now) -> (new state, result)`` atomically across processes."""
        with self._lock:
            now = self._clock()
            if self._fd is not None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
                    try:
                        state = _STATE.unpack(os.pread(self._fd, _STATE.size, 0))
                        new, result = change(state, now)
                        os.pwrite(self._fd, _STATE.pack(*new), 0)
                        return result
                    finally:
                        fcntl.flock(self._fd, fcntl.LOCK_UN)
                except (OSError, struct.error) as exc:
                    self._local_only(exc)
            self._local, result = change(self._local, now)
            return result

    def _interval(self, factor: float, slowed_until: float, now: float) -> tuple[float, float]:
        if now >= slowed_until:
            factor = 1.0
        return 1.0 / (self.rate_per_s * factor), factor

    def acquire(self, deadline: Deadline, *, endpoint: str | None = None) -> float:
        """Take the next slot, waiting for it inside ``deadline``; returns the seconds waited.

        Raises :class:`Unavailable` (a deadline cut) without taking a slot when the wait would
        not leave time for the request itself.
        """
        if self.rate_per_s <= 0:
            return 0.0
        margin = min(0.05, deadline.remaining() / 2)

        def reserve(state, now):
            tat, factor, slowed_until = state
            interval, factor = self._interval(factor, slowed_until, now)
            tat = max(tat, now)
            send_at = max(now, tat - (self.burst - 1) * interval)
            wait = send_at - now
            if wait > deadline.remaining() - margin:
                return state, -1.0
            return (tat + interval, factor, slowed_until), wait

        wait = self._update(reserve)
        if wait < 0:
            raise Unavailable("Ordergroove request budget has no slot before the deadline", endpoint=endpoint,
                              deadline_cut=True)
        if wait > 0:
            self._sleep(wait)
        return wait

    def slow_down(self) -> None:
        """Ordergroove answered 429: half the rate for the next ``SLOW_S`` seconds."""
        def halve(state, now):
            tat, _, _ = state
            return (max(tat, now), 0.5, now + SLOW_S), 0.0

        self._update(halve)
        log.info("Ordergroove answered 429: request budget slowed for %.0f s", SLOW_S)

    def current_rate(self) -> float:
        """Requests per second allowed right now (after any 429 slow-down)."""
        return self._update(lambda state, now: (state, self.rate_per_s * self._interval(state[1], state[2], now)[1]))

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
