"""Real Redis and PostgreSQL servers for the tests, started by the suite itself.

Each runs once per session (app.cluster.servers: temporary directory, loopback, free port) and
is stopped when the session ends. When a server cannot be found or started, its tests skip
with the reason outside CI; with ``CI`` set (``true``/``1``) they fail instead, so CI never goes
green without running them.

>>> def test_shared(redis_url):  # a fresh, empty Redis database per test
...     redis.Redis.from_url(redis_url).ping()
"""

from __future__ import annotations

import itertools
import os

import pytest

from app.cache import CacheBackend, open_location
from app.cluster.servers import PostgresServer, RedisServer, ServerUnavailable

__all__ = ["PostgresServer", "RedisServer", "ServerUnavailable", "in_ci", "unavailable"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip outside CI, fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _start_or_give_up(make, what: str):
    """``make()`` then ``start()`` it; on failure clean up, then skip (or fail in CI) with the reason."""
    server = None
    try:
        server = make()
        server.start()
    except ServerUnavailable as exc:
        if server is not None:
            server.stop()
        unavailable(f"no {what} for this test: {exc}")
    return server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """The session's ``redis-server`` (skips outside CI when it cannot start)."""
    server = _start_or_give_up(lambda: RedisServer(tmp_path_factory.mktemp("redis")), "Redis")
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """A URL of an empty Redis database; the server is running again after the test even when
    the test stopped it."""
    import redis  # the client is a dependency of the app; imported here so collection never needs it

    client = redis.Redis.from_url(redis_server.url(), socket_timeout=5)
    client.flushall()
    client.close()
    yield redis_server.url()
    if not redis_server.running():
        redis_server.start()


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL cluster (skips outside CI when it cannot start)."""
    server = _start_or_give_up(PostgresServer, "PostgreSQL")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a new, empty PostgreSQL database of the session's server, one per test."""
    return postgres_server.create_database(f"t{next(_DATABASE_NUMBERS)}")


_DATABASE_NUMBERS = itertools.count(1)


# -- every cache backend, one test at a time ---------------------------------------------------

CACHE_BACKENDS = ("disk", "redis")
#: generous per-call timeout: two shared cores under several test suites can stall a call briefly
TEST_REDIS_OPTIONS = {"timeout_s": 5.0}


def child_backend_options(backend_kind: str) -> dict:
    """Options for a store opened by one of several processes contending at once: as generous a
    wait on disk as on Redis. Six processes opening one SQLite file on two loaded cores waited
    past diskcache's default second for its write lock, and a child that gave up never answered."""
    return TEST_REDIS_OPTIONS if backend_kind == "redis" else {"sqlite_timeout": 10.0}


@pytest.fixture(params=CACHE_BACKENDS)
def backend_kind(request):
    """Runs the test once per cache backend: ``"disk"`` (diskcache) and ``"redis"`` (a real server)."""
    return request.param


@pytest.fixture
def backend_location(backend_kind, request, tmp_path):
    """Where this test's store is: an empty directory, or the URL of an empty Redis database."""
    return str(tmp_path / "cache") if backend_kind == "disk" else request.getfixturevalue("redis_url")


@pytest.fixture
def make_backend(backend_kind, backend_location):
    """``make_backend(namespace="test", location=None)``: a new backend on this test's store, the
    way another worker or instance would open it (forked children may call it too)."""
    opened: list[CacheBackend] = []
    options = TEST_REDIS_OPTIONS if backend_kind == "redis" else {}

    def make(namespace: str = "test", location: str | None = None) -> CacheBackend:
        backend = open_location(location or backend_location, namespace=namespace, **options)
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()
