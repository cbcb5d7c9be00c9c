"""Every backend test runs against each backend: diskcache and a real redis-server.

``make_backend(namespace)`` opens a new backend on this test's store, the way another worker
or instance would (forked children call it too); disk and Redis start empty for every test.
"""

from __future__ import annotations

import pytest

from app.cache import CacheBackend, open_location

BACKENDS = ("disk", "redis")
#: generous per-call timeout: two shared cores under six test suites can stall a call briefly
TEST_REDIS_OPTIONS = {"timeout_s": 5.0}


@pytest.fixture(params=BACKENDS)
def backend_kind(request):
    return request.param


@pytest.fixture
def backend_location(backend_kind, request, tmp_path):
    return str(tmp_path / "cache") if backend_kind == "disk" else request.getfixturevalue("redis_url")


@pytest.fixture
def make_backend(backend_kind, backend_location):
    opened: list[CacheBackend] = []
    options = TEST_REDIS_OPTIONS if backend_kind == "redis" else {}

    def make(namespace: str = "test", location: str | None = None) -> CacheBackend:
        backend = open_location(location or backend_location, namespace=namespace, **options)
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(make_backend):
    return make_backend()
