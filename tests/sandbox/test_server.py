"""The sandbox over HTTP: auth, errors, filters, both pagination styles, faults, latency, shutdown."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.sandbox import KNOWN, SandboxServer


@pytest.fixture(scope="module")
def sb():
    with SandboxServer() as server:
        yield server


@pytest.fixture()
def get(sb):
    session = requests.Session()
    session.headers["x-api-key"] = sb.api_key

    def _get(path, **kw):
        url = path if path.startswith("http") else sb.base_url + path
        return session.get(url, timeout=5, **kw)

    yield _get
    session.close()


def _walk(get, path, params=None, headers=None):
    """Follow ``next`` verbatim to the end; returns (pages, records)."""
    pages, records, url = [], [], path
    response = get(url, params=params, headers=headers)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        records += body["results"]
        if not body["next"]:
            return pages, records
        response = get(body["next"], headers=headers)
        assert len(pages) < 50


def test_api_key_is_checked(sb):
    url = f"{sb.base_url}/customers/{KNOWN['reference']}/"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    wrong = requests.get(url, headers={"x-api-key": "nope"}, timeout=5)
    assert wrong.status_code == 403 and wrong.json() == {"detail": "Authentication Failed"}
    assert requests.get(url, headers={"x-api-key": sb.api_key}, timeout=5).status_code == 200


def test_retrieve_and_404_bodies(get):
    dana = get(f"/customers/{KNOWN['reference']}/").json()
    assert dana["email"] == KNOWN["reference_email"] and dana["id"] == 2284417
    missing = get(f"/customers/{KNOWN['unknown']}/")
    assert missing.status_code == 404 and missing.json() == {"detail": "Unable to find requested asset."}
    product = get(f"/products/{KNOWN['missing_product']}/")
    assert product.status_code == 404
    assert product.headers["Content-Type"].startswith("text/plain")
    assert product.text == '{"detail":"Unable to find requested asset."}'
    sub = get(f"/subscriptions/{KNOWN['reference_canceled_subscription']}/").json()
    assert sub["live"] == "False" and sub["cancel_reason"] == "4|Overstocked"
    assert get(f"/orders/{KNOWN['reference_upcoming_order']}/").json()["status"] == 1


def test_email_filter_is_case_insensitive_trimmed_and_url_decoded(get):
    [dana] = get("/customers/", params={"email": "  Dana.Reyes@EXAMPLE.com "}).json()["results"]
    assert dana["merchant_user_id"] == KNOWN["reference"]
    [plus] = get("/customers/", params={"email": KNOWN["plus_email"]}).json()["results"]  # sent as %2B
    assert plus["merchant_user_id"] == KNOWN["plus_email_customer"]
    # an unencoded "+" decodes to a space and finds nobody, as upstream
    assert get(f"/customers/?email={KNOWN['plus_email']}").json()["count"] == 0
    shared = get("/customers/", params={"email": KNOWN["shared_email"]}).json()
    assert shared["count"] == 2
    assert {c["merchant_user_id"] for c in shared["results"]} == set(KNOWN["shared_email_customers"])
    assert get("/customers/", params={"email": "nobody@example.com"}).json() == {
        "count": 0, "next": None, "previous": None, "results": []}


def test_page_style_walks_to_the_end_and_keeps_filters(get):
    pages, subs = _walk(get, "/subscriptions/", {"customer": KNOWN["many_pages"], "page_size": 100})
    assert len(pages) == 2 and pages[0]["count"] == KNOWN["many_pages_count"]
    assert len({s["public_id"] for s in subs}) == KNOWN["many_pages_count"]
    query = parse_qs(urlsplit(pages[0]["next"]).query)
    assert query == {"customer": [KNOWN["many_pages"]], "page_size": ["100"], "page": ["2"]}
    assert pages[0]["next"].startswith("http://127.0.0.1:")
    assert pages[1]["previous"] and "page=" not in pages[1]["previous"]
    # default page size 10
    pages, subs = _walk(get, "/subscriptions/", {"customer": KNOWN["many_pages"], "live": "False"})
    assert len(pages[0]["results"]) == 10 and len(pages) == -(-pages[0]["count"] // 10)
    assert all(s["live"] in (False, "False") for s in subs)


def test_cursor_style_walks_to_the_end_without_count(get):
    v2 = {"X-OG-API-VERSION": "2"}
    pages, subs = _walk(get, "/subscriptions/", {"customer": KNOWN["many_pages"], "page_size": 50}, v2)
    assert len(pages) == 3 and all("count" not in p for p in pages)
    assert len({s["public_id"] for s in subs}) == KNOWN["many_pages_count"]
    query = parse_qs(urlsplit(pages[0]["next"]).query)
    assert query["customer"] == [KNOWN["many_pages"]] and query["page_size"] == ["50"] and query["cursor"]
    assert get("/subscriptions/", params={"cursor": "garbage!"}, headers=v2).status_code == 404


def test_page_size_is_capped_and_bad_params_are_400(get):
    body = get("/subscriptions/", params={"customer": KNOWN["many_pages"], "page_size": 500}).json()
    assert len(body["results"]) == 100
    assert get("/customers/", params={"page": "two"}).status_code == 400
    assert get("/customers/", params={"page_size": "x"}).json() == {"page_size": ["A valid integer is required."]}
    assert get("/subscriptions/", params={"live": "maybe"}).status_code == 400
    assert get("/orders/", params={"status": "upcoming"}).status_code == 400
    assert get("/customers/", params={"page": 999}).status_code == 404


@pytest.mark.parametrize("value, expected", [("True", 1), ("true", 1), ("False", 1), ("false", 1)])
def test_live_filter_accepts_both_spellings(get, value, expected):
    subs = get("/subscriptions/", params={"customer": KNOWN["reference"], "live": value}).json()["results"]
    assert len(subs) == expected
    assert (subs[0]["public_id"] == KNOWN["reference_active_subscription"]) == (value.lower() == "true")


def test_orders_and_items_link_through_subscriptions(get):
    active = KNOWN["reference_active_subscription"]
    [order] = get("/orders/", params={"subscription": active, "status": 1}).json()["results"]
    assert order["place"] == KNOWN["reference_next_place"] and "subscription" not in order
    upcoming = get("/orders/", params={"customer": KNOWN["reference"], "status": 1}).json()["results"]
    assert [o["public_id"] for o in upcoming] == [KNOWN["reference_upcoming_order"]]
    [item] = get("/items/", params={"order": order["public_id"]}).json()["results"]
    assert item["subscription"] == active
    everything = get("/orders/", params={"customer": KNOWN["reference"]}).json()
    assert everything["count"] > 1 and {o["status"] for o in everything["results"]} >= {1, 5}
    bench = get("/orders/", params={"customer": KNOWN["bench"], "status": 1}).json()
    assert bench["count"] == 5


def test_product_list_hides_discontinued_and_non_autoship_unless_asked(get):
    ids = [KNOWN["discontinued_product"], KNOWN["autoship_disabled_product"], "40212877221943"]
    plain = get("/products/", params={"external_product_ids[]": ids}).json()["results"]
    assert [p["external_product_id"] for p in plain] == ["40212877221943"]
    both = get("/products/", params={"external_product_ids[]": ids, "autoship_enabled": "all",
                                     "allow_discontinued": "true"}).json()["results"]
    assert {p["external_product_id"] for p in both} == set(ids)
    _, listed = _walk(get, "/products/", {"page_size": 100})
    _, everything = _walk(get, "/products/", {"page_size": 100, "autoship_enabled": "all",
                                              "allow_discontinued": "true"})
    assert len(everything) - len(listed) == 2
    assert get(f"/products/{KNOWN['discontinued_product']}/").json()["discontinued"] is True


def test_stats_count_data_requests_by_route_template(sb, get):
    sb.reset_stats()
    get(f"/customers/{KNOWN['reference']}/")
    get(f"/customers/{KNOWN['unknown']}/")
    get("/subscriptions/", params={"customer": KNOWN["reference"]})
    requests.get(sb.base_url + "/_sandbox/stats", timeout=5)  # control paths are not counted
    stats = sb.stats()
    assert stats["requests"] == 3
    assert stats["by_path"] == {"/customers/{id}/": 2, "/subscriptions/": 1}
    assert stats["by_status"] == {"200": 2, "404": 1}
    assert requests.get(sb.base_url + "/_sandbox/stats", timeout=5).json() == stats
    requests.post(sb.base_url + "/_sandbox/reset-stats", timeout=5)
    assert sb.stats()["requests"] == 0


def test_faults_can_be_changed_over_http(sb, get):
    response = requests.post(sb.base_url + "/_sandbox/faults", json={"rate_limit_rate": 1}, timeout=5)
    try:
        assert response.json()["rate_limit_rate"] == 1
        assert get("/customers/").status_code == 429
        assert requests.get(sb.base_url + "/_sandbox/stats", timeout=5).status_code == 200  # never faulted
    finally:
        sb.set_faults(rate_limit_rate=0)
    assert get("/customers/").status_code == 200
    assert requests.post(sb.base_url + "/_sandbox/faults", json={"error_rate": 7}, timeout=5).status_code == 400


def test_fault_shares_over_http():
    with SandboxServer(error_rate=0.2, rate_limit_rate=0.1, seed=11) as sb:
        session = requests.Session()
        session.headers["x-api-key"] = sb.api_key
        responses = [session.get(f"{sb.base_url}/customers/{KNOWN['reference']}/", timeout=5) for _ in range(400)]
        statuses = Counter(r.status_code for r in responses)
        assert 0.13 < (statuses[500] + statuses[503]) / 400 < 0.27
        assert 0.05 < statuses[429] / 400 < 0.15
        assert statuses[200] + statuses[500] + statuses[503] + statuses[429] == 400
        assert all("Retry-After" not in r.headers for r in responses)
        five = [r for r in responses if r.status_code >= 500]
        assert any(r.headers["Content-Type"].startswith("text/html") for r in five)
        assert any(r.headers["Content-Type"] == "application/json" for r in five)
        assert sb.stats()["by_status"]["429"] == statuses[429]


def test_latency_is_per_request_and_parallel():
    """Each request waits the latency on its own: 16 parallel requests all overlap (per the request log).

    The latency is long because accepting 16 connections in this busy test process (one GIL with
    the 16 clients) took over 0.5 s on a loaded machine: that is scheduling, not the sandbox."""
    with SandboxServer(latency_ms=2000) as sb:
        url = f"{sb.base_url}/customers/{KNOWN['reference']}/"
        fetch = lambda _: requests.get(url, headers={"x-api-key": sb.api_key}, timeout=10).status_code
        started = time.monotonic()
        assert fetch(0) == 200
        assert time.monotonic() - started >= 2.0
        with ThreadPoolExecutor(16) as pool:
            assert set(pool.map(fetch, range(16))) == {200}
        parallel = sb.request_log()[1:]
        assert len(parallel) == 16 and all(e["ended"] - e["arrived"] >= 2.0 for e in parallel)
        # the latency counts from arrival: all 16 had arrived before the first was answered
        assert max(e["arrived"] for e in parallel) < min(e["ended"] for e in parallel)


def test_latency_counts_from_arrival_so_the_sandboxs_own_work_is_inside_it():
    """The answer leaves ``latency`` after the connection was accepted: time spent routing
    (here a route made slow on purpose) is part of the latency, not added to it."""
    with SandboxServer(latency_ms=400) as sb:
        slow_route = sb.app.view_functions["sandbox_reads.customer"]

        def busy_then_answer(*args, **kwargs):
            time.sleep(0.3)  # the sandbox's own work on this request
            return slow_route(*args, **kwargs)

        sb.app.view_functions["sandbox_reads.customer"] = busy_then_answer
        url = f"{sb.base_url}/customers/{KNOWN['reference']}/"
        sent = time.monotonic()
        assert requests.get(url, headers={"x-api-key": sb.api_key}, timeout=10).status_code == 200
        took = time.monotonic() - sent
        [entry] = sb.request_log()
        assert sent <= entry["arrived"] <= entry["started"] and entry["ended"] - entry["arrived"] >= 0.4
        assert took < 0.65  # 400 ms from arrival, not 300 + 400


def test_a_hanging_request_is_cut_short_by_shutdown():
    outcome = {}

    def call(url, key):
        try:
            outcome["status"] = requests.get(url, headers={"x-api-key": key}, timeout=20).status_code
        except requests.ConnectionError as exc:
            outcome["status"] = type(exc).__name__

    sb = SandboxServer(hang_rate=1.0, hang_s=30).start()
    try:
        client = threading.Thread(target=call, args=(f"{sb.base_url}/customers/", sb.api_key))
        client.start()
        time.sleep(0.3)
        assert client.is_alive()  # it is hanging
    finally:
        started = time.monotonic()
        sb.stop()
    assert time.monotonic() - started < 2
    client.join(timeout=5)
    assert not client.is_alive() and outcome["status"] in (504, "ConnectionError")


@pytest.mark.parametrize("mode", ["504", "close"])
def test_a_hang_ends_in_504_or_a_dropped_connection(mode):
    with SandboxServer(hang_rate=1.0, hang_s=0.2, hang_mode=mode) as sb:
        started = time.monotonic()
        try:
            outcome = requests.get(f"{sb.base_url}/customers/", headers={"x-api-key": sb.api_key}, timeout=5).status_code
        except requests.ConnectionError:
            outcome = "dropped"
        assert time.monotonic() - started >= 0.2
        assert outcome == (504 if mode == "504" else "dropped")
        assert sb.stats()["by_status"] == {"504" if mode == "504" else "closed": 1}


def test_retry_after_is_sent_when_configured():
    with SandboxServer(rate_limit_rate=1.0, retry_after=3) as sb:
        response = requests.get(f"{sb.base_url}/customers/", headers={"x-api-key": sb.api_key}, timeout=5)
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"


def test_request_log_records_each_data_request_with_its_times(sb, get):
    sb.reset_stats()
    before = time.monotonic()
    get("/orders/", params={"customer": KNOWN["reference"], "status": 1})
    get("/products/", params={"external_product_ids[]": ["a", "b"], "autoship_enabled": "all"})
    requests.get(sb.base_url + "/_sandbox/stats", timeout=5)  # control paths are not logged
    after = time.monotonic()
    first, second = sb.request_log()
    assert first["method"] == "GET" and first["path"] == "/orders/" and first["endpoint"] == "/orders/"
    assert first["query"] == {"customer": [KNOWN["reference"]], "status": ["1"]} and first["status"] == 200
    assert second["query"] == {"external_product_ids[]": ["a", "b"], "autoship_enabled": ["all"]}
    assert before <= first["started"] <= first["ended"] <= second["started"] <= second["ended"] <= after
    assert requests.get(sb.base_url + "/_sandbox/requests", timeout=5).json() == [first, second]
    sb.reset_stats()
    assert sb.request_log() == []


def test_request_log_shows_parallel_requests_as_one_round():
    with SandboxServer(latency_ms=150) as sb:
        url = f"{sb.base_url}/customers/{KNOWN['reference']}/"
        fetch = lambda _: requests.get(url, headers={"x-api-key": sb.api_key}, timeout=10).status_code
        with ThreadPoolExecutor(3) as pool:
            assert list(pool.map(fetch, range(3))) == [200] * 3
        fetch(0)
        log = sb.request_log()
        assert [e["endpoint"] for e in log] == ["/customers/{id}/"] * 4
        assert all(e["ended"] - e["arrived"] >= 0.15 for e in log)
        parallel, last = log[:3], log[3]
        assert max(e["arrived"] for e in parallel) < min(e["ended"] for e in parallel)  # they overlapped
        assert last["arrived"] >= max(e["ended"] for e in parallel)


def test_request_log_keeps_faulted_and_dropped_requests():
    with SandboxServer(hang_rate=1.0, hang_s=0.1, hang_mode="close") as sb:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{sb.base_url}/customers/", headers={"x-api-key": sb.api_key}, timeout=5)
        [entry] = sb.request_log()
        assert entry["status"] == "closed" and entry["ended"] - entry["started"] >= 0.1


def test_twelve_subscription_customer_over_http(get):
    subs = get("/subscriptions/", params={"customer": KNOWN["twelve"], "page_size": 100}).json()
    assert subs["count"] == KNOWN["twelve_subscriptions"] == 12
    orders = get("/orders/", params={"customer": KNOWN["twelve"], "status": 1}).json()["results"]
    assert len(orders) == KNOWN["twelve_orders"] == 4
    linked = [i["subscription"] for o in orders for i in get("/items/", params={"order": o["public_id"]}).json()["results"]]
    assert sorted(linked) == sorted(s["public_id"] for s in subs["results"])


def test_a_trickled_body_arrives_whole_in_many_pieces_over_trickle_s():
    with SandboxServer(trickle_rate=1.0, trickle_s=0.5) as sb:
        url = f"{sb.base_url}/customers/{KNOWN['reference']}/"
        started = time.monotonic()
        response = requests.get(url, headers={"x-api-key": sb.api_key}, timeout=5, stream=True)
        assert response.status_code == 200
        pieces = list(iter(lambda: response.raw.read1(1 << 16), b""))
        assert time.monotonic() - started >= 0.5
        assert len(pieces) > 5
        body = b"".join(pieces)
        assert len(body) == int(response.headers["Content-Length"])
        assert requests.models.complexjson.loads(body)["merchant_user_id"] == KNOWN["reference"]
        assert sb.stats()["by_status"] == {"200": 1}


def test_every_product_has_a_picture_served_by_the_sandbox_itself(sb, get):
    product = get("/products/40212877221943/").json()
    assert product["image_url"] == f"{sb.base_url}/images/products/40212877221943.png"
    sb.reset_stats()
    picture = requests.get(product["image_url"], timeout=5)  # no api key: it stands in for a CDN
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert sb.stats()["requests"] == 0  # not an Ordergroove call
    listed = get("/products/", params={"page_size": 100, "autoship_enabled": "all",
                                       "allow_discontinued": "true"}).json()["results"]
    for p in listed:
        if p["image_url"] is not None:
            assert p["image_url"].startswith(f"{sb.base_url}/images/products/")
            assert requests.get(p["image_url"], timeout=5).status_code == 200
    # the quirk of a product without image stays, yet a picture exists for it too
    assert get(f"/products/{KNOWN['no_image_product']}/").json()["image_url"] is None
    assert requests.get(f"{sb.base_url}/images/products/{KNOWN['no_image_product']}.png", timeout=5).status_code == 200
    assert requests.get(f"{sb.base_url}/images/products/{KNOWN['missing_product']}.png", timeout=5).status_code == 404


def test_pictures_are_real_pngs_that_differ_by_product():
    import struct
    import zlib

    from app.sandbox.images import SIZE, product_png

    one, other = product_png("1"), product_png("2")
    assert one != other
    width, height = struct.unpack(">II", one[16:24])
    assert (width, height) == (SIZE, SIZE)
    idat = one[one.index(b"IDAT") + 4:one.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == SIZE * (1 + 3 * SIZE)  # one filter byte + RGB per row


def test_an_image_url_off_the_placeholder_cdn_is_left_alone(sb, get):
    """A remote-only or broken picture set on a product stays as it is (the dashboard's placeholder case)."""
    pid = "40212877221943"
    sb.dataset.product_by_id[pid]["image_url"] = "https://images.shop.example.org/broken.jpg"
    try:
        assert get(f"/products/{pid}/").json()["image_url"] == "https://images.shop.example.org/broken.jpg"
    finally:
        sb.dataset.product_by_id[pid]["image_url"] = "https://cdn.example.com/p/cold-brew-32.jpg"
