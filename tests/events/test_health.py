"""Link-health queries on a hand-built set of events with exactly known answers."""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from app.events import LookupEvent, previous_window, seed_synthetic_events

DAY = datetime(2026, 1, 10, tzinfo=timezone.utc)
NEXT_DAY = DAY + timedelta(days=1)


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return DAY + timedelta(hours=int(hours), minutes=int(minutes))


# (time, gladly id, level, outcome, external id, emails); event k (1-based) lasts k*10 ms and
# made k % 3 upstream calls and 1 cache hit. g1 and g2a/g2/g6 repeat BASIC lookups: per request
# 3 of 14 answered lookups matched, per customer 3 of 7.
EVENTS = [
    ("01:05", "g1", "BASIC", "unmatched", None, ["A.Person@X.com"]),
    ("01:20", "g1", "BASIC", "unmatched", None, ["a.person@x.com"]),
    ("02:10", "g1", "BASIC", "unmatched", None, ["a.person@x.com"]),
    ("02:40", "g1", "BASIC", "unmatched", None, ["a.person@x.com"]),
    ("03:00", "g1", "DETAILED", "matched", "og1", []),
    ("01:10", "g2a", "BASIC", "unmatched", "ext-2", []),
    ("04:10", "g2a", "BASIC", "unmatched", "ext-2", []),
    ("05:10", "g2", "BASIC", "unmatched", "ext-2", []),
    ("02:00", "g6", "BASIC", "unmatched", None, ["bea@y.com"]),
    ("05:30", "g6", "BASIC", "unmatched", None, ["bea@y.com"]),
    ("06:00", "g6", "BASIC", "unmatched", None, ["bea@y.com"]),
    ("03:30", "g3", "BASIC", "matched", None, ["cy@z.com"]),
    ("04:00", "g4", "BASIC", "ambiguous", None, ["shared@x.com"]),
    ("04:30", "g5", "DETAILED", "error", "og5", []),
    ("23:59", None, "BASIC", "matched", "ext-9", []),
]


@pytest.fixture
def filled(store):
    for k, (hhmm, gladly, level, outcome, external, emails) in enumerate(EVENTS, start=1):
        assert store.record(LookupEvent.create(
            ts=at(hhmm), gladly_customer_id=gladly, level=level, outcome=outcome,
            external_customer_id=external, raw_emails=emails,
            matched_customer_id=external if outcome == "matched" else None,
            duration_ms=k * 10.0, upstream_calls=k % 3, cache_hits=1, stale=(k == 5),
            correlation_id=f"c{k}", error_code="ordergroove_timeout" if outcome == "error" else None))
    # just outside the window on either side (the window is half-open: [start, end))
    store.record(LookupEvent(ts=DAY - timedelta(minutes=1), gladly_customer_id="g1", level="BASIC",
                             outcome="matched", duration_ms=9999))
    store.record(LookupEvent(ts=NEXT_DAY, gladly_customer_id="g7", level="BASIC", outcome="unmatched",
                             external_customer_id="ext-7", duration_ms=9999))
    return store


def test_summary_exact_numbers(filled):
    s = filled.summary(DAY, NEXT_DAY)
    assert (s.lookups, s.matched, s.unmatched, s.ambiguous, s.errors, s.stale) == (15, 3, 10, 1, 1, 1)
    assert s.match_rate_per_request == pytest.approx(3 / 14)
    assert (s.customers, s.customers_asked, s.customers_matched) == (8, 7, 3)
    assert s.match_rate_per_customer == pytest.approx(3 / 7)
    assert s.match_rate_per_customer > s.match_rate_per_request  # repeats overstate misses
    assert (s.p50_ms, s.p95_ms, s.p99_ms) == (80.0, 150.0, 150.0)
    assert s.mean_upstream_calls == pytest.approx(1.0)
    assert s.cache_hit_share == pytest.approx(0.5)
    assert s.as_dict()["lookups"] == 15


def test_summary_level_filter(filled):
    basic = filled.summary(DAY, NEXT_DAY, level="BASIC")
    assert (basic.lookups, basic.matched, basic.unmatched, basic.ambiguous, basic.errors) == (13, 2, 10, 1, 0)
    assert (basic.customers, basic.customers_asked, basic.customers_matched) == (7, 7, 2)
    assert basic.match_rate_per_request == pytest.approx(2 / 13)
    assert (basic.p50_ms, basic.p95_ms) == (80.0, 150.0)
    detailed = filled.summary(DAY, NEXT_DAY, level="DETAILED")
    assert (detailed.lookups, detailed.matched, detailed.errors) == (2, 1, 1)
    assert detailed.match_rate_per_request == 1.0
    with pytest.raises(ValueError):
        filled.summary(DAY, NEXT_DAY, level="basic")


