"""Retention pruning: stoppable, never under a closing store, one pruner at a time, nothing lost.

The crash this guards against (issue 8): ``Services.close`` closed every connection of the store,
including the one a background pruner was using at that moment, and the interpreter died with a
segmentation fault. The reproduction runs in a subprocess so a crash is a failed test, not a dead
test run.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone

from app.events import EventStore, LookupEvent, RetentionWorker
from app.events.schema import event_row

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=200)


def _backlog(store: EventStore, n: int) -> None:
    store.insert_rows(event_row(LookupEvent(level="BASIC", outcome="unmatched", gladly_customer_id=f"o{i}",
                                            ts=OLD + timedelta(seconds=i))) for i in range(n))


CLOSE_WHILE_PRUNING = textwrap.dedent("""
    import sys, tempfile, threading
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    from app.events import EventStore, LookupEvent
    from app.events.schema import event_row

    old = datetime(2025, 1, 1, tzinfo=timezone.utc)
    rows = [event_row(LookupEvent(level="BASIC", outcome="matched", ts=old + timedelta(seconds=i)))
            for i in range(3000)]
    for iteration in range(int(sys.argv[1])):
        with tempfile.TemporaryDirectory() as scratch:
            store = EventStore(Path(scratch) / "events.sqlite3")
            store.insert_rows(rows)
            started = threading.Event()

            def prune():
                started.set()
                store.prune(30, batch_size=50, pause_s=0)

            pruner = threading.Thread(target=prune)
            pruner.start()
            started.wait()
            store.close()  # what Services.close did while the pruner ran
            store.count()  # and the next test's setup using the store again
            store.close()
            pruner.join()
            assert store.count() == 0, store.count()
            store.close()
    print("ok")
