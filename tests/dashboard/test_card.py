"""Shaping a Gladly DETAILED result into the card: dates, badges, facts, ages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashboard.card import CustomerView, SubscriptionView, age_text, human_date, pretty_json, subscription_views

from dash_support import shown

RESULT = {
    "externalCustomerId": "7781203344", "name": "Dana Reyes",
    "emails": [{"original": "dana.reyes@example.com"}],
    "phones": [{"original": "+14155550123", "type": "MOBILE"}],
    "customAttributes": {"ordergrooveCustomerId": "7781203344", "subscriptionCount": "3",
                         "activeSubscriptionCount": "1"},
    "transactions": [
        {"type": "SUBSCRIPTION", "subscriptionId": "a1", "status": "Active",
         "createdAt": "2024-03-02T16:20:11.000Z", "updatedAt": "2025-01-19T08:03:47.000Z",
         "billingFrequency": "Every 6 weeks", "nextBillingDate": "2026-12-28T06:00:00.000Z",
         "price": "€24.50", "currencyCode": "EUR", "quantity": 2,
         "products": [{"productId": "p1", "name": "Cold Brew", "imageUrl": "https://cdn/x.jpg", "sku": "CB"},
                      {"productId": "p9", "name": "Filter papers"}]},
        {"type": "SUBSCRIPTION", "subscriptionId": "c1", "status": "Canceled",
         "createdAt": "2023-07-11T12:00:05.000Z", "updatedAt": "2024-02-20T10:41:09.000Z",
         "canceledAt": "2024-02-20T10:41:09.000Z", "cancellationReason": "Overstocked",
         "currencyCode": "USD", "quantity": 1, "products": [{"productId": "p2"}]},
        {"type": "SUBSCRIPTION", "subscriptionId": "i1", "status": "Inactive", "quantity": 1,
         "products": []},
    ],
}


@pytest.mark.parametrize("value, shown", [
    ("2026-12-28T06:00:00.000Z", "28 Dec 2026"),
    ("2026-12-31T23:30:00.000-02:00", "1 Jan 2027"),  # shown in UTC
    ("2024-03-02T16:20:11Z", "2 Mar 2024"),
    (None, "—"), ("", "—"), ("soon", "soon"),
])
def test_human_date(value, shown):
    assert human_date(value) == shown


@pytest.mark.parametrize("seconds, text", [(0, "fetched 0 s ago"), (42, "fetched 42 s ago"),
                                           (600, "fetched 10 min ago"), (3 * 3600, "fetched 3 h ago"),
                                           (5 * 86400, "fetched 5 days ago")])
def test_age_text(seconds, text):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert age_text(now - timedelta(seconds=seconds), now) == text


def test_customer_view():
    view = CustomerView.from_result(RESULT)
    assert (view.name, view.external_customer_id) == ("Dana Reyes", "7781203344")
    assert view.emails == ("dana.reyes@example.com",)
    assert view.phones == ("+14155550123 (mobile)",)
    assert (view.subscription_count, view.active_count) == (3, 1)


def test_subscription_views_keep_order_and_colour_statuses():
    active, canceled, inactive = subscription_views(RESULT)
    assert [(v.status, v.status_color) for v in (active, canceled, inactive)] == [
        ("Active", "green"), ("Canceled", "red"), ("Inactive", "gray")]
    facts = dict(active.facts)
    assert facts["Price"] == "€24.50 EUR" and facts["Quantity"] == "2"
    assert facts["Next billing date"] == "28 Dec 2026" and "Canceled" not in facts
    assert (active.product_name, active.sku, active.image_url) == ("Cold Brew", "CB", "https://cdn/x.jpg")
    assert active.other_products == ("Filter papers",)
    facts = dict(canceled.facts)
    assert facts["Canceled"] == "20 Feb 2024" and facts["Cancellation reason"] == "Overstocked"
    assert facts["Price"] == "—" and "Next billing date" not in facts
    assert (canceled.product_name, canceled.image_url) == ("Unnamed product", None)
    assert inactive.product_id == "—"


def test_pretty_json_keeps_key_order():
    assert pretty_json(b'{"results":[{"b":1,"a":"\\u00e9"}]}').splitlines()[3:5] == ['      "b": 1,', '      "a": "é"']


def test_facts_split_in_two_columns():
    from dashboard.card import split_facts

    left, right = split_facts(SubscriptionView.from_transaction(RESULT["transactions"][0]).facts)
    assert shown(left).startswith("**Price:** €24.50 EUR") and "**Updated:** 19 Jan 2025" in shown(right)


def test_facts_escape_ordergroove_words():
    from dashboard.card import split_facts

    tx = {"status": "Canceled", "cancellationReason": "[click](https://evil/x) **now**", "quantity": 1}
    left, right = split_facts(SubscriptionView.from_transaction(tx).facts)
    assert "[click](" not in left + right and "**now**" not in left + right
    assert "**Cancellation reason:** [click](https://evil/x) **now**" in shown(right)
