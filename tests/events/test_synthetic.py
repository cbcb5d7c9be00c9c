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


def test_demo_history_has_reasons_hashes_suggestions_actions_and_webhooks(seeded):
    window = (NOW - timedelta(days=30), NOW)
    assert seeded.is_synthetic() is True
    profiles = seeded.unmatched_profiles(*window, limit=None)
    assert set(profiles["key_kind"]) == {"gladly_id", "email_hash", "external_id"}
    assert set(profiles["reason"]) == {"id unknown to Ordergroove", "email not in Ordergroove",
                                       "several Ordergroove customers share this email",
                                       "Ordergroove failed"}
    assert profiles["suggestion"].notna().sum() >= 3
    assert profiles["lookups"].iloc[0] >= 10  # the long tail of BASIC repeats
    trend = seeded.unmatched_trend(*window)
    assert len(trend) == 31 and (trend["profiles"] > 0).sum() >= 29  # a shape on every day
    assert len(seeded.top_reasons(*window)) == 4
    conn = sqlite3.connect(seeded.path)
    hashes, partial = conn.execute(
        "SELECT COUNT(*) FILTER (WHERE length(email_hashes) >= 64), SUM(partial) FROM lookup_events").fetchone()
    conn.close()
    assert hashes > N * 0.2 and 0 < partial < N * 0.01
    actions = seeded.action_counts(*window, bucket="day")
    assert actions["count"].sum() > 500 and set(actions.loc[actions["count"] > 0, "outcome"]) == {
        "done", "invalid", "rejected", "error"}
    hooks = seeded.webhook_summary(*window)
    assert hooks.deliveries > 5000 and hooks.signature_failures > 0 and hooks.last_received is not None


def test_measure_queries_times_the_unmatched_views(seeded):
    assert {"unmatched_profiles", "unmatched_trend", "top_reasons"} <= set(measure_queries(seeded, now=NOW))
