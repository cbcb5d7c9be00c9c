"""Lookup events and link health: what each Gladly lookup found, stored for the dashboard.

``EventStore(path).record(LookupEvent.create(...))`` stores one event (never raising); the link
health queries (:meth:`EventStore.summary`, ``trend``, ``unmatched_ids``, ``latency_percentiles``,
``recent_errors``) aggregate them. ``seed_synthetic_events`` fills a store for benchmarks.
"""

from .health import LatencyPercentiles, LinkHealthSummary, previous_window
from .model import LEVELS, OUTCOMES, LookupEvent, mask_email
from .store import EventStore, EventStoreError
from .synthetic import measure_queries, seed_synthetic_events

__all__ = [
    "EventStore", "EventStoreError", "LEVELS", "LatencyPercentiles", "LinkHealthSummary",
    "LookupEvent", "OUTCOMES", "mask_email", "measure_queries", "previous_window",
    "seed_synthetic_events",
]
