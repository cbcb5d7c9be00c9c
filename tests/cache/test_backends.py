"""One suite, every backend: the semantics ResourceCache, leases and de-duplication rely on."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import threading
import time

import pytest

from app.cache import CacheUnavailable, Lease, open_location
from app.processes import free_port
from servers import child_backend_options


def eventually(condition, timeout: float = 15.0, interval: float = 0.05) -> bool:
    """Poll ``condition`` until true or ``timeout``; expiry is the store's clock, not ours."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def test_values_round_trip_as_json(backend):
    value = {"merchant_user_id": "42", "live": "True", "items": [1, 2.5, None], "name": "Zoë"}
    backend.set("customer:42", value, expire=60)
    assert backend.get("customer:42") == value
    assert backend.get("customer:absent") is None


def test_an_entry_that_is_not_json_reads_as_absent(backend_kind, backend, tmp_path):
    """An entry pickled by an older release (or a foreign key) is a miss, not an error."""
    if backend_kind == "disk":
        import diskcache

        with diskcache.Cache(str(backend.directory)) as raw:
            raw.set(backend._key("customer:old"), ("ok", 1.0, {"merchant_user_id": "old"}))
    else:
        backend._client.set(backend._keys + "customer:old", b"\x80\x04not json")
    assert backend.get("customer:old") is None


def test_an_entry_expires_and_a_longer_one_stays(backend):
    backend.set("short", "gone soon", expire=0.3)
    backend.set("long", "stays", expire=600)
    assert eventually(lambda: backend.get("short") is None)
    assert backend.get("long") == "stays"


def test_add_stores_only_when_absent_or_expired(backend):
    assert backend.add("lock:k", "first", expire=0.3)
    assert not backend.add("lock:k", "second", expire=60)
    assert backend.get("lock:k") == "first"
    assert eventually(lambda: backend.add("lock:k", "third", expire=60))
    assert backend.get("lock:k") == "third"


def test_delete_and_delete_if_only_while_the_value_is_still_ours(backend):
    backend.set("k", "mine", expire=60)
    assert not backend.delete_if("k", "theirs")
    assert backend.get("k") == "mine"
    assert backend.delete_if("k", "mine")
    assert backend.get("k") is None
    backend.set("k", "x", expire=60)
    assert backend.delete("k")
    assert not backend.delete("k")


def test_set_releasing_stores_and_frees_only_its_own_lease(backend):
    backend.add("lock:k", "mine", expire=30)
    backend.set_releasing("k", {"v": 1}, expire=60, group="customer:7", lease_key="lock:k", token="mine")
    assert backend.get("k") == {"v": 1} and backend.get("lock:k") is None
    assert backend.invalidate_group("customer:7") == 1  # stored in its group
    backend.add("lock:k", "theirs", expire=30)  # our lease expired and someone else took it
    backend.set_releasing("k", {"v": 2}, expire=60, group=None, lease_key="lock:k", token="mine")
    assert backend.get("k") == {"v": 2} and backend.get("lock:k") == "theirs"


def test_set_if_absent_has_one_winner_across_threads(backend):
    barrier = threading.Barrier(16)
    winners = []

    def contend(n: int) -> None:
        barrier.wait()
        if backend.add("lock:hot", f"thread-{n}", expire=60):
            winners.append(n)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert backend.get("lock:hot") == f"thread-{winners[0]}"


def _contend_in_child(open_backend, barrier, results) -> None:
    backend = open_backend()
    backend.get("lock:absent")  # opened before the race: the race is the add, not six opens at once
    barrier.wait(timeout=60)
    results.put((os.getpid(), backend.add("lock:hot", os.getpid(), expire=60)))
    backend.close()


@pytest.fixture
def open_backend(backend_kind, backend_location):
    """What ``make_backend`` does, picklable for a spawned child (a fresh interpreter copies no
    lock held by one of the test process's threads), with :func:`child_backend_options`."""
    return functools.partial(open_location, backend_location, namespace="test",
                             **child_backend_options(backend_kind))


def test_set_if_absent_has_one_winner_across_processes(open_backend, backend):
    assert backend.get("lock:hot") is None  # the store exists before the children open it
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(6), context.Queue()
    children = [context.Process(target=_contend_in_child, args=(open_backend, barrier, results))
                for _ in range(6)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=30)
    winners = [pid for pid, won in outcomes if won]
    assert len(winners) == 1
    assert backend.get("lock:hot") == winners[0]


def _hold_lease_then_hang(open_backend, held) -> None:
    lease = Lease(open_backend(), "refresh:42", expire=1.0)
    held.put(lease.acquire())
    time.sleep(600)  # killed by the test while holding the lease


def test_a_killed_lease_holder_blocks_others_only_until_the_lease_expires(open_backend, backend):
    context = multiprocessing.get_context("spawn")
    held = context.Queue()
    holder = context.Process(target=_hold_lease_then_hang, args=(open_backend, held))
    holder.start()
    try:
        assert held.get(timeout=60) is True
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(timeout=30)
    other = Lease(backend, "refresh:42", expire=60)
    assert eventually(other.acquire), "the dead holder's lease never expired"
    assert other.release()
    assert not other.release()


def test_a_lease_is_released_only_by_its_holder(backend):
    first = Lease(backend, "refresh:7", expire=60)
    second = Lease(backend, "refresh:7", expire=60)
    assert first.acquire() and not second.acquire()
    assert second.held_by_anyone()
    assert not second.release()
    assert first.release()
    assert not first.held_by_anyone()
    with second as lease:
        assert lease.acquired
    assert not second.held_by_anyone()


