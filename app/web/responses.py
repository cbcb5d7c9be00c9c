"""JSON answers shared by every door: the error body of CONTRACT section 3 and HTTP errors.

Werkzeug's own errors (404, 405, 413 …) come out as HTML unless caught; :func:`http_error`
turns each into ``{"errors":[{"code","detail"}]}`` like every other error of this API.
"""

from __future__ import annotations

import json

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from .. import metrics
from ..outcomes import INVALID
from ..settings import LOOKUP_PATH

#: An oversized body is read and thrown away up to this much, so the keep-alive connection stays
#: usable for the client's next request; past it the server drops the connection.
DISCARD_LIMIT_BYTES = 16 * 1024 * 1024

_HTTP_CODES = {405: "method_not_allowed", 413: "body_too_large", 404: "not_found", 400: "bad_request"}


def json_response(status: int, payload: dict) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def error_response(status: int, code: str, detail: str) -> Response:
    response = json_response(status, {"errors": [{"code": code, "detail": detail}]})
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="ogtk"'
    return response


def _discard_unread_body() -> None:
    stream = request.environ.get("wsgi.input")
    length = request.content_length
    if stream is None or (length is None and not request.environ.get("wsgi.input_terminated")):
        return  # without a length or a terminated stream, reading could block: let it drop
    left = DISCARD_LIMIT_BYTES if length is None else min(length, DISCARD_LIMIT_BYTES)
    try:
        while left > 0:
            chunk = stream.read(min(65536, left))
            if not chunk:
                break
            left -= len(chunk)
    except OSError:  # the client went away: nothing left to keep alive
        pass


def _lookup_paths() -> tuple[str, ...]:
    services = current_app.extensions.get("ogtk")
    return (LOOKUP_PATH, services.settings.gladly_lookup_path) if services else (LOOKUP_PATH,)


def http_error(exc: HTTPException) -> Response:
    """405, 413, 404 … as JSON bodies, like every other error of this API."""
    code = _HTTP_CODES.get(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"))
    if request.blueprint == "lookup" or request.path in _lookup_paths():
        metrics.LOOKUPS.labels(level="unknown", outcome=INVALID).inc()
    if exc.code == 413:
        _discard_unread_body()
    response = error_response(exc.code or 500, code, exc.description or exc.name)
    if getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
