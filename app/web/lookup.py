"""``POST /gladly/lookup``: the Gladly Lookup Adaptor endpoint.

One straight path per request: raw bytes → authenticate → check media type → parse → match and
fetch (cache, then Ordergroove) → present → record the event → answer → store what was fetched
(the cache writes wait until the answer is sent: see ``WriteBehind``). Every failure a client can
cause becomes a JSON 4xx; Ordergroove trouble with nothing cached becomes a 503 inside the
lookup deadline. Error statuses and outcomes are decided here and nowhere else.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Blueprint, Response, request

from .. import metrics
from ..deadline import Deadline
from ..events import LookupEvent
from ..gladly.errors import GladlyError
from ..gladly.schema import DETAILED, LookupRequest, parse_lookup_request
from ..lookup import LookupResult
from ..ordergroove.errors import OrdergrooveError
from ..ordergroove.fetcher import FetchStats
from ..outcomes import ERROR, ID_UNKNOWN, INVALID, UNAUTHORIZED
from ..services import get_services
from ..serving import queued_seconds
from ..settings import LOOKUP_PATH
from .responses import error_response

bp = Blueprint("lookup", __name__)
log = logging.getLogger("ogtk.lookup")

#: Time kept back from the deadline to present, record and send the answer.
ANSWER_MARGIN_S = 0.25


def _is_json(content_type: str | None) -> bool:
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


@bp.post(LOOKUP_PATH)
def lookup() -> Response:
    queued = queued_seconds()  # waited in the worker for a thread: Gladly's clock was running
    started = time.perf_counter() - queued
    services = get_services()
    correlation_id = (request.headers.get("Gladly-Correlation-Id") or "").strip()[:64] or None
    deadline = Deadline(services.settings.lookup_deadline_s - queued)
    metrics.LOOKUP_QUEUED_SECONDS.observe(queued)

    raw = request.get_data(cache=True)  # raw bytes first: the signature covers exactly these
    try:
        services.authenticator.verify(request.method, request.query_string.decode("latin-1"), request.headers, raw)
    except GladlyError as exc:
        metrics.LOOKUPS.labels(level="unknown", outcome=UNAUTHORIZED).inc()
        _log_lookup(correlation_id, "unknown", UNAUTHORIZED, started, code=exc.code)
        return error_response(exc.status, exc.code, exc.detail)
    try:
        if not _is_json(request.content_type):
            raise GladlyError("unsupported_media_type", "Content-Type must be application/json", 415)
        lookup_request = parse_lookup_request(raw)
    except GladlyError as exc:
        metrics.LOOKUPS.labels(level="unknown", outcome=INVALID).inc()
        _log_lookup(correlation_id, "unknown", INVALID, started, code=exc.code)
        return error_response(exc.status, exc.code, exc.detail)

    stats = FetchStats()
    status, error_code = 200, None
    later = services.fetcher.cache.write_behind()  # what the lookup fetched is stored once it is sent
    try:
        result = services.lookups.lookup(
            lookup_request, deadline=deadline.shrink(ANSWER_MARGIN_S), stats=stats, later=later
        )
    except OrdergrooveError as exc:
        result = LookupResult.failed()
        status, error_code = 503, f"ordergroove_{type(exc).__name__.lower()}"
        log.warning("ordergroove failed during lookup %s: %s", correlation_id, exc)
    except Exception:  # a bug of ours: still answer in JSON, still record the event
        log.exception("unexpected error during lookup %s", correlation_id)
        result = LookupResult(ERROR)
        status, error_code = 500, "internal_error"

    duration = time.perf_counter() - started
    event = _record(services, lookup_request, result, stats, duration, correlation_id, error_code)
    metrics.LOOKUPS.labels(level=lookup_request.level, outcome=result.outcome).inc()
    metrics.LOOKUP_SECONDS.labels(level=lookup_request.level).observe(duration)
    _log_lookup(
        correlation_id, lookup_request.level, result.outcome, started, code=error_code,
        upstream_calls=stats.upstream_calls, cache_hits=stats.cache_hits, stale=result.stale,
        queued_ms=round(queued * 1000.0, 1) or None,
    )
    if status in (500, 503):
        later.flush()
        if status == 503:
            return error_response(503, error_code or "ordergroove_unavailable", upstream_failure_detail(error_code))
        return error_response(500, "internal_error", "unexpected error; it has been logged")
    response = Response(result.body(), status=200, mimetype="application/json")
    response.call_on_close(later.flush)  # after the answer is sent (WSGI close), before the next request
    if result.stale:
        response.headers["X-OGTK-Stale"] = "1"
    if event is not None and _wants_suggestion(lookup_request, result):
        # submitted when the response is closed, i.e. sent: the answer never waits for it
        response.call_on_close(lambda: services.suggest_after_answer(
            event.uid, lookup_request.emails, lookup_request.external_customer_id))
    return response


def _wants_suggestion(req: LookupRequest, result: LookupResult) -> bool:
    """A DETAILED lookup for an id Ordergroove does not know, with emails to search instead."""
    return req.level == DETAILED and result.reason == ID_UNKNOWN and bool(req.emails)


def route_configured_path(app, path: str) -> None:
    """Also answer at ``OGTK_GLADLY_LOOKUP_PATH`` when it differs, for a proxy that forwards the
    path unchanged (one that strips its prefix reaches :data:`LOOKUP_PATH`); either way the
    signature is checked over the configured path, the one Gladly signed."""
    if path != LOOKUP_PATH:
        app.add_url_rule(path, endpoint="lookup.lookup_at_configured_path", view_func=lookup, methods=["POST"])


#: what a 503 says, by the Ordergroove error behind it (never the upstream message itself)
_UPSTREAM_DETAILS = {
    "ordergroove_ratelimited": "Ordergroove is rate-limiting requests and nothing is cached for this customer",
    "ordergroove_unauthorized": "Ordergroove refused the toolkit's API key; check ORDERGROOVE_API_KEY",
    "ordergroove_badrequest": "Ordergroove rejected the request made for this lookup",
}


def upstream_failure_detail(error_code: str | None) -> str:
    return _UPSTREAM_DETAILS.get(
        error_code or "", "Ordergroove did not answer in time and nothing is cached for this customer")


def _record(services, req: LookupRequest, result: LookupResult, stats: FetchStats, duration: float,
            correlation_id: str | None, error_code: str | None) -> LookupEvent | None:
    """Store the lookup's event; the event when stored, else ``None`` (never raises)."""
    try:
        event = LookupEvent.create(
            hasher=services.events.hasher,
            reason=result.reason,
            partial=result.partial,
            level=req.level,
            outcome=result.outcome,
            gladly_customer_id=req.gladly_customer_id,
            external_customer_id=req.external_customer_id,
            matched_customer_id=result.matched_customer_id,
            raw_emails=req.emails,
            duration_ms=duration * 1000.0,
            upstream_calls=stats.upstream_calls,
            cache_hits=stats.cache_hits,
            correlation_id=correlation_id,
            stale=result.stale,
            error_code=error_code,
        )
    except ValueError:  # an event we cannot describe must not cost Gladly its answer
        log.exception("could not build the lookup event for %s", correlation_id)
        metrics.EVENT_WRITE_FAILURES.inc()
        return None
    return event if services.events.record(event) else None  # failures are counted in metrics


def _log_lookup(correlation_id: str | None, level: str, outcome: str, started: float, **extra: Any) -> None:
    """One JSON line per lookup at INFO, built only when INFO is on (the bench and most
    production setups log at WARNING, and building it was 2% of a warm lookup's CPU)."""
    if log.isEnabledFor(logging.INFO):
        log.info(_log_line(correlation_id, level, outcome, started, **extra))


def _log_line(correlation_id: str | None, level: str, outcome: str, started: float, **extra: Any) -> str:
    line = {
        "event": "lookup",
        "correlation_id": correlation_id,
        "level": level,
        "outcome": outcome,
        "duration_ms": round((time.perf_counter() - started) * 1000.0, 2),
    }
    line.update({k: v for k, v in extra.items() if v is not None})
    return json.dumps(line, separators=(",", ":"))
