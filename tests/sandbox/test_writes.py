"""The sandbox's write calls: Ordergroove's answers and errors, the data changed for the next read, the write fault."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from app.sandbox import KNOWN, SandboxServer

ACTIVE = KNOWN["reference_active_subscription"]
UPCOMING = KNOWN["reference_upcoming_order"]


@pytest.fixture()
def sb():
    with SandboxServer(customers=60) as server:
        yield server


@pytest.fixture()
def call(sb):
    session = requests.Session()
    session.headers["x-api-key"] = sb.api_key

    def _call(method, path, **kw):
        return session.request(method, sb.base_url + path, timeout=10, **kw)

    yield _call
    session.close()


def _upcoming_of(call, sid):
    return call("GET", "/orders/", params={"subscription": sid, "status": 1}).json()["results"]


def test_cancel_answers_the_canceled_subscription_and_the_next_read_shows_it(call):
    answer = call("PATCH", f"/subscriptions/{ACTIVE}/cancel/", json={"cancel_reason": "2|Has three bottles left"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["public_id"] == ACTIVE and body["live"] is False
    assert body["cancel_reason"] == "2|Has three bottles left" and body["cancel_reason_code"] == "2"
    datetime.strptime(body["cancelled"], "%Y-%m-%d %H:%M:%S")
    assert call("GET", f"/subscriptions/{ACTIVE}/").json() == body
    live = call("GET", "/subscriptions/", params={"customer": KNOWN["reference"], "live": "true"}).json()
    assert live["count"] == 0
    # and every shipment still to come: the upcoming order held only this subscription
    assert _upcoming_of(call, ACTIVE) == []
    assert call("GET", "/items/", params={"order": UPCOMING}).json()["count"] == 0
    assert call("GET", f"/orders/{UPCOMING}/").json()["status"] == 4


def test_cancel_without_a_reason_and_then_again(call):
    first = call("PATCH", f"/subscriptions/{ACTIVE}/cancel/", json={})
    assert first.status_code == 200 and first.json()["cancel_reason"] is None
    again = call("PATCH", f"/subscriptions/{ACTIVE}/cancel/", json={})
    assert again.status_code == 400
    assert again.json() == {"detail": "Subscription cannot be edited in its current state."}


@pytest.mark.parametrize("sid, body, status, shape", [
    (KNOWN["reference_canceled_subscription"], {}, 400, "detail"),
    ("0" * 32, {}, 404, "detail"),
    (ACTIVE, {"cancel_reason": "Overstocked"}, 400, "cancel_reason"),
    (ACTIVE, {"cancel_reason": 4}, 400, "cancel_reason"),
    (ACTIVE, [1, 2], 400, "error"),
    (KNOWN["prepaid_subscription"], {}, 400, "error"),
])
def test_cancel_refusals_in_ordergroove_shapes(call, sid, body, status, shape):
    answer = call("PATCH", f"/subscriptions/{sid}/cancel/", json=body)
    assert answer.status_code == status
    text = answer.json()[shape]
    assert text and (isinstance(text, str) or isinstance(text[0], str))
    if sid == ACTIVE:  # refused: nothing changed
        assert call("GET", f"/subscriptions/{ACTIVE}/").json()["live"] is True


def test_cancel_with_a_body_that_is_not_json(call):
    answer = call("PATCH", f"/subscriptions/{ACTIVE}/cancel/", data=b"{nope",
                  headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "error" in answer.json()


def test_skip_moves_the_subscription_to_a_new_order_one_interval_later(call):
    before = call("GET", f"/orders/{UPCOMING}/").json()
    answer = call("PATCH", f"/orders/{UPCOMING}/skip_subscription/", json={"subscription": ACTIVE})
    assert answer.status_code == 200
    assert answer.json()["public_id"] == UPCOMING
    [following] = _upcoming_of(call, ACTIVE)
    assert following["public_id"] != UPCOMING
    place = datetime.strptime(before["place"], "%Y-%m-%d %H:%M:%S")
    assert following["place"] == (place + timedelta(weeks=6)).strftime("%Y-%m-%d %H:%M:%S")  # every 6 weeks
    [line] = call("GET", "/items/", params={"order": following["public_id"]}).json()["results"]
    assert line["subscription"] == ACTIVE
    assert call("GET", "/items/", params={"order": UPCOMING}).json()["count"] == 0
    upcoming = call("GET", "/orders/", params={"customer": KNOWN["reference"], "status": 1}).json()["results"]
    assert [o["public_id"] for o in upcoming] == [following["public_id"]]
    # a second skip on the same (now empty) order id is refused, as Ordergroove does
    again = call("PATCH", f"/orders/{UPCOMING}/skip_subscription/", json={"subscription": ACTIVE})
    assert again.status_code == 400


def test_skip_leaves_the_other_subscriptions_of_a_shared_order(sb, call):
    shared = next(o for o in sb.dataset.orders_by_customer[KNOWN["twelve"]])
    lines = call("GET", "/items/", params={"order": shared["public_id"]}).json()["results"]
    assert len(lines) == 3
    skipped = lines[0]["subscription"]
    answer = call("PATCH", f"/orders/{shared['public_id']}/skip_subscription/", json={"subscription": skipped})
    assert answer.status_code == 200 and answer.json()["status"] == 1
    left = call("GET", "/items/", params={"order": shared["public_id"]}).json()["results"]
    assert [i["subscription"] for i in left] == [i["subscription"] for i in lines[1:]]
    assert float(answer.json()["sub_total"]) == pytest.approx(sum(float(i["total_price"]) for i in left))


def test_skip_refusals_in_ordergroove_shapes(sb, call):
    other = next(s["public_id"] for s in sb.dataset.subscriptions_of(KNOWN["bench"]))
    not_on_it = call("PATCH", f"/orders/{UPCOMING}/skip_subscription/", json={"subscription": other})
    assert not_on_it.status_code == 400
    assert not_on_it.json() == {"subscription": ["Subscription is not valid for this order."]}
    missing = call("PATCH", f"/orders/{UPCOMING}/skip_subscription/", json={})
    assert missing.status_code == 400 and missing.json() == {"subscription": ["This field is required."]}
    assert call("PATCH", f"/orders/{'0' * 32}/skip_subscription/", json={"subscription": ACTIVE}).status_code == 404
    placed = next(o for o in sb.dataset.orders_by_customer[KNOWN["reference"]] if o["status"] == 5)
    not_upcoming = call("PATCH", f"/orders/{placed['public_id']}/skip_subscription/", json={"subscription": ACTIVE})
    assert not_upcoming.status_code == 400 and "detail" in not_upcoming.json()
    canceled = KNOWN["reference_canceled_subscription"]
    not_live = call("PATCH", f"/orders/{UPCOMING}/skip_subscription/", json={"subscription": canceled})
    assert not_live.status_code == 400 and not_live.json() == {"detail": "Subscription cannot be edited in its current state."}
    assert _upcoming_of(call, ACTIVE)[0]["public_id"] == UPCOMING  # nothing changed


@pytest.mark.parametrize("mode, status", [("503", 503), ("hang", 504)])
def test_the_write_fault_applies_the_write_then_loses_the_answer(sb, call, mode, status):
    sb.set_faults(write_fault_rate=1.0, write_fault=mode, hang_s=0.2)
    answer = call("PATCH", f"/subscriptions/{ACTIVE}/cancel/", json={})
    assert answer.status_code == status
    assert call("GET", f"/subscriptions/{ACTIVE}/").json()["live"] is False  # the read-back tells the truth
    refused = call("PATCH", f"/subscriptions/{ACTIVE}/cancel/", json={})
    assert refused.status_code == 400  # a refusal is answered as such, never lost


def test_writes_are_counted_and_logged(sb, call):
    sb.reset_stats()
    call("PATCH", f"/subscriptions/{ACTIVE}/cancel/", json={})
    call("PATCH", f"/orders/{UPCOMING}/skip_subscription/", json={"subscription": ACTIVE})
    stats = sb.stats()
    assert stats["by_path"] == {"/subscriptions/{id}/cancel/": 1, "/orders/{id}/skip_subscription/": 1}
    assert stats["writes"] == 2 and stats["by_status"] == {"200": 1, "400": 1}
    assert [(e["method"], e["endpoint"], e["status"]) for e in sb.request_log()] == [
        ("PATCH", "/subscriptions/{id}/cancel/", 200), ("PATCH", "/orders/{id}/skip_subscription/", 400)]


def test_writes_need_the_api_key_and_stay_in_their_own_sandbox(sb):
    url = f"{sb.base_url}/subscriptions/{ACTIVE}/cancel/"
    assert requests.patch(url, json={}, timeout=5).status_code == 401
    assert requests.patch(url, json={}, headers={"x-api-key": sb.api_key}, timeout=5).status_code == 200
    with SandboxServer(customers=60) as other:
        fresh = requests.get(f"{other.base_url}/subscriptions/{ACTIVE}/", headers={"x-api-key": other.api_key},
                             timeout=5).json()
        assert fresh["live"] is True
