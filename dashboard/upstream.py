"""Reads the API's Prometheus multiprocess files (``Settings.metrics_dir``) for the
operations page: upstream requests by endpoint and status, their latency, and the cache hit rate.

The files exist only while the API runs under gunicorn (``make run``); without them the page says
so instead of showing zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from app.metrics import registry_for_scrape

ERROR_STATUSES = ("timeout", "connection_error")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict
    value: float


def has_metrics(directory: Path) -> bool:
    """True when gunicorn workers have written any sample files there."""
    return directory.is_dir() and any(directory.glob("*.db"))


def read_samples(directory: Path) -> list[Sample]:
    """Every sample aggregated over all workers' files in ``directory``.

    >>> samples = read_samples(settings.metrics_dir)
    >>> cache_hit_rate(samples)
    """
    registry = registry_for_scrape(str(directory))
    return [
        Sample(s.name, dict(s.labels), float(s.value))
        for family in registry.collect()
        for s in family.samples
    ]


def _is_error(status: str) -> bool:
    return status in ERROR_STATUSES or status.startswith("5")


def upstream_by_status(samples: list[Sample]) -> pd.DataFrame:
    """One row per (endpoint, status) with its request count, busiest first."""
    rows = [
        {"endpoint": s.labels.get("endpoint", "?"), "status": s.labels.get("status", "?"), "requests": int(s.value)}
        for s in samples
        if s.name == "ogtk_upstream_requests_total" and s.value
    ]
    frame = pd.DataFrame(rows, columns=["endpoint", "status", "requests"])
    return frame.sort_values(["requests", "endpoint"], ascending=[False, True], ignore_index=True)


def upstream_by_endpoint(samples: list[Sample]) -> pd.DataFrame:
    """Per endpoint: requests, 429s, errors (5xx, timeouts, connection errors) and mean latency."""
    by_status = upstream_by_status(samples)
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for s in samples:
        endpoint = s.labels.get("endpoint", "?")
        if s.name == "ogtk_upstream_request_seconds_sum":
            sums[endpoint] = sums.get(endpoint, 0.0) + s.value
        elif s.name == "ogtk_upstream_request_seconds_count":
            counts[endpoint] = counts.get(endpoint, 0.0) + s.value
    rows = []
    for endpoint in sorted(set(by_status["endpoint"]) | set(counts)):
        mine = by_status[by_status["endpoint"] == endpoint]
        total = int(mine["requests"].sum())
        rows.append({
            "endpoint": endpoint,
            "requests": total,
            "429s": int(mine.loc[mine["status"] == "429", "requests"].sum()),
            "errors": int(mine.loc[mine["status"].map(_is_error), "requests"].sum()),
            "mean latency (ms)": round(1000 * sums.get(endpoint, 0.0) / counts[endpoint], 1)
            if counts.get(endpoint) else None,
        })
    return pd.DataFrame(rows, columns=["endpoint", "requests", "429s", "errors", "mean latency (ms)"])


@dataclass(frozen=True)
class CacheRate:
    hits: int
    misses: int
    stale: int

    @property
    def rate(self) -> float | None:
        """hits / (hits + misses); ``None`` before the first read."""
        total = self.hits + self.misses
        return self.hits / total if total else None


def cache_hit_rate(samples: list[Sample]) -> CacheRate:
    def total(name: str) -> int:
        return int(sum(s.value for s in samples if s.name == name))

    return CacheRate(
        hits=total("ogtk_cache_hits_total"),
        misses=total("ogtk_cache_misses_total"),
        stale=total("ogtk_cache_stale_served_total"),
    )
