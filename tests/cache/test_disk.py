"""The disk backend's own promises, beyond the shared backend suite."""

from __future__ import annotations

import threading
import time

from app.cache import DiskBackend


def test_threads_of_one_process_never_wait_out_sqlites_busy_timeout_on_each_others_writes(tmp_path):
    """Writers queue in the process instead of polling SQLite's lock: a cold lookup's parallel
    pieces used to sleep 1–25 ms each in SQLite's busy handler, and with a short timeout fail."""
    backend = DiskBackend(tmp_path / "cache", namespace="t", sqlite_timeout=0.002)
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        barrier.wait()
        try:
            for i in range(60):
                backend.add(f"lock:{n}:{i}", "token", expire=30)
                backend.set(f"k:{n}:{i}", {"n": n, "i": i}, expire=60, group=f"customer:{n}")
                backend.delete_if(f"lock:{n}:{i}", "token")
        except Exception as exc:  # CacheUnavailable: "database is locked"
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert backend.get("k:7:59") == {"n": 7, "i": 59} and backend.get("lock:7:59") is None
    backend.close()


def test_get_many_reads_in_one_pass_what_get_reads_one_by_one(tmp_path):
    backend = DiskBackend(tmp_path / "cache", namespace="mine")
    other = DiskBackend(tmp_path / "cache", namespace="theirs")
    big = {"results": ["x" * 1000] * 60}  # over diskcache's inline limit: kept in a file
    backend.set("big", big, expire=60)
    backend.set("soon", 1, expire=0.05)
    other.set("shared-name", "theirs", expire=60)
    for i in range(1200):
        backend.set(f"k{i}", i, expire=60)
    time.sleep(0.1)  # "soon" expires
    keys = ["big", "soon", "shared-name", "k0", "k0", "absent"] + [f"k{i}" for i in range(1200)]
    many = backend.get_many(keys)
    assert many == [backend.get(key) for key in keys]
    assert many[:6] == [big, None, None, 0, 0, None] and many[6:] == list(range(1200))
    backend.close()
    other.close()


def test_each_connections_page_cache_is_bounded(tmp_path):
    """Fetch threads live as long as the worker; each keeps a connection and its page cache."""
    backend = DiskBackend(tmp_path / "cache", namespace="t")
    backend.set("k", 1, expire=60)
    store = backend._store()
    assert store.sqlite_cache_size == 512
    assert store._sql("PRAGMA cache_size").fetchone()[0] == 512
    backend.close()


def test_the_same_stored_bytes_decode_once_and_the_memory_of_them_is_bounded():
    from app.cache.base import _MISSING, _Decoded, decode, encode

    raw = encode({"merchant_user_id": "42", "email": "dana@example.com"})
    first = decode(raw)
    assert first == {"merchant_user_id": "42", "email": "dana@example.com"}
    assert decode(bytes(raw)) is first  # identical bytes: the value decoded last time
    assert decode(b"\x80\x04not json") is None and decode(None) is None

    memo = _Decoded(max_bytes=100, max_entry=40)
    memo.put(b"a" * 41, 1)  # larger than an entry may be: not kept
    for n in range(6):
        memo.put(bytes([65 + n]) * 30, n)
    assert memo.get(b"a" * 41) is _MISSING and memo._bytes <= 100
    assert memo.get(b"F" * 30) == 5 and memo.get(b"A" * 30) is _MISSING  # oldest out
