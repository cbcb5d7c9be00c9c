"""Circuit breaker: consecutive failures open it, calls then fail fast, one trial closes it again."""

from __future__ import annotations

import pytest
import requests
import responses

from app.deadline import Deadline
from app.ordergroove.breaker import CircuitBreaker
from app.ordergroove.client import OrdergrooveClient
from app.ordergroove.errors import NotFound, Unavailable

BASE = "https://og.test"
URL = f"{BASE}/customers/42/"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_consecutive_failures_only():
    breaker = CircuitBreaker(threshold=3, reset_after_s=5, clock=Clock())
    for ok in (False, False, True, False, False):  # a success in between resets the count
        assert breaker.allow()
        breaker.record(ok=ok)
    assert not breaker.is_open
    breaker.record(ok=False)
    assert breaker.is_open and not breaker.allow()


def test_half_open_lets_exactly_one_trial_through_then_closes_on_success():
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, reset_after_s=5, clock=clock)
    breaker.record(ok=False)
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # everyone else still waits
    breaker.record(ok=True)
    assert not breaker.is_open and breaker.allow()


def test_a_failed_trial_reopens_for_another_period():
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, reset_after_s=5, clock=clock)
    breaker.record(ok=False)
    clock.now += 5
    assert breaker.allow()
    breaker.record(ok=False)
    assert not breaker.allow()
    clock.now += 4.9
    assert not breaker.allow()


@pytest.fixture
def client():
    clock = Clock()
    og = OrdergrooveClient(BASE, "key", max_retries=0, breaker=CircuitBreaker(threshold=3, reset_after_s=5, clock=clock))
    og.clock = clock
    yield og
    og.close()


def test_client_stops_calling_a_hanging_ordergroove(client):
    with responses.RequestsMock() as mocked:
        mocked.get(URL, body=requests.exceptions.ReadTimeout())
        with pytest.raises(Unavailable):  # threshold 3: one timeout (weighs 4) opens it
            client.customer("42", deadline=Deadline(4))
        assert len(mocked.calls) == 1
        with pytest.raises(Unavailable, match="circuit open"):
            client.customer("42", deadline=Deadline(4))
        assert len(mocked.calls) == 1  # failed fast, nothing sent


def test_client_recovers_after_the_reset_period(client):
    with responses.RequestsMock() as mocked:
        mocked.get(URL, status=503)
        for _ in range(3):
            with pytest.raises(Unavailable):
                client.customer("42", deadline=Deadline(4))
        client.clock.now += 5
        mocked.replace(responses.GET, URL, json={"merchant_user_id": "42"})
        assert client.customer("42", deadline=Deadline(4)) == {"merchant_user_id": "42"}
        assert not client.breaker.is_open


def test_answers_that_prove_ordergroove_is_up_do_not_count_as_failures(client):
    with responses.RequestsMock() as mocked:
        mocked.get(URL, status=404, json={"detail": "Unable to find requested asset."})
        for _ in range(5):
            with pytest.raises(NotFound):
                client.customer("42", deadline=Deadline(4))
    assert not client.breaker.is_open


def test_two_timeouts_in_a_row_open_the_default_breaker():
    breaker = CircuitBreaker(clock=Clock())
    breaker.record(ok=False, timed_out=True)
    assert not breaker.is_open
    breaker.record(ok=False, timed_out=True)
    assert breaker.is_open
