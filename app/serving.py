"""The gunicorn worker the API runs in: gthread, plus the time each request waited for a thread.

A gthread worker holds more connections than it has threads (``worker_connections`` = threads
+ 2, for keep-alive). A request on the extra connection waits in the worker's queue until a
thread frees, and under a failing Ordergroove its threads can be busy for most of a lookup
deadline. The lookup's deadline starts when the view runs, so that wait came on top of it: in
one soak run a lookup answered in 3.70 s inside the app took 5.16 s at the client. This worker
notes when it queued each request and the view takes the wait off the deadline, so the answer
(cached, or a clean 503) still leaves within ``OGTK_LOOKUP_DEADLINE_S`` of the request reaching
the worker. An action submit takes it off its 10 s budget the same way.

The wait is handed over in a thread-local, not the WSGI environ: gunicorn builds the environ
inside ``handle_request``, in the same thread that then runs the view.

Its threads take turns (:mod:`app.turns`): one request at a time runs, in arrival order, and a
request waiting on Ordergroove lets the next one run. Waiting for the turn counts as waiting
for a thread.
"""

from __future__ import annotations

import threading
import time

from gunicorn.workers import gthread as _gthread
from gunicorn.workers.gthread import ThreadWorker as _GthreadWorker

from .turns import Turns, off_turn

#: What ``gunicorn.conf.py`` and the benchmark's gthread runs name as the worker class.
WORKER_CLASS = "app.serving.ThreadWorker"

_handling = threading.local()


def queued_seconds() -> float:
    """How long the request this thread is handling waited for it (0 outside this worker)."""
    return getattr(_handling, "queued_s", 0.0)


def _first_bytes_here(conn) -> bool:
    """Whether a connection has something to read, waiting for a new one's first bytes as
    gunicorn would (up to its data timeout), but before the request takes its turn: a client
    that connects and says nothing (a load balancer opening connections ahead) must not hold
    the turn. Gunicorns that do not wait (no ``wait_for_data``) read at once, and so does this."""
    if getattr(conn, "initialized", True) or getattr(conn, "data_ready", True) or not hasattr(conn, "wait_for_data"):
        return True
    return conn.wait_for_data(getattr(_gthread, "DEFAULT_WORKER_DATA_TIMEOUT", 5.0))


class ThreadWorker(_GthreadWorker):
    """gunicorn's gthread worker, timing each request from its queueing to its turn to run."""

    turns: Turns | None = None

    def init_process(self):
        self.turns = Turns()  # after the fork: a lock of this process only
        super().init_process()

    def enqueue_req(self, conn):
        conn.ogtk_queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        started = time.monotonic()
        queued_at = getattr(conn, "ogtk_queued_at", None)
        waited = 0.0 if queued_at is None else max(0.0, started - queued_at)
        if not _first_bytes_here(conn):
            return getattr(_gthread, "_DEFER", False)  # back to the poller, as gunicorn does
        asked = time.monotonic()  # the client's silence before its request is not Gladly's wait
        with self.turns.turn():
            _handling.queued_s = waited + (time.monotonic() - asked)
            try:
                return super().handle(conn)
            finally:
                _handling.queued_s = 0.0

    # The wait belongs to the first request handled: an HTTP/2 connection serves several streams in
    # one ``handle``, and those after the first did not wait for the thread.
    def handle_request(self, *args, **kwargs):
        try:
            return super().handle_request(*args, **kwargs)
        finally:
            _handling.queued_s = 0.0

    def handle_http2_request(self, *args, **kwargs):  # HTTP/2 (recent gunicorn); older ones never call it
        try:
            return super().handle_http2_request(*args, **kwargs)
        finally:
            _handling.queued_s = 0.0

    # An HTTP/2 connection (gunicorn with h2 installed and enabled) is served in one ``handle``
    # that waits for frames between its streams: it must not hold the turn through those waits,
    # so its streams run without turns, as every request did before them.
    def handle_http2(self, *args, **kwargs):
        with off_turn():
            return super().handle_http2(*args, **kwargs)

    def handle_h2c_upgrade(self, *args, **kwargs):
        with off_turn():
            return super().handle_h2c_upgrade(*args, **kwargs)
