"""HTTP client for Ordergroove's REST API: auth, timeouts, bounded retries, pagination.

Returns raw JSON (the cache stores raw JSON; :mod:`app.ordergroove.models` parses it). Every
failure becomes one :mod:`app.ordergroove.errors` class decided on the status code only, every
HTTP attempt is counted in :mod:`app.metrics`, and nothing here ever runs past the caller's
:class:`~app.deadline.Deadline`.
"""

from __future__ import annotations

import email.utils
import json as _json
import logging
import random
import time
from importlib import metadata
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .. import metrics
from ..deadline import Deadline
from ..settings import Secret
from ..turns import off_turn
from .breaker import CircuitBreaker
from .budget import RequestBudget
from .errors import BadRequest, NotFound, OrdergrooveError, RateLimited, Unauthorized, Unavailable

log = logging.getLogger(__name__)

#: statuses worth another GET: in use, rate limited, server trouble (reference section 6)
RETRY_STATUSES = frozenset({423, 429, 500, 502, 503, 504})
#: a retry (or a first attempt) needs at least this much of the deadline left to be worth sending
MIN_ATTEMPT_S = 0.05
#: Ordergroove's SLA is about 1 s per call: an attempt given at least this long (or its full
#: configured timeouts) that gets no answer is Ordergroove's failure; one given less, because the
#: lookup had spent its budget on other calls, is the deadline's and counts neither way
FAIR_ANSWER_S = 1.0
#: an Ordergroove ``Retry-After`` longer than this is not waited for
MAX_RETRY_AFTER_S = 30.0
PAGE_SIZE = 100
#: a page of 100 records is a few hundred KB; anything far beyond is not an answer we can use
MAX_BODY_BYTES = 32 * 1024 * 1024
#: query parameters that position a page; every other original parameter is a filter to keep
_PAGING_PARAMS = frozenset({"page", "cursor"})


def _package_version() -> str:
    try:
        return metadata.version("ordergroove-gladly-toolkit")
    except metadata.PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"ordergroove-gladly-toolkit/{_package_version()}"


class StatsSink(Protocol):
    """What the client needs from a per-lookup stats object (``fetcher.FetchStats``)."""

    def incr(self, name: str, n: int = 1) -> None: ...


def path_id(value: Any) -> str:
    """An id made safe for one URL path segment (``/`` and friends percent-encoded)."""
    text = str(value).strip() if value is not None else ""
    if text in {"", ".", ".."}:
        raise NotFound("no such record (empty id)")
    return quote(text, safe="")


def encode_query(params: Mapping[str, Any]) -> str:
    """``{"email": "dana+subs@example.com"}`` → ``email=dana%2Bsubs%40example.com``; a list or
    tuple value repeats its parameter (``external_product_ids[]=A&external_product_ids[]=B``)."""
    pairs = []
    for name, value in params.items():
        for one in value if isinstance(value, (list, tuple)) else (value,):
            pairs.append((name, str(one)))
    return urlencode(pairs, quote_via=quote, safe="")


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; ``None`` if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class UpstreamState:
    """What this process last heard from Ordergroove (``/readyz`` body, dashboard).

    ``status``: ``"ok"``, ``"failing"`` (``reason`` says why) or ``"unknown"`` (nothing recent);
    ``at``: monotonic time of that word.
    """

    status: str
    reason: str | None = None
    at: float | None = None


@dataclass(frozen=True)
class _Attempt:
    status: int | None
    body: bytes
    headers: Mapping[str, str]
    failure: str | None  # "timeout" | "deadline" | "connection_error" | None
    label: str