""")


def test_closing_the_store_while_it_prunes_never_crashes():
    # the old store crashed within its first four iterations every time; twelve keep a margin
    result = subprocess.run([sys.executable, "-c", CLOSE_WHILE_PRUNING, "12"], capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_close_leaves_another_live_threads_connection_alone(store):
    store.check()
    ready, release, seen = threading.Event(), threading.Event(), []

    def worker():
        conn = store._connection()
        ready.set()
        release.wait(10)
        seen.append(conn.execute("SELECT 1").fetchone())  # still open: close() did not touch it
        seen.append(store._connection() is not conn)  # ... and the next use reopens
        store.close_thread_connection()

    thread = threading.Thread(target=worker)
    thread.start()
    ready.wait(10)
    store.close()
    release.set()
    thread.join(10)
    assert seen == [(1,), True]


def test_retention_worker_stops_within_a_batch_and_closes_its_connection(store):
    _backlog(store, 4000)
    worker = RetentionWorker(store, 30, initial_delay_s=0, batch_size=100, pause_s=0.05).start()
    assert worker.stop(timeout=10) is True
    assert not worker.running
    assert all(owner() is not worker._thread for owner, _ in store._connections)
    remaining = store.count()
    assert 0 <= remaining <= 4000
    # a stopped run released its lease: the next one (here, in this thread) prunes everything
    assert store.prune(30) == remaining
    assert store.count() == 0


def test_one_pruner_at_a_time_across_processes(store):
    _backlog(store, 10)
    other = sqlite3.connect(store.path, isolation_level=None)
    far = int((datetime.now(timezone.utc) + timedelta(minutes=5)).timestamp() * 1000)
    other.execute("INSERT INTO ogtk_meta (key, value) VALUES ('prune_lease', ?)", (f"otherhost:1:1 {far}",))
    assert store.prune(30) == 0 and store.count() == 10  # someone else is pruning
    other.execute("UPDATE ogtk_meta SET value = 'otherhost:1:1 1' WHERE key = 'prune_lease'")
    assert store.prune(30) == 10  # their lease expired (they died): this one takes over
    other.close()


def test_a_recent_prune_elsewhere_skips_the_boot_prune(store):
    _backlog(store, 5)
    assert store.prune(30, min_interval_s=600) == 5
    _backlog(store, 5)
    assert store.prune(30, min_interval_s=600) == 0  # another worker booting a minute later
    assert store.prune(30) == 5  # flask prune-events always runs


def test_prune_removes_old_actions_and_webhooks_too(store):
    from app.events import ActionEvent, WebhookEvent

    store.record_action(ActionEvent(action="skip", outcome="done", subscription_id="s", ts=OLD))
    store.record_action(ActionEvent(action="skip", outcome="done", subscription_id="s", ts=NOW))
    store.record_webhook(WebhookEvent(outcome="applied", ts=OLD))
    assert store.prune(90, now=NOW) == 2
    assert len(store.recent_actions(OLD - timedelta(days=1), NOW + timedelta(days=1))) == 1


def _record_while_pruning(path: str, worker: int, threads: int, n: int, start, out) -> None:
    store = EventStore(path, busy_timeout_ms=1000)
    results: list[bool] = []

    def record(thread: int) -> None:
        pace = threading.Event()  # never set: lookups arrive a few ms apart, not in a tight loop
        for i in range(n):
            results.append(store.record(LookupEvent(
                level="BASIC", outcome="matched", gladly_customer_id=f"g{i}",
                correlation_id=f"p{worker}-t{thread}-{i}")))
            pace.wait(0.003)

    start.wait(timeout=60)
    pool = [threading.Thread(target=record, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    store.close()
    out.put(results)


def test_recording_while_a_large_backlog_is_pruned_loses_and_doubles_nothing(store):
    """Three processes with two threads each record while this process prunes 60,000
    old events. Pruning used to delete 10,000 rows per transaction back to back, so writers
    waited past their busy timeout and their events were lost."""
    _backlog(store, 60_000)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no lock copied mid-use
    start, out = context.Barrier(3 + 1), context.Queue()  # recording and pruning start together
    recorders = [context.Process(target=_record_while_pruning, args=(str(store.path), k, 2, 150, start, out))
                 for k in range(3)]
    for process in recorders:
        process.start()
    pruner = EventStore(store.path)
    pruned: list[int] = []
    stop = threading.Event()
    pruning = threading.Thread(target=lambda: pruned.append(pruner.prune(30, stop=stop)))
    start.wait(timeout=60)
    pruning.start()
    results = [out.get(timeout=120) for _ in recorders]
    for process in recorders:
        process.join(30)
    stop.set()  # the recorders are done: the rest of the backlog is not needed to prove anything
    pruning.join(60)
    pruner.close()
    assert [len(r) for r in results] == [300, 300, 300]
    lost = sum(r.count(False) for r in results)
    assert lost == 0, f"{lost} events could not be recorded while pruning"
    conn = sqlite3.connect(store.path)
    try:
        new, distinct, old = conn.execute(
            "SELECT COUNT(*) - SUM(correlation_id IS NULL), COUNT(DISTINCT correlation_id), "
            "SUM(correlation_id IS NULL) FROM lookup_events").fetchone()
        assert (new, distinct) == (900, 900)
        assert pruned and pruned[0] > 0 and pruned[0] + old == 60_000
        assert conn.execute("SELECT SUM(lookups) FROM lookup_hourly").fetchone() == (900 + old,)
        assert conn.execute("SELECT COUNT(*) FROM lookup_hourly WHERE lookups < 0").fetchone() == (0,)
    finally:
        conn.close()


def test_services_close_stops_the_pruner_first(services):
    assert services.retention is not None and services.retention.running  # started at boot
    _backlog(services.events, 5000)
    services.retention.stop()
    worker = services.retention = RetentionWorker(services.events, 30, initial_delay_s=0, batch_size=50).start()
    services.close()  # what the test teardown and gunicorn's worker exit do
    assert not worker.running
    assert all(owner() is not worker._thread for owner, _ in services.events._connections)


def test_the_worker_waits_before_its_first_prune_and_then_prunes(store):
    _backlog(store, 10)
    waiting = RetentionWorker(store, 30, initial_delay_s=60).start()
    assert waiting.stop(timeout=5) and store.count() == 10  # stopped during the delay: nothing done
    worker = RetentionWorker(store, 30, initial_delay_s=0, interval_s=60).start()
    probe = EventStore(store.path)
    for _ in range(500):  # poll with a timeout: the first run ends within a few batches
        if probe.count() == 0:
            break
        threading.Event().wait(0.02)
    assert probe.count() == 0
    assert worker.stop(timeout=10)
    assert worker.removed == 10
    probe.close()
