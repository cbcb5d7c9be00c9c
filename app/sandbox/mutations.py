"""Changes to the sandbox's data, as Ordergroove would make them: the two API writes and admin edits.

Each function checks what Ordergroove checks, raises :class:`Refused` with Ordergroove's status
and error body when it would refuse, and otherwise changes the records and every index under the
data set's lock, so the next read shows the change. Readers never lock: indexes are replaced,
never edited in place (copy on write), and records change only in existing keys.

Each returns the :class:`Change`\\ s it made (webhook event type and the object it concerns), for
the webhook sender (:mod:`.webhooks`).

The three error body shapes (``ordergroove-writes-webhooks.md`` §6): ``{"detail": …}`` for a
record in the wrong state, ``{"<field>": ["…"]}`` for a bad field, ``{"error": …}`` for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .dataset import Dataset
from .protocol import NOT_FOUND, is_true
from .records import PERIOD_DAYS, ts

NOT_EDITABLE = "Subscription cannot be edited in its current state."
ORDER_NOT_EDITABLE = "Order cannot be edited in its current state."
NOT_ON_ORDER = "Subscription is not valid for this order."
ADMIN_EDITS = ("cancel", "change_frequency", "change_next_order_date", "change_quantity")


class Refused(Exception):
    """Ordergroove would refuse: ``status`` and ``body`` are its answer."""

    def __init__(self, status: int, body: dict):
        super().__init__(f"{status} {body}")
        self.status, self.body = status, body


@dataclass(frozen=True)
class Change:
    """One change, named as Ordergroove's webhooks name it (``subscription.cancel``, …)."""

    type: str
    object: dict
    customer: str


def now_text() -> str:
    return ts(datetime.now(timezone.utc).replace(tzinfo=None))


def _field_error(name: str, message: str) -> Refused:
    return Refused(400, {name: [message]})


def _subscription(ds: Dataset, sid: Any) -> dict:
    sub = ds.subscription_by_id.get(str(sid)) if isinstance(sid, (str, int)) else None
    if sub is None:
        raise Refused(404, dict(NOT_FOUND))
    return sub


def _live_subscription(ds: Dataset, sid: Any) -> dict:
    sub = _subscription(ds, sid)
    if not is_true(sub.get("live")):
        raise Refused(400, {"detail": NOT_EDITABLE})
    return sub


def _upcoming_orders(ds: Dataset, sid: str) -> list[dict]:
    return [o for o in ds.orders_by_subscription.get(sid, []) if o.get("status") == 1]


def _interval(sub: dict) -> timedelta:
    every, period = sub.get("every"), sub.get("every_period")
    if every and period in PERIOD_DAYS:
        return timedelta(days=int(every) * PERIOD_DAYS[period])
    return timedelta(days=int(sub.get("frequency_days") or 30))


# --- the two API writes ----------------------------------------------------------------------

def cancel_subscription(ds: Dataset, sid: str, body: Any) -> tuple[dict, list[Change]]:
    """``PATCH /subscriptions/{sid}/cancel/``: the subscription and its shipments still to come.

    ``body`` may be ``{}`` or ``{"cancel_reason": "<code>|<text>"}``. Answers the updated subscription.
    """
    if not isinstance(body, dict):
        raise Refused(400, {"error": "Malformed request body: expected a JSON object."})
    reason = body.get("cancel_reason")
    code = None
    if reason is not None:
        if not isinstance(reason, str) or not reason.partition("|")[0].strip().isdigit():
            raise _field_error("cancel_reason", 'Enter a cancel reason as "<code>|<text>".')
        code = reason.partition("|")[0].strip()
    with ds.lock:
        sub = _live_subscription(ds, sid)
        if sub.get("prepaid_subscription_context"):
            raise Refused(400, {"error": "Prepaid subscriptions cannot be cancelled through this endpoint."})
        return _cancel(ds, sub, reason, code)


def _cancel(ds: Dataset, sub: dict, reason: str | None, code: str | None) -> tuple[dict, list[Change]]:
    stamp = now_text()
    sub.update(live=False, cancelled=stamp, updated=stamp, cancel_reason=reason, cancel_reason_code=code)
    changes = [Change("subscription.cancel", sub, str(sub["customer"]))]
    for order in _upcoming_orders(ds, sub["public_id"]):
        ds.detach(order, sub["public_id"])
        if not ds.items_by_order.get(order["public_id"]):
            order.update(status=4, cancelled=stamp, updated=stamp)
            changes.append(Change("order.cancel", order, str(order["customer"])))
    if not any(is_true(s.get("live")) for s in ds.subscriptions_of(sub["customer"])):
        customer = ds.customer(sub["customer"]) or {"merchant_user_id": str(sub["customer"])}
        changes.append(Change("subscriber.cancel", customer, str(sub["customer"])))
    return sub, changes


