"""Ordergroove misbehaving under load: 5xx and 429 answers, then every request hanging."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from ...simulate import new_signing_key
from ..loadgen import drive
from .common import (DEFAULT_FAULTS, ScenarioResult, Sizes, api_running, latency_by_kind, lookup_bounds, lookup_mix,
                     pick_customers, short_ttls, tally, warm_up)
from .events import events_in, server_side_max_ms


def _faulty_upstream(name: str, sandbox: Any, sizes: Sizes, work: Path, faults: dict,
                     duration_s: float | None, n: int | None) -> ScenarioResult:
    result = ScenarioResult(name)
    key = new_signing_key()
    began = time.monotonic()
    sandbox.set_faults(**DEFAULT_FAULTS)
    customers = pick_customers(sandbox, sizes.warm_customers)
    with api_running(sandbox, sizes, work, name.split()[0].lower(), key,
                     env=short_ttls(sizes.short_ttl_s)) as api:
        warm_up(api, key, customers)
        before = events_in(api.data_dir)
        sandbox.set_faults(**faults)
        try:
            answers = drive(api.base_url, lookup_mix(key, customers, n), concurrency=sizes.concurrency,
                            timeout=sizes.deadline_s + 10, stop_after_s=duration_s)
        finally:
            sandbox.set_faults(**DEFAULT_FAULTS)
        result.events_recorded = events_in(api.data_dir) - before
        inside_ms = server_side_max_ms(api.data_dir, result.events_recorded)
    tally(result, answers, sizes.deadline_s)
    lookup_bounds(result, answers, sizes.deadline_s)
    result.notes.append(f"slowest lookup as timed inside the app (event duration_ms): {inside_ms / 1000:.2f} s; "
                        f"as seen by the client: {result.max_seconds:.2f} s")
    result.check("events recorded == lookups sent", result.events_recorded == len(answers),
                 f"{result.events_recorded} events for {len(answers)} lookups")
    result.notes.append(f"{result.stale} stale answers; kinds sent: {dict(Counter(a.kind for a in answers))}")
    result.notes.append(latency_by_kind(answers, sizes.deadline_s + 0.5))
    result.seconds = time.monotonic() - began
    return result


def upstream_errors(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """Ordergroove answers 30% 5xx and 10% 429 under 16 concurrent clients."""
    return _faulty_upstream("Ordergroove 30% 5xx + 10% 429", sandbox, sizes, work,
                            {"latency_ms": 20, "error_rate": 0.3, "rate_limit_rate": 0.1}, None, sizes.lookups)


def upstream_hangs(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """Every Ordergroove request hangs (after a warm-up)."""
    return _faulty_upstream("Ordergroove hanging (hang_rate 1.0)", sandbox, sizes, work,
                            {"latency_ms": 20, "hang_rate": 1.0, "hang_s": 60}, sizes.hang_seconds, None)
