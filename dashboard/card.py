"""Turns one Gladly DETAILED result (the JSON dict the endpoint sends) into what the card shows.

Nothing here re-reads Ordergroove data: every value comes from the presenter's output, so the
preview can only show what Gladly would. Plain functions and dataclasses, no Streamlit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from dashboard import md

#: st.badge colour of each contract status
STATUS_COLORS = {"Active": "green", "Canceled": "red", "Inactive": "gray"}


def parse_iso(value: Any) -> datetime | None:
    """``"2026-12-28T06:00:00.000Z"`` → aware UTC datetime; anything unusable → ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def human_date(value: Any) -> str:
    """``"2026-12-28T06:00:00.000Z"`` → ``"28 Dec 2026"`` (UTC); unknown → ``"—"``."""
    parsed = parse_iso(value)
    if parsed is None:
        return "—" if not value else str(value)
    return f"{parsed.day} {parsed:%b %Y}"


def age_text(fetched_at: datetime | None, now: datetime | None = None) -> str:
    """``"fetched 42 s ago"`` / ``"fetched 3 min ago"`` / ``"fetched 2 h ago"``."""
    if fetched_at is None:
        return "fetch time unknown"
    now = now or datetime.now(timezone.utc)
    seconds = max(0, int((now - fetched_at).total_seconds()))
    if seconds < 120:
        return f"fetched {seconds} s ago"
    if seconds < 2 * 3600:
        return f"fetched {seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"fetched {seconds // 3600} h ago"
    return f"fetched {seconds // 86400} days ago"


def pretty_json(body: bytes) -> str:
    """The wire bytes, indented for reading (key order kept)."""
    return json.dumps(json.loads(body), indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class CustomerView:
    """The customer block of the card.

    >>> view = CustomerView.from_result(result)
    >>> view.name, view.subscription_count
    """

    external_customer_id: str
    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    subscription_count: int | None
    active_count: int | None

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> "CustomerView":
        attrs = result.get("customAttributes") or {}
        phones = tuple(
            f"{p.get('original', '')} ({p['type'].lower()})" if p.get("type") else str(p.get("original", ""))
            for p in result.get("phones") or ()
        )
        return cls(
            external_customer_id=str(result.get("externalCustomerId", "")),
            name=str(result.get("name") or "(no name)"),
            emails=tuple(str(e.get("original", "")) for e in result.get("emails") or ()),
            phones=phones,
            subscription_count=_int_or_none(attrs.get("subscriptionCount")),
            active_count=_int_or_none(attrs.get("activeSubscriptionCount")),
        )


@dataclass(frozen=True)
class SubscriptionView:
    """One subscription card: headline product, status badge and the facts below it.

    >>> views = [SubscriptionView.from_transaction(t) for t in result["transactions"]]
    >>> views[0].status, views[0].facts
    """

    subscription_id: str
    status: str
    status_color: str
    product_name: str
    product_id: str
    sku: str
    image_url: str | None
    facts: tuple[tuple[str, str], ...]
    other_products: tuple[str, ...] = field(default=())

    @classmethod
    def from_transaction(cls, tx: Mapping[str, Any]) -> "SubscriptionView":
        products = [p for p in tx.get("products") or () if isinstance(p, Mapping)]
        first = products[0] if products else {}
        status = str(tx.get("status", "Unknown"))
        facts: list[tuple[str, str]] = [
            ("Price", _price(tx)),
            ("Quantity", str(tx.get("quantity", "—"))),
            ("Billing frequency", str(tx.get("billingFrequency") or "—")),
        ]
        if status == "Active":
            facts.append(("Next billing date", human_date(tx.get("nextBillingDate"))))
        facts += [("Created", human_date(tx.get("createdAt"))), ("Updated", human_date(tx.get("updatedAt")))]
        if status == "Canceled":
            facts.append(("Canceled", human_date(tx.get("canceledAt"))))
            if tx.get("cancellationReason"):
                facts.append(("Cancellation reason", str(tx["cancellationReason"])))
        return cls(
            subscription_id=str(tx.get("subscriptionId", "")),
            status=status,
            status_color=STATUS_COLORS.get(status, "gray"),
            product_name=str(first.get("name") or "Unnamed product"),
            product_id=str(first.get("productId", "—")),
            sku=str(first.get("sku") or "—"),
            image_url=first.get("imageUrl") or None,
            facts=tuple(facts),
            other_products=tuple(str(p.get("name") or p.get("productId")) for p in products[1:]),
        )


def subscription_views(result: Mapping[str, Any]) -> list[SubscriptionView]:
    """Every transaction of the result, in the presenter's order (active first)."""
    return [
        SubscriptionView.from_transaction(tx)
        for tx in result.get("transactions") or ()
        if isinstance(tx, Mapping)
    ]


def _price(tx: Mapping[str, Any]) -> str:
    price = tx.get("price")
    if not price:
        return "—"
    currency = tx.get("currencyCode")
    return f"{price} {currency}" if currency and currency != "USD" else str(price)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def split_facts(facts: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """The facts as two markdown columns (``**label:** value`` lines), left half first; the values
    (Ordergroove's words, such as a cancellation reason) escaped."""
    half = (len(facts) + 1) // 2

    def lines(part):
        return "  \n".join(f"**{label}:** {md.text(value)}" for label, value in part)

    return lines(facts[:half]), lines(facts[half:])


def placeholder_html(url: str | None = None) -> str:
    """A calm grey tile where the product image would be (says why when a URL was given)."""
    note = "image not loadable" if url else "no image"
    return (
        '<div style="height:96px;display:flex;align-items:center;justify-content:center;'
        'border-radius:8px;background:#eaf1f1;color:#6b7f86;font-size:0.75rem;text-align:center">'
        f"{note}</div>"
    )
