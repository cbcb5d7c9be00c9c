""":class:`SandboxServer`: the sandbox app on werkzeug's threaded WSGI server, in a background thread.

Why werkzeug's server: one thread per connection, so latency injected into one request (or a
hanging one) never delays another, which a fixed worker pool (waitress, gunicorn's gthread)
would; its environ carries the client socket (``werkzeug.socket``), so a "close" hang can drop
the connection as a proxy that gives up would; and it streams WSGI iterables, so a trickled body
leaves byte by byte. What it gives up against the hand-written HTTP/1.1 server it replaces: it
answers ``Connection: close``, so every request opens a new loopback connection (well under a
millisecond, against the tens of milliseconds of injected latency).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

from app.settings import SANDBOX_DEFAULT_API_KEY

from .faults import FaultInjector, FaultSettings
from .generator import generate
from .records import DEFAULT_CUSTOMERS, DEFAULT_SEED
from .stats import Stats
from .webhooks import WebhookSender
from .wsgi import ARRIVED, create_app


class _QuietHandler(WSGIRequestHandler):
    """No access log (the sandbox's stats and request log say what was asked); each request's
    arrival time in its environ, from which the injected latency is counted."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[ARRIVED] = getattr(self.request, "arrived", None)
        return environ

    def log_request(self, *args: Any) -> None:
        pass


class _Socket(socket.socket):
    """An accepted connection that remembers when it was accepted."""

    arrived: float | None = None


class _StampingServer(ThreadedWSGIServer):
    """werkzeug's threaded server, stamping each connection as it is accepted, before its
    handler thread starts (one request per connection: werkzeug answers ``Connection: close``)."""

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        stamped = _Socket(fileno=connection.detach())
        stamped.arrived = time.monotonic()
        return stamped, address


class SandboxServer:
    """The sandbox on a background thread: a context manager for tests, benchmarks and the CLI.

    >>> with SandboxServer(latency_ms=50) as sb:  # doctest: +SKIP
    ...     requests.get(f"{sb.base_url}/customers/{KNOWN['reference']}/", headers={"x-api-key": sb.api_key})
    """

    def __init__(self, *, latency_ms: float = 0, error_rate: float = 0, rate_limit_rate: float = 0,
                 hang_rate: float = 0, hang_s: float = 60, retry_after: float | None = None,
                 hang_mode: str = "mixed", trickle_rate: float = 0, trickle_s: float = 5,
                 seed: int = DEFAULT_SEED, api_key: str = SANDBOX_DEFAULT_API_KEY,
                 customers: int = DEFAULT_CUSTOMERS, host: str = "127.0.0.1", port: int = 0,
                 webhook_url: str | None = None, webhook_key: str | None = None,
                 webhook_duplicate_rate: float = 0, webhook_reorder_rate: float = 0):
        self.api_key = api_key
        self.dataset = generate(seed, customers).copy()  # writes change it: never the shared cached one
        self._stop = threading.Event()
        settings = FaultSettings(latency_ms=latency_ms, error_rate=error_rate, rate_limit_rate=rate_limit_rate,
                                 hang_rate=hang_rate, hang_s=hang_s, retry_after=retry_after, hang_mode=hang_mode,
                                 trickle_rate=trickle_rate, trickle_s=trickle_s)
        self._injector = FaultInjector(settings, seed=seed, stop=self._stop)
        self._stats = Stats()
        self.webhooks: WebhookSender | None = None
        if webhook_url or webhook_key:
            self.webhooks = WebhookSender(webhook_url or "", webhook_key or "", seed=seed,
                                          duplicate_rate=webhook_duplicate_rate, reorder_rate=webhook_reorder_rate)
        self.app = create_app(self.dataset, self._injector, self._stats, api_key, webhooks=self.webhooks)
        self._host, self._port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SandboxServer is not running")
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self._server.server_port}"

    @property
    def faults(self) -> FaultSettings:
        return self._injector.settings

    def start(self) -> "SandboxServer":
        self._stop.clear()
        if self.webhooks is not None:
            self.webhooks.start()
        self._server = _StampingServer(self._host, self._port, self.app, handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ogtk-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes hanging and sleeping requests so this returns promptly."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        if self.webhooks is not None:
            self.webhooks.stop()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """``{"requests": N, "by_path": {"/customers/{id}/": n, ...}, "by_status": {"200": n, ...}}``."""
        return self._stats.as_dict()

    def request_log(self) -> list[dict[str, Any]]:
        """Every data request since the last reset, oldest first: ``{"method", "path", "endpoint",
        "query": {name: [values]}, "status", "arrived", "started", "ended"}`` (``time.monotonic()``
        seconds: accepted, through the gate, answered; the latency counts from ``arrived``)."""
        return self._stats.request_log()

    def reset_stats(self) -> None:
        """Zero the counters and empty the request log."""
        self._stats.reset()

    def set_faults(self, **changes: Any) -> FaultSettings:
        """Change fault settings at runtime (latency_ms, error_rate, rate_limit_rate, hang_rate, ...)."""
        return self._injector.set(**changes)

    def mutate(self, **edit: Any) -> tuple[int, dict]:
        """An admin edit, as ``POST /_sandbox/mutate`` makes it: ``(status, body)``; see :func:`.mutations.admin_edit`."""
        response = self.app.test_client().post("/_sandbox/mutate", json=edit, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        return response.status_code, response.get_json()

    def wait(self, poll: Callable[[], bool] | None = None) -> None:
        """Block the calling thread until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while not self._stop.wait(0.5):
            if poll is not None and poll():
                break
