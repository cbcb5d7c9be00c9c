"""The lookup event database: one SQLite file in WAL mode, shared by every worker process.

Each thread of each process opens its own connection lazily. Every :meth:`EventStore.record` is
one short transaction (the event row plus its hour's totals), so concurrent workers never lose or
double an event: SQLite serialises the writers, ``busy_timeout`` makes them wait, and a bounded
retry covers the rare ``database is locked`` that slips through. Times are stored as epoch
milliseconds (plus the epoch hour, which the link-health queries group and range-scan on).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .. import metrics
from .health import LinkHealthQueries
from .model import HOUR_MS, LookupEvent, to_ms
from .schema import (INDEX_SQL, INDEXES, INSERT_SQL, ROLLUP_SQL, SCHEMA_VERSION, TABLES_SQL,
                     event_row, rollup_row, rollup_rows)

log = logging.getLogger(__name__)

_BUSY_RETRIES = 3
_CACHE_KIB = 32 * 1024  # page cache per connection: link-health queries walk large indexes
_BULK_CACHE_KIB = 256 * 1024  # bulk loads touch pages all over four indexes


class EventStoreError(RuntimeError):
    """The event database cannot be used (unwritable directory, disk full, corrupt file...)."""


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _close_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.close()
    except sqlite3.Error:
        pass


class EventStore(LinkHealthQueries):
    """Lookup events in SQLite, safe to share between threads and worker processes.

    >>> store = EventStore(settings.events_db_path)
    >>> store.record(LookupEvent.create(level="BASIC", outcome="matched", raw_emails=["a@b.c"]))
    """

    def __init__(self, path: str | os.PathLike, *, busy_timeout_ms: int = 5000,
                 warn_interval_s: float = 60.0) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.warn_interval_s = warn_interval_s
        self._local = threading.local()
        self._lock = threading.Lock()
        # (the thread that owns it, its connection): a dead thread's connection is closed when the
        # next one opens, so short-lived threads (each Streamlit rerun) leak no descriptors
        self._connections: list[tuple[weakref.ref, sqlite3.Connection]] = []
        self._schema_ready_pid: int | None = None
        self._pid = os.getpid()
        self._last_warning = float("-inf")

    def __repr__(self) -> str:
        return f"EventStore({str(self.path)!r})"

    # -- connections ---------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema ensured) on first use in this process."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        if self._pid != os.getpid():  # forked: never touch (or close) the parent's connections
            with self._lock:
                self._pid, self._connections, self._local = os.getpid(), [], threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000.0,
                               isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA cache_size = {-_CACHE_KIB}")
            if self._schema_ready_pid != os.getpid():
                self._retry_busy(lambda: self._ensure_schema(conn))
                self._schema_ready_pid = os.getpid()
        except BaseException:
            conn.close()
            raise
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            alive = []
            for owner, other in self._connections:
                thread = owner()
                if thread is not None and thread.is_alive():
                    alive.append((owner, other))
                else:
                    _close_quietly(other)
            alive.append((weakref.ref(threading.current_thread()), conn))
            self._connections = alive
        return conn

    @staticmethod
    def _ensure_schema(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        present = conn.execute(
            f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN "
            f"({', '.join('?' * len(INDEXES))})", tuple(INDEXES)).fetchone()[0]
        if version >= SCHEMA_VERSION and present == len(INDEXES):
            return
        # one transaction: concurrent first openers serialise on the write lock
        EventStore._script(conn, f"{TABLES_SQL} {INDEX_SQL} PRAGMA user_version = {SCHEMA_VERSION};")

    @staticmethod
    def _script(conn: sqlite3.Connection, sql: str) -> None:
        """Run several statements as one IMMEDIATE transaction (rolled back on failure)."""
        try:
            conn.executescript(f"BEGIN IMMEDIATE; {sql} COMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                self._connections = [(owner, other) for owner, other in self._connections if other is not conn]
            _close_quietly(conn)

    def close(self) -> None:
        """Close every connection this store opened (in any thread of this process)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for _, conn in connections:
            _close_quietly(conn)
        self._local = threading.local()

    def __enter__(self) -> "EventStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @staticmethod
    def _transaction(conn: sqlite3.Connection, action: Callable[[], object]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            action()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _retry_busy(self, action):
        """Run ``action``, again (a bounded number of times) when SQLite said busy *at once*.

        A busy error after waiting out ``busy_timeout`` is final: retrying would only make the
        lookup that records the event wait longer.
        """
        for attempt in range(_BUSY_RETRIES + 1):
            began = time.monotonic()
            try:
                return action()
            except sqlite3.OperationalError as exc:
                waited = time.monotonic() - began
                if (attempt == _BUSY_RETRIES or not _is_busy(exc)
                        or waited > self.busy_timeout_ms / 2000.0):
                    raise
                time.sleep(0.005 * (attempt + 1))

    # -- writing -------------------------------------------------------------------------------
    def record(self, event: LookupEvent) -> bool:
        """Store one event; never raises. ``False`` (logged, counted in metrics) when it could not."""
        try:
            row = event_row(event)
            conn = self._connection()
            self._retry_busy(lambda: self._transaction(conn, lambda: (
                conn.execute(INSERT_SQL, row), conn.execute(ROLLUP_SQL, rollup_row(row)))))
            return True
        except Exception as exc:  # recording must never fail a lookup
            if not (isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)):
                self._drop_connection()  # reopen next time: the file may have been fixed or replaced
            self._write_failed(exc)
            return False

    def _write_failed(self, exc: BaseException) -> None:
        try:
            metrics.EVENT_WRITE_FAILURES.inc()
        except Exception:  # pragma: no cover - metrics must not break recording either
            pass
        now = time.monotonic()
        with self._lock:
            if now - self._last_warning < self.warn_interval_s:
                return
            self._last_warning = now
        log.warning("could not record lookup event in %s: %s: %s (further failures are only "
                    "counted in ogtk_event_write_failures_total for a minute)",
                    self.path, type(exc).__name__, exc)

    def insert_rows(self, rows: Iterable[Sequence], *, batch_size: int = 50_000,
                    rebuild_indexes: bool = False) -> int:
        """Bulk-insert prepared rows (see :func:`event_row`) in large transactions; returns the count.

        ``rebuild_indexes`` drops the secondary indexes for the load and builds them afterwards,
        much faster for hundreds of thousands of rows (queries are slow until it finishes).
        """
        conn = self._connection()
        total, batch = 0, []

        def flush() -> int:
            self._retry_busy(lambda: self._transaction(conn, lambda: (
                conn.executemany(INSERT_SQL, batch), conn.executemany(ROLLUP_SQL, rollup_rows(batch)))))
            return len(batch)

        conn.execute(f"PRAGMA cache_size = {-_BULK_CACHE_KIB}")
        try:
            if rebuild_indexes:
                self._retry_busy(lambda: self._transaction(conn, lambda: [
                    conn.execute(f"DROP INDEX IF EXISTS {name}") for name in INDEXES]))
            for row in rows:
                batch.append(row)
                if len(batch) >= batch_size:
                    total += flush()
                    batch = []
            if batch:
                total += flush()
        finally:
            if rebuild_indexes:
                self._retry_busy(lambda: self._script(conn, INDEX_SQL))
            conn.execute(f"PRAGMA cache_size = {-_CACHE_KIB}")
        return total

    def prune(self, retention_days: float, now: datetime | None = None, *,
              batch_size: int = 10_000) -> int:
        """Delete events older than ``retention_days`` in small transactions; returns how many."""
        now = now or datetime.now(timezone.utc)
        cutoff = to_ms(now - timedelta(days=retention_days))
        conn = self._connection()
        removed = 0
        while True:
            cursor = self._retry_busy(lambda: conn.execute(
                "DELETE FROM lookup_events WHERE id IN (SELECT id FROM lookup_events "
                "WHERE hour <= ? AND ts_ms < ? LIMIT ?)", (cutoff // HOUR_MS, cutoff, batch_size)))
            removed += cursor.rowcount
            if cursor.rowcount < batch_size:
                break
        if removed:
            conn.execute("DELETE FROM lookup_hourly WHERE lookups <= 0")
            conn.execute("PRAGMA optimize")
        return removed

    # -- health --------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`EventStoreError` with a clear reason unless an event could be written now."""
        try:
            conn = self._connection()
            # a real committed write (one small WAL frame): catches read-only files, full disks, locks
            self._retry_busy(lambda: conn.execute(
                "INSERT OR REPLACE INTO ogtk_meta (key, value) VALUES ('last_check', ?)",
                (datetime.now(timezone.utc).isoformat(),)))
        except (sqlite3.Error, OSError) as exc:
            self._drop_connection()
            raise EventStoreError(f"event database {self.path} is not writable: "
                                  f"{type(exc).__name__}: {exc}") from exc

    def integrity_check(self) -> bool:
        """``PRAGMA quick_check``: True when the file is structurally sound."""
        try:
            rows = self._connection().execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError:
            return False
        return rows == [("ok",)]

    def count(self) -> int:
        return self._connection().execute("SELECT COUNT(*) FROM lookup_events").fetchone()[0]

    def analyze(self) -> None:
        """Refresh the query planner's statistics (after bulk loads; sampled, so quick)."""
        conn = self._connection()
        conn.execute("PRAGMA analysis_limit = 2000")
        conn.execute("ANALYZE")

    def _read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        return self._connection().execute(sql, params).fetchall()

    @contextmanager
    def _snapshot(self):
        """Reads inside see one consistent state (a read transaction; nested use joins the outer)."""
        conn = self._connection()
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")
