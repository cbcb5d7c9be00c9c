"""Helpers of the outage tests: steady lookups from a few threads, and polling for a condition."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager


def poll(condition, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` is true, failing the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@contextmanager
def steady_load(send, payloads, threads: int = 3):
    """``send`` the payloads in turn, back to back from ``threads`` threads, until the block ends;
    yields the list each answer's status is appended to."""
    statuses: list[int] = []
    stop = threading.Event()

    def load():
        n = 0
        while not stop.is_set():
            statuses.append(send(payloads[n % len(payloads)]).status_code)
            n += 1

    workers = [threading.Thread(target=load) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield statuses
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
