"""Matching rules (app/lookup.py) over a stand-in fetcher: CONTRACT section 4, rule by rule."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.deadline import Deadline
from app.gladly.schema import parse_lookup_request
from app.gladly.presenter import present_detailed
from app.lookup import BASIC_RESULT_LIMIT, LookupService, PresentedCards, response_body
from app.ordergroove.errors import Unavailable
from app.ordergroove.fetcher import FetchStats
from app.ordergroove.models import Customer, CustomerProfile, Product, Subscription
from app.outcomes import AMBIGUOUS, MATCHED, UNMATCHED
from support import basic, detailed


class Fetcher:
    """Ordergroove as a dict: ids → customers, emails → ids. Records what was asked."""

    def __init__(self, customers=(), emails=None, partial=False, fail=False):
        self.customers = {c.merchant_user_id: c for c in customers}
        self.emails = emails or {}
        self.partial, self.fail = partial, fail
        self.asked: list[tuple] = []

    def customer(self, customer_id, *, deadline, stats=None):
        self.asked.append(("customer", customer_id))
        if self.fail:
            raise Unavailable("down")
        return self.customers.get(customer_id)

    def find_by_emails(self, emails, *, deadline, stats=None):
        self.asked.append(("emails", tuple(emails)))
        if self.fail:
            raise Unavailable("down")
        ids = [i for e in emails for i in self.emails.get(e.lower(), [])]
        return [self.customers[i] for i in dict.fromkeys(ids)]

    def profile(self, customer_id, *, deadline, stats=None, later=None):
        self.asked.append(("profile", customer_id))
        customer = self.customers.get(customer_id)
        if customer is None:
            return None
        return CustomerProfile(customer=customer, subscriptions=(), next_orders={}, products={},
                               fetched_at=datetime.now(timezone.utc), partial=self.partial)


def people(n: int) -> list[Customer]:
    return [Customer(merchant_user_id=str(100 + i), first_name=f"P{i}", email="shared@example.com")
            for i in range(n)]


def run(fetcher, payload):
    return LookupService(fetcher).lookup(parse_lookup_request(payload), deadline=Deadline(4), stats=FetchStats())


def test_basic_returns_at_most_ten_candidates_and_calls_more_ambiguous():
    fetcher = Fetcher(people(14), {"shared@example.com": [str(100 + i) for i in range(14)]})
    result = run(fetcher, basic(emails=["Shared@Example.com"]))
    assert len(result.results) == BASIC_RESULT_LIMIT == 10
    assert [r["externalCustomerId"] for r in result.results] == [str(100 + i) for i in range(10)]
    assert (result.outcome, result.reason, result.matched_customer_id) == (AMBIGUOUS, "email_ambiguous", None)
    assert all(set(r) <= {"externalCustomerId", "name", "emails", "phones"} for r in result.results)


def test_basic_with_one_candidate_is_matched():
    fetcher = Fetcher(people(1), {"shared@example.com": ["100"]})
    result = run(fetcher, basic(emails=["shared@example.com"]))
    assert (result.outcome, result.matched_customer_id, result.reason) == (MATCHED, "100", None)


def test_basic_unknown_id_falls_back_to_emails_and_reports_the_id_when_neither_matches():
    fetcher = Fetcher(people(1), {"shared@example.com": ["100"]})
    assert run(fetcher, basic(customer_id="999", emails=["shared@example.com"])).matched_customer_id == "100"
    assert fetcher.asked == [("customer", "999"), ("emails", ("shared@example.com",))]
    missing = run(Fetcher(), basic(customer_id="999", emails=["x@example.com"]))
    assert (missing.outcome, missing.reason, missing.results) == (UNMATCHED, "id_unknown", [])


def test_detailed_by_id_fetches_the_profile_straight_away_and_ignores_emails():
    fetcher = Fetcher(people(2), {"shared@example.com": ["100", "101"]})
    result = run(fetcher, detailed("101", emails=["shared@example.com"]))
    assert fetcher.asked == [("profile", "101")]
    assert (result.outcome, result.matched_customer_id) == (MATCHED, "101")
    assert result.results[0]["customAttributes"]["ordergrooveCustomerId"] == "101"


def test_detailed_unknown_id_is_unmatched_even_when_the_email_would_match():
    fetcher = Fetcher(people(1), {"shared@example.com": ["100"]})
    result = run(fetcher, detailed("999", emails=["shared@example.com"]))
    assert (result.outcome, result.reason, result.results) == (UNMATCHED, "id_unknown", [])
    assert ("emails", ("shared@example.com",)) not in fetcher.asked


def test_detailed_by_email_with_several_candidates_is_ambiguous_when_unique_is_required():
    fetcher = Fetcher(people(2), {"shared@example.com": ["100", "101"]})
    result = run(fetcher, detailed(emails=["shared@example.com"]))
    assert (result.outcome, result.reason, result.results) == (AMBIGUOUS, "email_ambiguous", [])
    assert not any(kind == "profile" for kind, _ in fetcher.asked)


@pytest.mark.parametrize("payload, reason", [
    (detailed(emails=["nobody@example.com"]), "email_unknown"),
    (basic(emails=["nobody@example.com"]), "email_unknown"),
    (basic(phones=["+14155550123"]), "no_identifier"),  # phones never match: the reason says so
])
def test_unmatched_reasons(payload, reason):
    result = run(Fetcher(people(1)), payload)
    assert (result.outcome, result.reason) == (UNMATCHED, reason)


def test_a_partial_profile_is_said_so():
    assert run(Fetcher(people(1), partial=True), detailed("100")).partial is True
    assert run(Fetcher(people(1)), detailed("100")).partial is False


def test_ordergroove_failing_with_nothing_cached_raises_for_the_endpoint_to_answer_503():
    with pytest.raises(Unavailable):
        run(Fetcher(people(1), fail=True), basic(emails=["shared@example.com"]))


# -- presented cards: a warm lookup reuses the card while its profile is the same -------------

def card_profile(customer, subscriptions, *, products=None, next_orders=None):
    return CustomerProfile(customer=customer, subscriptions=subscriptions, next_orders=next_orders or {},
                           products=products or {}, fetched_at=datetime.now(timezone.utc),
                           next_order_ids={sid: f"order-{sid}" for sid in (next_orders or {})})


def counting_presenter():
    calls = []

    def present(profile):
        calls.append(profile)
        return [present_detailed(profile)]
    return present, calls


def test_a_card_is_presented_once_while_its_parts_are_the_same_objects():
    cards, (present, calls) = PresentedCards(), counting_presenter()
    dana = Customer(merchant_user_id="77", first_name="Dana", email="dana@example.com")
    subs = (Subscription("s1", product="P1", live=True, quantity=2),)
    product = Product("P1", name="Coffee")
    first = cards.body(card_profile(dana, subs, products={"P1": product}), present)
    # the next warm lookup builds a new profile from the same parsed objects
    again = cards.body(card_profile(dana, subs, products={"P1": product}), present)
    assert len(calls) == 1
    assert again[1] == first[1] == response_body(first[0]) and again[0] == first[0]
    again[0][0]["name"] = "changed by a caller"
    assert cards.body(card_profile(dana, subs, products={"P1": product}), present)[0] == first[0]


@pytest.mark.parametrize("change", ["subscriptions", "product", "next_order", "customer"])
def test_a_card_is_presented_again_when_any_part_changed(change):
    cards, (present, calls) = PresentedCards(), counting_presenter()
    dana = Customer(merchant_user_id="77", first_name="Dana")
    subs = (Subscription("s1", product="P1", live=True),)
    parts = dict(products={"P1": Product("P1", name="Coffee")},
                 next_orders={"s1": datetime(2027, 1, 5, tzinfo=timezone.utc)})
    _, before = cards.body(card_profile(dana, subs, **parts), present)
    if change == "subscriptions":  # a refetched entry parses to new objects, equal or not
        subs = (Subscription("s1", product="P1", live=True, quantity=3),)
    elif change == "product":
        parts["products"] = {"P1": Product("P1", name="Decaf")}
    elif change == "next_order":
        parts["next_orders"] = {"s1": datetime(2027, 2, 5, tzinfo=timezone.utc)}
    else:
        dana = Customer(merchant_user_id="77", first_name="Dane")
    _, after = cards.body(card_profile(dana, subs, **parts), present)
    assert len(calls) == 2 and after != before
    assert after == response_body([present_detailed(card_profile(dana, subs, **parts))])


def test_presented_cards_keep_only_the_most_recently_used():
    cards, (present, calls) = PresentedCards(size=2), counting_presenter()
    profiles = {cid: card_profile(Customer(merchant_user_id=cid), ()) for cid in ("1", "2", "3")}
    for cid in ("1", "2", "1", "3", "1", "2"):  # 3 pushes out 2 (1 was used since); then 2 again
        cards.body(profiles[cid], present)
    assert [p.customer.merchant_user_id for p in calls] == ["1", "2", "3", "2"]
