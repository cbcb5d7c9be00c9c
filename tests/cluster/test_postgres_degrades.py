"""Losing PostgreSQL degrades like a full data disk (CONTRACT section 10): lookups are still
answered, never a 500; /readyz stays 200 and reports the event database failing; events that
could not wait are counted lost; when the server is back events are stored again, no restart.
(``make soak`` runs the same under gunicorn: app.bench.scenarios.shared_servers.)"""

from __future__ import annotations

from app import metrics
from app.bench.scenarios.events import events_in_postgres as _stored
from app.sandbox import KNOWN

from steady_load import poll, steady_load
from support import LOOKUP_PATH, detailed, signed


def test_postgres_stopped_mid_load_then_back(make_app, postgres_server, postgres_url):
    app = make_app(OGTK_EVENTS_URL=postgres_url)
    services = app.extensions["ogtk"]
    client = app.test_client()
    payloads = [detailed(customer) for customer in (KNOWN["reference"], KNOWN["bench"])]

    def lookup(payload):
        body, headers = signed(payload)
        return client.post(LOOKUP_PATH, data=body, headers=headers)

    assert all(lookup(p).status_code == 200 for p in payloads)
    assert services.events.flush() and _stored(postgres_url) == 2
    assert client.get("/readyz").json["checks"]["events_db"] == "ok"
    lost_before = metrics.EVENT_WRITE_FAILURES._value.get()

    try:
        with steady_load(lookup, payloads) as statuses:
            poll(lambda: len(statuses) >= 6)
            postgres_server.pause()
            during = len(statuses)
            poll(lambda: len(statuses) >= during + 20)

            def reports_the_outage() -> bool:  # once the writer (lingering up to 0.25 s) or the probe meets it
                ready = client.get("/readyz")
                assert ready.status_code == 200, ready.json
                assert ready.json["checks"]["events"] == "ok"
                return ready.json["checks"]["events_db"].startswith("failing")

            poll(reports_the_outage, timeout=10)
    finally:
        if not postgres_server.started:
            postgres_server.resume()
    assert set(statuses) == {200}, f"answers during the outage: {sorted(set(statuses))}"
    answered = len(statuses) + 2

    poll(lambda: client.get("/readyz").json["checks"]["events_db"] == "ok")
    assert services.events.flush(timeout_s=30)
    lost = metrics.EVENT_WRITE_FAILURES._value.get() - lost_before
    assert _stored(postgres_url) + lost == answered, "each event is stored or counted lost, once"
    assert lookup(payloads[0]).status_code == 200
    assert services.events.flush() and _stored(postgres_url) + lost == answered + 1
