"""ProfileFetcher: round trips, request budget, warm path, partial failures, email search.

The first half mocks Ordergroove with `responses` (payloads shaped like the reference's); the
second half runs against the sandbox and counts the requests it actually received.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import responses
from prometheus_client import REGISTRY

from app.cache import CacheUnavailable
from app.deadline import Deadline
from app.ordergroove.cache import ResourceCache
from app.ordergroove.client import OrdergrooveClient
from app.ordergroove.errors import Unavailable
from app.ordergroove.fetcher import FetchStats, ProfileFetcher, email_queries, normalise_emails
from app.sandbox import KNOWN, SandboxServer
from app.settings import Settings

BASE = "https://og.test"
UTC = ZoneInfo("UTC")
TTLS = {"customer": 90, "subscriptions": 90, "orders": 90, "items": 90, "product": 6 * 3600, "search": 90}

DANA = {"merchant": "5b4b5d02049b641549182f8040addf63", "id": 2284417, "merchant_user_id": "7781203344",
        "first_name": "Dana", "last_name": "Reyes", "email": "dana.reyes@example.com",
        "phone_number": "+14155550123", "phone_type": 2, "live": True, "created": "2023-07-11 11:58:40",
        "last_updated": "2025-01-19 08:03:47", "extra_data": {"loyalty_tier": "gold"}, "locale": "en-us"}
ACTIVE = {"public_id": "0767811a8025176986607ad9e36fd616", "customer": "7781203344", "product": "40212877221943",
          "quantity": 2, "price": None, "currency_code": "USD", "frequency_days": 42, "every": 6,
          "every_period": 2, "cancelled": None, "extra_data": {}, "created": "2024-03-02 16:20:11",
          "updated": "2025-01-19 08:03:47", "live": True}
CANCELLED = {"public_id": "03dc9aa7b9a58dd48b14bbfeb7d277bb", "customer": "7781203344",
             "product": "40212877254711", "quantity": 1, "price": "18.00", "every": 1, "every_period": 3,
             "cancelled": "2024-02-20 10:41:09", "cancel_reason": "4|Overstocked",
             "extra_data": "{\"source\": \"checkout\"}", "live": "False"}
ORDER = {"public_id": "b5384130608aff9075a80fee319ab115", "customer": "7781203344", "status": 1,
         "place": "2025-03-28 06:00:00"}
LATER_ORDER = {"public_id": "c0ffee", "customer": "7781203344", "status": "1", "place": "2025-05-09 06:00:00"}
PRODUCT_A = {"external_product_id": "40212877221943", "name": "Cold Brew Concentrate 32 oz", "sku": "CB-32-ORIG",
             "price": "24.50", "image_url": "https://cdn.example.com/p/cold-brew-32.jpg", "live": True,
             "discontinued": False}
PRODUCT_B = {"external_product_id": 40212877254711, "name": "Oat Milk Barista 6-pack", "price": "18.00",
             "image_url": None, "live": "true", "discontinued": False}


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fetcher(tmp_path, clock):
    client = OrdergrooveClient(BASE, "k", sleep=lambda s: None)
    cache = ResourceCache(tmp_path / "cache", ttls=TTLS, stale_max_age=3600, negative_ttl=30, clock=clock)
    f = ProfileFetcher(client, cache, timezone=UTC, max_in_flight=5)
    yield f
    f.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def page(*records, count=True):
    body = {"next": None, "previous": None, "results": list(records)}
    if count:
        body = {"count": len(records), **body}
    return body


ITEM = {"public_id": "1a464dae15527a047d3f5a20d92ff7a1", "order": ORDER["public_id"],
        "subscription": ACTIVE["public_id"], "product": None, "quantity": 2, "one_time": False}
LATER_ITEM = {**ITEM, "public_id": "1a464dae15527a047d3f5a20d92ff7a2", "order": LATER_ORDER["public_id"]}
ADD_ON = {**ITEM, "public_id": "1a464dae15527a047d3f5a20d92ff7a3", "subscription": None, "one_time": True}


def items_by_order(mapping):
    def answer(request):
        return 200, {"Content-Type": "application/json"}, json.dumps(page(*mapping.get(request.params["order"], [])))
    return answer


def mock_dana(mocked, *, product_b_status=200):
    mocked.get(f"{BASE}/customers/7781203344/", json=DANA)
    mocked.get(f"{BASE}/subscriptions/", json=page(ACTIVE, CANCELLED))
    mocked.get(f"{BASE}/orders/", json=page(LATER_ORDER, ORDER, count=False))  # unordered on purpose
    mocked.add_callback(responses.GET, f"{BASE}/items/", callback=items_by_order(
        {ORDER["public_id"]: [ITEM, ADD_ON], LATER_ORDER["public_id"]: [LATER_ITEM]}))
    if product_b_status == 200:
        mocked.get(f"{BASE}/products/", json=page(PRODUCT_A, PRODUCT_B))
    else:  # the batch leaves B out; retrieved by id, it fails
        mocked.get(f"{BASE}/products/", json=page(PRODUCT_A))
        mocked.get(f"{BASE}/products/40212877254711/", status=product_b_status,
                   body='{"detail": "Unable to find requested asset."}', content_type="text/plain")


def urls(mocked, path):
    return [c.request.url for c in mocked.calls if c.request.path_url.startswith(path)]


def test_cold_profile_then_warm_profile(fetcher, mocked, monkeypatch):
    mock_dana(mocked)
    stats = FetchStats()
    profile = fetcher.profile("7781203344", deadline=Deadline(4), stats=stats)
    assert profile.customer.full_name == "Dana Reyes"
    assert [s.public_id for s in profile.subscriptions] == [ACTIVE["public_id"], CANCELLED["public_id"]]
    assert profile.next_orders == {ACTIVE["public_id"]: datetime(2025, 3, 28, 6, tzinfo=timezone.utc)}
    assert set(profile.products) == {"40212877221943", "40212877254711"}  # the canceled one's product too
    assert profile.products["40212877254711"].name == "Oat Milk Barista 6-pack"
    assert profile.stale is False and profile.fetched_at.tzinfo is not None
    # customer + subscriptions + upcoming orders, then the lines of the 2 orders + 1 product batch
    assert len(mocked.calls) == 6 and stats.upstream_calls == 6 and stats.cache_misses == 7
    assert urls(mocked, "/orders/") == [f"{BASE}/orders/?customer=7781203344&status=1&page_size=100"]
    [batch] = urls(mocked, "/products/")
    assert batch == (f"{BASE}/products/?external_product_ids%5B%5D=40212877221943&external_product_ids%5B%5D="
                     "40212877254711&autoship_enabled=all&allow_discontinued=true&page_size=2")

    def no_threads(*args, **kwargs):
        raise AssertionError("a warm profile must not hand work to a thread")

    monkeypatch.setattr(fetcher, "executor", no_threads)
    warm_stats = FetchStats()
    again = fetcher.profile("7781203344", deadline=Deadline(4), stats=warm_stats)
    assert again == profile
    assert len(mocked.calls) == 6
    assert warm_stats.as_dict() == {"upstream_calls": 0, "cache_hits": 7, "cache_misses": 0, "stale": 0}


def counted_reads(fetcher, monkeypatch) -> list[list[str]]:
    """The kinds of the keys of each store read the fetcher's cache makes from now on."""
    reads: list[list[str]] = []
    get_many = fetcher.cache.backend.get_many

    def counting(keys):
        reads.append(sorted(k.split(":")[0] for k in keys))
        return get_many(keys)

    monkeypatch.setattr(fetcher.cache.backend, "get_many", counting)
    return reads


