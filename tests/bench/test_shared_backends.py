"""The bench's shared servers: the environment pointing at them, or the reason they are missing."""

from __future__ import annotations

import os

import pytest
import redis

from app.bench import shared_backends
from app.bench.loadgen import LoadResult
from app.bench.upstream import worker_rss_mib
from app.cluster import servers as cluster_servers
from app.cluster.servers import ServerUnavailable


@pytest.mark.slow
def test_servers_yield_the_environment_of_a_running_redis_and_postgresql(redis_server, postgres_server, tmp_path):
    # the session's servers only prove both can start here (or skip with the reason)
    import psycopg

    with shared_backends.servers(tmp_path, say=lambda _: None) as env:
        assert set(env) == {"OGTK_CACHE_URL", "OGTK_EVENTS_URL"}
        assert redis.Redis.from_url(env["OGTK_CACHE_URL"], socket_timeout=5).ping()
        with psycopg.connect(env["OGTK_EVENTS_URL"], connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(redis.ConnectionError):  # stopped with the block
        redis.Redis.from_url(env["OGTK_CACHE_URL"], socket_timeout=2).ping()


@pytest.mark.parametrize("missing", ["RedisServer", "PostgresServer"])
def test_servers_yield_the_reason_when_one_is_missing(monkeypatch, tmp_path, missing):
    def unavailable(*_args, **_kwargs):
        raise ServerUnavailable(f"{missing} is not installed (Debian: apt-get install it)\nmore detail")

    monkeypatch.setattr(cluster_servers, missing, unavailable)
    said = []
    with shared_backends.servers(tmp_path, say=said.append) as env:
        assert env == f"{missing} is not installed (Debian: apt-get install it)"
    assert any("skipping" in line for line in said)


def test_worker_rss_skips_processes_that_are_gone():
    sizes = worker_rss_mib([os.getpid(), 2 ** 22 + 12345])
    assert len(sizes) == 1 and sizes[0] > 1


def test_alternate_runs_combine_into_their_total_rate_and_worst_percentiles():
    first = LoadResult("wrk", 16, 5.0, 4000, 1, 0, 10.0, 20.0, 30.0, 40.0, 90.0)
    second = LoadResult("wrk", 16, 5.0, 2000, 0, 2, 12.0, 18.0, 35.0, 38.0, 80.0)
    both = shared_backends.combined([first, second])
    assert both.rps == 600.0 and both.non_2xx == 1 and both.socket_errors == 2
    assert (both.p50_ms, both.p90_ms, both.p95_ms, both.p99_ms, both.max_ms) == (12.0, 20.0, 35.0, 40.0, 90.0)
