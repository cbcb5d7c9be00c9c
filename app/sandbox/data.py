"""The sandbox's data set: a deterministic, Ordergroove-shaped merchant with several hundred customers.

Everything is anchored to :data:`REFERENCE_DATE` (2026-11-01), never to today's clock, so the
same seed always gives byte-identical records. Records are plain dicts shaped exactly like the
REST API's (``/work/shared/reference/ordergroove-rest-api.md`` sections 3.1-3.6), odd types
included. The fixture customers named in :data:`KNOWN` are built from fixed values, independent
of the seed and of the customer count; the background customers around them come from the seed.

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

>>> ds = generate(seed=1); ds.customer(KNOWN["reference"])["first_name"]
'Dana'
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

REFERENCE_DATE = datetime(2026, 11, 1, 0, 0, 0)
DEFAULT_SEED = 20261101
DEFAULT_CUSTOMERS = 400
MERCHANT = "5b4b5d02049b641549182f8040addf63"

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
}

_PERIOD_DAYS = {1: 1, 2: 7, 3: 30, 4: 365}
_FREQUENCIES = [(1, 3), (1, 3), (2, 3), (4, 2), (6, 2), (2, 2), (30, 1), (45, 1), (3, 3)]
_CANCEL_REASONS = ["4|Overstocked", "2|Too expensive", "1|Trying a different product", "3|Moving",
                   "5|No longer need it", "7|", "6|Other: switching to one-time orders", "8|"]

_FIRST = ("Olivia Liam Emma Noah Ava Elijah Sophia James Isabella William Mia Benjamin Charlotte Lucas "
          "Amelia Henry Harper Theo Evelyn Mateo Abigail Jack Emily Levi Ella Sebastian Avery Daniel "
          "Scarlett Aiden Grace Samuel Chloe Owen Priya Ravi Mei Wei Hiroshi Yuki Fatima Omar Aisha "
          "Diego Lucia Sofia Carlos Ana Nia Kwame Ines Joao Lars Freya Niamh Cormac Zoe Rosa Tomas").split()
_LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
         "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
         "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
         "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Kim Chen "
         "Okafor Silva Novak Murphy O'Brien Schmidt Tanaka").split()
_DOMAINS = ["example.com", "example.com", "example.net", "example.org", "mail.example.com"]
_AREA_CODES = ["415", "212", "312", "206", "617", "303", "512", "646", "718", "202", "503", "408"]
_STREET = "Main Oak Pine Maple Cedar Elm Lake Hill Park River".split()

# (name, base price, product_type); ids are assigned in order, see _catalog()
_CATALOG = [
    ("House Blend Whole Bean 12 oz", "14.99", "standard"),
    ("Decaf Colombia Ground 12 oz", "15.49", "standard"),
    ("Espresso Roast Whole Bean 2 lb", "32.00", "standard"),
    ("Ethiopia Yirgacheffe 12 oz", "18.50", "standard"),
    ("Cold Brew Concentrate 64 oz", "42.00", "standard"),
    ("Single Origin Sampler Box", "29.00", "rotating"),
    ("Breakfast Tea 40 bags", "8.99", "standard"),
    ("Earl Grey Loose Leaf 4 oz", "11.25", "standard"),
    ("Matcha Ceremonial Grade 30 g", "26.00", "standard"),
    ("Chai Concentrate 32 oz", "9.75", "standard"),
    ("Almond Milk Unsweetened 6-pack", "19.99", "standard"),
    ("Oat Milk Original 6-pack", "17.49", "standard"),
    ("Vanilla Syrup 750 ml", "12.00", "standard"),
    ("Caramel Syrup 750 ml", "12.00", "standard"),
    ("Paper Filters #4 (200)", "6.49", "standard"),
    ("Descaling Solution 2-pack", "13.95", "standard"),
    ("Whey Protein Vanilla 2 lb", "39.99", "standard"),
    ("Plant Protein Chocolate 2 lb", "42.50", "standard"),
    ("Daily Multivitamin 90 ct", "24.00", "standard"),
    ("Vitamin D3 2000 IU 120 ct", "12.99", "standard"),
    ("Omega-3 Fish Oil 120 ct", "27.95", "standard"),
    ("Magnesium Glycinate 180 ct", "21.00", "standard"),
    ("Probiotic 30 Billion 30 ct", "34.99", "standard"),
    ("Electrolyte Mix Lemon 30 ct", "29.99", "standard"),
    ("Collagen Peptides 20 oz", "44.00", "standard"),
    ("Morning Bundle: Coffee + Syrup", "25.99", "static price bundle"),
    ("Build-a-Box Wellness Bundle", "59.00", "dynamic price bundle"),
    ("Grain-Free Dog Food 24 lb", "64.99", "standard"),
    ("Salmon Cat Food 12-pack", "18.99", "standard"),
    ("Dog Dental Chews 30 ct", "22.49", "standard"),
    ("Clumping Cat Litter 20 lb", "16.99", "standard"),
    ("Puppy Training Pads 100 ct", "27.50", "standard"),
    ("Bamboo Toilet Paper 24 rolls", "31.99", "standard"),
    ("Paper Towels 12 rolls", "26.49", "standard"),
    ("Laundry Detergent Pods 60 ct", "19.95", "standard"),
    ("Dish Soap Refill 1 gal", "14.50", "standard"),
    ("All-Purpose Cleaner 3-pack", "15.00", "standard"),
    ("Trash Bags 13 gal 90 ct", "17.25", "standard"),
    ("Hand Soap Refill 34 oz", "11.99", "standard"),
    ("Sponges Compostable 6-pack", "7.99", "standard"),
    ("Razor Cartridges 8 ct", "23.00", "standard"),
    ("Shave Gel 7 oz", "5.99", "standard"),
    ("Fluoride Toothpaste 3-pack", "9.49", "standard"),
    ("Electric Toothbrush Heads 4 ct", "19.00", "standard"),
    ("Daily Contact Lenses 90 ct", "58.00", "standard"),
    ("Unscented Baby Wipes 720 ct", "21.99", "standard"),
    ("Diapers Size 3 (144)", "47.99", "standard"),
    ("Infant Formula 35 oz", "39.49", "standard"),
    ("Granola Honey Almond 3-pack", "16.50", "standard"),
    ("Protein Bars Variety 12 ct", "24.99", "rotating"),
    ("Sparkling Water Lime 24-pack", "12.99", "standard"),
    ("Kombucha Ginger 12-pack", "35.88", "standard"),
    ("Olive Oil Extra Virgin 1 L", "22.00", "standard"),
    ("Snack Box Monthly Surprise", "32.00", "rotating"),
    ("Air Purifier Filter HEPA", "49.99", "standard"),
    ("Water Filter Cartridge 3-pack", "34.50", "standard"),
    ("Holiday Blend 12 oz (seasonal)", "16.99", "standard"),
    ("Legacy Decaf Pods 24 ct", "14.00", "standard"),
]


def _hex(label: str) -> str:
    """A fixed 32-hex public id derived from a label (fixture records, seed-independent)."""
    return hashlib.md5(label.encode()).hexdigest()


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


@dataclass
class Dataset:
    """All records plus the indexes the server needs, built once.

    >>> ds = generate(seed=7)
    >>> len(ds.subscriptions_of(KNOWN["bench"]))
    5
    """

    customers: list[dict]
    subscriptions: list[dict]
    orders: list[dict]
    items: list[dict]
    products: list[dict]
    by_customer: dict[str, dict] = field(init=False, repr=False)
    by_email: dict[str, list[dict]] = field(init=False, repr=False)
    subscription_by_id: dict[str, dict] = field(init=False, repr=False)
    subscriptions_by_customer: dict[str, list[dict]] = field(init=False, repr=False)
    order_by_id: dict[str, dict] = field(init=False, repr=False)
    orders_by_customer: dict[str, list[dict]] = field(init=False, repr=False)
    orders_by_subscription: dict[str, list[dict]] = field(init=False, repr=False)
    item_by_id: dict[str, dict] = field(init=False, repr=False)
    items_by_order: dict[str, list[dict]] = field(init=False, repr=False)
    items_by_subscription: dict[str, list[dict]] = field(init=False, repr=False)
    product_by_id: dict[str, dict] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_customer = {str(c["merchant_user_id"]): c for c in self.customers}
        self.by_email = {}
        for c in self.customers:
            if c["email"]:
                self.by_email.setdefault(c["email"].strip().lower(), []).append(c)
        self.subscription_by_id = {s["public_id"]: s for s in self.subscriptions}
        self.subscriptions_by_customer = _group(self.subscriptions, "customer")
        self.order_by_id = {o["public_id"]: o for o in self.orders}
        self.orders_by_customer = _group(self.orders, "customer")
        self.item_by_id = {i["public_id"]: i for i in self.items}
        self.items_by_order = _group(self.items, "order")
        self.items_by_subscription = _group(self.items, "subscription")
        self.orders_by_subscription = {}
        for sub_id, items in self.items_by_subscription.items():
            seen = dict.fromkeys(i["order"] for i in items)
            self.orders_by_subscription[sub_id] = [self.order_by_id[o] for o in seen]
        self.product_by_id = {p["external_product_id"]: p for p in self.products}

    def customer(self, customer_id: Any) -> dict | None:
        return self.by_customer.get(str(customer_id))

    def subscriptions_of(self, customer_id: Any) -> list[dict]:
        return self.subscriptions_by_customer.get(str(customer_id), [])


def _group(records: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in records:
        if record.get(key) is not None:
            out.setdefault(str(record[key]), []).append(record)
    return out


# ---------------------------------------------------------------------------------------------
# builders shared by fixtures and background records


class _Builder:
    """Accumulates records; ``rng`` drives every random choice of the records it builds."""

    def __init__(self, products: list[dict]):
        self.customers: list[dict] = []
        self.subscriptions: list[dict] = []
        self.orders: list[dict] = []
        self.items: list[dict] = []
        self.products = products
        self.product_by_id = {p["external_product_id"]: p for p in products}
        self.orderable = [p for p in products if p["live"] is True and p["autoship_enabled"]
                          and not p["discontinued"] and p["external_product_id"] not in
                          (KNOWN["reference_products"] + KNOWN["bench_products"])]
        self.used_ids: set[str] = set()

    def new_hex(self, rng: random.Random) -> str:
        while True:
            value = "%032x" % rng.getrandbits(128)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def customer(self, rng: random.Random, **fields: Any) -> dict:
        created = REFERENCE_DATE - timedelta(days=rng.randint(60, 1800), seconds=rng.randint(0, 86399))
        updated = created + (REFERENCE_DATE - created) * rng.random()
        record = {
            "merchant": MERCHANT,
            "id": rng.randint(1_000_000, 3_999_999),
            "merchant_user_id": "",
            "session_id": f"{MERCHANT}.{rng.randint(100000, 999999)}.{int(created.timestamp())}",
            "user_token_id": "",
            "first_name": "",
            "last_name": "",
            "email": "",
            "phone_number": "",
            "phone_type": 2,
            "live": True,
            "created": _ts(created),
            "last_updated": _ts(updated),
            "last_login": _ts(updated + (REFERENCE_DATE - updated) * rng.random()),
            "extra_data": None,
            "locale": "en-us",
            "price_code": "",
        }
        record.update(fields)
        self.customers.append(record)
        return record

    def subscription(self, rng: random.Random, owner: dict, product_id: str, state: str,
                     **fields: Any) -> dict:
        """state: "active" | "canceled" | "inactive"; ``fields`` override anything."""
        cust_created = datetime.strptime(owner["created"], "%Y-%m-%d %H:%M:%S")
        span = max(2.0, (REFERENCE_DATE - timedelta(days=20) - cust_created).total_seconds())
        created = cust_created + timedelta(seconds=rng.uniform(60, span))
        every, period = rng.choice(_FREQUENCIES)
        product = self.product_by_id.get(product_id)
        record = {
            "public_id": self.new_hex(rng),
            "customer": owner["merchant_user_id"],
            "merchant": MERCHANT,
            "product": product_id,
            "payment": owner["_payment"],
            "shipping_address": owner["_address"],
            "offer": _hex(f"offer-{rng.randint(1, 3)}"),
            "subscription_type": "replenishment",
            "components": [],
            "extra_data": rng.choices([{}, {"source": "checkout"}, '{"source": "checkout"}', "", None],
                                      [50, 15, 15, 10, 10])[0],
            "product_attribute": None,
            "quantity": rng.choices([1, 2, 3, 4], [60, 25, 10, 5])[0],
            "price": None,
            "currency_code": "USD",
            "frequency_days": every * _PERIOD_DAYS[period],
            "reminder_days": rng.choice([5, 7, 7, 10]),
            "every": every,
            "every_period": period,
            "start_date": created.date().isoformat(),
            "cancelled": None,
            "cancel_reason": None,
            "cancel_reason_code": None,
            "merchant_order_id": str(rng.randint(10000, 99999)),
            "created": _ts(created),
            "updated": _ts(created + (REFERENCE_DATE - created) * rng.random()),
            "live": True,
            "session_id": f"{MERCHANT}.{rng.randint(100000, 999999)}.{int(created.timestamp())}",
            "iteration": None,
        }
        roll = rng.random()
        if roll < 0.15 and product is not None:  # price locked, sometimes at an older price
            locked = Decimal(product["price"]) * Decimal(rng.choice(["1", "1", "0.9", "0.85"]))
            record["price"] = _money(locked)
        currency = rng.choices(["USD", None, "CAD", "EUR"], [85, 8, 4, 3])[0]
        if currency is None:
            del record["currency_code"]
        else:
            record["currency_code"] = currency
        if rng.random() < 0.15:  # only frequency_days
            if rng.random() < 0.5:
                record["every"] = record["every_period"] = None
            else:
                del record["every"], record["every_period"]
        if rng.random() < 0.05:
            record["start_date"] = _ts(created.replace(hour=0, minute=0, second=0))
        if state == "active":
            record["live"] = rng.choices([True, "True", "true"], [80, 10, 10])[0]
            record["cancelled"] = rng.choices([None, "null"], [90, 10])[0]
        elif state == "canceled":
            cancelled = created + timedelta(days=14) + (REFERENCE_DATE - created - timedelta(days=15)) * rng.random()
            reason = rng.choices(_CANCEL_REASONS + [None], [8] * len(_CANCEL_REASONS) + [4])[0]
            record.update(live=rng.choices([False, "False"], [70, 30])[0], cancelled=_ts(cancelled),
                          updated=_ts(cancelled), cancel_reason=reason)
            if reason is not None:
                code = reason.split("|", 1)[0]
                record["cancel_reason_code"] = code if rng.random() < 0.8 else code + "|"
        else:
            record["live"] = rng.choices([False, "False"], [70, 30])[0]
            record["cancelled"] = rng.choices([None, "null"], [80, 20])[0]
        record.update(fields)
        self.subscriptions.append(record)
        return record

    def order(self, rng: random.Random, customer: dict, place: datetime, status: int,
              lines: list[tuple[dict, str | None]], *, public_id: str | None = None,
              created: datetime | None = None, **fields: Any) -> dict:
        """One order with one item per ``(subscription, product or None)`` line."""
        created = created or min(place - timedelta(days=rng.randint(7, 40)) + timedelta(
            seconds=rng.randint(0, 86399)), REFERENCE_DATE - timedelta(seconds=rng.randint(60, 86400)))
        order_id = public_id or self.new_hex(rng)
        sub_total = Decimal("0")
        currency = "USD"
        for sub, item_product in lines:
            currency = sub.get("currency_code") or currency
            unit = Decimal(self._unit_price(sub))
            total = unit * int(sub["quantity"])
            sub_total += total
            self.items.append({
                "public_id": self.new_hex(rng), "order": order_id, "offer": sub["offer"],
                "subscription": sub["public_id"], "product": item_product, "components": [],
                "quantity": sub["quantity"], "product_attribute": None, "price": _money(unit),
                "extra_cost": "0.00", "total_price": _money(total), "one_time": False,
                "order_updated": _ts(created), "frozen": False,
                "first_placed": None if status == 1 else _ts(place),
            })
        discount = (sub_total * Decimal("0.05")) if rng.random() < 0.5 else Decimal("0")
        shipping = Decimal("0") if sub_total >= 35 else Decimal("5.99")
        record = {
            "public_id": order_id, "merchant": MERCHANT, "customer": customer["merchant_user_id"],
            "payment": customer["_payment"], "shipping_address": customer["_address"],
            "sub_total": _money(sub_total), "tax_total": "0.00", "shipping_total": _money(shipping),
            "discount_total": _money(discount), "total": _money(sub_total - discount + shipping),
            "currency_code": currency, "created": _ts(created),
            "updated": _ts(created if status == 1 else place + timedelta(minutes=2)),
            "place": _ts(place), "cancelled": None, "tries": 0 if status == 1 else 1,
            "generic_error_count": 0, "status": status, "type": 1, "order_merchant_id": None,
            "rejected_message": None, "extra_data": None, "locked": False, "oos_free_shipping": False,
        }
        if status == 5:
            record["order_merchant_id"] = str(rng.randint(100000, 999999))
        elif status == 4:
            record["cancelled"] = _ts(place - timedelta(days=rng.randint(1, 5)))
        elif status == 3:
            record["tries"] = 3
            record["rejected_message"] = json.dumps({"error": "card_declined", "message": "Your card was declined."})
        record.update(fields)
        self.orders.append(record)
        return record

    def _unit_price(self, sub: dict) -> str:
        if sub.get("price"):
            return sub["price"]
        product = self.product_by_id.get(sub["product"])
        return product["price"] if product else "10.00"

    def past_orders(self, rng: random.Random, customer: dict, sub: dict, until: datetime, count: int) -> None:
        """``count`` placed orders of ``sub`` stepping back from ``until``, never before it began."""
        step = timedelta(days=int(sub.get("frequency_days") or 30))
        sub_created = datetime.strptime(sub["created"], "%Y-%m-%d %H:%M:%S")
        place = until.replace(hour=6, minute=0, second=0) - step
        while place >= REFERENCE_DATE:
            place -= step
        for _ in range(count):
            if place <= sub_created + timedelta(days=1):
                break
            status = rng.choices([5, 4, 3], [88, 8, 4])[0]
            self.order(rng, customer, place, status, [(sub, sub["product"])],
                       created=place - step + timedelta(hours=1))
            place -= step

    def order_lines_append(self, rng: random.Random, order: dict, sub: dict, item_product: str | None) -> None:
        """Add ``sub`` as one more item of an existing (upcoming) order, updating its totals."""
        unit = Decimal(self._unit_price(sub))
        total = unit * int(sub["quantity"])
        self.items.append({
            "public_id": self.new_hex(rng), "order": order["public_id"], "offer": sub["offer"],
            "subscription": sub["public_id"], "product": item_product, "components": [],
            "quantity": sub["quantity"], "product_attribute": None, "price": _money(unit), "extra_cost": "0.00",
            "total_price": _money(total), "one_time": False, "order_updated": order["updated"], "frozen": False,
            "first_placed": None,
        })
        sub_total = Decimal(order["sub_total"]) + total
        order["sub_total"] = _money(sub_total)
        order["total"] = _money(sub_total - Decimal(order["discount_total"]) + Decimal(order["shipping_total"]))

    def one_time_item(self, rng: random.Random, order: dict) -> None:
        product = rng.choice(self.orderable)
        self.items.append({
            "public_id": self.new_hex(rng), "order": order["public_id"], "offer": _hex("offer-1"),
            "subscription": None, "product": product["external_product_id"], "components": [],
            "quantity": 1, "product_attribute": None, "price": product["price"], "extra_cost": "0.00",
            "total_price": product["price"], "one_time": True, "order_updated": order["updated"],
            "frozen": False, "first_placed": order["place"] if order["status"] != 1 else None,
        })


def _catalog() -> list[dict]:
    """~60 products; the merchant's catalogue does not depend on the seed."""
    rng = random.Random("catalog")
    products = [_reference_cold_brew(), {
        **_reference_cold_brew(), "external_product_id": "40212877254711", "name": "Oat Milk Barista 6-pack",
        "sku": "OM-BAR-6", "price": "21.00", "image_url": "https://cdn.example.com/p/oat-milk-barista-6.jpg",
        "detail_url": "https://shop.example.com/products/oat-milk-barista-6", "every": 1, "every_period": 3,
        "created": "2023-05-02 09:15:00", "last_update": "2025-06-03 11:40:12"}]
    fixed_ids = {0: KNOWN["bench_products"][0], 1: KNOWN["bench_products"][1], 2: KNOWN["bench_products"][2],
                 3: KNOWN["no_image_product"], len(_CATALOG) - 2: KNOWN["discontinued_product"],
                 len(_CATALOG) - 1: KNOWN["autoship_disabled_product"]}
    for n, (name, price, product_type) in enumerate(_CATALOG):
        slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
        while "--" in slug:
            slug = slug.replace("--", "-")
        created = datetime(2022, 1, 10) + timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86399))
        every, period = rng.choice(_FREQUENCIES[:6])
        pid = fixed_ids.get(n, f"402128773{n:03d}{rng.randint(10, 99)}")
        image = None if (pid == KNOWN["no_image_product"] or rng.random() < 0.06) else \
            f"https://cdn.example.com/p/{slug}.jpg"
        discontinued = pid == KNOWN["discontinued_product"]
        products.append({
            "external_product_id": pid, "merchant": MERCHANT, "groups": [], "name": name,
            "sku": "".join(w[0] for w in name.split() if w[0].isalnum()).upper() + f"-{n:03d}",
            "price": price, "image_url": image, "detail_url": f"https://shop.example.com/products/{slug}",
            "autoship_enabled": pid != KNOWN["autoship_disabled_product"], "premier_enabled": rng.choice([0, 0, 1]),
            "created": _ts(created), "last_update": _ts(created + timedelta(days=rng.randint(1, 700))),
            "live": not discontinued, "discontinued": discontinued, "offer_profile": None,
            "extra_data": None, "incentive_group": None, "product_type": product_type,
            "autoship_by_default": rng.random() < 0.2, "every": every, "every_period": period,
            "prepaid_eligible": rng.random() < 0.15,
        })
    return products