def cache_hits(kind: str) -> float:
    return REGISTRY.get_sample_value("ogtk_cache_hits_total", {"kind": kind}) or 0.0


def test_a_warm_profile_is_two_store_reads_one_per_round(fetcher, mocked, monkeypatch):
    """Round two's order lines and products were read separately (three MGETs on Redis). The
    generations (whether a profile remembered from this read may be reused later) come with
    round one's pieces, not in a read of their own."""
    mock_dana(mocked)
    reads = counted_reads(fetcher, monkeypatch)
    fetcher.profile("7781203344", deadline=Deadline(4))  # cold
    assert reads[0] == ["customer", "generation", "generation", "orders", "subscriptions"]
    reads.clear()
    fetcher.profile("7781203344", deadline=Deadline(4))
    assert reads == [["customer", "generation", "generation", "orders", "subscriptions"],
                     ["items", "items", "product", "product"]]


def test_a_profile_found_whole_in_the_cache_is_reused_for_one_read_while_it_stays_fresh(
        fetcher, mocked, monkeypatch, clock):
    mock_dana(mocked)
    fetcher.profile("7781203344", deadline=Deadline(4))  # cold: fetched, not remembered
    warm = fetcher.profile("7781203344", deadline=Deadline(4))  # every piece fresh: remembered
    reads = counted_reads(fetcher, monkeypatch)
    hits_before = {kind: cache_hits(kind) for kind in ("customer", "items", "product")}
    stats = FetchStats()
    again = fetcher.profile("7781203344", deadline=Deadline(4), stats=stats)
    assert again is warm
    assert reads == [["generation", "generation"]]
    # counted as the pieces it is made of, as if read again: the dashboard's hit rate stays true
    assert stats.as_dict() == {"upstream_calls": 0, "cache_hits": 7, "cache_misses": 0, "stale": 0}
    assert {kind: cache_hits(kind) - hits_before[kind] for kind in hits_before} == \
        {"customer": 1, "items": 2, "product": 2}
    assert len(mocked.calls) == 6
    clock.now += 89  # the customer, subscriptions and orders are fresh for 90 s
    assert fetcher.profile("7781203344", deadline=Deadline(4)) is warm


