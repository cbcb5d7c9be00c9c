"""Ordergroove-shaped record builders: customers, subscriptions, orders and items, as REST returns them.

Records are plain dicts shaped exactly like the REST API's
(``/work/shared/reference/ordergroove-rest-api.md`` sections 3.1-3.5), odd types included. Dates
are anchored to :data:`REFERENCE_DATE`, never to today's clock, so the same random draws always
give byte-identical records.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .known import KNOWN

REFERENCE_DATE = datetime(2026, 11, 1, 0, 0, 0)
DEFAULT_SEED = 20261101
DEFAULT_CUSTOMERS = 400
MERCHANT = "5b4b5d02049b641549182f8040addf63"

PERIOD_DAYS = {1: 1, 2: 7, 3: 30, 4: 365}
FREQUENCIES = [(1, 3), (1, 3), (2, 3), (4, 2), (6, 2), (2, 2), (30, 1), (45, 1), (3, 3)]
_CANCEL_REASONS = ["4|Overstocked", "2|Too expensive", "1|Trying a different product", "3|Moving",
                   "5|No longer need it", "7|", "6|Other: switching to one-time orders", "8|"]



def fixed_hex(label: str) -> str:
    """A fixed 32-hex public id derived from a label (fixture records, seed-independent)."""
    return hashlib.md5(label.encode()).hexdigest()


def ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def payment_and_address(customer_id: str) -> dict:
    """The hidden ``_payment``/``_address`` ids a customer's subscriptions and orders point to."""
    return {"_payment": fixed_hex(f"payment-{customer_id}"), "_address": fixed_hex(f"address-{customer_id}")}


def upcoming_place(rng: random.Random) -> datetime:
    """A placement date of an upcoming order: 1 to 70 days after :data:`REFERENCE_DATE`, 06:00."""
    return (REFERENCE_DATE + timedelta(days=rng.randint(1, 70))).replace(hour=6)


class Builder:
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

    def newfixed_hex(self, rng: random.Random) -> str:
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
            "created": ts(created),
            "last_updated": ts(updated),
            "last_login": ts(updated + (REFERENCE_DATE - updated) * rng.random()),
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
        every, period = rng.choice(FREQUENCIES)
        product = self.product_by_id.get(product_id)
        record = {
            "public_id": self.newfixed_hex(rng),
            "customer": owner["merchant_user_id"],
            "merchant": MERCHANT,
            "product": product_id,
            "payment": owner["_payment"],
            "shipping_address": owner["_address"],
            "offer": fixed_hex(f"offer-{rng.randint(1, 3)}"),
            "subscription_type": "replenishment",
            "components": [],
            "extra_data": rng.choices([{}, {"source": "checkout"}, '{"source": "checkout"}', "", None],
                                      [50, 15, 15, 10, 10])[0],
            "product_attribute": None,
            "quantity": rng.choices([1, 2, 3, 4], [60, 25, 10, 5])[0],
            "price": None,
            "currency_code": "USD",
            "frequency_days": every * PERIOD_DAYS[period],
            "reminder_days": rng.choice([5, 7, 7, 10]),
            "every": every,
            "every_period": period,
            "start_date": created.date().isoformat(),
            "cancelled": None,
            "cancel_reason": None,
            "cancel_reason_code": None,
            "merchant_order_id": str(rng.randint(10000, 99999)),
            "created": ts(created),
            "updated": ts(created + (REFERENCE_DATE - created) * rng.random()),
            "live": True,
            "session_id": f"{MERCHANT}.{rng.randint(100000, 999999)}.{int(created.timestamp())}",
            "iteration": None,
        }
        roll = rng.random()
        if roll < 0.15 and product is not None:  # price locked, sometimes at an older price
            locked = Decimal(product["price"]) * Decimal(rng.choice(["1", "1", "0.9", "0.85"]))
            record["price"] = money(locked)
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
            record["start_date"] = ts(created.replace(hour=0, minute=0, second=0))
        if state == "active":
            record["live"] = rng.choices([True, "True", "true"], [80, 10, 10])[0]
            record["cancelled"] = rng.choices([None, "null"], [90, 10])[0]
        elif state == "canceled":
            cancelled = created + timedelta(days=14) + (REFERENCE_DATE - created - timedelta(days=15)) * rng.random()
            reason = rng.choices(_CANCEL_REASONS + [None], [8] * len(_CANCEL_REASONS) + [4])[0]
            record.update(live=rng.choices([False, "False"], [70, 30])[0], cancelled=ts(cancelled),
                          updated=ts(cancelled), cancel_reason=reason)
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
        order_id = public_id or self.newfixed_hex(rng)
        sub_total = Decimal("0")
        currency = "USD"
        for sub, item_product in lines:
            currency = sub.get("currency_code") or currency
            unit = Decimal(self._unit_price(sub))
            total = unit * int(sub["quantity"])
            sub_total += total
            self.items.append({
                "public_id": self.newfixed_hex(rng), "order": order_id, "offer": sub["offer"],
                "subscription": sub["public_id"], "product": item_product, "components": [],
                "quantity": sub["quantity"], "product_attribute": None, "price": money(unit),
                "extra_cost": "0.00", "total_price": money(total), "one_time": False,
                "order_updated": ts(created), "frozen": False,
                "first_placed": None if status == 1 else ts(place),
            })
        discount = (sub_total * Decimal("0.05")) if rng.random() < 0.5 else Decimal("0")
        shipping = Decimal("0") if sub_total >= 35 else Decimal("5.99")
        record = {
            "public_id": order_id, "merchant": MERCHANT, "customer": customer["merchant_user_id"],
            "payment": customer["_payment"], "shipping_address": customer["_address"],
            "sub_total": money(sub_total), "tax_total": "0.00", "shipping_total": money(shipping),
            "discount_total": money(discount), "total": money(sub_total - discount + shipping),
            "currency_code": currency, "created": ts(created),
            "updated": ts(created if status == 1 else place + timedelta(minutes=2)),
            "place": ts(place), "cancelled": None, "tries": 0 if status == 1 else 1,
            "generic_error_count": 0, "status": status, "type": 1, "order_merchant_id": None,
            "rejected_message": None, "extra_data": None, "locked": False, "oos_free_shipping": False,
        }
        if status == 5:
            record["order_merchant_id"] = str(rng.randint(100000, 999999))
        elif status == 4:
            record["cancelled"] = ts(place - timedelta(days=rng.randint(1, 5)))
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
            "public_id": self.newfixed_hex(rng), "order": order["public_id"], "offer": sub["offer"],
            "subscription": sub["public_id"], "product": item_product, "components": [],
            "quantity": sub["quantity"], "product_attribute": None, "price": money(unit), "extra_cost": "0.00",
            "total_price": money(total), "one_time": False, "order_updated": order["updated"], "frozen": False,
            "first_placed": None,
        })
        sub_total = Decimal(order["sub_total"]) + total
        order["sub_total"] = money(sub_total)
        order["total"] = money(sub_total - Decimal(order["discount_total"]) + Decimal(order["shipping_total"]))

    def one_time_item(self, rng: random.Random, order: dict) -> None:
        product = rng.choice(self.orderable)
        self.items.append({
            "public_id": self.newfixed_hex(rng), "order": order["public_id"], "offer": fixed_hex("offer-1"),
            "subscription": None, "product": product["external_product_id"], "components": [],
            "quantity": 1, "product_attribute": None, "price": product["price"], "extra_cost": "0.00",
            "total_price": product["price"], "one_time": True, "order_updated": order["updated"],
            "frozen": False, "first_placed": order["place"] if order["status"] != 1 else None,
        })

