"""A burst of unauthenticated or malformed requests: all 4xx, no event stored, the next lookup works."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from ...sandbox.known import KNOWN
from ...simulate import new_signing_key
from ..loadgen import Request, Sent, drive
from .common import DEFAULT_FAULTS, ScenarioResult, Sizes, api_running, detailed, signed, tally
from .events import events_in


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
