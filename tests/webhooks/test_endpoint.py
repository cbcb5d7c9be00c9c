"""``POST /ordergroove/webhook`` (CONTRACT §9): verify, de-duplicate, drop the customer's cache.

Against the session sandbox: a card is warmed by a real lookup, then a delivery must make the
next lookup go back to Ordergroove (the cache was dropped) while making no Ordergroove call itself.
"""

from __future__ import annotations

import logging

import pytest

from app import metrics
from app.sandbox import KNOWN

from support import detailed
from webhook_support import (GOLDEN_BODY, NEW_KEY, OLD_KEY, SIG_NEW, SIG_OLD, TS, WEBHOOK_PATH, envelope,
                             signed_headers)

DANA = KNOWN["reference"]  # the golden vector's customer, 7781203344
OTHER = KNOWN["bench"]


@pytest.fixture
def webhook_app(make_app):
    return make_app(ORDERGROOVE_WEBHOOK_KEY=NEW_KEY.decode())


@pytest.fixture
def deliveries(webhook_app, monkeypatch):
    """Every WebhookEvent the app records."""
    recorded = []
    services = webhook_app.extensions["ogtk"]
    original = services.events.record_webhook

    def record(event):
        recorded.append(event)
        return original(event)

    monkeypatch.setattr(services.events, "record_webhook", record)
    return recorded


def post(client, body: bytes, headers: dict):
    return client.post(WEBHOOK_PATH, data=body, headers=headers)


def golden(client, header: str | None = None):
    value = header or f"ts={TS},sig={SIG_NEW}"
    return post(client, GOLDEN_BODY, {"Content-Type": "application/json", "OrderGroove-Signature": value})


def upstream_requests(sandbox) -> int:
    return sandbox.stats()["requests"]


def warm(lookup, sandbox, customer_id: str) -> None:
    assert lookup(detailed(customer_id)).status_code == 200
    before = upstream_requests(sandbox)
    assert lookup(detailed(customer_id)).status_code == 200
    assert upstream_requests(sandbox) == before, "the card should be warm"


def is_warm(lookup, sandbox, customer_id: str) -> bool:
    before = upstream_requests(sandbox)
    assert lookup(detailed(customer_id)).status_code == 200
    return upstream_requests(sandbox) == before


@pytest.fixture
def lookup(webhook_app):
    from support import signed

    client = webhook_app.test_client()

    def send(payload):
        body, headers = signed(payload)
        return client.post("/gladly/lookup", data=body, headers=headers)

    return send


def outcome_count(outcome: str) -> float:
    return metrics.WEBHOOKS.labels(outcome=outcome)._value.get()


def test_golden_vector_drops_the_customers_cache_and_calls_no_one(webhook_app, lookup, sandbox, deliveries):
    client = webhook_app.test_client()
    warm(lookup, sandbox, DANA)
    warm(lookup, sandbox, OTHER)
    before, applied = upstream_requests(sandbox), outcome_count("applied")
    response = golden(client)
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert upstream_requests(sandbox) == before  # no Ordergroove call while answering
    assert outcome_count("applied") == applied + 1
    [event] = deliveries
    assert (event.outcome, event.event_id, event.type, event.customer_id) == (
        "applied", "65f0c1d2e3a4b5c6d7e8f901", "subscription.cancel", DANA)
    assert not is_warm(lookup, sandbox, DANA)
    assert is_warm(lookup, sandbox, OTHER)  # nobody else's card was touched


def test_a_repeated_id_is_a_duplicate_and_does_nothing(webhook_app, lookup, sandbox, deliveries):
    client = webhook_app.test_client()
    assert golden(client).get_json() == {"status": "ok"}
    warm(lookup, sandbox, DANA)
    response = golden(client)
    assert (response.status_code, response.get_json()) == (200, {"status": "duplicate"})
    assert is_warm(lookup, sandbox, DANA)
    assert [e.outcome for e in deliveries] == ["applied", "duplicate"]


def test_duplicates_are_recognised_across_workers(make_app, tmp_path):
    """Two app instances on one data directory stand for two gunicorn workers."""
    first = make_app(ORDERGROOVE_WEBHOOK_KEY=NEW_KEY.decode())
    second = make_app(ORDERGROOVE_WEBHOOK_KEY=NEW_KEY.decode())
    assert golden(first.test_client()).get_json() == {"status": "ok"}
    assert golden(second.test_client()).get_json() == {"status": "duplicate"}


