"""``GET``/``POST /gladly/actions/…``: the Gladly Action forms and their submits (CONTRACT §8).

Mounted twice: at ``/gladly/actions/…`` and below the lookup path
(``/gladly/lookup/gladly/actions/…``), since it is unknown whether Gladly resolves a relative
``formUrl`` against the host or against the whole configured lookup URL. Each request is
authenticated like a lookup, with the path it actually arrived on as the signed path (and the
SHA-256 of zero bytes as a GET's body hash); the mount it came through is logged, so real
traffic answers the question. A disabled action answers 404 before anything else.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import quote, urlsplit

from flask import Blueprint, Flask, Response, request

from ..actions import ActionDisabled, FormRefused
from ..gladly.errors import GladlyError
from ..gladly.forms import CANCEL, SKIP, refused_answer
from ..services import get_services
from ..serving import queued_seconds
from .responses import error_response, json_response

bp = Blueprint("actions", __name__)
log = logging.getLogger("ogtk.actions")

BELOW_LOOKUP = "actions_below_lookup"


@bp.route("/gladly/actions/subscriptions/<subscription_id>/cancel", methods=["GET", "POST"])
def cancel(subscription_id: str) -> Response:
    return _handle(CANCEL, subscription_id, None)


@bp.route("/gladly/actions/subscriptions/<subscription_id>/orders/<order_id>/skip", methods=["GET", "POST"])
def skip(subscription_id: str, order_id: str) -> Response:
    return _handle(SKIP, subscription_id, order_id)


def _requested_path() -> str:
    """The path as the client sent it (still percent-encoded), which is what Gladly signs."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return urlsplit(raw).path or "/"
    return request.script_root + quote(request.path)


def _correlation_id() -> str | None:
    return (request.headers.get("Gladly-Correlation-Id") or "").strip()[:64] or None


def _handle(action: str, subscription_id: str, order_id: str | None) -> Response:
    started = time.perf_counter()
    services = get_services()
    service = services.actions
    mount = "below_lookup" if request.blueprint == BELOW_LOOKUP else "actions"
    if not service.is_enabled(action):
        return error_response(404, "not_found", "this action is not enabled")
    path = _requested_path()
    raw = request.get_data(cache=True)  # the signature covers exactly these bytes (none for a GET)
    try:
        services.authenticator.verify(request.method, request.query_string.decode("latin-1"), request.headers,
                                      raw, path=path)
    except GladlyError as exc:
        log.info(json.dumps({"event": "action_auth", "action": action, "method": request.method, "mount": mount,
                             "code": exc.code, "correlation_id": _correlation_id()}, separators=(",", ":")))
        return error_response(exc.status, exc.code, exc.detail)
    if request.method == "GET":
        return _form(service, action, subscription_id, order_id, mount, started)
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None  # answered as a form-level 400 by the service
    try:
        answer = service.submit(action, subscription_id, order_id, body, correlation_id=_correlation_id(),
                                source="gladly", path=f"{mount}:{path}", queued_s=queued_seconds())
    except ActionDisabled:
        return error_response(404, "not_found", "this action is not enabled")
    return json_response(answer.status, answer.body)


def _form(service, action: str, subscription_id: str, order_id: str | None, mount: str,
          started: float) -> Response:
    status, code = 200, "form"
    try:
        body = service.form(action, subscription_id, order_id)
    except ActionDisabled:
        return error_response(404, "not_found", "this action is not enabled")
    except FormRefused as exc:
        status, code, body = 406, exc.code, exc.as_body()
    except Exception:  # a bug of ours: still Gladly's shape, never a 500
        log.exception("unexpected error while building the %s form for %s", action, subscription_id)
        status, code = 406, "internal_error"
        body = refused_answer("Form not available", "Something went wrong on our side and has been logged")
    log.info(json.dumps({
        "event": "action_form", "action": action, "status": status, "detail": code, "mount": mount,
        "subscription_id": subscription_id, "order_id": order_id, "correlation_id": _correlation_id(),
        "duration_ms": round((time.perf_counter() - started) * 1000.0, 2),
    }, separators=(",", ":")))
    return json_response(status, body)


def init_app(app: Flask, lookup_path: str) -> None:
    """Both mounts: the contract's paths, and the same below the configured lookup path."""
    app.register_blueprint(bp)
    app.register_blueprint(bp, url_prefix=lookup_path.rstrip("/"), name=BELOW_LOOKUP)
