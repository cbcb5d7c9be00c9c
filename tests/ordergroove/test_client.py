"""OrdergrooveClient against `responses`: headers, encoding, pagination, retries, deadline, errors."""

from __future__ import annotations

import io
import json
import logging
import time
from email.utils import formatdate

import pytest
import requests
import responses
import urllib3
from prometheus_client import REGISTRY

from app.deadline import Deadline
from app.ordergroove.breaker import CircuitBreaker
from app.ordergroove.client import USER_AGENT, OrdergrooveClient, encode_query, parse_retry_after, path_id
from app.ordergroove.errors import BadRequest, NotFound, RateLimited, Unauthorized, Unavailable
from app.ordergroove.fetcher import FetchStats
from app.settings import Secret, Settings

BASE = "https://og.test"
KEY = "k-very-secret-123"

DANA = {"merchant": "5b4b5d02049b641549182f8040addf63", "id": 2284417, "merchant_user_id": "7781203344",
        "first_name": "Dana", "last_name": "Reyes", "email": "dana.reyes@example.com",
        "phone_number": "+14155550123", "phone_type": 2, "live": True,
        "created": "2023-07-11 11:58:40", "last_updated": "2025-01-19 08:03:47",
        "extra_data": {"loyalty_tier": "gold"}, "locale": "en-us", "price_code": ""}


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def ft():
    return FakeTime()


@pytest.fixture
def og(ft):
    # The retry loop is the subject here; the circuit breaker (tests/ordergroove/test_breaker.py)
    # would otherwise cut a run of timeouts short.
    client = OrdergrooveClient(BASE, Secret(KEY), sleep=ft.sleep, rng=lambda: 1.0,
                               breaker=CircuitBreaker(threshold=1000))
    yield client
    client.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def deadline(ft, seconds=4.0):
    return Deadline(seconds, clock=ft.clock)


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- request shape ---------------------------------------------------------------------------

def test_sends_key_accept_user_agent_and_keeps_trailing_slash(og, ft, mocked):
    mocked.get(f"{BASE}/customers/7781203344/", json=DANA)
    assert og.customer("7781203344", deadline=deadline(ft))["first_name"] == "Dana"
    request = mocked.calls[0].request
    assert request.url == f"{BASE}/customers/7781203344/"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("ordergroove-gladly-toolkit/")


class RecordingAdapter(requests.adapters.HTTPAdapter):
    """The adapter a caller mounts on its own session: records what each send was given."""

    def __init__(self):
        super().__init__()
        self.sent: list[tuple[requests.PreparedRequest, dict]] = []

    def send(self, request, **kwargs):
        self.sent.append((request, kwargs))
        response = requests.Response()
        response.status_code, response.url, response.request = 200, request.url, request
        response.raw = urllib3.response.HTTPResponse(body=io.BytesIO(b'{"ok": true}'), preload_content=False)
        return response


def test_requests_go_through_the_sessions_adapter_with_its_settled_environment(ft):
    """The client sends through the session's mounted adapter, not ``Session.request``: the
    session's proxies and CA bundle (settled once from the environment) still apply, no cookie
    of the session goes out, and a write's body carries its length."""
    session = requests.Session()
    adapter = RecordingAdapter()
    session.mount("https://", adapter)
    session.proxies = {"https": "http://proxy.internal:3128"}
    session.verify = "/etc/ssl/custom-bundle.pem"
    session.cookies.set("sessionid", "leak-me")
    session.trust_env = False  # as the client's own session is once settled: the session's word only
    og = OrdergrooveClient(BASE, Secret(KEY), session=session, breaker=CircuitBreaker(threshold=1000))
    assert og.get("/customers/a b/", deadline=deadline(ft), endpoint="customers.retrieve") == {"ok": True}
    assert og.request("PATCH", "/subscriptions/S1/change_quantity/", json={"quantity": 2}, deadline=deadline(ft),
                      endpoint="subscriptions.change_quantity") == (200, {"ok": True})
    (get, get_kwargs), (patch, _) = adapter.sent
    assert get.method == "GET" and get.url == f"{BASE}/customers/a%20b/" and get.body is None
    assert get.headers["x-api-key"] == KEY and "Cookie" not in get.headers
    assert get_kwargs["proxies"] == {"https": "http://proxy.internal:3128"}
    assert get_kwargs["verify"] == "/etc/ssl/custom-bundle.pem" and get_kwargs["stream"] is True
    assert patch.body == b'{"quantity": 2}' and patch.headers["Content-Length"] == str(len(patch.body))
    assert patch.headers["Content-Type"] == "application/json"


