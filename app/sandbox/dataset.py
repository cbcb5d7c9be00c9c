"""The sandbox's records and the indexes its routes read them through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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

