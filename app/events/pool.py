"""A small bounded pool of psycopg connections for one process, with a timeout on every call.

At most ``max_size`` connections per process (a gunicorn worker needs one for its event writer
and one for a readiness probe; the dashboard a few for its pages), each opened lazily with
``connect_timeout`` and ``statement_timeout``, so neither a dead nor a hanging server can hold a
thread longer than those. A connection that failed is thrown away, never handed out again; the
next borrower opens a fresh one, which is how the store recovers by itself when the server
returns. After a fork the child never touches the parent's connections (closing one would end
the parent's session). Hand-written rather than ``psycopg_pool`` because it needs no threads of
its own and is this short.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import psycopg
from psycopg.adapt import Loader


class PoolTimeout(psycopg.OperationalError):
    """Every connection of the pool stayed busy for ``acquire_timeout_s``."""


class _NumberLoader(Loader):
    """``numeric`` (what PostgreSQL's SUM of integers returns) as int or float, as SQLite gives."""

    def load(self, data) -> int | float:
        text = bytes(data).decode("ascii")
        return int(text) if text.lstrip("-").isdigit() else float(text)


class ConnectionPool:
    """``with pool.connection() as conn: conn.execute(...)`` (autocommit; use ``conn.transaction()``).

    >>> pool = ConnectionPool("postgresql://ogtk@127.0.0.1/ogtk", max_size=4)
    >>> with pool.connection() as conn: conn.execute("SELECT 1").fetchone()
    (1,)
    """

    def __init__(self, url: str, *, max_size: int = 4, connect_timeout_s: float = 2.0,
                 statement_timeout_s: float = 5.0, acquire_timeout_s: float = 5.0,
                 application_name: str = "ogtk-events") -> None:
        self.url = url
        self.max_size = int(max_size)
        self.connect_timeout_s = connect_timeout_s
        self.statement_timeout_s = statement_timeout_s
        self.acquire_timeout_s = acquire_timeout_s
        self.application_name = application_name
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._slots = threading.BoundedSemaphore(self.max_size)
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _open(self) -> psycopg.Connection:
        conn = psycopg.connect(
            self.url, autocommit=True, connect_timeout=max(1, round(self.connect_timeout_s)),
            application_name=self.application_name,
            options=f"-c statement_timeout={int(self.statement_timeout_s * 1000)} "
                    f"-c lock_timeout={int(self.statement_timeout_s * 1000)}")
        conn.adapters.register_loader("numeric", _NumberLoader)
        return conn

    @contextmanager
    def connection(self, timeout_s: float | None = None):
        """Borrow a connection (opened when none is idle); a failed one is closed, not returned."""
        if self._pid != os.getpid():  # forked: the parent's connections are not ours to use
            self._reset()
        if self._closed:
            raise psycopg.OperationalError("the event store's connection pool is closed")
        if not self._slots.acquire(timeout=self.acquire_timeout_s if timeout_s is None else timeout_s):
            raise PoolTimeout(f"no free connection to the event database within {self.acquire_timeout_s}s")
        conn = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                conn = self._open()
            yield conn
        except BaseException:
            if conn is not None:
                _close_quietly(conn)
                conn = None
            raise
        finally:
            if conn is not None:
                if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    _close_quietly(conn)
                else:
                    with self._lock:
                        if self._closed:
                            _close_quietly(conn)
                        else:
                            self._idle.append(conn)
            self._slots.release()

    def close(self) -> None:
        """Close the idle connections; borrowed ones are closed when given back."""
        if self._pid != os.getpid():
            self._reset()
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)


def _close_quietly(conn: psycopg.Connection) -> None:
    try:
        conn.close()
    except Exception:  # pragma: no cover - closing a broken connection may fail; it is gone anyway
        pass
