"""The shared backend for several instances: Redis via redis-py (``OGTK_CACHE_URL=redis://…``).

Every instance and worker sees the same entries, so a piece fetched by one is warm on all,
a lock taken by one (``add`` = ``SET NX PX``) holds fleet-wide and expires by itself, and a
customer's group (a Redis set of its keys) is dropped everywhere at once. Writes that touch a
group and compare-and-delete run as Lua scripts, so each is one atomic round trip.

Bounded: one connection pool per process (gunicorn worker) of ``max_connections``; a caller waits
at most ``timeout_s`` for a connection, and every command has the same socket timeout. After a
connection failure the backend answers :class:`CacheUnavailable` at once for ``retry_after_s``
instead of making every lookup wait for a dead server, then tries again: no restart is needed
when Redis comes back.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .base import CacheBackend, CacheUnavailable, Seconds, decode, encode


# KEYS[1] key, KEYS[2] group set; ARGV[1] value, ARGV[2] ms, ARGV[3] "1" = only if absent
_SET_IN_GROUP = """
local ok
if ARGV[3] == '1' then
  ok = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
else
  ok = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if not ok then return 0 end
redis.call('SADD', KEYS[2], KEYS[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
"""
# KEYS[1] group set; ARGV[1] member key, ARGV[2] ms
_LINK = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
_INVALIDATE_GROUP = """
local removed = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do removed = removed + redis.call('DEL', key) end
redis.call('DEL', KEYS[1])
return removed
"""
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def redacted(url: str) -> str:
    """The URL without its password (``redis://:secret@host`` → ``redis://***@host``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisBackend(CacheBackend):
    """Redis at ``url``, shared by every instance using the same database and namespace.

    >>> cache = RedisBackend("redis://127.0.0.1:6379/0", namespace="sandbox")
    >>> cache.add("lock:customer:42", "token", expire=5)
    True
    """

    shared = True

    def __init__(self, url: str, *, namespace: str = "default", max_connections: int = 16,
                 timeout_s: float = 0.5, retry_after_s: float = 1.0):
        if not namespace:
            raise ValueError("a cache namespace must not be empty")
        self.url = url
        self.namespace = namespace
        self.retry_after_s = retry_after_s
        self._keys = f"ogtk:{namespace}:k:"
        self._groups = f"ogtk:{namespace}:g:"
        # One retry without backoff: a pooled connection that died with a restarted server is
        # replaced at once; a server that is really gone fails within two socket timeouts.
        self._pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=timeout_s, socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s, health_check_interval=30, retry=Retry(NoBackoff(), 1),
        )
        self._client = redis.Redis(connection_pool=self._pool)
        self._set_in_group = self._client.register_script(_SET_IN_GROUP)
        self._link = self._client.register_script(_LINK)
        self._invalidate = self._client.register_script(_INVALIDATE_GROUP)
        self._delete_if = self._client.register_script(_DELETE_IF)
        self._down_until = 0.0
        self._down_lock = threading.Lock()

    def describe(self) -> str:
        return f"Redis at {redacted(self.url)}"

    def _run(self, operation, *args):
        """One Redis call, failing fast while the server is known to be down."""
        if self._down_until and time.monotonic() < self._down_until:
            raise CacheUnavailable(f"{self.describe()} is unreachable (retrying shortly)")
        try:
            result = operation(*args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if "No connection available" not in str(exc):  # a busy pool is not a dead server
                with self._down_lock:
                    self._down_until = time.monotonic() + self.retry_after_s
            raise CacheUnavailable(f"{self.describe()} failed: {type(exc).__name__}: {exc}") from exc
        except redis.RedisError as exc:
            raise CacheUnavailable(f"{self.describe()} failed: {type(exc).__name__}: {exc}") from exc
        self._down_until = 0.0
        return result

    @staticmethod
    def _ms(expire: Seconds) -> int:
        return max(1, int(expire * 1000))

    def get(self, key: str) -> Any:
        return decode(self._run(self._client.get, self._keys + key))

    def get_many(self, keys: list[str]) -> list[Any]:
        """One ``MGET``: a warm lookup reads each round's pieces in one round trip."""
        if not keys:
            return []
        return [decode(raw) for raw in self._run(self._client.mget, [self._keys + key for key in keys])]

    def _store(self, key: str, value: Any, expire: Seconds, group: str | None, only_if_absent: bool) -> bool:
        if group is None:
            return bool(self._run(lambda: self._client.set(self._keys + key, encode(value), px=self._ms(expire),
                                                           nx=only_if_absent)))
        args = [encode(value), self._ms(expire), "1" if only_if_absent else "0"]
        return bool(self._run(self._set_in_group, [self._keys + key, self._groups + group], args))

    def set(self, key: str, value: Any, *, expire: Seconds, group: str | None = None) -> None:
        self._store(key, value, expire, group, only_if_absent=False)

    def add(self, key: str, value: Any, *, expire: Seconds, group: str | None = None) -> bool:
        return self._store(key, value, expire, group, only_if_absent=True)

    def set_many(self, items: list[tuple[str, Any]], *, expire: Seconds) -> None:
        """One pipelined round trip of ``SET PX``."""
        if not items:
            return
        ms = self._ms(expire)

        def set_all() -> None:
            pipe = self._client.pipeline(transaction=False)
            for key, value in items:
                pipe.set(self._keys + key, encode(value), px=ms)
            pipe.execute()

        self._run(set_all)

    def add_many_reading(self, keys: list[str], value: Any, *, expire: Seconds,
                         read: list[str]) -> tuple[list[bool], list[Any]]:
        """``SET NX PX`` of each key (each atomic on its own), then one ``MGET`` of ``read``,
        pipelined: one round trip, where reading each piece after its lease was one more per
        piece, before its request could leave."""
        raw, ms = encode(value), self._ms(expire)

        def add_all_then_read() -> tuple[list[bool], list[Any]]:
            pipe = self._client.pipeline(transaction=False)
            for key in keys:
                pipe.set(self._keys + key, raw, px=ms, nx=True)
            if read:
                pipe.mget([self._keys + key for key in read])
            done = pipe.execute()
            found = done[len(keys)] if read else []
            return [bool(ok) for ok in done[:len(keys)]], [decode(one) for one in found]

        return self._run(add_all_then_read)

    def delete(self, key: str) -> bool:
        return bool(self._run(self._client.delete, self._keys + key))

    def delete_if(self, key: str, expected: Any) -> bool:
        return bool(self._run(self._delete_if, [self._keys + key], [encode(expected)]))

    def link(self, group: str, key: str, *, expire: Seconds) -> None:
        self._run(self._link, [self._groups + group], [self._keys + key, self._ms(expire)])

    def invalidate_group(self, group: str) -> int:
        return int(self._run(self._invalidate, [self._groups + group]))

    def clear(self) -> int:
        """Unlink every key and group set of this namespace; the number of entries removed."""
        def clear_namespace() -> int:
            removed = 0
            pattern = _glob_escape(f"ogtk:{self.namespace}:") + "*"
            keys = self._client.scan_iter(match=pattern, count=500)
            while batch := list(itertools.islice(keys, 500)):
                entries = sum(1 for key in batch if key.startswith(self._keys.encode()))
                self._client.unlink(*batch)
                removed += entries
            return removed

        return int(self._run(clear_namespace))

    def volume(self) -> int:
        """Memory the whole Redis server uses (Redis cannot size one namespace cheaply)."""
        return int(self._run(lambda: self._client.info("memory")["used_memory"]))

    def close(self) -> None:
        self._pool.disconnect()
