"""Ordergroove's two write calls and the reads that tell whether one happened.

``PATCH /subscriptions/{sid}/cancel/`` and ``PATCH /orders/{oid}/skip_subscription/``
(``reference/ordergroove-writes-webhooks.md`` sections 2 and 4), each sent exactly once per call
through ``OrdergrooveClient.request``, which never retries. The answer comes back as a
:class:`WriteAnswer` whatever the status, so the caller (:mod:`app.actions`) decides what to do
with a timeout, a 5xx, a 429 or a refusal; nothing here repeats a write. The read-backs use the
ordinary retried GETs: reading twice is harmless.

>>> writes = OrdergrooveWrites(client)
>>> writes.cancel_subscription("0767…fd616", "2|Overstocked", deadline=Deadline(6)).ok  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..deadline import Deadline
from .client import OrdergrooveClient, path_id
from .errors import NotFound, Unavailable

__all__ = ["NOT_APPLIED_STATUSES", "OrdergrooveWrites", "WriteAnswer", "error_text"]

#: Ordergroove documents these as "nothing was applied": the one case a write may simply be sent again
NOT_APPLIED_STATUSES = frozenset({423, 429})
MAX_ERROR_TEXT = 300


def _first_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (list, tuple)):
        for item in value:
            if (text := _first_text(item)) is not None:
                return text
    if isinstance(value, dict):
        for item in value.values():
            if (text := _first_text(item)) is not None:
                return text
    return None


def error_text(status: int | None, body: Any) -> str:
    """Ordergroove's refusal as one readable line, whichever of its three shapes it came in.

    ``{"detail": …}``, then ``{"error": …}``, then the first field as ``"<field>: <text>"``
    (``{"subscription": ["not valid for this order"]}``); a body that is none of these (a 423,
    429 or 5xx may not even be JSON) falls back to the status line.
    """
    text = None
    if isinstance(body, dict):
        for key in ("detail", "error"):
            if (text := _first_text(body.get(key))) is not None:
                break
        else:
            for field_name, value in body.items():
                if (found := _first_text(value)) is not None:
                    text = f"{field_name}: {found}"
                    break
    elif isinstance(body, list):
        text = _first_text(body)
    if text is None:
        text = f"Ordergroove answered HTTP {status}" if status is not None else "Ordergroove did not answer"
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


@dataclass(frozen=True)
class WriteAnswer:
    """What one PATCH got: Ordergroove's status and body, or no answer at all (``status`` None)."""

    status: int | None
    body: Any = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def uncertain(self) -> bool:
        """No answer, or a 5xx: the write may or may not have been applied."""
        return self.status is None or self.status >= 500

    @property
    def not_applied(self) -> bool:
        return self.status in NOT_APPLIED_STATUSES

    @property
    def text(self) -> str:
        return error_text(self.status, self.body)


class OrdergrooveWrites:
    """The write calls of section 8 and their read-backs, over one shared client."""

    def __init__(self, client: OrdergrooveClient):
        self.client = client

    # -- writes: one attempt each ------------------------------------------------------------
    def cancel_subscription(self, subscription_id: str, cancel_reason: str | None, *, deadline: Deadline,
                            stats=None) -> WriteAnswer:
        """``{"cancel_reason": "code|details"}`` when a reason was chosen, ``{}`` otherwise."""
        body = {"cancel_reason": cancel_reason} if cancel_reason else {}
        return self._patch(f"/subscriptions/{path_id(subscription_id)}/cancel/", body,
                           deadline=deadline, endpoint="subscriptions.cancel", stats=stats)

    def skip_subscription(self, order_id: str, subscription_id: str, *, deadline: Deadline,
                          stats=None) -> WriteAnswer:
        """Takes that subscription's items out of that order; the others on it stay."""
        return self._patch(f"/orders/{path_id(order_id)}/skip_subscription/", {"subscription": subscription_id},
                           deadline=deadline, endpoint="orders.skip_subscription", stats=stats)

    def _patch(self, path: str, body: dict, *, deadline: Deadline, endpoint: str, stats) -> WriteAnswer:
        try:
            status, answer = self.client.request("PATCH", path, json=body, deadline=deadline,
                                                 endpoint=endpoint, stats=stats)
        except Unavailable as exc:
            return WriteAnswer(None, None, timed_out=bool(getattr(exc, "timed_out", False)))
        return WriteAnswer(status, answer)

    # -- reads: retried like every GET ---------------------------------------------------------
    def read_subscription(self, subscription_id: str, *, deadline: Deadline, stats=None) -> dict | None:
        """The subscription as Ordergroove has it now; ``None`` when it does not exist."""
        return self._read_one(f"/subscriptions/{path_id(subscription_id)}/", "subscriptions.retrieve",
                              deadline, stats)

    def read_order(self, order_id: str, *, deadline: Deadline, stats=None) -> dict | None:
        """The order as Ordergroove has it now; ``None`` when it does not exist."""
        return self._read_one(f"/orders/{path_id(order_id)}/", "orders.retrieve", deadline, stats)

    def _read_one(self, path: str, endpoint: str, deadline: Deadline, stats) -> dict | None:
        try:
            record = self.client.get(path, deadline=deadline, endpoint=endpoint, stats=stats)
        except NotFound:
            return None
        return record if isinstance(record, dict) else None

    def order_holds_subscription(self, order_id: str, subscription_id: str, *, deadline: Deadline,
                                 stats=None) -> bool:
        """Whether the order still carries a line of that subscription (a skip removes them)."""
        lines = self.client.list_all("/items/", {"order": order_id, "subscription": subscription_id},
                                     deadline=deadline, endpoint="items.list", stats=stats)
        return any(str(line.get("subscription", "")).strip() == str(subscription_id) for line in lines)
