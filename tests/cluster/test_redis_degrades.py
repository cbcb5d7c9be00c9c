"""Losing Redis degrades like a full data disk (CONTRACT section 10): lookups are answered
straight from Ordergroove, never a 500; /readyz stays 200 and reports the cache failing; when
Redis is back the instance serves from the cache again without a restart. (``make soak`` runs
the same under gunicorn: app.bench.scenarios.shared_servers.)"""

from __future__ import annotations

from app.bench.scenarios.shared_servers import answered_from_cache
from app.sandbox import KNOWN

from steady_load import poll as _poll
from steady_load import steady_load
from support import LOOKUP_PATH, detailed, signed


def _upstream_calls(sandbox) -> int:
    return sandbox.stats()["requests"]


def test_redis_stopped_mid_load_then_back(make_app, sandbox, redis_server, redis_url):
    app = make_app(OGTK_CACHE_URL=redis_url, OGTK_CACHE_TIMEOUT_S="1")
    client = app.test_client()
    lookups = [detailed(customer) for customer in (KNOWN["reference"], KNOWN["bench"], KNOWN["quirks"])]

    def lookup(payload):
        body, headers = signed(payload)
        return client.post(LOOKUP_PATH, data=body, headers=headers)

    assert all(lookup(p).status_code == 200 for p in lookups)  # warm in Redis
    before = _upstream_calls(sandbox)
    assert lookup(lookups[0]).status_code == 200 and _upstream_calls(sandbox) == before  # served from Redis

    with steady_load(lookup, lookups) as statuses:
        _poll(lambda: len(statuses) >= 6)
        redis_server.stop()
        served_during_outage = len(statuses)
        _poll(lambda: len(statuses) >= served_during_outage + 12)
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json["checks"]["cache"].startswith("failing")
        assert "cache" not in str(ready.json.get("reasons", ""))
    assert set(statuses) == {200}, f"answers during the outage: {sorted(set(statuses))}"
    outage = _upstream_calls(sandbox)
    assert outage > before, "during the outage lookups must go to Ordergroove"

    redis_server.start()

    # one lookup fills the fresh Redis, the next must not go upstream
    _poll(lambda: answered_from_cache(lambda: lookup(lookups[0]).status_code, lambda: _upstream_calls(sandbox)))
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["cache"] == "ok"