def test_invalidating_here_forgets_the_remembered_profile_so_the_generations_come_with_round_one(
        fetcher, mocked, monkeypatch):
    """A webhook or action answered by this process: the next lookup must not spend a store read
    (a Redis round trip) on generations it would only find changed."""
    mock_dana(mocked)
    fetcher.profile("7781203344", deadline=Deadline(4))
    fetcher.profile("7781203344", deadline=Deadline(4))  # remembered
    assert fetcher.invalidate("7781203344") == 5
    mocked.replace(responses.GET, f"{BASE}/customers/7781203344/", json={**DANA, "first_name": "Danielle"})
    reads = counted_reads(fetcher, monkeypatch)
    after = fetcher.profile("7781203344", deadline=Deadline(4))
    assert after.customer.full_name == "Danielle Reyes"
    assert reads[0] == ["customer", "generation", "generation", "orders", "subscriptions"]
    reads.clear()  # built whole from the cache again, so remembered again: generations alone
    fetcher.profile("7781203344", deadline=Deadline(4))
    assert fetcher.profile("7781203344", deadline=Deadline(4)).customer.full_name == "Danielle Reyes"
    assert reads[-1] == ["generation", "generation"]


def test_a_remembered_profile_is_not_reused_once_a_piece_of_it_expires(fetcher, mocked, clock):
    mock_dana(mocked)
    fetcher.profile("7781203344", deadline=Deadline(4))
    fetcher.profile("7781203344", deadline=Deadline(4))
    mocked.replace(responses.GET, f"{BASE}/customers/7781203344/", json={**DANA, "first_name": "Danielle"})
    clock.now += 90
    stats = FetchStats()
    after = fetcher.profile("7781203344", deadline=Deadline(4), stats=stats)
    assert after.customer.full_name == "Danielle Reyes"
    assert stats.upstream_calls == 5  # customer, subscriptions, orders, lines of 2 orders; products kept


def test_a_customer_invalidated_by_another_process_is_not_reused_from_memory(fetcher, mocked, tmp_path, clock):
    """A webhook or an action answered by another worker drops the customer's entries in the
    shared store; this worker's remembered profile must go with them."""
    mock_dana(mocked)
    fetcher.profile("7781203344", deadline=Deadline(4))
    fetcher.profile("7781203344", deadline=Deadline(4))
    other_worker = ResourceCache(tmp_path / "cache", ttls=TTLS, stale_max_age=3600, negative_ttl=30, clock=clock)
    try:
        assert other_worker.invalidate_customer("7781203344") == 5
    finally:
        other_worker.close()
    mocked.replace(responses.GET, f"{BASE}/customers/7781203344/", json={**DANA, "first_name": "Danielle"})
    after = fetcher.profile("7781203344", deadline=Deadline(4))
    assert after.customer.full_name == "Danielle Reyes"
    # and the profile built after the drop is the one remembered next
    assert fetcher.profile("7781203344", deadline=Deadline(4)).customer.full_name == "Danielle Reyes"


def test_a_cache_cleared_by_another_process_drops_remembered_profiles(fetcher, mocked, tmp_path, clock):
    mock_dana(mocked)
    fetcher.profile("7781203344", deadline=Deadline(4))
    fetcher.profile("7781203344", deadline=Deadline(4))
    other_worker = ResourceCache(tmp_path / "cache", ttls=TTLS, stale_max_age=3600, negative_ttl=30, clock=clock)
    try:
        other_worker.clear()
    finally:
        other_worker.close()
    mocked.replace(responses.GET, f"{BASE}/products/",
                   json=page({**PRODUCT_A, "name": "Cold Brew Concentrate 64 oz"}, PRODUCT_B))
    after = fetcher.profile("7781203344", deadline=Deadline(4))
    assert after.products["40212877221943"].name == "Cold Brew Concentrate 64 oz"


