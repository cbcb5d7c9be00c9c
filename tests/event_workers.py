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


def hold_writer_lock(lock_path: str, log_path: str, rounds: int, start) -> None:
    """Take the writer lock ``rounds`` times, noting entry and exit in ``log_path`` while held."""
    import os
    import time

    from app.writelock import WriterLock

    lock = WriterLock(lock_path, wait_s=30)
    start.wait()
    for _ in range(rounds):
        with lock.hold():
            with open(log_path, "a") as log:
                log.write(f"in {os.getpid()}\n")
            time.sleep(0.005)
            with open(log_path, "a") as log:
                log.write(f"out {os.getpid()}\n")
    lock.close()
