"""The event store in PostgreSQL (``OGTK_EVENTS_URL=postgresql://…``), shared by every instance.

Same public API as :class:`~app.events.store.EventStore`, and the very same SQL: rows are shaped
by :mod:`.schema`, the link-health and activity queries are the mixins of :mod:`.health` and
:mod:`.activity`, and :mod:`.dialect` translates what PostgreSQL spells differently.

* **Writes are batched**: ``record*`` only queue the event (:class:`.batching.WriteBatcher`); one
  writer thread per process stores the queue in transactions of up to ``batch_size`` (lookups as
  one COPY stream), so a lookup never waits on the database and a burst costs one round trip per
  batch. The writer lingers ``linger_s`` (a quarter second) to gather a batch: with a few rows
  per transaction PostgreSQL spent ten times the CPU per event (``make bench``'s Redis +
  PostgreSQL row fell to half the diskcache throughput on 2 cores), and the dashboard does not
  miss a quarter second; ``flush`` does not wait for it. The price: a worker killed outright
  (SIGKILL, OOM) loses what it had queued, now up to a quarter second of its events, where the
  SQLite store loses none. A full queue in front of a writer that keeps succeeding makes
  ``record`` wait for room (at most ``max_wait_s``) rather than lose what the database could
  take. The server down: no waiting; events wait in the bounded queue, what does not fit is
  counted in the per-kind write-failure metrics; the writer reconnects by itself when the server
  is back. ``close`` (also run at exit) writes what is queued.
* **Migrations** run on start in one transaction under an advisory lock, so instances starting
  together upgrade the schema once; the version is the one :mod:`.schema` gives SQLite.
* **Readiness**: the server is every instance's, so its failure is reported (``check_server``,
  under ``checks`` of ``/readyz``) but never makes this instance unready; ``check`` fails only
  for this process's own faults (its writer thread gone).
* **Email hashes** are keyed by ``OGTK_EVENT_HASH_KEY`` or else by a key kept in the database,
  so every instance hashes alike and the unmatched list counts a profile once fleet-wide.

>>> store = PostgresEventStore("postgresql://ogtk@db/ogtk")
>>> store.record(LookupEvent.create(level="BASIC", outcome="matched"))
True
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import psycopg

from .. import metrics
from .activity import ActivityQueries
from .batching import RetryLater, WriteBatcher
from .dialect import INDEX_STATEMENTS, META_UPSERT, MIGRATIONS, SCHEMA_VERSION, to_postgres
from .hashing import KEY_ENV, EmailHasher
from .health import LinkHealthQueries
from .model import HOUR_MS, ActionEvent, LookupEvent, WebhookEvent, to_ms
from .pool import ConnectionPool
from .schema import (ACTION_INSERT_SQL, COLUMNS, PRUNED_TABLES, ROLLUP_SQL, SUGGESTION_SQL,
                     WEBHOOK_INSERT_SQL, action_row, event_row, rollup_rows, webhook_row)
from .store import PRUNE_BATCH, PRUNE_PAUSE_S, EventStore, EventStoreError

log = logging.getLogger(__name__)

#: advisory lock keys (any two constants unlikely to clash with another application's)
MIGRATE_LOCK, PRUNE_LOCK = 0x6F67746B01, 0x6F67746B02
#: a failed read of the shared hash key is retried after this long (not on every lookup)
RETRY_HASH_KEY_S = 30.0
#: check_server's verdict is reused this long (a load balancer may probe /readyz every second)
PROBE_REMEMBER_S = 2.0
_HASH_KEY, _LAST_PRUNE_KEY, _SYNTHETIC_KEY = "email_hash_key", "last_prune_ms", "synthetic"
_FAILURE_METRICS = {"lookup": metrics.EVENT_WRITE_FAILURES, "action": metrics.ACTION_EVENT_WRITE_FAILURES,
                    "webhook": metrics.WEBHOOK_EVENT_WRITE_FAILURES,
                    "suggestion": metrics.SUGGESTION_WRITE_FAILURES}
_UID = COLUMNS.index("uid")
_COPY_LOOKUPS = f"COPY lookup_events ({', '.join(COLUMNS)}) FROM STDIN"
_SCHEMA_TABLE = ("CREATE TABLE IF NOT EXISTS ogtk_schema (id INTEGER PRIMARY KEY CHECK (id = 1), "
                 "version INTEGER NOT NULL)")


def _copy_lookups(cursor: psycopg.Cursor, rows: Sequence[Sequence]) -> None:
    """Insert lookup event rows (:data:`COLUMNS` order) as one COPY stream: a fraction of the
    cost of as many INSERTs, so one writer keeps up with a worker's request threads."""
    with cursor.copy(_COPY_LOOKUPS) as copy:
        for row in rows:
            copy.write_row(row)