def test_summary_window_not_on_hour_boundaries(filled):
    s = filled.summary(at("01:15"), at("04:15"))
    assert (s.lookups, s.matched, s.unmatched, s.ambiguous, s.errors) == (8, 2, 5, 1, 0)
    inside_one_hour = filled.summary(at("01:00"), at("01:15"))
    assert (inside_one_hour.lookups, inside_one_hour.unmatched) == (2, 2)


def test_empty_window(filled):
    s = filled.summary(DAY + timedelta(days=5), DAY + timedelta(days=6))
    assert s.lookups == 0 and s.customers == 0
    assert s.match_rate_per_request is None and s.match_rate_per_customer is None
    assert s.p50_ms is None and s.mean_upstream_calls is None and s.cache_hit_share is None


def test_customer_identity_falls_back_to_external_id_then_emails(store):
    for external, emails, outcome in [("x1", [], "unmatched"), ("x1", [], "matched"),
                                      (None, ["pat@q.com"], "unmatched"), (None, ["pam@q.com"], "unmatched")]:
        store.record(LookupEvent.create(ts=at("10:00"), level="BASIC", outcome=outcome,
                                        external_customer_id=external, raw_emails=emails))
    s = store.summary(DAY, NEXT_DAY)
    # x1 is one customer (linked); both emails mask to p***@q.com, so they count as one
    assert (s.customers, s.customers_asked, s.customers_matched) == (2, 2, 1)


def test_trend_by_hour(filled):
    trend = filled.trend(DAY, at("07:00"), "hour")
    assert list(trend.columns) == ["bucket_start", "matched", "unmatched", "ambiguous", "error", "match_rate"]
    assert list(trend["bucket_start"]) == [at(f"{h:02d}:00") for h in range(7)]
    assert trend["matched"].tolist() == [0, 0, 0, 2, 0, 0, 0]
    assert trend["unmatched"].tolist() == [0, 3, 3, 0, 1, 2, 1]
    assert trend["ambiguous"].tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert trend["error"].tolist() == [0, 0, 0, 0, 1, 0, 0]
    rates = trend["match_rate"].tolist()
    assert math.isnan(rates[0]) and rates[1:4] == [0.0, 0.0, 1.0] and rates[4] == 0.0


def test_trend_by_day_and_level(filled):
    trend = filled.trend(DAY - timedelta(days=1), NEXT_DAY + timedelta(days=1), "day")
    assert list(trend["bucket_start"]) == [DAY - timedelta(days=1), DAY, NEXT_DAY]
    assert trend[["matched", "unmatched", "ambiguous", "error"]].values.tolist() == [
        [1, 0, 0, 0], [3, 10, 1, 1], [0, 1, 0, 0]]
    assert trend["match_rate"].tolist()[:2] == [1.0, pytest.approx(3 / 14)]
    detailed = filled.trend(DAY, NEXT_DAY, "day", level="DETAILED")
    assert detailed[["matched", "unmatched", "error"]].values.tolist() == [[1, 0, 1]]
    with pytest.raises(ValueError):
        filled.trend(DAY, NEXT_DAY, "week")


def test_unmatched_ids(filled):
    table = filled.unmatched_ids(DAY, NEXT_DAY)
    assert list(table.columns) == [
        "identifier", "kind", "gladly_customer_id", "count", "first_seen", "last_seen"]
    assert table[["identifier", "kind", "gladly_customer_id", "count"]].values.tolist() == [
        ["a***@x.com", "email", "g1", 4],
        ["b***@y.com", "email", "g6", 3],  # ties on count: the more recent first
        ["ext-2", "externalCustomerId", "g2", 3],  # the latest Gladly id asking for it
    ]
    assert table["first_seen"].tolist() == [at("01:05"), at("02:00"), at("01:10")]
    assert table["last_seen"].tolist() == [at("02:40"), at("06:00"), at("05:10")]
    assert len(filled.unmatched_ids(DAY, NEXT_DAY, limit=2)) == 2


def test_unmatched_ids_window_level_and_outcome(filled):
    later = filled.unmatched_ids(at("03:00"), at("07:00"))
    assert later[["identifier", "count", "gladly_customer_id"]].values.tolist() == [
        ["b***@y.com", 2, "g6"], ["ext-2", 2, "g2"]]
    assert filled.unmatched_ids(DAY, NEXT_DAY, level="DETAILED").empty
    ambiguous = filled.unmatched_ids(DAY, NEXT_DAY, outcome="ambiguous")
    assert ambiguous[["identifier", "count", "gladly_customer_id"]].values.tolist() == [
        ["s***@x.com", 1, "g4"]]


