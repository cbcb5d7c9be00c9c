"""Small statistics helpers for the benchmark: percentiles and medians of latency samples."""

from __future__ import annotations

import math
from typing import Iterable, Sequence


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0..100) with linear interpolation; 0.0 for no values.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    ordered: Sequence[float] = sorted(values)
    if not ordered:
        return 0.0
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    rank = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def median(values: Iterable[float]) -> float:
    return percentile(values, 50)


def summarize_ms(seconds: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds of latencies given in seconds."""
    ms = sorted(s * 1000.0 for s in seconds)
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": ms[-1] if ms else 0.0,
        "mean": sum(ms) / len(ms) if ms else 0.0,
    }
