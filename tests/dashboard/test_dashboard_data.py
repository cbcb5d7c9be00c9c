"""The data module: cached queries against a real event store, KPI deltas, filter and CSV."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from app.events import EventStore
from app.events.health import LinkHealthSummary
from dashboard import data

from dash_support import seed_events


def _store(tmp_path):
    store = EventStore(tmp_path / "events.sqlite3")
    seed_events(store)
    return store


def _window():
    end = datetime.now(timezone.utc) + timedelta(minutes=1)
    return end - timedelta(hours=24), end


def _summary(**overrides):
    base = dict(start=None, end=None, level=None, lookups=0, matched=0, unmatched=0, ambiguous=0,
                errors=0, stale=0, match_rate_per_request=None, customers=0, customers_asked=0,
                customers_matched=0, match_rate_per_customer=None, p50_ms=None, p95_ms=None,
                p99_ms=None, mean_upstream_calls=None, cache_hit_share=None)
    return LinkHealthSummary(**{**base, **overrides})


def test_kpi_deltas_against_the_previous_window():
    now = _summary(lookups=1200, unmatched=30, ambiguous=2, errors=0,
                   match_rate_per_request=0.9, match_rate_per_customer=0.955)
    before = _summary(lookups=1000, unmatched=40, ambiguous=2, errors=3,
                      match_rate_per_request=0.85, match_rate_per_customer=None)
    kpis = {k.label: k for k in data.kpis(now, before)}
    assert (kpis["Lookups"].value, kpis["Lookups"].delta) == ("1,200", "+200")
    assert (kpis["Match rate · per request"].value, kpis["Match rate · per request"].delta) == ("90.0%", "+5.0 pp")
    assert kpis["Match rate · per customer"].value == "95.5%" and kpis["Match rate · per customer"].delta is None
    assert (kpis["Unmatched"].delta, kpis["Unmatched"].delta_color) == ("-10", "inverse")
    assert kpis["Ambiguous"].delta == "+0" and kpis["Errors"].delta == "-3"
    empty = {k.label: k for k in data.kpis(_summary(), _summary())}
    assert empty["Lookups"].delta is None and empty["Match rate · per request"].value == "—"


def test_latency_histogram_counts_every_lookup_in_sql(dashboard_env, tmp_path):
    store = _store(tmp_path)
    start, end = _window()
    histogram = data.latency_histogram(store, str(store.path), start, end, None)
    assert histogram["lookups"].sum() == store.summary(start, end).lookups
    assert histogram.set_index("latency").loc["≥ 4 s", "lookups"] == 5  # the seeded 4 s errors
    empty = EventStore(tmp_path / "absent.sqlite3")
    assert data.latency_histogram(empty, str(empty.path), start, end, None)["lookups"].sum() == 0


def test_trend_long_is_one_row_per_bucket_and_outcome():
    trend = pd.DataFrame({"bucket_start": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
                          "matched": [3, 4], "unmatched": [1, 0], "ambiguous": [0, 0], "error": [0, 1],
                          "match_rate": [0.75, 1.0]})
    long = data.trend_long(trend, "day")
    assert len(long) == 8 and long["lookups"].sum() == 9
    assert (long["bucket_end"] - long["bucket_start"] == pd.Timedelta(days=1)).all()


def test_human_bytes_and_ms():
    assert [data.human_bytes(n) for n in (0, 1536, 5 * 1024**2)] == ["0 B", "1.5 KB", "5.0 MB"]
    assert [data.ms(v) for v in (None, 4.25, 1234.4)] == ["—", "4.2 ms", "1,234 ms"]