def _reference_cold_brew() -> dict:
    return {"external_product_id": "40212877221943", "merchant": MERCHANT, "groups": [],
            "name": "Cold Brew Concentrate 32 oz", "sku": "CB-32-ORIG", "price": "24.50",
            "image_url": "https://cdn.example.com/p/cold-brew-32.jpg",
            "detail_url": "https://shop.example.com/products/cold-brew-32",
            "autoship_enabled": True, "premier_enabled": 0, "created": "2023-05-02 09:15:00",
            "last_update": "2024-11-30 17:22:05", "live": True, "discontinued": False,
            "offer_profile": None, "extra_data": None, "incentive_group": None,
            "product_type": "standard", "autoship_by_default": False, "every": 6, "every_period": 2,
            "prepaid_eligible": False}


def _ids(customer_id: str) -> dict:
    return {"_payment": _hex(f"payment-{customer_id}"), "_address": _hex(f"address-{customer_id}")}


def _upcoming(rng: random.Random) -> datetime:
    return (REFERENCE_DATE + timedelta(days=rng.randint(1, 70))).replace(hour=6)


def _fixtures(b: _Builder) -> None:
    """The KNOWN customers: fixed values, own RNG, independent of the seed."""
    rng = random.Random("fixtures")
    # -- reference: Dana Reyes, straight from the reference docs
    dana = b.customer(rng, id=2284417, merchant_user_id=KNOWN["reference"],
                      session_id=f"{MERCHANT}.412907.1709396411", first_name="Dana", last_name="Reyes",
                      email=KNOWN["reference_email"], phone_number="+14155550123", phone_type=2,
                      live=True, created="2023-07-11 11:58:40", last_updated="2025-01-19 08:03:47",
                      last_login="2025-01-18 21:12:09", extra_data={"loyalty_tier": "gold"},
                      locale="en-us", **{"_payment": "7e56baa025b08f1bbdccad3f68f78a69",
                                         "_address": "057b84ca2e1ccfe0558c92329fb98546"})
    active = b.subscription(
        rng, dana, "40212877221943", "active", public_id=KNOWN["reference_active_subscription"],
        offer="98613d4df8dad29806cf5f53ba42b8cb", extra_data={}, quantity=2, price=None,
        currency_code="USD", frequency_days=42, reminder_days=7, every=6, every_period=2,
        start_date="2024-03-04", cancelled=None, merchant_order_id="10482",
        created="2024-03-02 16:20:11", updated="2025-01-19 08:03:47", live=True)
    canceled = b.subscription(
        rng, dana, "40212877254711", "canceled", public_id=KNOWN["reference_canceled_subscription"],
        offer="98613d4df8dad29806cf5f53ba42b8cb", quantity=1, price="18.00", currency_code="USD",
        every=1, every_period=3, frequency_days=30, reminder_days=7, start_date="2023-07-12",
        cancelled="2024-02-20 10:41:09", cancel_reason="4|Overstocked", cancel_reason_code="4",
        extra_data='{"source": "checkout"}', created="2023-07-11 12:00:05",
        updated="2024-02-20 10:41:09", live="False", merchant_order_id="9311")
    place = datetime.strptime(KNOWN["reference_next_place"], "%Y-%m-%d %H:%M:%S")
    last_placed = datetime(2026, 10, 5, 6, 2, 31)
    b.order(rng, dana, place, 1, [(active, "40212877221943")], public_id=KNOWN["reference_upcoming_order"],
            created=last_placed, discount_total="2.45", total="46.55")
    b.items[-1].update(public_id="1a464dae15527a047d3f5a20d92ff7a1", total_price="46.55")
    b.past_orders(rng, dana, active, place - timedelta(days=42), 3)
    b.past_orders(rng, dana, canceled, datetime(2024, 2, 20, 6), 2)

    # -- bench: 5 live subscriptions over 3 products, one upcoming order each, nothing else
    bench = b.customer(rng, merchant_user_id=KNOWN["bench"], first_name="Morgan", last_name="Ellis",
                       email="morgan.ellis@example.com", phone_number="+13035550188", phone_type=2,
                       extra_data={}, **_ids(KNOWN["bench"]))
    for n, pid in enumerate(KNOWN["bench_products"] + KNOWN["bench_products"][:2]):
        sub = b.subscription(rng, bench, pid, "active", live=True, cancelled=None, price=None,
                             currency_code="USD", every=4, every_period=2, frequency_days=28)
        b.order(rng, bench, (REFERENCE_DATE + timedelta(days=5 + 7 * n)).replace(hour=6), 1, [(sub, pid)])

    # -- many_pages: 130 subscriptions
    many = b.customer(rng, merchant_user_id=KNOWN["many_pages"], first_name="Riley", last_name="Brooks",
                      email="riley.brooks@example.org", phone_number="+12125550147", phone_type=1,
                      **_ids(KNOWN["many_pages"]))
    for n in range(KNOWN["many_pages_count"]):
        state = "active" if n % 13 == 0 else ("canceled" if n % 13 < 8 else "inactive")
        sub = b.subscription(rng, many, b.orderable[n % len(b.orderable)]["external_product_id"], state)
        if state == "active":
            b.order(rng, many, _upcoming(rng), 1, [(sub, sub["product"])])

    # -- quirks: every odd form at once
    quirks = b.customer(rng, merchant_user_id=int(KNOWN["quirks"]), first_name="Quinn", last_name="Oddway",
                        email="quinn.oddway@example.net", phone_number="+16175550190", phone_type="mobile",
                        live="True", extra_data='{"loyalty_tier": "silver"}', locale=1,
                        **_ids(KNOWN["quirks"]))
    del quirks["last_login"]
    qcid = int(KNOWN["quirks"])
    q1 = b.subscription(rng, quirks, b.orderable[0]["external_product_id"], "active", customer=qcid,
                        live="True", cancelled="null", extra_data="", price="12.99", every=None,
                        every_period=None, frequency_days=42, start_date="2024-05-06 00:00:00")
    q1.pop("currency_code", None)
    q2 = b.subscription(rng, quirks, b.orderable[1]["external_product_id"], "active", customer=qcid,
                        live="true", cancelled=None, extra_data='{"source": "import", "batch": 7}',
                        start_date="2023-02-29", currency_code="CAD", every=2, every_period=3,
                        frequency_days=60)
    q3 = b.subscription(rng, quirks, b.orderable[2]["external_product_id"], "canceled", customer=qcid,
                        live="False", cancel_reason="7|", cancel_reason_code="7|", extra_data=None,
                        currency_code="USD")
    b.subscription(rng, quirks, b.orderable[3]["external_product_id"], "inactive", customer=qcid,
                   live=False, cancelled="null", extra_data={"gift": True}, currency_code="EUR")
    b.order(rng, quirks, _upcoming(rng), 1, [(q1, None), (q2, q2["product"])], extra_data="")
    b.past_orders(rng, quirks, q3, datetime.strptime(q3["cancelled"], "%Y-%m-%d %H:%M:%S"), 2)
    b.order(rng, quirks, REFERENCE_DATE - timedelta(days=20, hours=18), 3, [(q2, q2["product"])])

    # -- two customers sharing one email (different case)
    for cid, email, first in zip(KNOWN["shared_email_customers"],
                                 ("Shared.Household@example.com", "shared.household@example.com"),
                                 ("Alex", "Jamie")):
        c = b.customer(rng, merchant_user_id=cid, first_name=first, last_name="Morgan", email=email,
                       phone_number="+15035550111", phone_type=1, **_ids(cid))
        sub = b.subscription(rng, c, rng.choice(b.orderable)["external_product_id"], "active", live=True)
        b.order(rng, c, _upcoming(rng), 1, [(sub, sub["product"])])

    # -- a "+" address, stored in mixed case
    plus = b.customer(rng, merchant_user_id=KNOWN["plus_email_customer"], first_name="Dana",
                      last_name="Reyes-Ortiz", email="Dana+Subs@example.com", phone_number="+14155550177",
                      phone_type=3, **_ids(KNOWN["plus_email_customer"]))
    sub = b.subscription(rng, plus, b.orderable[4]["external_product_id"], "active", live=True)
    b.order(rng, plus, _upcoming(rng), 1, [(sub, sub["product"])])

    # -- a subscription on a product that 404s, one on a discontinued product
    mp = b.customer(rng, merchant_user_id=KNOWN["missing_product_customer"], first_name="Sam",
                    last_name="Whitfield", email="sam.whitfield@example.com", phone_number="+12065550134",
                    phone_type=2, **_ids(KNOWN["missing_product_customer"]))
    gone = b.subscription(rng, mp, KNOWN["missing_product"], "active", live=True, price=None)
    ok = b.subscription(rng, mp, b.orderable[5]["external_product_id"], "active", live=True)
    b.subscription(rng, mp, KNOWN["discontinued_product"], "canceled", cancel_reason="5|No longer need it")
    b.order(rng, mp, _upcoming(rng), 1, [(gone, None)])
    b.order(rng, mp, _upcoming(rng), 1, [(ok, ok["product"])])

    b.customer(rng, merchant_user_id=KNOWN["no_subscriptions"], first_name="Noor", last_name="Haddad",
               email="noor.haddad@example.com", phone_number="", phone_type=0, **_ids(KNOWN["no_subscriptions"]))
    inactive = b.customer(rng, merchant_user_id=KNOWN["inactive_customer"], first_name="Pat", last_name="Lindqvist",
                          email="pat.lindqvist@example.org", phone_number="+13125550166", phone_type="landline",
                          live=False, **_ids(KNOWN["inactive_customer"]))
    b.subscription(rng, inactive, b.orderable[6]["external_product_id"], "inactive", live=False)

    # -- twelve: 12 live subscriptions over 6 products on 4 upcoming orders, nothing else
    twelve = b.customer(rng, merchant_user_id=KNOWN["twelve"], first_name="Avery", last_name="Castellanos",
                        email="avery.castellanos@example.com", phone_number="+15125550142", phone_type=2,
                        extra_data={}, **_ids(KNOWN["twelve"]))
    per_order = KNOWN["twelve_subscriptions"] // KNOWN["twelve_orders"]
    for n in range(KNOWN["twelve_orders"]):
        lines = []
        for m in range(per_order):
            pid = b.orderable[10 + (n * per_order + m) % 6]["external_product_id"]
            sub = b.subscription(rng, twelve, pid, "active", live=True, cancelled=None, price=None,
                                 currency_code="USD", every=1, every_period=3, frequency_days=30)
            lines.append((sub, pid))
        b.order(rng, twelve, (REFERENCE_DATE + timedelta(days=3 + 9 * n)).replace(hour=6), 1, lines)


