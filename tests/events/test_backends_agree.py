"""SQLite and PostgreSQL give identical link-health numbers for the same events (CONTRACT 5, 10).

The same events (lookups of every outcome and level over three days, suggestions, actions and
webhooks) are recorded into an :class:`EventStore` and a :class:`PostgresEventStore` backed by a
real PostgreSQL server; then every query the dashboard calls is run on both, with windows that
cut hours in half and windows of whole hours, per level, and the results must be equal.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from app.events import ActionEvent, EmailHasher, EventStore, LookupEvent, WebhookEvent, health
from app.events import dialect, schema

NOW = datetime(2026, 11, 20, 12, 34, 56, 789000, tzinfo=timezone.utc)
WINDOWS = {
    "three days, ragged edges": (NOW - timedelta(days=3, minutes=17), NOW),
    "whole hours": (datetime(2026, 11, 18, 6, tzinfo=timezone.utc), datetime(2026, 11, 20, 6, tzinfo=timezone.utc)),
    "inside one hour": (NOW - timedelta(minutes=50), NOW - timedelta(minutes=5)),
    "empty": (NOW + timedelta(days=1), NOW + timedelta(days=2)),
}
LEVELS = (None, "DETAILED")  # BASIC is what is left of both
OUTCOMES = ("matched", "matched", "matched", "unmatched", "ambiguous", "error")


def _events(hasher: EmailHasher):
    rng = random.Random(12)
    lookups, suggestions = [], []
    for n in range(700):
        ts = NOW - timedelta(milliseconds=n * 370_117 + rng.randrange(1000))  # unique, over ~3 days
        outcome = rng.choice(OUTCOMES)
        who = rng.randrange(60)
        event = LookupEvent.create(
            level=rng.choice(("BASIC", "DETAILED")), outcome=outcome, ts=ts,
            gladly_customer_id=f"g{who}" if who % 3 else None,
            external_customer_id=f"x{who % 25}" if who % 4 == 0 else None,
            matched_customer_id=f"og{who}" if outcome == "matched" else None,
            raw_emails=[f"person{who % 40}@example.com"] if who % 5 else [],
            hasher=hasher, duration_ms=round(rng.lognormvariate(3, 1), 3),
            upstream_calls=rng.randrange(5), cache_hits=rng.randrange(4), stale=rng.random() < 0.1,
            partial=rng.random() < 0.05, error_code="timeout" if outcome == "error" else None,
            correlation_id=f"c{n}")
        lookups.append(event)
        if outcome == "unmatched" and event.external_customer_id and n % 2:
            suggestions.append((event.uid, [f"og{who}", "og7"]))
    actions = [ActionEvent(action=rng.choice(("cancel", "skip")),
                           outcome=rng.choice(("done", "invalid", "rejected", "error")),
                           subscription_id=f"s{n}", customer_id=f"og{n % 9}", order_id=f"o{n}",
                           og_status=rng.choice((200, 400, None)), duration_ms=n * 1.5,
                           ts=NOW - timedelta(minutes=n * 37, milliseconds=n))
               for n in range(120)]
    webhooks = [WebhookEvent(outcome=rng.choice(("applied", "duplicate", "ignored", "rejected")),
                             event_id=f"e{n}", type=rng.choice(("subscription.cancelled", "order.skipped", None)),
                             customer_id=f"og{n % 9}", duration_ms=n / 3,
                             ts=NOW - timedelta(minutes=n * 29, milliseconds=n))
                for n in range(150)]
    return lookups, suggestions, actions, webhooks


def _seed(store, hasher):
    lookups, suggestions, actions, webhooks = _events(hasher)
    for event in lookups:
        assert store.record(event)
    for uid, ids in suggestions:
        assert store.record_suggestion(uid, ids)
    for event in actions:
        assert store.record_action(event)
    for event in webhooks:
        assert store.record_webhook(event)


@pytest.fixture(scope="module")
def stores(postgres_server, tmp_path_factory):
    from app.events.postgres import PostgresEventStore

    hasher = EmailHasher(b"the same key on both")
    sqlite = EventStore(tmp_path_factory.mktemp("agree") / "events.sqlite3", hasher=hasher)
    postgres = PostgresEventStore(postgres_server.create_database("agree"), hasher=hasher)
    for store in (sqlite, postgres):
        _seed(store, hasher)
    assert postgres.flush()
    yield sqlite, postgres
    sqlite.close()
    postgres.close()


def _queries():
    for window_name, (start, end) in WINDOWS.items():
        for level in LEVELS:
            at = f"{window_name}, {level or 'both levels'}"
            yield f"summary: {at}", lambda s, a=start, b=end, l=level: s.summary(a, b, l)
            yield f"latency: {at}", lambda s, a=start, b=end, l=level: s.latency_percentiles(a, b, l)
            yield f"unmatched profiles: {at}", lambda s, a=start, b=end, l=level: s.unmatched_profiles(a, b, l)
            yield f"top reasons: {at}", lambda s, a=start, b=end, l=level: s.top_reasons(a, b, l)
            yield f"latency bands: {at}", lambda s, a=start, b=end, l=level: s.latency_bands(a, b, l)
            for bucket in ("hour", "day"):
                yield f"trend by {bucket}: {at}", lambda s, a=start, b=end, l=level, k=bucket: s.trend(a, b, k, l)
                yield (f"unmatched trend by {bucket}: {at}",
                       lambda s, a=start, b=end, l=level, k=bucket: s.unmatched_trend(a, b, k, l))
            for outcome in ("unmatched", "ambiguous", "error", "matched"):
                yield (f"unmatched ids ({outcome}): {at}",
                       lambda s, a=start, b=end, l=level, o=outcome: s.unmatched_ids(a, b, l, outcome=o))
        yield f"profiles, limit 5: {window_name}", lambda s, a=start, b=end: s.unmatched_profiles(a, b, limit=5)
        yield f"profiles, no limit: {window_name}", lambda s, a=start, b=end: s.unmatched_profiles(a, b, limit=None)
        yield f"recent errors: {window_name}", lambda s, a=start, b=end: s.recent_errors(20, start=a, end=b)
        yield f"recent actions: {window_name}", lambda s, a=start, b=end: s.recent_actions(a, b)
        yield (f"recent actions, skip done: {window_name}",
               lambda s, a=start, b=end: s.recent_actions(a, b, action="skip", outcome="done"))
        for bucket in ("hour", "day"):
            yield f"action counts by {bucket}: {window_name}", lambda s, a=start, b=end, k=bucket: s.action_counts(a, b, k)
            yield f"webhook counts by {bucket}: {window_name}", lambda s, a=start, b=end, k=bucket: s.webhook_counts(a, b, k)
        yield f"webhook summary: {window_name}", lambda s, a=start, b=end: s.webhook_summary(a, b)
    yield "recent errors", lambda s: s.recent_errors(50)
    yield "count", lambda s: s.count()


QUERIES = dict(_queries())


def _assert_same(left, right):
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, check_exact=True)
    elif hasattr(left, "by_type_outcome"):  # WebhookSummary
        assert (left.last_received, left.deliveries, left.signature_failures) == (
            right.last_received, right.deliveries, right.signature_failures)
        _assert_same(left.by_type_outcome, right.by_type_outcome)
    else:
        assert left == right


@pytest.mark.parametrize("name", list(QUERIES))
def test_every_query_gives_the_same_answer_on_both_backends(stores, name):
    sqlite, postgres = stores
    _assert_same(QUERIES[name](sqlite), QUERIES[name](postgres))


def test_the_seeded_events_exercise_every_outcome_and_the_suggestions(stores):
    sqlite, _ = stores
    summary = sqlite.summary(*WINDOWS["three days, ragged edges"])
    assert min(summary.matched, summary.unmatched, summary.ambiguous, summary.errors) > 50
    profiles = sqlite.unmatched_profiles(*WINDOWS["three days, ragged edges"], limit=None)
    assert profiles["suggestion"].notna().any() and profiles["key_kind"].nunique() == 3


def test_wide_window_percentiles_agree_too(stores, monkeypatch):
    """Above a size the percentiles walk the duration index instead of sorting in Python."""
    monkeypatch.setattr(health, "_FETCH_PERCENTILES_UP_TO", 10)
    sqlite, postgres = stores
    for level in LEVELS:
        start, end = WINDOWS["three days, ragged edges"]
        assert sqlite.latency_percentiles(start, end, level) == postgres.latency_percentiles(start, end, level)


def test_pruning_leaves_both_backends_with_the_same_numbers(postgres_url, tmp_path):
    from app.events.postgres import PostgresEventStore

    hasher = EmailHasher(b"k")
    with EventStore(tmp_path / "events.sqlite3", hasher=hasher) as sqlite, \
            PostgresEventStore(postgres_url, hasher=hasher) as postgres:
        for store in (sqlite, postgres):
            _seed(store, hasher)
            assert store.prune(1.5, now=NOW, batch_size=100, pause_s=0) > 0
        start, end = WINDOWS["three days, ragged edges"]
        assert sqlite.summary(start, end) == postgres.summary(start, end)
        pd.testing.assert_frame_equal(sqlite.trend(start, end), postgres.trend(start, end))
        assert sqlite.count() == postgres.count()


def test_both_schemas_have_the_same_version_tables_and_columns(stores):
    sqlite, postgres = stores
    assert dialect.SCHEMA_VERSION == schema.SCHEMA_VERSION
    with sqlite._snapshot():
        tables = [row[0] for row in sqlite._read(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")]
        sqlite_columns = {(table, row[1]) for table in tables
                          for row in sqlite._read(f"PRAGMA table_info({table})")}
        sqlite_indexes = {row[0] for row in sqlite._read(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'")}
    postgres_columns = set(postgres._read(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name != 'ogtk_schema'"))
    postgres_indexes = {row[0] for row in postgres._read(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'ix_%'")}
    assert sqlite_columns == postgres_columns
    assert sqlite_indexes == postgres_indexes
