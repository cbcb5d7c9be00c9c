"""ActionService: section 8's answer table, the read-back, the 429/423 repeat, de-duplication.

Ordergroove is scripted (``fakes.ScriptedWrites``); the lock store is a real diskcache, so the
double-submit tests exercise the same atomic ``add`` the shared cache uses across workers.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app import metrics
from app.actions import REPEAT_WINDOW_S, ActionDisabled, FormRefused
from app.ordergroove.errors import Unauthorized, Unavailable
from app.ordergroove.writes import WriteAnswer

from fakes import (CUSTOMER, OID, PRODUCT_NAME, SID, EventList, FakeFetcher, ScriptedWrites, live_subscription,
                   make_service, timeout, upcoming_order)

DONE_CANCEL = {"message": "Subscription canceled",
               "detail": f"{PRODUCT_NAME} · {SID} · reason 2 Overstocked"}


def counter(action: str, outcome: str) -> float:
    return metrics.ACTIONS.labels(action=action, outcome=outcome)._value.get()


# --- the cancel table ----------------------------------------------------------------------------
@pytest.mark.parametrize("body, sent", [
    ({"cancelReasonCode": "2", "cancelReasonDetails": "Has three bottles left"}, "2|Has three bottles left"),
    ({"cancelReasonCode": "", "cancelReasonDetails": ""}, None),
    ({"cancelReasonCode": "2"}, "2|Overstocked"),
    ({"cancelReasonDetails": "Has three bottles left"}, None),
])
def test_cancel_sends_one_patch_and_drops_the_customer_before_answering(locks, body, sent):
    writes, fetcher, events = ScriptedWrites(), FakeFetcher(), EventList()
    before = counter("cancel", "done")
    answer = make_service(writes, locks, fetcher=fetcher, events=events).submit(
        "cancel", SID, None, body, correlation_id="corr-1")
    assert answer.status == 200
    assert answer.body["message"] == "Subscription canceled"
    assert answer.body["detail"].startswith(f"{PRODUCT_NAME} · {SID}")
    assert writes.patches == [("cancel", SID, sent)]
    assert fetcher.invalidated == [CUSTOMER]
    assert counter("cancel", "done") == before + 1
    [event] = events.actions
    assert (event.action, event.outcome, event.subscription_id, event.customer_id, event.og_status,
            event.correlation_id, event.source) == ("cancel", "done", SID, CUSTOMER, 200, "corr-1", "gladly")


def test_cancel_answer_names_product_subscription_and_reason(locks):
    answer = make_service(ScriptedWrites(), locks).submit("cancel", SID, None, {"cancelReasonCode": "2"})
    assert answer.body == DONE_CANCEL


def test_the_details_text_is_never_recorded(locks, caplog):
    events = EventList()
    secret = "Customer moved to 12 Elm Street"
    with caplog.at_level("INFO"):
        make_service(ScriptedWrites(), locks, events=events).submit(
            "cancel", SID, None, {"cancelReasonCode": "1", "cancelReasonDetails": secret})
    assert secret not in repr(events.actions)
    assert secret not in caplog.text
    assert events.actions[0].reason_code == "1"


@pytest.mark.parametrize("body, errors", [
    ({"cancelReasonCode": "99"}, [{"attr": "cancelReasonCode", "detail": "Unknown reason code 99"}]),
    ({"cancelReasonDetails": "a|b"}, [{"attr": "cancelReasonDetails", "detail": "Remove the | character"}]),
    ({"cancelReasonCode": "2", "cancelReasonDetails": "x" * 201},
     [{"attr": "cancelReasonDetails", "detail": "Keep the details to 200 characters"}]),
])
def test_bad_input_is_a_400_tied_to_its_attr_and_touches_nothing(locks, body, errors):
    writes, events = ScriptedWrites(), EventList()
    answer = make_service(writes, locks, events=events).submit("cancel", SID, None, body)
    assert (answer.status, answer.body) == (400, {"errors": errors})
    assert writes.calls == []
    assert [e.outcome for e in events.actions] == ["invalid"]


def test_a_body_that_is_not_json_is_a_form_level_400(locks):
    answer = make_service(ScriptedWrites(), locks).submit("cancel", SID, None, None)
    assert answer.status == 400 and "attr" not in answer.body["errors"][0]


@pytest.mark.parametrize("live", [False, "False", "false"])
def test_already_canceled_is_a_406_without_a_write(locks, live):
    writes, events = ScriptedWrites(subscription=live_subscription(live=live, cancelled="2025-03-05 10:22:00")), \
        EventList()
    answer = make_service(writes, locks, events=events).submit("cancel", SID, None, {"cancelReasonCode": "2"})
    assert (answer.status, answer.body) == (406, {"errors": [{"message": "Subscription not canceled",
                                                              "detail": "It is no longer active"}]})
    assert writes.patches == []
    assert events.actions[0].outcome == "rejected" and events.actions[0].detail == "not_active"


def test_unknown_subscription_is_a_406(locks):
    writes = ScriptedWrites(subscription=[None])
    answer = make_service(writes, locks).submit("cancel", SID, None, {})
    assert answer.status == 406 and answer.outcome == "rejected" and writes.patches == []


@pytest.mark.parametrize("body, detail", [
    ({"detail": "Subscription cannot be edited in its current state."},
     "Subscription cannot be edited in its current state."),
    ({"subscription": ["This subscription is prepaid."]}, "subscription: This subscription is prepaid."),
    ({"error": "Prepaid subscriptions cannot be canceled"}, "Prepaid subscriptions cannot be canceled"),
    ("<html>Bad Request</html>", "Ordergroove answered HTTP 400"),
    (None, "Ordergroove answered HTTP 400"),
])
def test_ordergroove_refusals_in_each_shape_become_a_readable_406(locks, body, detail):
    writes, fetcher = ScriptedWrites([WriteAnswer(400, body)]), FakeFetcher()
    answer = make_service(writes, locks, fetcher=fetcher).submit("cancel", SID, None, {})
    assert (answer.status, answer.body) == (406, {"errors": [{"message": "Subscription not canceled",
                                                              "detail": detail}]})
    assert answer.outcome == "rejected" and answer.og_status == 400
    assert len(writes.patches) == 1 and fetcher.invalidated == []


def test_a_refused_api_key_is_an_error_not_a_retry(locks):
    writes = ScriptedWrites([WriteAnswer(401, {"detail": "Invalid API key"})])
    answer = make_service(writes, locks).submit("cancel", SID, None, {})
    assert answer.status == 406 and answer.outcome == "error" and len(writes.patches) == 1
    assert "API key" in answer.body["errors"][0]["detail"]


@pytest.mark.parametrize("failure", [Unavailable("down", endpoint="x"), Unauthorized("no", endpoint="x")])
def test_a_failed_fresh_read_writes_nothing(locks, failure):
    writes = ScriptedWrites(subscription=[failure])
    answer = make_service(writes, locks).submit("cancel", SID, None, {})
    assert answer.status == 406 and answer.outcome == "error" and writes.patches == []


# --- the write's fate when Ordergroove does not say --------------------------------------------------
@pytest.mark.parametrize("unanswered", [timeout(), WriteAnswer(503, None), WriteAnswer(500, "oops")])
def test_a_write_that_went_unanswered_is_read_back_and_not_repeated_when_it_happened(locks, unanswered):
    writes = ScriptedWrites([unanswered], subscription=[live_subscription(), live_subscription(live=False, cancelled=1)])
    fetcher, events = FakeFetcher(), EventList()
    answer = make_service(writes, locks, fetcher=fetcher, events=events).submit(
        "cancel", SID, None, {"cancelReasonCode": "2"})
    assert (answer.status, answer.body) == (200, DONE_CANCEL)
    assert len(writes.patches) == 1
    assert [c[0] for c in writes.calls] == ["read_subscription", "cancel", "read_subscription"]
    assert fetcher.invalidated == [CUSTOMER]
    assert events.actions[0].detail == "done_confirmed_by_read_back"


def test_a_write_shown_not_to_have_happened_is_sent_again(locks):
    writes = ScriptedWrites([timeout(), WriteAnswer(200, {})],
                            subscription=[live_subscription(), live_subscription()])
    answer = make_service(writes, locks).submit("cancel", SID, None, {})
    assert answer.status == 200 and len(writes.patches) == 2


def test_a_write_that_keeps_not_happening_stops_at_the_cap(locks):
    writes = ScriptedWrites([WriteAnswer(503, None)] * 5, subscription=[live_subscription()])
    answer = make_service(writes, locks).submit("cancel", SID, None, {})
    assert answer.status == 406 and answer.outcome == "error" and len(writes.patches) == 3
    assert "nothing was changed" in answer.body["errors"][0]["detail"]


def test_when_the_read_back_fails_too_the_answer_says_it_is_unknown(locks):
    writes = ScriptedWrites([timeout()], subscription=[live_subscription(), Unavailable("down", endpoint="x")])
    fetcher = FakeFetcher()
    answer = make_service(writes, locks, fetcher=fetcher).submit("cancel", SID, None, {})
    assert answer.status == 406 and answer.outcome == "error" and len(writes.patches) == 1
    assert "reopen the profile" in answer.body["errors"][0]["detail"]
    assert fetcher.invalidated == [CUSTOMER]  # whatever happened, the next card reads it afresh


@pytest.mark.parametrize("busy", [429, 423])
def test_429_and_423_are_sent_again_after_a_pause(locks, busy):
    pauses: list[float] = []
    writes = ScriptedWrites([WriteAnswer(busy, None), WriteAnswer(200, {})])
    answer = make_service(writes, locks, sleep=pauses.append).submit("cancel", SID, None, {})
    assert answer.status == 200 and len(writes.patches) == 2 and len(pauses) == 1
    assert not any(c[0] == "read_subscription" for c in writes.calls[2:])  # no read-back needed


def test_a_persistent_429_ends_in_a_406(locks):
    writes = ScriptedWrites([WriteAnswer(429, None)] * 5)
    answer = make_service(writes, locks).submit("cancel", SID, None, {})
    assert answer.status == 406 and answer.outcome == "error" and len(writes.patches) == 3


# --- skip -------------------------------------------------------------------------------------------
def test_skip_sends_the_bound_order_and_names_its_date(locks):
    writes, fetcher = ScriptedWrites(), FakeFetcher()
    answer = make_service(writes, locks, fetcher=fetcher).submit("skip", SID, OID, {"confirm": True})
    assert (answer.status, answer.body) == (200, {"message": "Next order skipped",
                                                  "detail": f"{PRODUCT_NAME} · {SID} · order of 2025-03-28"})
    assert writes.patches == [("skip", OID, SID)]
    assert fetcher.invalidated == [CUSTOMER]


def test_skip_without_the_tick_is_a_400(locks):
    writes = ScriptedWrites()
    answer = make_service(writes, locks).submit("skip", SID, OID, {"confirm": False})
    assert answer.body == {"errors": [{"attr": "confirm", "detail": "Tick the box to skip this order"}]}
    assert writes.calls == []


@pytest.mark.parametrize("order", [upcoming_order(status=5), None])
def test_skip_of_an_order_no_longer_upcoming_is_a_406_without_a_write(locks, order):
    writes = ScriptedWrites(order=[order])
    answer = make_service(writes, locks).submit("skip", SID, OID, {"confirm": True})
    assert answer.status == 406 and writes.patches == []
    assert answer.body["errors"][0]["message"] == "Order not skipped"
    assert "no longer upcoming" in answer.body["errors"][0]["detail"]


def test_skip_refused_because_the_subscription_is_not_on_that_order(locks):
    writes = ScriptedWrites([WriteAnswer(400, {"subscription": ["not valid for this order"]})])
    answer = make_service(writes, locks).submit("skip", SID, OID, {"confirm": True})
    assert (answer.status, answer.body["errors"][0]["detail"]) == (406, "subscription: not valid for this order")


@pytest.mark.parametrize("holds, status, patches", [(False, 200, 1), ([True, False], 200, 2)])
def test_skip_read_back_looks_at_the_orders_lines(locks, holds, status, patches):
    writes = ScriptedWrites([timeout(), WriteAnswer(200, {})], holds=holds)
    answer = make_service(writes, locks).submit("skip", SID, OID, {"confirm": True})
    assert answer.status == status and len(writes.patches) == patches
    assert ("order_holds_subscription", OID, SID) in writes.calls


# --- enabled or not ---------------------------------------------------------------------------------
def test_a_disabled_action_raises_before_anything(locks):
    writes, events = ScriptedWrites(), EventList()
    service = make_service(writes, locks, enabled=("cancel",), events=events)
    with pytest.raises(ActionDisabled):
        service.submit("skip", SID, OID, {"confirm": True})
    with pytest.raises(ActionDisabled):
        service.form("skip", SID, OID)
    assert writes.calls == [] and events.actions == []


# --- forms -------------------------------------------------------------------------------------------
def test_forms_name_the_product_and_the_orders_date(locks):
    service = make_service(ScriptedWrites(), locks)
    assert service.form("cancel", SID)["title"] == f"Cancel subscription: {PRODUCT_NAME}"
    skip = service.form("skip", SID, OID)
    assert skip["sections"][0]["input"]["text"] == "Skip the order due on Mar 28, 2025"


def test_the_order_date_is_read_in_ordergroove_timezone(locks):
    from zoneinfo import ZoneInfo

    service = make_service(ScriptedWrites(order=upcoming_order(place="2025-03-28 23:30:00")), locks)
    service.timezone = ZoneInfo("America/Los_Angeles")
    assert service.form("skip", SID, OID)["sections"][0]["input"]["text"] == "Skip the order due on Mar 28, 2025"


@pytest.mark.parametrize("subscription", [live_subscription(live=False, cancelled=1), None])
def test_a_form_for_a_subscription_not_active_is_refused(locks, subscription):
    service = make_service(ScriptedWrites(subscription=[subscription]), locks)
    with pytest.raises(FormRefused) as caught:
        service.form("cancel", SID)
    assert caught.value.as_body()["errors"][0]["message"] == "Cannot cancel this subscription"


# --- de-duplication ---------------------------------------------------------------------------------
def test_a_repeat_within_60_s_after_success_gets_the_first_answer_without_a_write(locks):
    writes, events = ScriptedWrites(), EventList()
    service = make_service(writes, locks, events=events)
    first = service.submit("cancel", SID, None, {"cancelReasonCode": "2"})
    second = service.submit("cancel", SID, None, {"cancelReasonCode": "8"})
    assert (second.status, second.body) == (first.status, first.body)
    assert len(writes.patches) == 1
    assert [e.outcome for e in events.actions] == ["done", "done"]
    assert events.actions[1].detail.startswith("repeat_of_") and events.actions[1].og_status is None


def test_the_success_is_remembered_for_60_s_only(locks):
    service = make_service(ScriptedWrites(), locks)
    service.submit("cancel", SID, None, {})
    remembered = [k for k in locks.iterkeys() if str(k).startswith("action-answer:")]
    assert len(remembered) == 1
    _, expire_time = locks.get(remembered[0], expire_time=True)
    import time

    assert 0 < expire_time - time.time() <= REPEAT_WINDOW_S


def test_a_refused_submit_is_not_remembered(locks):
    writes = ScriptedWrites([WriteAnswer(400, {"detail": "locked"}), WriteAnswer(200, {})])
    service = make_service(writes, locks)
    assert service.submit("cancel", SID, None, {}).status == 406
    assert service.submit("cancel", SID, None, {}).status == 200
    assert len(writes.patches) == 2


def test_other_targets_are_not_repeats(locks):
    writes = ScriptedWrites()
    service = make_service(writes, locks)
    service.submit("cancel", SID, None, {})
    service.submit("cancel", "another-subscription", None, {})
    service.submit("skip", SID, OID, {"confirm": True})
    assert len(writes.patches) == 3


class Waiters:
    """Counts the submits waiting on another's lock (they sleep between polls, nobody else does),
    so a test opens Ordergroove's gate only once every repeat is really waiting."""

    def __init__(self, gate: threading.Event):
        self.gate, self.threads, self.changed = gate, set(), threading.Condition()

    def sleep(self, _seconds: float) -> None:
        with self.changed:
            self.threads.add(threading.get_ident())
            self.changed.notify_all()
        self.gate.wait(0.01)

    def wait_for(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.threads) >= count, timeout=10)


