"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import gc

from app.sandbox import KNOWN, SandboxServer
from support import detailed


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_probes_ordergroove_when_idle(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ok", "checks": {
        "data_dir": "ok", "cache": "ok", "events": "ok", "process": "ok", "ordergroove": "ok"}}


def test_ordergroove_down_is_reported_but_never_makes_the_instance_unready(make_app):
    with SandboxServer() as down:
        down.set_faults(error_rate=1.0)
        app = make_app(ORDERGROOVE_BASE_URL=down.base_url, ORDERGROOVE_API_KEY=down.api_key)
        response = app.test_client().get("/readyz")
        metrics_text = app.test_client().get("/metrics").get_data(as_text=True)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["checks"]["ordergroove"].startswith("failing: ")
    assert 'ogtk_dependency_up{dependency="ordergroove"} 0.0' in metrics_text


def test_a_revoked_key_shows_as_failing_not_as_answered(make_app, sandbox):
    from support import signed

    app = make_app(ORDERGROOVE_API_KEY="revoked-key")
    client = app.test_client()
    body, headers = signed(detailed(KNOWN["reference"]))
    assert client.post("/gladly/lookup", data=body, headers=headers).status_code == 503  # Ordergroove said 401
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "refused the API key" in response.get_json()["checks"]["ordergroove"]


def test_readyz_is_503_when_the_event_store_is_unusable(make_app, tmp_path):
    data_dir = tmp_path / "blocked"
    (data_dir / "events.sqlite3").mkdir(parents=True)
    response = make_app(OGTK_DATA_DIR=str(data_dir)).test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["events"].startswith("failing: ") and body["checks"]["ordergroove"] == "ok"
    assert any(reason.startswith("events: ") for reason in body["reasons"])


def test_readyz_is_503_when_the_data_directory_is_full(app, monkeypatch):
    import os

    from app import readiness

    real = os.statvfs

    def full(path):
        stat = real(path)
        return os.statvfs_result((stat.f_bsize, stat.f_frsize, stat.f_blocks, 0, 0, *tuple(stat)[5:]))

    monkeypatch.setattr(readiness.os, "statvfs", full)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "is full" in response.get_json()["checks"]["data_dir"]


def test_readyz_is_503_while_shutting_down(app, services):
    services.readiness.begin_shutdown()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["process"] == "failing: shutting down"


def test_metrics_count_lookups_upstream_calls_and_cache(client, lookup):
    lookup(detailed(KNOWN["reference"]))
    lookup(detailed(KNOWN["reference"]))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ogtk_lookups_total{level="DETAILED",outcome="matched"}' in text
    assert "ogtk_lookup_seconds_bucket" in text
    assert 'ogtk_upstream_requests_total{endpoint="customers.retrieve",status="200"}' in text
    assert "ogtk_cache_hits_total" in text and "ogtk_cache_misses_total" in text


def test_readyz_stays_200_when_ordergroove_starts_failing_and_stale_answers_go_out(make_app):
    from support import signed

    with SandboxServer() as flaky:
        app = make_app(ORDERGROOVE_BASE_URL=flaky.base_url, ORDERGROOVE_API_KEY=flaky.api_key,
                       OGTK_CACHE_TTL_CUSTOMER_S="0", OGTK_CACHE_TTL_SUBSCRIPTIONS_S="0",
                       OGTK_CACHE_TTL_ORDERS_S="0", OGTK_CACHE_TTL_PRODUCT_S="0")
        client = app.test_client()
        body, headers = signed(detailed(KNOWN["reference"]))
        assert client.post("/gladly/lookup", data=body, headers=headers).status_code == 200
        assert client.get("/readyz").get_json()["checks"]["ordergroove"] == "ok"
        flaky.set_faults(error_rate=1.0)
        body, headers = signed(detailed(KNOWN["reference"]))
        stale = client.post("/gladly/lookup", data=body, headers=headers)
        assert stale.status_code == 200 and stale.headers.get("X-OGTK-Stale") == "1"
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["ordergroove"].startswith("failing: ")


def test_sigterm_in_a_gunicorn_worker_fails_readiness_then_runs_gunicorns_handler(app, services, monkeypatch, tmp_path):
    import runpy
    import signal
    from pathlib import Path
    from types import SimpleNamespace

    monkeypatch.setenv("OGTK_METRICS_DIR", str(tmp_path / "prom"))  # the config file sets PROMETHEUS_MULTIPROC_DIR
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # … and monkeypatch puts it back afterwards
    conf = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    gunicorn_saw = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: gunicorn_saw.append(signum))
    try:
        conf["post_worker_init"](SimpleNamespace(wsgi=app))
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    finally:
        signal.signal(signal.SIGTERM, previous)
        gc.unfreeze()  # the hook froze this test process's objects too
    assert gunicorn_saw == [signal.SIGTERM]
    assert app.test_client().get("/readyz").status_code == 503


def test_a_gunicorn_worker_keeps_what_start_up_built_out_of_the_collectors_sight(app, monkeypatch, tmp_path):
    """A full collection in a worker walked the app and everything it holds again (34 ms in one
    warm run, with every request on the worker's threads waiting): post_worker_init freezes them."""
    import runpy
    import signal
    from pathlib import Path
    from types import SimpleNamespace

    monkeypatch.setenv("OGTK_METRICS_DIR", str(tmp_path / "prom"))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    conf = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    previous = signal.getsignal(signal.SIGTERM)
    gc.unfreeze()
    assert id(app) in {id(o) for o in gc.get_objects()}  # collectable generations hold it
    try:
        conf["post_worker_init"](SimpleNamespace(wsgi=app))
        assert gc.get_freeze_count() > 0
        tracked = {id(o) for o in gc.get_objects()}
        assert id(app) not in tracked and id(app.extensions["ogtk"]) not in tracked
        made_later = [[], {}]  # a container holding containers: the collector tracks it
        assert id(made_later) in {id(o) for o in gc.get_objects()}  # still collected as before
    finally:
        signal.signal(signal.SIGTERM, previous)
        gc.unfreeze()
