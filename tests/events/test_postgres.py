"""The PostgreSQL event store against a real server: migrations, batching, sharing, outages."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from app import metrics
from app.events import ActionEvent, EventStoreError, LookupEvent, WebhookEvent, open_event_store
from app.events import dialect, schema
from app.events.schema import event_row
from app.events.postgres import _SCHEMA_TABLE, PostgresEventStore, migrate, redact
from app.settings import Settings, SettingsError


def _lookup(n: int, **fields) -> LookupEvent:
    return LookupEvent.create(level="BASIC", outcome="matched" if n % 3 else "unmatched",
                              gladly_customer_id=f"g{n}", correlation_id=f"c{n}", **fields)


def _tables(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("lookup_events", "action_events", "webhook_events")}


def test_instances_starting_at_once_migrate_the_schema_exactly_once(postgres_url):
    stores = [PostgresEventStore(postgres_url) for _ in range(8)]
    barrier = threading.Barrier(len(stores))

    def start(store):
        barrier.wait()
        return store.ensure_schema()

    with ThreadPoolExecutor(len(stores)) as pool:
        versions = list(pool.map(start, stores))
    assert versions == [schema.SCHEMA_VERSION] * len(stores)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert conn.execute("SELECT id, version FROM ogtk_schema").fetchall() == [(1, schema.SCHEMA_VERSION)]
        keys = conn.execute("SELECT value FROM ogtk_meta WHERE key = 'email_hash_key'").fetchall()
    assert len(keys) == 1
    hashes = {store.hasher.hash("Ann@Example.com") for store in stores}
    assert len(hashes) == 1, "instances sharing a database must hash emails alike"
    for store in stores:
        store.close()


def test_a_version_1_database_is_upgraded_and_backfilled(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(_SCHEMA_TABLE)
            for statement in dialect._v1():
                conn.execute(statement)
            conn.execute("INSERT INTO ogtk_schema VALUES (1, 1)")
            conn.execute("INSERT INTO lookup_events (ts_ms, hour, level, outcome, external_customer_id, "
                         "duration_ms, upstream_calls, cache_hits, stale) "
                         "VALUES (3600000, 1, 'DETAILED', 'unmatched', 'x1', 1.0, 0, 0, 0)")
        assert migrate(conn) == 1
        assert migrate(conn) == schema.SCHEMA_VERSION  # a second start finds nothing to do
        assert conn.execute("SELECT reason, profile_key FROM lookup_events").fetchall() == [("id_unknown", "x:x1")]


def test_a_burst_of_lookups_is_stored_once_each_in_few_transactions(postgres_url):
    store = PostgresEventStore(postgres_url, batch_size=100)
    store.ensure_schema()
    batches = []
    write = store.write_batch
    store.write_batch = lambda items: (batches.append(len(items)), write(items))
    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(lambda n: store.record(_lookup(n)), range(800)))
    assert store.flush()
    assert store.count() == 800 and sum(batches) == 800
    assert len(batches) < 800 and max(batches) <= 100
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert conn.execute("SELECT COUNT(DISTINCT correlation_id) FROM lookup_events").fetchone()[0] == 800
        assert conn.execute("SELECT SUM(lookups) FROM lookup_hourly").fetchone()[0] == 800
    store.close()


def test_close_stores_everything_queued(postgres_url):
    store = PostgresEventStore(postgres_url)
    for n in range(300):
        store.record(_lookup(n))
    store.record_action(ActionEvent(action="skip", outcome="done", subscription_id="s1"))
    store.record_webhook(WebhookEvent(outcome="applied", event_id="e1"))
    store.close()
    assert _tables(postgres_url) == {"lookup_events": 300, "action_events": 1, "webhook_events": 1}


def test_a_suggestion_lands_on_its_event_even_when_queued_right_behind_it(postgres_url):
    with PostgresEventStore(postgres_url) as store:
        event = _lookup(0, external_customer_id="x9")
        store.record(event)
        assert store.record_suggestion(event.uid, ["og1", "og2", "og1"])
        store.flush()
        assert store._read("SELECT suggestion FROM lookup_events WHERE uid = ?", [event.uid]) == [("og1,og2",)]


def test_pruning_is_one_pruner_at_a_time_and_keeps_the_hourly_totals_right(postgres_url):
    now = datetime.now(timezone.utc)
    with PostgresEventStore(postgres_url) as store, PostgresEventStore(postgres_url) as other:
        for n in range(50):
            store.record(_lookup(n, ts=now - timedelta(days=10 + n % 3)))
            store.record(_lookup(n, ts=now - timedelta(minutes=n)))
        store.flush()
        with psycopg.connect(postgres_url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (0x6F67746B02,))
            assert other.prune(5) == 0  # someone else is pruning
            holder.execute("SELECT pg_advisory_unlock(%s)", (0x6F67746B02,))
        assert store.prune(5, batch_size=7, pause_s=0) == 50
        assert store.count() == 50
        assert store._read("SELECT SUM(lookups) FROM lookup_hourly") == [(50,)]
        assert store.prune(5, min_interval_s=600) == 0  # pruned a moment ago


def test_the_factory_picks_the_backend_from_OGTK_EVENTS_URL(postgres_url, tmp_path):
    env = {"OGTK_DATA_DIR": str(tmp_path), "ORDERGROOVE_BASE_URL": "http://127.0.0.1:9"}
    sqlite = open_event_store(Settings.from_env(env))
    assert type(sqlite).__name__ == "EventStore" and sqlite.path == tmp_path / "events.sqlite3"
    postgres = open_event_store(Settings.from_env({**env, "OGTK_EVENTS_URL": postgres_url}))
    assert isinstance(postgres, PostgresEventStore) and postgres.shared
    postgres.close()
    with pytest.raises(SettingsError, match="OGTK_EVENTS_URL"):
        Settings.from_env({**env, "OGTK_EVENTS_URL": "mysql://db/events"})


def test_the_password_never_shows_in_the_stores_name():
    assert redact("postgresql://ogtk:s3cret@db.internal:5433/events") == "postgresql://ogtk:***@db.internal:5433/events"
    assert "s3cret" not in repr(PostgresEventStore("postgresql://ogtk:s3cret@127.0.0.1:1/x"))


def test_pool_is_bounded_and_every_call_times_out(postgres_url):
    store = PostgresEventStore(postgres_url, pool_size=2, statement_timeout_s=1.0)
    store.ensure_schema()
    with store.pool.connection() as first, store.pool.connection() as second:
        assert first is not second
        with pytest.raises(psycopg.OperationalError, match="no free connection"):
            with store.pool.connection(timeout_s=0.05):
                pass
        with pytest.raises(psycopg.errors.QueryCanceled):
            first.execute("SELECT pg_sleep(5)")
    store.close()


@pytest.fixture
def paused_later(postgres_server):
    """The session's server is running again after the test, whatever the test did to it."""
    yield postgres_server
    if not postgres_server.started:
        postgres_server.resume()