def test_latency_percentiles(filled):
    p = filled.latency_percentiles(DAY, NEXT_DAY)
    assert (p.count, p.p50_ms, p.p95_ms, p.p99_ms) == (15, 80.0, 150.0, 150.0)
    assert filled.latency_percentiles(at("01:00"), at("02:00")).p50_ms == 20.0  # 10, 20, 60
    assert filled.latency_percentiles(NEXT_DAY + timedelta(days=3), NEXT_DAY + timedelta(days=4)).count == 0


def test_latency_percentiles_index_walk_matches_sorting(store, monkeypatch):
    import numpy as np

    from app.events import health

    now = datetime(2026, 2, 1, tzinfo=timezone.utc)
    seed_synthetic_events(store, 3000, seed=3, now=now, days=10)
    start, end = now - timedelta(days=6, minutes=7), now - timedelta(days=1, minutes=3)
    fetched = store.latency_percentiles(start, end, level="DETAILED")
    monkeypatch.setattr(health, "_FETCH_PERCENTILES_UP_TO", 0)  # force the duration-index walk
    walked = store.latency_percentiles(start, end, level="DETAILED")
    assert walked == fetched
    conn = sqlite3.connect(store.path)
    values = np.sort([r[0] for r in conn.execute(
        "SELECT duration_ms FROM lookup_events WHERE ts_ms >= ? AND ts_ms < ? AND level = 'DETAILED'",
        (int(start.timestamp() * 1000), int(end.timestamp() * 1000)))])
    conn.close()
    n = len(values)
    assert walked.count == n
    assert walked.p50_ms == values[math.ceil(0.5 * n) - 1]
    assert walked.p99_ms == values[math.ceil(0.99 * n) - 1]


def test_recent_errors(filled):
    errors = filled.recent_errors()
    assert len(errors) == 1
    row = errors.iloc[0]
    assert (row["ts"], row["level"], row["error_code"], row["gladly_customer_id"]) == (
        at("04:30"), "DETAILED", "ordergroove_timeout", "g5")
    for k in range(60):
        filled.record(LookupEvent(ts=DAY + timedelta(days=2, minutes=k), level="BASIC",
                                  outcome="error", error_code=f"e{k}"))
    latest = filled.recent_errors(limit=50)
    assert len(latest) == 50 and latest["error_code"].iloc[0] == "e59"
    assert latest["ts"].is_monotonic_decreasing
    assert len(filled.recent_errors(start=DAY, end=NEXT_DAY)) == 1


def test_previous_window():
    assert previous_window(DAY, NEXT_DAY) == (DAY - timedelta(days=1), DAY)
    start, end = at("01:00"), at("01:30")
    assert previous_window(start, end) == (at("00:30"), start)


def test_hourly_totals_agree_with_raw_counts_on_any_window(store):
    now = datetime(2026, 2, 1, 0, 0, tzinfo=timezone.utc)
    seed_synthetic_events(store, 4000, seed=7, now=now, days=3)
    conn = sqlite3.connect(store.path)
    rng = random.Random(1)
    for _ in range(15):
        a = now - timedelta(minutes=rng.randrange(0, 4 * 24 * 60))
        b = a + timedelta(minutes=rng.randrange(1, 3 * 24 * 60))
        level = rng.choice([None, "BASIC", "DETAILED"])
        s = store.summary(a, b, level=level)
        sql = ("SELECT COUNT(*), TOTAL(outcome = 'matched'), TOTAL(outcome = 'error'), TOTAL(stale), "
               "TOTAL(upstream_calls) FROM lookup_events WHERE ts_ms >= ? AND ts_ms < ?")
        params = [int(a.timestamp() * 1000), int(b.timestamp() * 1000)]
        if level:
            sql, params = sql + " AND level = ?", params + [level]
        lookups, matched, errors, stale, upstream = conn.execute(sql, params).fetchone()
        assert (s.lookups, s.matched, s.errors, s.stale) == (lookups, matched, errors, stale)
        assert s.lookups == int(store.trend(a, b, "hour", level=level)[
            ["matched", "unmatched", "ambiguous", "error"]].to_numpy().sum())
    conn.close()
    assert isinstance(store.trend(now - timedelta(days=1), now), pd.DataFrame)


# -- unmatched profiles (issue 13) -------------------------------------------------------------
from app.events import EmailHasher  # noqa: E402

HASHER = EmailHasher(b"test-key")


def _miss(store, when, outcome="unmatched", level="BASIC", **fields):
    assert store.record(LookupEvent.create(ts=when, level=level, outcome=outcome, hasher=HASHER, **fields))