def test_a_session_that_reads_the_environment_gets_its_proxy(ft, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.internal:3128")
    session, adapter = requests.Session(), RecordingAdapter()
    session.mount("https://", adapter)
    og = OrdergrooveClient(BASE, Secret(KEY), session=session, breaker=CircuitBreaker(threshold=1000))
    og.get("/customers/1/", deadline=deadline(ft), endpoint="customers.retrieve")
    assert adapter.sent[0][1]["proxies"]["https"] == "http://env-proxy.internal:3128"


def test_a_header_value_that_would_split_the_request_is_refused(ft):
    """A stray newline in the configured key must not reach the wire as a second header."""
    session, adapter = requests.Session(), RecordingAdapter()
    session.mount("https://", adapter)
    og = OrdergrooveClient(BASE, Secret("key\r\nX-Injected: 1"), session=session, max_retries=0,
                           breaker=CircuitBreaker(threshold=1000))
    with pytest.raises(Unavailable):
        og.get("/customers/1/", deadline=deadline(ft), endpoint="customers.retrieve")
    assert adapter.sent == []


def test_timeouts_are_explicit_and_shortened_to_the_deadline(og, ft, mocked):
    mocked.get(f"{BASE}/products/P1/", json={"external_product_id": "P1"})
    og.product("P1", deadline=deadline(ft, 10))
    assert mocked.calls[0].request.req_kwargs["timeout"] == (1.0, 3.0)
    og.product("P1", deadline=deadline(ft, 0.5))
    assert mocked.calls[1].request.req_kwargs["timeout"] == (0.25, 0.25)  # connect + read fit in what is left


def test_ids_are_path_quoted():
    assert path_id("a/b c") == "a%2Fb%20c"
    assert path_id(12345) == "12345"
    for bad in ("", "  ", ".", ".."):
        with pytest.raises(NotFound):
            path_id(bad)


def test_email_is_url_encoded_and_cursor_header_sent(og, ft, mocked):
    mocked.get(f"{BASE}/customers/", json={"next": None, "previous": None, "results": [DANA]})
    assert og.customers_by_email("dana+subs@example.com", deadline=deadline(ft)) == [DANA]
    request = mocked.calls[0].request
    assert request.url == f"{BASE}/customers/?email=dana%2Bsubs%40example.com&page_size=100"
    assert request.headers["X-OG-API-VERSION"] == "2"
    assert encode_query({"email": "a b&c=d"}) == "email=a%20b%26c%3Dd"


def test_named_list_calls_use_their_filters(og, ft, mocked):
    mocked.get(f"{BASE}/subscriptions/", json={"count": 0, "next": None, "previous": None, "results": []})
    mocked.get(f"{BASE}/orders/", json={"count": 0, "next": None, "previous": None, "results": []})
    og.subscriptions("7781203344", deadline=deadline(ft))
    og.upcoming_orders("0767811a8025176986607ad9e36fd616", deadline=deadline(ft))
    assert mocked.calls[0].request.url == f"{BASE}/subscriptions/?customer=7781203344&page_size=100"
    assert mocked.calls[1].request.url == (
        f"{BASE}/orders/?subscription=0767811a8025176986607ad9e36fd616&status=1&page_size=100")


def test_from_settings_sends_the_sandbox_key_when_none_is_configured():
    settings = Settings.from_env({"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700"})
    client = OrdergrooveClient.from_settings(settings)
    with responses.RequestsMock() as mocked:
        mocked.get("http://127.0.0.1:8700/customers/1/", json={"merchant_user_id": "1"})
        client.customer("1", deadline=Deadline(4))
        assert mocked.calls[0].request.headers["x-api-key"] == "sandbox-key"
    assert client.read_timeout == 3.0 and client.max_retries == 2 and client.page_cap == 50


def test_session_pool_is_sized_for_concurrency(og):
    assert og.session.get_adapter(BASE + "/")._pool_maxsize == 64  # 4 threads x 10 requests in flight, with room


# -- list shapes and pagination --------------------------------------------------------------

SUB_CANCELLED = {"public_id": "03dc9aa7b9a58dd48b14bbfeb7d277bb", "customer": "7781203344",
                 "product": "40212877254711", "quantity": 1, "price": "18.00", "every": 1, "every_period": 3,
                 "cancelled": "2024-02-20 10:41:09", "cancel_reason": "4|Overstocked",
                 "extra_data": "{\"source\": \"checkout\"}", "live": "False"}


@pytest.mark.parametrize("body, expected", [
    ({"count": 1, "next": None, "previous": None, "results": [SUB_CANCELLED]}, [SUB_CANCELLED]),
    ({"next": None, "previous": None, "results": [SUB_CANCELLED]}, [SUB_CANCELLED]),
    ([SUB_CANCELLED], [SUB_CANCELLED]),
    (DANA, [DANA]),  # customers-by-email documented once as a bare object
    ({"count": 0, "next": None, "previous": None, "results": []}, []),
    ({}, []),
])
def test_list_shapes(og, ft, mocked, body, expected):
    mocked.get(f"{BASE}/customers/", json=body)
    assert og.list_all("/customers/", {"email": "x@example.com"}, deadline=deadline(ft),
                       endpoint="customers.list") == expected


def test_page_style_next_without_filters_gets_them_back(og, ft, mocked):
    first = {"count": 3, "next": f"{BASE}/subscriptions/?page=2", "previous": None,
             "results": [{"public_id": "a"}, {"public_id": "b"}]}
    second = {"count": 3, "next": None, "previous": f"{BASE}/subscriptions/?page=1",
              "results": [{"public_id": "c"}]}
    mocked.get(f"{BASE}/subscriptions/", json=first)
    mocked.get(f"{BASE}/subscriptions/", json=second)
    records = og.subscriptions("7781203344", deadline=deadline(ft))
    assert [r["public_id"] for r in records] == ["a", "b", "c"]
    assert mocked.calls[1].request.url == f"{BASE}/subscriptions/?page=2&customer=7781203344&page_size=100"


def test_cursor_style_next_is_followed_verbatim(og, ft, mocked):
    cursor_next = (f"{BASE}/orders/?cursor=cD0yMDI1LTAyLTE0KzA2JTNBMDIlM0EzMQ%3D%3D"
                   "&subscription=s1&status=1&page_size=100")
    mocked.get(f"{BASE}/orders/", json={"next": cursor_next, "previous": None,
                                        "results": [{"public_id": "o1", "status": 1}]})
    mocked.get(f"{BASE}/orders/", json={"next": None, "previous": None,
                                        "results": [{"public_id": "o2", "status": "1"}]})
    records = og.upcoming_orders("s1", deadline=deadline(ft))
    assert [r["public_id"] for r in records] == ["o1", "o2"]
    assert mocked.calls[1].request.url == cursor_next


def test_next_link_is_anchored_on_our_host(og, ft, mocked):
    mocked.get(f"{BASE}/orders/", json={"next": "https://evil.test/orders/?cursor=abc&subscription=s1&status=1"
                                                "&page_size=100", "results": [{"public_id": "o1"}]})
    mocked.get(f"{BASE}/orders/", json={"next": None, "results": []})
    og.upcoming_orders("s1", deadline=deadline(ft))
    assert mocked.calls[1].request.url.startswith(f"{BASE}/orders/?cursor=abc")


def test_runaway_chain_repeating_a_page_stops_and_logs(og, ft, mocked, caplog):
    looping = {"next": f"{BASE}/subscriptions/?customer=c1&page_size=100&page=2", "results": [{"public_id": "x"}]}
    mocked.get(f"{BASE}/subscriptions/", json=looping)
    with caplog.at_level(logging.WARNING, logger="app.ordergroove.client"):
        records = og.subscriptions("c1", deadline=deadline(ft))
    assert len(mocked.calls) == 2  # page 1, page 2 (whose next repeats page 2)
    assert len(records) == 2
    assert "subscriptions.list" in caplog.text and "repeats" in caplog.text


def test_endless_distinct_pages_stop_at_the_cap_and_log(ft, mocked, caplog):
    client = OrdergrooveClient(BASE, KEY, page_cap=5, sleep=ft.sleep)
    counter = {"n": 0}

    def page(request):
        counter["n"] += 1
        body = {"next": f"{BASE}/subscriptions/?customer=c1&page_size=100&page={counter['n'] + 1}",
                "results": [{"public_id": f"s{counter['n']}"}]}
        return 200, {"Content-Type": "application/json"}, __import__("json").dumps(body)

    mocked.add_callback(responses.GET, f"{BASE}/subscriptions/", callback=page)
    with caplog.at_level(logging.WARNING, logger="app.ordergroove.client"):
        records = client.subscriptions("c1", deadline=deadline(ft))
    assert len(mocked.calls) == 5 and len(records) == 5
    assert "page cap of 5" in caplog.text and "subscriptions.list" in caplog.text


# -- retries, backoff, deadline --------------------------------------------------------------

def test_429_then_success_retries_once(og, ft, mocked):
    mocked.get(f"{BASE}/customers/1/", status=429, body="slow down")
    mocked.get(f"{BASE}/customers/1/", json={"merchant_user_id": "1"})
    stats = FetchStats()
    assert og.customer("1", deadline=deadline(ft), stats=stats) == {"merchant_user_id": "1"}
    assert len(mocked.calls) == 2
    assert stats.upstream_calls == 2
    assert ft.sleeps == [pytest.approx(0.1)]  # base 0.1 s, full jitter with rng=1.0


def test_repeated_503_gives_unavailable_after_exactly_three_attempts(og, ft, mocked):
    before = sample("ogtk_upstream_requests_total", endpoint="customers.retrieve", status="503")
    mocked.get(f"{BASE}/customers/2/", status=503, body="<html>oops</html>")
    with pytest.raises(Unavailable) as caught:
        og.customer("2", deadline=deadline(ft))
    assert caught.value.status == 503
    assert len(mocked.calls) == 3
    assert ft.sleeps == [pytest.approx(0.1), pytest.approx(0.2)]  # exponential
    assert sample("ogtk_upstream_requests_total", endpoint="customers.retrieve", status="503") == before + 3


def test_backoff_is_jittered(ft, mocked):
    client = OrdergrooveClient(BASE, KEY, sleep=ft.sleep, rng=lambda: 0.25)
    mocked.get(f"{BASE}/customers/2/", status=502)
    with pytest.raises(Unavailable):
        client.customer("2", deadline=deadline(ft))
    assert ft.sleeps == [pytest.approx(0.025), pytest.approx(0.05)]


def test_429_after_all_retries_is_rate_limited(og, ft, mocked):
    mocked.get(f"{BASE}/customers/3/", status=429)
    with pytest.raises(RateLimited):
        og.customer("3", deadline=deadline(ft))
    assert len(mocked.calls) == 3


def test_max_retries_is_configurable(ft, mocked):
    client = OrdergrooveClient(BASE, KEY, max_retries=0, sleep=ft.sleep)
    mocked.get(f"{BASE}/customers/3/", status=500)
    with pytest.raises(Unavailable):
        client.customer("3", deadline=deadline(ft))
    assert len(mocked.calls) == 1 and ft.sleeps == []


def test_retry_after_seconds_is_honoured(og, ft, mocked):
    mocked.get(f"{BASE}/customers/4/", status=429, headers={"Retry-After": "1.5"})
    mocked.get(f"{BASE}/customers/4/", json={"merchant_user_id": "4"})
    og.customer("4", deadline=deadline(ft))
    assert ft.sleeps == [1.5]


def test_retry_after_http_date_is_honoured(og, ft, mocked):
    mocked.get(f"{BASE}/customers/4/", status=503, headers={"Retry-After": formatdate(time.time() + 2, usegmt=True)})
    mocked.get(f"{BASE}/customers/4/", json={"merchant_user_id": "4"})
    og.customer("4", deadline=deadline(ft))
    assert len(ft.sleeps) == 1 and 0.5 <= ft.sleeps[0] <= 2.0


def test_retry_after_beyond_the_deadline_is_not_waited_for(og, ft, mocked):
    mocked.get(f"{BASE}/customers/4/", status=429, headers={"Retry-After": "10"})
    with pytest.raises(RateLimited):
        og.customer("4", deadline=deadline(ft, 4.0))
    assert len(mocked.calls) == 1 and ft.sleeps == []


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-1") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412480.0 - 5) == pytest.approx(5)


def test_no_retry_when_the_backoff_would_pass_the_deadline(og, ft, mocked):
    mocked.get(f"{BASE}/customers/5/", status=503)
    with pytest.raises(Unavailable):
        og.customer("5", deadline=deadline(ft, 0.12))  # backoff 0.1 s would leave < 50 ms
    assert len(mocked.calls) == 1 and ft.sleeps == []


def test_retries_stop_when_the_deadline_runs_out(og, ft, mocked):
    mocked.get(f"{BASE}/customers/5/", status=503)
    with pytest.raises(Unavailable):
        og.customer("5", deadline=deadline(ft, 0.2))  # room for one 0.1 s backoff, not a second 0.2 s one
    assert len(mocked.calls) == 2 and ft.sleeps == [pytest.approx(0.1)]


def test_expired_deadline_sends_nothing(og, ft, mocked):
    with pytest.raises(Unavailable):
        og.customer("5", deadline=deadline(ft, 0))
    assert len(mocked.calls) == 0


@pytest.mark.parametrize("exc, label", [
    (requests.exceptions.ReadTimeout("read timed out"), "timeout"),
    (requests.exceptions.ConnectTimeout("connect timed out"), "timeout"),
    (requests.exceptions.ConnectionError("refused"), "connection_error"),
])
def test_timeouts_and_connection_errors_are_retried_then_unavailable(og, ft, mocked, exc, label):
    before = sample("ogtk_upstream_requests_total", endpoint="products.retrieve", status=label)
    mocked.get(f"{BASE}/products/P9/", body=exc)
    with pytest.raises(Unavailable):  # room for three full attempts: every timeout is Ordergroove's
        og.product("P9", deadline=deadline(ft, 10))
    assert len(mocked.calls) == 3
    assert sample("ogtk_upstream_requests_total", endpoint="products.retrieve", status=label) == before + 3


def test_timeout_then_success(og, ft, mocked):
    mocked.get(f"{BASE}/products/P9/", body=requests.exceptions.ReadTimeout("slow"))
    mocked.get(f"{BASE}/products/P9/", json={"external_product_id": "P9"})
    assert og.product("P9", deadline=deadline(ft))["external_product_id"] == "P9"


@pytest.mark.parametrize("status, error", [
    (404, NotFound), (401, Unauthorized), (403, Unauthorized), (400, BadRequest),
])
def test_client_errors_are_mapped_and_never_retried(og, ft, mocked, status, error):
    mocked.get(f"{BASE}/customers/6/", status=status, body='{"detail": "Unable to find requested asset."}',
               content_type="text/plain")
    with pytest.raises(error) as caught:
        og.customer("6", deadline=deadline(ft))
    assert caught.value.status == status and caught.value.endpoint == "customers.retrieve"
    assert len(mocked.calls) == 1


def test_non_json_200_is_unavailable(og, ft, mocked):
    mocked.get(f"{BASE}/customers/7/", body="<html>maintenance</html>", status=200)
    with pytest.raises(Unavailable):
        og.customer("7", deadline=deadline(ft))
    assert len(mocked.calls) == 1


def test_redirects_are_not_followed(og, ft, mocked):
    mocked.get(f"{BASE}/customers/8/", status=302, headers={"Location": "https://evil.test/steal"})
    with pytest.raises(Unavailable):
        og.customer("8", deadline=deadline(ft))
    assert len(mocked.calls) == 1


def test_api_key_never_leaks(og, ft, mocked, caplog):
    mocked.get(f"{BASE}/customers/9/", status=503)
    mocked.get(f"{BASE}/customers/10/", status=401)
    caplog.set_level(logging.DEBUG)
    for cid, error in (("9", Unavailable), ("10", Unauthorized)):
        with pytest.raises(error) as caught:
            og.customer(cid, deadline=deadline(ft))
        assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert KEY not in caplog.text
    assert KEY not in repr(og)


def test_seconds_histogram_observes_each_attempt(og, ft, mocked):
    before = sample("ogtk_upstream_request_seconds_count", endpoint="customers.retrieve")
    mocked.get(f"{BASE}/customers/11/", status=500)
    mocked.get(f"{BASE}/customers/11/", json={"merchant_user_id": "11"})
    og.customer("11", deadline=deadline(ft))
    assert sample("ogtk_upstream_request_seconds_count", endpoint="customers.retrieve") == before + 2


def test_a_trickling_body_cannot_outlast_the_deadline():
    """Headers at once, then one byte every 0.1 s: each socket read is quick, the whole is not."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    stop = threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                if stop.wait(0.1):
                    return
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = OrdergrooveClient(f"http://127.0.0.1:{server.server_port}", "key", max_retries=0)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable):
            client.product("P1", deadline=Deadline(0.6))
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        server.shutdown()
        client.close()


# -- request(): one attempt for writes ----------------------------------------------------------

@pytest.mark.parametrize("status, body", [
    (200, {"public_id": "s1", "live": False}),
    (400, {"cancel_reason": ["Invalid reason code."]}),
    (406, "Subscription is not active"),
    (503, None),
])
def test_request_returns_every_http_answer_once_with_its_body(og, ft, mocked, status, body):
    before = sample("ogtk_upstream_requests_total", endpoint="subscriptions.cancel", status=str(status))
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body or ""}
    mocked.patch(f"{BASE}/subscriptions/s1/cancel/", status=status, **kwargs)
    answer = og.request("PATCH", "/subscriptions/s1/cancel/", json={"cancel_reason": "2|Overstocked"},
                        deadline=deadline(ft), endpoint="subscriptions.cancel")
    assert answer == (status, body)
    assert len(mocked.calls) == 1  # never retried, not even the 503
    sent = mocked.calls[0].request
    assert json.loads(sent.body) == {"cancel_reason": "2|Overstocked"}
    assert sent.headers["Content-Type"] == "application/json" and sent.headers["x-api-key"] == KEY
    assert sample("ogtk_upstream_requests_total", endpoint="subscriptions.cancel", status=str(status)) == before + 1


def test_request_timeout_says_the_write_may_have_happened(og, ft, mocked):
    mocked.patch(f"{BASE}/orders/o1/skip_subscription/", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(Unavailable) as caught:
        og.request("PATCH", "/orders/o1/skip_subscription/", json={"subscription": "s1"},
                   deadline=deadline(ft, 10), endpoint="orders.skip")
    assert caught.value.timed_out is True and len(mocked.calls) == 1


def test_request_refused_connection_did_not_time_out(og, ft, mocked):
    mocked.patch(f"{BASE}/orders/o1/skip_subscription/", body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(Unavailable) as caught:
        og.request("PATCH", "/orders/o1/skip_subscription/", json={}, deadline=deadline(ft), endpoint="orders.skip")
    assert caught.value.timed_out is False


def test_request_honours_the_breaker_and_the_deadline(ft, mocked):
    og = OrdergrooveClient(BASE, KEY, breaker=CircuitBreaker(threshold=1, reset_after_s=60))
    og.breaker.record(ok=False)
    with pytest.raises(Unavailable, match="circuit open"):
        og.request("PATCH", "/subscriptions/s1/cancel/", json={}, deadline=deadline(ft), endpoint="x")
    with pytest.raises(Unavailable):
        og.request("PATCH", "/subscriptions/s1/cancel/", json={}, deadline=deadline(ft, 0), endpoint="x")
    assert len(mocked.calls) == 0


# -- the breaker must not blame Ordergroove for our own deadline --------------------------------

def test_a_timeout_cut_short_by_the_deadline_is_not_counted_against_ordergroove(ft, mocked):
    og = OrdergrooveClient(BASE, KEY, max_retries=0, breaker=CircuitBreaker(threshold=1))
    before = sample("ogtk_upstream_requests_total", endpoint="orders.list", status="deadline")
    mocked.get(f"{BASE}/orders/", body=requests.exceptions.ReadTimeout("cut"))
    for _ in range(3):  # each with 0.5 s left: the lookup spent its budget on other calls
        with pytest.raises(Unavailable) as caught:
            og.get("/orders/", deadline=deadline(ft, 0.5), endpoint="orders.list")
        assert caught.value.deadline_cut
    assert not og.breaker.is_open and og.failed_at is None
    assert sample("ogtk_upstream_requests_total", endpoint="orders.list", status="deadline") == before + 3
    with pytest.raises(Unavailable):  # a second of silence is Ordergroove's, deadline or not
        og.get("/orders/", deadline=deadline(ft, 1.2), endpoint="orders.list")
    assert og.breaker.is_open


def test_the_trial_slot_is_freed_when_the_attempt_raises(ft, mocked, monkeypatch):
    clock = FakeTime()
    og = OrdergrooveClient(BASE, KEY, max_retries=0, breaker=CircuitBreaker(threshold=1, reset_after_s=5,
                                                                             clock=clock.clock))
    og.breaker.record(ok=False)
    clock.now += 5
    monkeypatch.setattr(og, "_send", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("bug")))
    with pytest.raises(RuntimeError):
        og.get("/customers/1/", deadline=deadline(ft), endpoint="customers.retrieve")
    assert og.breaker.allow()  # the next caller may try; the slot did not leak


# -- upstream state for readiness ---------------------------------------------------------------

@pytest.mark.parametrize("status", [401, 403])
def test_a_revoked_key_makes_the_upstream_state_failing(og, ft, mocked, status):
    mocked.get(f"{BASE}/customers/1/", json={"merchant_user_id": "1"})
    og.customer("1", deadline=deadline(ft))
    assert og.upstream_state().status == "ok"
    mocked.replace(responses.GET, f"{BASE}/customers/1/", status=status, json={"detail": "Authentication Failed"})
    with pytest.raises(Unauthorized):
        og.customer("1", deadline=deadline(ft))
    state = og.upstream_state()
    assert state.status == "failing" and str(status) in state.reason and KEY not in state.reason


def test_upstream_state_is_unknown_before_any_call_and_ok_after_a_404(og, ft, mocked):
    assert og.upstream_state().status == "unknown"
    mocked.get(f"{BASE}/customers/1/", status=404, json={"detail": "Unable to find requested asset."})
    with pytest.raises(NotFound):
        og.customer("1", deadline=deadline(ft))
    assert og.upstream_state().status == "ok"


def test_proxy_and_ca_bundle_settings_are_read_once_for_the_base_url(monkeypatch):
    """requests scanned the whole environment twice per request; the client settles it once."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/merchant-ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    og = OrdergrooveClient("https://api.ordergroove.com", "k")
    assert og.session.trust_env is False
    assert og.session.proxies["https"] == "http://proxy.internal:3128"
    assert og.session.verify == "/etc/ssl/merchant-ca.pem"
    monkeypatch.setenv("NO_PROXY", "api.ordergroove.com")
    bypassed = OrdergrooveClient("https://api.ordergroove.com", "k")
    assert "https" not in bypassed.session.proxies
    og.close()
    bypassed.close()
