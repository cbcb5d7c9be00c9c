"""Choosing the backend from the environment (OGTK_CACHE_URL, CONTRACT sections 2 and 10)."""

from __future__ import annotations

import pytest

from app.cache import DiskBackend, RedisBackend, open_backend
from app.settings import Settings, SettingsError

SANDBOX = {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700", "OGTK_ALLOW_UNAUTHENTICATED": "1"}


def test_the_disk_cache_under_the_data_dir_is_the_default(tmp_path):
    settings = Settings.from_env({**SANDBOX, "OGTK_DATA_DIR": str(tmp_path)})
    backend = open_backend(settings, namespace="ns")
    assert isinstance(backend, DiskBackend) and not backend.shared
    assert backend.directory == tmp_path / "cache"


def test_a_redis_url_selects_the_shared_redis_backend_with_its_pool_and_timeout():
    settings = Settings.from_env({**SANDBOX, "OGTK_CACHE_URL": "redis://:pw@127.0.0.1:6390/2",
                                  "OGTK_CACHE_MAX_CONNECTIONS": "4", "OGTK_CACHE_TIMEOUT_S": "0.2"})
    assert "pw" not in repr(settings)
    backend = open_backend(settings, namespace="ns")
    assert isinstance(backend, RedisBackend) and backend.shared
    assert backend._pool.max_connections == 4
    assert backend._pool.connection_kwargs["socket_timeout"] == 0.2


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "memcached://x"])
def test_a_cache_url_that_is_not_redis_is_refused_at_start(url):
    with pytest.raises(SettingsError, match="OGTK_CACHE_URL"):
        Settings.from_env({**SANDBOX, "OGTK_CACHE_URL": url})
