"""dashboard.customers against the sandbox: the card is the endpoint's own answer, searches, labels,
the operator-facing error sentences and "check again"."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from zoneinfo import ZoneInfo

from app.ordergroove.errors import BadRequest, NotFound, RateLimited, Unauthorized, Unavailable
from app.ordergroove.models import Customer
from app.sandbox import KNOWN
from dashboard import customers

from dash_support import shown
from support import LOOKUP_PATH, signed


def test_looks_like_email():
    assert customers.looks_like_email("dana@example.com")
    assert not customers.looks_like_email("7781203344") and not customers.looks_like_email("")


def test_the_dashboard_waits_at_least_eight_seconds():
    assert customers.deadline_for(SimpleNamespace(lookup_deadline_s=4.0)).remaining() > 7.5
    assert customers.deadline_for(SimpleNamespace(lookup_deadline_s=20.0)).remaining() > 19.5


def test_detailed_card_is_byte_for_byte_what_gladly_gets(services, client):
    result = customers.detailed_card(services, f"  {KNOWN['reference']} ")
    assert result.outcome == "matched"
    body, headers = signed({"lookupLevel": "DETAILED", "uniqueMatchRequired": False,
                            "query": {"externalCustomerId": KNOWN["reference"]}})
    assert client.post(LOOKUP_PATH, data=body, headers=headers).get_data() == result.body()


def test_detailed_card_of_an_unknown_id_has_no_result(services):
    result = customers.detailed_card(services, KNOWN["unknown"])
    assert result.results == [] and result.outcome == "unmatched"


def test_find_customers_by_id_by_email_and_nothing(services):
    assert [c.merchant_user_id for c in customers.find_customers(services, KNOWN["reference"])] == [KNOWN["reference"]]
    by_email = customers.find_customers(services, "  Dana.Reyes@Example.com ")
    assert [c.merchant_user_id for c in by_email] == [KNOWN["reference"]]
    shared = customers.find_customers(services, KNOWN["shared_email"])
    assert sorted(c.merchant_user_id for c in shared) == sorted(KNOWN["shared_email_customers"])
    assert customers.find_customers(services, KNOWN["unknown"]) == []
    assert customers.find_customers(services, "   ") == []


def test_customer_label():
    ann = Customer.from_api({"merchant_user_id": "42", "first_name": "Ann", "last_name": "Lee",
                             "email": "ann@x.io"}, UTC)
    assert customers.customer_label(ann) == "Ann Lee · ann@x.io · 42"
    assert customers.customer_label(Customer.from_api({"merchant_user_id": "43"}, UTC)) == "(no name) · 43"


SANDBOX = SimpleNamespace(ordergroove_base_url="http://127.0.0.1:8700", ordergroove_is_sandbox=True)
UTC = ZoneInfo("UTC")
REAL = SimpleNamespace(ordergroove_base_url="https://restapi.ordergroove.com", ordergroove_is_sandbox=False)


@pytest.mark.parametrize("error, settings, says", [
    (Unauthorized("401"), REAL, "refused our API key. Check `ORDERGROOVE_API_KEY`"),
    (RateLimited("429"), REAL, "rate-limiting us right now (429)"),
    (Unavailable("down"), SANDBOX, "Is the sandbox running? Start it with `make sandbox`"),
    (Unavailable("down"), REAL, "could not be reached or did not answer in time. Try again shortly."),
])
def test_friendly_errors_name_the_ordergroove_they_mean(error, settings, says):
    message = customers.friendly_error(error, settings)
    assert says in message and settings.ordergroove_base_url in message


def test_an_unexpected_error_text_is_not_markup():
    message = customers.friendly_error(BadRequest("[x](https://evil.example/y)"), REAL)
    assert "an error we did not expect (BadRequest: " in message
    assert "[x](" not in message and "[x](https://evil.example/y)" in shown(message)


def test_check_again_needs_something_typed(services):
    answer = customers.check_again(services, "  ")
    assert answer.resolved is None and "Type an Ordergroove customer id" in answer.message


def test_check_again_an_id_asks_ordergroove_afresh(services, sandbox):
    assert services.fetcher.customer(KNOWN["reference"], deadline=customers.deadline_for(services.settings),
                                     stats=customers.FetchStats()) is not None  # now cached
    before = sandbox.stats()["requests"]
    answer = customers.check_again(services, KNOWN["reference"])
    assert sandbox.stats()["requests"] > before  # not answered from the cache
    assert answer.resolved is True
    assert "Resolves now" in answer.message and "Dana Reyes <dana.reyes@example.com>" in shown(answer.message)


def test_check_again_an_id_still_missing(services):
    answer = customers.check_again(services, KNOWN["unknown"])
    assert answer.resolved is False and KNOWN["unknown"] in answer.message


def test_check_again_an_email_searches_past_the_cache(services, sandbox):
    assert customers.find_customers(services, "nobody.yet@example.org") == []  # a cached empty search
    before = sandbox.stats()["requests"]
    answer = customers.check_again(services, "nobody.yet@example.org")
    assert sandbox.stats()["requests"] > before and answer.resolved is False
    answer = customers.check_again(services, " DANA.REYES@example.com")
    assert answer.resolved is True and f"`{KNOWN['reference']}`" in answer.message
    shared = customers.check_again(services, KNOWN["shared_email"])
    assert shared.resolved is None and "has 2 customers" in shared.message
    assert all(cid in shared.message for cid in KNOWN["shared_email_customers"])


def test_check_again_when_ordergroove_fails(services, monkeypatch):
    def fail(*args, **kwargs):
        raise Unavailable("down")

    monkeypatch.setattr(services.fetcher, "customer", fail)
    monkeypatch.setattr(services.fetcher.client, "customers_by_email", fail)
    for typed in (KNOWN["reference"], "dana.reyes@example.com"):
        answer = customers.check_again(services, typed)
        assert answer.resolved is None and "could not be reached" in answer.message


def test_check_again_treats_not_found_as_missing(services, monkeypatch):
    def missing(*args, **kwargs):
        raise NotFound("gone")

    monkeypatch.setattr(services.fetcher, "customer", missing)
    assert customers.check_again(services, "x-1").resolved is False
