"""ResourceCache: freshness, stale-if-error, 404 memory, invalidation, stampedes, sharing, degradation.

Every test that takes ``cache`` (or ``make_backend``) runs twice: on diskcache and on a real
redis-server (tests/servers.py), proving both backends give the cache the same semantics.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from app.cache import CacheUnavailable
from app.deadline import Deadline
from app.ordergroove.cache import ResourceCache
from app.ordergroove.errors import NotFound, RateLimited, Unauthorized, Unavailable
from app.ordergroove.fetcher import FetchStats
from app.ordergroove.plan import Pieces
from app.settings import Settings
from servers import child_backend_options

REPO = Path(__file__).resolve().parents[2]
TTLS = {"customer": 90, "subscriptions": 90, "orders": 90, "items": 90, "product": 6 * 3600, "search": 90}


class Clock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


class Upstream:
    """A fetch function that counts its calls and returns (or raises) what it is told."""

    def __init__(self, value=None, delay=0.0):
        self.value = value
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(make_backend, clock):
    c = ResourceCache(backend=make_backend(), ttls=TTLS, stale_max_age=3600, negative_ttl=30, clock=clock)
    yield c
    c.close()


def raw_entry(cache, key):
    """What the store holds for ``key``, bytes as written (no decoding by the backend)."""
    backend = cache.backend
    if hasattr(backend, "_client"):
        return backend._client.get(backend._keys + key)
    import diskcache

    with diskcache.Cache(str(backend.directory)) as raw:
        return raw.get(backend._key(key))


def raw_store(cache, key, value):
    """Write ``value`` under ``key`` past the backend (what an older release may have left)."""
    backend = cache.backend
    if hasattr(backend, "_client"):
        backend._client.set(backend._keys + key, pickle.dumps(value))
        return
    import diskcache

    with diskcache.Cache(str(backend.directory)) as raw:
        raw.set(backend._key(key), value)


def opening(location, **options):
    """Python source that opens the same store in another process, as another worker would."""
    return (f"from app.cache import open_location; "
            f"backend = open_location({location!r}, namespace='test', **{options!r})")


def sample(name, kind):
    return REGISTRY.get_sample_value(name, {"kind": kind}) or 0.0


def forever():
    return Deadline.unlimited()


def test_miss_then_hit(cache):
    fetch = Upstream({"merchant_user_id": "c1"})
    stats = FetchStats()
    hits, misses = sample("ogtk_cache_hits_total", "customer"), sample("ogtk_cache_misses_total", "customer")
    first = cache.get_or_fetch("customer", "c1", fetch, deadline=forever(), stats=stats)
    second = cache.get_or_fetch("customer", "c1", fetch, deadline=forever(), stats=stats)
    assert fetch.calls == 1
    assert (first.hit, second.hit) == (False, True)
    assert second.value == {"merchant_user_id": "c1"} and not second.stale
    assert second.fetched_at == first.fetched_at and first.fetched_at.tzinfo is not None
    assert stats.as_dict() == {"upstream_calls": 0, "cache_hits": 1, "cache_misses": 1, "stale": 0}
    assert sample("ogtk_cache_hits_total", "customer") == hits + 1
    assert sample("ogtk_cache_misses_total", "customer") == misses + 1


def test_kinds_and_keys_do_not_collide(cache):
    cache.get_or_fetch("customer", "1", Upstream("cust"), deadline=forever())
    assert cache.get_or_fetch("product", "1", Upstream("prod"), deadline=forever()).value == "prod"


def test_entry_expires_after_its_kind_ttl(cache, clock):
    fetch = Upstream("v1")
    cache.get_or_fetch("orders", "s1", fetch, deadline=forever())
    clock.now += 89
    assert cache.get_or_fetch("orders", "s1", fetch, deadline=forever()).hit
    clock.now += 2
    fetch.value = "v2"
    result = cache.get_or_fetch("orders", "s1", fetch, deadline=forever())
    assert (result.value, result.hit, fetch.calls) == ("v2", False, 2)
    # products live much longer
    cache.get_or_fetch("product", "p1", fetch, deadline=forever())
    clock.now += 3600
    assert cache.get_or_fetch("product", "p1", fetch, deadline=forever()).hit


@pytest.mark.parametrize("failure", [Unavailable("down"), RateLimited("slow down")])
def test_expired_entry_is_served_stale_when_upstream_fails(cache, clock, failure):
    cache.get_or_fetch("subscriptions", "c1", Upstream(["old"]), deadline=forever(), customer_id="c1")
    fetched_at = cache.get_or_fetch("subscriptions", "c1", Upstream(), deadline=forever()).fetched_at
    clock.now += 600
    stats = FetchStats()
    before = sample("ogtk_cache_stale_served_total", "subscriptions")
    result = cache.get_or_fetch("subscriptions", "c1", Upstream(failure), deadline=forever(), stats=stats)
    assert result.value == ["old"] and result.stale and not result.hit
    assert result.fetched_at == fetched_at
    assert stats.stale == 1
    assert sample("ogtk_cache_stale_served_total", "subscriptions") == before + 1


def test_stale_is_not_served_past_the_stale_max_age(cache, clock):
    cache.get_or_fetch("customer", "c1", Upstream("old"), deadline=forever())
    clock.now += 90 + 3600 + 1
    with pytest.raises(Unavailable):
        cache.get_or_fetch("customer", "c1", Upstream(Unavailable("down")), deadline=forever())


@pytest.mark.parametrize("failure", [NotFound("gone"), Unauthorized("bad key")])
def test_stale_is_never_served_for_not_found_or_unauthorized(cache, clock, failure):
    cache.get_or_fetch("subscriptions", "c1", Upstream("old"), deadline=forever())
    clock.now += 600
    with pytest.raises(type(failure)):
        cache.get_or_fetch("subscriptions", "c1", Upstream(failure), deadline=forever())


def test_customer_404_is_remembered_for_the_negative_ttl(cache, clock):
    fetch = Upstream(NotFound("no such customer", status=404))
    with pytest.raises(NotFound):
        cache.get_or_fetch("customer", "ghost", fetch, deadline=forever(), customer_id="ghost")
    clock.now += 29
    with pytest.raises(NotFound):
        cache.get_or_fetch("customer", "ghost", fetch, deadline=forever())
    with pytest.raises(NotFound):
        cache.peek("customer", "ghost")
    assert fetch.calls == 1
    clock.now += 2
    fetch.value = {"merchant_user_id": "ghost"}
    assert cache.get_or_fetch("customer", "ghost", fetch, deadline=forever()).value == {"merchant_user_id": "ghost"}
    assert fetch.calls == 2


def test_404_of_a_list_is_not_remembered(cache):
    fetch = Upstream(NotFound("?"))
    for _ in range(2):
        with pytest.raises(NotFound):
            cache.get_or_fetch("subscriptions", "c1", fetch, deadline=forever())
    assert fetch.calls == 2


def test_invalidate_customer_drops_their_entries_but_keeps_products(cache):
    for kind, key in (("customer", "c1"), ("subscriptions", "c1"), ("orders", "s1")):
        cache.get_or_fetch(kind, key, Upstream(kind), deadline=forever(), customer_id="c1")
    cache.get_or_fetch("customer", "c2", Upstream("other"), deadline=forever(), customer_id="c2")
    cache.get_or_fetch("product", "p1", Upstream("product"), deadline=forever())
    assert cache.invalidate_customer("c1") == 3
    assert cache.peek("customer", "c1") is None and cache.peek("orders", "s1") is None
    assert cache.peek("customer", "c2").value == "other"
    assert cache.peek("product", "p1").value == "product"


def test_peek_returns_only_fresh_entries(cache, clock):
    assert cache.peek("customer", "c1") is None
    cache.get_or_fetch("customer", "c1", Upstream("v"), deadline=forever())
    stats = FetchStats()
    assert cache.peek("customer", "c1", stats=stats).value == "v" and stats.cache_hits == 1
    clock.now += 91
    assert cache.peek("customer", "c1") is None


class Spy:
    """Wraps a cache backend and records which methods were used."""

    def __init__(self, inner):
        self.inner, self.used = inner, []

    def __getattr__(self, name):
        self.used.append(name)
        return getattr(self.inner, name)

    def __contains__(self, key):
        self.used.append("__contains__")
        return key in self.inner


def test_fresh_hit_is_one_read_and_takes_no_lease(cache):
    cache.get_or_fetch("customer", "c1", Upstream("v"), deadline=forever())
    cache.backend = spy = Spy(cache.backend)
    cache.get_or_fetch("customer", "c1", Upstream(AssertionError("must not fetch")), deadline=forever())
    assert spy.used == ["get"]


def test_stampede_of_threads_makes_one_upstream_call(cache):
    fetch = Upstream({"n": 1}, delay=0.2)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def worker():
        barrier.wait()
        try:
            results.append(cache.get_or_fetch("subscriptions", "hot", fetch, deadline=Deadline(5)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert fetch.calls == 1
    assert len(results) == 8 and all(r.value == {"n": 1} for r in results)
    assert sum(not r.hit for r in results) == 1


def test_waiter_serves_stale_when_the_lease_holder_outlasts_its_deadline(cache, clock):
    cache.get_or_fetch("orders", "s1", Upstream("old"), deadline=forever())
    clock.now += 600
    cache.backend.add("lock:orders:s1", "someone-else", expire=30)

    def client_call():  # what the real client does with an expired deadline
        raise Unavailable("deadline reached")

    started = time.monotonic()
    result = cache.get_or_fetch("orders", "s1", client_call, deadline=Deadline(0.2))
    assert result.stale and result.value == "old"
    assert 0.15 < time.monotonic() - started < 2


def test_waiter_fetches_itself_when_an_abandoned_lease_expires(cache):
    cache.backend.add("lock:customer:c9", "crashed-worker", expire=0.3)
    fetch = Upstream("mine")
    result = cache.get_or_fetch("customer", "c9", fetch, deadline=Deadline(5))
    assert result.value == "mine" and fetch.calls == 1


def test_leases_taken_together_are_used_by_their_fetches_and_released(cache):
    cache.backend.add("lock:items:o2", "someone-else", expire=30)
    tokens = [token for token, _ in cache.lease_many([("items", "o1"), ("items", "o2"), ("orders", "c1")],
                                                     deadline=forever())]
    assert tokens[0] and tokens[1] is None and tokens[2] == tokens[0]  # o2 is someone else's fetch
    assert not cache.backend.add("lock:items:o1", "me-too", expire=30)  # held until its fetch ends
    fetch = Upstream(["line"])
    result = cache.get_or_fetch("items", "o1", fetch, deadline=forever(), lease=tokens[0])
    assert result.value == ["line"] and not result.hit and fetch.calls == 1
    assert cache.backend.get("lock:items:o1") is None  # released by the value's write
    failing = Upstream(Unavailable("down"))
    with pytest.raises(Unavailable):
        cache.get_or_fetch("orders", "c1", failing, deadline=forever(), lease=tokens[2])
    assert cache.backend.get("lock:orders:c1") is None  # released on failure too
    assert cache.backend.get("lock:items:o2") == "someone-else"


def test_a_pre_taken_lease_finds_a_value_stored_meanwhile_and_serves_stale_on_failure(cache, clock):
    cache.get_or_fetch("orders", "c2", Upstream("old"), deadline=forever())
    [(token, _)] = cache.lease_many([("orders", "c2")], deadline=forever())  # fresh: a caller may still lease
    hit = cache.get_or_fetch("orders", "c2", Upstream(AssertionError("must not fetch")), deadline=forever(),
                             lease=token)
    assert hit.hit and hit.value == "old" and cache.backend.get("lock:orders:c2") is None
    clock.now += 600  # expired, still within the stale age
    [(token, _)] = cache.lease_many([("orders", "c2")], deadline=forever())
    stale = cache.get_or_fetch("orders", "c2", Upstream(Unavailable("down")), deadline=forever(), lease=token)
    assert stale.stale and stale.value == "old" and cache.backend.get("lock:orders:c2") is None


def test_the_read_taken_with_the_leases_stands_for_the_read_before_each_fetch(cache, clock, monkeypatch):
    """Each leased piece read itself again before its request (a Redis round trip per piece of
    a cold round); the leases' own read now tells a fetch that finished before them, and keeps
    the stale copy for a fetch that fails."""
    cache.get_or_fetch("orders", "old", Upstream("old"), deadline=forever())
    clock.now += 100  # "old" expired, still within the stale age
    cache.get_or_fetch("orders", "done", Upstream("theirs"), deadline=forever())  # finished before our lease
    gets = recorded_calls(monkeypatch, cache.backend, "get")
    (t1, done), (t2, old), (t3, none) = cache.lease_many([("orders", "done"), ("orders", "old"), ("orders", "new")],
                                                         deadline=forever())
    assert t1 and t2 and t3 and none is None
    hit = cache.get_or_fetch("orders", "done", Upstream(AssertionError("must not fetch")), deadline=forever(),
                             lease=t1, leased_entry=done)
    stale = cache.get_or_fetch("orders", "old", Upstream(Unavailable("down")), deadline=forever(), lease=t2,
                               leased_entry=old)
    fetched = cache.get_or_fetch("orders", "new", Upstream("new"), deadline=forever(), lease=t3, leased_entry=none)
    assert (hit.hit, hit.value) == (True, "theirs") and (stale.stale, stale.value) == (True, "old")
    assert (fetched.hit, fetched.value) == (False, "new") and gets == []
    assert [cache.backend.get(f"lock:orders:{key}") for key in ("done", "old", "new")] == [None, None, None]


def test_leases_cannot_be_taken_from_a_broken_cache_so_everyone_fetches(cache):
    cache.backend = Broken()
    tokens = [token for token, _ in cache.lease_many([("items", "a"), ("items", "b")], deadline=forever())]
    assert all(tokens)
    assert cache.get_or_fetch("items", "a", Upstream(["x"]), deadline=forever(), lease=tokens[0]).value == ["x"]


def test_a_plan_that_stops_gives_back_the_leases_of_pieces_it_never_fetched(cache):
    release = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        pieces = Pieces(cache, lambda: pool, max_in_flight=1, deadline=Deadline(5), stats=None)
        slow = lambda: release.wait(5) and "o1"  # noqa: E731 - in flight until released
        pieces.get_all([("items", "o1", slow, None, print), ("items", "o2", Upstream("o2"), None, print)])
        assert cache.backend.get("lock:items:o2")  # leased with o1, waiting behind the in-flight cap
        pieces.stop()
        pieces.close()  # o2 never runs: its lease is given back at once, not left to expire
        assert cache.backend.get("lock:items:o2") is None
        release.set()
    assert cache.backend.get("lock:items:o1") is None  # the running fetch released its own
    assert cache.peek("items", "o1").value == "o1" and cache.peek("items", "o2") is None


def recorded_calls(monkeypatch, backend, name: str) -> list:
    """The first argument of every call of ``backend.<name>`` from now on (calls still go through)."""
    calls: list = []
    method = getattr(backend, name)
    monkeypatch.setattr(backend, name, lambda arg: calls.append(arg) or method(arg))
    return calls


class InlineExecutor:
    """Runs each piece as it is handed over: every piece of a round has finished by the next wait."""

    def submit(self, work):
        future = Future()
        future.set_result(work())
        return future


def inline_pieces(cache) -> Pieces:
    executor = InlineExecutor()
    return Pieces(cache, lambda: executor, max_in_flight=4, deadline=Deadline(5), stats=None)


def test_pieces_that_finish_together_make_their_next_reads_in_one_store_call(cache, monkeypatch):
    """A cold profile's subscriptions and orders come back together; their products and order
    lines were read in two store calls (two Redis round trips before round two could leave)."""
    reads = recorded_calls(monkeypatch, cache.backend, "get_many")
    pieces = inline_pieces(cache)
    found: dict[str, list] = {}

    def then_read(kind: str):
        return lambda outcome: pieces.peek([(kind, outcome.value)], lambda entries: found.setdefault(kind, entries))

    pieces.get_all([("subscriptions", "c1", Upstream("p1"), None, then_read("product")),
                    ("orders", "c1", Upstream("o1"), None, then_read("items"))])
    pieces.run()
    assert [sorted(read) for read in reads] == [["orders:c1", "subscriptions:c1"], ["items:o1", "product:p1"]]
    assert found == {"product": [None], "items": [None]}


def test_a_round_leased_after_its_read_sends_its_requests_without_reading_again(cache, monkeypatch):
    gets = recorded_calls(monkeypatch, cache.backend, "get")
    pieces = inline_pieces(cache)
    answers: list = []
    pieces.get_all([("customer", "c1", Upstream({"merchant_user_id": "c1"}), "c1", answers.append),
                    ("orders", "c1", Upstream(["o1"]), "c1", answers.append)])
    pieces.run()
    assert sorted(str(a.value) for a in answers) == ["['o1']", "{'merchant_user_id': 'c1'}"] and gets == []
    assert cache.backend.get("lock:customer:c1") is None and cache.peek("orders", "c1").value == ["o1"]


def _run_python(code: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_cache_is_shared_between_processes(backend_location, make_backend):
    writer = _run_python(f"""
        from app.deadline import Deadline
        from app.ordergroove.cache import ResourceCache
        {opening(backend_location)}
        c = ResourceCache(backend=backend, ttls={{"customer": 90}})
        r = c.get_or_fetch("customer", "c1", lambda: {{"merchant_user_id": "c1"}}, deadline=Deadline(5),
                           customer_id="c1")
        print(r.hit)
    """, REPO)
    out, err = writer.communicate(timeout=30)
    assert writer.returncode == 0, err
    assert out.strip() == "False"
    reader = ResourceCache(backend=make_backend(), ttls={"customer": 90})
    fetch = Upstream(AssertionError("must not be called"))
    result = reader.get_or_fetch("customer", "c1", fetch, deadline=Deadline(5))
    assert result.hit and result.value == {"merchant_user_id": "c1"} and fetch.calls == 0
    reader.close()


def test_stampede_across_processes_waits_for_the_other_process(backend_location, make_backend):
    other = _run_python(f"""
        import sys, time
        from app.deadline import Deadline
        from app.ordergroove.cache import ResourceCache
        {opening(backend_location)}
        c = ResourceCache(backend=backend, ttls={{"customer": 90}})
        def fetch():
            print("fetching", flush=True)
            time.sleep(0.5)
            return "from-the-other-process"
        c.get_or_fetch("customer", "c1", fetch, deadline=Deadline(10))
        print("done", flush=True)
    """, REPO)
    try:
        assert other.stdout.readline().strip() == "fetching"
        local = ResourceCache(backend=make_backend(), ttls={"customer": 90})
        fetch = Upstream(AssertionError("must not be called"))
        result = local.get_or_fetch("customer", "c1", fetch, deadline=Deadline(10))
        assert result.value == "from-the-other-process" and fetch.calls == 0
        local.close()
    finally:
        _, err = other.communicate(timeout=30)
    assert other.returncode == 0, err


class Broken:
    """A backend stand-in whose store fails on every call (a full disk)."""

    shared = False

    def describe(self):
        return "broken store"

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")
        return fail

    def __contains__(self, key):
        raise sqlite3.OperationalError("database or disk is full")


def test_broken_cache_degrades_to_upstream_and_warns_once(cache, caplog):
    cache.backend = Broken()
    fetch = Upstream("live")
    with caplog.at_level(logging.WARNING, logger="app.ordergroove.cache"):
        for _ in range(3):
            assert cache.get_or_fetch("customer", "c1", fetch, deadline=forever(), customer_id="c1").value == "live"
        assert cache.peek("customer", "c1") is None
        assert cache.invalidate_customer("c1") == 0
    assert fetch.calls == 3
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    with pytest.raises(sqlite3.OperationalError):
        cache.check()


def test_unusable_directory_degrades_and_check_fails(tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    broken = ResourceCache(blocker / "cache", ttls=TTLS)
    with caplog.at_level(logging.WARNING, logger="app.ordergroove.cache"):
        assert broken.get_or_fetch("customer", "c1", Upstream("live"), deadline=forever()).value == "live"
    assert "unusable" in caplog.text
    assert broken.volume() == 0
    with pytest.raises(CacheUnavailable):
        broken.check()


def test_check_volume_clear(cache):
    cache.check()
    cache.get_or_fetch("product", "p1", Upstream("x" * 1000), deadline=forever())
    assert cache.volume() > 0
    cache.clear()
    assert cache.peek("product", "p1") is None


def test_from_settings_uses_the_configured_ttls_and_directory(tmp_path):
    settings = Settings.from_env({"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700", "OGTK_DATA_DIR": str(tmp_path),
                                  "OGTK_CACHE_TTL_PRODUCT_S": "5", "OGTK_CACHE_NEGATIVE_TTL_S": "7"})
    c = ResourceCache.from_settings(settings)
    c.check()
    assert c.directory == tmp_path / "cache" and c.directory.is_dir() and not c.shared
    assert c.ttls["product"] == 5 and c.ttls["customer"] == 90 and c.negative_ttl == 7
    assert c.stale_max_age == 24 * 3600
    c.close()


# -- namespacing (CONTRACT section 2) ----------------------------------------------------------

def _settings(tmp_path, url, key=None):
    env = {"ORDERGROOVE_BASE_URL": url, "OGTK_DATA_DIR": str(tmp_path)}
    if key:
        env["ORDERGROOVE_API_KEY"] = key
    return Settings.from_env(env)


def test_entries_are_namespaced_by_base_url_and_key_identity(tmp_path):
    sandbox = ResourceCache.from_settings(_settings(tmp_path, "http://127.0.0.1:8700"))
    sandbox.get_or_fetch("customer", "c1", Upstream("from the sandbox"), deadline=forever(), customer_id="c1")
    sandbox.add("lock:x", 1, expire=60)
    real = ResourceCache.from_settings(_settings(tmp_path, "https://restapi.ordergroove.com", "live-key-123456"))
    other_key = ResourceCache.from_settings(_settings(tmp_path, "https://restapi.ordergroove.com", "another-key-99"))
    assert real.peek("customer", "c1") is None and other_key.peek("customer", "c1") is None
    assert real.get("lock:x") is None and real.add("lock:x", 1, expire=60)
    fetch = Upstream("real")
    assert real.get_or_fetch("customer", "c1", fetch, deadline=forever()).value == "real" and fetch.calls == 1
    assert other_key.invalidate_customer("c1") == 0  # another account's invalidation touches nothing here
    assert sandbox.peek("customer", "c1").value == "from the sandbox"
    same = ResourceCache.from_settings(_settings(tmp_path, "https://restapi.ordergroove.com/", "live-key-123456"))
    assert same.peek("customer", "c1").value == "real"  # one account, one namespace
    for c in (sandbox, real, other_key, same):
        c.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert b"live-key-123456" not in stored and b"another-key-99" not in stored


def test_values_are_stored_as_json_text_not_pickles(cache):
    cache.get_or_fetch("subscriptions", "c1", Upstream([{"public_id": "s1", "live": "True"}]), deadline=forever())
    cache.add("dedup:e1", {"at": 1.5}, expire=60)
    raw = raw_entry(cache, "subscriptions:c1")
    assert isinstance(raw, bytes) and json.loads(raw)[2] == [{"public_id": "s1", "live": "True"}]
    assert json.loads(raw_entry(cache, "state:dedup:e1")) == {"at": 1.5}


def test_an_old_pickled_entry_reads_as_a_miss(cache):
    raw_store(cache, "customer:c1", ("ok", 1.0, {"merchant_user_id": "c1"}))
    fetch = Upstream({"merchant_user_id": "c1", "new": True})
    assert cache.get_or_fetch("customer", "c1", fetch, deadline=forever()).value["new"] and fetch.calls == 1


# -- shared state primitives (locks, de-duplication) --------------------------------------------

def test_add_get_set_delete(cache):
    assert cache.get("k") is None and cache.get("k", "dflt") == "dflt"
    assert cache.add("k", {"first": True}, expire=60) is True
    assert cache.add("k", {"first": False}, expire=60) is False
    assert cache.get("k") == {"first": True}
    cache.set("k", [1, 2], expire=60)
    assert cache.get("k") == [1, 2]
    assert cache.delete("k") is True and cache.delete("k") is False
    assert cache.add("k", "again", expire=60) is True
    assert cache.peek("customer", "k") is None  # its own key space


def test_add_expires(cache):
    assert cache.add("short", 1, expire=0.2)
    deadline = Deadline(5)
    while cache.get("short") is not None and not deadline.expired():
        time.sleep(0.02)
    assert cache.add("short", 2, expire=60)


def test_add_is_one_winner_across_processes(backend_kind, backend_location, make_backend):
    # A store write that fails counts as "go ahead" (the cache's degraded mode), which would make
    # the sum exceed 50: the store is created here first, and the children wait as long for it as
    # those of tests/cache/test_backends.py, so three interpreters race on ``add`` alone.
    make_backend().get("created")
    options = child_backend_options(backend_kind)
    code = f"""
        from app.ordergroove.cache import ResourceCache
        {opening(backend_location, **options)}
        c = ResourceCache(backend=backend, ttls={{}})
        print(sum(c.add(f"lock:{{i}}", "me", expire=60) for i in range(50)))
    """
    procs = [_run_python(code, REPO) for _ in range(3)]
    won = [int(p.communicate(timeout=60)[0].strip() or -1) for p in procs]
    assert sum(won) == 50, won


def test_add_goes_ahead_when_the_cache_is_unusable(cache):
    cache.backend = Broken()
    assert cache.add("k", 1, expire=60) is True and cache.get("k") is None and cache.delete("k") is False


# -- stampede waiters holding an expired copy ---------------------------------------------------

def _leader_in_flight(cache, kind, key, release: threading.Event, outcome):
    """Start a caller that leases ``kind:key`` and holds it until ``release`` is set."""
    started = threading.Event()

    def fetch():
        started.set()
        release.wait(10)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def run():
        try:
            cache.get_or_fetch(kind, key, fetch, deadline=Deadline(10))
        except Exception:
            pass

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(5)
    return thread


def test_waiter_with_a_stale_copy_answers_from_it_when_the_leader_fails(make_backend, clock):
    polling, all_waiting = set(), threading.Event()

    def sleep(seconds):  # the cache's poll sleep: tells the test who is waiting
        polling.add(threading.get_ident())
        if len(polling) >= 3:
            all_waiting.set()
        time.sleep(seconds)

    cache = ResourceCache(backend=make_backend(), ttls=TTLS, stale_max_age=3600, clock=clock, sleep=sleep,
                          stale_wait_s=30)
    cache.get_or_fetch("orders", "c1", Upstream("old"), deadline=forever())
    clock.now += 600
    release = threading.Event()
    leader = _leader_in_flight(cache, "orders", "c1", release, Unavailable("503"))
    waiter_fetch = Upstream(AssertionError("a waiter must not ask Ordergroove again"))
    results = []
    waiters = [threading.Thread(target=lambda: results.append(
        cache.get_or_fetch("orders", "c1", waiter_fetch, deadline=Deadline(30)))) for _ in range(3)]
    for t in waiters:
        t.start()
    assert all_waiting.wait(10)
    release.set()
    for t in waiters + [leader]:
        t.join(10)
    assert waiter_fetch.calls == 0
    assert len(results) == 3 and all(r.stale and r.value == "old" for r in results)
    cache.close()


def test_waiter_with_a_stale_copy_does_not_wait_out_a_slow_leader(make_backend, clock):
    cache = ResourceCache(backend=make_backend(), ttls=TTLS, stale_max_age=3600, clock=clock, stale_wait_s=0.05)
    cache.get_or_fetch("orders", "c1", Upstream("old"), deadline=forever())
    clock.now += 600
    release = threading.Event()
    leader = _leader_in_flight(cache, "orders", "c1", release, "new")
    try:
        waiter_fetch = Upstream(AssertionError("a waiter must not ask Ordergroove again"))
        result = cache.get_or_fetch("orders", "c1", waiter_fetch, deadline=Deadline(30))
        assert result.stale and result.value == "old" and waiter_fetch.calls == 0
        assert not release.is_set()  # answered while the leader was still fetching
    finally:
        release.set()
        leader.join(10)
    cache.close()


# -- batches: one request for many keys, each kept as its own entry -----------------------------

def by_id(raw):
    return raw.get("id")


def test_get_many_fetches_only_the_missing_keys_and_stores_each(cache, clock):
    cache.get_or_fetch("product", "p1", Upstream({"id": "p1", "v": 1}), deadline=forever())
    asked = []

    def batch(ids):
        asked.append(sorted(ids))
        return [{"id": i, "v": 2} for i in ids if i != "gone"] + [{"id": "unasked"}]

    stats = FetchStats()
    results = cache.get_many("product", ["p1", "p2", "p3", "gone"], batch, id_of=by_id, deadline=forever(),
                             stats=stats)
    assert asked == [["gone", "p2", "p3"]]
    assert results["p1"].hit and results["p1"].value["v"] == 1
    assert results["p2"].value == {"id": "p2", "v": 2} and not results["p2"].hit
    assert results["gone"] is None  # not in the answer: the caller may ask by id
    assert stats.cache_hits == 1 and stats.cache_misses == 3
    assert cache.peek("product", "p3").value["v"] == 2 and cache.peek("product", "unasked") is None
    clock.now += 7 * 3600
    assert cache.peek("product", "p2") is None  # each entry keeps its own freshness


def test_get_many_serves_stale_copies_when_the_batch_fails(cache, clock):
    cache.get_many("product", ["p1"], lambda ids: [{"id": "p1"}], id_of=by_id, deadline=forever())
    clock.now += 6.5 * 3600  # past the 6 h freshness, inside the hour of stale-if-error

    def down(ids):
        raise Unavailable("503")

    results = cache.get_many("product", ["p1", "p2"], down, id_of=by_id, deadline=forever())
    assert results["p1"].stale and results["p1"].value == {"id": "p1"}
    assert isinstance(results["p2"], Unavailable)


def test_get_many_answers_a_remembered_404_without_asking(cache):
    with pytest.raises(NotFound):
        cache.get_or_fetch("product", "gone", Upstream(NotFound("404")), deadline=forever())
    results = cache.get_many("product", ["gone"], lambda ids: pytest.fail("asked"), id_of=by_id, deadline=forever())
    assert isinstance(results["gone"], NotFound)


def test_peek_many_reads_every_piece_in_one_store_call(cache, clock):
    cache.get_or_fetch("customer", "c1", Upstream({"merchant_user_id": "c1"}), deadline=forever())
    with pytest.raises(NotFound):
        cache.get_or_fetch("product", "gone", Upstream(NotFound("404", status=404)), deadline=forever())
    cache.backend = spy = Spy(cache.backend)
    found = cache.peek_many([("customer", "c1"), ("orders", "c1"), ("product", "gone")])
    assert spy.used == ["get_many"]
    assert found[0].hit and found[0].value == {"merchant_user_id": "c1"}
    assert found[1] is None and isinstance(found[2], NotFound)
    clock.now += 600
    assert cache.peek_many([("customer", "c1")]) == [None]


# -- writes held back until the answer is sent (WriteBehind) -----------------------------------

def test_a_held_write_and_its_lease_wait_for_the_flush(cache, make_backend):
    """The value is handed on at once; the store (as another worker sees it) gets it, and the
    lease is freed, only when the lookup flushes after answering."""
    later = cache.write_behind()
    [(token, _)] = cache.lease_many([("items", "o1")], deadline=forever())
    result = cache.get_or_fetch("items", "o1", Upstream(["line"]), deadline=forever(), lease=token, later=later)
    unleased = cache.get_or_fetch("orders", "c1", Upstream(["order"]), deadline=forever(), customer_id="c1",
                                  later=later)
    assert result.value == ["line"] and unleased.value == ["order"]
    other_worker = make_backend()
    assert other_worker.get("items:o1") is None and other_worker.get("lock:items:o1") == token
    assert other_worker.get("orders:c1") is None and other_worker.get("lock:orders:c1") is not None
    assert later.flush() == 2 and later.flush() == 0
    assert other_worker.get("items:o1")[2] == ["line"] and other_worker.get("lock:items:o1") is None
    assert other_worker.get("orders:c1")[2] == ["order"] and other_worker.get("lock:orders:c1") is None


def test_this_process_never_reads_around_its_own_held_write(cache):
    later = cache.write_behind()
    cache.get_or_fetch("customer", "c1", Upstream({"id": "c1"}), deadline=forever(), later=later)
    # the next lookup in this worker, before the first one's answer has gone out
    again = cache.get_or_fetch("customer", "c1", Upstream(AssertionError("asked twice")), deadline=forever())
    assert again.hit and again.value == {"id": "c1"}
    assert later.flush() == 0  # written on that read, and only once
    [peeked] = cache.peek_many([("customer", "c1")])
    assert peeked.hit


def test_a_held_write_lands_before_an_invalidation_not_after_it(cache, make_backend):
    later = cache.write_behind()
    cache.get_or_fetch("subscriptions", "c1", Upstream(["old"]), deadline=forever(), customer_id="c1", later=later)
    assert cache.invalidate_customer("c1") == 1  # the webhook's eviction takes the held write with it
    later.flush()
    assert make_backend().get("subscriptions:c1") is None


def test_a_held_batch_write_releases_its_lease_on_flush(cache, make_backend):
    later = cache.write_behind()
    fetch = Upstream([{"id": "P1"}, {"id": "P2"}])
    results = cache.get_many("product", ["P1", "P2"], lambda ids: fetch(), id_of=by_id, deadline=forever(),
                             later=later)
    assert sorted(results) == ["P1", "P2"] and all(not r.hit for r in results.values())
    batch_lease = "lock:batch:product:" + hashlib.sha256(b"P1\nP2").hexdigest()[:16]
    other_worker = make_backend()
    assert other_worker.get("product:P1") is None and other_worker.get(batch_lease) is not None
    assert later.flush() == 1
    assert other_worker.get("product:P1")[2] == {"id": "P1"} and other_worker.get(batch_lease) is None
    assert cache.peek("product", "P2").hit and fetch.calls == 1


def test_a_piece_that_arrives_after_the_flush_is_written_at_once(cache, make_backend):
    """A lookup that stopped early (an unknown customer, a failure) answers while its other
    pieces still run; one finishing after the flush must not sit queued with its lease held."""
    later = cache.write_behind()
    assert later.flush() == 0  # answered
    [(token, _)] = cache.lease_many([("orders", "c9")], deadline=forever())
    cache.get_or_fetch("orders", "c9", Upstream(["late"]), deadline=forever(), lease=token, later=later)
    other_worker = make_backend()
    assert other_worker.get("orders:c9")[2] == ["late"] and other_worker.get("lock:orders:c9") is None
    assert later.flush() == 0
