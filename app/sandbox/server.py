"""The sandbox HTTP app: Ordergroove's read paths, auth, pagination and errors, over :mod:`.data`.

``create_app`` builds the Flask app; :class:`SandboxServer` runs it on a threaded HTTP/1.1 server
with keep-alive in a background thread (one thread per connection, so latency injected into one
request never delays another). Control endpoints under ``/_sandbox/`` (loopback only, no api key, no
faults): ``GET /_sandbox/stats``, ``GET /_sandbox/requests`` (the request log),
``POST /_sandbox/reset-stats``, ``GET|POST /_sandbox/faults``,
``GET /_sandbox/known``.

Pagination: page style by default (``count``/``next``/``previous``/``results``; ``page``,
``page_size`` default 10, capped at 100); cursor style when the request carries
``X-OG-API-VERSION: 2`` or a ``cursor`` parameter (no ``count``). ``next`` links are absolute and
keep every filter.
"""

from __future__ import annotations

import base64
import hmac
import json
import io
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections import Counter, deque
from typing import Any, Callable, Iterable
from urllib.parse import unquote_to_bytes, urlencode

from flask import Flask, Response, g, request

from app.hosts import is_loopback
from app.settings import SANDBOX_DEFAULT_API_KEY

from .data import DEFAULT_CUSTOMERS, DEFAULT_SEED, KNOWN, Dataset, generate
from .faults import FaultInjector, FaultSettings

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
NOT_FOUND = {"detail": "Unable to find requested asset."}
REQUEST_LOG_SIZE = 50_000


class BadParams(Exception):
    """A query parameter Ordergroove would reject with 400; ``body`` is the error body."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.body = {field_name: [message]}


class Stats:
    """Thread-safe request counters and a request log for the data paths.

    The log keeps, per request, its method, path, route template, query (name -> values),
    status and ``time.monotonic()`` at arrival and at answer (CLOCK_MONOTONIC is system-wide on
    Linux, so a test in another process can compare them with its own clock), so tests can group
    a lookup's requests into rounds. It holds the last :data:`REQUEST_LOG_SIZE` requests.

    >>> st = Stats(); st.count("/customers/{id}/"); st.as_dict()["requests"]
    1
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._paths: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def count(self, template: str) -> None:
        with self._lock:
            self._requests += 1
            self._paths[template] += 1

    def status(self, status: int | str) -> None:
        with self._lock:
            self._statuses[str(status)] += 1

    def log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)

    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._paths.clear()
            self._statuses.clear()
            self._log.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": self._requests, "by_path": dict(self._paths),
                    "by_status": dict(self._statuses)}


def _json(body: Any, status: int = 200, content_type: str = "application/json",
          headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, content_type=content_type,
                    headers=headers)


