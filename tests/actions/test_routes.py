"""The action routes over HTTP, against a stateful Ordergroove behind ``responses`` (``og_fake``).

Everything real but Ordergroove: the app factory, authentication, the Ordergroove client (one
PATCH, no retries; timeouts raised by the transport), the shared cache, the event store. Covers
section 8's answer table row by row, both mounts, signing of GETs, 404/401/406, the read-back
after a write whose answer was lost, and the follow-up DETAILED lookup showing the change.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import responses

from app import create_app
from app.gladly.signing import sign_headers
from app.gladly.schema import encode_body, lookup_body

from og_fake import BASE, CUSTOMER, NEXT_OID, OID, PRODUCT_NAME, SID, FakeOrdergroove
from support import BASIC_AUTH, SIGNING_KEY

CANCEL = f"/gladly/actions/subscriptions/{SID}/cancel"
SKIP = f"/gladly/actions/subscriptions/{SID}/orders/{OID}/skip"
BELOW = "/gladly/lookup"
GET_SIGNED = ["accept", "gladly-correlation-id", "gladly-time", "x-b3-traceid"]


@pytest.fixture
def og():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeOrdergroove(mock)


@pytest.fixture
def build(tmp_path, og):
    apps = []

    def make(**env):
        config = {"ORDERGROOVE_BASE_URL": BASE, "ORDERGROOVE_API_KEY": "og-key", "GLADLY_SIGNING_KEY": SIGNING_KEY,
                  "OGTK_DATA_DIR": str(tmp_path / "data"), "OGTK_ACTIONS": "cancel,skip",
                  "OGTK_UPSTREAM_READ_TIMEOUT_S": "1", **env}
        app = create_app({k: v for k, v in config.items() if v is not None})
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["ogtk"].close()


@pytest.fixture
def client(build):
    return build().test_client()


def get(client, path: str, *, key: str = SIGNING_KEY, signed_path: str | None = None, body_hashed: bytes = b"",
        basic: str | None = None):
    headers = {"Accept": "application/json"}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    signed = GET_SIGNED + (["authorization"] if basic else [])
    headers = sign_headers(key, method="GET", path=signed_path or path, body=body_hashed, headers=headers,
                           signed=sorted(signed))
    headers.pop("Content-Type", None)  # Gladly's GET carries no body and presumably no Content-Type
    return client.get(path, headers=headers)


def post(client, path: str, payload, *, raw: bytes | None = None, signed_path: str | None = None,
         corr: str | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    extra = {"Gladly-Correlation-Id": corr} if corr else {}
    headers = sign_headers(SIGNING_KEY, method="POST", path=signed_path or path, body=body,
                           headers={"Accept": "application/json", "Content-Type": "application/json", **extra})
    return client.post(path, data=body, headers=headers)


def card(client) -> dict:
    body = encode_body(lookup_body("DETAILED", external_customer_id=CUSTOMER, gladly_id="g-1"))
    response = client.post("/gladly/lookup", data=body, headers=sign_headers(SIGNING_KEY, body=body))
    assert response.status_code == 200
    [result] = response.get_json()["results"]
    [tx] = result["transactions"]
    return tx


# --- declared on the card ---------------------------------------------------------------------------
def test_the_card_declares_both_actions_binding_the_upcoming_order(client):
    assert card(client)["actions"] == [
        {"name": "Cancel subscription", "formUrl": CANCEL},
        {"name": "Skip next order", "formUrl": SKIP},
    ]


@pytest.mark.parametrize("enabled, names", [(None, None), ("skip", ["Skip next order"]),
                                            ("cancel", ["Cancel subscription"])])
def test_the_card_declares_only_the_enabled_actions(build, enabled, names):
    tx = card(build(OGTK_ACTIONS=enabled).test_client())
    assert [a["name"] for a in tx["actions"]] == names if names else "actions" not in tx


def test_a_canceled_subscription_declares_nothing(client, og):
    og.subscription.update(live=False, cancelled="2025-03-01 10:00:00")
    assert "actions" not in card(client)


# --- authentication and routing ----------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["", BELOW])
def test_a_signed_get_serves_the_form_on_both_mounts(client, prefix):
    response = get(client, prefix + CANCEL)
    assert response.status_code == 200
    form = response.get_json()
    assert form["title"] == f"Cancel subscription: {PRODUCT_NAME}"
    assert form["actionUrl"] == CANCEL  # never the variant below the lookup path
    skip = get(client, prefix + SKIP).get_json()
    assert skip["actionUrl"] == SKIP
    assert skip["sections"][0]["input"]["text"] == "Skip the order due on Mar 28, 2025"


def test_the_references_derived_get_vector_is_accepted(build, og):
    """gladly-actions.md section 7: the GET signed over the empty body, on both paths."""
    client = build(GLADLY_SIGNING_KEY="test-apikey-1", GLADLY_REPLAY_WINDOW_S="0").test_client()
    headers = {"Accept": "application/json", "Gladly-Correlation-Id": "TxyaJ9O4XmCixBl_4Is9VQ",
               "Gladly-Time": "20250305T102158Z", "X-B3-Traceid": "4f1c9a27d3b85e60a2c4197fe08b3d55"}
    for path, signature in [
        (CANCEL, "07499096e07709d50e985663e923f63e004614bf58b407a0a480de9b9f45a239"),
        (BELOW + CANCEL, "64aa0e6fb3cc7fcc30a54ef14fa43a831a78e56ec894be4af7b5c70053c513f7"),
    ]:
        auth = ("SigningAlgorithm=hmac-sha256, SignedHeaders=accept;gladly-correlation-id;gladly-time;"
                f"x-b3-traceid, Signature={signature}")
        assert client.get(path, headers={**headers, "Gladly-Authorization": auth}).status_code == 200


@pytest.mark.parametrize("mangle", ["unsigned", "hashed_braces", "other_mount", "wrong_key", "stale"])
def test_an_unsigned_or_tampered_get_is_a_401(client, og, mangle):
    if mangle == "unsigned":
        response = client.get(CANCEL, headers={"Accept": "application/json"})
    elif mangle == "hashed_braces":  # the old sample's bug: hashing "{}" instead of zero bytes
        response = get(client, CANCEL, body_hashed=b"{}")
    elif mangle == "other_mount":
        response = get(client, BELOW + CANCEL, signed_path=CANCEL)
    elif mangle == "wrong_key":
        response = get(client, CANCEL, key="not-the-key")
    else:
        headers = sign_headers(SIGNING_KEY, method="GET", path=CANCEL, body=b"", signed=GET_SIGNED,
                               headers={"Accept": "application/json"},
                               now=datetime.now(timezone.utc) - timedelta(hours=1))
        response = client.get(CANCEL, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["code"]
    assert not any(r.startswith("GET /subscriptions") for r in og.requests)  # nothing read for them


def test_a_tampered_submit_is_a_401_and_writes_nothing(client, og):
    body = json.dumps({"cancelReasonCode": "2"}).encode()
    headers = sign_headers(SIGNING_KEY, method="POST", path=CANCEL, body=body)
    response = client.post(CANCEL, data=body.replace(b"2", b"8"), headers=headers)
    assert response.status_code == 401 and og.patches == []


def test_basic_auth_is_required_when_configured(build):
    client = build(GLADLY_BASIC_AUTH=BASIC_AUTH).test_client()
    assert get(client, CANCEL).status_code == 401
    assert get(client, CANCEL, basic=BASIC_AUTH).status_code == 200
    assert get(client, CANCEL, basic="support:wrong").status_code == 401


@pytest.mark.parametrize("enabled", [None, "skip"])
@pytest.mark.parametrize("prefix", ["", BELOW])
def test_a_disabled_action_is_a_404_signed_or_not(build, og, enabled, prefix):
    client = build(OGTK_ACTIONS=enabled).test_client()
    for response in (client.get(prefix + CANCEL), get(client, prefix + CANCEL),
                     post(client, prefix + CANCEL, {"cancelReasonCode": "2"})):
        assert response.status_code == 404
        assert response.get_json()["errors"][0]["code"] == "not_found"
    assert og.patches == []


def test_wrong_methods_are_405(client):
    assert client.put(CANCEL).status_code == 405
    assert client.delete(SKIP).status_code == 405


@pytest.mark.parametrize("path", [CANCEL, SKIP])
def test_a_form_for_a_subscription_that_is_not_active_is_a_406(client, og, path):
    og.subscription.update(live="False", cancelled="2025-03-01 10:00:00")
    response = get(client, path)
    assert response.status_code == 406
    [error] = response.get_json()["errors"]
    assert error["message"] and "no longer active" in error["detail"]


def test_a_skip_form_for_an_order_no_longer_upcoming_is_a_406(client, og):
    og.order["status"] = 5
    response = get(client, SKIP)
    assert response.status_code == 406
    assert "no longer upcoming" in response.get_json()["errors"][0]["detail"]


# --- the cancel table ------------------------------------------------------------------------------
@pytest.mark.parametrize("submit, sent, detail", [
    ({"cancelReasonCode": "2", "cancelReasonDetails": "Has three bottles left"},
     {"cancel_reason": "2|Has three bottles left"}, f"{PRODUCT_NAME} · {SID} · reason 2 Overstocked"),
    ({"cancelReasonCode": "", "cancelReasonDetails": ""}, {}, f"{PRODUCT_NAME} · {SID}"),
    ({"cancelReasonCode": "2"}, {"cancel_reason": "2|Overstocked"}, f"{PRODUCT_NAME} · {SID} · reason 2 Overstocked"),
    ({"cancelReasonDetails": "dropped without a code"}, {}, f"{PRODUCT_NAME} · {SID}"),
])
def test_cancel_rows(client, og, submit, sent, detail):
    response = post(client, CANCEL, submit)
    assert (response.status_code, response.get_json()) == (200, {"message": "Subscription canceled",
                                                                "detail": detail})
    assert og.patches == [("cancel", sent)]


def test_after_a_cancel_the_next_detailed_lookup_shows_it(client, og):
    before = card(client)
    assert before["status"] == "Active"
    assert post(client, CANCEL, {"cancelReasonCode": "2"}).status_code == 200
    after = card(client)  # what Gladly asks right after the 200: no waiting for the 90 s TTL
    assert after["status"] == "Canceled"
    assert after["cancellationReason"] == "Overstocked"
    assert "actions" not in after


@pytest.mark.parametrize("submit, attr, detail", [
    ({"cancelReasonCode": "99"}, "cancelReasonCode", "Unknown reason code 99"),
    ({"cancelReasonDetails": "a|b"}, "cancelReasonDetails", "Remove the | character"),
    ({"cancelReasonCode": "2", "cancelReasonDetails": "x" * 201}, "cancelReasonDetails",
     "Keep the details to 200 characters"),
])
def test_cancel_bad_input_is_a_400_tied_to_its_attr(client, og, submit, attr, detail):
    response = post(client, CANCEL, submit)
    assert (response.status_code, response.get_json()) == (400, {"errors": [{"attr": attr, "detail": detail}]})
    assert og.patches == [] and og.requests == []


@pytest.mark.parametrize("raw", [b"not json", b"[]", b""])
def test_a_submit_that_is_not_a_json_object_is_a_400(client, og, raw):
    response = post(client, CANCEL, None, raw=raw)
    assert response.status_code == 400 and og.patches == []


def test_cancel_of_an_already_canceled_subscription_is_a_406_without_a_write(client, og):
    og.subscription.update(live=False, cancelled="2025-03-01 10:00:00")
    response = post(client, CANCEL, {"cancelReasonCode": "2"})
    assert (response.status_code, response.get_json()) == (
        406, {"errors": [{"message": "Subscription not canceled", "detail": "It is no longer active"}]})
    assert og.patches == []


@pytest.mark.parametrize("refusal, detail", [
    ((400, {"detail": "Subscription cannot be edited in its current state."}),
     "Subscription cannot be edited in its current state."),
    ((400, {"subscription": ["Prepaid subscriptions cannot be canceled."]}),
     "subscription: Prepaid subscriptions cannot be canceled."),
    ((400, {"error": "Something is wrong with this subscription"}), "Something is wrong with this subscription"),
    ((404, {"detail": "Unable to find requested asset."}), "Unable to find requested asset."),
    ((409, "<html>conflict</html>"), "Ordergroove answered HTTP 409"),
])
def test_ordergroove_refusals_become_a_readable_406(client, og, refusal, detail):
    og.on_patch.append(refusal)
    response = post(client, CANCEL, {})
    assert (response.status_code, response.get_json()) == (
        406, {"errors": [{"message": "Subscription not canceled", "detail": detail}]})
    assert len(og.patches) == 1


# --- the write's fate when the answer is lost --------------------------------------------------------
@pytest.mark.parametrize("script", ["apply_then_timeout", "apply_then_503"])
def test_a_write_that_landed_but_lost_its_answer_is_read_back_not_repeated(client, og, script):
    og.on_patch.append(script)
    response = post(client, CANCEL, {"cancelReasonCode": "2"})
    assert response.status_code == 200 and response.get_json()["message"] == "Subscription canceled"
    assert len(og.patches) == 1
    requests_after_patch = og.requests[og.requests.index(f"PATCH /subscriptions/{SID}/cancel/") + 1:]
    assert requests_after_patch[0] == f"GET /subscriptions/{SID}/"  # the read-back
    assert card(client)["status"] == "Canceled"


@pytest.mark.parametrize("script", ["timeout", "503"])
def test_a_write_that_did_not_land_is_sent_once_more_after_the_read_back(client, og, script):
    og.on_patch.append(script)
    assert post(client, CANCEL, {}).status_code == 200
    assert len(og.patches) == 2


def test_ordergroove_that_never_answers_is_a_406_after_a_bounded_number_of_writes(client, og):
    og.on_patch.extend(["timeout"] * 5)
    response = post(client, CANCEL, {})
    assert response.status_code == 406
    assert response.get_json()["errors"][0]["message"] == "Subscription not canceled"
    assert len(og.patches) == 3  # each one only after a read-back showed the previous did not land
    assert og.requests.count(f"GET /subscriptions/{SID}/") == 4  # the fresh read and three read-backs


@pytest.mark.parametrize("busy", [429, 423])
def test_429_and_423_are_sent_again(client, og, busy):
    og.on_patch.append((busy, {"detail": "busy"}))
    assert post(client, CANCEL, {}).status_code == 200
    assert len(og.patches) == 2


def test_a_skip_whose_answer_was_lost_is_read_back_on_the_orders_lines(client, og):
    og.on_patch.append("apply_then_timeout")
    response = post(client, SKIP, {"confirm": True})
    assert response.status_code == 200 and len(og.patches) == 1
    assert any(r == "GET /items/" for r in og.requests[og.requests.index(f"PATCH /orders/{OID}/skip_subscription/"):])


# --- the skip table --------------------------------------------------------------------------------
def test_skip_row_and_the_follow_up_card(client, og):
    assert card(client)["nextBillingDate"] == "2025-03-28T00:00:00.000Z"
    response = post(client, SKIP, {"confirm": True})
    assert (response.status_code, response.get_json()) == (
        200, {"message": "Next order skipped", "detail": f"{PRODUCT_NAME} · {SID} · order of 2025-03-28"})
    assert og.patches == [("skip", {"subscription": SID})]
    after = card(client)
    assert after["nextBillingDate"] == "2025-05-09T00:00:00.000Z"
    assert after["actions"][1]["formUrl"] == f"/gladly/actions/subscriptions/{SID}/orders/{NEXT_OID}/skip"


@pytest.mark.parametrize("submit", [{"confirm": False}, {}])
def test_skip_without_the_tick_is_a_400(client, og, submit):
    response = post(client, SKIP, submit)
    assert (response.status_code, response.get_json()) == (
        400, {"errors": [{"attr": "confirm", "detail": "Tick the box to skip this order"}]})
    assert og.patches == []


def test_skip_of_an_order_no_longer_upcoming_is_a_406(client, og):
    og.order["status"] = 5
    response = post(client, SKIP, {"confirm": True})
    assert (response.status_code, response.get_json()) == (406, {"errors": [{
        "message": "Order not skipped", "detail": "The order of 2025-03-28 is no longer upcoming; reopen the profile"}]})
    assert og.patches == []


def test_skip_of_an_order_the_subscription_left_is_ordergroove_s_400_as_a_406(client, og):
    og.skipped = True  # skipped elsewhere; the card's order id is still the old one
    og.order["status"] = 1
    response = post(client, SKIP, {"confirm": True})
    assert response.status_code == 406
    assert response.get_json()["errors"][0]["detail"] == "subscription: This subscription is not valid for this order."


# --- de-duplication, recording ----------------------------------------------------------------------
def test_a_double_submit_through_both_mounts_writes_once(client, og):
    first = post(client, CANCEL, {"cancelReasonCode": "2"})
    second = post(client, BELOW + CANCEL, {"cancelReasonCode": "2"})
    assert second.get_json() == first.get_json() and second.status_code == 200
    assert len(og.patches) == 1


def test_every_submit_is_recorded_and_counted(build, og):
    app = build()
    client = app.test_client()
    post(client, CANCEL, {"cancelReasonCode": "2", "cancelReasonDetails": "private words"}, corr="corr-42")
    post(client, SKIP, {"confirm": False})
    store = app.extensions["ogtk"].events
    now = datetime.now(timezone.utc)
    rows = store.recent_actions(now - timedelta(minutes=5), now + timedelta(minutes=5))
    assert sorted(zip(rows["action"], rows["outcome"])) == [("cancel", "done"), ("skip", "invalid")]
    done = rows[rows["action"] == "cancel"].iloc[0]
    assert (done["subscription_id"], done["customer_id"], done["reason_code"], done["correlation_id"]) == (
        SID, CUSTOMER, "2", "corr-42")
    assert "private words" not in rows.to_csv()
    metrics_text = client.get("/metrics").get_data(as_text=True)
    assert 'ogtk_actions_total{action="cancel",outcome="done"}' in metrics_text
    assert 'ogtk_actions_total{action="skip",outcome="invalid"}' in metrics_text