def test_the_id_is_remembered_for_at_least_7_days(webhook_app):
    from app.web.webhooks import DEDUP_S

    assert DEDUP_S >= 7 * 86400


@pytest.mark.parametrize("body, header", [
    (GOLDEN_BODY + b"\n", f"ts={TS},sig={SIG_NEW}"),
    (GOLDEN_BODY.replace(b'"live":false', b'"live":true'), f"ts={TS},sig={SIG_NEW}"),
    (GOLDEN_BODY, f"ts={TS + 1},sig={SIG_NEW}"),
    (GOLDEN_BODY, f"ts={TS},sig={'0' * 64}"),
    (GOLDEN_BODY, ""),
    (GOLDEN_BODY, "garbage"),
])
def test_tampering_is_a_401_that_changes_nothing_and_logs_no_body(webhook_app, lookup, sandbox, deliveries,
                                                                  caplog, body, header):
    client = webhook_app.test_client()
    warm(lookup, sandbox, DANA)
    rejected = outcome_count("rejected")
    headers = {"Content-Type": "application/json"}
    if header:
        headers["OrderGroove-Signature"] = header
    with caplog.at_level(logging.INFO):
        response = post(client, body, headers)
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["code"] in ("bad_signature", "missing_signature", "malformed_signature")
    assert is_warm(lookup, sandbox, DANA)
    assert outcome_count("rejected") == rejected + 1
    assert [e.outcome for e in deliveries] == ["rejected"]
    assert "Has three bottles left" not in caplog.text and "7781203344" not in caplog.text


def test_the_second_sig_of_a_rotation_header_is_enough(make_app):
    app = make_app(ORDERGROOVE_WEBHOOK_KEY=OLD_KEY.decode())  # we still hold only the old key
    response = golden(app.test_client(), f"ts={TS},sig={SIG_NEW},sig={SIG_OLD}")
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("configured", [f"{NEW_KEY.decode()},{OLD_KEY.decode()}",
                                        f"{OLD_KEY.decode()}, {NEW_KEY.decode()}"])
@pytest.mark.parametrize("header", [f"ts={TS},sig={SIG_NEW}", f"ts={TS},sig={SIG_OLD}"])
def test_key_rotation_both_keys_configured(make_app, configured, header):
    app = make_app(ORDERGROOVE_WEBHOOK_KEY=configured)
    assert golden(app.test_client(), header).get_json() == {"status": "ok"}


def test_no_key_configured_is_a_404(client):
    response = golden(client)
    assert response.status_code == 404
    assert response.get_json()["errors"][0]["code"] == "not_found"


def test_over_1_mib_is_a_413_before_the_signature_is_checked(webhook_app, deliveries):
    client = webhook_app.test_client()
    huge = b'{"id":"x","pad":"' + b"a" * (1024 * 1024) + b'"}'
    response = post(client, huge, {"Content-Type": "application/json"})  # not even signed
    assert response.status_code == 413
    assert [e.outcome for e in deliveries] == ["rejected"]


def test_exactly_1_mib_is_not_too_large(webhook_app):
    body = b'{"id":"big","pad":"' + b"a" * (1024 * 1024 - 21) + b'"}'
    assert len(body) == 1024 * 1024
    assert post(webhook_app.test_client(), body, signed_headers(body)).get_json() == {"status": "ignored"}


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'"text"', b"{}", b'{"id":""}', b'{"id":null}',
                                  b'{"id":{"a":1}}', b'{"id":true}', b"\xff\xfe", b""])
def test_a_signed_body_that_is_not_an_event_is_a_400(webhook_app, deliveries, body):
    rejected = outcome_count("rejected")
    response = post(webhook_app.test_client(), body, signed_headers(body))
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["code"] == "invalid_event"
    # authentic (the signature held) and nothing done: not a signature failure on the dashboard
    assert [e.outcome for e in deliveries] == ["ignored"] and outcome_count("rejected") == rejected


