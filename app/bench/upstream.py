"""Bench rows about what a cold lookup asks of Ordergroove (issue 9) and what a worker holds (issue 8).

Cold lookups by endpoint (fully cold, catalogue cached, the 12-subscription customer), each as a
multiple of the *measured* round trip; the request budget under 16-client cold load, counted in
the sandbox's request log; API worker RSS after a few hundred lookups.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import requests

from ..processes import ApiProcess, SandboxProcess, rss_mib
from ..settings import Settings
from . import measure


def cold_by_endpoint(send: Callable[[], tuple[int, Callable[[], Any]]], clear: Callable[[], Any], sandbox: Any,
                     runs: int) -> dict[str, Any]:
    """Median cold latency and the median number of upstream requests per endpoint template.

    ``send()`` returns the status once the answer is in and a call to make after the clock
    stops: the lookup stores what it fetched after answering, and that must be done before the
    next run clears the cache, or the next run would not be cold."""
    times, per_endpoint = [], []
    for _ in range(runs):
        clear()
        sandbox.reset_stats()
        started = time.perf_counter()
        status, finish = send()
        times.append(time.perf_counter() - started)
        finish()
        if status != 200:
            raise RuntimeError(f"cold lookup answered {status}")
        per_endpoint.append(Counter(e["endpoint"] for e in sandbox.request_log()))
    endpoints = sorted({name for counts in per_endpoint for name in counts})
    by_endpoint = {name: statistics.median(c.get(name, 0) for c in per_endpoint) for name in endpoints}
    return {"runs": runs, "median_ms": statistics.median(times) * 1000, "by_endpoint": by_endpoint,
            "requests": sum(by_endpoint.values())}


def describe_endpoints(by_endpoint: dict[str, float]) -> str:
    return ", ".join(f"{name} {count:g}" for name, count in by_endpoint.items())


def peak_rate(log: list[dict], window_s: float = 1.0) -> float:
    """The most requests that arrived within any ``window_s`` (sliding), per second.

    Arrival (the sandbox accepting the connection) is when Ordergroove's limiter would count a
    request; the time it passed the sandbox's gate adds the sandbox's own queueing, which let a
    request held up there share a second with one sent a full second after it (161 of 160)."""
    starts = sorted(e["started"] if e.get("arrived") is None else e["arrived"] for e in log)
    best, lo = 0, 0
    for hi, at in enumerate(starts):
        while at - starts[lo] > window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best / window_s


def cold_load_budget(api: ApiProcess, sandbox: SandboxProcess, key: str, customer_ids: list[str],
                     clients: int = 16) -> dict[str, Any]:
    """16 clients, each DETAILED lookup for a customer nobody looked up yet: the sandbox's peak rate."""
    sandbox.reset_stats()
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=clients))

    def one(customer_id: str) -> int:
        body, headers = measure.signed_request(key, measure.detailed_payload(customer_id))
        return session.post(api.lookup_url, data=body, headers=headers, timeout=15).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = Counter(pool.map(one, customer_ids))
    seconds = time.perf_counter() - started
    log = sandbox.request_log()
    return {"lookups": len(customer_ids), "statuses": dict(statuses), "seconds": seconds,
            "upstream": len(log), "peak_per_s": peak_rate(log), "limit": budget_limit_per_s(api)}


def budget_limit_per_s(api: ApiProcess) -> float:
    """Most requests the instance's budget lets start in any one second: its burst (one second's
    worth, :class:`~app.ordergroove.budget.RequestBudget`) plus that second's rate."""
    rate = Settings.from_env(api.env).upstream_rate_per_s
    return 2 * rate


def worker_rss_mib(pids: list[int]) -> list[float]:
    """Resident memory of each process still running (MiB; a worker may be recycled meanwhile)."""
    sizes = []
    for pid in pids:
        try:
            sizes.append(rss_mib(pid))
        except OSError:
            pass
    return sizes
