"""The dashboard's Ordergroove actions: find a customer, preview their Gladly card, re-check an id.

The card is built by the same :class:`~app.lookup.LookupService` and presenter as
``POST /gladly/lookup`` (a DETAILED lookup keyed on the external id), so what the page shows and
offers for download is exactly what Gladly would receive. Ordergroove failures are turned into
sentences an operator can act on; no traceback reaches the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

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


def _who(customer: Customer) -> str:
    return md.text(f"{customer.full_name or '(no name)'}{' <' + customer.email + '>' if customer.email else ''}")


def _search_now(services: Any, email: str) -> list[Customer]:
    """Ordergroove's answer for ``email`` right now, past the cache (whose search may be 90 s old):
    the address as typed and lower-cased, exact matches only, like the lookup keeps them."""
    from app.ordergroove.fetcher import email_queries

    tz = getattr(services.settings, "ordergroove_timezone", None) or ZoneInfo("UTC")
    deadline, found = deadline_for(services.settings), {}
    for query in email_queries([email]):
        try:
            records = services.fetcher.client.customers_by_email(query, deadline=deadline, stats=FetchStats())
        except NotFound:
            continue
        for raw in records or ():
            customer = Customer.from_api(raw, tz)
            if customer.email.strip().lower() == query.lower():
                found.setdefault(customer.merchant_user_id, customer)
    return list(found.values())


def check_again(services: Any, typed: str) -> Recheck:
    """Ask Ordergroove now about an id or an email an admin typed, and say what it answers.

    An id: its cached pieces are dropped first, so the next lookup from Gladly sees the same answer.
    An email: searched past the cache; the lookup's cached search (if any) expires within minutes.
    """
    text = (typed or "").strip()
    if not text:
        return Recheck(None, "Type an Ordergroove customer id or an email address.")
    try:
        if looks_like_email(text):
            matches = _search_now(services, text)
        else:
            services.fetcher.invalidate(text)
            try:
                customer = services.fetcher.customer(text, deadline=deadline_for(services.settings),
                                                     stats=FetchStats())
            except NotFound:
                customer = None
            matches = [customer] if customer is not None else []
    except OrdergrooveError as exc:
        return Recheck(None, friendly_error(exc, services.settings))
    shown = md.code(text)
    if looks_like_email(text):
        if not matches:
            return Recheck(False, f"Ordergroove has no customer with the email {shown}. Gladly's lookups "
                                  "by this email will keep finding nobody until one is created.")
        if len(matches) > 1:
            listed = "; ".join(f"{md.code(c.merchant_user_id)} {_who(c)}" for c in matches)
            return Recheck(None, f"Ordergroove has {len(matches)} customers with the email {shown}: "
                                 f"{listed}. A lookup that needs one match stays ambiguous; link the "
                                 "Gladly profile to the right id (its `externalCustomerId`).")
        only = matches[0]
        return Recheck(True, f"Ordergroove has customer {md.code(only.merchant_user_id)} with the email "
                             f"{shown}: {_who(only)}. Link the Gladly profile to that id to make "
                             "DETAILED lookups exact.")
    if not matches:
        return Recheck(False, f"Still no Ordergroove customer with id {shown}. The id Gladly holds may be "
                              "wrong, or the customer was deleted.")
    return Recheck(True, f"Resolves now: {shown} is {_who(matches[0])}. The next lookup from Gladly will match.")
