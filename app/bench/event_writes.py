"""Bench rows for the event store: write throughput of each backend, and what psycopg costs a worker.

``measure`` records the same lookup events from 8 threads (a worker's request threads) into
SQLite (one short transaction each, as EventStore does) and into a local PostgreSQL (queued and
written in batches by PostgresEventStore), counting until every event is stored. It also
measures the resident memory of a freshly built API app in a subprocess, on SQLite and with
``OGTK_EVENTS_URL`` (psycopg loaded), against the 60 MiB per-worker target; and, when
SQLAlchemy happens to be installed, what importing it would add (why the store does not use it).

>>> results["event_writes"] = measure(work, say=say)
>>> rows(results)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from ..cluster.servers import PostgresServer, ServerUnavailable
from ..events import EventStore, LookupEvent

Row = tuple[str, str, str]  # as app.bench.report's rows (which imports this module, so not from there)

EVENTS, THREADS = 20_000, 8
WORKER_RSS_TARGET_MIB = 60.0

_RSS_PROBE = r"""
import json, os, re, sys, tempfile
def rss():
    return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024
os.environ.update(OGTK_DATA_DIR=tempfile.mkdtemp(), ORDERGROOVE_BASE_URL="http://127.0.0.1:9",
                  OGTK_ALLOW_UNAUTHENTICATED="1")
from app import create_app
create_app()
out = {"sqlite": rss()}
import psycopg
out["psycopg"] = rss()
try:
    import sqlalchemy
    from sqlalchemy.dialects import postgresql, sqlite
    sqlalchemy.create_engine("postgresql+psycopg://x@127.0.0.1:9/x")
    out["sqlalchemy"] = rss()
except ImportError:
    pass
print(json.dumps(out))
"""


def _events(n: int) -> list[LookupEvent]:
    return [LookupEvent.create(level="BASIC" if i % 2 else "DETAILED", outcome="matched" if i % 5 else "unmatched",
                               gladly_customer_id=f"g{i % 500}", duration_ms=3.0 + i % 40, correlation_id=f"c{i}")
            for i in range(n)]


def _throughput(store, events: list[LookupEvent], done: Callable[[], None]) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(store.record, events, chunksize=256))
    done()
    return len(events) / (time.perf_counter() - started)


def worker_rss_mib() -> dict[str, float]:
    """Resident MiB of a built API app: on SQLite, with psycopg, and with SQLAlchemy if present."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OGTK_", "PROMETHEUS_"))}
    done = subprocess.run([sys.executable, "-c", _RSS_PROBE], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(work: Path, *, events: int = EVENTS, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Events per second into each backend (``postgres`` is None without a PostgreSQL server)."""
    batch = _events(events)
    results: dict[str, Any] = {"events": events}
    say(f"event writes: {events:,} lookups from {THREADS} threads into SQLite …")
    with EventStore(work / "bench-events.sqlite3") as sqlite:
        results["sqlite"] = _throughput(sqlite, batch, lambda: None)
        results["sqlite_stored"] = sqlite.count()
    results["postgres"] = None
    try:
        server = PostgresServer().start()
    except ServerUnavailable as exc:
        say(f"skipping the PostgreSQL event row: {exc}")
    else:
        try:
            from ..events.postgres import PostgresEventStore

            say(f"event writes: {events:,} lookups from {THREADS} threads into PostgreSQL (batched) …")
            with PostgresEventStore(server.url) as postgres:
                postgres.ensure_schema()
                results["postgres"] = _throughput(postgres, batch, lambda: postgres.flush(timeout_s=300))
                results["postgres_stored"] = postgres.count()
        finally:
            server.stop()
    say("resident memory of an API app per event backend …")
    results["rss_mib"] = worker_rss_mib()
    return results


def _verdict(ok: bool, target: str) -> str:
    return f"{target} {'✅' if ok else '❌ missed'}"


def rows(results: dict[str, Any]) -> list[Row]:
    """The event-write rows of ``make bench``."""
    r = results.get("event_writes")
    if not r:
        return []
    out: list[Row] = [(f"Event writes, SQLite (EventStore, {THREADS} threads, {r['events']:,} lookups)",
                       f"{r['sqlite']:,.0f} events/s · stored {r['sqlite_stored']:,}",
                       _verdict(r["sqlite_stored"] == r["events"], "none lost"))]
    if r.get("postgres") is not None:
        out.append((f"Event writes, PostgreSQL (OGTK_EVENTS_URL, batched, {THREADS} threads)",
                    f"{r['postgres']:,.0f} events/s = {r['postgres'] / r['sqlite']:.1f}× SQLite · "
                    f"stored {r['postgres_stored']:,}", _verdict(r["postgres_stored"] == r["events"], "none lost")))
    rss = r.get("rss_mib") or {}
    if rss:
        with_pg = rss.get("psycopg", rss["sqlite"])
        extra = (f" · SQLAlchemy would add {rss['sqlalchemy'] - with_pg:.0f} MiB more"
                 if "sqlalchemy" in rss else "")
        out.append(("API app resident memory, SQLite events → with psycopg (OGTK_EVENTS_URL)",
                    f"{rss['sqlite']:.0f} MiB → {with_pg:.0f} MiB{extra}",
                    _verdict(with_pg <= WORKER_RSS_TARGET_MIB, f"≤ {WORKER_RSS_TARGET_MIB:.0f} MiB")))
    return out