def _background(b: _Builder, rng: random.Random, count: int) -> None:
    taken_ids = set(str(c["merchant_user_id"]) for c in b.customers) | {KNOWN["unknown"]}
    taken_emails = set(c["email"].lower() for c in b.customers)
    discontinued = [p for p in b.products if p["discontinued"]]
    for _ in range(count):
        cid = str(rng.randint(1_000_000_000, 4_999_999_999))
        while cid in taken_ids:
            cid = str(rng.randint(1_000_000_000, 4_999_999_999))
        taken_ids.add(cid)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{first}_{last}"])
        email = f"{local}@{rng.choice(_DOMAINS)}".lower().replace("'", "")
        while email in taken_emails:
            email = f"{local}{rng.randint(1, 99)}@{rng.choice(_DOMAINS)}".lower().replace("'", "")
        taken_emails.add(email)
        if rng.random() < 0.15:
            email = email.capitalize()
        if rng.random() < 0.03:
            email = ""
        phone_type = rng.choices([2, 1, 3, 0, "mobile", "landline", "voip"], [45, 15, 5, 3, 20, 10, 2])[0]
        phone = f"+1{rng.choice(_AREA_CODES)}555{rng.randint(0, 9999):04d}"
        if rng.random() < 0.05:
            phone = f"+4420794{rng.randint(0, 99999):05d}"
        if rng.random() < 0.06:
            phone, phone_type = "", 0
        customer = b.customer(
            rng, merchant_user_id=int(cid) if rng.random() < 0.05 else cid, first_name=first,
            last_name=last, email=email, phone_number=phone, phone_type=phone_type,
            live=rng.choices([True, "True", "true", False, "False"], [80, 6, 6, 5, 3])[0],
            extra_data=rng.choices([None, {}, {"loyalty_tier": "gold"}, '{"loyalty_tier": "bronze"}', ""],
                                   [40, 20, 15, 15, 10])[0],
            locale=rng.choices(["en-us", 1], [75, 25])[0], **_ids(cid))
        if rng.random() < 0.2:
            del customer["last_login"]
        n_subs = rng.choices(range(7), [20, 25, 20, 15, 10, 5, 5])[0]
        upcoming: dict | None = None
        for _ in range(n_subs):
            state = rng.choices(["active", "canceled", "inactive"], [55, 30, 15])[0]
            pool = discontinued if state == "canceled" and rng.random() < 0.06 else b.orderable
            sub = b.subscription(rng, customer, rng.choice(pool)["external_product_id"], state)
            if isinstance(customer["merchant_user_id"], int) and rng.random() < 0.5:
                sub["customer"] = customer["merchant_user_id"]
            if state == "active":
                item_product = None if rng.random() < 0.15 else sub["product"]
                if upcoming is not None and rng.random() < 0.3:  # shares the next shipment
                    b.order_lines_append(rng, upcoming, sub, item_product)
                else:
                    upcoming = b.order(rng, customer, _upcoming(rng), 1, [(sub, item_product)])
                b.past_orders(rng, customer, sub, datetime.strptime(upcoming["place"], "%Y-%m-%d %H:%M:%S"),
                              rng.randint(0, 4))
            elif state == "canceled":
                b.past_orders(rng, customer, sub, datetime.strptime(sub["cancelled"], "%Y-%m-%d %H:%M:%S"),
                              rng.randint(0, 3))
        past = [o for o in b.orders[-6:] if o["customer"] == customer["merchant_user_id"] and o["status"] == 5]
        if past and rng.random() < 0.1:
            b.one_time_item(rng, past[0])




@lru_cache(maxsize=8)
def generate(seed: int = DEFAULT_SEED, customers: int = DEFAULT_CUSTOMERS) -> Dataset:
    """The data set for ``seed``: the KNOWN fixtures plus background customers up to ``customers``.

    Cached per arguments; treat the returned records as read-only.
    """
    builder = _Builder(_catalog())
    _fixtures(builder)
    _background(builder, random.Random(seed), max(0, customers - len(builder.customers)))
    for record in builder.customers:
        record.pop("_payment"), record.pop("_address")
    # Ordergroove documents no ordering and returns orders unordered: sort by the random public id.
    orders = sorted(builder.orders, key=lambda o: o["public_id"])
    return Dataset(customers=builder.customers, subscriptions=builder.subscriptions, orders=orders,
                   items=builder.items, products=builder.products)

