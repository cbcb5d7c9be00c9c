"""Synthetic events: the documented mix, determinism, and the query timer."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from app.events import EventStore, measure_queries, seed_synthetic_events

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
N = 6000


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    store = EventStore(tmp_path_factory.mktemp("synthetic") / "events.sqlite3")
    assert seed_synthetic_events(store, N, seed=11, now=NOW) == N
    yield store
    store.close()


def test_seeds_n_rows_in_the_window(seeded):
    assert seeded.count() == N
    conn = sqlite3.connect(seeded.path)
    lo, hi, ids = conn.execute(
        "SELECT MIN(ts_ms), MAX(ts_ms), COUNT(DISTINCT correlation_id) FROM lookup_events").fetchone()
    conn.close()
    assert (NOW - timedelta(days=30)).timestamp() * 1000 <= lo and hi < NOW.timestamp() * 1000
    assert ids == N


def test_documented_mix(seeded):
    s = seeded.summary(NOW - timedelta(days=30), NOW)
    assert s.lookups == N
    assert s.matched / N == pytest.approx(0.75, abs=0.03)
    assert s.unmatched / N == pytest.approx(0.20, abs=0.03)
    assert s.ambiguous / N == pytest.approx(0.03, abs=0.01)
    assert s.errors / N == pytest.approx(0.02, abs=0.01)
    basic = seeded.summary(NOW - timedelta(days=30), NOW, level="BASIC")
    assert basic.lookups / N == pytest.approx(0.70, abs=0.03)
    # repeated BASIC lookups of unlinked customers: per customer looks better than per request
    assert s.match_rate_per_customer > s.match_rate_per_request + 0.03
    assert 10 < s.p50_ms < 200 and s.p99_ms > s.p95_ms > s.p50_ms
    assert 0 < s.stale < s.matched * 0.05


def test_unmatched_long_tail(seeded):
    table = seeded.unmatched_ids(NOW - timedelta(days=30), NOW)
    assert table["count"].iloc[0] >= 10  # the most repeated unmatched identifier
    assert (table["count"] == 1).any()  # and a tail asked once
    assert set(table["kind"]) == {"email", "externalCustomerId"}
    assert table["identifier"].str.contains(r"\*\*\*@|^og-9", regex=True).all()


def test_same_seed_same_events(tmp_path, seeded):
    again = EventStore(tmp_path / "again.sqlite3")
    seed_synthetic_events(again, N, seed=11, now=NOW)
    window = (NOW - timedelta(days=30), NOW)
    assert again.summary(*window) == seeded.summary(*window)
    other = EventStore(tmp_path / "other.sqlite3")
    seed_synthetic_events(other, N, seed=12, now=NOW)
    assert other.summary(*window) != seeded.summary(*window)


def test_measure_queries_times_every_query(seeded):
    timings = measure_queries(seeded, now=NOW)
    assert {"summary", "trend_hour", "trend_day", "unmatched_ids", "latency_percentiles",
            "recent_errors", "summary_previous_window"} <= set(timings)
    assert all(0 < seconds < 5 for seconds in timings.values())