class OrdergrooveClient:
    """Read-only Ordergroove REST client; one pooled session, safe to share between threads.

    >>> og = OrdergrooveClient("http://127.0.0.1:8700", "sandbox-key")
    >>> og.customer("7781203344", deadline=Deadline(4.0))["first_name"]  # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str,
        api_key: Secret | str,
        *,
        connect_timeout: float = 1.0,
        read_timeout: float = 3.0,
        max_retries: int = 2,
        page_cap: int = 50,
        page_size: int = PAGE_SIZE,
        cursor_pagination: bool = True,
        backoff_base: float = 0.1,
        backoff_cap: float = 2.0,
        pool_maxsize: int = 64,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        timezone: Any = None,
        breaker: CircuitBreaker | None = None,
        budget: "RequestBudget | None" = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker or CircuitBreaker()
        #: monotonic times Ordergroove last gave a real answer (any status below 500 but 401/403)
        #: and last failed (timeout, connection error, 5xx, refused key): see upstream_state()
        self.answered_at: float | None = None
        self.failed_at: float | None = None
        self.failure_reason: str | None = None
        #: the instance-wide request budget; ``None``: unlimited
        self.budget: RequestBudget | None = budget
        self._base_parts = urlsplit(self.base_url)
        self._api_key = api_key if isinstance(api_key, Secret) else Secret(str(api_key))
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max(0, int(max_retries))
        self.page_cap = max(1, int(page_cap))
        self.page_size = page_size
        self.cursor_pagination = cursor_pagination
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timezone = timezone
        self._sleep = sleep
        self._rng = rng
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            settle_environment(session, self.base_url)
        self.session = session
        #: proxies, CA bundle and client certificate for every request, read once (see _send)
        self._transport = session.merge_environment_settings(self.base_url, {}, None, None, None)

    @classmethod
    def from_settings(cls, settings, **overrides: Any) -> "OrdergrooveClient":
        options: dict[str, Any] = dict(
            connect_timeout=settings.upstream_connect_timeout_s,
            read_timeout=settings.upstream_read_timeout_s,
            max_retries=settings.upstream_max_retries,
            page_cap=settings.upstream_page_cap,
            timezone=settings.ordergroove_timezone,
            breaker=CircuitBreaker(settings.upstream_breaker_threshold, settings.upstream_breaker_reset_s),
        )
        if "budget" not in overrides and settings.upstream_rate_per_s > 0:
            options["budget"] = RequestBudget(settings.upstream_rate_per_s, path=settings.upstream_budget_path)
        options.update(overrides)
        return cls(settings.ordergroove_base_url, settings.effective_api_key, **options)

    def __repr__(self) -> str:
        return f"OrdergrooveClient({self.base_url!r}, api_key=Secret('***'))"

    def close(self) -> None:
        if self._owns_session:
            self.session.close()
        if self.budget is not None:
            self.budget.close()

    # -- named calls (raw JSON) -------------------------------------------------------------

    def customer(self, customer_id: Any, *, deadline: Deadline, stats: StatsSink | None = None) -> Any:
        return self.get(f"/customers/{path_id(customer_id)}/", deadline=deadline,
                        endpoint="customers.retrieve", stats=stats)

    def customers_by_email(self, email: str, *, deadline: Deadline, stats: StatsSink | None = None) -> list[dict]:
        return self.list_all("/customers/", {"email": email}, deadline=deadline,
                             endpoint="customers.list", stats=stats)

    def subscriptions(self, customer_id: Any, *, deadline: Deadline, stats: StatsSink | None = None) -> list[dict]:
        return self.list_all("/subscriptions/", {"customer": str(customer_id).strip()}, deadline=deadline,
                             endpoint="subscriptions.list", stats=stats)

    def upcoming_orders(self, subscription_id: Any, *, deadline: Deadline,
                        stats: StatsSink | None = None) -> list[dict]:
        return self.list_all("/orders/", {"subscription": str(subscription_id).strip(), "status": 1},
                             deadline=deadline, endpoint="orders.list", stats=stats)

    def customer_upcoming_orders(self, customer_id: Any, *, deadline: Deadline,
                                 stats: StatsSink | None = None) -> list[dict]:
        """Every upcoming (status 1) order of a customer: keyed by the customer, so it can go in
        the same round trip as the customer and their subscriptions."""
        return self.list_all("/orders/", {"customer": str(customer_id).strip(), "status": 1},
                             deadline=deadline, endpoint="orders.list", stats=stats)

    def order_items(self, order_id: Any, *, deadline: Deadline, stats: StatsSink | None = None) -> list[dict]:
        """The lines of one order: the only link from an order to its subscriptions. Prices are
        not needed (the card shows the subscription's), so Ordergroove is asked not to compute them."""
        return self.list_all("/items/", {"order": str(order_id).strip(), "omit_price_calculation": "true"},
                             deadline=deadline, endpoint="items.list", stats=stats)

    def products_batch(self, product_ids: list[str], *, deadline: Deadline,
                       stats: StatsSink | None = None) -> list[dict]:
        """Up to ``PAGE_SIZE`` products in one request, discontinued and non-autoship ones included
        (without both flags Ordergroove silently drops them from the list)."""
        ids = list(dict.fromkeys(str(p) for p in product_ids))[:PAGE_SIZE]
        if not ids:
            return []
        return self.list_all("/products/", {"external_product_ids[]": ids, "autoship_enabled": "all",
                                            "allow_discontinued": "true", "page_size": str(len(ids))},
                             deadline=deadline, endpoint="products.list", stats=stats)

    def product(self, product_id: Any, *, deadline: Deadline, stats: StatsSink | None = None) -> Any:
        return self.get(f"/products/{path_id(product_id)}/", deadline=deadline,
                        endpoint="products.retrieve", stats=stats)

    # -- generic ------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, deadline: Deadline,
            endpoint: str, stats: StatsSink | None = None, headers: Mapping[str, str] | None = None) -> Any:
        """GET ``path`` (relative to the base URL) and return its decoded JSON body."""
        url = self.base_url + path
        if params:
            url += "?" + encode_query(params)
        return self._get_url(url, deadline=deadline, endpoint=endpoint, stats=stats, headers=headers)

    def list_all(self, path: str, params: Mapping[str, Any] | None, *, deadline: Deadline, endpoint: str,
                 stats: StatsSink | None = None) -> list[dict]:
        """Every record of a list endpoint, following ``next`` links to the end (or the page cap).

        Accepts a list envelope with or without ``count``, a bare list, or a bare single object
        (customers-by-email has been documented that way). ``next`` is followed verbatim, except
        that it is re-anchored on our base URL (the api key never goes to another host) and any
        original filter a page-style link dropped is put back.
        """
        filters = {k: (list(map(str, v)) if isinstance(v, (list, tuple)) else str(v))
                   for k, v in (params or {}).items()}
        first = dict(filters)
        first.setdefault("page_size", str(self.page_size))
        headers = {"X-OG-API-VERSION": "2"} if self.cursor_pagination else None
        url = self.base_url + path + "?" + encode_query(first)
        seen: set[str] = set()
        records: list[dict] = []
        pages = 0
        while url:
            seen.add(url)
            body = self._get_url(url, deadline=deadline, endpoint=endpoint, stats=stats, headers=headers)
            pages += 1
            page_records, next_link = _unwrap_page(body, endpoint)
            records.extend(page_records)
            if not next_link:
                break
            next_url = self._next_url(url, next_link, first)
            if next_url in seen:
                log.warning("Ordergroove %s: next link repeats a page already fetched; stopping after %d pages",
                            endpoint, pages)
                break
            if pages >= self.page_cap:
                log.warning("Ordergroove %s: page cap of %d reached; stopping (results truncated)",
                            endpoint, self.page_cap)
                break
            url = next_url
        return records

    # -- internals ----------------------------------------------------------------------------

    def _next_url(self, current: str, link: str, original: Mapping[str, Any]) -> str:
        absolute = urlsplit(urljoin(current, link))
        query = parse_qsl(absolute.query, keep_blank_values=True)
        present = {k for k, _ in query}
        missing = [(k, v) for k, v in original.items() if k not in present and k not in _PAGING_PARAMS]
        if missing:
            query_text = absolute.query + ("&" if absolute.query else "") + encode_query(dict(missing))
        else:
            query_text = absolute.query
        base = self._base_parts
        if (absolute.scheme, absolute.netloc) != (base.scheme, base.netloc):
            log.debug("Ordergroove next link points at another host; re-anchored on the base URL")
        return urlunsplit((base.scheme, base.netloc, absolute.path, query_text, ""))

    def _timeouts(self, deadline: Deadline) -> tuple[tuple[float, float], bool]:
        """Connect and read timeouts that together fit in what is left of the deadline, and
        whether a timeout would be ours rather than Ordergroove's: the deadline left this
        attempt less than Ordergroove's usual answer time (``FAIR_ANSWER_S``, or the configured
        timeouts when shorter), so its silence says nothing about Ordergroove's health."""
        remaining = deadline.remaining()
        connect = min(self.connect_timeout, remaining / 2)
        read = max(MIN_ATTEMPT_S, min(self.read_timeout, remaining - connect))
        fair = min(FAIR_ANSWER_S, self.connect_timeout + self.read_timeout) - MIN_ATTEMPT_S
        return (connect, read), remaining < fair

    @staticmethod
    def _read_body(response: requests.Response, deadline: Deadline, read_timeout: float | None = None) -> bytes:
        """The body, read piece by piece inside the deadline.

        ``requests``' read timeout bounds each socket read, not the whole body, so an upstream
        that trickles bytes could hold a lookup for ever. ``read1`` returns whatever one socket
        read brings; before each, the socket timeout is cut to what is left (through urllib3's
        connection, where reachable), and running out of time raises a timeout.
        """
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        sock = getattr(getattr(raw, "_connection", None), "sock", None)
        try:
            while True:
                remaining = deadline.remaining()
                if remaining <= 0:
                    response.close()
                    raise requests.exceptions.ReadTimeout("Ordergroove body not complete before the deadline")
                if sock is not None:
                    try:
                        sock.settimeout(remaining if read_timeout is None else min(read_timeout, remaining))
                    except OSError:
                        sock = None
                chunk = raw.read1(65536, decode_content=True)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    response.close()
                    raise requests.exceptions.ContentDecodingError("Ordergroove body larger than we accept")
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            response.close()
            raise requests.exceptions.ReadTimeout("Ordergroove body not complete before the deadline") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            response.close()
            raise requests.exceptions.ConnectionError(type(exc).__name__) from None

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1)))."""
        return self._rng() * min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"x-api-key": self._api_key.reveal(), "Accept": "application/json", "User-Agent": USER_AGENT}
        if extra:
            headers.update(extra)
        return headers

    def _attempt(self, method: str, url: str, *, headers: Mapping[str, str], data: bytes | None,
                 deadline: Deadline, endpoint: str, stats: StatsSink | None) -> _Attempt:
        """One HTTP exchange: breaker, timeouts fitted to the deadline, body read, bookkeeping.

        A timeout counts against Ordergroove only when Ordergroove had a fair time to answer
        (see ``FAIR_ANSWER_S``); one cut short by the caller's remaining budget is labelled
        ``deadline`` and counts neither way (the breaker must not open because a customer has
        many pieces and the lookup ran out of time). The breaker's half-open trial slot is freed
        on every path, exceptions included.
        """
        if deadline.remaining() < MIN_ATTEMPT_S:
            raise Unavailable("deadline reached before Ordergroove answered", endpoint=endpoint, deadline_cut=True)
        if not self.breaker.allow():
            metrics.UPSTREAM_SHORT_CIRCUITS.labels(endpoint).inc()
            raise Unavailable("Ordergroove keeps failing; circuit open, not waiting on it", endpoint=endpoint)
        recorded = False
        try:
            status: int | None = None
            failure: str | None = None
            response: requests.Response | None = None
            body = b""
            label = ""
            with off_turn():  # the budget's pause and Ordergroove's answer: others run meanwhile
                if self.budget is not None:
                    self.budget.acquire(deadline, endpoint=endpoint)
                timeouts, cut = self._timeouts(deadline)
                started = time.perf_counter()
                try:
                    response = self._send(method, url, headers=headers, data=data, timeouts=timeouts)
                    status = response.status_code
                    label = str(status)
                    body = self._read_body(response, deadline, self.read_timeout)
                except requests.exceptions.Timeout:
                    failure = "deadline" if cut else "timeout"
                except requests.exceptions.RequestException:
                    failure = "connection_error"
                elapsed = time.perf_counter() - started
            if failure == "deadline":
                self.breaker.abandon()
            else:
                self.breaker.record(ok=failure is None and status is not None and status < 500,
                                    timed_out=failure == "timeout")
            recorded = True
            self._note_answer(status, failure)
            if status == 429 and self.budget is not None:
                self.budget.slow_down()
            label = failure or label
            metrics.UPSTREAM_REQUESTS.labels(endpoint, label).inc()
            metrics.UPSTREAM_SECONDS.labels(endpoint).observe(elapsed)
            if stats is not None:
                stats.incr("upstream_calls")
            return _Attempt(status, body, response.headers if response is not None else {}, failure, label)
        finally:
            if not recorded:
                self.breaker.abandon()

    def _send(self, method: str, url: str, *, headers: Mapping[str, str], data: bytes | None,
              timeouts: tuple[float, float]) -> requests.Response:
        """One exchange through the session's adapter (urllib3's pool), without ``Session.request``.

        The session layer merges settings, cookies and hooks this client never uses (no cookies,
        no auth, no redirects followed), and with requests 2.34 its runtime protocol checks made
        it over a third of the client's CPU per call: CPU that a cold lookup's parallel requests
        spend one after another under the GIL. The session's proxies, CA bundle and certificate
        (with the environment's, when it reads it) are merged once, when the client is built.
        The adapter still does the pooling, proxies, TLS and response building (and is what
        ``responses`` mocks in the tests).
        """
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.prepare_url(url, None)
        prepared.prepare_headers(headers)  # validates each header, as Session.request did
        if data is not None:
            prepared.body = data
            prepared.headers["Content-Length"] = str(len(data))
        transport = self._transport
        return self.session.get_adapter(prepared.url).send(
            prepared, stream=True, timeout=timeouts, verify=transport["verify"], cert=transport["cert"],
            proxies=transport["proxies"])

    def _note_answer(self, status: int | None, failure: str | None) -> None:
        """Remember Ordergroove's latest word for :meth:`upstream_state`."""
        now = time.monotonic()
        if failure == "deadline":
            return
        if failure is not None:
            self.failed_at, self.failure_reason = now, f"no answer from Ordergroove ({failure})"
        elif status in (401, 403):
            self.failed_at, self.failure_reason = now, f"Ordergroove refused the API key (HTTP {status})"
        elif status is not None and status >= 500:
            self.failed_at, self.failure_reason = now, f"Ordergroove answered HTTP {status}"
        else:
            self.answered_at = now

    def upstream_state(self, *, fresh_s: float = 60.0) -> UpstreamState:
        """``ok`` / ``failing`` (with the reason) / ``unknown``, from this process's own calls.

        A revoked key (401/403) is ``failing``, not an answer. ``unknown`` means nothing was
        heard within ``fresh_s``: a readiness check may probe before reporting.
        """
        answered, failed = self.answered_at, self.failed_at
        if failed is not None and (answered is None or failed >= answered):
            return UpstreamState("failing", self.failure_reason, failed)
        if answered is not None and time.monotonic() - answered < fresh_s:
            return UpstreamState("ok", None, answered)
        return UpstreamState("unknown", None, answered)

    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                deadline: Deadline, endpoint: str, stats: StatsSink | None = None) -> tuple[int, Any]:
        """One request, never retried (writes: a blind retry could apply a change twice).

        Returns ``(status, body)`` for every HTTP answer, 4xx and 5xx included, so the caller can
        read Ordergroove's error bodies; ``body`` is the decoded JSON, else the text, else
        ``None``. Raises :class:`Unavailable` when no answer came: ``timed_out`` is then true
        when the request may have reached Ordergroove (read back before concluding anything),
        false when the breaker was open, the deadline had no room, or the connection failed.

        >>> status, body = og.request("PATCH", "/subscriptions/abc/cancel/", json={}, deadline=Deadline(10),
        ...                           endpoint="subscriptions.cancel")  # doctest: +SKIP
        """
        url = self.base_url + path + ("?" + encode_query(params) if params else "")
        extra = {"Content-Type": "application/json"} if json is not None else None
        data = _json.dumps(json).encode() if json is not None else None
        result = self._attempt(method.upper(), url, headers=self._headers(extra), data=data, deadline=deadline,
                               endpoint=endpoint, stats=stats)
        if result.failure is not None:
            raise Unavailable(f"Ordergroove gave no answer ({result.failure})", endpoint=endpoint,
                              timed_out=result.failure in ("timeout", "deadline"),
                              deadline_cut=result.failure == "deadline")
        assert result.status is not None
        return result.status, _decode_body(result.body)

    def _get_url(self, url: str, *, deadline: Deadline, endpoint: str, stats: StatsSink | None,
                 headers: Mapping[str, str] | None = None) -> Any:
        """One GET with retries.

        The retry loop is written by hand instead of using urllib3's ``Retry`` because every
        sleep and every retry must fit inside the caller's deadline (urllib3 knows nothing of
        it), each attempt's timeouts shrink to what is left, and each attempt is counted in the
        metrics and the per-lookup stats.
        """
        request_headers = self._headers(headers)
        attempt = 0
        while True:
            attempt += 1
            result = self._attempt("GET", url, headers=request_headers, data=None, deadline=deadline,
                                   endpoint=endpoint, stats=stats)
            status, failure, label = result.status, result.failure, result.label
            if failure is None and status is not None and 200 <= status < 300:
                try:
                    return _json.loads(result.body)
                except ValueError:
                    raise Unavailable("Ordergroove answered 200 with a body that is not JSON",
                                      endpoint=endpoint, status=status) from None
            if failure == "deadline":
                raise Unavailable("Ordergroove did not answer within the lookup's deadline", endpoint=endpoint,
                                  timed_out=True, deadline_cut=True)

            retryable = failure is not None or status in RETRY_STATUSES
            if retryable and attempt <= self.max_retries:
                retry_after = parse_retry_after(result.headers.get("Retry-After")) if status is not None else None
                delay = retry_after if retry_after is not None else self._backoff(attempt)
                if delay <= MAX_RETRY_AFTER_S and deadline.remaining() - delay >= MIN_ATTEMPT_S:
                    log.info("Ordergroove %s answered %s (attempt %d); retrying in %.3fs",
                             endpoint, label, attempt, delay)
                    if delay > 0:
                        with off_turn():
                            self._sleep(delay)
                    continue
                log.info("Ordergroove %s answered %s; no time left to retry before the deadline", endpoint, label)
            raise _error_for(status, failure, endpoint=endpoint, attempts=attempt)


