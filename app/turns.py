"""Turns: in a gunicorn worker, one request at a time runs Python, in the order requests came.

Warm lookups are CPU-bound, and a worker's threads share one GIL. With four threads running four
lookups at once, each took four lookups' time, and each time a thread came back from a system
call (a socket write, an SQLite step) it waited for the GIL behind the others, for up to the
interpreter's 5 ms switch interval: at 16 warm clients the slowest 1% took three to four times
the median. Taking turns, a lookup that has started runs to its end and the next one waits in
arrival order rather than in the GIL's lottery. At 16 warm clients on 2 cores (3 workers × 4
threads), four rounds run alternately against the code without turns had a p99 of 25.5–32.9 ms
against 32.5–39.6 (30.0 against 36.6 on average) at about the same throughput.

A turn is for running, never for waiting: a request gives its turn up while it waits on
something slow (Ordergroove, a lease held elsewhere, a retry's pause) and queues again after,
with :func:`off_turn`. And nothing waits for ever: a request waits for its turn at most
``patience_s`` and then runs anyway, as every request did before, so a wait this module does not
know about costs the others that much at most, never a deadlock. Such runs are counted
(``ogtk_turns_skipped_total``): a count that keeps growing names a wait to wrap.

Outside a gunicorn worker (tests, ``flask run``, the dashboard) nobody takes turns and
:func:`off_turn` does nothing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

#: How long a request waits for its turn before it runs anyway. Far above a warm lookup's few
#: milliseconds, so only a turn held through a wait nobody gave it up for runs out of patience.
PATIENCE_S = 0.1

_local = threading.local()  # .held: the Turns this thread holds a turn of, or None


class _Waiter:
    __slots__ = ("granted", "wake")

    def __init__(self) -> None:
        self.granted = False
        self.wake = threading.Lock()
        self.wake.acquire()  # released by the turn's holder when it hands the turn over


class Turns:
    """A first-come, first-served turn with bounded waiting (see the module docstring).

    >>> turns = Turns()
    >>> with turns.turn():
    ...     with off_turn():  # waiting on Ordergroove: the next request runs meanwhile
    ...         pass
    """

    def __init__(self, patience_s: float = PATIENCE_S):
        self.patience_s = patience_s
        self._lock = threading.Lock()
        self._busy = False
        self._queue: deque[_Waiter] = deque()

    def take(self) -> bool:
        """Wait for the turn (``True``), or ``patience_s`` at most and run without it (``False``)."""
        with self._lock:
            if not self._busy:
                self._busy = True
                return True
            waiter = _Waiter()
            self._queue.append(waiter)
        if waiter.wake.acquire(timeout=self.patience_s):
            return True
        with self._lock:
            if waiter.granted:  # handed over between the timeout and this lock: it is ours
                return True
            self._queue.remove(waiter)
        # imported here: gunicorn.conf.py imports this module (through app.serving) before it
        # sets PROMETHEUS_MULTIPROC_DIR, and app.metrics must not be imported before that
        from . import metrics

        metrics.TURNS_SKIPPED.inc()
        return False

    def give(self) -> None:
        """Hand the turn to the longest waiting request, or leave it free."""
        with self._lock:
            if self._queue:
                waiter = self._queue.popleft()
                waiter.granted = True
                waiter.wake.release()
            else:
                self._busy = False

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """Run the block on this thread's turn (yields whether it got one in time)."""
        held = self.take()
        _local.held = self if held else None
        try:
            yield held
        finally:
            mine = getattr(_local, "held", None)
            _local.held = None
            if mine is not None:
                mine.give()


@contextmanager
def off_turn() -> Iterator[None]:
    """Give up this thread's turn for the block (a wait), and queue for it again after."""
    turns = getattr(_local, "held", None)
    if turns is None:
        yield
        return
    _local.held = None
    turns.give()
    try:
        yield
    finally:
        if turns.take():
            _local.held = turns
