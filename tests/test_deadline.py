"""The lookup's time budget (app/deadline.py), on an injected clock."""

from __future__ import annotations

from app.deadline import Deadline


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_remaining_counts_down_and_never_goes_negative():
    clock = Clock()
    deadline = Deadline(4.0, clock)
    assert deadline.remaining() == 4.0 and not deadline.expired()
    clock.now += 1.5
    assert deadline.remaining() == 2.5
    clock.now += 10
    assert deadline.remaining() == 0.0 and deadline.expired()


def test_shrink_ends_earlier_by_the_margin_on_the_same_clock():
    clock = Clock()
    outer = Deadline(4.0, clock)
    inner = outer.shrink(0.25)
    assert inner.remaining() == 3.75 and outer.remaining() == 4.0
    clock.now += 3.8
    assert inner.expired() and not outer.expired()


def test_shrinking_more_than_is_left_is_already_expired():
    assert Deadline(0.1, Clock()).shrink(1.0).expired()


def test_unlimited_is_practically_forever():
    assert Deadline.unlimited().remaining() > 10**8
