"""Group commit: concurrent records share transactions, each caller learns its own outcome."""

from __future__ import annotations

import threading

from app.events import LookupEvent
from app.events.group_commit import GroupCommit
from app.events.store import EventStore


def _run_threads(n, target):
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)


def _set_once_waiting(commit: GroupCommit, count: int, event: threading.Event) -> threading.Thread:
    """A thread that sets ``event`` once ``count`` rows wait behind the write under way."""
    def watch():
        while len(commit._waiting) < count:
            threading.Event().wait(0.005)
        event.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher


def test_threads_arriving_during_a_write_share_the_next_transaction():
    written: list[list[int]] = []
    first_write_started, everyone_waiting = threading.Event(), threading.Event()

    def write(rows):
        written.append(list(rows))
        if len(written) == 1:
            first_write_started.set()
            everyone_waiting.wait(10)  # hold the first transaction open while the others arrive
        return True

    commit = GroupCommit(write)
    results: dict[int, bool] = {}

    def record(i):
        if i:
            first_write_started.wait(10)
        results[i] = commit.submit(i)

    releaser = _set_once_waiting(commit, 15, everyone_waiting)
    _run_threads(16, record)
    releaser.join()
    assert results == {i: True for i in range(16)}
    assert written[0] == [0] and sorted(written[1]) == list(range(1, 16)) and len(written) == 2
    assert (commit.groups, commit.rows) == (2, 16)


def test_a_failed_transaction_fails_each_of_its_rows_and_the_next_one_is_written():
    outcomes = iter([False, True])
    commit = GroupCommit(lambda rows: next(outcomes))
    assert commit.submit("a") is False
    assert commit.submit("b") is True


def test_rows_beyond_the_largest_group_wait_for_a_later_one_and_get_their_own_outcome():
    written: list[list[int]] = []
    gate = threading.Event()

    def write(rows):
        gate.wait(10)
        written.append(list(rows))
        return True

    commit = GroupCommit(write, max_group=3)
    results: dict[int, bool] = {}
    starter = threading.Thread(target=lambda: results.__setitem__(-1, commit.submit(-1)))
    starter.start()
    while not commit._writing:
        threading.Event().wait(0.001)

    releaser = _set_once_waiting(commit, 10, gate)
    _run_threads(10, lambda i: results.__setitem__(i, commit.submit(i)))
    starter.join()
    releaser.join()
    assert all(results.values()) and len(results) == 11
    assert sorted(r for group in written for r in group) == list(range(-1, 10))
    assert max(len(group) for group in written) == 3


def test_concurrent_records_are_all_stored_once_with_their_hourly_rollup(tmp_path):
    store = EventStore(tmp_path / "events.sqlite3")
    ok: list[bool] = []

    def record(i):
        for _ in range(25):
            ok.append(store.record(LookupEvent.create(level="BASIC", outcome="matched" if i % 2 else "unmatched")))

    _run_threads(8, record)
    assert ok == [True] * 200
    assert store.count() == 200
    hourly = store._read("SELECT outcome, SUM(lookups) FROM lookup_hourly GROUP BY outcome ORDER BY outcome")
    assert hourly == [("matched", 100), ("unmatched", 100)]
    assert store._lookup_commit.rows == 200
    store.close()
