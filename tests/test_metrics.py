"""app/metrics.py: the contract's metric names, outcome labels from one place, multiprocess scrape."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from prometheus_client import generate_latest

from app import metrics
from app.outcomes import METRIC_OUTCOMES, OUTCOMES


def test_the_contract_metrics_exist_with_their_labels():
    text = metrics.render_latest()[0].decode()
    for name in ("ogtk_lookups_total", "ogtk_lookup_seconds", "ogtk_upstream_requests_total",
                 "ogtk_cache_hits_total", "ogtk_cache_misses_total", "ogtk_actions_total", "ogtk_webhooks_total"):
        assert f"# HELP {name} " in text, name
    assert metrics.LOOKUPS._labelnames == ("level", "outcome")


def test_lookup_outcomes_are_named_once_and_documented_in_the_help():
    assert set(OUTCOMES) < set(METRIC_OUTCOMES)
    for outcome in METRIC_OUTCOMES:
        assert outcome in metrics.LOOKUPS._documentation


def test_in_multiprocess_mode_a_scrape_adds_up_every_process(tmp_path):
    record = textwrap.dedent("""
        from app import metrics
        metrics.LOOKUPS.labels(level="BASIC", outcome="matched").inc(3)
    """)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": ""}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], env=env, check=True)
    body = generate_latest(metrics.registry_for_scrape(str(tmp_path))).decode()
    assert 'ogtk_lookups_total{level="BASIC",outcome="matched"} 6.0' in body
