"""Bench measurements for several instances: the cache on a local Redis, the events in a local PostgreSQL.

CONTRACT section 7 asks for the warm throughput at 16 clients again with ``OGTK_CACHE_URL`` and
``OGTK_EVENTS_URL`` on local servers (target: at least 80% of the diskcache figure), and
``make bench`` repeats its cold lookups on them too. :func:`servers` starts both (or says why
not); :func:`warm_throughput` measures gunicorn on them and on diskcache alternately with the
bench's own ``load``; the rows are :func:`app.bench.report.shared_backend_rows`.

>>> with servers(work, say=say) as env:   # {"OGTK_CACHE_URL": …, "OGTK_EVENTS_URL": …} or the reason
...     warm_throughput(sandbox, key, payload, work, load, env=env, base_env={}, seconds=10)
{'diskcache': LoadResult(…), 'shared': LoadResult(…)}
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import requests

from ..cluster.servers import ServerUnavailable, local_servers
from ..processes import ApiProcess
from .loadgen import LoadResult
from .measure import fresh_dir, signed_request


@contextmanager
def servers(work: Path, *, say: Callable[[str], None] = print) -> Iterator[dict[str, str] | str]:
    """A fresh local Redis and PostgreSQL for the block: yields the environment that points an
    instance at them, or the reason (a string) when either cannot be started."""
    with ExitStack() as stack:
        say("starting a local redis-server and PostgreSQL for the shared-backend rows …")
        try:
            redis, postgres = stack.enter_context(local_servers(fresh_dir(work / "redis")))
        except ServerUnavailable as exc:
            say(f"skipping the Redis/PostgreSQL rows: {exc}")
            yield str(exc).splitlines()[0]
            return
        yield {"OGTK_CACHE_URL": redis.url(), "OGTK_EVENTS_URL": postgres.url}


def _started(sandbox, key: str, payload: dict, work: Path, name: str, env: dict[str, str]) -> ApiProcess:
    """gunicorn (its defaults) with ``env`` added, answering the warm lookup."""
    api = ApiProcess(sandbox_url=sandbox.base_url, data_dir=fresh_dir(work / name), signing_key=key,
                     log_path=work / f"{name}.log", env=env).start()
    body, headers = signed_request(key, payload)
    if requests.post(api.lookup_url, data=body, headers=headers, timeout=10).status_code != 200:
        api.stop()
        raise RuntimeError(f"warm-up lookup of the {name} instance failed")
    return api


def combined(runs: list[LoadResult]) -> LoadResult:
    """Several runs as one: requests, time and errors summed, each percentile the worst run's."""
    worst = {name: max(getattr(run, name) for run in runs) for name in ("p50_ms", "p90_ms", "p95_ms", "p99_ms",
                                                                        "max_ms")}
    return LoadResult(runs[0].tool, runs[0].connections, sum(r.seconds for r in runs), sum(r.requests for r in runs),
                      sum(r.non_2xx for r in runs), sum(r.socket_errors for r in runs), **worst)


def warm_throughput(sandbox, key: str, payload: dict, work: Path, load: Callable[[ApiProcess, int, float], Any], *,
                    env: dict[str, str], base_env: dict[str, str], seconds: float,
                    say: Callable[[str], None] = print) -> dict[str, LoadResult]:
    """16-client warm throughput of gunicorn with ``env`` (the shared servers) and, for the ratio,
    of a diskcache instance (``base_env`` only), measured alternately (diskcache, shared, shared,
    diskcache, twice: a machine that gets busier or quieter during the runs weighs on both alike;
    with one such round the share moved between 76% and 102% over four bench runs of equal code)."""
    halves = max(1.0, seconds / 2)
    with ExitStack() as stack:
        disk = _started(sandbox, key, payload, work, "diskcache-api", base_env)
        stack.callback(disk.stop)
        shared = _started(sandbox, key, payload, work, "shared-api", {**base_env, **env})
        stack.callback(shared.stop)
        for api in (disk, shared):
            load(api, 16, 2)  # every worker's pools connected, every piece cached
        say(f"throughput at 16 concurrent clients, diskcache and Redis + PostgreSQL alternately "
            f"(4 × {halves:g} s each) …")
        runs: dict[str, list[LoadResult]] = {"diskcache": [], "shared": []}
        for name, api in (("diskcache", disk), ("shared", shared), ("shared", shared), ("diskcache", disk)) * 2:
            runs[name].append(load(api, 16, halves))
    return {name: combined(results) for name, results in runs.items()}
