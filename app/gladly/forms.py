"""Gladly Action forms: the buttons a card declares, the form JSON, what a submit may carry.

The protocol edge of CONTRACT section 8 (``reference/gladly-actions.md`` sections 2, 4-6) and
nothing else: every function here is pure, a function of ids, dates and the configured reasons,
so the API, the CLI and the dashboard's read-only preview build byte-for-byte the same forms.
Ids travel in path segments (percent-encoded), never in a query string. ``actionUrl`` is always
the ``/gladly/actions/…`` path, whichever of the two mounts the form GET arrived on.

>>> cancel_form("0767811a8025176986607ad9e36fd616", DEFAULT_CANCEL_REASONS)["actionUrl"]
'/gladly/actions/subscriptions/0767811a8025176986607ad9e36fd616/cancel'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping
from urllib.parse import quote

from ..settings import ACTION_NAMES, DEFAULT_CANCEL_REASONS, MAX_CANCEL_DETAILS

__all__ = [
    "ACTIONS_PREFIX", "CANCEL", "SKIP", "ActionInputError", "CancelChoice", "DEFAULT_CANCEL_REASONS",
    "action_path", "card_actions", "cancel_form", "done_answer", "input_errors_answer",
    "long_date", "parse_cancel_submit", "parse_skip_submit", "refused_answer", "skip_form",
]

ACTIONS_PREFIX = "/gladly/actions"
CANCEL, SKIP = ACTION_NAMES
BUTTON_LABELS = {CANCEL: "Cancel subscription", SKIP: "Skip next order"}
CANCEL_CODE_ATTR, CANCEL_DETAILS_ATTR, CONFIRM_ATTR = "cancelReasonCode", "cancelReasonDetails", "confirm"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def action_path(action: str, subscription_id: str, order_id: str | None = None) -> str:
    """``/gladly/actions/subscriptions/{sid}/cancel`` or ``…/{sid}/orders/{oid}/skip``."""
    base = f"{ACTIONS_PREFIX}/subscriptions/{_segment(subscription_id)}"
    if action == CANCEL:
        return f"{base}/cancel"
    if action == SKIP:
        if not order_id:
            raise ValueError("the skip action needs the upcoming order's id")
        return f"{base}/orders/{_segment(order_id)}/skip"
    raise ValueError(f"unknown action {action!r}")


def card_actions(subscription_id: str, enabled: Iterable[str], upcoming_order_id: str | None) -> list[dict]:
    """The ``actions`` of one Active subscription's transaction, in contract order.

    Skip is declared only when the upcoming order is known: its id is bound here, when the card
    is built, and never looked up again at submit time.
    """
    wanted = set(enabled)
    actions = []
    for action in ACTION_NAMES:
        if action not in wanted or (action == SKIP and not upcoming_order_id):
            continue
        actions.append({"name": BUTTON_LABELS[action],
                        "formUrl": action_path(action, subscription_id, upcoming_order_id)})
    return actions


def long_date(day: date) -> str:
    """``date(2025, 3, 28)`` → ``"Mar 28, 2025"`` (no locale involved)."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def _titled(text: str, product_name: str | None) -> str:
    return f"{text}: {product_name}" if product_name else text


# --- the forms (answer to the GET) ----------------------------------------------------------
def cancel_form(subscription_id: str, reasons: Iterable[tuple[str, str]] = DEFAULT_CANCEL_REASONS,
                product_name: str | None = None) -> dict[str, Any]:
    """The cancel form: an optional reason select and optional details text."""
    return {
        "title": _titled("Cancel subscription", product_name),
        "submitButton": "Cancel subscription",
        "closeButton": "Keep it",
        "actionUrl": action_path(CANCEL, subscription_id),
        "sections": [
            {"type": "input", "label": "Cancel reason", "attr": CANCEL_CODE_ATTR, "hint": "Optional",
             "input": {"type": "select", "placeholder": "Choose a reason", "optional": True,
                       "options": [{"text": label, "value": code} for code, label in reasons]}},
            {"type": "input", "label": "Details", "attr": CANCEL_DETAILS_ATTR,
             "hint": f"Optional; up to {MAX_CANCEL_DETAILS} characters, no |",
             "input": {"type": "text", "optional": True}},
        ],
    }


