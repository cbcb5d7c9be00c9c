"""The operations page: latency from the event store, upstream metrics from the API's
Prometheus files (or the hint that they appear under gunicorn), the cache, recent errors."""

from __future__ import annotations

from dash_support import ERRORS, assert_clean, open_page, write_worker_metrics

PAGE = "app_pages/operations.py"


def _table(at, column):
    """The dataframe on the page that has ``column`` (st.dataframe keys are not exposed)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _page(app_test):
    return open_page(app_test, PAGE)


def test_empty_store_and_no_metrics(dashboard_env, app_test):
    at = _page(app_test)
    infos = [i.value for i in at.info]
    assert any("No lookups recorded yet — run `make run`" in v for v in infos)
    assert any("metrics appear when the API runs under gunicorn (`make run`)" in v for v in infos)
    assert at.success[0].value == "No failed lookups recorded."
    assert {m.label for m in at.metric} >= {"Hit rate", "Size on disk"}


def test_seeded_store_latency_and_errors(seeded, app_test):
    at = _page(app_test)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["p50"].endswith("ms") and metrics["p99"] != "—"
    assert metrics["p99"] == "4,000 ms"  # the seeded errors took 4 s: the slowest 2%
    assert len(at.get("vega_lite_chart")) == 1  # the histogram
    errors = _table(at, "error_code")
    assert len(errors) == ERRORS
    assert set(errors["error_code"]) == {"ordergroove_timeout"}


def test_upstream_metrics_from_worker_files(seeded, app_test, monkeypatch):
    monkeypatch.setenv("OGTK_METRICS_DIR", str(seeded / "prometheus"))
    write_worker_metrics(seeded / "prometheus")
    at = _page(app_test)
    endpoints = _table(at, "429s").set_index("endpoint")
    assert endpoints.loc["customer", "requests"] == 86  # both workers' 43, summed
    assert endpoints.loc["customer", "429s"] == 6
    assert endpoints.loc["subscriptions", "errors"] == 6  # 503s and timeouts
    assert endpoints.loc["customer", "mean latency (ms)"] == 50.0
    assert {m.label: m.value for m in at.metric}["Hit rate"] == "75.0%"


def test_clear_cache_needs_the_confirmation(dashboard_env, app_test):
    from app.sandbox import KNOWN

    at = app_test.run()
    at.text_input(key="card_query").input(KNOWN["reference"]).run()  # fills the cache
    at.switch_page(PAGE).run()
    assert at.button(key="ops_clear").disabled
    at.checkbox(key="ops_clear_ok").check().run()
    assert not at.button(key="ops_clear").disabled
    at.button(key="ops_clear").click().run()
    assert_clean(at)
    assert at.success[0].value.startswith("Cache cleared (")
    assert "(0 entries" not in at.success[0].value
