"""What the sandbox was asked: request counters and a request log, for tests and the bench."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

REQUEST_LOG_SIZE = 50_000


class Stats:
    """Thread-safe request counters and a request log for the data paths.

    The log keeps, per request, its method, path, route template, query (name -> values),
    status and ``time.monotonic()`` at arrival and at answer (CLOCK_MONOTONIC is system-wide on
    Linux, so a test in another process can compare them with its own clock), so tests can group
    a lookup's requests into rounds. It holds the last :data:`REQUEST_LOG_SIZE` requests.

    >>> st = Stats(); st.count("/customers/{id}/"); st.as_dict()["requests"]
    1
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._writes = 0
        self._paths: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def count(self, template: str, method: str = "GET") -> None:
        with self._lock:
            self._requests += 1
            self._writes += method not in ("GET", "HEAD")
            self._paths[template] += 1

    def status(self, status: int | str) -> None:
        with self._lock:
            self._statuses[str(status)] += 1

    def log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)

    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._writes = 0
            self._paths.clear()
            self._statuses.clear()
            self._log.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": self._requests, "writes": self._writes, "by_path": dict(self._paths),
                    "by_status": dict(self._statuses)}
