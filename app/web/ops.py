"""Operational endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics``.

``/readyz`` answers 503 only for faults of this instance; shared dependencies such as
Ordergroove are reported in its body and never fail it (see :mod:`app.readiness`).
"""

from __future__ import annotations

from flask import Blueprint, Response

from .. import metrics
from ..services import get_services
from .responses import json_response

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response(200, {"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    readiness = get_services().readiness.evaluate()
    return json_response(200 if readiness.ready else 503, readiness.body())


@bp.get("/metrics")
def metrics_endpoint() -> Response:
    body, content_type = metrics.render_latest()
    return Response(body, status=200, content_type=content_type)
