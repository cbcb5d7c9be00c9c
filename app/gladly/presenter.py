"""Ordergroove models → Gladly result JSON: CONTRACT section 4's mapping tables, row by row.

Each table of the contract is one function below, its rows in the contract's order (which is
also the key order of the output). "Omitted" in the contract means the key is left out. Where
the contract is silent: a missing ``quantity`` is shown as ``1`` (Ordergroove's default); a
``cancel_reason`` without ``|`` is shown as is, unless it is a bare code (``"4"`` → ``"Reason
code 4"``); prices use no thousands separator; a subscription without a product id gets
``"products": []``. ``actions`` are declared only for the actions the caller enables
(``OGTK_ACTIONS``). The output is plain JSON-serialisable dicts, nothing else.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Iterable

from ..ordergroove.models import PERIOD_UNITS, Customer, CustomerProfile, Product, Subscription
from .forms import card_actions

__all__ = [
    "CURRENCY_SYMBOLS",
    "billing_frequency",
    "cancellation_reason",
    "format_price",
    "iso_utc",
    "present_basic",
    "present_detailed",
    "present_transaction",
    "subscription_status",
]

ACTIVE, CANCELED, INACTIVE = "Active", "Canceled", "Inactive"
PHONE_TYPES = {"mobile": "MOBILE", "landline": "HOME"}  # anything else: OTHER
CURRENCY_SYMBOLS = {
    "USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "SGD": "$", "HKD": "$", "MXN": "$",
    "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩", "BRL": "R$",
}
DEFAULT_CURRENCY = "USD"
DEFAULT_QUANTITY = 1
_CENT = Decimal("0.01")


# --- formatting helpers -------------------------------------------------------------------
def iso_utc(dt: datetime) -> str:
    """ISO 8601 UTC with milliseconds: ``2018-10-10T14:45:38.000Z`` (naive = already UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    return f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def format_price(amount: Decimal | int | str, currency: str | None) -> str:
    """``Decimal("12.985"), "USD"`` → ``"$12.99"`` (half up); unknown codes: ``"CHF 12.99"``.

    Raises ``ValueError`` for something that is not a finite amount.
    """
    try:
        value = Decimal(str(amount).strip())
        if not value.is_finite():
            raise ValueError
        value = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a price: {amount!r}") from None
    if value.is_zero():
        value = value.copy_abs()  # never "$-0.00"
    code = (currency or DEFAULT_CURRENCY).strip().upper() or DEFAULT_CURRENCY
    sign, digits = ("-", f"{-value:f}") if value < 0 else ("", f"{value:f}")
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{code} {digits}"


def subscription_status(sub: Subscription) -> str:
    if sub.live:
        return ACTIVE
    return CANCELED if sub.cancelled is not None else INACTIVE


def billing_frequency(sub: Subscription) -> str | None:
    """``every`` + ``every_period`` (``"Every 6 weeks"``), else ``frequency_days``; else ``None``."""
    unit = PERIOD_UNITS.get(sub.every_period) if sub.every_period is not None else None
    if unit and sub.every and sub.every > 0:
        return f"Every {unit}" if sub.every == 1 else f"Every {sub.every} {unit}s"
    if sub.frequency_days and sub.frequency_days > 0:
        return "Every day" if sub.frequency_days == 1 else f"Every {sub.frequency_days} days"
    return None


def cancellation_reason(raw: str | None) -> str | None:
    """``"4|Overstocked"`` → ``"Overstocked"``; ``"4|"`` or ``"4"`` → ``"Reason code 4"``."""
    text = (raw or "").strip()
    if not text:
        return None
    if "|" in text:
        code, _, reason = text.partition("|")
        reason, code = reason.strip(), code.strip()
    else:
        code, reason = (text, "") if text.isdigit() else ("", text)
    if reason:
        return reason
    return f"Reason code {code}" if code else None


# --- profile fields (both levels) ----------------------------------------------------------
def present_basic(customer: Customer) -> dict[str, Any]:
    result: dict[str, Any] = {"externalCustomerId": customer.merchant_user_id}
    if customer.full_name:
        result["name"] = customer.full_name
    if customer.email:
        result["emails"] = [{"original": customer.email}]
    if customer.phone_number:
        phone_type = PHONE_TYPES.get(customer.phone_type, "OTHER")
        result["phones"] = [{"original": customer.phone_number, "type": phone_type}]
    return result


# --- DETAILED ------------------------------------------------------------------------------
def present_detailed(profile: CustomerProfile, actions: Iterable[str] = ()) -> dict[str, Any]:
    result = present_basic(profile.customer)
    subscriptions = profile.subscriptions
    result["customAttributes"] = {
        "ordergrooveCustomerId": profile.customer.merchant_user_id,
        "subscriptionCount": str(len(subscriptions)),
        "activeSubscriptionCount": str(sum(1 for sub in subscriptions if sub.live)),
    }
    result["transactions"] = [present_transaction(sub, profile, actions) for sub in _ordered(profile)]
    return result


def present_transaction(sub: Subscription, profile: CustomerProfile,
                        actions: Iterable[str] = ()) -> dict[str, Any]:
    status = subscription_status(sub)
    product = profile.products.get(sub.product) if sub.product else None
    tx: dict[str, Any] = {"type": "SUBSCRIPTION", "subscriptionId": sub.public_id, "status": status}
    if sub.created is not None:
        tx["createdAt"] = iso_utc(sub.created)
    if sub.updated is not None:
        tx["updatedAt"] = iso_utc(sub.updated)
    if (frequency := billing_frequency(sub)) is not None:
        tx["billingFrequency"] = frequency
    if status == ACTIVE and (next_billing := profile.next_orders.get(sub.public_id)) is not None:
        tx["nextBillingDate"] = iso_utc(next_billing)
    if status == CANCELED:
        tx["canceledAt"] = iso_utc(sub.cancelled)
        if (reason := cancellation_reason(sub.cancel_reason)) is not None:
            tx["cancellationReason"] = reason
    currency = sub.currency_code or DEFAULT_CURRENCY
    if (price := _price(sub, product, currency)) is not None:
        tx["price"] = price
    tx["currencyCode"] = currency
    tx["quantity"] = sub.quantity if sub.quantity is not None else DEFAULT_QUANTITY
    tx["products"] = [_product(sub.product, product)] if sub.product else []
    upcoming_order = profile.next_order_ids.get(sub.public_id)
    if status == ACTIVE and (declared := card_actions(sub.public_id, actions, upcoming_order)):
        tx["actions"] = declared  # the skip button binds the upcoming order seen now (section 8)
    return tx


def _price(sub: Subscription, product: Product | None, currency: str) -> str | None:
    amount = sub.price if sub.price is not None else (product.price if product is not None else None)
    if amount is None:
        return None
    try:
        return format_price(amount, currency)
    except ValueError:
        return None


def _product(product_id: str, product: Product | None) -> dict[str, str]:
    entry = {"productId": product_id}
    if product is not None:
        if product.name:
            entry["name"] = product.name
        if product.image_url:
            entry["imageUrl"] = product.image_url
        if product.sku:
            entry["sku"] = product.sku
    return entry


def _ordered(profile: CustomerProfile) -> list[Subscription]:
    """Active first by next billing date (earliest first, unknown last); then everything else
    newest first by ``canceledAt`` (canceled) or ``updatedAt`` (inactive), unknown last.
    Ties are broken by subscription id so the order never depends on Ordergroove's."""

    def active_key(sub: Subscription) -> tuple:
        when = profile.next_orders.get(sub.public_id)
        return (when is None, when.timestamp() if when else 0.0, sub.public_id)

    def other_key(sub: Subscription) -> tuple:
        when = sub.cancelled if subscription_status(sub) == CANCELED else sub.updated
        return (when is None, -when.timestamp() if when else 0.0, sub.public_id)

    active = sorted((s for s in profile.subscriptions if s.live), key=active_key)
    others = sorted((s for s in profile.subscriptions if not s.live), key=other_key)
    return active + others
