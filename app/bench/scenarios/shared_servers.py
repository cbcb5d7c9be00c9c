"""Redis or PostgreSQL stopped mid-load, then started again (CONTRACT section 10).

Each scenario starts a fresh local ``redis-server`` and PostgreSQL (:mod:`app.cluster.servers`)
and the API under gunicorn with ``OGTK_CACHE_URL`` and ``OGTK_EVENTS_URL`` on them, as one
instance of a fleet runs, then sends the usual lookup mix from 16 clients. A quarter of the way
in one server is stopped; while the load goes on, ``/readyz`` must stay 200 and report the
dependency failing; then the server is started again and the load ends. Every lookup must be
answered (straight from Ordergroove while the cache is gone), no 500, each event stored or
counted lost in ``ogtk_event_write_failures_total`` (never doubled, never queued for ever), and
the instance recovers by itself: answers from the cache again, events stored again, with the
same workers. Skipped, with the reason, when a server cannot be started here.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import requests

from ...cluster.servers import ServerUnavailable, local_servers
from ...processes import ApiProcess
from ...simulate import new_signing_key
from ..loadgen import Sent, drive
from .common import (DEFAULT_FAULTS, ScenarioResult, Sizes, api_running, detailed, drive_in_steps, lookup_bounds,
                     lookup_mix, pick_customers, readyz, signed, tally, warm_up)
from .events import events_in_postgres

#: how long the instance gets to notice a stopped server, and to recover once it is back
NOTICE_S, RECOVER_S = 10.0, 30.0
LOST_METRIC = "ogtk_event_write_failures_total"


@dataclass(frozen=True)
class _Outage:
    title: str
    slug: str
    check: str  # its name in /readyz "checks"
    stop: Callable[[Any, Any], None]  # (redis, postgres) -> None
    start: Callable[[Any, Any], None]


def redis_stopped(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """Redis stopped mid-load, then back: lookups answered from Ordergroove, then from the cache again."""
    return _outage(sandbox, sizes, work, _Outage("Redis stopped mid-load, then back", "redis-stopped", "cache",
                                                 stop=lambda redis, _: redis.stop(),
                                                 start=lambda redis, _: redis.start()))


def postgres_stopped(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """PostgreSQL stopped mid-load, then back: lookups answered, events counted lost or stored later."""
    return _outage(sandbox, sizes, work, _Outage("PostgreSQL stopped mid-load, then back", "postgres-stopped",
                                                 "events_db", stop=lambda _, postgres: postgres.pause(),
                                                 start=lambda _, postgres: postgres.resume()))


def answered_from_cache(send: Callable[[], int], upstream_requests: Callable[[], int]) -> bool:
    """One lookup (it fills the cache), then the same again: answered 200 without asking Ordergroove."""
    send()
    before = upstream_requests()
    return send() == 200 and upstream_requests() == before


def metric(api: ApiProcess, name: str) -> float:
    """The value of an unlabelled counter on the API's ``/metrics`` (every worker's, summed)."""
    text = requests.get(f"{api.base_url}/metrics", timeout=10).text
    return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")), 0.0)


def _poll(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _outage(sandbox: Any, sizes: Sizes, work: Path, outage: _Outage) -> ScenarioResult:
    result = ScenarioResult(outage.title)
    began = time.monotonic()
    with ExitStack() as stack:
        try:
            redis, postgres = stack.enter_context(local_servers(work / outage.slug / "redis"))
        except ServerUnavailable as exc:
            result.skipped = f"no local server: {str(exc).splitlines()[0]}"
            return result
        key = new_signing_key()
        sandbox.set_faults(**DEFAULT_FAULTS)
        customers = pick_customers(sandbox, sizes.warm_customers)
        env = {"OGTK_CACHE_URL": redis.url(), "OGTK_EVENTS_URL": postgres.url}
        api = stack.enter_context(api_running(sandbox, sizes, work, outage.slug, key, env=env))
        warmed = warm_up(api, key, customers)
        status, body = readyz(api)
        result.check(f"/readyz 200 with {outage.check} ok before", status == 200 and _state(body, outage.check) == "ok",
                     _state(body, outage.check))
        workers = sorted(api.worker_pids())
        lost_before = metric(api, LOST_METRIC)
        _poll(lambda: events_in_postgres(postgres.url) >= warmed, RECOVER_S)
        stored_before = events_in_postgres(postgres.url)
        during: dict[str, Any] = {}

        def stop() -> None:
            outage.stop(redis, postgres)
            during["from"] = time.monotonic()

        def watch_readyz() -> None:  # the load goes on meanwhile
            seen = during["seen"] = []

            def failing_reported() -> bool:
                seen.append(readyz(api))
                return _state(seen[-1][1], outage.check) != "ok"

            during["noticed"] = _poll(failing_reported, NOTICE_S)

        def start() -> None:
            during["until"] = time.monotonic()
            outage.start(redis, postgres)

        quarter = max(8, sizes.lookups // 4)
        answers = drive_in_steps(api.base_url, lookup_mix(key, customers, None, seed=12),
                                 [(quarter, stop), (2 * quarter, watch_readyz), (0, start), (quarter, None)],
                                 concurrency=sizes.concurrency, timeout=sizes.deadline_s + 10)
        tally(result, answers, sizes.deadline_s)
        lookup_bounds(result, answers, sizes.deadline_s)
        _during_checks(result, outage, during, answers)
        answered = sum(1 for a in answers if a.status)

        def accounted() -> tuple[int, float]:
            return events_in_postgres(postgres.url) - stored_before, metric(api, LOST_METRIC) - lost_before

        _poll(lambda: sum(accounted()) >= answered, RECOVER_S)
        stored, lost = accounted()
        result.events_recorded = stored
        result.check("events: each answered lookup's stored or counted lost, none doubled",
                     answered <= stored + lost <= len(answers),
                     f"{stored} stored + {lost:g} counted lost for {answered} answered of {len(answers)} sent")
        if outage.check == "cache":
            result.check("events: none lost (PostgreSQL stayed up)", lost == 0, f"{lost:g} lost")
        _recovery_checks(result, outage, api, sandbox, key, customers.warm[0]["merchant_user_id"], postgres.url)
        result.check("recovered without a restart: the same workers", sorted(api.worker_pids()) == workers,
                     f"{workers} before, {sorted(api.worker_pids())} after")
    result.seconds = time.monotonic() - began
    return result


def send_one(api: ApiProcess, key: str, customer_id: str) -> int:
    return drive(api.base_url, [signed(key, detailed(customer_id), kind="after")], concurrency=1, timeout=15)[0].status


def _state(body: Any, check: str) -> str:
    return str(body.get("checks", {}).get(check)) if isinstance(body, dict) else str(body)[:160]


def _during_checks(result: ScenarioResult, outage: _Outage, during: dict, answers: list[Sent]) -> None:
    seen = during.get("seen") or []
    result.check(f"/readyz 200 throughout the outage ({len(seen)} probes)",
                 bool(seen) and all(status == 200 for status, _ in seen), sorted({status for status, _ in seen}))
    last = _state(seen[-1][1], outage.check) if seen else "no probe"
    result.check(f"/readyz reports {outage.check} failing within {NOTICE_S:g} s", during.get("noticed", False),
                 last[:200])
    inside = [a for a in answers if during.get("from", 0) <= a.at < during.get("until", 0)]
    result.check("lookups during the outage answered 200", inside and all(a.status == 200 for a in inside),
                 f"{len(inside)} sent while the server was down: {sorted({a.status for a in inside})}")


def _recovery_checks(result: ScenarioResult, outage: _Outage, api: ApiProcess, sandbox: Any, key: str,
                     customer_id: str, events_url: str) -> None:
    back = _poll(lambda: _state(readyz(api)[1], outage.check) == "ok", RECOVER_S)
    result.check(f"server back: /readyz reports {outage.check} ok again", back, _state(readyz(api)[1], outage.check))
    if outage.check == "cache":
        cached = _poll(lambda: answered_from_cache(lambda: send_one(api, key, customer_id),
                                                   lambda: sandbox.stats()["requests"]), RECOVER_S)
        result.check("server back: lookups answered from the cache again", cached, "no upstream request")
        return
    before = events_in_postgres(events_url)
    status = send_one(api, key, customer_id)
    stored = _poll(lambda: events_in_postgres(events_url) > before, RECOVER_S)
    result.check("server back: events stored again", status == 200 and stored,
                 f"lookup {status}, {events_in_postgres(events_url) - before} new event(s)")