def _eventually(condition, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_server_stopped_mid_load_recording_never_fails_and_recovers_by_itself(postgres_url, paused_later):
    server = paused_later
    max_queue, batch_size = 50, 10
    store = PostgresEventStore(postgres_url, max_queue=max_queue, batch_size=batch_size,
                               connect_timeout_s=1.0, probe_remember_s=0)
    for n in range(20):
        store.record(_lookup(n))
    assert store.flush() and store.count() == 20
    store.check_server()
    failures_before = metrics.EVENT_WRITE_FAILURES._value.get()

    server.pause()
    assert store.record(_lookup(20))  # queued; the writer tries it and finds the server gone
    assert _eventually(lambda: store._writer().failing_since is not None)
    accepted, slowest = [], 0.0
    for n in range(21, 120):
        started = time.monotonic()
        accepted.append(store.record(_lookup(n)))  # never raises, never waits
        slowest = max(slowest, time.monotonic() - started)
    assert slowest < 1.0, "record() must not wait on a server known to be down"
    assert store._writer().depth <= max_queue
    with pytest.raises(EventStoreError, match="unreachable"):
        store.check_server()
    store.check()  # this process is fine: readiness must not fail on the shared server
    assert False in accepted, "the queue is bounded: what does not fit is refused"

    server.resume()
    assert store.flush(timeout_s=30)
    store.check_server()
    stored = store.count()
    lost = metrics.EVENT_WRITE_FAILURES._value.get() - failures_before
    assert lost >= accepted.count(False)
    assert stored + lost == 120, "every event is stored or counted lost, none twice"
    # what waited in memory is at most the queue plus the batch in the writer's hands
    assert stored - 20 <= max_queue + batch_size and lost >= 100 - max_queue - batch_size
    store.record(_lookup(999))
    assert store.flush() and store.count() == stored + 1
    store.close()


_WORKER = r"""
import json, os, sys
from app import create_app
from app.events import LookupEvent
app = create_app()
events = app.extensions["ogtk"].events
events.record(LookupEvent.create(level="BASIC", outcome="matched"))
events.flush()
print(json.dumps({"store": type(events).__name__, "count": events.count(),
                  "loaded": sorted(m for m in ("pandas", "numpy", "sqlalchemy", "streamlit", "psycopg")
                                   if m in sys.modules)}))
"""


def test_an_api_worker_on_postgres_loads_psycopg_but_no_sqlalchemy_or_pandas(postgres_url, tmp_path):
    import json
    import subprocess
    import sys

    from app.processes import ROOT, clean_env

    env = clean_env({"OGTK_DATA_DIR": tmp_path, "ORDERGROOVE_BASE_URL": "http://127.0.0.1:9",
                     "OGTK_ALLOW_UNAUTHENTICATED": "1", "OGTK_EVENTS_URL": postgres_url})
    done = subprocess.run([sys.executable, "-c", _WORKER], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"store": "PostgresEventStore", "count": 1, "loaded": ["psycopg"]}


def test_while_the_server_is_unreachable_lookups_do_not_each_try_for_the_hash_key():
    from app.processes import free_port

    store = PostgresEventStore(f"postgresql://ogtk@127.0.0.1:{free_port()}/none", connect_timeout_s=1.0)
    attempts = []
    connect = store.pool._open
    store.pool._open = lambda: (attempts.append(1), connect())[1]
    assert store.hasher is None and store.hasher is None and store.hasher is None
    assert len(attempts) == 1  # again only after RETRY_HASH_KEY_S
    assert store.record(_lookup(1)) is True  # queued; the writer counts it lost if it never gets through
    store.close()


def test_a_batch_written_again_after_a_lost_commit_answer_stores_each_lookup_once(postgres_url):
    with PostgresEventStore(postgres_url) as store:
        events = [("lookup", event_row(_lookup(n))) for n in range(10)]
        store.write_batch(events[:6])  # committed, but say the writer never heard so and retries:
        store.write_batch(events)
        assert store.count() == 10
        assert store._read("SELECT SUM(lookups) FROM lookup_hourly") == [(10,)]
