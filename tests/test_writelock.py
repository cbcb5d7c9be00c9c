"""The writer lock: one holder at a time across processes and threads, and a bounded wait."""

from __future__ import annotations

import multiprocessing
import threading
import time

from app.writelock import WriterLock
from tests.event_workers import hold_writer_lock


def test_processes_hold_it_one_at_a_time(tmp_path):
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copied locks
    start = context.Event()
    log = tmp_path / "holders.log"
    children = [context.Process(target=hold_writer_lock, args=(str(tmp_path / "w.lock"), str(log), 10, start))
                for _ in range(4)]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    lines = log.read_text().split("\n")[:-1]
    assert len(lines) == 80
    for entered, left in zip(lines[::2], lines[1::2]):  # never two holders at once
        assert entered.startswith("in ") and left == "out " + entered[3:]


def test_threads_of_one_process_hold_it_one_at_a_time(tmp_path):
    lock = WriterLock(tmp_path / "w.lock")
    inside, most = [0], [0]
    guard = threading.Lock()

    def work():
        for _ in range(50):
            with lock.hold():
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.0005)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
    lock.close()


def test_a_holder_that_keeps_it_too_long_delays_others_only_by_the_bounded_wait(tmp_path):
    holder, waiter = WriterLock(tmp_path / "w.lock"), WriterLock(tmp_path / "w.lock", wait_s=0.2)
    with holder.hold():  # another open file description: excludes like another process would
        began = time.monotonic()
        with waiter.hold():
            waited = time.monotonic() - began
    assert 0.2 <= waited < 5
    with waiter.hold():  # free again: no wait at all
        pass
    holder.close()
    waiter.close()


def test_a_lock_file_that_cannot_be_made_costs_only_the_queueing(tmp_path):
    lock = WriterLock(tmp_path / "missing-dir" / "w.lock")
    with lock.hold():
        pass
