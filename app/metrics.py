"""Prometheus metrics shared by the API, the Ordergroove client and the cache.

Under gunicorn, ``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` (see
``app.settings.default_metrics_dir``: outside the data disk) before this module is imported, so every worker writes its samples to shared files and
``/metrics`` (and the dashboard) aggregate them: one scrape sees all workers. Exited workers'
files are folded into archives (``app.metrics_archive``), so the files stay bounded.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from .metrics_archive import LockedMultiProcessCollector
from .outcomes import METRIC_OUTCOMES

LOOKUP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0)

LOOKUPS = Counter(
    "ogtk_lookups_total",
    f"Gladly lookups answered, by lookup level and outcome ({', '.join(METRIC_OUTCOMES)}).",
    ["level", "outcome"],
)
LOOKUP_SECONDS = Histogram(
    "ogtk_lookup_seconds", "Time to answer one Gladly lookup, from its request reaching a worker.", ["level"],
    buckets=LOOKUP_BUCKETS,
)
LOOKUP_QUEUED_SECONDS = Histogram(
    "ogtk_lookup_queued_seconds",
    "Time a Gladly lookup waited in its gunicorn worker for a free thread (taken off its deadline).",
    buckets=(0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0),
)
TURNS_SKIPPED = Counter(
    "ogtk_turns_skipped_total",
    "Requests that ran without their turn in the worker after waiting app.turns.PATIENCE_S for it "
    "(another request held it through a wait; should stay near zero).",
)
UPSTREAM_REQUESTS = Counter(
    "ogtk_upstream_requests_total",
    "HTTP requests sent to Ordergroove, by endpoint and status (or 'timeout'/'connection_error').",
    ["endpoint", "status"],
)
UPSTREAM_SECONDS = Histogram(
    "ogtk_upstream_request_seconds", "Latency of one Ordergroove HTTP request.", ["endpoint"],
    buckets=LOOKUP_BUCKETS,
)
UPSTREAM_SHORT_CIRCUITS = Counter(
    "ogtk_upstream_short_circuits_total",
    "Ordergroove calls not sent because the circuit breaker was open (Ordergroove kept failing).",
    ["endpoint"],
)
CACHE_HITS = Counter("ogtk_cache_hits_total", "Cache reads answered by a fresh entry.", ["kind"])
CACHE_MISSES = Counter("ogtk_cache_misses_total", "Cache reads that needed Ordergroove.", ["kind"])
CACHE_STALE = Counter(
    "ogtk_cache_stale_served_total", "Expired entries served because Ordergroove failed.", ["kind"]
)
SUGGESTIONS = Counter(
    "ogtk_suggestions_total",
    "Searches after an unknown-id DETAILED lookup for customers with its emails, by outcome "
    "(found, none, failed; dropped: the bounded queue was full).",
    ["outcome"],
)
DEPENDENCY_UP = Gauge(
    "ogtk_dependency_up",
    "1 when a shared dependency (Ordergroove, a shared Redis or PostgreSQL) worked at the last /readyz, "
    "0 when failing; the lowest of the live workers. Never part of readiness.",
    ["dependency"],
    multiprocess_mode="livemin",
)
EVENT_WRITE_FAILURES = Counter(
    "ogtk_event_write_failures_total", "Lookup events that could not be stored (lookup still answered)."
)
ACTION_EVENT_WRITE_FAILURES = Counter(
    "ogtk_action_event_write_failures_total",
    "Action events that could not be stored (the action was still answered).",
)
WEBHOOK_EVENT_WRITE_FAILURES = Counter(
    "ogtk_webhook_event_write_failures_total",
    "Webhook events that could not be stored (the delivery was still answered).",
)
SUGGESTION_WRITE_FAILURES = Counter(
    "ogtk_suggestion_write_failures_total",
    "Wrong-id suggestions that could not be stored on their lookup event.",
)
EVENTS_PRUNED = Counter(
    "ogtk_events_pruned_total", "Events deleted by retention pruning, by table.", ["table"]
)
ACTIONS = Counter(
    "ogtk_actions_total",
    "Gladly Action submits, by action (cancel, skip) and outcome (done, invalid, rejected, error).",
    ["action", "outcome"],
)
WEBHOOKS = Counter(
    "ogtk_webhooks_total",
    "Ordergroove webhook deliveries, by outcome (applied, duplicate; ignored: no customer, or a "
    "signed body that is not an event; rejected: a bad signature, or a body over 1 MiB).",
    ["outcome"],
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def registry_for_scrape(directory: str | None = None) -> CollectorRegistry:
    """The registry to expose: aggregated from every worker's files when in multiprocess mode."""
    directory = directory or multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        LockedMultiProcessCollector(registry, path=directory)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def render_latest() -> tuple[bytes, str]:
    return generate_latest(registry_for_scrape()), CONTENT_TYPE_LATEST
