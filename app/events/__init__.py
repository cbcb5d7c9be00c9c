"""Lookup, action and webhook events, and the link-health queries over them.

``EventStore(path).record(LookupEvent.create(...))`` stores one lookup event (never raising);
``record_action``, ``record_webhook`` and ``record_suggestion`` likewise. The queries
(:meth:`EventStore.summary`, ``trend``, ``unmatched_profiles``, ``recent_actions``, ...) aggregate
them. Importing this package (and recording, pruning, checking) never imports pandas or numpy:
the queries import pandas on first use, and ``seed_synthetic_events``/``measure_queries`` (numpy)
load on first access.
"""

from .hashing import EmailHasher
from .model import (ACTION_OUTCOMES, ACTIONS, LEVELS, OUTCOMES, REASONS, WEBHOOK_OUTCOMES,
                    ActionEvent, LookupEvent, WebhookEvent, mask_email)
from .activity import WebhookSummary
from .health import LatencyPercentiles, LinkHealthSummary, previous_window
from .retention import RetentionWorker
from .store import EventStore, EventStoreError
from .backends import open_event_store

_LAZY = {"measure_queries": ".synthetic", "seed_synthetic_events": ".synthetic"}


def __getattr__(name: str):
    """``seed_synthetic_events`` and ``measure_queries`` need numpy: load them on first use."""
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIONS", "ACTION_OUTCOMES", "ActionEvent", "EmailHasher", "EventStore", "EventStoreError",
    "LEVELS", "LatencyPercentiles", "LinkHealthSummary", "LookupEvent", "OUTCOMES", "REASONS",
    "RetentionWorker", "WEBHOOK_OUTCOMES", "WebhookEvent", "WebhookSummary", "mask_email",
    "measure_queries", "open_event_store", "previous_window", "seed_synthetic_events",
]
