"""The sandbox's own control endpoints under ``/_sandbox/``: loopback only, no api key, no faults, not counted.

``GET /_sandbox/stats``, ``GET /_sandbox/requests`` (the request log), ``POST /_sandbox/reset-stats``,
``GET|POST /_sandbox/faults``, ``GET /_sandbox/known``, ``POST /_sandbox/mutate`` (an admin edit in
Ordergroove, simulated: see :func:`.mutations.admin_edit`; answers ``{"subscription", "events"}``),
``GET /_sandbox/webhooks`` (the sender's counters; 404 when webhooks are off).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from .known import KNOWN
from .mutations import Refused, admin_edit
from .protocol import json_response

control = Blueprint("sandbox_control", __name__)


def state() -> Any:
    return current_app.extensions["sandbox"]


@control.get("/_sandbox/stats")
def sandbox_stats() -> Response:
    return json_response(state().stats.as_dict())


@control.get("/_sandbox/requests")
def sandbox_requests() -> Response:
    return json_response(state().stats.request_log())


@control.post("/_sandbox/reset-stats")
def sandbox_reset() -> Response:
    state().stats.reset()
    return json_response(state().stats.as_dict())


@control.route("/_sandbox/faults", methods=["GET", "POST"])
def sandbox_faults() -> Response:
    if request.method == "POST":
        changes = request.get_json(silent=True)
        if not isinstance(changes, dict):
            return json_response({"detail": "send a JSON object of fault settings"}, 400)
        try:
            state().injector.set(**changes)
        except ValueError as exc:
            return json_response({"detail": str(exc)}, 400)
    return json_response(state().injector.settings.as_dict())


@control.get("/_sandbox/known")
def sandbox_known() -> Response:
    return json_response(KNOWN)


@control.post("/_sandbox/mutate")
def sandbox_mutate() -> Response:
    try:
        record, changes = admin_edit(state().dataset, request.get_json(force=True, silent=True))
    except Refused as refused:
        return json_response(refused.body, refused.status)
    state().announce(changes)
    return json_response({"subscription": record, "events": [c.type for c in changes]})


@control.get("/_sandbox/webhooks")
def sandbox_webhooks() -> Response:
    if state().webhooks is None:
        return json_response({"detail": "webhooks are off (start with --webhook-url and --webhook-key)"}, 404)
    return json_response(state().webhooks.stats())

