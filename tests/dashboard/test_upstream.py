"""dashboard.upstream: reading the API workers' Prometheus files and shaping them per endpoint."""

from __future__ import annotations

import pandas as pd

from dashboard import upstream
from dashboard.upstream import Sample

from dash_support import write_worker_metrics


def _request(endpoint, status, value):
    return Sample("ogtk_upstream_requests_total", {"endpoint": endpoint, "status": status}, value)


SAMPLES = [
    _request("customer", "200", 40), _request("customer", "429", 3), _request("customer", "503", 0),
    _request("subscriptions", "200", 20), _request("subscriptions", "503", 2),
    _request("subscriptions", "timeout", 1), _request("orders", "connection_error", 4),
    Sample("ogtk_upstream_request_seconds_sum", {"endpoint": "customer"}, 2.0),
    Sample("ogtk_upstream_request_seconds_count", {"endpoint": "customer"}, 40),
    Sample("ogtk_cache_hits_total", {"kind": "customer"}, 30),
    Sample("ogtk_cache_hits_total", {"kind": "product"}, 15),
    Sample("ogtk_cache_misses_total", {"kind": "customer"}, 15),
    Sample("ogtk_cache_stale_served_total", {"kind": "customer"}, 2),
]


def test_has_metrics_needs_sample_files(tmp_path):
    assert not upstream.has_metrics(tmp_path / "absent")
    assert not upstream.has_metrics(tmp_path)
    (tmp_path / "counter_1.db").write_bytes(b"")
    assert upstream.has_metrics(tmp_path)


def test_read_samples_sums_every_worker(tmp_path):
    write_worker_metrics(tmp_path)
    samples = upstream.read_samples(tmp_path)
    customer_200 = [s.value for s in samples if s.name == "ogtk_upstream_requests_total"
                    and s.labels == {"endpoint": "customer", "status": "200"}]
    assert customer_200 == [80.0]  # two workers' 40


def test_by_status_drops_zero_rows_and_sorts_busiest_first():
    frame = upstream.upstream_by_status(SAMPLES)
    assert list(frame.columns) == ["endpoint", "status", "requests"]
    assert frame.iloc[0].to_dict() == {"endpoint": "customer", "status": "200", "requests": 40}
    assert "503" not in set(frame.loc[frame["endpoint"] == "customer", "status"])
    assert list(frame["requests"]) == sorted(frame["requests"], reverse=True)


def test_by_endpoint_counts_429s_errors_and_mean_latency():
    frame = upstream.upstream_by_endpoint(SAMPLES).set_index("endpoint")
    assert frame.loc["customer"].to_dict() == {"requests": 43, "429s": 3, "errors": 0, "mean latency (ms)": 50.0}
    assert frame.loc["subscriptions", "errors"] == 3  # a 503 and a timeout
    assert frame.loc["orders", "errors"] == 4  # connection errors
    assert pd.isna(frame.loc["orders", "mean latency (ms)"])  # no latency samples for it


def test_empty_samples_give_empty_tables():
    assert upstream.upstream_by_status([]).empty
    assert upstream.upstream_by_endpoint([]).empty
    assert upstream.cache_hit_rate([]).rate is None


def test_cache_hit_rate_over_every_kind():
    rate = upstream.cache_hit_rate(SAMPLES)
    assert (rate.hits, rate.misses, rate.stale) == (45, 15, 2)
    assert rate.rate == 0.75
