"""Targets for event-store tests that run in spawned processes (importable by name: a spawned
child starts a fresh interpreter, so it inherits none of the test process's threads or locks)."""

from __future__ import annotations

from app.events import EventStore, LookupEvent


def write_events(path: str, worker: int, n: int, start) -> None:
    store = EventStore(path)
    start.wait()
    for i in range(n):
        ok = store.record(LookupEvent(level="BASIC", outcome="matched",
                                      correlation_id=f"w{worker}-{i}", gladly_customer_id=f"g{i}"))
        assert ok
    store.close()
