"""A gunicorn worker SIGKILLed mid-load: service continues, cache and event database intact."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from ...simulate import new_signing_key
from ..loadgen import Request, drive
from .common import (DEFAULT_FAULTS, ScenarioResult, Sizes, api_running, detailed, lookup_bounds, lookup_mix,
                     pick_customers, signed, tally, warm_up)
from .events import events_in


def worker_killed(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """A gunicorn worker is SIGKILLed mid-load: service continues, cache and event DB intact."""
    import diskcache

    from ...events import EventStore

    result = ScenarioResult("gunicorn worker SIGKILL mid-load")
    key = new_signing_key()
    began = time.monotonic()
    sandbox.set_faults(**DEFAULT_FAULTS)
    customers = pick_customers(sandbox, sizes.warm_customers)
    with api_running(sandbox, sizes, work, "kill", key) as api:
        workers = api.wait_workers(1)
        expected = len(workers)
        warm_up(api, key, customers)
        before = events_in(api.data_dir)
        killed: dict[str, Any] = {}

        def killer() -> None:
            deadline = time.monotonic() + 30
            while len(answers_so_far) < max(5, sizes.lookups // 3) and time.monotonic() < deadline:
                time.sleep(0.002)
            victim = api.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            killed.update(pid=victim, at=time.monotonic())

        answers_so_far: list = []
        source = lookup_mix(key, customers, sizes.lookups)

        def counting() -> Request | None:
            answers_so_far.append(1)
            return source()

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        answers = drive(api.base_url, counting, concurrency=sizes.concurrency, timeout=sizes.deadline_s + 10)
        thread.join(timeout=35)
        respawned = False
        try:
            pids = api.wait_workers(expected, timeout=20)
            respawned = killed.get("pid") not in pids
        except RuntimeError as exc:
            result.notes.append(str(exc).splitlines()[0])
        result.events_recorded = events_in(api.data_dir) - before
        after = signed(key, detailed(customers.warm[0]["merchant_user_id"]), kind="after")
        final = drive(api.base_url, [after], concurrency=1, timeout=10)[0]
        with EventStore(api.data_dir / "events.sqlite3") as store:
            events_ok = store.integrity_check()
        cache = diskcache.Cache(str(api.data_dir / "cache"))
        try:
            cache_warnings = [str(w.message) for w in cache.check()]
        finally:
            cache.close()
    tally(result, answers, sizes.deadline_s)
    after_kill = [a for a in answers if killed and a.at > killed["at"] and a.status == 200]
    no_answer = sum(1 for a in answers if not a.status)
    lookup_bounds(result, answers, sizes.deadline_s, allow_no_answer=sizes.concurrency)
    result.check("a worker was killed", bool(killed), f"pid {killed.get('pid')}")
    result.check("answers continue after the kill", len(after_kill) > 0, f"{len(after_kill)} × 200 after the kill")
    result.check("gunicorn respawned the worker", respawned, f"{expected} workers expected")
    result.check("next signed lookup succeeds", final.status == 200, final.status)
    result.check("event database intact (PRAGMA quick_check)", events_ok, "ok" if events_ok else "corrupt")
    result.check("disk cache intact (diskcache Cache.check())", not cache_warnings, cache_warnings or "no warnings")
    answered = len(answers) - no_answer
    result.check("events: one per answered lookup, none doubled",
                 answered <= result.events_recorded <= len(answers),
                 f"{result.events_recorded} events, {answered} answered of {len(answers)} sent")
    result.seconds = time.monotonic() - began
    return result
