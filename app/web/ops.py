"""Operational endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics``.

Readiness means this worker could answer a lookup now: the disk cache and the event store are
usable and Ordergroove answered recently (within ``READY_UPSTREAM_FRESH_S``, with no failure since)
or answers a probe.
Probe results are remembered briefly so a busy load balancer does not hammer Ordergroove.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response

from .. import metrics
from ..deadline import Deadline
from ..ordergroove.errors import OrdergrooveError
from ..services import get_services
from .responses import json_response as _json

bp = Blueprint("ops", __name__)

READY_UPSTREAM_FRESH_S = 60.0
PROBE_REMEMBER_S = 10.0
PROBE_DEADLINE_S = 2.0

@bp.get("/healthz")
def healthz() -> Response:
    return _json(200, {"status": "ok"})


def _upstream_problem(services) -> str | None:
    now = time.monotonic()
    client = services.fetcher.client
    answered, failed = client.answered_at, client.failed_at
    if answered is not None and now - answered < READY_UPSTREAM_FRESH_S and (failed is None or failed < answered):
        return None  # Ordergroove's latest word was an answer, and a recent one
    if services.probe_at is not None and now - services.probe_at < PROBE_REMEMBER_S:
        return services.probe_error
    try:
        services.fetcher.client.get(
            "/products/", {"page_size": 1}, deadline=Deadline(PROBE_DEADLINE_S), endpoint="probe"
        )
        error = None
    except OrdergrooveError as exc:
        error = f"Ordergroove probe failed: {type(exc).__name__}"
    services.probe_at, services.probe_error = now, error
    return error


@bp.get("/readyz")
def readyz() -> Response:
    services = get_services()
    reasons = []
    try:
        services.fetcher.cache.check()
    except Exception as exc:  # any failure means "not ready", with the reason
        reasons.append(f"disk cache unusable: {exc}")
    try:
        services.events.check()
    except Exception as exc:
        reasons.append(f"event store unusable: {exc}")
    upstream = _upstream_problem(services)
    if upstream:
        reasons.append(upstream)
    if reasons:
        return _json(503, {"status": "unavailable", "reasons": reasons})
    return _json(200, {"status": "ready"})


@bp.get("/metrics")
def metrics_endpoint() -> Response:
    body, content_type = metrics.render_latest()
    return Response(body, status=200, content_type=content_type)
