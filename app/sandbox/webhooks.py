"""Signed webhooks for every change the sandbox makes, delivered as Ordergroove delivers them.

Envelope (``ordergroove-writes-webhooks.md`` §8.3): ``{"id", "type", "created", "data": {"object"},
"context": {}, "snapshot": {}}``, where ``data.object`` uses epoch integers for ``created``,
``updated`` and ``cancelled`` (REST uses naive strings) and adds ``every_period_display`` /
``status_display``. Header: ``Ordergroove-Signature: ts=<unix>,sig=<hex>``, one ``sig`` per key
(several keys: a rotation in progress).

Delivery runs on its own thread, off the request path: each event is POSTed until a 2xx, with
exponential backoff between attempts (``backoff_s`` doubling, at most ``max_backoff_s``, at most
``max_attempts``). Like Ordergroove, it can deliver an event twice (``duplicate_rate``) or hold one
back behind the next (``reorder_rate``): receivers must de-duplicate on ``id`` and never apply a
payload as state.

>>> sender = WebhookSender("http://127.0.0.1:8000/ordergroove/webhook", "key")  # doctest: +SKIP
>>> sender.start(); sender.send([Change("subscription.cancel", sub, "7781203344")])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import requests

from app.ordergroove.webhook_signature import sign_webhook

from .mutations import Change

PERIOD_DISPLAY = {1: "Days", 2: "Weeks", 3: "Months", 4: "Years"}
STATUS_DISPLAY = {1: "Unsent", 3: "Rejected", 4: "Cancelled", 5: "Success", 6: "Send Now"}
_EPOCH_FIELDS = ("created", "updated", "cancelled", "last_updated")


def _epoch(value: Any) -> Any:
    if not isinstance(value, str) or value in ("", "null"):
        return None if value == "null" else value
    try:
        naive = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value
    return int(naive.replace(tzinfo=timezone.utc).timestamp())


def webhook_object(change: Change) -> dict:
    """``data.object`` of ``change``'s event: the REST record with webhook types."""
    family = change.type.partition(".")[0]
    record = {"type": family, **{k: v for k, v in change.object.items()}}
    for name in _EPOCH_FIELDS:
        if name in record:
            record[name] = _epoch(record[name])
    if family == "subscription":
        record["every_period_display"] = PERIOD_DISPLAY.get(record.get("every_period"), "")
        if record.get("cancel_reason_code") not in (None, ""):
            code = str(record["cancel_reason_code"]).rstrip("|")
            record["cancel_reason_code"] = int(code) if code.isdigit() else code
    elif family == "order":
        record["status_display"] = STATUS_DISPLAY.get(record.get("status"), str(record.get("status")))
        record["place"] = str(record.get("place", ""))[:10]
    return record


def envelope(change: Change, event_id: str, created: int) -> bytes:
    return json.dumps({"id": event_id, "type": change.type, "created": created,
                       "data": {"object": webhook_object(change)}, "context": {}, "snapshot": {}},
                      separators=(",", ":")).encode()


def signature_header(keys: list[str], body: bytes, ts: int) -> str:
    return f"ts={ts}," + ",".join(f"sig={sign_webhook(key, ts, body)}" for key in keys)


class WebhookSender:
    """Queues events and delivers them on one background thread, with retries, duplicates, reordering."""

    def __init__(self, url: str, key: str, *, duplicate_rate: float = 0.0, reorder_rate: float = 0.0,
                 max_attempts: int = 8, backoff_s: float = 0.25, max_backoff_s: float = 10.0,
                 timeout_s: float = 5.0, seed: int = 0):
        keys = [k.strip() for k in key.split(",") if k.strip()]
        if not url or not keys:
            raise ValueError("webhooks need both --webhook-url and --webhook-key")
        for name, rate in (("duplicate_rate", duplicate_rate), ("reorder_rate", reorder_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"webhook {name} must be between 0 and 1, got {rate!r}")
        self.url, self._keys = url, keys
        self.duplicate_rate, self.reorder_rate = duplicate_rate, reorder_rate
        self.max_attempts, self.backoff_s, self.max_backoff_s = max_attempts, backoff_s, max_backoff_s
        self.timeout_s = timeout_s
        self._rng = random.Random(f"webhooks-{seed}")
        self._queue: queue.Queue[tuple[bytes, str, float] | None] = queue.Queue()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._counts: Counter[str] = Counter()
        self._log: list[dict] = []
        self._thread: threading.Thread | None = None
        self._http = requests.Session()

    def __repr__(self) -> str:
        return f"WebhookSender({self.url!r}, keys={len(self._keys)} x '***')"

    # -- producing -------------------------------------------------------------------------------

    def send(self, changes: list[Change]) -> None:
        """Queue one event per change (never blocks the request that made them)."""
        now = time.time()
        for change in changes:
            with self._idle:
                event_id = "%024x" % self._rng.getrandbits(96)
                self._pending += 1
                self._counts["events"] += 1
            self._queue.put((envelope(change, event_id, int(now)), change.type, time.monotonic()))

    # -- delivering ------------------------------------------------------------------------------

    def start(self) -> "WebhookSender":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ogtk-sandbox-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._http.close()

    def _run(self) -> None:
        held: tuple[bytes, str, float] | None = None  # an event waiting for the next one to overtake it
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.2 if held else None)
            except queue.Empty:  # nothing came to overtake the held event: send it now
                self._deliver(held, False)
                held = None
                continue
            if item is None:
                continue
            with self._idle:
                reorder = held is None and self._rng.random() < self.reorder_rate
                twice = self._rng.random() < self.duplicate_rate
            if reorder:
                held = item
                self._count("reordered")
                continue
            self._deliver(item, twice)
            if held is not None:
                self._deliver(held, False)
                held = None

    def _deliver(self, item: tuple[bytes, str, float], twice: bool) -> None:
        body, kind, queued = item
        delivered = False
        for attempt in range(1, self.max_attempts + 1):
            if self._stop.is_set():
                break
            ts = int(time.time())
            headers = {"Content-Type": "application/json",
                       "Ordergroove-Signature": signature_header(self._keys, body, ts)}
            try:
                status = self._http.post(self.url, data=body, headers=headers, timeout=self.timeout_s).status_code
            except requests.RequestException:
                status = 0
            self._count("attempts")
            if 200 <= status < 300:
                delivered = True
                if twice:
                    try:
                        self._http.post(self.url, data=body, headers=headers, timeout=self.timeout_s)
                    except requests.RequestException:
                        pass
                    self._count("duplicates")
                break
            self._count("failed_attempts")
            self._stop.wait(min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))
        with self._idle:
            self._counts["delivered" if delivered else "given_up"] += 1
            self._log.append({"type": kind, "id": json.loads(body)["id"], "delivered": delivered,
                              "queued": queued, "done": time.monotonic()})
            del self._log[:-1000]
            self._pending -= 1
            self._idle.notify_all()

    def _count(self, name: str) -> None:
        with self._idle:
            self._counts[name] += 1

    # -- observing -------------------------------------------------------------------------------

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was delivered or given up; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stats(self) -> dict[str, Any]:
        with self._idle:
            return {"url": self.url, "pending": self._pending, **dict(self._counts), "recent": list(self._log[-20:])}
