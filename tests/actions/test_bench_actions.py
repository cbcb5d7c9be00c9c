"""``make bench``'s action row: submits timed against a sandbox, then shown in the table."""

from __future__ import annotations

import pytest

from app import create_app
from app.bench.actions import action_latency
from app.bench.report import bench_rows, format_table
from app.sandbox import SandboxServer

from support import SIGNING_KEY

pytestmark = pytest.mark.slow


def test_skip_and_cancel_submits_are_timed_and_reported(tmp_path):
    with SandboxServer(customers=60) as sb:
        app = create_app({"ORDERGROOVE_BASE_URL": sb.base_url, "ORDERGROOVE_API_KEY": sb.api_key,
                          "GLADLY_SIGNING_KEY": SIGNING_KEY, "OGTK_DATA_DIR": str(tmp_path / "data"),
                          "OGTK_ACTIONS": "cancel,skip"})
        try:
            result = action_latency(app, SIGNING_KEY, sb.base_url, sb.api_key, n=3, say=lambda _: None)
        finally:
            app.extensions["ogtk"].close()
    assert result["skip"]["n"] == 3 and result["cancel"]["n"] == 3
    assert sum(result["statuses"].values()) == 6
    table = format_table(bench_rows({"latency_ms": 0, "actions": result}))
    assert "Gladly Action submit" in table and "skip p50" in table and "cancel p50" in table