def test_a_partial_profile_is_not_remembered(fetcher, mocked):
    mock_dana(mocked, product_b_status=503)
    for _ in range(2):
        assert fetcher.profile("7781203344", deadline=Deadline(4)).partial
    mocked.replace(responses.GET, f"{BASE}/products/40212877254711/", json=PRODUCT_B)
    stats = FetchStats()
    healed = fetcher.profile("7781203344", deadline=Deadline(4), stats=stats)
    assert not healed.partial and healed.products["40212877254711"].name == "Oat Milk Barista 6-pack"
    assert stats.upstream_calls == 2  # the batch again, then B by id


def test_a_remembered_profile_is_not_reused_while_the_store_is_unusable(fetcher, mocked, monkeypatch):
    """Nothing could then say whether another process dropped a piece of it."""
    mock_dana(mocked)
    fetcher.profile("7781203344", deadline=Deadline(4))
    fetcher.profile("7781203344", deadline=Deadline(4))  # remembered

    def unusable(*args, **kwargs):
        raise CacheUnavailable("disk full")

    for name in ("get", "get_many", "set", "add", "add_many_reading", "set_releasing"):
        monkeypatch.setattr(fetcher.cache.backend, name, unusable)
    stats = FetchStats()
    assert fetcher.profile("7781203344", deadline=Deadline(4), stats=stats).customer.full_name == "Dana Reyes"
    assert stats.upstream_calls == 6 and stats.cache_hits == 0


def test_profile_binds_each_live_subscription_to_its_upcoming_order(fetcher, mocked):
    mock_dana(mocked)
    profile = fetcher.profile("7781203344", deadline=Deadline(4))
    assert profile.next_order_ids == {ACTIVE["public_id"]: ORDER["public_id"]}  # the earliest of the two
    assert profile.partial is False


def test_a_piece_that_failed_with_no_stale_copy_makes_the_profile_partial(fetcher, mocked):
    mock_dana(mocked)
    mocked.replace(responses.GET, f"{BASE}/orders/", status=503)
    profile = fetcher.profile("7781203344", deadline=Deadline(4))
    assert profile.partial is True and profile.next_orders == {} and profile.stale is False


@pytest.mark.parametrize("status", [404, 503])
def test_a_product_that_cannot_be_fetched_is_left_out(fetcher, mocked, status):
    mock_dana(mocked, product_b_status=status)
    profile = fetcher.profile("7781203344", deadline=Deadline(4))
    assert set(profile.products) == {"40212877221943"}
    assert len(profile.subscriptions) == 2


def test_unknown_customer_gives_none_and_is_remembered(fetcher, mocked):
    """Counted on the customer endpoint only: round one's subscriptions and orders requests go out
    beside the customer's and, once the 404 has ended the lookup, may still finish in the
    background (they only fill the cache), so a count of every call would race with them."""
    mocked.get(f"{BASE}/customers/404404/", status=404, json={"detail": "Unable to find requested asset."})
    mocked.get(f"{BASE}/subscriptions/", json=page())

    def customer_calls() -> int:
        return sum(1 for call in mocked.calls if "/customers/404404/" in call.request.url)

    assert fetcher.profile("404404", deadline=Deadline(4)) is None
    assert customer_calls() == 1
    assert fetcher.customer("404404", deadline=Deadline(4)) is None
    assert fetcher.profile("404404", deadline=Deadline(4)) is None
    assert customer_calls() == 1  # the remembered 404 answers without asking Ordergroove again
    assert fetcher.profile("  ", deadline=Deadline(4)) is None


def test_customer_lookup(fetcher, mocked):
    mocked.get(f"{BASE}/customers/7781203344/", json=DANA)
    assert fetcher.customer(" 7781203344 ", deadline=Deadline(4)).email == "dana.reyes@example.com"


def test_upstream_failure_with_nothing_cached_raises(fetcher, mocked):
    mocked.get(f"{BASE}/customers/7781203344/", status=503)
    mocked.get(f"{BASE}/subscriptions/", json=page())
    with pytest.raises(Unavailable):
        fetcher.profile("7781203344", deadline=Deadline(4))


def test_expired_pieces_are_served_stale_when_ordergroove_fails(fetcher, mocked, clock):
    mock_dana(mocked)
    fresh = fetcher.profile("7781203344", deadline=Deadline(4))
    clock.now += 600  # customer/subscriptions/orders/items expired; products (6 h) still fresh
    mocked.reset()
    for path in ("/customers/7781203344/", "/subscriptions/", "/orders/", "/items/"):
        mocked.get(BASE + path, status=503)
    stats = FetchStats()
    stale = fetcher.profile("7781203344", deadline=Deadline(4), stats=stats)
    assert stale.stale is True and stale.customer == fresh.customer
    assert stale.next_orders == fresh.next_orders and stale.next_order_ids == fresh.next_order_ids
    assert stale.fetched_at == fresh.fetched_at and stale.partial is False
    assert stats.stale == 5 and stats.cache_hits == 2


