"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from app.sandbox import KNOWN, SandboxServer
from support import detailed


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_probes_ordergroove_when_idle(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()


def test_readyz_is_503_with_a_reason_when_ordergroove_is_down(make_app):
    with SandboxServer() as down:
        down.set_faults(error_rate=1.0)
        app = make_app(ORDERGROOVE_BASE_URL=down.base_url, ORDERGROOVE_API_KEY=down.api_key)
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert any("Ordergroove" in reason for reason in response.get_json()["reasons"])


def test_readyz_is_503_when_the_event_store_is_unusable(make_app, tmp_path):
    data_dir = tmp_path / "blocked"
    (data_dir / "events.sqlite3").mkdir(parents=True)
    response = make_app(OGTK_DATA_DIR=str(data_dir)).test_client().get("/readyz")
    assert response.status_code == 503
    assert any("event store" in reason for reason in response.get_json()["reasons"])


def test_metrics_count_lookups_upstream_calls_and_cache(client, lookup):
    lookup(detailed(KNOWN["reference"]))
    lookup(detailed(KNOWN["reference"]))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ogtk_lookups_total{level="DETAILED",outcome="matched"}' in text
    assert "ogtk_lookup_seconds_bucket" in text
    assert 'ogtk_upstream_requests_total{endpoint="customers.retrieve",status="200"}' in text
    assert "ogtk_cache_hits_total" in text and "ogtk_cache_misses_total" in text


def test_readyz_turns_503_when_ordergroove_starts_failing_even_if_stale_answers_go_out(make_app):
    from support import signed

    with SandboxServer() as flaky:
        app = make_app(ORDERGROOVE_BASE_URL=flaky.base_url, ORDERGROOVE_API_KEY=flaky.api_key,
                       OGTK_CACHE_TTL_CUSTOMER_S="0", OGTK_CACHE_TTL_SUBSCRIPTIONS_S="0",
                       OGTK_CACHE_TTL_ORDERS_S="0", OGTK_CACHE_TTL_PRODUCT_S="0")
        client = app.test_client()
        body, headers = signed(detailed(KNOWN["reference"]))
        assert client.post("/gladly/lookup", data=body, headers=headers).status_code == 200
        assert client.get("/readyz").status_code == 200
        flaky.set_faults(error_rate=1.0)
        body, headers = signed(detailed(KNOWN["reference"]))
        stale = client.post("/gladly/lookup", data=body, headers=headers)
        assert stale.status_code == 200 and stale.headers.get("X-OGTK-Stale") == "1"
        response = client.get("/readyz")
    assert response.status_code == 503
    assert any("Ordergroove" in reason for reason in response.get_json()["reasons"])
