"""The sandbox's Flask app: the gate every data request passes (stats, faults, api key), then the routes.

Order at the gate, as a client of Ordergroove would see it: the request is counted, may draw a
fault (hang, 429, 500/503, trickled body), and only then is its ``x-api-key`` checked. Whatever
the answer, it leaves no earlier than the injected latency after the request arrived (when the
server accepted the connection, :data:`ARRIVED`), then the request is logged. The sandbox's
own work (parsing, routing, JSON) is inside that latency, not added to it: a single Python
process serialises that work across parallel requests, which a real Ordergroove does not, and
would otherwise add a few milliseconds per concurrent request to what a benchmark measures.
Control endpoints under ``/_sandbox/`` (loopback only) and product images skip all of it.
"""

from __future__ import annotations

import hmac
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from flask import Flask, Response, g, request

from app.settings import SANDBOX_DEFAULT_API_KEY

from .control import control
from .dataset import Dataset
from .faults import FaultInjector
from .images import IMAGE_PATH, images
from .mutations import Change
from .protocol import BadParams, json_response
from .reads import reads
from .stats import Stats
from .webhooks import WebhookSender
from .writes import writes

#: WSGI environ key: ``time.monotonic()`` when the server's handler took the request
ARRIVED = "ogtk.sandbox.arrived"


@dataclass
class SandboxState:
    """What the routes share, kept on ``app.extensions["sandbox"]``."""

    dataset: Dataset
    injector: FaultInjector
    stats: Stats
    api_key: str = SANDBOX_DEFAULT_API_KEY
    webhooks: WebhookSender | None = None
    listeners: list[Callable[[list[Change]], None]] = field(default_factory=list)

    def announce(self, changes: list[Change]) -> None:
        """Tell every listener (the webhook sender, which only queues) what changed."""
        for listener in self.listeners:
            listener(changes)


def create_app(dataset: Dataset, injector: FaultInjector, stats: Stats,
               api_key: str = SANDBOX_DEFAULT_API_KEY, webhooks: WebhookSender | None = None) -> Flask:
    """The sandbox Flask app over ``dataset``.

    >>> app = create_app(generate(), FaultInjector(FaultSettings(), seed=1, stop=threading.Event()), Stats())
    >>> app.test_client().get("/customers/").status_code  # doctest: +SKIP
    401
    """
    app = Flask("app.sandbox")
    state = SandboxState(dataset, injector, stats, api_key, webhooks)
    if webhooks is not None:
        state.listeners.append(webhooks.send)
    app.extensions["sandbox"] = state
    app.config["MAX_CONTENT_LENGTH"] = 1 << 20
    app.before_request(lambda: _gate(state))
    app.after_request(lambda response: _after(state, response))
    app.register_error_handler(BadParams, lambda exc: json_response(exc.body, 400))
    app.register_error_handler(404, lambda _exc: json_response({"detail": "Not found."}, 404))
    app.register_error_handler(
        405, lambda _exc: json_response({"detail": f'Method "{request.method}" not allowed.'}, 405))
    app.register_blueprint(reads)
    app.register_blueprint(writes)
    app.register_blueprint(control)
    app.register_blueprint(images)
    return app


def _gate(state: SandboxState) -> Response | None:
    if request.path.startswith("/_sandbox/"):
        if not _is_loopback(request.remote_addr):
            return json_response({"detail": "control endpoints are loopback only"}, 403)
        return None
    if request.path.startswith(IMAGE_PATH):  # the merchant's CDN, not Ordergroove
        return None
    g.data_path = True
    g.started = time.monotonic()
    g.arrived = request.environ.get(ARRIVED) or g.started
    rule = request.url_rule
    g.template = rule.rule.replace("<rid>", "{id}") if rule is not None else "(unmatched)"
    state.stats.count(g.template, request.method)
    injector = state.injector
    fault = injector.draw()
    if fault is not None and fault.kind == "trickle":
        g.trickle = True  # the real answer, sent slowly (see _after)
    elif fault is not None:
        if fault.kind == "hang":
            injector.hang()
            if fault.close:
                state.stats.status("closed")  # counted before the client can see the drop
                _log_request(state.stats, "closed")
                g.data_path = False
                _drop_connection()
        status, body, content_type, headers = injector.body(fault)
        return Response(body, status=status, content_type=content_type, headers=headers)
    sent = request.headers.get("x-api-key")
    if not sent:
        return json_response({"detail": "Authentication credentials were not provided."}, 401)
    if not hmac.compare_digest(sent.encode(), state.api_key.encode()):
        return json_response({"detail": "Authentication Failed"}, 403)
    return None


def _after(state: SandboxState, response: Response) -> Response:
    if g.get("data_path"):
        state.injector.delay(since=g.arrived)
        state.stats.status(response.status_code)
        _log_request(state.stats, response.status_code)
        if g.get("trickle") and not response.is_streamed:
            body = response.get_data()
            response.response = _trickled(body, state.injector)
            response.headers["Content-Length"] = str(len(body))
    return response


def _trickled(body: bytes, injector: FaultInjector) -> Iterator[bytes]:
    """``body`` in up to 50 pieces: the first at once, the rest spread over ``trickle_s``.

    Each socket read is quick, the whole is not: what a per-read timeout cannot catch.
    """
    pieces = max(1, min(len(body), 50))
    size = -(-len(body) // pieces)
    pause = injector.settings.trickle_s / max(1, -(-len(body) // size) - 1)
    for start in range(0, len(body), size):
        if start and injector.stop.wait(pause):
            return
        yield body[start:start + size]


def _log_request(stats: Stats, status: int | str) -> None:
    stats.log({"method": request.method, "path": request.path, "endpoint": g.template,
               "query": {k: request.args.getlist(k) for k in request.args},
               "status": status, "arrived": g.arrived, "started": g.started, "ended": time.monotonic()})


def _is_loopback(addr: str | None) -> bool:
    return bool(addr) and (addr.startswith("127.") or addr in ("::1", "localhost"))


def _drop_connection() -> None:
    """Shut the client's socket (werkzeug's server puts it in the environ), as a proxy that gives up would."""
    sock: Any = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
