"""The generated data set: deterministic, realistic in size, with the promised fixtures and quirks."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.ordergroove.models import Customer, Item, Order, Product, Subscription
from app.sandbox import KNOWN, REFERENCE_DATE, generate

TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture(scope="module")
def ds():
    return generate()


def _upcoming(ds, sub_id):
    return [o for o in ds.orders_by_subscription.get(sub_id, []) if o["status"] == 1]


def _live(value):
    return value is True or value in ("True", "true")


def test_same_seed_same_data_and_other_seed_differs():
    build = generate.__wrapped__
    first, again, other = build(5, 120), build(5, 120), build(6, 120)
    dump = lambda d: json.dumps([d.customers, d.subscriptions, d.orders, d.items, d.products], sort_keys=True)
    assert dump(first) == dump(again)
    assert dump(first) != dump(other)
    # the fixtures do not depend on the seed
    assert first.customer(KNOWN["reference"]) == other.customer(KNOWN["reference"])


def test_realistic_size(ds):
    assert 350 <= len(ds.customers) <= 450
    assert 50 <= len(ds.products) <= 70
    assert len(ds.subscriptions) > 700
    assert len({str(c["merchant_user_id"]) for c in ds.customers}) == len(ds.customers)
    assert len({s["public_id"] for s in ds.subscriptions}) == len(ds.subscriptions)
    states = {"active": 0, "canceled": 0, "inactive": 0}
    for s in ds.subscriptions:
        cancelled = s["cancelled"] not in (None, "null")
        states["active" if _live(s["live"]) else "canceled" if cancelled else "inactive"] += 1
    assert all(n > 50 for n in states.values()), states
    assert {"USD", "CAD", "EUR"} <= {s.get("currency_code") for s in ds.subscriptions}


def test_reference_customer_is_the_docs_example(ds):
    dana = ds.customer(KNOWN["reference"])
    assert (dana["first_name"], dana["last_name"], dana["email"]) == ("Dana", "Reyes", "dana.reyes@example.com")
    assert (dana["phone_number"], dana["phone_type"]) == ("+14155550123", 2)
    subs = {s["public_id"]: s for s in ds.subscriptions_of(KNOWN["reference"])}
    assert set(subs) == {KNOWN["reference_active_subscription"], KNOWN["reference_canceled_subscription"]}
    active, canceled = subs[KNOWN["reference_active_subscription"]], subs[KNOWN["reference_canceled_subscription"]]
    assert (active["product"], active["live"], active["price"]) == ("40212877221943", True, None)
    assert (canceled["product"], canceled["live"], canceled["price"]) == ("40212877254711", "False", "18.00")
    assert canceled["cancel_reason"] == "4|Overstocked" and canceled["cancelled"] == "2024-02-20 10:41:09"
    [upcoming] = _upcoming(ds, active["public_id"])
    assert upcoming["public_id"] == KNOWN["reference_upcoming_order"]
    assert upcoming["place"] == KNOWN["reference_next_place"]
    assert _upcoming(ds, canceled["public_id"]) == []
    assert ds.product_by_id["40212877221943"]["name"] == "Cold Brew Concentrate 32 oz"
    assert ds.product_by_id["40212877254711"]["name"] == "Oat Milk Barista 6-pack"


def test_bench_customer_has_five_live_subscriptions_over_three_products(ds):
    subs = ds.subscriptions_of(KNOWN["bench"])
    assert len(subs) == 5 and all(s["live"] is True for s in subs)
    assert {s["product"] for s in subs} == set(KNOWN["bench_products"])
    assert all(len(_upcoming(ds, s["public_id"])) == 1 for s in subs)
    assert all(o["status"] == 1 for o in ds.orders_by_customer[KNOWN["bench"]])
    assert all(ds.product_by_id[p]["live"] and not ds.product_by_id[p]["discontinued"] for p in KNOWN["bench_products"])


def test_many_pages_customer_needs_two_full_pages(ds):
    assert len(ds.subscriptions_of(KNOWN["many_pages"])) == KNOWN["many_pages_count"] > 100


def test_shared_email_plus_email_and_edge_customers(ds):
    sharing = ds.by_email[KNOWN["shared_email"]]
    assert {str(c["merchant_user_id"]) for c in sharing} == set(KNOWN["shared_email_customers"])
    assert len({c["email"] for c in sharing}) == 2  # different letter case
    [plus] = ds.by_email[KNOWN["plus_email"]]
    assert plus["merchant_user_id"] == KNOWN["plus_email_customer"]
    assert ds.subscriptions_of(KNOWN["no_subscriptions"]) == []
    assert ds.customer(KNOWN["no_subscriptions"]) is not None
    assert ds.customer(KNOWN["unknown"]) is None
    assert ds.customer(KNOWN["inactive_customer"])["live"] is False


def test_product_fixtures(ds):
    assert ds.product_by_id[KNOWN["discontinued_product"]]["discontinued"] is True
    assert ds.product_by_id[KNOWN["autoship_disabled_product"]]["autoship_enabled"] is False
    assert ds.product_by_id[KNOWN["no_image_product"]]["image_url"] is None
    assert KNOWN["missing_product"] not in ds.product_by_id
    products = {s["product"] for s in ds.subscriptions_of(KNOWN["missing_product_customer"])}
    assert {KNOWN["missing_product"], KNOWN["discontinued_product"]} <= products
    assert all(p["image_url"] is None or p["image_url"].startswith("https://cdn.example.com/") for p in ds.products)


def test_every_live_subscription_has_exactly_one_future_upcoming_order(ds):
    for sub in ds.subscriptions:
        upcoming = _upcoming(ds, sub["public_id"])
        if _live(sub["live"]):
            assert len(upcoming) == 1, sub["public_id"]
            assert datetime.strptime(upcoming[0]["place"], "%Y-%m-%d %H:%M:%S") > REFERENCE_DATE
        else:
            assert upcoming == []
    assert any(o["status"] == 5 for o in ds.orders)
    assert any(i["product"] is None and ds.order_by_id[i["order"]]["status"] == 1 for i in ds.items)


def test_quirk_forms_are_all_present(ds):
    values = lambda records, key: [r.get(key, "<absent>") for r in records]
    sub_live = values(ds.subscriptions, "live")
    for form in (True, "True", "true", False, "False"):
        assert any(v == form and type(v) is type(form) for v in sub_live), form
    cancelled = values(ds.subscriptions, "cancelled")
    assert None in cancelled and "null" in cancelled and any(v and v != "null" for v in cancelled)
    extras = values(ds.subscriptions, "extra_data") + values(ds.customers, "extra_data")
    assert any(isinstance(v, dict) for v in extras) and None in extras and "" in extras
    assert any(isinstance(v, str) and v.startswith("{") for v in extras)
    assert any(isinstance(c["merchant_user_id"], int) for c in ds.customers)
    assert {1, "en-us"} <= set(values(ds.customers, "locale"))
    phone_types = values(ds.customers, "phone_type")
    assert {0, 1, 2, 3, "mobile", "landline"} <= set(phone_types)
    reasons = values(ds.subscriptions, "cancel_reason")
    assert "4|Overstocked" in reasons and any(isinstance(r, str) and r.endswith("|") for r in reasons)
    assert "<absent>" in values(ds.subscriptions, "currency_code")
    assert any(s.get("every") is None and s["frequency_days"] for s in ds.subscriptions)
    assert any(s["price"] is not None for s in ds.subscriptions)
    assert sum(s["price"] is None for s in ds.subscriptions) > len(ds.subscriptions) / 2


def test_quirks_customer_uses_the_odd_forms(ds):
    customer = ds.customer(KNOWN["quirks"])
    assert isinstance(customer["merchant_user_id"], int)
    assert customer["phone_type"] == "mobile" and customer["live"] == "True" and customer["locale"] == 1
    assert isinstance(customer["extra_data"], str) and "last_login" not in customer
    subs = ds.subscriptions_of(KNOWN["quirks"])
    assert {s["live"] for s in subs} >= {"True", "true", "False"}
    assert "null" in {s["cancelled"] for s in subs}
    assert "2023-02-29" in {s["start_date"] for s in subs}
    assert all(isinstance(s["customer"], int) for s in subs)


def test_timestamps_are_naive_and_never_after_the_reference_date(ds):
    for record in ds.customers + ds.subscriptions + ds.orders:
        for key in ("created", "updated", "last_updated"):
            if key in record:
                assert TS.match(record[key]), (key, record[key])
                assert datetime.strptime(record[key], "%Y-%m-%d %H:%M:%S") <= REFERENCE_DATE


def test_every_record_parses_with_the_toolkit_models(ds):
    utc = ZoneInfo("UTC")
    for kind, records in ((Customer, ds.customers), (Subscription, ds.subscriptions), (Order, ds.orders),
                          (Item, ds.items), (Product, ds.products)):
        for record in records:
            kind.from_api(record, utc)


def test_twelve_customer_has_twelve_live_subscriptions_on_four_upcoming_orders(ds):
    subs = ds.subscriptions_of(KNOWN["twelve"])
    assert len(subs) == 12 and all(s["live"] is True for s in subs)
    orders = ds.orders_by_customer[KNOWN["twelve"]]
    assert len(orders) == 4 and all(o["status"] == 1 for o in orders)
    assert all(len(ds.items_by_order[o["public_id"]]) == 3 for o in orders)
    assert all(len(_upcoming(ds, s["public_id"])) == 1 for s in subs)
    products = {s["product"] for s in subs}
    assert len(products) == 6 and all(ds.product_by_id[p]["autoship_enabled"] for p in products)
