"""Action and webhook events: recording (never raising) and the dashboard's queries over them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from app.events import ActionEvent, EventStore, LookupEvent, WebhookEvent

T0 = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


@pytest.fixture
def active(store):
    actions = [
        ActionEvent(action="cancel", outcome="done", subscription_id="s1", customer_id="c1",
                    reason_code="3", og_status=200, duration_ms=310.5, correlation_id="k1", ts=at(5)),
        ActionEvent(action="skip", outcome="done", subscription_id="s2", customer_id="c1",
                    order_id="o9", og_status=200, duration_ms=220.0, ts=at(30)),
        ActionEvent(action="skip", outcome="rejected", subscription_id="s3", order_id="o8",
                    og_status=400, detail="order_not_upcoming", ts=at(70)),
        ActionEvent(action="cancel", outcome="error", subscription_id="s4", source="cli", ts=at(125)),
        ActionEvent(action="cancel", outcome="done", subscription_id="s0", ts=at(-1)),  # before
    ]
    hooks = [
        WebhookEvent(outcome="applied", event_id="e1", type="subscription.cancelled", customer_id="c1", ts=at(1)),
        WebhookEvent(outcome="applied", event_id="e2", type="subscription.cancelled", customer_id="c2", ts=at(2)),
        WebhookEvent(outcome="duplicate", event_id="e2", type="subscription.cancelled", customer_id="c2", ts=at(3)),
        WebhookEvent(outcome="ignored", event_id="e3", type="order.placed", ts=at(61)),
        WebhookEvent(outcome="rejected", ts=at(90)),
        WebhookEvent(outcome="rejected", ts=at(91)),
        WebhookEvent(outcome="applied", event_id="e9", type="order.updated", ts=at(200)),  # after
    ]
    assert all(store.record_action(a) for a in actions)
    assert all(store.record_webhook(h) for h in hooks)
    return store


WINDOW = (T0, T0 + timedelta(hours=3))


def test_recent_actions_newest_first_with_filters(active):
    frame = active.recent_actions(*WINDOW)
    assert list(frame.columns) == ["ts", "action", "outcome", "customer_id", "subscription_id",
                                   "order_id", "reason_code", "og_status", "duration_ms", "source",
                                   "correlation_id"]
    assert list(frame["subscription_id"]) == ["s4", "s3", "s2", "s1"]
    assert frame.iloc[3][["reason_code", "og_status", "duration_ms", "correlation_id"]].tolist() == [
        "3", 200, 310.5, "k1"]
    assert frame.iloc[0]["source"] == "cli" and str(frame["ts"].dt.tz) == "UTC"
    assert list(active.recent_actions(*WINDOW, action="skip")["subscription_id"]) == ["s3", "s2"]
    assert list(active.recent_actions(*WINDOW, outcome="done")["subscription_id"]) == ["s2", "s1"]
    assert len(active.recent_actions(*WINDOW, limit=1)) == 1
    with pytest.raises(ValueError):
        active.recent_actions(*WINDOW, action="refund")


def test_action_counts_by_hour_include_empty_buckets_and_outcomes(active):
    frame = active.action_counts(*WINDOW, bucket="hour")
    assert list(frame.columns) == ["bucket", "outcome", "count"]
    assert len(frame) == 3 * 4  # three hours × four outcomes
    counts = {(row.bucket.hour, row.outcome): row.count for row in frame.itertuples() if row.count}
    assert counts == {(10, "done"): 2, (11, "rejected"): 1, (12, "error"): 1}
    by_day = active.action_counts(*WINDOW, bucket="day")
    assert by_day["count"].sum() == 4 and len(by_day) == 4


def test_webhook_summary_and_counts(active):
    summary = active.webhook_summary(*WINDOW)
    assert summary.signature_failures == 2
    assert summary.deliveries == 6
    assert summary.last_received == at(61)  # the latest authentic one before the window's end
    table = {(r.type, r.outcome): r.count for r in summary.by_type_outcome.itertuples()}
    assert table[("subscription.cancelled", "applied")] == 2
    assert table[("subscription.cancelled", "duplicate")] == 1
    assert table[("unknown", "rejected")] == 2
    quiet = active.webhook_summary(T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert quiet.deliveries == 0 and quiet.last_received == at(200)
    empty = EventStore(active.path.with_name("empty.sqlite3"))
    assert empty.webhook_summary(*WINDOW).last_received is None
    counts = active.webhook_counts(*WINDOW, bucket="hour")
    assert counts.groupby("outcome")["count"].sum().to_dict() == {
        "applied": 2, "duplicate": 1, "ignored": 1, "rejected": 2}
    empty.close()


def test_record_suggestion_lands_on_its_event(store):
    event = LookupEvent(level="DETAILED", outcome="unmatched", gladly_customer_id="g1",
                        external_customer_id="wrong-id", ts=T0)
    assert store.record(event)
    assert store.record_suggestion(event.uid, ["7781203344", "7781203344", "55"]) is True
    assert store.record_suggestion("no-such-uid", ["1"]) is False
    assert store.record_suggestion(event.uid, []) is False
    (row,) = store.unmatched_profiles(T0, T0 + timedelta(hours=1)).itertuples()
    assert row.suggestion == "7781203344,55"
    assert row.reason == "id unknown to Ordergroove"


def test_every_record_method_never_raises_and_counts_its_failures(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = EventStore(blocker / "events.sqlite3")
    names = ["ogtk_action_event_write_failures_total", "ogtk_webhook_event_write_failures_total",
             "ogtk_suggestion_write_failures_total"]
    before = [_sample(name) for name in names]
    with caplog.at_level(logging.WARNING, logger="app.events.store"):
        assert store.record_action(ActionEvent(action="skip", outcome="done", subscription_id="s")) is False
        assert store.record_webhook(WebhookEvent(outcome="applied")) is False
        assert store.record_suggestion("uid", ["1"]) is False
        assert store.hasher is None  # no key can be made: events go without hashes, never fail
    assert [_sample(name) for name in names] == [b + 1 for b in before]
    assert any("could not record action event" in r.getMessage() for r in caplog.records)


def test_mark_synthetic(store):
    assert store.is_synthetic() is False
    store.mark_synthetic()
    assert store.is_synthetic() is True
    with EventStore(store.path) as again:
        assert again.is_synthetic() is True