def test_unmatched_profiles_one_row_per_profile_with_reason_and_suggestion(store):
    _miss(store, at("01:00"), gladly_customer_id="g1", raw_emails=["ann@x.com"])
    _miss(store, at("02:00"), gladly_customer_id="g1", raw_emails=["ann@x.com"])
    detailed = LookupEvent.create(ts=at("03:00"), level="DETAILED", outcome="unmatched",
                                  gladly_customer_id="g1", external_customer_id="bad-7", hasher=HASHER)
    assert store.record(detailed) and store.record_suggestion(detailed.uid, ["7781203344"])
    _miss(store, at("04:00"), gladly_customer_id="g1", raw_emails=["ann@x.com"])  # latest: email
    _miss(store, at("01:30"), raw_emails=["nora@example.net"])  # no Gladly id: by hash
    _miss(store, at("01:40"), raw_emails=["ned@example.net"])  # masks alike, counted apart
    _miss(store, at("01:50"), raw_emails=["Ned@Example.net "])  # the same person as ned
    _miss(store, at("05:00"), level="DETAILED", external_customer_id="og-x")  # by external id
    _miss(store, at("06:00"), outcome="ambiguous", gladly_customer_id="g2", raw_emails=["shared@x.com"])
    _miss(store, at("07:00"), outcome="error", gladly_customer_id="g3", external_customer_id="og-3")
    _miss(store, at("08:00"), outcome="matched", gladly_customer_id="g4", external_customer_id="og-4",
          matched_customer_id="og-4")
    _miss(store, DAY - timedelta(hours=1), gladly_customer_id="g-before")

    frame = store.unmatched_profiles(DAY, NEXT_DAY)
    assert list(frame.columns) == ["key_kind", "gladly_customer_id", "external_customer_id",
                                   "masked_email", "reason", "suggestion", "lookups", "first_seen",
                                   "last_seen"]
    rows = {(r.key_kind, r.gladly_customer_id or r.external_customer_id or r.masked_email): r
            for r in frame.itertuples()}
    assert len(frame) == 6
    g1 = rows[("gladly_id", "g1")]
    assert (g1.lookups, g1.reason, g1.suggestion, g1.masked_email) == (
        4, "email not in Ordergroove", "7781203344", "a***@x.com")
    assert (g1.first_seen, g1.last_seen) == (at("01:00"), at("04:00"))
    assert frame.iloc[0].gladly_customer_id == "g1"  # most lookups first
    by_hash = frame[frame["key_kind"] == "email_hash"]
    assert sorted(by_hash["lookups"]) == [1, 2]  # nora and ned: both n***@example.net, apart
    assert set(by_hash["masked_email"]) == {"n***@example.net"}
    assert rows[("external_id", "og-x")].reason == "id unknown to Ordergroove"
    assert rows[("gladly_id", "g2")].reason == "several Ordergroove customers share this email"
    assert rows[("gladly_id", "g3")].reason == "Ordergroove failed"
    assert ("gladly_id", "g4") not in rows
    assert len(store.unmatched_profiles(DAY, NEXT_DAY, level="DETAILED")) == 2  # g1, og-x
    assert len(store.unmatched_profiles(DAY, NEXT_DAY, limit=2)) == 2

    trend = store.unmatched_trend(DAY - timedelta(days=1), NEXT_DAY + timedelta(days=1))
    assert list(trend.columns) == ["bucket", "profiles"]
    assert trend["profiles"].tolist() == [1, 6, 0]
    assert trend["bucket"].iloc[1] == DAY
    hourly = store.unmatched_trend(DAY, DAY + timedelta(hours=3), bucket="hour")
    assert hourly["profiles"].tolist() == [0, 3, 1]  # 01h: g1, nora, ned (twice); 02h: g1

    reasons = store.top_reasons(DAY, NEXT_DAY)
    assert list(reasons.columns) == ["reason", "profiles", "lookups"]
    table = {r.reason: (r.profiles, r.lookups) for r in reasons.itertuples()}
    assert table == {"email not in Ordergroove": (3, 6), "id unknown to Ordergroove": (2, 2),
                     "several Ordergroove customers share this email": (1, 1),
                     "Ordergroove failed": (1, 1)}
    assert reasons.iloc[0].reason == "email not in Ordergroove"


def test_latency_histogram_counts_every_band(filled):
    # durations 10, 20, ..., 150 ms in the day (event k lasts k*10 ms); the two 9999 ms are outside
    frame = filled.latency_histogram(DAY, NEXT_DAY, edges_ms=(15, 50, 100))
    assert list(frame.columns) == ["band", "lookups"]
    assert frame["lookups"].tolist() == [1, 3, 5, 6]  # <15, 15-50, 50-100, >=100
    assert filled.latency_histogram(DAY, NEXT_DAY, level="DETAILED", edges_ms=(15, 50, 100))[
        "lookups"].sum() == 2
    assert len(filled.latency_histogram(DAY, NEXT_DAY)) == 11  # the dashboard's ten edges