def test_an_order_fetch_cut_off_by_the_deadline_keeps_the_stale_next_billing_date(fetcher, mocked, clock):
    mock_dana(mocked)
    fresh = fetcher.profile("7781203344", deadline=Deadline(4))
    fetcher.cache.ttls["customer"] = fetcher.cache.ttls["subscriptions"] = 3600
    clock.now += 600  # orders and their lines expired; the rest fresh
    calls = len(mocked.calls)
    profile = fetcher.profile("7781203344", deadline=Deadline(0.01))  # no time left to ask Ordergroove
    assert len(mocked.calls) == calls
    assert profile.next_orders == fresh.next_orders and profile.stale is True and profile.partial is False


def test_fetched_at_is_the_oldest_piece(fetcher, mocked, clock):
    mock_dana(mocked)
    first = fetcher.profile("7781203344", deadline=Deadline(4))
    fetcher.invalidate("7781203344")
    clock.now += 100
    second = fetcher.profile("7781203344", deadline=Deadline(4))
    assert second.fetched_at == first.fetched_at  # products were fetched earlier and kept
    assert second.stale is False


def test_invalidate_refetches_the_customer_but_not_products(fetcher, mocked):
    mock_dana(mocked)
    fetcher.profile("7781203344", deadline=Deadline(4))
    assert fetcher.invalidate("7781203344") == 5  # customer, subscriptions, orders, the lines of 2 orders
    stats = FetchStats()
    fetcher.profile("7781203344", deadline=Deadline(4), stats=stats)
    assert stats.upstream_calls == 5 and stats.cache_hits == 2


def test_refetched_data_is_parsed_again_not_served_from_the_parse_memo(fetcher, mocked):
    mock_dana(mocked)
    before = fetcher.profile("7781203344", deadline=Deadline(4))
    fetcher.invalidate("7781203344")
    mocked.replace(responses.GET, f"{BASE}/customers/7781203344/", json={**DANA, "first_name": "Danielle"})
    after = fetcher.profile("7781203344", deadline=Deadline(4))
    assert before.customer.full_name == "Dana Reyes"
    assert after.customer.full_name == "Danielle Reyes"


def test_unparsable_records_are_skipped_and_logged_without_email(fetcher, mocked, caplog):
    mocked.get(f"{BASE}/customers/7781203344/", json=DANA)
    mocked.get(f"{BASE}/subscriptions/", json=page(ACTIVE, {"customer": "7781203344", "live": True}, ACTIVE))
    mocked.get(f"{BASE}/orders/", json=page({"status": 1, "place": "2025-01-01 00:00:00"}, ORDER))
    mocked.add_callback(responses.GET, f"{BASE}/items/", callback=items_by_order(
        {ORDER["public_id"]: [ITEM, {"order": ORDER["public_id"], "quantity": 1}]}))
    mocked.get(f"{BASE}/products/", json=page(PRODUCT_A, {"name": "no id"}))
    with caplog.at_level(logging.WARNING):
        profile = fetcher.profile("7781203344", deadline=Deadline(4))
    assert [s.public_id for s in profile.subscriptions] == [ACTIVE["public_id"]]  # bad one dropped, dup merged
    assert profile.next_orders[ACTIVE["public_id"]] == datetime(2025, 3, 28, 6, tzinfo=timezone.utc)
    assert set(profile.products) == {"40212877221943"}
    assert "public_id" in caplog.text


def test_email_queries_keep_the_address_as_sent_and_add_its_lower_case():
    assert email_queries([" Dana@Example.com", "dana@example.com", "", "  ", None, "b@x.io"]) == [
        "Dana@Example.com", "dana@example.com", "b@x.io"]
    assert email_queries("A@B.C") == ["A@B.C", "a@b.c"]


def test_a_case_sensitive_filter_still_finds_a_mixed_case_address(fetcher, mocked):
    stored = {**DANA, "email": "Dana.Reyes@Example.com"}

    def case_sensitive(request):
        hits = [stored] if request.params["email"] == stored["email"] else []
        return 200, {"Content-Type": "application/json"}, json.dumps(page(*hits))

    mocked.add_callback(responses.GET, f"{BASE}/customers/", callback=case_sensitive)
    found = fetcher.find_by_emails(["Dana.Reyes@Example.com"], deadline=Deadline(4))
    assert [c.merchant_user_id for c in found] == ["7781203344"]


