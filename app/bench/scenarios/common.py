"""What every resilience scenario shares: sizes, results, signed lookups, the API under test, tallies.

Each scenario starts the API under gunicorn against a shared sandbox (any object with
``base_url``, ``api_key``, ``set_faults``, ``stats``: :class:`~app.processes.SandboxProcess`
or :class:`~app.sandbox.SandboxServer`), sends checked traffic from N threads, and returns a
:class:`ScenarioResult`: requests sent, answers by status, deadline misses, events recorded,
and named checks that decide pass or fail.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import requests

from ...gladly.schema import encode_body, lookup_body
from ...gladly.signing import sign_headers
from ...processes import ApiProcess
from ...sandbox.known import KNOWN
from ...simulate import fetch_sandbox_customers
from ..loadgen import Request, Sent, drive

LOOKUP_PATH = "/gladly/lookup"
DEFAULT_FAULTS = {"latency_ms": 20, "error_rate": 0, "rate_limit_rate": 0, "hang_rate": 0}


@dataclass
class Sizes:
    """How big each scenario is: the full soak and the fast tests differ only here."""

    lookups: int = 1200  # faults and worker-kill scenarios
    hang_seconds: float = 30.0  # hanging Ordergroove: load duration
    concurrency: int = 16
    warm_customers: int = 40
    malformed: int = 1000
    full_disk_lookups: int = 200
    deadline_s: float = 4.0  # OGTK_LOOKUP_DEADLINE_S of the API under test
    workers: int | None = None  # None: gunicorn.conf.py's default
    threads: int | None = None
    short_ttl_s: float = 5.0  # cache freshness during fault scenarios, so stale answers happen


@dataclass
class ScenarioResult:
    name: str
    sent: int = 0
    by_status: Counter = field(default_factory=Counter)
    deadline_misses: int = 0
    events_recorded: int | None = None
    stale: int = 0
    max_seconds: float = 0.0
    seconds: float = 0.0
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None and all(ok for _, ok, _ in self.checks) and bool(self.checks)

    def check(self, description: str, ok: bool, detail: Any = "") -> bool:
        self.checks.append((description, bool(ok), str(detail)))
        return bool(ok)

    def failures(self) -> list[str]:
        return [f"{d}: {detail}" for d, ok, detail in self.checks if not ok]

    def statuses(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.by_status.items(), key=lambda kv: str(kv[0]))) or "—"


# --- requests --------------------------------------------------------------------------------

def signed(key: str, payload: Any, *, kind: str, content_type: str = "application/json",
           now: float | None = None, raw: bytes | None = None) -> Request:
    body = raw if raw is not None else encode_body(payload)
    headers = sign_headers(key, method="POST", path=LOOKUP_PATH, body=body,
                           headers={"Accept": "application/json", "Content-Type": content_type}, now=now)
    return Request(kind, "POST", body, headers)


def detailed(customer_id: str, gladly_id: str = "soak-profile") -> dict:
    return lookup_body("DETAILED", gladly_id=gladly_id, external_customer_id=str(customer_id))


def basic(email: str, gladly_id: str = "soak-profile") -> dict:
    return lookup_body("BASIC", gladly_id=gladly_id, emails=[email])


def valid_lookup_answer(sent: Sent) -> bool:
    """200 with ``{"results": [...]}`` or 503 with ``{"errors": [{"code": ...}]}``."""
    body = sent.body
    if sent.status == 200:
        return isinstance(body, dict) and isinstance(body.get("results"), list) and all(
            isinstance(r, dict) and r.get("externalCustomerId") for r in body["results"])
    if sent.status == 503:
        return isinstance(body, dict) and isinstance(body.get("errors"), list) and bool(body["errors"]) and all(
            isinstance(e, dict) and e.get("code") for e in body["errors"])
    return False


@dataclass
class Customers:
    warm: list[dict]
    cold: list[dict]


def pick_customers(sandbox: Any, warm: int, seed: int = 11) -> Customers:
    everyone = [c for c in fetch_sandbox_customers(sandbox.base_url, sandbox.api_key, limit=400)
                if c.get("merchant_user_id") and c.get("email")]
    random.Random(seed).shuffle(everyone)
    fixed = {KNOWN["reference"], KNOWN["bench"]}
    first = [c for c in everyone if str(c["merchant_user_id"]) in fixed]
    rest = [c for c in everyone if str(c["merchant_user_id"]) not in fixed]
    return Customers(warm=first + rest[: max(0, warm - len(first))], cold=rest[max(0, warm - len(first)):])


def lookup_mix(key: str, customers: Customers, n: int | None, seed: int = 5) -> Callable[[], Request | None]:
    """Signed lookups, signed when taken: 50% warm DETAILED, 30% cold DETAILED, 20% BASIC by email."""
    rng = random.Random(seed)
    lock = threading.Lock()
    count = [0]
    cold = list(customers.cold) or list(customers.warm)

    def take() -> Request | None:
        with lock:
            if n is not None and count[0] >= n:
                return None
            count[0] += 1
            roll = rng.random()
            if roll < 0.5:
                customer, kind, make = rng.choice(customers.warm), "warm", detailed
            elif roll < 0.8:
                customer, kind, make = cold[count[0] % len(cold)], "cold", detailed
            else:
                customer, kind, make = rng.choice(customers.warm + cold[:50]), "basic", None
        if make is None:
            return signed(key, basic(str(customer["email"])), kind=kind)
        return signed(key, make(customer["merchant_user_id"]), kind=kind)

    return take


# --- the API under test ----------------------------------------------------------------------

@contextmanager
def api_running(sandbox: Any, sizes: Sizes, work: Path, name: str, key: str,
                env: dict | None = None, data_dir: Path | None = None) -> Iterator[ApiProcess]:
    settings = {"OGTK_LOOKUP_DEADLINE_S": sizes.deadline_s}
    settings.update(env or {})
    api = ApiProcess(sandbox_url=sandbox.base_url, data_dir=data_dir or work / name / "data", signing_key=key,
                     log_path=work / name / "api.log", workers=sizes.workers, threads=sizes.threads, env=settings)
    with api:
        yield api


def short_ttls(seconds: float) -> dict:
    return {name: seconds for name in ("OGTK_CACHE_TTL_CUSTOMER_S", "OGTK_CACHE_TTL_SUBSCRIPTIONS_S",
                                       "OGTK_CACHE_TTL_ORDERS_S", "OGTK_CACHE_TTL_SEARCH_S")}


def warm_up(api: ApiProcess, key: str, customers: Customers) -> int:
    requests_ = [signed(key, detailed(c["merchant_user_id"]), kind="warm-up") for c in customers.warm]
    requests_ += [signed(key, basic(str(c["email"])), kind="warm-up") for c in customers.warm[:10]]
    answers = drive(api.base_url, requests_, concurrency=8, timeout=30)
    bad = [a for a in answers if a.status != 200]
    if bad:
        raise RuntimeError(f"warm-up failed: {Counter(a.status for a in bad)}")
    return len(answers)


def tally(result: ScenarioResult, answers: list[Sent], deadline_s: float) -> None:
    bound = deadline_s + 0.5
    result.sent += len(answers)
    for a in answers:
        result.by_status[a.status if a.status else f"no answer ({a.error})"] += 1
        if a.seconds > bound:
            result.deadline_misses += 1
        if a.headers.get("X-OGTK-Stale"):
            result.stale += 1
        result.max_seconds = max(result.max_seconds, a.seconds)


def latency_by_kind(answers: list[Sent], bound: float) -> str:
    """``warm: max 0.21 s, 0 misses; cold: …`` — where the slow answers came from."""
    parts = []
    for kind in sorted({a.kind for a in answers}):
        mine = [a for a in answers if a.kind == kind]
        misses = sum(a.seconds > bound for a in mine)
        statuses = dict(Counter(a.status for a in mine))
        parts.append(f"{kind}: max {max(a.seconds for a in mine):.2f} s, {misses} misses, {statuses}")
    return "latency by kind — " + "; ".join(parts)


def lookup_bounds(result: ScenarioResult, answers: list[Sent], deadline_s: float, *,
                  allow_no_answer: int = 0, prefix: str = "") -> None:
    bound = deadline_s + 0.5
    invalid = [a for a in answers if a.status and not valid_lookup_answer(a)]
    no_answer = [a for a in answers if not a.status]
    misses = [a for a in answers if a.seconds > bound]
    slowest = max((a.seconds for a in answers), default=0.0)
    errors_500 = sum(1 for a in answers if a.status == 500)
    result.check(f"{prefix}every lookup answered within deadline + 0.5 s ({bound:g} s)", not misses,
                 f"{len(misses)} misses, slowest {slowest:.2f} s")
    result.check(f"{prefix}valid bodies only (200 results / 503 JSON errors)", not invalid,
                 f"{len(invalid)} invalid: {dict(Counter(a.status for a in invalid))}" if invalid else "all valid")
    result.check(f"{prefix}zero 500s", errors_500 == 0, f"{errors_500} × 500")
    result.check(f"{prefix}no request left without an HTTP answer" if not allow_no_answer
                 else f"{prefix}at most {allow_no_answer} requests without an HTTP answer",
                 len(no_answer) <= allow_no_answer,
                 f"{len(no_answer)} without answer" + (f" ({dict(Counter(a.error for a in no_answer))})"
                                                       if no_answer else ""))


def drive_in_steps(base_url: str, source: Callable[[], Request | None],
                   steps: list[tuple[int, Callable[[], None] | None]], *, concurrency: int,
                   timeout: float) -> list[Sent]:
    """Drive ``source`` from ``concurrency`` clients while ``steps`` run in turn beside the load.

    Each step ``(requests, action)`` waits until ``requests`` more requests were sent since the
    previous step ended, then runs ``action`` (``None``: nothing); the load ends with the last
    step. An action's exception ends the load and is raised here, after every client stopped.
    """
    taken = [0]
    finished = threading.Event()
    failure: list[BaseException] = []

    def take() -> Request | None:  # drive calls it under its lock
        if finished.is_set():
            return None
        taken[0] += 1
        return source()

    def run_steps() -> None:
        try:
            for requests_, action in steps:
                target = taken[0] + requests_
                while taken[0] < target:
                    time.sleep(0.002)
                if action is not None:
                    action()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failure.append(exc)
        finally:
            finished.set()

    stepper = threading.Thread(target=run_steps, name="soak-steps", daemon=True)
    stepper.start()
    answers = drive(base_url, take, concurrency=concurrency, timeout=timeout)
    stepper.join()
    if failure:
        raise failure[0]
    return answers


def readyz(api: ApiProcess) -> tuple[int, Any]:
    """``/readyz``'s status and body (``0`` and the exception's name when it did not answer)."""
    try:
        response = requests.get(f"{api.base_url}/readyz", timeout=10)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text[:200]
    except requests.RequestException as exc:
        return 0, type(exc).__name__
