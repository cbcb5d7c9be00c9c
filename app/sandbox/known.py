"""The fixture customers and products that tests, the bench and the demo name by key.

``KNOWN`` keys (all ids are strings, compare with ``str()``):

- ``reference``: ``"7781203344"``, Dana Reyes, ``dana.reyes@example.com``, ``+14155550123``
  (phone_type 2). The reference docs' records: active subscription
  ``reference_active_subscription`` (product ``40212877221943`` "Cold Brew Concentrate 32 oz",
  price null, every 6 weeks) whose upcoming order ``reference_upcoming_order`` is placed
  ``reference_next_place``; canceled subscription ``reference_canceled_subscription`` (product
  ``40212877254711`` "Oat Milk Barista 6-pack", ``live "False"``, price ``"18.00"`` locked,
  cancel_reason ``"4|Overstocked"``, cancelled ``"2024-02-20 10:41:09"``). Plus past orders.
- ``reference_email``, ``reference_products`` (the two product ids above).
- ``bench``: customer with exactly 5 live subscriptions over exactly 3 distinct products
  (``bench_products``), one upcoming order per subscription, and nothing else (no other
  subscriptions, no past orders).
- ``many_pages``: customer with ``many_pages_count`` (130) subscriptions (10 active, the rest
  canceled or inactive): two pages at page_size 100.
- ``quirks``: customer whose records use the odd forms: ``merchant_user_id`` and the
  subscriptions' ``customer`` as JSON numbers, ``live "True"``/``"true"``/``"False"``,
  ``cancelled "null"``, ``extra_data`` as a JSON string / ``""`` / null, ``locale`` 1,
  ``phone_type "mobile"``, a ``cancel_reason "7|"`` with empty text, only ``frequency_days``,
  a datetime ``start_date`` and an impossible one (``"2023-02-29"``), currency missing / CAD /
  EUR, a locked price, an upcoming order shared by two subscriptions whose item has product null.
- ``shared_email``: ``"shared.household@example.com"``; held by the two customers in
  ``shared_email_customers`` as ``"Shared.Household@example.com"`` and
  ``"shared.household@example.com"``.
- ``plus_email``: ``"dana+subs@example.com"`` (stored as ``"Dana+Subs@example.com"``), customer
  ``plus_email_customer``.
- ``discontinued_product``: product with ``discontinued true`` (hidden from the unfiltered
  product list, still served by ``/products/{id}/``); ``autoship_disabled_product``: likewise
  hidden (``autoship_enabled false``); ``no_image_product``: ``image_url`` null.
- ``missing_product``: a product id that 404s, referenced by an active subscription of
  ``missing_product_customer`` (who also has a normal active one and a canceled one on the
  discontinued product).
- ``no_subscriptions``: customer with no subscriptions at all.
- ``inactive_customer``: customer with ``live false``.
- ``unknown``: a customer id that does not exist.
- ``twelve``: customer with exactly ``twelve_subscriptions`` (12) live subscriptions over 6
  products, on exactly ``twelve_orders`` (4) upcoming orders of 3 subscriptions each, and nothing
  else (the bench's "many subscriptions" customer, issue 9).
- ``prepaid``: customer with one live prepaid subscription ``prepaid_subscription`` (it carries
  ``prepaid_subscription_context``; Ordergroove refuses to cancel it with a 400) and its upcoming order.
"""

from __future__ import annotations

from typing import Any

KNOWN: dict[str, Any] = {
    "reference": "7781203344",
    "reference_email": "dana.reyes@example.com",
    "reference_active_subscription": "0767811a8025176986607ad9e36fd616",
    "reference_canceled_subscription": "03dc9aa7b9a58dd48b14bbfeb7d277bb",
    "reference_upcoming_order": "b5384130608aff9075a80fee319ab115",
    "reference_next_place": "2026-12-28 06:00:00",
    "reference_products": ("40212877221943", "40212877254711"),
    "bench": "5550001001",
    "bench_products": ("40212877300011", "40212877300028", "40212877300035"),
    "many_pages": "5550002002",
    "many_pages_count": 130,
    "quirks": "5550003003",
    "shared_email": "shared.household@example.com",
    "shared_email_customers": ("5550004004", "5550004005"),
    "plus_email": "dana+subs@example.com",
    "plus_email_customer": "5550005005",
    "discontinued_product": "40212877399901",
    "autoship_disabled_product": "40212877399918",
    "no_image_product": "40212877300042",
    "missing_product": "40212899999999",
    "missing_product_customer": "5550006006",
    "no_subscriptions": "5550007007",
    "inactive_customer": "5550008008",
    "unknown": "9999999999",
    "twelve": "5550009009",
    "twelve_subscriptions": 12,
    "twelve_orders": 4,
    "prepaid": "5550010010",
    "prepaid_subscription": "5e1f0c2a9b7d4e3f8a6b2c1d0e9f8a7b",
}

