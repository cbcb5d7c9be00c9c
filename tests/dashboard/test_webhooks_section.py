"""The Webhooks section of Operations: last received, deliveries by type and outcome over time,
signature failures, and the warning when none arrived for a while although webhooks are on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.events import EventStore
from app.events.model import WebhookEvent
from dashboard import webhooks

from dash_support import open_page

PAGE = "app_pages/operations.py"


def _seed(hours_ago: float = 1.0):
    from app.settings import Settings

    store = EventStore(Settings.from_env().events_db_path)
    now = datetime.now(timezone.utc)
    rows = [("applied", "subscription.cancelled")] * 5 + [("duplicate", "subscription.cancelled")] * 2 + \
        [("ignored", "order.placed")] + [("rejected", None)] * 3
    for n, (outcome, kind) in enumerate(rows):
        assert store.record_webhook(WebhookEvent(outcome=outcome, event_id=f"evt-{n}", type=kind,
                                                 customer_id="c1", ts=now - timedelta(hours=hours_ago, minutes=n)))
    store.close()


def _section_metrics(at):
    return {m.label: m.value for m in at.metric}


def test_no_webhooks_and_none_configured(dashboard_env, app_test):
    at = open_page(app_test, PAGE)
    assert _section_metrics(at)["Last received"] == "never"
    assert any("Webhooks are off" in i.value for i in at.info)
    assert not [w for w in at.warning if "webhook" in w.value.lower()]


def test_deliveries_by_type_and_outcome_and_signature_failures(dashboard_env, monkeypatch, app_test):
    monkeypatch.setenv("ORDERGROOVE_WEBHOOK_KEY", "k1")
    _seed(hours_ago=1)
    at = open_page(app_test, PAGE)
    metrics = _section_metrics(at)
    assert metrics["Deliveries · 24 h"] == "11" and metrics["Signature failures · 24 h"] == "3"
    assert metrics["Last received"].endswith("ago")
    types = next(d.value for d in at.dataframe if "type" in d.value.columns)
    counts = {(t, o): c for t, o, c in types.itertuples(index=False)}
    assert counts[("subscription.cancelled", "applied")] == 5 and counts[("unknown", "rejected")] == 3
    assert not [w for w in at.warning if "No webhook" in w.value]  # one hour is not quiet


def test_warns_when_quiet_for_longer_than_configured(dashboard_env, monkeypatch, app_test):
    monkeypatch.setenv("ORDERGROOVE_WEBHOOK_KEY", "k1")
    monkeypatch.setenv("OGTK_WEBHOOK_QUIET_WARN_S", "1800")
    _seed(hours_ago=1)
    at = open_page(app_test, PAGE)
    assert any(w.value.startswith("No webhook for 1.") and "0.5 h" in w.value for w in at.warning)


def test_quiet_warning_rules():
    now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    six = timedelta(hours=6)
    assert webhooks.quiet_warning(None, now, is_configured=False, limit=six) is None
    assert "no webhook has ever arrived" in webhooks.quiet_warning(None, now, is_configured=True, limit=six)
    assert webhooks.quiet_warning(now - timedelta(hours=5), now, is_configured=True, limit=six) is None
    assert "No webhook for 7.0 h" in webhooks.quiet_warning(now - timedelta(hours=7), now, is_configured=True,
                                                             limit=six)
    assert webhooks.quiet_after({}) == six and webhooks.quiet_after({"OGTK_WEBHOOK_QUIET_WARN_S": "x"}) == six
    assert webhooks.quiet_after({"OGTK_WEBHOOK_QUIET_WARN_S": "60"}) == timedelta(minutes=1)
    assert webhooks.configured({"ORDERGROOVE_WEBHOOK_KEY": " , k2"}) and not webhooks.configured({})
