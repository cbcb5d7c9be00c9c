"""The write queue in front of PostgreSQL: batched, bounded, drained on close."""

from __future__ import annotations

import threading
import time

import pytest

from app.events.batching import RetryLater, WriteBatcher


class Recorder:
    """A ``write`` that keeps every batch, and can be held (blocked) or made to fail."""

    def __init__(self):
        self.batches: list[list] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.blocked = threading.Event()  # a call is waiting for hold
        self.failed = threading.Event()  # a call raised RetryLater
        self.down = False

    def __call__(self, batch):
        self.entered.set()
        if not self.hold.is_set():
            self.blocked.set()
        assert self.hold.wait(10)
        if self.down:
            self.failed.set()
            raise RetryLater("server down")
        self.batches.append(list(batch))

    @property
    def written(self) -> list:
        return [item for batch in self.batches for item in batch]


@pytest.fixture
def lost():
    counted: list = []
    yield counted


def test_a_burst_is_written_in_a_few_batches_in_order(lost):
    write = Recorder()
    batcher = WriteBatcher(write, on_lost=lambda items, reason: lost.extend(items), batch_size=100).start()
    write.hold.clear()
    batcher.submit(0)
    assert write.entered.wait(5)  # the writer is busy with the first event: the burst queues up
    for n in range(1, 501):
        assert batcher.submit(n)
    write.hold.set()
    assert batcher.flush(timeout_s=10)
    assert write.written == list(range(501)) and not lost
    assert [len(batch) for batch in write.batches] == [1, 100, 100, 100, 100, 100]
    batcher.close()


def test_the_queue_is_bounded_and_overflow_is_counted_lost(lost):
    write = Recorder()
    write.down = True
    reasons = []
    batcher = WriteBatcher(write, on_lost=lambda items, reason: (lost.extend(items), reasons.append(reason)),
                           max_queue=10, batch_size=4, retry_pause_s=0.01, max_retry_pause_s=0.02,
                           max_wait_s=30).start()
    batcher.submit(0)
    assert write.failed.wait(5)
    write.hold.clear()
    assert write.blocked.wait(5)  # retrying item 0 after a failure: the writer is not healthy
    accepted = [batcher.submit(n) for n in range(1, 30)]  # so a full queue refuses at once
    assert accepted.count(True) == 10 and accepted.count(False) == 19
    assert sorted(lost) == list(range(11, 30)) and set(reasons) == {"queue_full"}
    assert batcher.depth == 10 and not batcher.healthy
    write.down = False  # the server is back: what waited is written, nothing twice
    write.hold.set()
    assert batcher.flush(timeout_s=10)
    assert sorted(write.written) == list(range(11)) and batcher.failing_since is None and batcher.healthy
    batcher.close()


def _writing_with_a_full_queue(lost, max_queue: int, **options) -> tuple[Recorder, WriteBatcher]:
    """A batcher whose writer is inside a write of item 0 while items 1..max_queue fill its queue."""
    write = Recorder()
    batcher = WriteBatcher(write, on_lost=lambda items, reason: lost.extend(items), max_queue=max_queue,
                           batch_size=max_queue, max_wait_s=30, **options).start()
    write.hold.clear()
    batcher.submit(0)
    assert write.blocked.wait(5)  # the writer is in a write that just started
    for n in range(1, max_queue + 1):
        assert batcher.submit(n)
    return write, batcher


def test_a_full_queue_in_front_of_a_healthy_writer_waits_for_room_instead_of_losing(lost):
    write, batcher = _writing_with_a_full_queue(lost, 5, healthy_write_s=30)
    blocked = threading.Thread(target=lambda: batcher.submit(6))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive() and batcher.depth == 5, "a full queue in front of a healthy writer waits"
    write.hold.set()
    blocked.join(10)
    assert not blocked.is_alive()
    assert batcher.flush(timeout_s=10)
    assert write.written == list(range(7)) and not lost
    batcher.close()


def test_a_writer_stuck_in_one_write_stops_making_submitters_wait(lost):
    write, batcher = _writing_with_a_full_queue(lost, 3, healthy_write_s=0.2)
    assert not batcher.submit(4)  # waited only until the write in progress counted as stuck
    assert lost == [4] and not batcher.healthy
    write.hold.set()
    assert batcher.flush(timeout_s=10) and batcher.healthy
    assert write.written == list(range(4))
    batcher.close()


def test_close_writes_everything_queued_first(lost):
    write = Recorder()
    batcher = WriteBatcher(write, on_lost=lambda items, reason: lost.extend(items), batch_size=7).start()
    write.hold.clear()
    for n in range(50):
        batcher.submit(n)
    write.hold.set()
    batcher.close()
    assert write.written == list(range(50)) and not lost
    assert not batcher.submit(99) and lost == [99]  # closed: counted, not silently dropped


def test_close_while_the_server_is_down_counts_what_is_left_and_returns(lost):
    write = Recorder()
    write.down = True
    batcher = WriteBatcher(write, on_lost=lambda items, reason: lost.extend(items),
                           retry_pause_s=30, max_retry_pause_s=30).start()
    for n in range(5):
        batcher.submit(n)
    assert write.entered.wait(5)
    batcher.close()  # cuts the 30 s retry pause short, tries once more, then gives up
    assert sorted(lost) == list(range(5)) and not write.written
    assert not batcher.alive


def test_a_batch_that_cannot_be_written_is_counted_and_the_writer_goes_on(lost):
    calls = []

    def write(batch):
        calls.append(list(batch))
        if 13 in batch:
            raise ValueError("bad row")

    batcher = WriteBatcher(write, on_lost=lambda items, reason: lost.extend(items), batch_size=1).start()
    for n in range(12, 15):
        batcher.submit(n)
    assert batcher.flush(timeout_s=5)
    assert lost == [13] and calls == [[12], [13], [14]] and batcher.alive
    batcher.close()


def test_the_writer_lingers_to_gather_a_batch_and_a_flush_or_full_batch_cuts_it_short(lost):
    write = Recorder()
    batcher = WriteBatcher(write, on_lost=lambda items, reason: lost.extend(items), batch_size=5,
                           linger_s=60).start()
    for n in range(3):
        batcher.submit(n)
    assert not write.entered.wait(0.3)  # lingering: three events are not a batch yet
    assert batcher.flush(timeout_s=5)  # a flush does not wait out the linger
    assert write.batches == [[0, 1, 2]]
    for n in range(3, 8):
        batcher.submit(n)  # a full batch is written at once, without a flush
    for _ in range(100):
        if len(write.batches) == 2:
            break
        time.sleep(0.05)
    assert write.batches[1] == [3, 4, 5, 6, 7]
    batcher.submit(8)
    batcher.close()  # close writes the lingering rest at once
    assert write.written == list(range(9)) and not lost


def test_a_full_queue_ends_the_linger_so_waiting_submitters_lose_nothing(lost):
    write = Recorder()
    batcher = WriteBatcher(write, on_lost=lambda items, reason: lost.extend(items), batch_size=1000,
                           max_queue=4, max_wait_s=5, linger_s=60).start()
    for n in range(10):
        assert batcher.submit(n)  # the 5th waits for room: the writer stops lingering for it
    assert batcher.flush(timeout_s=5)
    assert write.written == list(range(10)) and not lost
    batcher.close()
