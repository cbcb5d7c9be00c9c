"""The Gladly Actions a card declares, and the form Gladly would open for one, for the preview.

The buttons come from the DETAILED JSON's ``transactions[].actions`` (what Gladly will show); the
form is the API's own (:meth:`app.actions.ActionService.form`, the answer to Gladly's signed GET),
so the preview can only show what an agent would see. Nothing here submits anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import unquote

_FORM_URL = re.compile(r"^/gladly/actions/subscriptions/(?P<sid>[^/]+)/(?:(?P<cancel>cancel)|orders/(?P<oid>[^/]+)/skip)$")


@dataclass(frozen=True)
class CardAction:
    """One button of a subscription: its label and what its ``formUrl`` names."""

    name: str
    form_url: str
    action: str | None  # "cancel" | "skip" | None when the URL is not one of ours
    subscription_id: str | None
    order_id: str | None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "CardAction":
        url = str(raw.get("formUrl") or "")
        match = _FORM_URL.match(url)
        if not match:
            return cls(str(raw.get("name") or "Action"), url, None, None, None)
        return cls(str(raw.get("name") or "Action"), url, "cancel" if match["cancel"] else "skip",
                   unquote(match["sid"]), unquote(match["oid"]) if match["oid"] else None)


def card_actions(tx: Mapping[str, Any]) -> list[CardAction]:
    """The transaction's declared actions, in the card's order."""
    return [CardAction.from_json(a) for a in tx.get("actions") or () if isinstance(a, Mapping)]


def load_form(services: Any, action: CardAction) -> tuple[dict | None, str | None]:
    """``(form, None)`` as Gladly's GET would get it, or ``(None, why not)``."""
    from app.actions import ActionDisabled, FormRefused
    from app.ordergroove.errors import OrdergrooveError

    if action.action is None:
        return None, f"{action.form_url} is not an action of this integration."
    try:
        return services.actions.form(action.action, action.subscription_id, action.order_id), None
    except ActionDisabled:
        return None, f"The {action.action} action is not enabled here (`OGTK_ACTIONS`): Gladly would get a 404."
    except FormRefused as exc:
        return None, f"Gladly would get a 406: {exc.message} — {exc.detail}"
    except OrdergrooveError as exc:
        return None, f"Ordergroove did not answer the form's check ({type(exc).__name__})."


def sections(form: Mapping[str, Any]) -> list[dict]:
    """The form's sections as ``{"kind", "label", "hint", "optional", "options", "text"}`` dicts,
    for rendering (unknown kinds are kept, to be shown as such)."""
    out = []
    for section in form.get("sections") or ():
        if not isinstance(section, Mapping):
            continue
        widget = section.get("input") if isinstance(section.get("input"), Mapping) else {}
        out.append({
            "kind": str(widget.get("type") or section.get("type") or "?"),
            "attr": str(section.get("attr") or ""),
            "label": str(section.get("label") or ""),
            "hint": str(section.get("hint") or ""),
            "optional": bool(widget.get("optional", False)),
            "options": [str(o.get("text", o.get("value", ""))) for o in widget.get("options") or ()
                        if isinstance(o, Mapping)],
            "text": str(widget.get("text") or ""),
            "placeholder": str(widget.get("placeholder") or ""),
        })
    return out
