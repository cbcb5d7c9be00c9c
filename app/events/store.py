"""The event database: one SQLite file in WAL mode, shared by every worker process.

Each thread of each process opens its own connection lazily and is the only one that ever uses
or closes it; :meth:`EventStore.close` closes the calling thread's connection and those of
finished threads, and makes every other live thread close and reopen its own on next use (a
connection closed under a thread that is using it crashes the interpreter). Every write is one
short transaction (a lookup event plus its hour's totals), so concurrent workers never lose or
double an event: SQLite serialises the writers, ``busy_timeout`` makes them wait, and a bounded
retry covers the rare ``database is locked`` that slips through. Pruning (:meth:`prune`) takes a
lease so one process prunes at a time, deletes in small batches and pauses between them, so a
writer never waits for it longer than one batch. Times are stored as epoch milliseconds (plus
the epoch hour, which the link-health queries group and range-scan on).
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .. import metrics
from ..writelock import WriterLock
from .activity import ActivityQueries
from .group_commit import GroupCommit
from .hashing import EmailHasher
from .health import LinkHealthQueries
from .model import HOUR_MS, ActionEvent, LookupEvent, WebhookEvent, to_ms
from .schema import (ACTION_INSERT_SQL, INDEX_SQL, INDEXES, INSERT_SQL, PRUNED_TABLES, ROLLUP_SQL,
                     SUGGESTION_SQL, WEBHOOK_INSERT_SQL, action_row, event_row, migrate,
                     rollup_rows, schema_is_current, webhook_row)

log = logging.getLogger(__name__)

_BUSY_RETRIES = 3
_CACHE_KIB = 32 * 1024  # page cache per connection: link-health queries walk large indexes
_BULK_CACHE_KIB = 256 * 1024  # bulk loads touch pages all over four indexes
#: rows per pruning transaction: a few milliseconds of write lock, well inside a writer's wait
PRUNE_BATCH = 500
#: pause between pruning batches: longer than SQLite's busy-handler sleeps (at most 100 ms apart
#: early on), so a waiting writer always gets the lock between two batches
PRUNE_PAUSE_S = 0.1
PRUNE_LEASE_S = 60.0  # a pruner that died holding the lease blocks the others this long at most
_LEASE_KEY, _LAST_PRUNE_KEY, _SYNTHETIC_KEY = "prune_lease", "last_prune_ms", "synthetic"


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


def _now_ms() -> int:
    return int(time.time() * 1000)


class EventStore(LinkHealthQueries, ActivityQueries):
    """Lookup, action and webhook events in SQLite, safe to share between threads and processes.

    >>> store = EventStore(settings.events_db_path)
    >>> store.record(LookupEvent.create(level="BASIC", outcome="matched", raw_emails=["a@b.c"],
    ...                                 hasher=store.hasher))
    True
    """

    def __init__(self, path: str | os.PathLike, *, busy_timeout_ms: int = 5000,
                 warn_interval_s: float = 60.0, hasher: EmailHasher | None = None) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.warn_interval_s = warn_interval_s
        self._hasher = hasher
        self._local = threading.local()
        self._lock = threading.Lock()
        # (the thread that owns it, its connection): a dead thread's connection is closed when the
        # next one opens, so short-lived threads (each Streamlit rerun) leak no descriptors
        self._connections: list[tuple[weakref.ref, sqlite3.Connection]] = []
        self._generation = 0  # close() bumps it: live threads then reopen their own connection
        self._schema_ready_pid: int | None = None
        self._pid = os.getpid()
        self._last_warning: dict[str, float] = {}
        #: every process's writes queue here rather than in SQLite's busy handler (see writelock)
        self._writer_lock = WriterLock(self.path.with_name(self.path.name + ".lock"))
        self._lookup_commit = GroupCommit(self._write_lookup_rows)
        self._commit_pid = os.getpid()

    def __repr__(self) -> str:
        return f"EventStore({str(self.path)!r})"

    @property
    def hasher(self) -> EmailHasher | None:
        """The data directory's :class:`EmailHasher` (``None`` while its key cannot be read or made:
        events are then stored without hashes rather than failing the lookup)."""
        if self._hasher is None:
            try:
                self._hasher = EmailHasher.for_data_dir(self.path.parent, os.environ)
            except (OSError, ValueError) as exc:
                self._warn("hasher", "no email hash key in %s: %s", self.path.parent, exc)
        return self._hasher

    # -- connections ---------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema ensured) on first use in this process."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            if local.generation == self._generation:
                return conn
            self._drop_connection()  # the store was closed since: this thread closes its own
        if self._pid != os.getpid():  # forked: never touch (or close) the parent's connections
            with self._lock:
                self._pid, self._connections, self._local = os.getpid(), [], threading.local()
                local = self._local
        conn = self._open()
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
            local.conn, local.pid, local.generation = conn, os.getpid(), self._generation
        return conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000.0,
                               isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA cache_size = {-_CACHE_KIB}")
            if self._schema_ready_pid != os.getpid():
                if not schema_is_current(conn):
                    self._retry_busy(lambda: migrate(conn))
                self._schema_ready_pid = os.getpid()
        except BaseException:
            conn.close()
            raise
        return conn

    def _drop_connection(self) -> None:
        """Close the calling thread's connection (the next use opens a new one)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                self._connections = [(owner, other) for owner, other in self._connections if other is not conn]
            _close_quietly(conn)

    def close_thread_connection(self) -> None:
        """Close the calling thread's connection: for worker threads about to end."""
        if getattr(self._local, "pid", None) == os.getpid():
            self._drop_connection()

    def close(self) -> None:
        """Close this thread's connection and those of finished threads; every other live thread
        closes its own on its next use (never under it: that would crash the interpreter)."""
        me = threading.current_thread()
        with self._lock:
            self._generation += 1
            keep = []
            for owner, conn in self._connections:
                thread = owner()
                if thread is None or thread is me or not thread.is_alive():
                    _close_quietly(conn)
                else:
                    keep.append((owner, conn))
            self._connections = keep
        if getattr(self._local, "conn", None) is not None:
            self._local.conn = None

    def __enter__(self) -> "EventStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @staticmethod
    def _transaction(conn: sqlite3.Connection, action: Callable[[], object]):
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = action()
            conn.execute("COMMIT")
            return result
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _serial_transaction(self, conn: sqlite3.Connection, action: Callable[[], object]):
        """:meth:`_transaction` behind the writer lock: one writer at a time on this machine."""
        with self._writer_lock.hold():
            return self._transaction(conn, action)

    @staticmethod
    def _script(conn: sqlite3.Connection, sql: str) -> None:
        """Run several statements as one IMMEDIATE transaction (rolled back on failure)."""
        try:
            conn.executescript(f"BEGIN IMMEDIATE; {sql} COMMIT;")
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
    def _write(self, kind: str, counter, statements: Callable[[sqlite3.Connection], object], *, events: int = 1):
        """Run ``statements`` in one short write transaction; never raises (``None`` on failure,
        logged at most once a minute per kind and counted in ``counter``, once per event)."""
        try:
            conn = self._connection()
            return self._retry_busy(lambda: self._serial_transaction(conn, lambda: statements(conn)))
        except Exception as exc:  # recording must never fail a lookup, an action or a webhook
            if not (isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)):
                self._drop_connection()  # reopen next time: the file may have been fixed or replaced
            try:
                counter.inc(events)
            except Exception:  # pragma: no cover - metrics must not break recording either
                pass
            self._warn(kind, "could not record %s event in %s: %s: %s (further failures are only "
                       "counted in metrics for a minute)", kind, self.path, type(exc).__name__, exc)
            return None

    def _warn(self, kind: str, message: str, *args) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_warning.get(kind, float("-inf")) < self.warn_interval_s:
                return
            self._last_warning[kind] = now
        log.warning(message, *args)

    def record(self, event: LookupEvent) -> bool:
        """Store one lookup event; never raises. ``False`` (logged, counted) when it could not.

        Returns once the event is committed, in one transaction with whatever other threads of
        this process recorded at the same moment (:mod:`app.events.group_commit`)."""
        if self._commit_pid != os.getpid():  # forked: a copied condition may be mid-write
            self._lookup_commit, self._commit_pid = GroupCommit(self._write_lookup_rows), os.getpid()
        return self._lookup_commit.submit(event_row(event))

    def _write_lookup_rows(self, rows: Sequence[tuple]) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            conn.executemany(INSERT_SQL, rows)
            conn.executemany(ROLLUP_SQL, rollup_rows(rows))
            return True

        return self._write("lookup", metrics.EVENT_WRITE_FAILURES, write, events=len(rows)) is True

    def record_suggestion(self, uid: str, customer_ids: Sequence[str]) -> bool:
        """Store the Ordergroove ids that share the lookup's email ("likely linked to the wrong
        id") on the event ``uid``; never raises. ``False`` when nothing was stored."""
        ids = list(dict.fromkeys(str(customer_id) for customer_id in customer_ids or () if customer_id))
        if not uid or not ids:
            return False
        return self._write("suggestion", metrics.SUGGESTION_WRITE_FAILURES, lambda conn: conn.execute(
            SUGGESTION_SQL, (",".join(ids), str(uid))).rowcount == 1) is True

    def record_action(self, event: ActionEvent) -> bool:
        """Store one action event (CONTRACT section 8); never raises."""
        return self._write("action", metrics.ACTION_EVENT_WRITE_FAILURES, lambda conn: (
            conn.execute(ACTION_INSERT_SQL, action_row(event)), True)[-1]) is True

    def record_webhook(self, event: WebhookEvent) -> bool:
        """Store one webhook event (CONTRACT section 9); never raises."""
        return self._write("webhook", metrics.WEBHOOK_EVENT_WRITE_FAILURES, lambda conn: (
            conn.execute(WEBHOOK_INSERT_SQL, webhook_row(event)), True)[-1]) is True

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

    def insert_actions(self, events: Iterable[ActionEvent]) -> int:
        """Bulk-insert action events in one transaction (seeding); returns the count."""
        return self._bulk(ACTION_INSERT_SQL, [action_row(event) for event in events])

    def insert_webhooks(self, events: Iterable[WebhookEvent]) -> int:
        """Bulk-insert webhook events in one transaction (seeding); returns the count."""
        return self._bulk(WEBHOOK_INSERT_SQL, [webhook_row(event) for event in events])

    def _bulk(self, sql: str, rows: list[tuple]) -> int:
        conn = self._connection()
        self._retry_busy(lambda: self._transaction(conn, lambda: conn.executemany(sql, rows)))
        return len(rows)

    # -- retention -----------------------------------------------------------------------------
    def prune(self, retention_days: float, now: datetime | None = None, *,
              batch_size: int = PRUNE_BATCH, pause_s: float = PRUNE_PAUSE_S,
              stop: threading.Event | None = None, min_interval_s: float = 0.0) -> int:
        """Delete events older than ``retention_days``; returns how many (0 when another process
        holds the pruning lease, or pruned less than ``min_interval_s`` ago).

        Each batch of ``batch_size`` rows is one short transaction that also renews the lease;
        between batches the write lock is free for ``pause_s``, so lookups recording meanwhile
        wait one batch at most. ``stop`` (set by :class:`RetentionWorker.stop`) ends it early.
        """
        now = now or datetime.now(timezone.utc)
        cutoff = to_ms(now - timedelta(days=retention_days))
        params = {"cutoff": cutoff, "cutoff_hour": cutoff // HOUR_MS, "limit": int(batch_size)}
        owner = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        conn = self._connection()
        if not self._prune_due(conn, params):  # read only: a boot with nothing to do writes nothing
            return 0
        if not self._retry_busy(lambda: self._transaction(
                conn, lambda: self._take_lease(conn, owner, min_interval_s))):
            return 0
        stop = stop or threading.Event()
        removed = {table: 0 for table in PRUNED_TABLES}
        try:
            for table, where in PRUNED_TABLES.items():
                sql = (f"DELETE FROM {table} WHERE id IN "
                       f"(SELECT id FROM {table} WHERE {where} LIMIT :limit)")
                while not stop.is_set():
                    deleted = self._prune_batch(conn, owner, sql, params, stop, pause_s)
                    if deleted is None:  # lost the lease (stalled past its expiry) or gave up
                        return sum(removed.values())
                    removed[table] += deleted
                    if deleted < batch_size:
                        break
                    if stop.wait(pause_s):
                        break
            if removed["lookup_events"]:
                self._retry_busy(lambda: conn.execute("DELETE FROM lookup_hourly WHERE lookups <= 0"))
                conn.execute("PRAGMA optimize")
            if not stop.is_set():
                self._retry_busy(lambda: conn.execute(
                    "INSERT OR REPLACE INTO ogtk_meta (key, value) VALUES (?, ?)",
                    (_LAST_PRUNE_KEY, str(_now_ms()))))
        finally:
            self._release_lease(conn, owner)
            for table, count in removed.items():
                if count:
                    metrics.EVENTS_PRUNED.labels(table).inc(count)
        return sum(removed.values())

    def _prune_batch(self, conn, owner: str, sql: str, params: dict, stop: threading.Event,
                     pause_s: float) -> int | None:
        """One batch, with the lease checked and renewed in the same transaction; while writers
        keep the lock busy, wait and try again (a pruner is never in a hurry)."""
        for _ in range(100):
            try:
                return self._serial_transaction(conn, lambda: (
                    conn.execute(sql, params).rowcount if self._renew_lease(conn, owner) else None))
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or stop.wait(pause_s):
                    return None
        return None

    @staticmethod
    def _prune_due(conn, params: dict) -> bool:
        return any(conn.execute(f"SELECT 1 FROM {table} WHERE {where} LIMIT 1", params).fetchone()
                   for table, where in PRUNED_TABLES.items())

    @staticmethod
    def _take_lease(conn, owner: str, min_interval_s: float) -> bool:
        rows = dict(conn.execute("SELECT key, value FROM ogtk_meta WHERE key IN (?, ?)",
                                 (_LEASE_KEY, _LAST_PRUNE_KEY)).fetchall())
        now = _now_ms()
        holder, _, expiry = (rows.get(_LEASE_KEY) or "").rpartition(" ")
        if holder and holder != owner and int(expiry or 0) > now:
            return False
        last = int(rows.get(_LAST_PRUNE_KEY) or 0)
        if min_interval_s and now - last < min_interval_s * 1000:
            return False
        conn.execute("INSERT OR REPLACE INTO ogtk_meta (key, value) VALUES (?, ?)",
                     (_LEASE_KEY, f"{owner} {now + int(PRUNE_LEASE_S * 1000)}"))
        return True

    @staticmethod
    def _renew_lease(conn, owner: str) -> bool:
        return conn.execute(
            "UPDATE ogtk_meta SET value = ? WHERE key = ? AND substr(value, 1, ?) = ?",
            (f"{owner} {_now_ms() + int(PRUNE_LEASE_S * 1000)}", _LEASE_KEY, len(owner) + 1,
             owner + " ")).rowcount == 1

    def _release_lease(self, conn, owner: str) -> None:
        try:
            self._retry_busy(lambda: conn.execute(
                "DELETE FROM ogtk_meta WHERE key = ? AND substr(value, 1, ?) = ?",
                (_LEASE_KEY, len(owner) + 1, owner + " ")))
        except sqlite3.Error as exc:  # it expires by itself
            log.debug("pruning lease not released: %s", exc)

    # -- metadata ------------------------------------------------------------------------------
    def mark_synthetic(self) -> None:
        """Label this database as holding synthetic (demo) history, for the dashboard to say so."""
        conn = self._connection()
        self._retry_busy(lambda: conn.execute(
            "INSERT OR REPLACE INTO ogtk_meta (key, value) VALUES (?, ?)",
            (_SYNTHETIC_KEY, datetime.now(timezone.utc).isoformat())))

    def is_synthetic(self) -> bool:
        """Whether :meth:`mark_synthetic` was ever called on this database."""
        return bool(self._read("SELECT 1 FROM ogtk_meta WHERE key = ?", (_SYNTHETIC_KEY,)))

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

