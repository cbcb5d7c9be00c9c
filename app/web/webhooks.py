"""``POST /ordergroove/webhook``: Ordergroove says something changed; drop that customer's cache.

CONTRACT §9 in order: 404 while no ``ORDERGROOVE_WEBHOOK_KEY`` is set; 413 over 1 MiB (before
the signature, so no one makes us hash a huge body); 401 unless a ``sig`` matches a key (logged
without the body); 400 for a body that is not a JSON object with an ``id`` (recorded as
``ignored``: the signature held, so it is not a signature failure on the dashboard); then the event id
is remembered for 7 days in the cache every worker shares (a repeat answers ``duplicate``); the
customer is ``data.object.customer`` (``merchant_user_id`` on ``subscriber.*`` events), and
every cached piece of theirs is dropped, whatever the event's type, since events arrive out of
order and are never applied as state. Nothing here calls Ordergroove, so it answers in
milliseconds; the next lookup refetches.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from .. import metrics
from ..events import WebhookEvent
from ..ordergroove.webhook_signature import WebhookSignatureError, WebhookVerifier
from ..services import get_services
from .responses import error_response, json_response

bp = Blueprint("webhooks", __name__)
log = logging.getLogger("ogtk.webhooks")

#: how long an event id is remembered: Ordergroove's longest documented retry span is 3 days
DEDUP_S = 7 * 86400.0 + 3600.0
APPLIED, DUPLICATE, IGNORED, REJECTED = "applied", "duplicate", "ignored", "rejected"
_STATUS = {APPLIED: "ok", DUPLICATE: "duplicate", IGNORED: "ignored"}
_ID_LIMIT = 200


class _BadEvent(ValueError):
    pass


def _text(value: Any) -> str | None:
    """An id as text (Ordergroove sends strings, a number is accepted); ``None`` when unusable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text[:_ID_LIMIT] if text else None
    return None


def parse_event(raw: bytes) -> tuple[str, str | None, str | None]:
    """``(event id, type, customer id)`` of one delivery; :class:`_BadEvent` when it is not one."""
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _BadEvent("the body is not JSON") from None
    if not isinstance(envelope, dict):
        raise _BadEvent("the body is not a JSON object")
    event_id = _text(envelope.get("id"))
    if event_id is None:
        raise _BadEvent("the event has no id")
    event_type = _text(envelope.get("type")) if isinstance(envelope.get("type"), str) else None
    data = envelope.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    customer = None
    if isinstance(obj, dict):
        field = "merchant_user_id" if (event_type or "").startswith("subscriber.") else "customer"
        customer = _text(obj.get(field))
    return event_id, event_type, customer


@bp.post("/ordergroove/webhook")
def webhook() -> Response:
    started = time.perf_counter()
    services = get_services()
    keys = services.settings.webhook_keys
    if not keys:
        return error_response(404, "not_found", "Ordergroove webhooks are not configured (ORDERGROOVE_WEBHOOK_KEY)")
    try:
        if (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
            raise RequestEntityTooLarge("the webhook body is over 1 MiB")
        raw = request.get_data(cache=True)  # raises the same past MAX_CONTENT_LENGTH without a length
    except RequestEntityTooLarge:
        _finish(services, started, REJECTED, reason="body_too_large")
        raise  # the app's 413 handler reads and discards the rest: the connection stays usable
    try:
        WebhookVerifier(keys).verify(request.headers, raw)
    except WebhookSignatureError as exc:
        _finish(services, started, REJECTED, reason=exc.code, size=len(raw))  # never the body
        return error_response(401, exc.code, "the Ordergroove-Signature does not match a configured key")
    try:
        event_id, event_type, customer_id = parse_event(raw)
    except _BadEvent as exc:
        _finish(services, started, IGNORED, reason="invalid_event", size=len(raw))  # authentic, unusable
        return error_response(400, "invalid_event", str(exc))
    if not _first_delivery(services, event_id):
        outcome = DUPLICATE
    elif customer_id is None:
        outcome = IGNORED
    else:
        services.fetcher.invalidate(customer_id)
        outcome = APPLIED
    _finish(services, started, outcome, event_id=event_id, event_type=event_type, customer_id=customer_id)
    return json_response(200, {"status": _STATUS[outcome]})


def _first_delivery(services, event_id: str) -> bool:
    """Atomically remember the id; ``False`` when some worker already saw it."""
    try:
        return bool(services.fetcher.cache.add(f"webhook:{event_id}", 1, expire=DEDUP_S))
    except Exception as exc:  # without the memory, a repeat only drops an already-dropped cache
        log.warning("webhook de-duplication unavailable (%s); treating %s as new", type(exc).__name__, event_id)
        return True


def _finish(services, started: float, outcome: str, *, reason: str | None = None, size: int | None = None,
            event_id: str | None = None, event_type: str | None = None, customer_id: str | None = None) -> None:
    duration_ms = (time.perf_counter() - started) * 1000.0
    metrics.WEBHOOKS.labels(outcome=outcome).inc()
    try:
        services.events.record_webhook(WebhookEvent(outcome=outcome, event_id=event_id, type=event_type,
                                                    customer_id=customer_id, duration_ms=duration_ms))
    except Exception:  # recording never costs Ordergroove its answer
        log.exception("could not record the webhook event %s", event_id)
    line = {"event": "webhook", "outcome": outcome, "reason": reason, "event_id": event_id, "type": event_type,
            "customer_id": customer_id, "bytes": size, "duration_ms": round(duration_ms, 2)}
    log.log(logging.WARNING if outcome == REJECTED else logging.INFO,
            json.dumps({k: v for k, v in line.items() if v is not None}, separators=(",", ":")))
