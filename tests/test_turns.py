"""Turns (app.turns): first come first served, given up while waiting, never waited on for ever."""

from __future__ import annotations

import threading
import time

from prometheus_client import REGISTRY

from app.turns import Turns, off_turn


def _skipped() -> float:
    return REGISTRY.get_sample_value("ogtk_turns_skipped_total") or 0.0


def _queue_up(turns: Turns, order: list, count: int) -> list[threading.Thread]:
    """Start ``count`` threads that each take a turn, note their number and give it back; each
    starts only once the previous one is waiting, so their arrival order is known."""
    threads = []
    for n in range(count):
        def run(n=n):
            with turns.turn() as held:
                order.append((n, held))
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while len(turns._queue) < n + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(turns._queue) == n + 1
    return threads


def test_requests_get_the_turn_in_the_order_they_asked_for_it():
    turns = Turns(patience_s=10)
    order: list = []
    with turns.turn() as held:
        assert held
        threads = _queue_up(turns, order, 5)
        assert order == []  # nobody runs while the turn is held
    for thread in threads:
        thread.join(5)
    assert order == [(n, True) for n in range(5)]
    assert turns.take()  # and it is free again afterwards
    turns.give()


def test_a_request_waiting_on_ordergroove_lets_the_others_run_then_queues_again():
    turns = Turns(patience_s=10)
    order: list = []
    with turns.turn():
        threads = _queue_up(turns, order, 2)
        with off_turn():  # the waiters run while this one waits
            for thread in threads:
                thread.join(5)
            assert order == [(0, True), (1, True)]
            done = threading.Event()

            def another():
                with turns.turn():
                    order.append("another")
                    done.wait(5)
            other = threading.Thread(target=another, daemon=True)
            other.start()
            while "another" not in order:
                time.sleep(0.001)
            threading.Timer(0.05, done.set).start()
        order.append(("back", done.is_set()))  # only once the one that took the turn meanwhile gave it
    other.join(5)
    assert order[2:] == ["another", ("back", True)]


def test_a_turn_held_through_an_unannounced_wait_costs_the_others_the_patience_at_most():
    turns = Turns(patience_s=0.05)
    before = _skipped()
    order: list = []
    release = threading.Event()

    def hog():
        with turns.turn():
            release.wait(5)  # a wait nobody wrapped in off_turn

    holder = threading.Thread(target=hog, daemon=True)
    holder.start()
    while not turns._busy:
        time.sleep(0.001)
    started = time.monotonic()
    with turns.turn() as held:
        waited = time.monotonic() - started
        order.append(held)
    release.set()
    holder.join(5)
    assert order == [False]  # it ran without the turn …
    assert 0.04 <= waited < 2.0  # … after waiting about the patience, not for the hog
    assert _skipped() == before + 1
    assert not turns._queue and not turns._busy  # and left nothing behind


def test_off_turn_outside_a_turn_does_nothing():
    turns = Turns()
    with off_turn():
        pass
    assert turns.take()  # nothing was given back that was never taken
    turns.give()


def test_an_http2_connection_waits_for_its_frames_off_turn(monkeypatch):
    """gunicorn serves an HTTP/2 connection's streams in one call that waits for frames between
    them: the worker runs that call without holding the turn."""
    from app import serving, turns as turns_module

    held_inside = []

    def serve(self, conn):
        held_inside.append(getattr(turns_module._local, "held", None))
        return False

    monkeypatch.setattr(serving._GthreadWorker, "handle_http2", serve)
    worker = serving.ThreadWorker.__new__(serving.ThreadWorker)  # no gunicorn arbiter needed
    turns = Turns()
    with turns.turn():
        assert worker.handle_http2(object()) is False
        assert turns_module._local.held is turns  # on turn again for the rest of the request
    assert held_inside == [None]
