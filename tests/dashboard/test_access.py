"""The access rules as plain Python: password comparison, the environment, peers and the throttle."""

import pytest

from app.settings import Secret
from dashboard.access import (Peer, Throttle, configured_password, is_loopback, new_throttles, open_to_all,
                              password_matches)


@pytest.mark.parametrize("given, expected, ok", [
    ("s3cret", Secret("s3cret"), True),
    ("s3cret", "s3cret", True),
    ("s3cret ", Secret("s3cret"), False),
    ("S3CRET", Secret("s3cret"), False),
    ("s3cre", Secret("s3cret"), False),
    ("s3cret" * 1000, Secret("s3cret"), False),
    ("", Secret("s3cret"), False),
    (None, Secret("s3cret"), False),
    ("", Secret(""), False),
    ("pässwörd", Secret("pässwörd"), True),
])
def test_password_matches(given, expected, ok):
    assert password_matches(given, expected) is ok


@pytest.mark.parametrize("env, expected", [
    ({}, None),
    ({"OGTK_DASHBOARD_PASSWORD": "   "}, None),
    ({"OGTK_DASHBOARD_PASSWORD": " hunter2 "}, Secret("hunter2")),
])
def test_configured_password(env, expected):
    assert configured_password(env) == expected


@pytest.mark.parametrize("value, expected", [("1", True), (" 1 ", True), ("", False), ("0", False),
                                             ("true", False)])
def test_open_flag_is_exactly_one(value, expected):
    assert open_to_all({"OGTK_DASHBOARD_OPEN": value}) is expected
    assert open_to_all({}) is False


@pytest.mark.parametrize("address, local", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True), ("[::1]", True),
    ("10.0.0.5", False), ("192.168.1.2", False), ("203.0.113.9", False), ("::ffff:10.0.0.5", False),
    ("0.0.0.0", False), ("localhost", False), ("", False), (None, False), ("not an ip", False),
])
def test_loopback_addresses(address, local):
    assert is_loopback(address) is local


def test_a_relayed_loopback_peer_is_not_local():
    assert Peer("127.0.0.1").is_local
    assert not Peer("127.0.0.1", relayed=True).is_local
    assert not Peer(None).is_local
    assert "could not determine" in Peer(None).describe()


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_throttle_lets_the_free_tries_through_then_doubles_the_pause():
    clock = Clock()
    throttle = Throttle(free=3, base_s=2, max_s=10, clock=clock)
    for _ in range(3):
        assert throttle.wait_s("s") == 0
        throttle.failed("s")
    assert throttle.wait_s("s") == 2
    clock.now += 1.5
    assert throttle.wait_s("s") == pytest.approx(0.5)
    clock.now += 0.5
    assert throttle.wait_s("s") == 0
    throttle.failed("s")
    assert throttle.wait_s("s") == 4
    for _ in range(5):
        throttle.failed("s")
    assert throttle.wait_s("s") == 10  # capped
    assert throttle.wait_s("other") == 0  # per key


def test_throttle_forgets_after_a_quiet_while_and_on_success():
    clock = Clock()
    throttle = Throttle(free=1, base_s=5, max_s=60, forget_after_s=100, clock=clock)
    throttle.failed("s")
    throttle.failed("s")
    assert throttle.wait_s("s") == 10
    clock.now += 100
    assert throttle.wait_s("s") == 0
    throttle.failed("s")
    assert throttle.wait_s("s") == 5
    throttle.succeeded("s")
    assert throttle.wait_s("s") == 0


def test_throttle_remembers_a_bounded_number_of_keys():
    throttle = Throttle(free=0, base_s=1, max_s=1, max_keys=3, clock=Clock())
    for key in "abcd":
        throttle.failed(key)
    assert throttle.wait_s("a") == 0  # the oldest was dropped
    assert all(throttle.wait_s(key) == 1 for key in "bcd")


def test_failures_from_many_sessions_slow_everyone_down():
    clock = Clock()
    limits = new_throttles(clock)
    for session in range(20):  # one wrong guess each: no session is throttled on its own
        assert limits.wait_s(f"session-{session}") == 0
        limits.failed(f"session-{session}")
    assert limits.per_session.wait_s("fresh") == 0
    assert limits.wait_s("fresh") == 1  # but the whole process is
    limits.succeeded("fresh")  # a success clears only that session, not the global count
    assert limits.wait_s("fresh") == 1
    clock.now += 1
    assert limits.wait_s("fresh") == 0
