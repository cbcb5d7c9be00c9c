"""What only the Redis backend has: failing fast while the server is gone, recovering by itself."""

from __future__ import annotations

import time

import pytest

from app.cache import CacheUnavailable, RedisBackend
from app.cache.redis import redacted


def test_losing_redis_fails_fast_and_recovers_without_a_restart(redis_server, redis_url):
    backend = RedisBackend(redis_url, namespace="test", timeout_s=5.0, retry_after_s=0.2)
    backend.set("k", "v", expire=60)
    redis_server.stop()
    with pytest.raises(CacheUnavailable, match="failed"):
        backend.get("k")
    with pytest.raises(CacheUnavailable, match="unreachable"):  # no new connection attempt for a while
        backend.get("k")
    redis_server.start()
    deadline = time.monotonic() + 15
    while True:
        try:
            backend.set("k", "back", expire=60)
            break
        except CacheUnavailable:
            assert time.monotonic() < deadline, "the backend never reconnected"
            time.sleep(0.05)
    assert backend.get("k") == "back"
    backend.close()


def test_a_url_password_never_reaches_descriptions():
    assert redacted("redis://:s3cret@cache.internal:6379/0") == "redis://***@cache.internal:6379/0"
    assert redacted("redis://user:s3cret@cache.internal/1") == "redis://***@cache.internal/1"
    assert redacted("redis://cache.internal:6379/0") == "redis://cache.internal:6379/0"
    backend = RedisBackend("redis://:s3cret@127.0.0.1:1/0", namespace="test")
    assert "s3cret" not in backend.describe()