def _all_at_once(service, writes, submits: int, *args):
    writes.gate = threading.Event()
    waiters = Waiters(writes.gate)
    service._sleep = waiters.sleep
    with ThreadPoolExecutor(submits) as pool:
        futures = [pool.submit(service.submit, *args) for _ in range(submits)]
        assert writes.writing.wait(10) and waiters.wait_for(submits - 1)
        writes.gate.set()
        return [f.result(timeout=20) for f in futures]


def test_concurrent_double_submit_writes_exactly_once(locks):
    """Eight submits at once, seven of them waiting while the first writes: one PATCH, one answer."""
    writes, events = ScriptedWrites(), EventList()
    service = make_service(writes, locks, events=events)
    answers = _all_at_once(service, writes, 8, "cancel", SID, None, {"cancelReasonCode": "2"})
    assert len(writes.patches) == 1
    assert {(a.status, a.body["detail"]) for a in answers} == {(200, DONE_CANCEL["detail"])}
    assert len(events.actions) == 8
    assert sum(1 for e in events.actions if e.detail.startswith("repeat_of_")) == 7


def test_submits_waiting_on_a_refused_first_get_its_answer(locks):
    writes = ScriptedWrites([WriteAnswer(400, {"detail": "cannot be edited"})] + [WriteAnswer(200, {})] * 3)
    answers = _all_at_once(make_service(writes, locks), writes, 3, "cancel", SID, None, {})
    assert [a.status for a in answers] == [406, 406, 406]
    assert len(writes.patches) == 1


def test_an_unusable_lock_store_still_lets_the_action_through(locks):
    class Broken:
        def add(self, *a, **k):
            raise OSError("disk gone")

        get = set = delete = add

    writes = ScriptedWrites()
    answer = make_service(writes, Broken()).submit("cancel", SID, None, {})
    assert answer.status == 200 and len(writes.patches) == 1


def test_an_unexpected_error_is_a_406_and_still_recorded(locks):
    writes, events = ScriptedWrites(subscription=[RuntimeError("bug")]), EventList()
    answer = make_service(writes, locks, events=events).submit("cancel", SID, None, {})
    assert answer.status == 406 and answer.outcome == "error"
    assert [e.outcome for e in events.actions] == ["error"]
    assert not locks.get("action-lock:cancel:" + SID + ":")  # the lock is released


def test_a_subscription_gone_at_read_back_is_unknown(locks):
    writes = ScriptedWrites([timeout()], subscription=[live_subscription(), None])
    answer = make_service(writes, locks).submit("cancel", SID, None, {})
    assert answer.status == 406 and len(writes.patches) == 1
