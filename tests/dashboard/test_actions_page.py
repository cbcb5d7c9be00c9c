"""The Actions page: recent submits with outcome, customer, subscription and duration, filters,
CSV, and counts by outcome over time."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pandas as pd

from app.events import EventStore
from app.events.model import ActionEvent
from dashboard import data

from dash_support import assert_clean, open_page

PAGE = "app_pages/actions.py"
#: (action, outcome, how many)
SUBMITS = [("cancel", "done", 4), ("skip", "done", 3), ("skip", "rejected", 2), ("cancel", "invalid", 1),
           ("cancel", "error", 1)]


def _seed(data_dir):
    from app.settings import Settings

    store = EventStore(Settings.from_env().events_db_path)
    now, n = datetime.now(timezone.utc), 0
    for action, outcome, count in SUBMITS:
        for _ in range(count):
            n += 1
            assert store.record_action(ActionEvent(
                action=action, outcome=outcome, subscription_id=f"sub-{n}", customer_id=f"cust-{n % 3}",
                order_id=f"ord-{n}" if action == "skip" else None, og_status=200 if outcome == "done" else 400,
                duration_ms=100.0 * n, ts=now - timedelta(hours=n)))
    store.close()


def test_empty_store_says_nothing_was_submitted(dashboard_env, app_test):
    at = open_page(app_test, PAGE)
    assert at.title[0].value == "Actions"
    assert "No actions submitted" in at.info[0].value


def test_counts_table_filters_and_csv(dashboard_env, app_test):
    _seed(dashboard_env)
    at = open_page(app_test, PAGE)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Done": "7", "Invalid": "1", "Rejected": "2", "Error": "1"}
    assert len(at.get("vega_lite_chart")) == 1
    table = at.dataframe[0].value
    assert len(table) == 11 and list(table["ts"]) == sorted(table["ts"], reverse=True)
    assert {"outcome", "customer_id", "subscription_id", "duration_ms"} <= set(table.columns)
    at.selectbox(key="act_action").set_value("skip").run()
    at.selectbox(key="act_outcome").set_value("rejected").run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(zip(table["action"], table["outcome"])) == {("skip", "rejected")} and len(table) == 2
    csv = pd.read_csv(io.BytesIO(data.table_csv(table)))
    assert list(csv["subscription_id"]) == list(table["subscription_id"])
    assert csv["ts"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
