"""The dashboard's Ordergroove actions: find a customer, preview their Gladly card, re-check an id.

The card is built by the same :class:`~app.lookup.LookupService` and presenter as
``POST /gladly/lookup`` (a DETAILED lookup keyed on the external id), so what the page shows and
offers for download is exactly what Gladly would receive. Ordergroove failures are turned into
sentences an operator can act on; no traceback reaches the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.deadline import Deadline
from app.gladly.schema import LookupRequest
from app.lookup import LookupResult
from app.ordergroove.errors import NotFound, OrdergrooveError, RateLimited, Unauthorized, Unavailable
from app.ordergroove.fetcher import FetchStats
from app.ordergroove.models import Customer
from dashboard import md

#: the dashboard waits a little longer than Gladly would: an operator is watching, not a timeout
MIN_DEADLINE_S = 8.0


def deadline_for(settings: Any) -> Deadline:
    return Deadline(max(float(getattr(settings, "lookup_deadline_s", 4.0)), MIN_DEADLINE_S))


def looks_like_email(text: str) -> bool:
    return "@" in (text or "")


def detailed_request(customer_id: str) -> LookupRequest:
    """The DETAILED lookup Gladly sends for a linked profile, keyed on the Ordergroove id."""
    return LookupRequest(level="DETAILED", unique_match_required=False, external_customer_id=customer_id,
                         emails=(), phones=(), gladly_customer_id=None, name=None)


def detailed_card(services: Any, customer_id: str) -> LookupResult:
    """The exact DETAILED answer for ``customer_id`` (``outcome == "unmatched"`` when unknown).

    >>> result = detailed_card(services, "7781203344")
    >>> result.results[0]["externalCustomerId"], result.body()
    """
    return services.lookups.lookup(detailed_request(customer_id.strip()),
                                   deadline=deadline_for(services.settings), stats=FetchStats())


def find_customers(services: Any, query: str) -> list[Customer]:
    """Customers for what was typed: an email searches Ordergroove, anything else is an id."""
    text = (query or "").strip()
    if not text:
        return []
    deadline, stats = deadline_for(services.settings), FetchStats()
    if looks_like_email(text):
        return services.fetcher.find_by_emails([text], deadline=deadline, stats=stats)
    customer = services.fetcher.customer(text, deadline=deadline, stats=stats)
    return [customer] if customer is not None else []


def customer_label(customer: Customer) -> str:
    name = customer.full_name or "(no name)"
    email = f" · {customer.email}" if customer.email else ""
    return f"{name}{email} · {customer.merchant_user_id}"


def friendly_error(exc: OrdergrooveError, settings: Any) -> str:
    """One paragraph saying what went wrong with Ordergroove and what to do about it."""
    base = getattr(settings, "ordergroove_base_url", "Ordergroove")
    if isinstance(exc, Unauthorized):
        return (f"Ordergroove at {base} refused our API key. Check `ORDERGROOVE_API_KEY` "
                "(the local sandbox expects its own key).")
    if isinstance(exc, RateLimited):
        return f"Ordergroove at {base} is rate-limiting us right now (429). Try again in a minute."
    if isinstance(exc, Unavailable):
        sandbox = getattr(settings, "ordergroove_is_sandbox", False)
        hint = (" Is the sandbox running? Start it with `make sandbox` "
                "(or `python -m app.sandbox --port 8700`)." if sandbox else " Try again shortly.")
        return f"Ordergroove at {base} could not be reached or did not answer in time.{hint}"
    return f"Ordergroove answered with an error we did not expect ({type(exc).__name__}: {md.text(exc)})."


@dataclass(frozen=True)
class Recheck:
    """What "Check again in Ordergroove" found: ``resolved`` True/False, or None when it cannot tell."""

    resolved: bool | None
    message: str


def recheck(services: Any, identifier: str, kind: str) -> Recheck:
    """Look an unmatched identifier up again, fresh from Ordergroove (its cache entry dropped first)."""
    if kind != "externalCustomerId":
        return Recheck(None, "Only masked emails were recorded for this lookup (we never store full "
                             "addresses), so it can't be searched again. Ask the agent for the "
                             "customer's email, or check the Gladly profile.")
    services.fetcher.invalidate(identifier)
    try:
        customer = services.fetcher.customer(identifier, deadline=deadline_for(services.settings),
                                             stats=FetchStats())
    except NotFound:
        customer = None
    except OrdergrooveError as exc:
        return Recheck(None, friendly_error(exc, services.settings))
    if customer is None:
        return Recheck(False, f"Still no Ordergroove customer with id {md.code(identifier)}. The id Gladly "
                              "holds may be wrong, or the customer was deleted.")
    who = md.text(f"{customer.full_name or 'a customer'}{' <' + customer.email + '>' if customer.email else ''}")
    return Recheck(True, f"Resolves now: {md.code(identifier)} is {who}. The next lookup from Gladly will match.")
