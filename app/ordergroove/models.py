"""Typed views of Ordergroove records, built defensively from raw JSON.

The cache stores raw JSON (so a model change never needs a cache flush); these dataclasses are
what the rest of the toolkit reads. ``from_api`` never raises on odd field types; a record without
its id raises ``ValueError`` and is skipped by the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, TypeVar
from zoneinfo import ZoneInfo

from .parsing import (
    parse_bool,
    parse_datetime,
    parse_decimal,
    parse_id,
    parse_int,
    parse_json_object,
    parse_text,
)

log = logging.getLogger(__name__)

#: every_period codes → unit name (CONTRACT section 4)
PERIOD_UNITS = {1: "day", 2: "week", 3: "month", 4: "year"}

#: phone_type codes and their older string forms → one canonical word
_PHONE_TYPES = {0: "invalid", 1: "landline", 2: "mobile", 3: "voip"}


def _require_id(raw: Mapping[str, Any], key: str) -> str:
    value = parse_id(raw.get(key)) if isinstance(raw, Mapping) else None
    if value is None:
        raise ValueError(f"record has no usable {key!r}")
    return value


def parse_phone_type(value: Any) -> str:
    """``2`` / ``"2"`` / ``"mobile"`` → ``"mobile"``; unknown → ``""``."""
    number = parse_int(value)
    if number is not None:
        return _PHONE_TYPES.get(number, "")
    text = parse_text(value).lower()
    return text if text in _PHONE_TYPES.values() else ""


@dataclass(frozen=True)
class Customer:
    merchant_user_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone_number: str = ""
    phone_type: str = ""  # "mobile" | "landline" | "voip" | "invalid" | ""
    live: bool = True
    created: datetime | None = None
    last_updated: datetime | None = None
    extra_data: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], tz: ZoneInfo) -> "Customer":
        return cls(
            merchant_user_id=_require_id(raw, "merchant_user_id"),
            first_name=parse_text(raw.get("first_name")),
            last_name=parse_text(raw.get("last_name")),
            email=parse_text(raw.get("email")),
            phone_number=parse_text(raw.get("phone_number")),
            phone_type=parse_phone_type(raw.get("phone_type")),
            live=parse_bool(raw.get("live"), default=True),
            created=parse_datetime(raw.get("created"), tz),
            last_updated=parse_datetime(raw.get("last_updated"), tz),
            extra_data=parse_json_object(raw.get("extra_data")),
        )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Subscription:
    public_id: str
    customer: str | None = None
    product: str | None = None
    live: bool = False
    quantity: int | None = None
    price: Decimal | None = None  # None unless the price is locked
    currency_code: str | None = None
    every: int | None = None
    every_period: int | None = None
    frequency_days: int | None = None
    cancelled: datetime | None = None
    cancel_reason: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    extra_data: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], tz: ZoneInfo) -> "Subscription":
        currency = parse_text(raw.get("currency_code")).upper()
        reason = parse_text(raw.get("cancel_reason"))
        return cls(
            public_id=_require_id(raw, "public_id"),
            customer=parse_id(raw.get("customer")),
            product=parse_id(raw.get("product")),
            live=parse_bool(raw.get("live"), default=False),
            quantity=parse_int(raw.get("quantity")),
            price=parse_decimal(raw.get("price")),
            currency_code=currency or None,
            every=parse_int(raw.get("every")),
            every_period=parse_int(raw.get("every_period")),
            frequency_days=parse_int(raw.get("frequency_days")),
            cancelled=parse_datetime(raw.get("cancelled"), tz),
            cancel_reason=reason or None,
            created=parse_datetime(raw.get("created"), tz),
            updated=parse_datetime(raw.get("updated"), tz),
            extra_data=parse_json_object(raw.get("extra_data")),
        )


@dataclass(frozen=True)
class Order:
    public_id: str
    customer: str | None = None
    status: int | None = None
    place: datetime | None = None
    created: datetime | None = None
    updated: datetime | None = None

    UNSENT = 1

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], tz: ZoneInfo) -> "Order":
        return cls(
            public_id=_require_id(raw, "public_id"),
            customer=parse_id(raw.get("customer")),
            status=parse_int(raw.get("status")),
            place=parse_datetime(raw.get("place"), tz),
            created=parse_datetime(raw.get("created"), tz),
            updated=parse_datetime(raw.get("updated"), tz),
        )


@dataclass(frozen=True)
class Item:
    public_id: str
    order: str | None = None
    subscription: str | None = None
    product: str | None = None
    quantity: int | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], tz: ZoneInfo) -> "Item":
        return cls(
            public_id=_require_id(raw, "public_id"),
            order=parse_id(raw.get("order")),
            subscription=parse_id(raw.get("subscription")),
            product=parse_id(raw.get("product")),
            quantity=parse_int(raw.get("quantity")),
        )


@dataclass(frozen=True)
class Product:
    external_product_id: str
    name: str = ""
    sku: str = ""
    price: Decimal | None = None
    image_url: str = ""
    live: bool = True
    discontinued: bool = False

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], tz: ZoneInfo | None = None) -> "Product":
        return cls(
            external_product_id=_require_id(raw, "external_product_id"),
            name=parse_text(raw.get("name")),
            sku=parse_text(raw.get("sku")),
            price=parse_decimal(raw.get("price")),
            image_url=parse_text(raw.get("image_url")),
            live=parse_bool(raw.get("live"), default=True),
            discontinued=parse_bool(raw.get("discontinued"), default=False),
        )


@dataclass(frozen=True)
class CustomerProfile:
    """Everything one DETAILED lookup needs about one customer, plus where it came from.

    ``next_orders`` maps a live subscription's ``public_id`` to the ``place`` of its upcoming
    (status 1) order and ``next_order_ids`` to that order's ``public_id`` (what a skip action
    binds); ``products`` holds every product that could be fetched (a missing or
    discontinued-and-gone product is simply absent). ``fetched_at`` is the age of the oldest
    piece; ``stale`` is true when any piece was served from an expired cache entry because
    Ordergroove failed; ``partial`` when some piece (an order, its lines, a product) was cut off
    by the deadline or failed with no stale copy, so the card may lack a date or a product name.
    """

    customer: Customer
    subscriptions: tuple[Subscription, ...]
    next_orders: Mapping[str, datetime]
    products: Mapping[str, Product]
    fetched_at: datetime
    stale: bool = False
    next_order_ids: Mapping[str, str] = field(default_factory=dict)
    partial: bool = False


Model = TypeVar("Model", Subscription, Order, Item)


def parse_records(raw: Any, model: type[Model], tz: ZoneInfo) -> list[Model]:
    """Every usable record of a list answer (or a bare object) as ``model``; one without its id
    is skipped and logged by its kind only (never its contents: they may hold an email)."""
    parsed = []
    for record in raw if isinstance(raw, list) else [raw]:
        if not isinstance(record, dict):
            continue
        try:
            parsed.append(model.from_api(record, tz))
        except (ValueError, TypeError, AttributeError):
            log.warning("Ordergroove %s record without a usable public_id skipped", model.__name__.lower())
    return parsed