def redact(url: str) -> str:
    """The URL without its password, for logs and readiness bodies."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def migrate(conn: psycopg.Connection) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` in one transaction, under an advisory lock
    (instances starting at once wait for the first, then find nothing to do); returns the
    version found. A newer database (a later release) is left as it is."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute(_SCHEMA_TABLE)
        row = conn.execute("SELECT version FROM ogtk_schema WHERE id = 1").fetchone()
        found = row[0] if row else 0
        for version, statements in MIGRATIONS:
            if version > found:
                for statement in statements():
                    conn.execute(statement)
        for statement in INDEX_STATEMENTS:
            conn.execute(statement)
        if found < SCHEMA_VERSION:
            conn.execute("INSERT INTO ogtk_schema (id, version) VALUES (1, %s) ON CONFLICT (id) "
                         "DO UPDATE SET version = excluded.version", (SCHEMA_VERSION,))
        conn.execute("INSERT INTO ogtk_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                     (_HASH_KEY, secrets.token_hex(32)))
    return found


class PostgresEventStore(LinkHealthQueries, ActivityQueries):
    """Lookup, action and webhook events in PostgreSQL; see the module docstring."""

    #: the database is every instance's: readiness reports it instead of failing on it
    shared = True

    def __init__(self, url: str, *, pool_size: int = 4, connect_timeout_s: float = 2.0,
                 statement_timeout_s: float = 5.0, max_queue: int = 10_000, batch_size: int = 1000,
                 max_wait_s: float = 0.25, linger_s: float = 0.25,
                 hasher: EmailHasher | None = None, warn_interval_s: float = 60.0,
                 probe_remember_s: float = PROBE_REMEMBER_S, read_timeout_s: float = 30.0) -> None:
        self.url = url
        self.path = redact(url)  # what EventStore calls its path: where the events live
        self.warn_interval_s = warn_interval_s
        self.pool = ConnectionPool(url, max_size=pool_size, connect_timeout_s=connect_timeout_s,
                                   statement_timeout_s=statement_timeout_s,
                                   acquire_timeout_s=statement_timeout_s)
        self._hasher = hasher
        self._lock = threading.Lock()
        self._schema_ready_pid: int | None = None
        self._local = threading.local()  # the connection of an open _snapshot()
        self._last_warning: dict[str, float] = {}
        self._batcher_options = {"max_queue": max_queue, "batch_size": batch_size, "max_wait_s": max_wait_s,
                                 "linger_s": linger_s}
        self._batcher: WriteBatcher | None = None
        self._batcher_pid: int | None = None
        self._hasher_retry_at = 0.0
        self._probe: tuple[float, str | None] | None = None  # (when, failure) of check_server
        self.probe_remember_s = probe_remember_s
        self.read_timeout_s = read_timeout_s
        ref = weakref.ref(self)
        atexit.register(lambda: (store := ref()) is not None and store.close())

    def __repr__(self) -> str:
        return f"PostgresEventStore({self.path!r})"

    def __enter__(self) -> "PostgresEventStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- connections and schema ----------------------------------------------------------------
    @contextmanager
    def _connection(self):
        """A pooled connection with the schema ensured (once per process)."""
        with self.pool.connection() as conn:
            if self._schema_ready_pid != os.getpid():
                migrate(conn)
                self._schema_ready_pid = os.getpid()
            yield conn

    def ensure_schema(self) -> int:
        """Create or migrate the schema now (it is also done on first use); returns the version."""
        with self.pool.connection() as conn:
            migrate(conn)
            self._schema_ready_pid = os.getpid()
            return conn.execute("SELECT version FROM ogtk_schema").fetchone()[0]

    @property
    def hasher(self) -> EmailHasher | None:
        """``OGTK_EVENT_HASH_KEY``'s hasher, else the database's shared key (``None`` while the
        database cannot be read: events are then stored without hashes)."""
        if self._hasher is None:
            if (os.environ.get(KEY_ENV) or "").strip():
                self._hasher = EmailHasher.for_data_dir(".", os.environ)
            elif time.monotonic() >= self._hasher_retry_at:  # lookups never wait on a dead server twice
                try:
                    with self._connection() as conn:
                        key = conn.execute("SELECT value FROM ogtk_meta WHERE key = %s", (_HASH_KEY,)).fetchone()[0]
                    self._hasher = EmailHasher(key.encode("utf-8"))
                except (psycopg.Error, TypeError) as exc:
                    self._hasher_retry_at = time.monotonic() + RETRY_HASH_KEY_S
                    self._warn("hasher", "no email hash key in %s: %s", self.path, exc)
        return self._hasher

    # -- writing -------------------------------------------------------------------------------
    def _writer(self) -> WriteBatcher:
        if self._batcher is None or self._batcher_pid != os.getpid():
            with self._lock:
                if self._batcher is None or self._batcher_pid != os.getpid():
                    self._batcher = WriteBatcher(self.write_batch, on_lost=self._count_lost,
                                                 **self._batcher_options).start()
                    self._batcher_pid = os.getpid()
        return self._batcher

    def record(self, event: LookupEvent) -> bool:
        """Queue one lookup event; never raises, never waits on a failing database (at most
        ``max_wait_s`` for room in front of a healthy one). ``False`` (counted) when it was lost."""
        return self._writer().submit(("lookup", event_row(event)))

    def record_suggestion(self, uid: str, customer_ids: Sequence[str]) -> bool:
        """Queue the Ordergroove ids found by the lookup's email for the event ``uid`` (written
        after that event, in queue order)."""
        ids = list(dict.fromkeys(str(customer_id) for customer_id in customer_ids or () if customer_id))
        if not uid or not ids:
            return False
        return self._writer().submit(("suggestion", (",".join(ids), str(uid))))

    def record_action(self, event: ActionEvent) -> bool:
        return self._writer().submit(("action", action_row(event)))

    def record_webhook(self, event: WebhookEvent) -> bool:
        return self._writer().submit(("webhook", webhook_row(event)))

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every event queued by this process so far is stored (or counted lost)."""
        return self._batcher is None or self._batcher_pid != os.getpid() or self._batcher.flush(timeout_s)

    def write_batch(self, items: Sequence[tuple[str, tuple]]) -> None:
        """Store queued items in one transaction (the writer thread calls it). Raises
        :class:`RetryLater` when the server could not be reached (nothing was written)."""
        rows = {"lookup": [], "action": [], "webhook": [], "suggestion": []}
        for kind, row in items:
            rows[kind].append(row)
        try:
            with self._connection() as conn, conn.transaction(), conn.cursor() as cursor:
                if rows["lookup"]:  # retried after a COMMIT whose answer was lost: skip what is in
                    stored = {uid for uid, in cursor.execute(
                        "SELECT uid FROM lookup_events WHERE uid = ANY(%s)",
                        ([row[_UID] for row in rows["lookup"]],)).fetchall()}
                    rows["lookup"] = [row for row in rows["lookup"] if row[_UID] not in stored]
                if rows["lookup"]:
                    _copy_lookups(cursor, rows["lookup"])
                    # sorted: every writer locks the hourly rows in the same order (no deadlock)
                    cursor.executemany(to_postgres(ROLLUP_SQL), sorted(rollup_rows(rows["lookup"])))
                if rows["action"]:
                    cursor.executemany(to_postgres(ACTION_INSERT_SQL), rows["action"])
                if rows["webhook"]:
                    cursor.executemany(to_postgres(WEBHOOK_INSERT_SQL), rows["webhook"])
                if rows["suggestion"]:
                    cursor.executemany(to_postgres(SUGGESTION_SQL), rows["suggestion"])
        except psycopg.OperationalError as exc:  # connection refused, lost, timed out: try again
            raise RetryLater(str(exc)) from exc

    def _count_lost(self, items: Sequence[tuple[str, tuple]], reason: str) -> None:
        for kind, _ in items:
            _FAILURE_METRICS[kind].inc()
        self._warn(f"lost-{reason}", "%d events not stored in %s (%s; further losses are only "
                   "counted in metrics for a minute)", len(items), self.path, reason)

    _warn = EventStore._warn  # at most once a minute per kind (needs _lock, _last_warning)

    def insert_rows(self, rows: Iterable[Sequence], *, batch_size: int = 50_000,
                    rebuild_indexes: bool = False) -> int:
        """Bulk-insert prepared rows (:func:`~app.events.schema.event_row`), as EventStore does."""
        total, batch = 0, []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                total += self._insert_lookup_rows(batch)
                batch = []
        return total + (self._insert_lookup_rows(batch) if batch else 0)

    def _insert_lookup_rows(self, batch: list) -> int:
        with self._connection() as conn, conn.transaction(), conn.cursor() as cursor:
            _copy_lookups(cursor, batch)
            cursor.executemany(to_postgres(ROLLUP_SQL), sorted(rollup_rows(batch)))
        return len(batch)

    def insert_actions(self, events: Iterable[ActionEvent]) -> int:
        return self._bulk(ACTION_INSERT_SQL, [action_row(event) for event in events])

    def insert_webhooks(self, events: Iterable[WebhookEvent]) -> int:
        return self._bulk(WEBHOOK_INSERT_SQL, [webhook_row(event) for event in events])

    def _bulk(self, sql: str, rows: list[tuple]) -> int:
        with self._connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(to_postgres(sql), rows)
        return len(rows)

    # -- retention -----------------------------------------------------------------------------
    def prune(self, retention_days: float, now: datetime | None = None, *,
              batch_size: int = PRUNE_BATCH, pause_s: float = PRUNE_PAUSE_S,
              stop: threading.Event | None = None, min_interval_s: float = 0.0) -> int:
        """Delete events older than ``retention_days``, in small transactions; one pruner at a
        time fleet-wide (a session advisory lock), skipped within ``min_interval_s`` of the last
        run. Writers never wait for it: PostgreSQL's deletes lock only the rows they delete."""
        now = now or datetime.now(timezone.utc)
        cutoff = to_ms(now - timedelta(days=retention_days))
        params = {"cutoff": cutoff, "cutoff_hour": cutoff // HOUR_MS, "limit": int(batch_size)}
        self.flush()  # what this process queued is pruned by the same rules
        stop = stop or threading.Event()
        removed = dict.fromkeys(PRUNED_TABLES, 0)
        with self._connection() as conn:
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (PRUNE_LOCK,)).fetchone()[0]:
                return 0
            try:
                last = conn.execute("SELECT value FROM ogtk_meta WHERE key = %s", (_LAST_PRUNE_KEY,)).fetchone()
                if min_interval_s and last and time.time() * 1000 - int(last[0]) < min_interval_s * 1000:
                    return 0
                for table, where in PRUNED_TABLES.items():
                    sql = to_postgres(f"DELETE FROM {table} WHERE id IN "
                                      f"(SELECT id FROM {table} WHERE {where} LIMIT :limit)")
                    while not stop.is_set():
                        deleted = conn.execute(sql, params).rowcount
                        removed[table] += deleted
                        if deleted < batch_size or stop.wait(pause_s):
                            break
                if removed["lookup_events"]:
                    conn.execute("DELETE FROM lookup_hourly WHERE lookups <= 0")
                if not stop.is_set():
                    conn.execute(META_UPSERT, (_LAST_PRUNE_KEY, str(int(time.time() * 1000))))
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (PRUNE_LOCK,))
                for table, count in removed.items():
                    if count:
                        metrics.EVENTS_PRUNED.labels(table).inc(count)
        return sum(removed.values())

    def close_thread_connection(self) -> None:
        """Nothing to do: connections are pooled, not per thread (RetentionWorker calls it)."""

    # -- metadata ------------------------------------------------------------------------------
    def mark_synthetic(self) -> None:
        with self._connection() as conn:
            conn.execute(META_UPSERT, (_SYNTHETIC_KEY, datetime.now(timezone.utc).isoformat()))

    def is_synthetic(self) -> bool:
        return bool(self._read("SELECT 1 FROM ogtk_meta WHERE key = ?", (_SYNTHETIC_KEY,)))

    # -- health --------------------------------------------------------------------------------
    def check(self) -> None:
        """This process's part only: its writer thread runs (the server's state is
        :meth:`check_server`'s, reported but never failing readiness)."""
        if self._batcher is not None and self._batcher_pid == os.getpid() and not self._batcher.alive:
            raise EventStoreError("the event writer thread of this process has stopped")

    def check_server(self) -> None:
        """Raise :class:`EventStoreError` unless the database answers now (and the last batch
        could be written)."""
        now = time.monotonic()
        with self._lock:
            probe = self._probe
        if probe is None or now - probe[0] >= self.probe_remember_s:  # a busy load balancer probes often
            try:
                with self._connection() as conn:
                    conn.execute("SELECT 1").fetchone()
                probe = (now, None)
            except psycopg.Error as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                probe = (now, f"event database {self.path} is unreachable: {type(exc).__name__}: {reason}")
            with self._lock:
                self._probe = probe
        if probe[1] is not None:
            raise EventStoreError(probe[1])
        batcher = self._batcher
        # failing with nothing waiting is history: the probe just answered, and the writer clears
        # the flag on its next write (a queue drained by counting overflow lost leaves it set)
        if batcher is not None and batcher.failing_since is not None and batcher.depth > 0:
            raise EventStoreError(f"event database {self.path}: writes failing ({batcher.last_error}), "
                                  f"{batcher.depth} events waiting")

    def integrity_check(self) -> bool:
        """PostgreSQL keeps its own integrity; True when the database answers."""
        try:
            self.check_server()
        except EventStoreError:
            return False
        return True

    def count(self) -> int:
        self.flush()
        return self._read("SELECT COUNT(*) FROM lookup_events")[0][0]

    def analyze(self) -> None:
        with self._connection() as conn:
            for table in PRUNED_TABLES:
                conn.execute(f"ANALYZE {table}")

    def close(self) -> None:
        """Write what is queued, stop the writer and close the idle connections."""
        batcher = self._batcher
        if batcher is not None and self._batcher_pid == os.getpid():
            batcher.close()
        self._batcher = None
        self.pool.close()

    # -- reading (the queries of LinkHealthQueries and ActivityQueries) ------------------------
    def _read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        conn = getattr(self._local, "snapshot", None)
        if conn is not None:
            return conn.execute(to_postgres(sql), params).fetchall()
        with self._snapshot() as conn:
            return conn.execute(to_postgres(sql), params).fetchall()

    @contextmanager
    def _snapshot(self):
        """Reads inside see one consistent state (a REPEATABLE READ transaction; nested use joins),
        with the longer ``read_timeout_s`` (the dashboard's queries over months of events)."""
        if getattr(self._local, "snapshot", None) is not None:
            yield self._local.snapshot
            return
        self.flush(timeout_s=1.0)  # this process reads its own writes
        with self._connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            conn.execute(f"SET LOCAL statement_timeout = {int(self.read_timeout_s * 1000)}")
            self._local.snapshot = conn
            try:
                yield conn
            finally:
                self._local.snapshot = None
                conn.execute("ROLLBACK")
