"""The resilience scenarios of ``make soak``, sized by arguments so the fast tests reuse them.

Each scenario starts the API under gunicorn against a shared sandbox (any object with
``base_url``, ``api_key``, ``set_faults``, ``stats``: :class:`~app.bench.processes.SandboxProcess`
or :class:`~app.sandbox.SandboxServer`), sends checked traffic from N threads, and returns a
:class:`ScenarioResult`: requests sent, answers by status, deadline misses, events recorded,
and named checks that decide pass or fail.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import requests

from ..gladly.schema import encode_body, lookup_body
from ..gladly.signing import sign_headers
from ..processes import ApiProcess
from ..sandbox.data import KNOWN
from ..simulate import fetch_sandbox_customers, new_signing_key
from .loadgen import Request, Sent, drive

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


def events_in(data_dir: Path) -> int:
    """Events stored so far, read without writing anything; needs free space (see :class:`EventCounter`)."""
    path = data_dir / "events.sqlite3"
    if not path.exists():
        return 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        return db.execute("SELECT COUNT(*) FROM lookup_events").fetchall()[0][0]


class EventCounter:
    """Counts stored events through one read-only connection opened while the disk has space.

    Why held open: the event database is in WAL mode, and a connection that finds no other
    connection on it (the API's workers drop theirs after a failed write) must rebuild the
    shared-memory index in the ``-shm`` file (creating it when the last writer removed it), which
    takes free space; on a full disk that fails with "disk I/O error", even for a ``mode=ro``
    open. Held open from before the disk fills, this connection
    keeps the index alive, so counting needs no free byte. ``fetchall`` ends each read at once,
    so the held connection never pins a snapshot or blocks a checkpoint.

    >>> with EventCounter(data_dir) as events:  # doctest: +SKIP
    ...     before = events.count(); fill_the_disk(); recorded = events.count() - before
    """

    def __init__(self, data_dir: Path):
        path = data_dir / "events.sqlite3"
        if not path.exists():
            raise FileNotFoundError(f"no event database at {path} yet: open the counter after a lookup")
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False)

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM lookup_events").fetchall()[0][0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "EventCounter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def server_side_max_ms(data_dir: Path, last: int) -> float:
    """Slowest duration the API itself recorded over its last ``last`` events (time inside the app)."""
    import sqlite3

    path = data_dir / "events.sqlite3"
    if not path.exists() or last <= 0:
        return 0.0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT max(duration_ms) FROM (SELECT duration_ms FROM lookup_events "
                           "ORDER BY id DESC LIMIT ?)", (last,)).fetchone()
    return float(row[0] or 0.0)


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


# --- scenarios -------------------------------------------------------------------------------

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


def worker_killed(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """A gunicorn worker is SIGKILLed mid-load: service continues, cache and event DB intact."""
    import diskcache

    from ..events import EventStore

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


def malformed_burst(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """Unauthenticated or malformed requests: all 4xx, no event stored, the next lookup works."""
    result = ScenarioResult(f"burst of {sizes.malformed} bad requests")
    key = new_signing_key()
    began = time.monotonic()
    sandbox.set_faults(**DEFAULT_FAULTS)
    good = detailed(KNOWN["reference"])
    oversized = json.dumps({**good, "padding": "x" * (1024 * 1024 + 100)}).encode()
    rng = random.Random(3)

    def bad_signature() -> Request:
        req = signed(key, good, kind="bad signature")
        headers = dict(req.headers)
        sig = headers["Gladly-Authorization"]
        headers["Gladly-Authorization"] = sig[:-4] + ("0000" if not sig.endswith("0000") else "1111")
        return Request(req.kind, "POST", req.body, headers)

    def no_signature() -> Request:
        req = signed(key, good, kind="no signature")
        return Request(req.kind, "POST", req.body,
                       {k: v for k, v in req.headers.items() if k.lower() != "gladly-authorization"})

    def wrong_method() -> Request:
        req = signed(key, good, kind="wrong method")
        return Request(req.kind, rng.choice(["GET", "PUT", "DELETE", "PATCH"]), req.body, req.headers)

    makers: list[Callable[[], Request]] = [
        bad_signature,
        no_signature,
        lambda: signed(key, good, kind="stale Gladly-Time", now=time.time() - 3600),
        lambda: signed(key, None, kind="garbage JSON", raw=b'{"lookupLevel": "DETAILED", "query": {'),
        lambda: signed(key, None, kind="not an object", raw=b'[1, 2, 3]'),
        lambda: signed(key, {"lookupLevel": "EVERYTHING", "query": {}}, kind="invalid lookupLevel"),
        lambda: signed(key, good, kind="wrong content type", content_type="text/plain"),
        lambda: signed(key, None, kind="oversized body", raw=oversized),
        wrong_method,
    ]
    lock = threading.Lock()
    count = [0]

    def take() -> Request | None:
        with lock:
            if count[0] >= sizes.malformed:
                return None
            maker = makers[count[0] % len(makers)]
            count[0] += 1
        return maker()

    with api_running(sandbox, sizes, work, "malformed", key) as api:
        first = drive(api.base_url, [signed(key, good, kind="before")], concurrency=1, timeout=10)[0]
        before = events_in(api.data_dir)
        answers = drive(api.base_url, take, concurrency=sizes.concurrency, timeout=30)
        recorded = events_in(api.data_dir) - before
        final = drive(api.base_url, [signed(key, good, kind="after")], concurrency=1, timeout=10)[0]
    result.events_recorded = recorded
    tally(result, answers, sizes.deadline_s)
    not_4xx = [a for a in answers if not 400 <= a.status < 500]
    by_kind: dict[str, Counter] = {}
    for a in answers:
        by_kind.setdefault(a.kind, Counter())[a.status or f"no answer ({a.error})"] += 1
    json_errors = [a for a in answers if 400 <= a.status < 500 and not (
        isinstance(a.body, dict) and isinstance(a.body.get("errors"), list))]
    result.check("signed lookup before the burst succeeds", first.status == 200, first.status)
    result.check("every bad request answered 4xx", not not_4xx,
                 "all 4xx" if not not_4xx else {k: dict(v) for k, v in by_kind.items()
                                                 if any(not (isinstance(s, int) and 400 <= s < 500) for s in v)})
    result.check("4xx bodies are JSON errors", not json_errors, f"{len(json_errors)} not JSON")
    result.check("no event stored for bad requests", recorded == 0, f"{recorded} events")
    result.check("next signed lookup succeeds", final.status == 200, final.status)
    result.notes.append("by kind: " + "; ".join(f"{k} {dict(v)}" for k, v in by_kind.items()))
    after_oversized = _failed_after(answers, "oversized body")
    if after_oversized:
        result.notes.append(f"{after_oversized} of the requests without an answer were the next request on a "
                            "keep-alive connection that had just sent an oversized body: the 413 says "
                            "'Connection: keep-alive' but the server then drops the connection")
    result.seconds = time.monotonic() - began
    return result


def _failed_after(answers: list[Sent], kind: str) -> int:
    """Requests without an answer whose predecessor on the same client connection was ``kind``."""
    count = 0
    by_client: dict[int, list[Sent]] = {}
    for a in answers:
        by_client.setdefault(a.client, []).append(a)
    for mine in by_client.values():
        mine.sort(key=lambda a: a.at)
        count += sum(1 for prev, cur in zip(mine, mine[1:]) if not cur.status and prev.kind == kind)
    return count


# --- data directory full or read-only ---------------------------------------------------------

def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def fill(directory: Path) -> int:
    """Write a filler file until the filesystem is full; returns the bytes written."""
    filler = directory / "filler.bin"
    written = 0
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (1 << 20, 1 << 12, 1 << 9):
            block = b"\0" * chunk
            while True:
                try:
                    written += fh.write(block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written


def _readyz(api: ApiProcess) -> tuple[int, Any]:
    try:
        response = requests.get(f"{api.base_url}/readyz", timeout=10)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text[:200]
    except requests.RequestException as exc:
        return 0, type(exc).__name__


def data_dir_unwritable(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """The data directory fills up at runtime, then the API runs on it read-only: lookups still answered.

    The data directory is a 64 MiB tmpfs mounted for the scenario (root only: ``chmod`` does not
    stop root, a real filesystem is the honest test). "Full": a filler file takes every free
    byte while the API runs. "Read-only": a filesystem cannot be remounted read-only while
    SQLite holds files open for writing, so the API is restarted on the remounted-read-only
    directory, as after a volume goes read-only and the pod restarts.
    """
    result = ScenarioResult("data directory full, then read-only")
    began = time.monotonic()
    if os.geteuid() != 0:
        result.skipped = "needs root to mount a small tmpfs for the data directory"
        return result
    mount_point = Path(tempfile.mkdtemp(prefix="ogtk-soak-tmpfs-", dir=str(work)))
    mounted = _run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "ogtk-soak", str(mount_point)])
    if mounted.returncode != 0:
        result.skipped = f"cannot mount a tmpfs here ({mounted.stderr.strip() or mounted.returncode})"
        return result
    key = new_signing_key()
    data_dir = mount_point / "data"
    try:
        sandbox.set_faults(**DEFAULT_FAULTS)
        customers = pick_customers(sandbox, sizes.warm_customers)
        with api_running(sandbox, sizes, work, "datadir-full", key, data_dir=data_dir) as api:
            warm_up(api, key, customers)
            with EventCounter(data_dir) as events:  # opened while there is space: see its docstring
                status, body = _readyz(api)
                result.check("/readyz 200 before", status == 200, status)
                before = events.count()
                filled = fill(mount_point)
                result.notes.append(f"full: a filler file took the last {filled / 2**20:.1f} MiB of the 64 MiB tmpfs")
                workers_before = api.worker_pids()
                answers = drive(api.base_url, lookup_mix(key, customers, sizes.full_disk_lookups, seed=8),
                                concurrency=sizes.concurrency, timeout=sizes.deadline_s + 10)
                status, body = _readyz(api)
                tally(result, answers, sizes.deadline_s)
                lookup_bounds(result, answers, sizes.deadline_s, prefix="full: ")
                result.check("full: /readyz 503 with reasons", status == 503 and _has_reasons(body), _brief(body))
                lost = [p for p in workers_before if p not in api.worker_pids()]
                result.check("full: no worker died", not lost,
                             f"{len(lost)} of {len(workers_before)} workers died: {_deaths(api.log_path)}"
                             if lost else "all alive")
                result.events_recorded = events.count() - before
                result.notes.append(f"full: {result.events_recorded} events recorded for {len(answers)} lookups "
                                    "(lost by design while full; counted in ogtk_event_write_failures_total)")
                (mount_point / "filler.bin").unlink()
            recovered = _recover(api)
            result.check("full, then space freed: /readyz back to 200", recovered[0] == 200, _brief(recovered[1]))
        ro = _run(["mount", "-o", "remount,ro", str(mount_point)])
        if ro.returncode != 0:
            result.check("read-only: remount the data directory read-only", False, ro.stderr.strip())
            return result
        try:
            with api_running(sandbox, sizes, work, "datadir-ro", key, data_dir=data_dir) as api:
                answers_ro = drive(api.base_url, lookup_mix(key, customers, sizes.full_disk_lookups, seed=9),
                                   concurrency=sizes.concurrency, timeout=sizes.deadline_s + 10)
                status, body = _readyz(api)
                tally(result, answers_ro, sizes.deadline_s)
                lookup_bounds(result, answers_ro, sizes.deadline_s, prefix="read-only: ")
                result.check("read-only: /readyz 503 with reasons", status == 503 and _has_reasons(body), _brief(body))
        except RuntimeError as exc:  # the API did not start
            result.check("read-only: the API starts on a read-only data directory", False,
                         " | ".join(line.strip() for line in str(exc).splitlines()[-6:])[:600])
        finally:
            _run(["mount", "-o", "remount,rw", str(mount_point)])
    finally:
        _run(["umount", "-l", str(mount_point)])
        try:
            mount_point.rmdir()
        except OSError:
            pass
        result.seconds = time.monotonic() - began
    return result


def _deaths(log_path: Path) -> str:
    """What gunicorn said about workers that died (signal, exit code), from its log."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    found = [line.split("] ", 2)[-1] for line in lines
             if "was sent" in line or "exited with code" in line or "Worker (pid" in line]
    return "; ".join(dict.fromkeys(found))[:300] or "gunicorn logged no reason"


def _has_reasons(body: Any) -> bool:
    return isinstance(body, dict) and bool(body.get("reasons"))


def _brief(body: Any) -> str:
    if isinstance(body, dict) and body.get("reasons"):
        return "; ".join(str(r)[:90] for r in body["reasons"])
    return str(body)[:160]


def _recover(api: ApiProcess, timeout: float = 25.0) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    status, body = _readyz(api)
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        status, body = _readyz(api)
    return status, body


ALL = (upstream_errors, upstream_hangs, worker_killed, data_dir_unwritable, malformed_burst)
