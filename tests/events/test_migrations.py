"""Schema migrations: an old (version 1) file is upgraded in place, once, by racing processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import datetime, timedelta, timezone

from app.events import EventStore, LookupEvent
from app.events.schema import SCHEMA_VERSION, migrate

T0 = datetime(2026, 2, 1, 9, tzinfo=timezone.utc)
T0_MS = int(T0.timestamp() * 1000)

# The layout release 1 wrote, frozen here (not imported: the point is an *old* file).
V1_SQL = """
CREATE TABLE lookup_events (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, hour INTEGER NOT NULL,
    level TEXT NOT NULL, outcome TEXT NOT NULL, gladly_customer_id TEXT, external_customer_id TEXT,
    matched_customer_id TEXT, emails TEXT, customer_key TEXT, subject_kind TEXT, subject TEXT,
    duration_ms REAL NOT NULL, upstream_calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL,
    stale INTEGER NOT NULL, correlation_id TEXT, error_code TEXT);
CREATE TABLE lookup_hourly (hour INTEGER NOT NULL, level TEXT NOT NULL, outcome TEXT NOT NULL,
    lookups INTEGER NOT NULL, stale INTEGER NOT NULL, upstream_calls INTEGER NOT NULL,
    cache_hits INTEGER NOT NULL, PRIMARY KEY (hour, level, outcome)) WITHOUT ROWID;
CREATE TRIGGER lookup_events_hourly_delete AFTER DELETE ON lookup_events BEGIN
    UPDATE lookup_hourly SET lookups = lookups - 1, stale = stale - OLD.stale,
        upstream_calls = upstream_calls - OLD.upstream_calls, cache_hits = cache_hits - OLD.cache_hits
    WHERE hour = OLD.hour AND level = OLD.level AND outcome = OLD.outcome;
END;
CREATE TABLE ogtk_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE INDEX ix_events_hour ON lookup_events (hour, ts_ms, level, outcome, stale, upstream_calls,
    cache_hits, duration_ms);
CREATE INDEX ix_events_customer ON lookup_events (customer_key, ts_ms, level, outcome);
CREATE INDEX ix_events_subject ON lookup_events (outcome, subject_kind, subject, ts_ms, level,
    gladly_customer_id);
CREATE INDEX ix_events_duration ON lookup_events (duration_ms, ts_ms, level);
PRAGMA user_version = 1;
"""
# (outcome, gladly id, external id, masked emails)
V1_ROWS = [
    ("matched", "g1", "og-1", None),
    ("unmatched", "g2", "og-404", None),
    ("unmatched", None, None, "a***@x.com"),
    ("unmatched", None, "og-405", None),
    ("ambiguous", "g3", None, "s***@x.com"),
    ("error", "g4", "og-4", None),
]


def _old_file(path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(V1_SQL)
    for k, (outcome, gladly, external, emails) in enumerate(V1_ROWS):
        ts = T0_MS + k * 60_000
        key = f"g:{gladly}" if gladly else (f"x:{external}" if external else f"e:{emails}")
        conn.execute(
            "INSERT INTO lookup_events (ts_ms, hour, level, outcome, gladly_customer_id, "
            "external_customer_id, emails, customer_key, subject_kind, subject, duration_ms, "
            "upstream_calls, cache_hits, stale) VALUES (?, ?, 'BASIC', ?, ?, ?, ?, ?, ?, ?, 10, 1, 0, 0)",
            (ts, ts // 3_600_000, outcome, gladly, external, emails, key,
             "externalCustomerId" if external else "email", external or emails))
    conn.execute("INSERT INTO lookup_hourly VALUES (?, 'BASIC', 'unmatched', 3, 0, 3, 0)", (T0_MS // 3_600_000,))
    conn.close()


def _columns(conn, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_a_version_1_file_is_upgraded_keeping_its_events(tmp_path):
    path = tmp_path / "events.sqlite3"
    _old_file(path)
    with EventStore(path) as store:
        assert store.count() == len(V1_ROWS)
        assert store.record(LookupEvent(level="BASIC", outcome="unmatched", external_customer_id="og-9",
                                        email_hashes=("cd" * 32,), ts=T0 + timedelta(minutes=30)))
        profiles = store.unmatched_profiles(T0, T0 + timedelta(hours=1))
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert {"uid", "partial", "reason", "email_hashes", "suggestion", "profile_key"} <= _columns(conn, "lookup_events")
        assert {"action_events", "webhook_events"} <= {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        old = conn.execute("SELECT outcome, reason, profile_key, partial FROM lookup_events "
                           "WHERE uid IS NULL ORDER BY id").fetchall()
    finally:
        conn.close()
    # old rows: the reason their outcome implies, a profile key from what they carried
    assert old == [("matched", None, "g:g1", 0), ("unmatched", "id_unknown", "g:g2", 0),
                   ("unmatched", "email_unknown", None, 0), ("unmatched", "id_unknown", "x:og-405", 0),
                   ("ambiguous", "email_ambiguous", "g:g3", 0), ("error", "upstream_error", "g:g4", 0)]
    assert set(profiles["key_kind"]) == {"gladly_id", "external_id", "email_hash"}
    assert len(profiles) == 5  # g2, og-405, g3, g4 from before, a hash after; the email-only row has no key


def test_migrating_again_changes_nothing(tmp_path):
    path = tmp_path / "events.sqlite3"
    _old_file(path)
    with EventStore(path) as store:
        store.check()  # opens it: migrates
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        before = conn.execute("SELECT * FROM lookup_events ORDER BY id").fetchall()
        conn.execute("PRAGMA user_version = 1")  # as if a step had to run again
        assert migrate(conn) == 1
        assert migrate(conn) == SCHEMA_VERSION
        assert conn.execute("SELECT * FROM lookup_events ORDER BY id").fetchall() == before
    finally:
        conn.close()


def _open_and_record(path: str, k: int, start, out) -> None:
    start.wait(timeout=60)
    store = EventStore(path)
    out.put(store.record(LookupEvent(level="BASIC", outcome="unmatched", gladly_customer_id=f"p{k}")))
    store.close()


def test_processes_opening_an_old_file_at_once_upgrade_it_once(tmp_path):
    path = tmp_path / "events.sqlite3"
    _old_file(path)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no lock copied mid-use
    start, out = context.Barrier(5 + 1), context.Queue()  # all five open the file at once
    workers = [context.Process(target=_open_and_record, args=(str(path), k, start, out)) for k in range(5)]
    for worker in workers:
        worker.start()
    start.wait(timeout=60)
    results = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert results == [True] * 5
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM lookup_events").fetchone()[0] == len(V1_ROWS) + 5
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