def test_invalidating_a_customer_drops_the_email_searches_that_found_them(fetcher, mocked):
    answers = {"dana.reyes@example.com": page(DANA)}

    def by_email(request):
        return 200, {"Content-Type": "application/json"}, json.dumps(answers.get(request.params["email"], page()))

    mocked.add_callback(responses.GET, f"{BASE}/customers/", callback=by_email)
    assert [c.merchant_user_id for c in fetcher.find_by_emails(["dana.reyes@example.com"], deadline=Deadline(4))] \
        == ["7781203344"]
    answers["dana.reyes@example.com"] = page()  # Dana changed her email in Ordergroove
    fetcher.invalidate("7781203344")
    stats = FetchStats()
    assert fetcher.find_by_emails(["dana.reyes@example.com"], deadline=Deadline(4), stats=stats) == []
    assert stats.upstream_calls == 1


def test_normalise_emails():
    assert normalise_emails([" Dana@Example.com", "dana@example.com", "", "  ", None, "b@x.io"]) == [
        "dana@example.com", "b@x.io"]
    assert normalise_emails("A@B.C") == ["a@b.c"]


def test_find_by_emails_unions_and_deduplicates(fetcher, mocked, caplog):
    other = dict(DANA, merchant_user_id="1002", email="shared@example.com", first_name="Sam")
    no_id = {"email": "shared@example.com", "id": 777}
    responses_by_email = {
        "shared@example.com": page(other, DANA, no_id),
        "dana.reyes@example.com": DANA,  # the documented bare-object form
    }

    def answer(request):
        email = request.params["email"]
        return 200, {"Content-Type": "application/json"}, json.dumps(responses_by_email.get(email, page()))

    mocked.add_callback(responses.GET, f"{BASE}/customers/", callback=answer)
    with caplog.at_level(logging.WARNING):
        found = fetcher.find_by_emails([" Dana.Reyes@Example.com ", "shared@example.com", "", "SHARED@example.com",
                                        "nobody@example.com"], deadline=Deadline(4))
    assert [c.merchant_user_id for c in found] == ["7781203344", "1002"]
    sent = sorted(call.request.params["email"] for call in mocked.calls)  # concurrent: any order
    assert sent == sorted(["Dana.Reyes@Example.com", "dana.reyes@example.com", "shared@example.com",
                           "SHARED@example.com", "nobody@example.com"])
    assert "777" in caplog.text and "shared@example.com" not in caplog.text
    stats = FetchStats()
    assert fetcher.find_by_emails(["shared@example.com"], deadline=Deadline(4), stats=stats)[0].first_name == "Sam"
    assert stats.upstream_calls == 0 and stats.cache_hits == 1
    assert fetcher.find_by_emails([], deadline=Deadline(4)) == []


def test_requests_in_flight_never_exceed_max_in_flight(tmp_path, mocked):
    client = OrdergrooveClient(BASE, "k")
    cache = ResourceCache(tmp_path / "cache", ttls=TTLS)
    fetcher = ProfileFetcher(client, cache, timezone=UTC, max_in_flight=2)
    subs = [dict(ACTIVE, public_id=f"s{i}") for i in range(6)]
    orders = [dict(ORDER, public_id=f"o{i}") for i in range(6)]
    mocked.get(f"{BASE}/customers/7781203344/", json=DANA)
    mocked.get(f"{BASE}/subscriptions/", json=page(*subs))
    mocked.get(f"{BASE}/orders/", json=page(*orders))
    mocked.get(f"{BASE}/products/", json=page(PRODUCT_A))
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def slow_items(request):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        n = request.params["order"][1:]
        return 200, {"Content-Type": "application/json"}, json.dumps(page(dict(ITEM, order=f"o{n}", subscription=f"s{n}")))

    mocked.add_callback(responses.GET, f"{BASE}/items/", callback=slow_items)
    profile = fetcher.profile("7781203344", deadline=Deadline(4))
    assert profile.next_order_ids == {f"s{i}": f"o{i}" for i in range(6)}
    assert state["peak"] == 2
    fetcher.close()


def test_cold_profiles_reuse_the_processs_fetch_threads(fetcher, mocked, monkeypatch):
    """A pool per lookup started new threads (each opening its own SQLite connection) every time."""
    mock_dana(mocked)
    threads: set[threading.Thread] = set()
    get_or_fetch = fetcher.cache.get_or_fetch

    def noting_the_thread(*args, **kwargs):
        threads.add(threading.current_thread())
        return get_or_fetch(*args, **kwargs)

    monkeypatch.setattr(fetcher.cache, "get_or_fetch", noting_the_thread)
    for _ in range(3):
        fetcher.cache.clear()
        fetcher.profile("7781203344", deadline=Deadline(4))
    assert threading.current_thread() not in threads
    assert len(threads) <= 5  # 3 cold lookups of 5 fetched pieces each: the same few threads served them all