def _is_true(value: Any) -> bool:
    """Ordergroove's stored truthiness: ``True`` or the strings "True"/"true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _bool_param(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise BadParams(name, f"Select a valid choice. {raw} is not one of the available choices.")


def _int_param(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadParams(name, "Enter a number.") from None


def _narrow(rows: list[dict] | None, subset: Iterable[dict]) -> list[dict]:
    if rows is None:
        return list(subset)
    keep = {id(r) for r in subset}
    return [r for r in rows if id(r) in keep]


# --- pagination ------------------------------------------------------------------------------


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(urlencode({"o": offset}).encode()).decode()


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        if not text.startswith("o="):
            return None
        offset = int(text[2:])
        return offset if offset >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


def _link(params: list[tuple[str, str]]) -> str:
    base = request.host_url.rstrip("/") + request.path
    return f"{base}?{urlencode(params)}" if params else base


def _page_size() -> int:
    raw = request.args.get("page_size")
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise BadParams("page_size", "A valid integer is required.") from None
    if size < 1:
        raise BadParams("page_size", "Ensure this value is greater than or equal to 1.")
    return min(size, MAX_PAGE_SIZE)


def paginate(rows: list[dict]) -> Response:
    """The list envelope of ``rows`` for the current request, page or cursor style."""
    size = _page_size()
    filters = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "cursor", "page_size")]
    if request.headers.get("X-OG-API-VERSION", "").strip() == "2" or "cursor" in request.args:
        offset = 0
        if request.args.get("cursor"):
            offset = _decode_cursor(request.args["cursor"])
            if offset is None:
                return _json({"detail": "Invalid cursor"}, 404)
        end = offset + size
        nxt = _link([("cursor", _encode_cursor(end))] + filters + [("page_size", str(size))]) \
            if end < len(rows) else None
        prev = _link([("cursor", _encode_cursor(max(0, offset - size)))] + filters + [("page_size", str(size))]) \
            if offset > 0 else None
        return _json({"next": nxt, "previous": prev, "results": rows[offset:end]})
    raw_page = request.args.get("page")
    try:
        page = int(raw_page) if raw_page not in (None, "") else 1
    except ValueError:
        raise BadParams("page", "A valid integer is required.") from None
    last = max(1, -(-len(rows) // size))
    if page < 1 or page > last:
        return _json({"detail": "Invalid page."}, 404)
    keep = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    nxt = _link(keep + [("page", str(page + 1))]) if page < last else None
    prev = None
    if page > 1:
        prev = _link(keep) if page == 2 else _link(keep + [("page", str(page - 1))])
    start = (page - 1) * size
    return _json({"count": len(rows), "next": nxt, "previous": prev, "results": rows[start:start + size]})


# --- the app ---------------------------------------------------------------------------------


def create_app(dataset: Dataset, injector: FaultInjector, stats: Stats,
               api_key: str = SANDBOX_DEFAULT_API_KEY) -> Flask:
    """The sandbox Flask app over ``dataset``.

    >>> app = create_app(generate(), FaultInjector(FaultSettings(), seed=1, stop=threading.Event()), Stats())
    >>> app.test_client().get("/customers/").status_code
    401
    """
    app = Flask("app.sandbox")
    ds = dataset

    @app.before_request
    def _gatekeeper() -> Response | None:
        if request.path.startswith("/_sandbox/"):
            if not _is_loopback(request.remote_addr):
                return _json({"detail": "control endpoints are loopback only"}, 403)
            return None
        g.data_path = True
        g.started = time.monotonic()
        rule = request.url_rule
        g.template = rule.rule.replace("<rid>", "{id}") if rule is not None else "(unmatched)"
        stats.count(g.template)
        injector.delay()
        fault = injector.draw()
        if fault is not None:
            if fault.kind == "hang":
                injector.hang()
                if fault.close:
                    stats.status("closed")  # counted before the client can see the drop
                    _log_request(stats, "closed")
                    g.data_path = False
                    _drop_connection()
            status, body, content_type, headers = injector.body(fault)
            return Response(body, status=status, content_type=content_type, headers=headers)
        sent = request.headers.get("x-api-key")
        if not sent:
            return _json({"detail": "Authentication credentials were not provided."}, 401)
        if not hmac.compare_digest(sent.encode(), api_key.encode()):
            return _json({"detail": "Authentication Failed"}, 403)
        return None

    @app.after_request
    def _count_status(response: Response) -> Response:
        if g.get("data_path"):
            stats.status(response.status_code)
            _log_request(stats, response.status_code)
        return response

    @app.errorhandler(BadParams)
    def _bad_params(exc: BadParams) -> Response:
        return _json(exc.body, 400)

    @app.errorhandler(404)
    def _not_found(_exc: Exception) -> Response:
        return _json({"detail": "Not found."}, 404)

    @app.errorhandler(405)
    def _not_allowed(_exc: Exception) -> Response:
        return _json({"detail": f'Method "{request.method}" not allowed.'}, 405)

    def retrieve(index: dict[str, dict], rid: str, content_type: str = "application/json") -> Response:
        record = index.get(rid)
        return _json(record) if record is not None else _json(NOT_FOUND, 404, content_type)

    @app.get("/customers/")
    def customers() -> Response:
        rows: list[dict] | None = None
        email = request.args.get("email")
        if email:  # like django-filter, an empty value means "no filter"
            rows = ds.by_email.get(email.strip().lower(), [])
        live = _bool_param("live")
        rows = ds.customers if rows is None else rows
        if live is not None:
            rows = [c for c in rows if _is_true(c.get("live")) == live]
        return paginate(rows)

    @app.get("/customers/<rid>/")
    def customer(rid: str) -> Response:
        return retrieve(ds.by_customer, rid)

    @app.get("/subscriptions/")
    def subscriptions() -> Response:
        rows: list[dict] | None = None
        if request.args.get("customer"):
            rows = ds.subscriptions_by_customer.get(request.args["customer"], [])
        rows = ds.subscriptions if rows is None else rows
        live = _bool_param("live")
        if live is not None:
            rows = [s for s in rows if _is_true(s.get("live")) == live]
        if request.args.get("product"):
            rows = [s for s in rows if str(s.get("product")) == request.args["product"]]
        return paginate(rows)

    @app.get("/subscriptions/<rid>/")
    def subscription(rid: str) -> Response:
        return retrieve(ds.subscription_by_id, rid)

    @app.get("/orders/")
    def orders() -> Response:
        rows: list[dict] | None = None
        if request.args.get("customer"):
            rows = ds.orders_by_customer.get(request.args["customer"], [])
        if request.args.get("subscription"):  # orders carry no subscription: go through items
            rows = _narrow(rows, ds.orders_by_subscription.get(request.args["subscription"], []))
        rows = ds.orders if rows is None else rows
        status = _int_param("status")
        if status is not None:
            rows = [o for o in rows if o.get("status") == status]
        return paginate(rows)

    @app.get("/orders/<rid>/")
    def order(rid: str) -> Response:
        return retrieve(ds.order_by_id, rid)

    @app.get("/items/")
    def items() -> Response:
        rows: list[dict] | None = None
        if request.args.get("order"):
            rows = ds.items_by_order.get(request.args["order"], [])
        if request.args.get("subscription"):
            rows = _narrow(rows, ds.items_by_subscription.get(request.args["subscription"], []))
        rows = ds.items if rows is None else rows
        if request.args.get("product"):
            rows = [i for i in rows if str(i.get("product")) == request.args["product"]]
        one_time = _bool_param("one_time")
        if one_time is not None:
            rows = [i for i in rows if bool(i.get("one_time")) == one_time]
        return paginate(rows)

    @app.get("/items/<rid>/")
    def item(rid: str) -> Response:
        return retrieve(ds.item_by_id, rid)

    @app.get("/products/")
    def products() -> Response:
        # The gotcha: without both flags, discontinued and non-autoship products are silently hidden.
        autoship = request.args.get("autoship_enabled", "true")
        allow_discontinued = _bool_param("allow_discontinued") or False
        ids = request.args.getlist("external_product_ids[]")  # without "[]" the filter is ignored
        rows = [ds.product_by_id[i] for i in dict.fromkeys(ids) if i in ds.product_by_id] if ids else ds.products
        if autoship.lower() != "all":
            wanted = _bool_param("autoship_enabled")
            wanted = True if wanted is None else wanted
            rows = [p for p in rows if bool(p.get("autoship_enabled")) == wanted]
        if not allow_discontinued:
            rows = [p for p in rows if not p.get("discontinued")]
        live = _bool_param("live")
        if live is not None:
            rows = [p for p in rows if _is_true(p.get("live")) == live]
        if request.args.get("product_type"):
            rows = [p for p in rows if p.get("product_type") == request.args["product_type"]]
        return paginate(rows)

    @app.get("/products/<rid>/")
    def product(rid: str) -> Response:
        # Ordergroove sometimes declares this 404 as text/plain although the body is JSON.
        return retrieve(ds.product_by_id, rid, content_type="text/plain")

    # --- control endpoints (no api key, no faults, not counted) ---

    @app.get("/_sandbox/stats")
    def sandbox_stats() -> Response:
        return _json(stats.as_dict())

    @app.get("/_sandbox/requests")
    def sandbox_requests() -> Response:
        return _json(stats.request_log())

    @app.post("/_sandbox/reset-stats")
    def sandbox_reset() -> Response:
        stats.reset()
        return _json(stats.as_dict())

    @app.route("/_sandbox/faults", methods=["GET", "POST"])
    def sandbox_faults() -> Response:
        if request.method == "POST":
            changes = request.get_json(silent=True)
            if not isinstance(changes, dict):
                return _json({"detail": "send a JSON object of fault settings"}, 400)
            try:
                injector.set(**changes)
            except ValueError as exc:
                return _json({"detail": str(exc)}, 400)
        return _json(injector.settings.as_dict())

    @app.get("/_sandbox/known")
    def sandbox_known() -> Response:
        return _json(KNOWN)

    return app


def _log_request(stats: Stats, status: int | str) -> None:
    stats.log({"method": request.method, "path": request.path, "endpoint": g.template,
               "query": {k: request.args.getlist(k) for k in request.args},
               "status": status, "started": g.started, "ended": time.monotonic()})


def _is_loopback(addr: str | None) -> bool:
    return is_loopback(addr)


def _drop_connection() -> None:
    sock = request.environ.get("sandbox.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# --- the server ------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """A minimal HTTP/1.1 WSGI bridge with keep-alive (werkzeug's dev server closes every connection)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: "_HTTPServer"

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - no access log
        pass

    def _run(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(length),
            "SERVER_NAME": self.server.server_name, "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version, "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "sandbox.socket": self.connection,
        }
        for key, value in self.headers.items():
            name = "HTTP_" + key.upper().replace("-", "_")
            if name not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[name] = f"{environ[name]},{value}" if name in environ else value
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            started[:] = [status, headers]
            return lambda data: None  # the legacy write() callable; Flask never uses it

        result = self.server.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        status, headers = started
        code, _, reason = status.partition(" ")
        try:
            self.send_response(int(code), reason)
            for key, value in headers:
                if key.lower() not in ("content-length", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:  # the connection was dropped on purpose (a "close" hang) or by the client
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _run


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: Flask):
        self.app = app
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:  # skip HTTPServer's getfqdn(), which can stall on DNS
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def drop_all(self) -> None:
        """Close every open connection (idle keep-alives and in-flight requests) at shutdown."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SandboxServer:
    """The sandbox on a background thread: a context manager for tests, benchmarks and the CLI.

    >>> with SandboxServer(latency_ms=50) as sb:  # doctest: +SKIP
    ...     requests.get(f"{sb.base_url}/customers/{KNOWN['reference']}/", headers={"x-api-key": sb.api_key})
    """

    def __init__(self, *, latency_ms: float = 0, error_rate: float = 0, rate_limit_rate: float = 0,
                 hang_rate: float = 0, hang_s: float = 60, retry_after: float | None = None,
                 hang_mode: str = "mixed", seed: int = DEFAULT_SEED, api_key: str = SANDBOX_DEFAULT_API_KEY,
                 customers: int = DEFAULT_CUSTOMERS, host: str = "127.0.0.1", port: int = 0):
        self.api_key = api_key
        self.dataset = generate(seed, customers)
        self._stop = threading.Event()
        settings = FaultSettings(latency_ms=latency_ms, error_rate=error_rate, rate_limit_rate=rate_limit_rate,
                                 hang_rate=hang_rate, hang_s=hang_s, retry_after=retry_after, hang_mode=hang_mode)
        self._injector = FaultInjector(settings, seed=seed, stop=self._stop)
        self._stats = Stats()
        self.app = create_app(self.dataset, self._injector, self._stats, api_key)
        self._host, self._port = host, port
        self._server: Any = None
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
        self._server = _HTTPServer((self._host, self._port), self.app)
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
            self._server.drop_all()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """``{"requests": N, "by_path": {"/customers/{id}/": n, ...}, "by_status": {"200": n, ...}}``."""
        return self._stats.as_dict()

    def request_log(self) -> list[dict[str, Any]]:
        """Every data request since the last reset, oldest first: ``{"method", "path", "endpoint",
        "query": {name: [values]}, "status", "started", "ended"}`` (``time.monotonic()`` seconds)."""
        return self._stats.request_log()

    def reset_stats(self) -> None:
        """Zero the counters and empty the request log."""
        self._stats.reset()

    def set_faults(self, **changes: Any) -> FaultSettings:
        """Change fault settings at runtime (latency_ms, error_rate, rate_limit_rate, hang_rate, ...)."""
        return self._injector.set(**changes)

    def wait(self, poll: Callable[[], bool] | None = None) -> None:
        """Block the calling thread until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while not self._stop.wait(0.5):
            if poll is not None and poll():
                break