def skip_form(subscription_id: str, order_id: str, order_date: date | None,
              product_name: str | None = None) -> dict[str, Any]:
    """The skip form: one required checkbox that names the order's date."""
    due = f"Skip the order due on {long_date(order_date)}" if order_date else "Skip the upcoming order"
    return {
        "title": _titled("Skip next order", product_name),
        "submitButton": "Skip order",
        "closeButton": "Keep order",
        "actionUrl": action_path(SKIP, subscription_id, order_id),
        "sections": [
            {"type": "input", "label": "Confirm", "attr": CONFIRM_ATTR, "defaultValue": False,
             "hint": "Ordergroove then schedules the following order",
             "input": {"type": "checkbox", "text": due, "optional": False}},
        ],
    }


# --- the submit (POST to actionUrl) -----------------------------------------------------------
class ActionInputError(ValueError):
    """The submit cannot be used; ``errors`` are Gladly's ``{"attr"|"message", "detail"}`` entries."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(e["detail"] for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class CancelChoice:
    """What the agent chose: a reason code (or none) and the details they typed (or none)."""

    code: str | None = None
    label: str | None = None
    details: str | None = None

    @property
    def cancel_reason(self) -> str | None:
        """Ordergroove's ``code|details``: details default to the reason's label; no code, none."""
        if self.code is None:
            return None
        return f"{self.code}|{self.details or self.label}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ActionInputError([{"message": "Not a form submit",
                                 "detail": "The submit must be a JSON object keyed by the form's fields"}])
    return body


def parse_cancel_submit(body: Any, reasons: Iterable[tuple[str, str]] = DEFAULT_CANCEL_REASONS) -> CancelChoice:
    """Missing, ``null`` and ``""`` are the same. Details without a code are dropped (section 8)."""
    fields = _object(body)
    labels = dict(reasons)
    errors: list[dict[str, str]] = []
    raw_code, raw_details = fields.get(CANCEL_CODE_ATTR), fields.get(CANCEL_DETAILS_ATTR)
    code = label = None
    if not _blank(raw_code):
        text = str(raw_code).strip() if isinstance(raw_code, (str, int)) and not isinstance(raw_code, bool) else ""
        if text.isascii() and text.isdigit() and str(int(text)) in labels:
            code = str(int(text))
            label = labels[code]
        else:
            shown = text[:20] if text else type(raw_code).__name__
            errors.append({"attr": CANCEL_CODE_ATTR, "detail": f"Unknown reason code {shown}"})
    details = None
    if not _blank(raw_details):
        if not isinstance(raw_details, str):
            errors.append({"attr": CANCEL_DETAILS_ATTR, "detail": "Details must be text"})
        elif "|" in raw_details:
            errors.append({"attr": CANCEL_DETAILS_ATTR, "detail": "Remove the | character"})
        elif len(raw_details.strip()) > MAX_CANCEL_DETAILS:
            errors.append({"attr": CANCEL_DETAILS_ATTR,
                           "detail": f"Keep the details to {MAX_CANCEL_DETAILS} characters"})
        else:
            details = raw_details.strip()
    if errors:
        raise ActionInputError(errors)
    return CancelChoice(code, label, details if code is not None else None)


def parse_skip_submit(body: Any) -> None:
    """The confirmation must be ticked: JSON ``true`` (or the text ``"true"``)."""
    confirm = _object(body).get(CONFIRM_ATTR)
    if confirm is True or (isinstance(confirm, str) and confirm.strip().lower() == "true"):
        return
    raise ActionInputError([{"attr": CONFIRM_ATTR, "detail": "Tick the box to skip this order"}])


# --- the answers ------------------------------------------------------------------------------
def done_answer(message: str, detail: str) -> dict[str, str]:
    """200: Gladly closes the form; the timeline shows ``message`` in bold, ``detail`` under it."""
    return {"message": message, "detail": detail}


def input_errors_answer(errors: list[dict[str, str]]) -> dict[str, Any]:
    """400: the form stays open; an error with ``attr`` is shown on that field."""
    return {"errors": list(errors)}


def refused_answer(message: str, detail: str) -> dict[str, Any]:
    """406: Gladly shows the error and dismisses the form."""
    return {"errors": [{"message": message, "detail": detail}]}
