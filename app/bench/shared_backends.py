"""Bench rows for several instances: warm throughput with the shared cache on a local Redis.

CONTRACT section 7 asks for the warm throughput at 16 clients again with ``OGTK_CACHE_URL`` on
local Redis; the target is at least 80% of the diskcache figure. ``over_gunicorn`` calls
:func:`measure_redis` with its own ``load`` function after the diskcache throughput, and
``report.bench_rows`` appends :func:`rows`.

>>> results["throughput_redis"] = measure_redis(sandbox, key, payload, work, load, seconds=10, say=say)
>>> rows(results)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import requests

from ..cluster.servers import RedisServer, ServerUnavailable
from ..processes import ApiProcess
from .measure import fresh_dir, signed_request
from .report import Row, ms3, verdict

#: the share of the diskcache throughput the Redis backend must reach
REDIS_TARGET_SHARE = 0.8


def measure_redis(sandbox, key: str, payload: dict, work: Path, load: Callable[[ApiProcess, int, float], Any], *,
                  seconds: float, say: Callable[[str], None] = print, env: dict | None = None) -> Any:
    """The ``load`` result at 16 clients against gunicorn with its cache in a fresh local Redis,
    or ``None`` (with the reason said) when no ``redis-server`` can be started."""
    try:
        redis = RedisServer(fresh_dir(work / "redis")).start()
    except ServerUnavailable as exc:
        say(f"skipping the Redis rows: {exc}")
        return None
    try:
        api = ApiProcess(sandbox_url=sandbox.base_url, data_dir=fresh_dir(work / "redis-api"), signing_key=key,
                         log_path=work / "redis-api.log", env={**(env or {}), "OGTK_CACHE_URL": redis.url()})
        with api:
            body, headers = signed_request(key, payload)
            if requests.post(api.lookup_url, data=body, headers=headers, timeout=10).status_code != 200:
                raise RuntimeError("warm-up lookup with the Redis cache failed")
            load(api, 16, 2)  # every worker's pool connected, every piece cached
            say("throughput at 16 concurrent clients with OGTK_CACHE_URL on local Redis (wrk -c16) …")
            return load(api, 16, seconds)
    finally:
        redis.stop()


def rows(results: dict[str, Any]) -> list[Row]:
    """The Redis throughput row, judged against the diskcache figure of the same run."""
    redis, disk = results.get("throughput_redis"), results.get("throughput")
    if redis is None:
        return []
    share = redis.rps / disk.rps if disk is not None and disk.rps else None
    against = f" = {share:.0%} of diskcache" if share is not None else ""
    return [("Throughput, 16 concurrent signed clients, warm — cache on local Redis (OGTK_CACHE_URL)",
             f"{redis.rps:,.0f} lookups/s{against} · {ms3(redis.p50_ms, redis.p95_ms, redis.p99_ms)} · "
             f"non-2xx {redis.non_2xx}",
             verdict(None if share is None else share >= REDIS_TARGET_SHARE and redis.non_2xx == 0,
                     f"≥ {REDIS_TARGET_SHARE:.0%} of diskcache"))]
