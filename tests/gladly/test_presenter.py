"""The presenter against CONTRACT section 4's mapping tables, row by row."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.gladly.presenter import (
    billing_frequency,
    cancellation_reason,
    format_price,
    iso_utc,
    present_basic,
    present_detailed,
)
from app.ordergroove.models import Customer, CustomerProfile, Order, Product, Subscription

UTC = ZoneInfo("UTC")
FETCHED = datetime(2025, 3, 1, tzinfo=timezone.utc)

# Raw records shaped like the Ordergroove reference's examples (Dana Reyes).
DANA = {
    "merchant": "5b4b5d02049b641549182f8040addf63", "id": 2284417, "merchant_user_id": "7781203344",
    "first_name": "Dana", "last_name": "Reyes", "email": "dana.reyes@example.com",
    "phone_number": "+14155550123", "phone_type": 2, "live": True,
    "created": "2023-07-11 11:58:40", "last_updated": "2025-01-19 08:03:47",
    "extra_data": {"loyalty_tier": "gold"}, "locale": "en-us", "price_code": "",
}
ACTIVE_SUB = {
    "public_id": "0767811a8025176986607ad9e36fd616", "customer": "7781203344", "product": "40212877221943",
    "quantity": 2, "price": None, "currency_code": "USD", "frequency_days": 42, "every": 6, "every_period": 2,
    "cancelled": None, "cancel_reason": None, "created": "2024-03-02 16:20:11", "updated": "2025-01-19 08:03:47",
    "live": True, "extra_data": {},
}
CANCELED_SUB = {
    "public_id": "03dc9aa7b9a58dd48b14bbfeb7d277bb", "customer": "7781203344", "product": "40212877254711",
    "quantity": 1, "price": "18.00", "every": 1, "every_period": 3, "frequency_days": 30,
    "cancelled": "2024-02-20 10:41:09", "cancel_reason": "4|Overstocked", "cancel_reason_code": "4",
    "extra_data": "{\"source\": \"checkout\"}", "created": "2023-07-11 12:00:05",
    "updated": "2024-02-20 10:41:09", "live": "False",
}
COLD_BREW = {
    "external_product_id": "40212877221943", "name": "Cold Brew Concentrate 32 oz", "sku": "CB-32-ORIG",
    "price": "24.50", "image_url": "https://cdn.example.com/p/cold-brew-32.jpg", "live": True, "discontinued": False,
}
OAT_MILK = {"external_product_id": "40212877254711", "name": "Oat Milk Barista 6-pack", "sku": "OM-6PK",
            "price": "19.00", "image_url": None}
UPCOMING = {"public_id": "b5384130608aff9075a80fee319ab115", "customer": "7781203344", "status": 1,
            "place": "2025-03-28 06:00:00"}


def customer(**changes) -> Customer:
    return Customer.from_api({**DANA, **changes}, UTC)


def sub(base=ACTIVE_SUB, **changes) -> Subscription:
    return Subscription.from_api({**base, **changes}, UTC)


def profile(subs, products=(COLD_BREW, OAT_MILK), next_orders=None, cust=None) -> CustomerProfile:
    return CustomerProfile(
        customer=cust or customer(),
        subscriptions=tuple(subs),
        next_orders=next_orders or {},
        products={p.external_product_id: p for p in (Product.from_api(raw) for raw in products)},
        fetched_at=FETCHED,
    )


def transaction(subscription: Subscription, **kwargs) -> dict:
    return present_detailed(profile([subscription], **kwargs))["transactions"][0]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# --- the reference's DETAILED example, byte for byte ---------------------------------------------
def test_reference_detailed_example():
    place = Order.from_api(UPCOMING, UTC).place
    result = present_detailed(profile([sub(CANCELED_SUB), sub()], next_orders={ACTIVE_SUB["public_id"]: place}))
    expected = json.loads("""{
      "externalCustomerId":"7781203344","name":"Dana Reyes",
      "emails":[{"original":"dana.reyes@example.com"}],"phones":[{"original":"+14155550123","type":"MOBILE"}],
      "customAttributes":{"ordergrooveCustomerId":"7781203344","subscriptionCount":"2","activeSubscriptionCount":"1"},
      "transactions":[
        {"type":"SUBSCRIPTION","subscriptionId":"0767811a8025176986607ad9e36fd616","status":"Active",
         "createdAt":"2024-03-02T16:20:11.000Z","updatedAt":"2025-01-19T08:03:47.000Z",
         "billingFrequency":"Every 6 weeks","nextBillingDate":"2025-03-28T06:00:00.000Z",
         "price":"$24.50","currencyCode":"USD","quantity":2,
         "products":[{"productId":"40212877221943","name":"Cold Brew Concentrate 32 oz",
                      "imageUrl":"https://cdn.example.com/p/cold-brew-32.jpg","sku":"CB-32-ORIG"}]},
        {"type":"SUBSCRIPTION","subscriptionId":"03dc9aa7b9a58dd48b14bbfeb7d277bb","status":"Canceled",
         "createdAt":"2023-07-11T12:00:05.000Z","updatedAt":"2024-02-20T10:41:09.000Z",
         "billingFrequency":"Every month","canceledAt":"2024-02-20T10:41:09.000Z",
         "cancellationReason":"Overstocked","price":"$18.00","currencyCode":"USD","quantity":1,
         "products":[{"productId":"40212877254711","name":"Oat Milk Barista 6-pack","sku":"OM-6PK"}]}]}""")
    # same keys in the same order (json.dumps keeps insertion order), same values
    assert json.dumps(result) == json.dumps(expected)


# --- profile fields (both levels) ---------------------------------------------------------------
@pytest.mark.parametrize(
    "changes, expected",
    [
        ({}, {"externalCustomerId": "7781203344", "name": "Dana Reyes",
              "emails": [{"original": "dana.reyes@example.com"}],
              "phones": [{"original": "+14155550123", "type": "MOBILE"}]}),
        ({"merchant_user_id": 7781203344}, {"externalCustomerId": "7781203344"}),
        ({"first_name": "", "last_name": None}, {"name": None}),
        ({"first_name": "Dana", "last_name": ""}, {"name": "Dana"}),
        ({"first_name": None, "last_name": "Reyes"}, {"name": "Reyes"}),
        ({"email": ""}, {"emails": None}),
        ({"email": None}, {"emails": None}),
        ({"phone_number": ""}, {"phones": None}),
        ({"phone_number": None, "phone_type": 2}, {"phones": None}),
        ({"phone_type": "mobile"}, {"phones": [{"original": "+14155550123", "type": "MOBILE"}]}),
        ({"phone_type": "2"}, {"phones": [{"original": "+14155550123", "type": "MOBILE"}]}),
        ({"phone_type": 1}, {"phones": [{"original": "+14155550123", "type": "HOME"}]}),
        ({"phone_type": "landline"}, {"phones": [{"original": "+14155550123", "type": "HOME"}]}),
        ({"phone_type": 3}, {"phones": [{"original": "+14155550123", "type": "OTHER"}]}),
        ({"phone_type": "voip"}, {"phones": [{"original": "+14155550123", "type": "OTHER"}]}),
        ({"phone_type": 0}, {"phones": [{"original": "+14155550123", "type": "OTHER"}]}),
        ({"phone_type": None}, {"phones": [{"original": "+14155550123", "type": "OTHER"}]}),
        ({"phone_type": "fax"}, {"phones": [{"original": "+14155550123", "type": "OTHER"}]}),
    ],
)
def test_profile_fields(changes, expected):
    result = present_basic(customer(**changes))
    for key, value in expected.items():
        if value is None:
            assert key not in result
        else:
            assert result[key] == value


def test_basic_has_only_profile_fields_in_contract_order():
    result = present_basic(customer())
    assert list(result) == ["externalCustomerId", "name", "emails", "phones"]
    assert list(present_basic(customer(first_name="", last_name="", email="", phone_number=""))) == [
        "externalCustomerId"
    ]


# --- customAttributes -------------------------------------------------------------------------------
def test_custom_attributes_counts_as_strings():
    subs = [sub(public_id="a"), sub(public_id="b", live="True"), sub(CANCELED_SUB), sub(CANCELED_SUB, public_id="c",
                                                                                          cancelled="null")]
    attrs = present_detailed(profile(subs))["customAttributes"]
    assert attrs == {"ordergrooveCustomerId": "7781203344", "subscriptionCount": "4", "activeSubscriptionCount": "2"}


def test_custom_attributes_always_sent_even_with_no_subscriptions():
    result = present_detailed(profile([]))
    assert result["customAttributes"] == {
        "ordergrooveCustomerId": "7781203344", "subscriptionCount": "0", "activeSubscriptionCount": "0"
    }
    assert result["transactions"] == []


def test_ordergroove_customer_id_is_merchant_user_id_not_internal_id():
    result = present_detailed(profile([], cust=customer(id=99, merchant_user_id="abc-1")))
    assert result["customAttributes"]["ordergrooveCustomerId"] == "abc-1"


# --- status ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "live, cancelled, status",
    [
        (True, None, "Active"),
        ("True", None, "Active"),
        ("true", "2024-02-20 10:41:09", "Active"),  # live wins
        (False, "2024-02-20 10:41:09", "Canceled"),
        ("False", "2024-02-20 10:41:09", "Canceled"),
        ("false", None, "Inactive"),
        (False, "null", "Inactive"),
        (None, "", "Inactive"),
    ],
)
def test_status(live, cancelled, status):
    tx = transaction(sub(CANCELED_SUB, live=live, cancelled=cancelled))
    assert tx["status"] == status
    assert ("canceledAt" in tx) == (status == "Canceled")
    assert ("cancellationReason" in tx) == (status == "Canceled")


def test_next_billing_date_only_for_active():
    when = at("2025-03-28T06:00:00")
    assert transaction(sub(), next_orders={ACTIVE_SUB["public_id"]: when})["nextBillingDate"] == (
        "2025-03-28T06:00:00.000Z"
    )
    assert "nextBillingDate" not in transaction(sub())  # unknown
    inactive = sub(live=False)
    assert "nextBillingDate" not in transaction(inactive, next_orders={inactive.public_id: when})


# --- dates ------------------------------------------------------------------------------------------
def test_dates_read_in_ordergroove_timezone():
    tz_sub = Subscription.from_api({**CANCELED_SUB}, ZoneInfo("America/New_York"))
    tx = transaction(tz_sub)
    assert tx["createdAt"] == "2023-07-11T16:00:05.000Z"  # EDT, UTC-4
    assert tx["canceledAt"] == "2024-02-20T15:41:09.000Z"  # EST, UTC-5


def test_unknown_dates_omitted():
    tx = transaction(sub(created=None, updated="not a date"))
    assert "createdAt" not in tx and "updatedAt" not in tx


@pytest.mark.parametrize(
    "dt, text",
    [
        (datetime(2018, 10, 10, 14, 45, 38, tzinfo=timezone.utc), "2018-10-10T14:45:38.000Z"),
        (datetime(2018, 10, 10, 14, 45, 38, 123999, tzinfo=timezone.utc), "2018-10-10T14:45:38.123Z"),
        (datetime(2018, 10, 10, 16, 45, 38, tzinfo=ZoneInfo("Europe/Paris")), "2018-10-10T14:45:38.000Z"),
        (datetime(2018, 10, 10, 14, 45, 38), "2018-10-10T14:45:38.000Z"),
    ],
)
def test_iso_utc(dt, text):
    assert iso_utc(dt) == text


# --- billing frequency --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "every, period, days, text",
    [
        (1, 3, 30, "Every month"),
        (4, 3, None, "Every 4 months"),
        (6, 2, 42, "Every 6 weeks"),
        (1, 2, None, "Every week"),
        (1, 1, None, "Every day"),
        (10, 1, None, "Every 10 days"),
        (1, 4, None, "Every year"),
        (2, 4, None, "Every 2 years"),
        ("3", "3", None, "Every 3 months"),
        (None, None, 42, "Every 42 days"),
        (None, 3, 42, "Every 42 days"),
        (2, None, 42, "Every 42 days"),
        (2, 9, 14, "Every 14 days"),  # unknown period code
        (0, 3, 7, "Every 7 days"),
        (None, None, 1, "Every day"),
        (None, None, None, None),
        (None, None, 0, None),
    ],
)
def test_billing_frequency(every, period, days, text):
    subscription = sub(every=every, every_period=period, frequency_days=days)
    assert billing_frequency(subscription) == text
    tx = transaction(subscription)
    assert tx.get("billingFrequency") == text
    assert ("billingFrequency" in tx) == (text is not None)


# --- cancellation reason -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, text",
    [
        ("4|Overstocked", "Overstocked"),
        ("4| Too much coffee | really ", "Too much coffee | really"),
        ("4|", "Reason code 4"),
        ("4|   ", "Reason code 4"),
        ("4", "Reason code 4"),
        ("Moved abroad", "Moved abroad"),
        ("|Other", "Other"),
        ("|", None),
        ("", None),
        (None, None),
        ("null", None),
    ],
)
def test_cancellation_reason(raw, text):
    assert cancellation_reason(sub(CANCELED_SUB, cancel_reason=raw).cancel_reason) == text
    tx = transaction(sub(CANCELED_SUB, cancel_reason=raw))
    assert tx.get("cancellationReason") == text


# --- price, currency, quantity -------------------------------------------------------------------
@pytest.mark.parametrize(
    "sub_price, product_price, currency, price, code",
    [
        (None, "24.50", "USD", "$24.50", "USD"),  # not locked: product price
        ("18.00", "24.50", "USD", "$18.00", "USD"),  # locked price wins
        ("0", "24.50", "USD", "$0.00", "USD"),  # a locked zero is still a price
        (None, None, "USD", None, "USD"),  # neither known: omitted
        ("12.985", None, "USD", "$12.99", "USD"),  # half up
        ("12.984", None, "USD", "$12.98", "USD"),
        ("12.5", None, None, "$12.50", "USD"),  # no currency: USD
        ("12.5", None, "usd", "$12.50", "USD"),
        ("12.5", None, "CAD", "$12.50", "CAD"),
        ("12.5", None, "EUR", "€12.50", "EUR"),
        ("12.5", None, "GBP", "£12.50", "GBP"),
        ("1200", None, "JPY", "¥1200.00", "JPY"),
        ("12.99", None, "CHF", "CHF 12.99", "CHF"),
        ("not money", "7", "USD", "$7.00", "USD"),
        (None, "1E+40", "USD", None, "USD"),  # unformattable: omitted, never a crash
    ],
)
def test_price_and_currency(sub_price, product_price, currency, price, code):
    product = {**COLD_BREW, "price": product_price}
    tx = transaction(sub(price=sub_price, currency_code=currency), products=[product])
    assert tx.get("price") == price
    assert ("price" in tx) == (price is not None)
    assert tx["currencyCode"] == code


def test_price_falls_back_to_nothing_when_product_missing():
    tx = transaction(sub(price=None), products=[])
    assert "price" not in tx


@pytest.mark.parametrize(
    "amount, currency, text",
    [
        (Decimal("12.99"), "USD", "$12.99"),
        (Decimal("0.005"), "USD", "$0.01"),
        (Decimal("-0.001"), "USD", "$0.00"),
        (Decimal("-5"), "EUR", "-€5.00"),
        (Decimal("1234567.891"), "AUD", "$1234567.89"),
        (7, "NZD", "$7.00"),
        ("3.1", None, "$3.10"),
        (Decimal("1"), "sek", "SEK 1.00"),
    ],
)
def test_format_price(amount, currency, text):
    assert format_price(amount, currency) == text


@pytest.mark.parametrize("amount", ["abc", Decimal("NaN"), Decimal("Infinity")])
def test_format_price_rejects_non_amounts(amount):
    with pytest.raises(ValueError):
        format_price(amount, "USD")


@pytest.mark.parametrize("raw, quantity", [(2, 2), ("3", 3), (None, 1), ("many", 1)])
def test_quantity_is_an_integer(raw, quantity):
    tx = transaction(sub(quantity=raw))
    assert tx["quantity"] == quantity and type(tx["quantity"]) is int


# --- products --------------------------------------------------------------------------------------
def test_missing_product_entry_has_only_product_id():
    tx = transaction(sub(product="gone-404"))
    assert tx["products"] == [{"productId": "gone-404"}]


def test_product_fields_omitted_when_empty():
    tx = transaction(sub(), products=[{"external_product_id": "40212877221943", "name": "Cold Brew", "sku": "",
                                       "image_url": None}])
    assert tx["products"] == [{"productId": "40212877221943", "name": "Cold Brew"}]


def test_numeric_product_id_matches_and_is_a_string():
    tx = transaction(sub(product=40212877221943))
    assert tx["products"][0]["productId"] == "40212877221943"
    assert tx["products"][0]["sku"] == "CB-32-ORIG"


def test_subscription_without_product_has_empty_products():
    assert transaction(sub(product=None))["products"] == []


# --- transaction ordering ----------------------------------------------------------------------------
def test_transaction_ordering():
    subs = [
        sub(public_id="inactive-old", live=False, cancelled=None, updated="2023-01-01 00:00:00"),
        sub(public_id="active-unknown", live=True),
        sub(public_id="canceled-new", live=False, cancelled="2024-06-01 00:00:00", updated="2020-01-01 00:00:00"),
        sub(public_id="active-late", live=True),
        sub(public_id="inactive-undated", live=False, cancelled=None, updated=None),
        sub(public_id="canceled-old", live=False, cancelled="2022-01-01 00:00:00", updated="2025-01-01 00:00:00"),
        sub(public_id="active-early", live="True"),
        sub(public_id="inactive-new", live=False, cancelled=None, updated="2024-01-01 00:00:00"),
        sub(public_id="active-unknown-2", live=True),
        sub(public_id="inactive-undated-0", live=False, cancelled=None, updated=None),
    ]
    next_orders = {"active-late": at("2025-05-01T00:00:00"), "active-early": at("2025-04-01T00:00:00")}
    result = present_detailed(profile(subs, next_orders=next_orders))
    assert [tx["subscriptionId"] for tx in result["transactions"]] == [
        "active-early", "active-late", "active-unknown", "active-unknown-2",
        "canceled-new", "inactive-new", "inactive-old", "canceled-old",
        "inactive-undated", "inactive-undated-0",
    ]
    # deterministic whatever order Ordergroove returned them in
    again = present_detailed(profile(list(reversed(subs)), next_orders=next_orders))
    assert again == result


def test_ties_broken_by_subscription_id():
    same = "2024-06-01 00:00:00"
    subs = [sub(CANCELED_SUB, public_id=pid, cancelled=same) for pid in ("c", "a", "b")]
    assert [tx["subscriptionId"] for tx in present_detailed(profile(subs))["transactions"]] == ["a", "b", "c"]


# --- shape ---------------------------------------------------------------------------------------------
def test_output_is_plain_json():
    result = present_detailed(profile([sub(), sub(CANCELED_SUB)], next_orders={ACTIVE_SUB["public_id"]: FETCHED}))
    assert json.loads(json.dumps(result)) == result
    assert list(result) == ["externalCustomerId", "name", "emails", "phones", "customAttributes", "transactions"]