def test_group_invalidation_drops_that_customers_keys_only(backend):
    backend.set("customer:1", {"id": 1}, expire=60, group="customer:1")
    backend.set("subscriptions:1", [1, 2], expire=60, group="customer:1")
    backend.add("search:a@example.com", ["1"], expire=60, group="customer:1")
    backend.set("customer:2", {"id": 2}, expire=60, group="customer:2")
    backend.set("product:P1", {"name": "Coffee"}, expire=60)
    assert backend.invalidate_group("customer:1") == 3
    assert [backend.get(k) for k in ("customer:1", "subscriptions:1", "search:a@example.com")] == [None] * 3
    assert backend.get("customer:2") == {"id": 2}
    assert backend.get("product:P1") == {"name": "Coffee"}
    assert backend.invalidate_group("customer:1") == 0
    backend.set("customer:1", {"id": 1, "again": True}, expire=60, group="customer:1")
    assert backend.invalidate_group("customer:1") == 1


def test_a_linked_key_goes_with_every_group_it_was_linked_to(backend):
    backend.set("search:shared@example.com", ["1", "2"], expire=60)
    backend.link("customer:1", "search:shared@example.com", expire=60)
    backend.link("customer:2", "search:shared@example.com", expire=60)
    backend.link("customer:2", "search:shared@example.com", expire=60)  # twice is once
    backend.set("customer:2", {"id": 2}, expire=60, group="customer:2")
    assert backend.invalidate_group("customer:2") == 2
    assert backend.get("search:shared@example.com") is None
    backend.set("search:shared@example.com", ["1"], expire=60)
    assert backend.invalidate_group("customer:1") == 1  # still linked to customer 1
    assert backend.invalidate_group("customer:2") == 0  # that link went with the first invalidation


def test_namespaces_sharing_one_store_never_see_each_other(make_backend):
    sandbox, production = make_backend("sandbox"), make_backend("production")
    sandbox.set("customer:1", "from the sandbox", expire=60, group="customer:1")
    assert production.get("customer:1") is None
    assert production.add("customer:1", "from production", expire=60, group="customer:1")
    assert production.invalidate_group("customer:1") == 1
    assert sandbox.get("customer:1") == "from the sandbox"
    production.set("product:P1", "production product", expire=60)
    assert sandbox.clear() == 1
    assert sandbox.get("customer:1") is None
    assert production.get("product:P1") == "production product"


def test_clear_empties_the_namespace(backend):
    for n in range(30):
        backend.set(f"k{n}", n, expire=60, group=f"g{n % 3}")
    assert backend.clear() >= 30
    assert all(backend.get(f"k{n}") is None for n in range(30))
    assert backend.invalidate_group("g0") == 0


def test_check_volume_and_reuse_after_close(backend):
    backend.check()
    backend.set("k", "v", expire=60)
    assert backend.volume() > 0
    backend.close()
    assert backend.get("k") == "v"  # reopens by itself


def test_an_empty_namespace_is_refused(make_backend):
    with pytest.raises(ValueError, match="namespace"):
        make_backend("")


def test_a_broken_store_raises_cache_unavailable(backend_kind, make_backend, tmp_path):
    if backend_kind == "disk":
        (tmp_path / "not-a-dir").write_text("a file where the cache directory should be")
        broken = make_backend(location=str(tmp_path / "not-a-dir"))
    else:
        broken = make_backend(location=f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    with pytest.raises(CacheUnavailable):
        broken.get("k")
    with pytest.raises(CacheUnavailable):
        broken.check()


def test_get_many_answers_in_order_with_none_for_the_absent(backend):
    backend.set("a", {"n": 1}, expire=60)
    backend.set("c", [3], expire=60)
    assert backend.get_many(["a", "b", "c"]) == [{"n": 1}, None, [3]]
    assert backend.get_many([]) == []


def test_add_many_reading_takes_each_absent_key_once_and_leaves_held_ones(backend):
    assert backend.add("lock:b", "theirs", expire=60)
    assert backend.add_many_reading(["lock:a", "lock:b", "lock:c"], "mine", expire=60, read=[]) == \
        ([True, False, True], [])
    assert [backend.get(k) for k in ("lock:a", "lock:b", "lock:c")] == ["mine", "theirs", "mine"]
    assert backend.add_many_reading(["lock:a", "lock:c"], "again", expire=60, read=[])[0] == [False, False]
    assert backend.add_many_reading(["lock:d"], "one", expire=0.3, read=[])[0] == [True]
    assert backend.add_many_reading([], "x", expire=1, read=[]) == ([], [])
    assert eventually(lambda: backend.get("lock:d") is None)  # expired: free again
    assert backend.add_many_reading(["lock:d", "lock:e"], "later", expire=60, read=[])[0] == [True, True]


def test_add_many_reading_reads_after_its_adds_in_order(backend):
    backend.set("items:a", ["line"], expire=60)
    added, found = backend.add_many_reading(["lock:items:a", "lock:items:b"], "mine", expire=60,
                                            read=["items:a", "items:b", "lock:items:b"])
    assert added == [True, True] and found == [["line"], None, "mine"]  # the read sees the adds


def test_set_many_stores_every_pair_with_its_expiry(backend):
    backend.set("product:b", "old", expire=60)
    backend.set_many([("product:a", {"id": "a"}), ("product:b", {"id": "b"})], expire=0.5)
    backend.set_many([], expire=1)
    assert backend.get_many(["product:a", "product:b"]) == [{"id": "a"}, {"id": "b"}]
    assert eventually(lambda: backend.get_many(["product:a", "product:b"]) == [None, None])