def test_prestart_starts_a_lookups_worth_of_threads_that_the_first_cold_lookup_then_uses(fetcher, mocked,
                                                                                         monkeypatch):
    assert fetcher.prestart() == fetcher.max_in_flight + 3
    idle = fetcher.executor()._idle_semaphore  # a worker boots long before its first lookup:
    for _ in range(500):                        # let the threads get back to the pool first
        if idle._value >= fetcher.max_in_flight + 3:
            break
        time.sleep(0.002)
    started = set(threading.enumerate())
    mock_dana(mocked)
    fetcher.profile("7781203344", deadline=Deadline(4))
    assert set(threading.enumerate()) <= started  # no thread started by the cold lookup


def test_a_forked_child_gets_fetch_threads_of_its_own(fetcher, monkeypatch):
    parent_pool = fetcher.executor()
    monkeypatch.setattr("app.ordergroove.fetcher.os.getpid", lambda: -1)  # as seen from a forked child
    child_pool = fetcher.executor()
    assert child_pool is not parent_pool and child_pool.submit(lambda: 42).result(timeout=5) == 42


def test_from_settings(tmp_path):
    settings = Settings.from_env({"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700", "OGTK_DATA_DIR": str(tmp_path),
                                  "ORDERGROOVE_TIMEZONE": "America/New_York", "OGTK_UPSTREAM_MAX_IN_FLIGHT": "3"})
    f = ProfileFetcher.from_settings(settings)
    assert f.max_in_flight == 3 and f.timezone == ZoneInfo("America/New_York")
    assert f.client.base_url == "http://127.0.0.1:8700" and f.cache.directory == tmp_path / "cache"
    f.close()


# -- against the sandbox ---------------------------------------------------------------------

def sandbox_fetcher(sb, directory, **kwargs) -> ProfileFetcher:
    client = OrdergrooveClient(sb.base_url, sb.api_key)
    cache = ResourceCache(directory, ttls=TTLS)
    return ProfileFetcher(client, cache, timezone=UTC, **kwargs)


@pytest.fixture
def og(sandbox, tmp_path):
    sandbox.set_faults(latency_ms=0, error_rate=0, rate_limit_rate=0, hang_rate=0)
    sandbox.reset_stats()
    f = sandbox_fetcher(sandbox, tmp_path / "cache")
    yield f
    f.close()


@pytest.mark.parametrize("who, subscriptions, live, orders, products", [
    ("bench", 5, 5, 5, 3),
    ("reference", 2, 1, 1, 2),
    ("twelve", 12, 12, 4, 6),
])
def test_sandbox_request_count_cold_then_warm(og, sandbox, who, subscriptions, live, orders, products):
    profile = og.profile(KNOWN[who], deadline=Deadline(10))
    assert len(profile.subscriptions) == subscriptions
    assert sum(s.live for s in profile.subscriptions) == live and len(profile.products) == products
    assert len(profile.next_orders) == live and len(set(profile.next_order_ids.values())) == orders
    # customer + subscriptions + upcoming orders, then each upcoming order's lines + one product batch
    assert sandbox.stats()["requests"] == 3 + orders + 1
    sandbox.reset_stats()
    assert og.profile(KNOWN[who], deadline=Deadline(10)) == profile
    assert sandbox.stats()["requests"] == 0


