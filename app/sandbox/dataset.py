"""The sandbox's records and the indexes its routes read them through."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .records import fixed_hex, money, ts


@dataclass
class Dataset:
    """All records plus the indexes the server reads them through.

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
    lock: threading.RLock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()  # held by every change (.mutations), never by reads
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

    # -- changes (called by .mutations under ``lock``; indexes are replaced, never edited in place) --

    def copy(self) -> "Dataset":
        """A private deep copy, free to change (:func:`~.generator.generate` is cached and shared)."""
        lists = json.loads(json.dumps([self.customers, self.subscriptions, self.orders, self.items, self.products]))
        return Dataset(*lists)

    def detach(self, order: dict, sid: str) -> None:
        """Take subscription ``sid``'s items off ``order`` (its totals follow)."""
        oid = order["public_id"]
        gone = [i for i in self.items_by_order.get(oid, []) if i.get("subscription") == sid]
        if not gone:
            return
        keep = {id(i) for i in gone}
        self.items = [i for i in self.items if id(i) not in keep]
        self.item_by_id = {k: v for k, v in self.item_by_id.items() if id(v) not in keep}
        self.items_by_order[oid] = [i for i in self.items_by_order[oid] if id(i) not in keep]
        self.items_by_subscription[sid] = [i for i in self.items_by_subscription.get(sid, []) if id(i) not in keep]
        self.orders_by_subscription[sid] = [o for o in self.orders_by_subscription.get(sid, []) if o is not order]
        self._retotal(order)

    def new_order(self, template: dict, place: datetime, lines: list[dict], *, label: str, stamp: str) -> dict:
        """A new upcoming order like ``template`` holding copies of ``lines`` (new ids derived from ``label``)."""
        order = {**template, "public_id": fixed_hex(label), "place": ts(place), "created": stamp,
                 "updated": stamp, "cancelled": None, "status": 1, "tries": 0}
        items = [{**line, "public_id": fixed_hex(f"{label}-{n}"), "order": order["public_id"],
                  "order_updated": stamp, "first_placed": None} for n, line in enumerate(lines)]
        self.orders = self.orders + [order]
        self.order_by_id = {**self.order_by_id, order["public_id"]: order}
        customer = str(order["customer"])
        self.orders_by_customer[customer] = self.orders_by_customer.get(customer, []) + [order]
        self.items = self.items + items
        self.item_by_id = {**self.item_by_id, **{i["public_id"]: i for i in items}}
        self.items_by_order[order["public_id"]] = items
        for item in items:
            sid = str(item["subscription"])
            self.items_by_subscription[sid] = self.items_by_subscription.get(sid, []) + [item]
            self.orders_by_subscription[sid] = self.orders_by_subscription.get(sid, []) + [order]
        self._retotal(order)
        return order

    def set_quantity(self, order: dict, sid: str, quantity: int) -> None:
        for item in self.items_by_order.get(order["public_id"], []):
            if item.get("subscription") == sid:
                item.update(quantity=quantity, total_price=money(Decimal(item["price"]) * quantity))
        self._retotal(order)

    @staticmethod
    def _retotal_from(items: list[dict]) -> Decimal:
        return sum((Decimal(i.get("total_price") or "0") for i in items), Decimal("0"))

    def _retotal(self, order: dict) -> None:
        sub_total = self._retotal_from(self.items_by_order.get(order["public_id"], []))
        order["sub_total"] = money(sub_total)
        order["total"] = money(sub_total - Decimal(order.get("discount_total") or "0")
                               + Decimal(order.get("shipping_total") or "0"))

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

