"""The lookup endpoint end to end against the sandbox: matching rules, errors, degradation, events."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

import app.lookup
from app.sandbox import KNOWN, SandboxServer
from support import BASIC_AUTH, LOOKUP_PATH, SIGNING_KEY, basic, detailed, signed


def events(app) -> list[dict]:
    path = app.extensions["ogtk"].settings.events_db_path
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'lookup_events'").fetchone():
            return []
        return [dict(r) for r in db.execute("SELECT * FROM lookup_events ORDER BY rowid")]


# --- matching rules (CONTRACT section 4) -------------------------------------------------------


def test_detailed_by_id_returns_the_full_reference_profile(lookup):
    response = lookup(detailed(KNOWN["reference"]))
    assert response.status_code == 200
    [result] = response.get_json()["results"]
    assert result["externalCustomerId"] == KNOWN["reference"]
    assert result["name"] == "Dana Reyes"
    assert result["emails"] == [{"original": "dana.reyes@example.com"}]
    assert result["phones"] == [{"original": "+14155550123", "type": "MOBILE"}]
    assert result["customAttributes"] == {
        "ordergrooveCustomerId": KNOWN["reference"],
        "subscriptionCount": "2",
        "activeSubscriptionCount": "1",
    }
    active, canceled = result["transactions"]
    assert active["subscriptionId"] == "0767811a8025176986607ad9e36fd616"
    assert active["status"] == "Active" and "nextBillingDate" in active and "canceledAt" not in active
    assert active["products"][0]["name"] == "Cold Brew Concentrate 32 oz"
    assert canceled["subscriptionId"] == "03dc9aa7b9a58dd48b14bbfeb7d277bb"
    assert canceled["status"] == "Canceled"
    assert canceled["cancellationReason"] == "Overstocked"
    assert canceled["price"] == "$18.00"
    assert "nextBillingDate" not in canceled


def test_body_is_compact_json_in_contract_order(lookup):
    response = lookup(detailed(KNOWN["reference"]))
    text = response.get_data(as_text=True)
    assert text.startswith('{"results":[{"externalCustomerId":')
    assert response.mimetype == "application/json"


def test_a_warm_lookup_sends_the_card_presented_last_time_byte_for_byte(lookup, monkeypatch):
    """The second lookup is answered from the cache, its profile made of the objects parsed the
    first time, so the presented card is reused: the presenter is not called again."""
    first = lookup(detailed(KNOWN["reference"])).get_data()

    def not_again(*args, **kwargs):
        raise AssertionError("a warm lookup presented its card again")
    monkeypatch.setattr(app.lookup, "present_detailed", not_again)
    assert lookup(detailed(KNOWN["reference"])).get_data() == first


def test_a_cold_lookup_stores_what_it_fetched_once_its_answer_is_sent(client, services):
    """The answer goes out first; the cache writes (and the release of their leases) run when
    the server closes the response, as gunicorn does once it has sent it."""
    body, headers = signed(detailed(KNOWN["reference"]))
    response = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert response.status_code == 200 and response.get_json()["results"]
    store = services.fetcher.cache.backend  # what the other workers see
    key = f"subscriptions:{KNOWN['reference']}"
    assert store.get(key) is None and store.get("lock:" + key) is not None
    response.close()
    assert store.get(key) is not None and store.get("lock:" + key) is None


def test_a_lookup_answered_503_stores_what_it_did_fetch_before_answering(client, services, monkeypatch):
    """A 503 is answered without waiting for a close: the pieces that did arrive are stored
    and their leases freed at once, so the next lookup asks only for what failed."""
    from app.ordergroove.errors import Unavailable

    cache = services.fetcher.cache
    customer_key = cache.cache_key("customer", KNOWN["reference"])

    def down(*args, **kwargs):
        waited = time.monotonic() + 5
        while customer_key not in cache._pending and time.monotonic() < waited:  # the customer is in
            time.sleep(0.005)
        raise Unavailable("Ordergroove did not answer")
    monkeypatch.setattr(services.fetcher.client, "subscriptions", down)
    body, headers = signed(detailed(KNOWN["reference"]))
    response = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert response.status_code == 503
    store = services.fetcher.cache.backend
    key = f"customer:{KNOWN['reference']}"
    assert store.get(key) is not None and store.get("lock:" + key) is None
    assert store.get("lock:subscriptions:" + KNOWN["reference"]) is None


def test_detailed_unknown_id_is_no_match_even_with_a_known_email(lookup):
    response = lookup(detailed(KNOWN["unknown"], emails=["dana.reyes@example.com"]))
    assert response.status_code == 200
    assert response.get_json() == {"results": []}


def test_basic_unknown_id_falls_back_to_email(lookup):
    response = lookup(basic(emails=["dana.reyes@example.com"], customer_id=KNOWN["unknown"]))
    assert [r["externalCustomerId"] for r in response.get_json()["results"]] == [KNOWN["reference"]]


@pytest.mark.parametrize("emails", ["DANA.Reyes@Example.com", "  dana.reyes@example.com  ", ["dana.reyes@example.com"]])
def test_basic_by_email_is_trimmed_case_insensitive_and_accepts_a_bare_string(lookup, emails):
    response = lookup(basic(emails=emails))
    [result] = response.get_json()["results"]
    assert result["externalCustomerId"] == KNOWN["reference"]
    assert set(result) <= {"externalCustomerId", "name", "emails", "phones"}  # profile fields only


def test_basic_with_a_shared_email_lists_both_and_is_ambiguous(app, lookup):
    response = lookup(basic(emails=[KNOWN["shared_email"]]))
    assert len(response.get_json()["results"]) == 2
    assert events(app)[-1]["outcome"] == "ambiguous"


def test_detailed_shared_email_with_unique_match_required_gives_nothing(app, lookup):
    response = lookup(detailed(emails=[KNOWN["shared_email"]], unique=True))
    assert response.get_json() == {"results": []}
    assert events(app)[-1]["outcome"] == "ambiguous"


def test_detailed_shared_email_without_unique_match_returns_exactly_one(lookup):
    response = lookup(detailed(emails=[KNOWN["shared_email"]], unique=False))
    results = response.get_json()["results"]
    assert len(results) == 1 and "transactions" in results[0]


def test_phones_alone_never_match(app, lookup):
    response = lookup(basic(phones=["+14155550123"]))
    assert response.get_json() == {"results": []}
    assert events(app)[-1]["outcome"] == "unmatched"


def test_nested_custom_attributes_are_read(lookup):
    payload = {"lookupLevel": "DETAILED", "uniqueMatchRequired": True,
               "query": {"customAttributes": {"externalCustomerId": KNOWN["reference"]}}}
    [result] = lookup(payload).get_json()["results"]
    assert result["externalCustomerId"] == KNOWN["reference"]


def test_missing_product_still_gives_a_product_entry(lookup):
    [result] = lookup(detailed(KNOWN["missing_product_customer"])).get_json()["results"]
    products = [p for t in result["transactions"] for p in t["products"]]
    missing = [p for p in products if p["productId"] == KNOWN["missing_product"]]
    assert missing and all(set(p) == {"productId"} for p in missing)


# --- errors (CONTRACT section 3) ---------------------------------------------------------------


def test_wrong_method_is_405_json(client):
    response = client.get(LOOKUP_PATH)
    assert response.status_code == 405
    assert response.get_json()["errors"][0]["code"] == "method_not_allowed"


def test_body_over_one_mebibyte_is_413(client):
    body, headers = signed(None, raw=b'{"x":"' + b"a" * (1024 * 1024 + 10) + b'"}')
    response = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert response.status_code == 413
    assert response.get_json()["errors"][0]["code"] == "body_too_large"


def test_not_json_content_type_is_415(client):
    body, headers = signed(basic(emails=["a@b.c"]), extra={"Content-Type": "text/plain"})
    response = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert response.status_code == 415


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"lookupLevel":"FULL","query":{}}', b'{"lookupLevel":"BASIC"}',
                                 b'{"lookupLevel":"BASIC","query":{"emails":[1,2]}}', b"\xff\xfe",
                                 b'{"lookupLevel":"DETAILED","query":{"externalCustomerId":"\\ud800"}}',
                                 b'{"lookupLevel":"BASIC","query":{"emails":["a\\udc00@x.com"]}}',
                                 b'{"lookupLevel":"BASIC","query":{"emails":"' + b"a" * 300 + b'@x.com"}}'])
def test_malformed_bodies_are_400_and_not_stored(app, client, raw):
    body, headers = signed(None, raw=raw)
    response = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["code"]
    assert events(app) == []


def test_bad_signature_is_401_and_not_stored(app, client):
    body, headers = signed(detailed(KNOWN["reference"]), key="not-the-key")
    response = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert response.status_code == 401
    assert events(app) == []


def test_tampered_body_is_401(client):
    body, headers = signed(detailed(KNOWN["reference"]))
    response = client.post(LOOKUP_PATH, data=body.replace(b"DETAILED", b"BASIC"), headers=headers)
    assert response.status_code == 401


def test_basic_auth_and_signature_both_enforced_when_both_set(make_app):
    client = make_app(GLADLY_BASIC_AUTH=BASIC_AUTH).test_client()
    body, headers = signed(detailed(KNOWN["reference"]))  # signed, but no Basic credentials
    assert client.post(LOOKUP_PATH, data=body, headers=headers).status_code == 401
    body, headers = signed(detailed(KNOWN["reference"]), basic=BASIC_AUTH)
    assert client.post(LOOKUP_PATH, data=body, headers=headers).status_code == 200


def test_basic_auth_only(make_app):
    client = make_app(GLADLY_SIGNING_KEY=None, GLADLY_BASIC_AUTH=BASIC_AUTH).test_client()
    ok = json.dumps(basic(emails=["dana.reyes@example.com"])).encode()
    good = {"Content-Type": "application/json", "Authorization": "Basic c3VwcG9ydDpzM2NyZXQ="}
    assert client.post(LOOKUP_PATH, data=ok, headers=good).status_code == 200
    bad = {**good, "Authorization": "Basic c3VwcG9ydDp3cm9uZw=="}
    assert client.post(LOOKUP_PATH, data=ok, headers=bad).status_code == 401


# --- events --------------------------------------------------------------------------------------


def test_each_lookup_records_one_event_with_masked_emails(app, lookup):
    lookup(basic(emails=["Dana.Reyes@example.com"], gladly_id="gid-42"),
           extra={"Gladly-Correlation-Id": "corr-abc"})
    [event] = events(app)
    assert event["outcome"] == "matched"
    assert event["gladly_customer_id"] == "gid-42"
    assert event["matched_customer_id"] == KNOWN["reference"]
    assert event["correlation_id"] == "corr-abc"
    stored = json.dumps(event)
    assert "dana.reyes@example.com" not in stored.lower()
    assert "d***@example.com" in stored


def test_event_store_failure_does_not_fail_the_lookup(make_app, tmp_path):
    data_dir = tmp_path / "blocked"
    (data_dir / "events.sqlite3").mkdir(parents=True)  # a directory where the database should be
    app = make_app(OGTK_DATA_DIR=str(data_dir))
    body, headers = signed(detailed(KNOWN["reference"]))
    response = app.test_client().post(LOOKUP_PATH, data=body, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["results"][0]["externalCustomerId"] == KNOWN["reference"]


# --- degradation -------------------------------------------------------------------------------


@pytest.fixture
def faulty_sandbox():
    with SandboxServer() as server:
        yield server


def test_stale_answer_when_ordergroove_fails_after_a_warm_lookup(make_app, faulty_sandbox):
    app = make_app(ORDERGROOVE_BASE_URL=faulty_sandbox.base_url, OGTK_CACHE_TTL_CUSTOMER_S="0",
                   OGTK_CACHE_TTL_SUBSCRIPTIONS_S="0", OGTK_CACHE_TTL_ORDERS_S="0",
                   OGTK_CACHE_TTL_PRODUCT_S="0", OGTK_LOOKUP_DEADLINE_S="2")
    client = app.test_client()
    body, headers = signed(detailed(KNOWN["reference"]))
    fresh = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert fresh.status_code == 200
    faulty_sandbox.set_faults(error_rate=1.0)
    body, headers = signed(detailed(KNOWN["reference"]))
    stale = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert stale.status_code == 200
    assert stale.get_json() == fresh.get_json()
    assert stale.headers.get("X-OGTK-Stale") == "1"


def test_503_inside_the_deadline_when_ordergroove_hangs_and_nothing_is_cached(make_app, faulty_sandbox):
    faulty_sandbox.set_faults(hang_rate=1.0)
    app = make_app(ORDERGROOVE_BASE_URL=faulty_sandbox.base_url, OGTK_LOOKUP_DEADLINE_S="1.0")
    client = app.test_client()
    body, headers = signed(detailed(KNOWN["reference"]))
    started = time.monotonic()
    response = client.post(LOOKUP_PATH, data=body, headers=headers)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.get_json()["errors"][0]["code"].startswith("ordergroove_")
    assert elapsed < 1.0 + 0.5
    assert events(app)[-1]["outcome"] == "error"


def test_time_spent_waiting_for_a_thread_comes_off_the_deadline(make_app, faulty_sandbox, monkeypatch):
    """A lookup that waited its whole deadline in the gunicorn worker (``app.serving``) answers
    a cached card at once, and a 503 without calling Ordergroove when nothing is cached; its
    event counts the wait, as Gladly did."""
    import app.web.lookup as lookup_view

    app = make_app(ORDERGROOVE_BASE_URL=faulty_sandbox.base_url, OGTK_LOOKUP_DEADLINE_S="2")
    client = app.test_client()
    body, headers = signed(detailed(KNOWN["reference"]))
    fresh = client.post(LOOKUP_PATH, data=body, headers=headers)
    faulty_sandbox.reset_stats()
    monkeypatch.setattr(lookup_view, "queued_seconds", lambda: 2.0)
    body, headers = signed(detailed(KNOWN["reference"]))
    cached = client.post(LOOKUP_PATH, data=body, headers=headers)
    body, headers = signed(detailed(KNOWN["bench"]))
    cold = client.post(LOOKUP_PATH, data=body, headers=headers)
    assert cached.status_code == 200 and cached.get_data() == fresh.get_data()
    assert cold.status_code == 503
    assert faulty_sandbox.stats()["requests"] == 0
    assert [round(e["duration_ms"] / 1000) for e in events(app)[-2:]] == [2, 2]


def test_basic_lookups_do_not_fetch_subscriptions(lookup, sandbox):
    sandbox.reset_stats()
    lookup(basic(emails=["dana.reyes@example.com"]))
    by_path = sandbox.stats()["by_path"]
    assert by_path.get("/customers/", 0) == 1
    assert not any(path.startswith(("/subscriptions", "/orders", "/products")) for path in by_path)


def test_no_secret_or_raw_email_in_logs(make_app, caplog):
    import logging

    app = make_app(GLADLY_BASIC_AUTH=BASIC_AUTH)
    client = app.test_client()
    with caplog.at_level(logging.DEBUG):
        for payload in (detailed(KNOWN["reference"]), basic(emails=["dana.reyes@example.com"])):
            body, headers = signed(payload, basic=BASIC_AUTH)
            assert client.post(LOOKUP_PATH, data=body, headers=headers).status_code == 200
        body, headers = signed(detailed(KNOWN["reference"]), key="wrong-key", basic="support:guess")
        assert client.post(LOOKUP_PATH, data=body, headers=headers).status_code == 401
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("ogtk", "app")))
    assert '"event":"lookup"' in ours
    for secret in (SIGNING_KEY, "s3cret", "guess", app.extensions["ogtk"].settings.effective_api_key.reveal()):
        assert secret not in caplog.text
    assert "dana.reyes@example.com" not in ours


def test_during_key_rotation_lookups_signed_with_either_key_are_answered(make_app):
    client = make_app(GLADLY_SIGNING_KEY=f"rotated-in-key-0123456789,{SIGNING_KEY}").test_client()
    for key in ("rotated-in-key-0123456789", SIGNING_KEY):
        body, headers = signed(detailed(KNOWN["reference"]), key=key)
        assert client.post(LOOKUP_PATH, data=body, headers=headers).status_code == 200
    body, headers = signed(detailed(KNOWN["reference"]), key="some-other-key")
    assert client.post(LOOKUP_PATH, data=body, headers=headers).status_code == 401


def test_behind_a_path_prefix_the_lookup_answers_at_both_paths_signed_over_the_configured_one(make_app):
    from app.gladly.signing import sign_headers

    client = make_app(OGTK_GLADLY_LOOKUP_PATH="/ogtk/gladly/lookup").test_client()
    body, _ = signed(detailed(KNOWN["reference"]))
    as_gladly_signs = sign_headers(SIGNING_KEY, path="/ogtk/gladly/lookup", body=body)
    for path in ("/gladly/lookup", "/ogtk/gladly/lookup"):  # a proxy that strips the prefix, or not
        assert client.post(path, data=body, headers=as_gladly_signs).status_code == 200
    _, over_the_route = signed(detailed(KNOWN["reference"]))
    assert client.post("/gladly/lookup", data=body, headers=over_the_route).status_code == 401
    assert client.get("/ogtk/gladly/lookup").status_code == 405
