"""EventStore: recording, concurrency, failure handling, pruning, health checks."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from app.events import EventStore, EventStoreError, LookupEvent
from event_workers import write_events

T0 = datetime(2026, 1, 10, 12, 30, 15, 250000, tzinfo=timezone.utc)


def _failures() -> float:
    return REGISTRY.get_sample_value("ogtk_event_write_failures_total") or 0.0


def _rows(path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM lookup_events ORDER BY id").fetchall()
    finally:
        conn.close()


def test_record_and_read_back(store):
    event = LookupEvent.create(
        ts=T0, level="DETAILED", outcome="matched", gladly_customer_id="gl-1",
        external_customer_id="og-7", matched_customer_id="og-7",
        raw_emails=["John.Doe@Example.com"], duration_ms=12.5, upstream_calls=3, cache_hits=2,
        correlation_id="corr-1", stale=True, error_code=None)
    assert store.record(event) is True
    assert store.count() == 1
    (row,) = _rows(store.path)
    assert row["ts_ms"] == int(T0.timestamp() * 1000) == 1768048215250
    assert row["hour"] == row["ts_ms"] // 3_600_000
    assert (row["level"], row["outcome"]) == ("DETAILED", "matched")
    assert (row["gladly_customer_id"], row["external_customer_id"], row["matched_customer_id"]) == (
        "gl-1", "og-7", "og-7")
    assert row["emails"] == "j***@example.com"
    assert (row["duration_ms"], row["upstream_calls"], row["cache_hits"], row["stale"]) == (12.5, 3, 2, 1)
    assert row["correlation_id"] == "corr-1" and row["error_code"] is None


def test_raw_emails_never_reach_the_file(store):
    store.record(LookupEvent.create(level="BASIC", outcome="unmatched",
                                    raw_emails=["secret.person@example.com"]))
    store.close()
    for name in os.listdir(store.path.parent):
        assert b"secret.person" not in (store.path.parent / name).read_bytes()


def test_pragmas_and_schema(store):
    store.record(LookupEvent(level="BASIC", outcome="matched"))
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    # a second store on the same file re-opens the existing schema without error
    with EventStore(store.path) as again:
        assert again.count() == 1


def test_creates_missing_directory(tmp_path):
    path = tmp_path / "a" / "b" / "events.sqlite3"
    with EventStore(path) as store:
        assert store.record(LookupEvent(level="BASIC", outcome="matched"))
    assert path.exists()


def test_one_connection_per_thread(store):
    """Three threads alive at once hold three connections. (Comparing ``id()`` of connections
    whose threads had already ended failed now and then: a freed connection's id can be reused.)"""
    import threading

    seen = []
    together = threading.Barrier(3)

    def connect() -> None:
        seen.append(store._connection())
        together.wait(timeout=30)  # no thread ends, and frees its connection, before all have one

    threads = [threading.Thread(target=connect) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(connection) for connection in seen}) == 3  # the list keeps all three alive
    assert store._connection() is store._connection()


def test_record_never_raises_when_path_is_unusable(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file, so nothing can be created below it (even as root)")
    store = EventStore(blocker / "events.sqlite3")
    before = _failures()
    with caplog.at_level(logging.WARNING, logger="app.events.store"):
        assert store.record(LookupEvent(level="BASIC", outcome="matched")) is False
        assert store.record(LookupEvent(level="BASIC", outcome="matched")) is False
    assert _failures() == before + 2
    warnings = [r for r in caplog.records if "could not record lookup event" in r.getMessage()]
    assert len(warnings) == 1  # logged once per minute, counted every time
    with pytest.raises(EventStoreError, match="not writable"):
        store.check()


def test_record_gives_up_quickly_while_another_writer_holds_the_lock(tmp_path):
    store = EventStore(tmp_path / "events.sqlite3", busy_timeout_ms=50)
    assert store.record(LookupEvent(level="BASIC", outcome="matched"))
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        before = _failures()
        began = time.monotonic()
        assert store.record(LookupEvent(level="BASIC", outcome="matched")) is False
        assert time.monotonic() - began < 2.0
        assert _failures() == before + 1
        with pytest.raises(EventStoreError):
            store.check()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.record(LookupEvent(level="BASIC", outcome="matched")) is True
    assert store.count() == 2
    store.close()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores directory permissions; covered by the file-as-directory test")
def test_record_never_raises_in_read_only_directory(tmp_path):
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        store = EventStore(directory / "events.sqlite3")
        assert store.record(LookupEvent(level="BASIC", outcome="matched")) is False
        with pytest.raises(EventStoreError):
            store.check()
    finally:
        directory.chmod(0o700)


def test_check_and_integrity_on_a_healthy_store(store):
    store.check()
    assert store.integrity_check() is True


def test_integrity_check_reports_a_corrupt_file(tmp_path):
    path = tmp_path / "events.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = EventStore(path)
    assert store.integrity_check() is False
    assert store.record(LookupEvent(level="BASIC", outcome="matched")) is False
    with pytest.raises(EventStoreError):
        store.check()


@pytest.mark.slow
def test_concurrent_processes_lose_and_double_nothing(tmp_path):
    path = str(tmp_path / "events.sqlite3")
    EventStore(path).check()  # schema exists; the workers race on the inserts
    # spawn, not fork: forking the test process, which runs other tests' background threads
    # (retention, batching, webhook senders), could copy a lock some thread held and hang a child
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=write_events, args=(path, k, 200, start)) for k in range(4)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    conn = sqlite3.connect(path)
    counts = conn.execute("SELECT COUNT(*), COUNT(DISTINCT correlation_id) FROM lookup_events")
    assert counts.fetchone() == (800, 800)
    assert conn.execute("SELECT SUM(lookups) FROM lookup_hourly").fetchone() == (800,)
    conn.close()


def test_prune_deletes_only_old_events_in_batches(store):
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    for days in (200, 100, 91, 89, 1, 0):
        store.record(LookupEvent(level="BASIC", outcome="matched", ts=now - timedelta(days=days)))
    assert store.prune(90, now=now, batch_size=2) == 3
    assert store.count() == 3
    assert store.prune(90, now=now) == 0
    # the hourly totals follow the deletes
    everything = store.summary(now - timedelta(days=365), now + timedelta(days=1))
    assert everything.lookups == everything.matched == 3


def test_bulk_insert_with_index_rebuild_keeps_indexes_and_totals(store):
    from app.events.schema import INDEXES, event_row

    rows = [event_row(LookupEvent(level="BASIC", outcome="error", ts=T0 + timedelta(minutes=i)))
            for i in range(120)]
    assert store.insert_rows(rows, batch_size=50, rebuild_indexes=True) == 120
    names = {r[0] for r in store._read("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(INDEXES) <= names
    assert store.summary(T0, T0 + timedelta(hours=3)).errors == 120


def test_fork_opens_a_fresh_connection(store):
    store.record(LookupEvent(level="BASIC", outcome="matched"))
    parent_conn = store._connection()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's connection
        ok = store._connection() is not parent_conn and store.record(
            LookupEvent(level="BASIC", outcome="matched"))
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert store.count() == 2


def test_short_lived_threads_leave_no_open_connections(tmp_path):
    import threading

    store = EventStore(tmp_path / "events.sqlite3")
    for _ in range(50):
        worker = threading.Thread(target=store.count)
        worker.start()
        worker.join()
    store.count()  # opening this thread's connection closes the dead threads' ones
    assert len(store._connections) <= 2
    store.close()