def skip_subscription(ds: Dataset, oid: str, body: Any) -> tuple[dict, list[Change]]:
    """``PATCH /orders/{oid}/skip_subscription/``: take that subscription's items out of the order
    and put them on a new upcoming order one interval later. Answers the (changed) order."""
    with ds.lock:
        order = ds.order_by_id.get(oid)
        if order is None:
            raise Refused(404, dict(NOT_FOUND))
        if not isinstance(body, dict):
            raise Refused(400, {"error": "Malformed request body: expected a JSON object."})
        sid = body.get("subscription")
        if sid in (None, ""):
            raise _field_error("subscription", "This field is required.")
        if not isinstance(sid, str):
            raise _field_error("subscription", NOT_ON_ORDER)
        if order.get("status") != 1:
            raise Refused(400, {"detail": ORDER_NOT_EDITABLE})
        sub = ds.subscription_by_id.get(sid)
        if sub is not None and not is_true(sub.get("live")):
            raise Refused(400, {"detail": NOT_EDITABLE})
        lines = [i for i in ds.items_by_order.get(oid, []) if i.get("subscription") == sid]
        if sub is None or not lines:
            raise _field_error("subscription", NOT_ON_ORDER)
        stamp = now_text()
        place = datetime.strptime(order["place"], "%Y-%m-%d %H:%M:%S") + _interval(sub)
        ds.detach(order, sid)
        following = ds.new_order(order, place, lines, label=f"skip-{oid}-{sid}", stamp=stamp)
        order["updated"] = stamp
        if not ds.items_by_order.get(oid):
            order.update(status=4, cancelled=stamp)
        customer = str(order["customer"])
        return order, [Change("order.skip_order", order, customer),
                       Change("order.create", following, customer)]


# --- admin edits (POST /_sandbox/mutate) ------------------------------------------------------

def admin_edit(ds: Dataset, edit: Any) -> tuple[dict, list[Change]]:
    """An edit made in Ordergroove's admin: ``{"action": …, "subscription": sid, …}``.

    ``cancel`` (optional ``cancel_reason``), ``change_frequency`` (``every``, ``every_period``),
    ``change_next_order_date`` (``date``: ``YYYY-MM-DD``), ``change_quantity`` (``quantity``).
    Answers the changed subscription.
    """
    if not isinstance(edit, dict) or edit.get("action") not in ADMIN_EDITS:
        raise _field_error("action", f"Choose one of {', '.join(ADMIN_EDITS)}.")
    action = edit["action"]
    if action == "cancel":
        return cancel_subscription(ds, edit.get("subscription"), {k: v for k, v in edit.items()
                                                                   if k == "cancel_reason"})
    with ds.lock:
        sub = _live_subscription(ds, edit.get("subscription"))
        stamp = now_text()
        if action == "change_frequency":
            every, period = edit.get("every"), edit.get("every_period")
            if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 365:
                raise _field_error("every", "Enter a whole number between 1 and 365.")
            if period not in PERIOD_DAYS:
                raise _field_error("every_period", "Choose 1 (days), 2 (weeks), 3 (months) or 4 (years).")
            sub.update(every=every, every_period=period, frequency_days=every * PERIOD_DAYS[period], updated=stamp)
            return sub, [Change("subscription.change_frequency", sub, str(sub["customer"]))]
        if action == "change_quantity":
            quantity = edit.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 99:
                raise _field_error("quantity", "Enter a whole number between 1 and 99.")
            sub.update(quantity=quantity, updated=stamp)
            for order in _upcoming_orders(ds, sub["public_id"]):
                ds.set_quantity(order, sub["public_id"], quantity)
            return sub, [Change("subscription.change_quantity", sub, str(sub["customer"]))]
        try:
            day = datetime.strptime(str(edit.get("date")), "%Y-%m-%d")
        except ValueError:
            raise _field_error("date", "Enter a date as YYYY-MM-DD.") from None
        orders = _upcoming_orders(ds, sub["public_id"])
        if not orders:
            raise Refused(400, {"detail": ORDER_NOT_EDITABLE})
        order = min(orders, key=lambda o: o["place"])
        old = datetime.strptime(order["place"], "%Y-%m-%d %H:%M:%S")
        order.update(place=ts(day.replace(hour=old.hour, minute=old.minute, second=old.second)), updated=stamp)
        return sub, [Change("order.change_next_order_date", order, str(order["customer"]))]