def test_a_numeric_id_is_taken_as_text(webhook_app):
    body = b'{"id":12345,"type":"order.success","data":{"object":{"customer":"%s"}}}' % DANA.encode()
    client = webhook_app.test_client()
    assert post(client, body, signed_headers(body)).get_json() == {"status": "ok"}
    again = b'{"id":"12345","type":"order.success","data":{"object":{"customer":"%s"}}}' % DANA.encode()
    assert post(client, again, signed_headers(again)).get_json() == {"status": "duplicate"}


@pytest.mark.parametrize("body", [envelope(customer=None), b'{"id":"evt-nodata","type":"subscription.cancel"}',
                                  b'{"id":"evt-odd","data":{"object":["x"]}}',
                                  envelope(type_="subscriber.cancel", customer=DANA)])
def test_an_event_without_a_customer_is_ignored(webhook_app, deliveries, body):
    response = post(webhook_app.test_client(), body, signed_headers(body))
    assert (response.status_code, response.get_json()) == (200, {"status": "ignored"})
    assert [e.outcome for e in deliveries] == ["ignored"]


def test_subscriber_events_name_the_customer_in_merchant_user_id(webhook_app, lookup, sandbox):
    warm(lookup, sandbox, DANA)
    body = envelope(event_id="evt-sub", type_="subscriber.cancel", customer=None, merchant_user_id=DANA)
    assert post(webhook_app.test_client(), body, signed_headers(body)).get_json() == {"status": "ok"}
    assert not is_warm(lookup, sandbox, DANA)


@pytest.mark.parametrize("event_type", ["order.delete", "item.out_of_stock", "something.new", None])
def test_unknown_event_types_invalidate_too(webhook_app, lookup, sandbox, event_type):
    warm(lookup, sandbox, DANA)
    body = envelope(event_id=f"evt-{event_type}", type_=event_type, customer=DANA)
    assert post(webhook_app.test_client(), body, signed_headers(body)).get_json() == {"status": "ok"}
    assert not is_warm(lookup, sandbox, DANA)


def test_the_email_searches_that_found_the_customer_are_dropped(webhook_app, sandbox):
    from support import signed

    client = webhook_app.test_client()

    def by_email():
        body, headers = signed(detailed(emails=[KNOWN["reference_email"]]))
        return client.post("/gladly/lookup", data=body, headers=headers)

    assert by_email().status_code == 200
    before = upstream_requests(sandbox)
    assert by_email().status_code == 200 and upstream_requests(sandbox) == before
    body = envelope(event_id="evt-email", customer=DANA)
    assert post(client, body, signed_headers(body)).get_json() == {"status": "ok"}
    by_email()
    assert upstream_requests(sandbox) > before


def test_a_flood_of_bad_deliveries_never_500s_and_lookups_carry_on(webhook_app, lookup, sandbox):
    client = webhook_app.test_client()
    bad = [
        (GOLDEN_BODY, {"OrderGroove-Signature": f"ts={TS},sig={'1' * 64}"}),
        (GOLDEN_BODY, {"OrderGroove-Signature": "ts=,sig="}),
        (GOLDEN_BODY, {"OrderGroove-Signature": "ts=" + "9" * 5000 + ",sig=" + "a" * 64}),
        (GOLDEN_BODY, {"OrderGroove-Signature": ",".join(["sig=" + "a" * 64] * 500) + f",ts={TS}"}),
        (b"\x00" * 2048, {"OrderGroove-Signature": f"ts={TS},sig={SIG_NEW}"}),
        (b"{" * 10000, signed_headers(b"{" * 10000)),
        (b'{"id":"' + b"x" * 5000 + b'"}', signed_headers(b'{"id":"' + b"x" * 5000 + b'"}')),
        (b"[]", signed_headers(b"[]")),
    ]
    statuses = set()
    for _round in range(25):
        for body, headers in bad:
            statuses.add(post(client, body, headers).status_code)
    assert statuses <= {200, 400, 401}, statuses
    assert 500 not in statuses
    assert lookup(detailed(DANA)).status_code == 200
    assert golden(client).get_json() == {"status": "ok"}  # a genuine delivery still gets through


def test_get_is_a_405(webhook_app):
    assert webhook_app.test_client().get(WEBHOOK_PATH).status_code == 405
