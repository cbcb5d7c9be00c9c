"""Event writes off the request path: a bounded in-process queue drained by one background thread.

``submit`` never waits on the database: it appends to the queue and returns. The writer thread
takes what is queued, up to ``batch_size`` at a time, and hands it to ``write`` as one
transaction, so a burst of lookups costs one round trip per batch instead of one each. Once
something is queued the writer lingers up to ``linger_s`` before it writes, unless a batch is
full, the queue is full, or a ``flush`` or ``close`` is waiting: under steady load each worker's
writer otherwise took one or two events per transaction, and PostgreSQL spends far more CPU per
transaction than per row.

A full queue (``max_queue``) in front of a **healthy** writer (its last write succeeded and the
one in progress, if any, started less than ``healthy_write_s`` ago) slows the submitter instead:
it waits up to ``max_wait_s`` for room, which a flood of writers needs so as not to lose events
the database could take. In front of a writer that is failing (or stuck in one write), a full
queue counts the event lost at once, and a submitter already waiting stops as soon as the write
in progress fails: a lookup never waits on a database known to be down. While the
database is unreachable the batch waits in the queue (retried with a growing pause) as far as
there is room, and whatever does not fit is counted lost: the queue never grows past
``max_queue``. ``close`` writes what is queued before it returns (bounded by
``close_timeout_s``), so a clean stop loses nothing.

Idempotency: a batch is one transaction, so it is stored whole or not at all, and it is tried
again only after a connection-level failure (``RetryLater``), when it did not commit. The one
exception is a connection lost during the COMMIT itself: the batch may have committed, so the
store's ``write`` skips the lookup events already stored (by their ``uid``; an action or webhook
event could then be doubled). Any other failure (a row the database refuses) counts the batch lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """Raised by ``write`` when the batch was not written and may be tried again (server down)."""


class WriteBatcher:
    """``batcher.submit(("lookup", row))`` from any thread; ``batcher.close()`` at shutdown.

    >>> batcher = WriteBatcher(store.write_batch, on_lost=store.count_lost).start()
    >>> batcher.submit(("lookup", row)); batcher.flush(timeout_s=5)
    True
    """

    def __init__(self, write: Callable[[Sequence], None], *, on_lost: Callable[[Sequence, str], None],
                 max_queue: int = 10_000, batch_size: int = 200, retry_pause_s: float = 0.25,
                 max_retry_pause_s: float = 5.0, close_timeout_s: float = 10.0,
                 max_wait_s: float = 0.25, healthy_write_s: float = 2.0, linger_s: float = 0.0,
                 name: str = "ogtk-events-writer") -> None:
        self.write, self.on_lost = write, on_lost
        self.max_queue, self.batch_size = int(max_queue), int(batch_size)
        self.retry_pause_s, self.max_retry_pause_s = retry_pause_s, max_retry_pause_s
        self.close_timeout_s = close_timeout_s
        self.max_wait_s, self.healthy_write_s = max_wait_s, healthy_write_s
        self.linger_s = max(0.0, float(linger_s))
        self.name = name
        self._queue: deque = deque()
        self._waiting: deque = deque()  # submitters waiting for room, first come first served
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # an item queued, or one finished
        self._room = threading.Condition(lock)  # room in the queue, or the writer failing
        self._submitted = 0  # sequence numbers: flush() waits until _finished catches up
        self._finished = 0
        self._closing = False
        self._flushing = 0  # flush() calls waiting: the writer stops lingering for them
        self._pause = threading.Event()  # set by close(): cut short a retry pause
        self.failing_since: float | None = None  # monotonic time of the first failure in a row
        self._writing_since: float | None = None  # monotonic start of the write in progress
        self._last_write_failed = False
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "WriteBatcher":
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def depth(self) -> int:
        return len(self._queue)

    @property
    def healthy(self) -> bool:
        """The last write succeeded and the one in progress (if any) is not stuck."""
        started = self._writing_since
        return not self._last_write_failed and (
            started is None or time.monotonic() - started < self.healthy_write_s)

    def submit(self, item) -> bool:
        """Queue one item; ``False`` (and counted lost) when the queue is full (after waiting up to
        ``max_wait_s`` for room while the writer is healthy, at once otherwise) or closed."""
        with self._cond:
            if (len(self._queue) >= self.max_queue or self._waiting) and not self._closing:
                self._wait_for_room()
            if self._closing or len(self._queue) >= self.max_queue:
                reason = "closed" if self._closing else "queue_full"
                lost = True
            else:
                self._queue.append(item)
                self._submitted += 1
                if len(self._queue) == 1 or len(self._queue) >= min(self.batch_size, self.max_queue):
                    self._cond.notify_all()  # the writer waits for the first item, then for a batch
                lost = False
        if lost:
            self._lost([item], reason)
        return not lost

    def _wait_for_room(self) -> None:
        """Wait (holding the queue's lock) while the queue is full and the writer healthy, in
        line: the first to wait gets the first room (or a waiter could lose every race for a
        freed slot to threads that came later, and time out although the writer keeps up)."""
        deadline = time.monotonic() + self.max_wait_s
        turn = object()
        self._waiting.append(turn)
        self._cond.notify_all()  # a lingering writer writes now
        try:
            while ((len(self._queue) >= self.max_queue or self._waiting[0] is not turn)
                   and not self._closing and self.healthy):
                left = deadline - time.monotonic()
                if self._writing_since is not None:  # wake when the write in progress turns stuck
                    left = min(left, self._writing_since + self.healthy_write_s - time.monotonic())
                if left <= 0:
                    return
                self._room.wait(left)
        finally:
            self._waiting.remove(turn)
            self._room.notify_all()  # the next in line

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything submitted so far was written (or lost); True when it was."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            target = self._submitted
            self._flushing += 1
            self._cond.notify_all()  # a lingering writer writes now
            try:
                while self._finished < target:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self.alive:
                        return False
                    self._cond.wait(left)
            finally:
                self._flushing -= 1
        return True

    def close(self) -> None:
        """Write what is queued (within ``close_timeout_s``), then stop; the rest is counted lost."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            self._room.notify_all()
        self._pause.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.close_timeout_s)
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
            self._finished += len(left)
            self._cond.notify_all()
        if left:
            self._lost(left, "shutdown")

    def _lost(self, items: Sequence, reason: str) -> None:
        try:
            self.on_lost(items, reason)
        except Exception:  # pragma: no cover - counting must never break recording
            log.exception("could not count lost events")

    def _take(self) -> list | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return None  # closing and drained
            until = time.monotonic() + self.linger_s
            while (len(self._queue) < min(self.batch_size, self.max_queue)
                   and not (self._closing or self._flushing or self._waiting)):
                left = until - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            self._room.notify_all()
            self._writing_since = time.monotonic()
            return [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]

    def _done(self, count: int) -> None:
        with self._cond:
            self._finished += count
            self._cond.notify_all()

    def _run(self) -> None:
        pause = self.retry_pause_s
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self.write(batch)
            except RetryLater as exc:
                self._failed(exc, waits=True)
                if self._closing:  # one last try failed: do not hold the shutdown any longer
                    self._done(len(batch))
                    self._lost(batch, "unavailable")
                    continue
                with self._cond:  # back to the front, as far as the bound allows
                    room = max(0, self.max_queue - len(self._queue))
                    keep, drop = batch[:room], batch[room:]
                    self._queue.extendleft(reversed(keep))
                self._done(len(drop))
                if drop:
                    self._lost(drop, "unavailable")
                self._pause.wait(pause)
                pause = min(pause * 2, self.max_retry_pause_s)
                continue
            except Exception as exc:  # not the server's state: this batch cannot be written
                self._failed(exc, waits=False)
                self._done(len(batch))
                self._lost(batch, "write_failed")
                continue
            if self.failing_since is not None:
                log.warning("event database reachable again after %.1fs", time.monotonic() - self.failing_since)
            with self._cond:
                self.failing_since, self.last_error = None, None
                self._writing_since, self._last_write_failed = None, False
            pause = self.retry_pause_s
            self._done(len(batch))

    def _failed(self, exc: Exception, *, waits: bool) -> None:
        with self._cond:  # submitters waiting for room stop waiting: the writer is not healthy
            self._writing_since, self._last_write_failed = None, True
            first = waits and self.failing_since is None
            if first:
                self.failing_since = time.monotonic()
            self.last_error = f"{type(exc).__name__}: {exc}".strip()
            self._room.notify_all()
        if not waits:
            log.warning("event batch of %s could not be written: %s", self.name, self.last_error)
        elif first:
            log.warning("event database unreachable, events wait in memory (at most %d, then are "
                        "counted lost): %s", self.max_queue, self.last_error)
