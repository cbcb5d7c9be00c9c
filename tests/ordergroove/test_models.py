"""Models built from the reference's example payloads and their odd variants."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.ordergroove.models import (
    PERIOD_UNITS,
    Customer,
    CustomerProfile,
    Item,
    Order,
    Product,
    Subscription,
    parse_phone_type,
)

UTC = ZoneInfo("UTC")

CUSTOMER = {"merchant": "5b4b5d02049b641549182f8040addf63", "id": 2284417, "merchant_user_id": "7781203344",
            "session_id": "5b4b5d02049b641549182f8040addf63.412907.1709396411", "user_token_id": "",
            "first_name": "Dana", "last_name": "Reyes", "email": "dana.reyes@example.com",
            "phone_number": "+14155550123", "phone_type": 2, "live": True,
            "created": "2023-07-11 11:58:40", "last_updated": "2025-01-19 08:03:47",
            "last_login": "2025-01-18 21:12:09", "extra_data": {"loyalty_tier": "gold"}, "locale": "en-us",
            "price_code": ""}

SUBSCRIPTION = {"public_id": "0767811a8025176986607ad9e36fd616", "customer": "7781203344",
                "merchant": "5b4b5d02049b641549182f8040addf63", "product": "40212877221943",
                "payment": "7e56baa025b08f1bbdccad3f68f78a69", "shipping_address": "057b84ca2e1ccfe0558c92329fb98546",
                "offer": "98613d4df8dad29806cf5f53ba42b8cb", "subscription_type": "replenishment", "components": [],
                "extra_data": {}, "product_attribute": None, "quantity": 2, "price": None, "currency_code": "USD",
                "frequency_days": 42, "reminder_days": 7, "every": 6, "every_period": 2, "start_date": "2024-03-04",
                "cancelled": None, "cancel_reason": None, "cancel_reason_code": None, "merchant_order_id": "10482",
                "created": "2024-03-02 16:20:11", "updated": "2025-01-19 08:03:47", "live": True}

CANCELLED = {"public_id": "03dc9aa7b9a58dd48b14bbfeb7d277bb", "customer": "7781203344",
             "product": "40212877254711", "quantity": 1, "price": "18.00", "every": 1, "every_period": 3,
             "frequency_days": 30, "start_date": "2023-07-12", "cancelled": "2024-02-20 10:41:09",
             "cancel_reason": "4|Overstocked", "cancel_reason_code": "4",
             "extra_data": "{\"source\": \"checkout\"}", "created": "2023-07-11 12:00:05",
             "updated": "2024-02-20 10:41:09", "live": "False"}

ORDER = {"public_id": "b5384130608aff9075a80fee319ab115", "merchant": "5b4b5d02049b641549182f8040addf63",
         "customer": "7781203344", "payment": "7e56baa025b08f1bbdccad3f68f78a69",
         "shipping_address": "057b84ca2e1ccfe0558c92329fb98546", "sub_total": "49.00", "tax_total": "0.00",
         "shipping_total": "0.00", "discount_total": "2.45", "total": "46.55", "currency_code": "USD",
         "created": "2025-02-14 06:02:31", "updated": "2025-02-14 06:02:31", "place": "2025-03-28 06:00:00",
         "cancelled": None, "tries": 0, "generic_error_count": 0, "status": 1, "type": 1,
         "order_merchant_id": None, "rejected_message": None, "extra_data": None, "locked": False,
         "oos_free_shipping": False}

ITEM = {"public_id": "1a464dae15527a047d3f5a20d92ff7a1", "order": "b5384130608aff9075a80fee319ab115",
        "offer": "98613d4df8dad29806cf5f53ba42b8cb", "subscription": "0767811a8025176986607ad9e36fd616",
        "product": "40212877221943", "components": [], "quantity": 2, "product_attribute": None,
        "price": "24.50", "extra_cost": "0.00", "total_price": "46.55", "one_time": False,
        "order_updated": "2025-02-14 06:02:31", "frozen": False, "first_placed": None}

PRODUCT = {"external_product_id": "40212877221943", "merchant": "5b4b5d02049b641549182f8040addf63", "groups": [],
           "name": "Cold Brew Concentrate 32 oz", "sku": "CB-32-ORIG", "price": "24.50",
           "image_url": "https://cdn.example.com/p/cold-brew-32.jpg",
           "detail_url": "https://shop.example.com/products/cold-brew-32", "autoship_enabled": True,
           "premier_enabled": 0, "created": "2023-05-02 09:15:00", "last_update": "2024-11-30 17:22:05",
           "live": True, "discontinued": False, "offer_profile": None, "extra_data": None,
           "incentive_group": None, "product_type": "standard", "autoship_by_default": False, "every": 6,
           "every_period": 2, "prepaid_eligible": False}


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_reference_customer():
    c = Customer.from_api(CUSTOMER, UTC)
    assert c.merchant_user_id == "7781203344" and c.full_name == "Dana Reyes"
    assert c.email == "dana.reyes@example.com" and c.phone_number == "+14155550123"
    assert c.phone_type == "mobile" and c.live is True
    assert c.created == utc(2023, 7, 11, 11, 58, 40) and c.last_updated == utc(2025, 1, 19, 8, 3, 47)
    assert c.extra_data == {"loyalty_tier": "gold"}


def test_customer_quirks():
    raw = dict(CUSTOMER, merchant_user_id=7781203344, phone_type="mobile", live="true", extra_data='{"a": 1}',
               first_name=None, last_name="null", locale=1)
    c = Customer.from_api(raw, UTC)
    assert c.merchant_user_id == "7781203344" and c.phone_type == "mobile" and c.live is True
    assert c.extra_data == {"a": 1} and c.full_name == ""
    assert Customer.from_api(dict(CUSTOMER, live="False", extra_data=""), UTC).live is False


def test_customer_time_zone_is_applied():
    c = Customer.from_api(CUSTOMER, ZoneInfo("America/Los_Angeles"))
    assert c.created == utc(2023, 7, 11, 18, 58, 40)


@pytest.mark.parametrize("value, expected", [
    (2, "mobile"), ("2", "mobile"), ("mobile", "mobile"), ("Mobile", "mobile"), (1, "landline"),
    ("landline", "landline"), (3, "voip"), ("voip", "voip"), (0, "invalid"), ("invalid", "invalid"),
    (None, ""), (9, ""), ("pager", ""),
])
def test_phone_types(value, expected):
    assert parse_phone_type(value) == expected


@pytest.mark.parametrize("raw", [{}, {"merchant_user_id": None}, {"merchant_user_id": "null"},
                                 {"merchant_user_id": ""}, {"id": 2284417}])
def test_customer_without_id_raises_value_error(raw):
    with pytest.raises(ValueError):
        Customer.from_api(raw, UTC)


def test_customer_from_non_mapping_raises_value_error():
    with pytest.raises(ValueError):
        Customer.from_api(["not", "a", "record"], UTC)


def test_reference_active_subscription():
    s = Subscription.from_api(SUBSCRIPTION, UTC)
    assert s.public_id == "0767811a8025176986607ad9e36fd616" and s.customer == "7781203344"
    assert s.product == "40212877221943" and s.live is True and s.quantity == 2
    assert s.price is None and s.currency_code == "USD"
    assert (s.every, s.every_period, s.frequency_days) == (6, 2, 42) and PERIOD_UNITS[s.every_period] == "week"
    assert s.cancelled is None and s.cancel_reason is None
    assert s.created == utc(2024, 3, 2, 16, 20, 11)


def test_reference_cancelled_price_locked_subscription():
    s = Subscription.from_api(CANCELLED, UTC)
    assert s.live is False and s.price == Decimal("18.00")
    assert s.cancelled == utc(2024, 2, 20, 10, 41, 9) and s.cancel_reason == "4|Overstocked"
    assert s.extra_data == {"source": "checkout"}
    assert PERIOD_UNITS[s.every_period] == "month"


@pytest.mark.parametrize("live, expected", [(True, True), ("True", True), ("true", True), (False, False),
                                            ("False", False), ("false", False), (None, False)])
def test_subscription_live_forms(live, expected):
    assert Subscription.from_api(dict(SUBSCRIPTION, live=live), UTC).live is expected


@pytest.mark.parametrize("cancelled, expected", [(None, None), ("null", None), ("", None),
                                                 ("2024-02-20 10:41:09", utc(2024, 2, 20, 10, 41, 9))])
def test_subscription_cancelled_forms(cancelled, expected):
    assert Subscription.from_api(dict(CANCELLED, cancelled=cancelled), UTC).cancelled == expected


@pytest.mark.parametrize("extra, expected", [({}, {}), ({"k": "v"}, {"k": "v"}), ('{"k": "v"}', {"k": "v"}),
                                             ("", {}), (None, {}), ("{broken", {})])
def test_subscription_extra_data_forms(extra, expected):
    assert Subscription.from_api(dict(SUBSCRIPTION, extra_data=extra), UTC).extra_data == expected


def test_subscription_other_quirks():
    raw = dict(SUBSCRIPTION, public_id=12345, customer=7781203344, product=40212877221943, quantity="3",
               price="null", currency_code="usd", every=None, every_period=None, frequency_days="42",
               cancel_reason="4|", created="2023-02-29 10:00:00", updated="bad")
    s = Subscription.from_api(raw, UTC)
    assert (s.public_id, s.customer, s.product) == ("12345", "7781203344", "40212877221943")
    assert s.quantity == 3 and s.price is None and s.currency_code == "USD"
    assert s.every is None and s.every_period is None and s.frequency_days == 42
    assert s.cancel_reason == "4|"
    assert s.created is None and s.updated is None  # an impossible date is dropped, not fatal
    no_currency = dict(SUBSCRIPTION)
    del no_currency["currency_code"]
    assert Subscription.from_api(no_currency, UTC).currency_code is None


def test_subscription_without_public_id_raises():
    with pytest.raises(ValueError):
        Subscription.from_api(dict(SUBSCRIPTION, public_id=None), UTC)


def test_reference_order():
    o = Order.from_api(ORDER, UTC)
    assert o.public_id == "b5384130608aff9075a80fee319ab115" and o.status == Order.UNSENT == 1
    assert o.place == utc(2025, 3, 28, 6, 0, 0) and o.customer == "7781203344"


def test_order_quirks():
    o = Order.from_api({"public_id": "b5", "status": "1", "place": "2025-03-28T06:00:00"}, UTC)
    assert o.status == 1 and o.place == utc(2025, 3, 28, 6)
    assert Order.from_api({"public_id": "b5", "status": None, "place": "null"}, UTC).place is None


def test_reference_item():
    i = Item.from_api(ITEM, UTC)
    assert (i.order, i.subscription, i.product, i.quantity) == (
        "b5384130608aff9075a80fee319ab115", "0767811a8025176986607ad9e36fd616", "40212877221943", 2)
    one_time = Item.from_api(dict(ITEM, subscription=None, product=None), UTC)
    assert one_time.subscription is None and one_time.product is None


def test_reference_product():
    p = Product.from_api(PRODUCT, UTC)
    assert p.external_product_id == "40212877221943" and p.name == "Cold Brew Concentrate 32 oz"
    assert p.sku == "CB-32-ORIG" and p.price == Decimal("24.50")
    assert p.image_url == "https://cdn.example.com/p/cold-brew-32.jpg" and p.live and not p.discontinued


def test_product_quirks():
    p = Product.from_api(dict(PRODUCT, external_product_id=40212877221943, image_url=None, live="False",
                              discontinued="true", price=None))
    assert p.external_product_id == "40212877221943" and p.image_url == ""
    assert p.live is False and p.discontinued is True and p.price is None
    with pytest.raises(ValueError):
        Product.from_api({"name": "no id"})


def test_models_are_frozen_and_profile_holds_them():
    c = Customer.from_api(CUSTOMER, UTC)
    with pytest.raises(Exception):
        c.first_name = "x"  # type: ignore[misc]
    profile = CustomerProfile(customer=c, subscriptions=(Subscription.from_api(SUBSCRIPTION, UTC),),
                              next_orders={SUBSCRIPTION["public_id"]: utc(2025, 3, 28, 6)},
                              products={"40212877221943": Product.from_api(PRODUCT)},
                              fetched_at=utc(2025, 3, 1))
    assert profile.stale is False and profile.subscriptions[0].product in profile.products
