"""Bench measurements for several instances: the cache on a local Redis, the events in a local PostgreSQL.

CONTRACT section 7 asks for the warm throughput at 16 clients again with ``OGTK_CACHE_URL`` and
``OGTK_EVENTS_URL`` on local servers (target: at least 80% of the diskcache figure), and
``make bench`` repeats its cold lookups on them too. :func:`servers` starts both (or says why
not); :func:`warm_throughput` measures gunicorn on them with the bench's own ``load``; the
rows are :func:`app.bench.report.shared_backend_rows`.

>>> with servers(work, say=say) as env:   # {"OGTK_CACHE_URL": …, "OGTK_EVENTS_URL": …} or the reason
...     results["shared_backends"] = {"throughput": warm_throughput(sandbox, key, payload, work, load, env=env)}
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import requests

from ..cluster.servers import ServerUnavailable, local_servers
from ..processes import ApiProcess
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


def warm_throughput(sandbox, key: str, payload: dict, work: Path, load: Callable[[ApiProcess, int, float], Any], *,
                    env: dict[str, str], seconds: float, say: Callable[[str], None] = print) -> Any:
    """The ``load`` result at 16 clients against gunicorn (its defaults) with ``env`` added."""
    api = ApiProcess(sandbox_url=sandbox.base_url, data_dir=fresh_dir(work / "shared-api"), signing_key=key,
                     log_path=work / "shared-api.log", env=env)
    with api:
        body, headers = signed_request(key, payload)
        if requests.post(api.lookup_url, data=body, headers=headers, timeout=10).status_code != 200:
            raise RuntimeError("warm-up lookup with the cache on Redis and the events in PostgreSQL failed")
        load(api, 16, 2)  # every worker's pools connected, every piece cached
        say("throughput at 16 concurrent clients, cache on Redis, events in PostgreSQL (wrk -c16) …")
        return load(api, 16, seconds)