def settle_environment(session: requests.Session, base_url: str) -> None:
    """Apply the environment's proxy and CA-bundle settings for ``base_url`` once, then stop
    ``session`` from reading the environment again.

    With ``trust_env`` on, requests scans the whole of ``os.environ`` twice per request (proxies,
    then ``NO_PROXY``): a quarter of the client's CPU per call, serialised under the GIL across
    a cold lookup's parallel requests. Every request goes to ``base_url``'s host (next links are
    re-anchored on it), so the answer for that URL is the answer for all; ``HTTPS_PROXY``,
    ``NO_PROXY`` and ``REQUESTS_CA_BUNDLE`` keep working, read when the client is built.
    """
    settled = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies.update(settled["proxies"])
    session.verify = settled["verify"]
    session.trust_env = False


def _decode_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return _json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


def _unwrap_page(body: Any, endpoint: str) -> tuple[list[dict], str | None]:
    if isinstance(body, list):
        return [r for r in body if isinstance(r, dict)], None
    if isinstance(body, dict):
        if isinstance(body.get("results"), list):
            nxt = body.get("next")
            return [r for r in body["results"] if isinstance(r, dict)], nxt if isinstance(nxt, str) and nxt else None
        if "results" in body or not body:
            return [], None
        return [body], None  # a bare single object
    raise Unavailable("Ordergroove list answer has an unexpected shape", endpoint=endpoint)


def _error_for(status: int | None, failure: str | None, *, endpoint: str, attempts: int) -> OrdergrooveError:
    if failure is not None:
        return Unavailable(f"Ordergroove request failed ({failure}) after {attempts} attempt(s)", endpoint=endpoint)
    assert status is not None
    if status == 404:
        return NotFound("Ordergroove has no such record", endpoint=endpoint, status=status)
    if status in (401, 403):
        return Unauthorized("Ordergroove refused the API key", endpoint=endpoint, status=status)
    if status == 429:
        return RateLimited(f"Ordergroove rate limit after {attempts} attempt(s)", endpoint=endpoint, status=status)
    if status == 400:
        return BadRequest("Ordergroove rejected the request parameters", endpoint=endpoint, status=status)
    if status >= 500 or status == 423 or status < 400:
        return Unavailable(f"Ordergroove answered {status} after {attempts} attempt(s)",
                           endpoint=endpoint, status=status)
    return BadRequest(f"Ordergroove answered {status}", endpoint=endpoint, status=status)
