"""Actions end to end against the sandbox: its real PATCH answers, errors, write fault and data changes.

Each test gets its own small sandbox (writes change its data), the app through the factory,
and Gladly's requests signed as Gladly signs them. The sandbox counts the writes it receives,
so "exactly one PATCH" is counted where Ordergroove would see it.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from app import create_app
from app.gladly.schema import encode_body, lookup_body
from app.gladly.signing import sign_headers
from app.sandbox import KNOWN, SandboxServer

from support import SIGNING_KEY

pytestmark = pytest.mark.slow

DANA = KNOWN["reference"]
SID = KNOWN["reference_active_subscription"]
OID = KNOWN["reference_upcoming_order"]
CANCEL = f"/gladly/actions/subscriptions/{SID}/cancel"
SKIP = f"/gladly/actions/subscriptions/{SID}/orders/{OID}/skip"


@pytest.fixture
def sb():
    with SandboxServer(customers=60) as server:
        yield server


@pytest.fixture
def app(sb, tmp_path):
    app = create_app({"ORDERGROOVE_BASE_URL": sb.base_url, "ORDERGROOVE_API_KEY": sb.api_key,
                      "GLADLY_SIGNING_KEY": SIGNING_KEY, "OGTK_DATA_DIR": str(tmp_path / "data"),
                      "OGTK_ACTIONS": "cancel,skip", "OGTK_UPSTREAM_READ_TIMEOUT_S": "0.5"})
    yield app
    app.extensions["ogtk"].close()


def submit(app, path: str, payload: dict):
    body = json.dumps(payload).encode()
    return app.test_client().post(path, data=body, headers=sign_headers(SIGNING_KEY, method="POST", path=path,
                                                                         body=body))


def card(app, customer_id: str = DANA) -> dict:
    body = encode_body(lookup_body("DETAILED", external_customer_id=customer_id, gladly_id="g-1"))
    response = app.test_client().post("/gladly/lookup", data=body, headers=sign_headers(SIGNING_KEY, body=body))
    assert response.status_code == 200
    return {tx["subscriptionId"]: tx for tx in response.get_json()["results"][0]["transactions"]}


def writes(sb) -> int:
    return sb.stats()["writes"]


def test_the_card_binds_the_sandbox_upcoming_order(app):
    assert card(app)[SID]["actions"][1]["formUrl"] == SKIP
    assert "actions" not in card(app)[KNOWN["reference_canceled_subscription"]]


def test_cancel_then_the_follow_up_lookup_shows_it(app, sb):
    card(app)  # the card is cached, as it is when an agent presses the button
    response = submit(app, CANCEL, {"cancelReasonCode": "2", "cancelReasonDetails": "Has three bottles left"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"message": "Subscription canceled",
                                   "detail": f"Cold Brew Concentrate 32 oz · {SID} · reason 2 Overstocked"}
    assert writes(sb) == 1
    after = card(app)[SID]
    assert after["status"] == "Canceled" and after["cancellationReason"] == "Has three bottles left"
    assert "actions" not in after


def test_skip_then_the_follow_up_lookup_shows_the_following_order(app, sb):
    before = card(app)[SID]
    response = submit(app, SKIP, {"confirm": True})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["message"] == "Next order skipped"
    assert writes(sb) == 1
    after = card(app)[SID]
    assert after.get("nextBillingDate") != before["nextBillingDate"]
    skip_urls = [a["formUrl"] for a in after.get("actions", []) if a["name"] == "Skip next order"]
    assert skip_urls != [SKIP]  # never the order just skipped


def test_skipping_the_same_order_again_after_the_window_is_a_406(app, sb):
    assert submit(app, SKIP, {"confirm": True}).status_code == 200
    app.extensions["ogtk"].fetcher.cache.delete(f"action-answer:skip:{SID}:{OID}")  # as if 60 s had passed
    again = submit(app, SKIP, {"confirm": True})
    assert again.status_code == 406
    assert again.get_json()["errors"][0]["message"] == "Order not skipped"
    assert writes(sb) <= 2  # the second one, if sent at all, was refused by Ordergroove: nothing skipped twice


def test_an_already_canceled_subscription_is_a_406_without_a_write(app, sb):
    path = f"/gladly/actions/subscriptions/{KNOWN['reference_canceled_subscription']}/cancel"
    response = submit(app, path, {"cancelReasonCode": "2"})
    assert response.status_code == 406
    assert response.get_json()["errors"][0]["detail"] == "It is no longer active"
    assert writes(sb) == 0


def test_a_prepaid_subscription_gets_ordergroove_s_refusal_as_a_406(app, sb):
    path = f"/gladly/actions/subscriptions/{KNOWN['prepaid_subscription']}/cancel"
    response = submit(app, path, {})
    assert response.status_code == 406
    [error] = response.get_json()["errors"]
    assert error["message"] == "Subscription not canceled" and error["detail"]
    assert writes(sb) == 1


@pytest.mark.parametrize("fault", ["503", "hang"])
def test_a_write_applied_whose_answer_is_lost_is_read_back_not_repeated(app, sb, fault):
    sb.set_faults(write_fault_rate=1.0, write_fault=fault, hang_s=5)  # hang: longer than our read timeout
    response = submit(app, CANCEL, {"cancelReasonCode": "2"})
    assert response.status_code == 200, response.get_json()
    assert writes(sb) == 1
    assert card(app)[SID]["status"] == "Canceled"


def test_a_double_submit_under_concurrency_writes_once(app, sb):
    sb.set_faults(latency_ms=150)  # every call slow: the submits overlap
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: submit(app, CANCEL, {"cancelReasonCode": "2"}), range(4)))
    assert writes(sb) == 1
    assert {a.status_code for a in answers} == {200}
    assert len({json.dumps(a.get_json()) for a in answers}) == 1


def test_a_submit_that_waited_out_its_budget_for_a_thread_writes_nothing(app, sb, monkeypatch):
    """The wait for a gunicorn thread (``app.serving``) comes off the 10 s budget: with none left,
    the answer says so instead of starting a write it could not confirm in time."""
    import app.web.actions as action_view

    before = card(app)[SID]["status"]
    monkeypatch.setattr(action_view, "queued_seconds", lambda: 10.0)
    answer = submit(app, CANCEL, {"cancelReasonCode": "2"})
    assert answer.status_code == 406
    assert "nothing was changed" in answer.get_json()["errors"][0]["detail"]
    assert writes(sb) == 0
    monkeypatch.undo()
    assert card(app)[SID]["status"] == before


def test_a_skip_form_names_the_sandbox_order_date(app):
    headers = sign_headers(SIGNING_KEY, method="GET", path=SKIP, body=b"",
                           signed=["accept", "gladly-correlation-id", "gladly-time", "x-b3-traceid"])
    response = app.test_client().get(SKIP, headers=headers)
    assert response.status_code == 200
    text = response.get_json()["sections"][0]["input"]["text"]
    assert text.startswith("Skip the order due on ")