def test_sandbox_reference_profile_matches_the_reference_docs(og):
    profile = og.profile(KNOWN["reference"], deadline=Deadline(10))
    assert profile.customer.full_name == "Dana Reyes"
    place = datetime.strptime(KNOWN["reference_next_place"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    assert profile.next_orders == {KNOWN["reference_active_subscription"]: place}
    assert set(profile.products) == set(KNOWN["reference_products"])


def test_sandbox_many_pages_returns_every_subscription(og, sandbox):
    profile = og.profile(KNOWN["many_pages"], deadline=Deadline(10))
    assert len(profile.subscriptions) == KNOWN["many_pages_count"]
    assert sandbox.stats()["by_path"].get("/subscriptions/") == 2


def test_sandbox_missing_product_is_absent_from_the_profile(og):
    profile = og.profile(KNOWN["missing_product_customer"], deadline=Deadline(10))
    assert profile is not None
    assert KNOWN["missing_product"] in {s.product for s in profile.subscriptions}
    assert KNOWN["missing_product"] not in profile.products and profile.products


def test_sandbox_quirks_customer_parses(og):
    profile = og.profile(KNOWN["quirks"], deadline=Deadline(10))
    assert profile.customer.merchant_user_id == KNOWN["quirks"]
    assert profile.subscriptions and any(s.live for s in profile.subscriptions)


def test_sandbox_unknown_and_empty_customers(og):
    assert og.profile(KNOWN["unknown"], deadline=Deadline(10)) is None
    empty = og.profile(KNOWN["no_subscriptions"], deadline=Deadline(10))
    assert empty.subscriptions == () and empty.products == {}


def test_sandbox_shared_and_plus_emails(og):
    found = og.find_by_emails([KNOWN["shared_email"].upper()], deadline=Deadline(10))
    assert {c.merchant_user_id for c in found} == set(KNOWN["shared_email_customers"])
    plus = og.find_by_emails([KNOWN["plus_email"]], deadline=Deadline(10))
    assert [c.merchant_user_id for c in plus] == [KNOWN["plus_email_customer"]]


def rounds(log: list[dict]) -> list[list[str]]:
    """The sandbox's request log grouped by round trip, each request named by its collection
    (``/customers/``): a request is in round n+1 when it started after a request of round n had
    ended (so it could have waited for that answer), else in round 1."""
    log = sorted(log, key=lambda e: e["started"])
    depth: list[int] = []
    for i, entry in enumerate(log):
        depth.append(1 + max((depth[j] for j in range(i) if log[j]["ended"] <= entry["started"]), default=0))
    grouped: list[list[str]] = [[] for _ in range(max(depth, default=0))]
    for entry, n in zip(log, depth):
        grouped[n - 1].append("/" + entry["path"].split("/")[1] + "/")
    return [sorted(names) for names in grouped]


@pytest.fixture(scope="module")
def slow_sandbox():
    """Latency far above the scheduling noise of a loaded 2-core machine, so a request that
    could start at once is never mistaken for one that waited for an answer."""
    with SandboxServer(latency_ms=500) as sb:
        yield sb


def test_sandbox_cold_profile_takes_two_round_trips(slow_sandbox, tmp_path):
    slow_sandbox.reset_stats()
    f = sandbox_fetcher(slow_sandbox, tmp_path / "cache")
    f.profile(KNOWN["bench"], deadline=Deadline(10))
    f.close()
    grouped = rounds(slow_sandbox.request_log())
    assert len(grouped) == 2, (grouped, slow_sandbox.request_log())
    first, second = grouped
    assert first == ["/customers/", "/orders/", "/subscriptions/"]
    assert second == ["/items/"] * 5 + ["/products/"]


def test_sandbox_partly_warm_profile_asks_only_for_what_is_missing(slow_sandbox, tmp_path):
    f = sandbox_fetcher(slow_sandbox, tmp_path / "cache")
    f.profile(KNOWN["bench"], deadline=Deadline(10))
    f.invalidate(KNOWN["bench"])  # the customer's pieces go; the shared catalogue stays
    slow_sandbox.reset_stats()
    f.profile(KNOWN["bench"], deadline=Deadline(10))
    first, second = rounds(slow_sandbox.request_log())
    f.close()
    assert first == ["/customers/", "/orders/", "/subscriptions/"]
    assert second == ["/items/"] * 5  # no product request


def test_sandbox_more_than_one_page_of_subscriptions_takes_three_round_trips_at_most(slow_sandbox, tmp_path):
    slow_sandbox.reset_stats()
    f = sandbox_fetcher(slow_sandbox, tmp_path / "cache")
    profile = f.profile(KNOWN["many_pages"], deadline=Deadline(10))
    f.close()
    assert len(profile.subscriptions) == KNOWN["many_pages_count"]
    assert len(rounds(slow_sandbox.request_log())) == 3


def test_sandbox_discontinued_product_is_on_the_card_and_only_the_missing_one_is_asked_by_id(og, sandbox):
    profile = og.profile(KNOWN["missing_product_customer"], deadline=Deadline(10))
    assert profile.products[KNOWN["discontinued_product"]].discontinued is True
    assert profile.products[KNOWN["discontinued_product"]].name
    assert KNOWN["missing_product"] not in profile.products and profile.partial is False
    by_id = [e["path"] for e in sandbox.request_log() if e["path"].startswith("/products/") and e["path"] != "/products/"]
    assert by_id == [f"/products/{KNOWN['missing_product']}/"]


def test_email_search_keeps_only_exact_matches_even_if_ordergroove_filter_is_loose(fetcher, mocked):
    stranger = {**DANA, "merchant_user_id": "555", "email": "someone.else@example.com"}
    mocked.get(f"{BASE}/customers/", json=page(DANA, stranger))
    found = fetcher.find_by_emails(["  Dana.Reyes@Example.com "], deadline=Deadline(4))
    assert [c.merchant_user_id for c in found] == ["7781203344"]
