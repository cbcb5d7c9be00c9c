"""The entrypoint: who sees data (loopback, open, password), the password gate and its throttle,
locking again, the deep links, and invalid settings."""

from __future__ import annotations

import pytest

from app.sandbox import KNOWN
from dashboard import access
from dashboard.access import LOCAL_BANNER, OPEN_BANNER, WRONG_PASSWORD

from dash_support import assert_clean, everything_shown

REAL_SESSION_PEER = access.session_peer  # before the fixture swaps in a loopback peer


def _as_peer(monkeypatch, peer):
    monkeypatch.setattr(access, "session_peer", lambda: peer)


def _deep_link(at, customer=KNOWN["reference"]):
    at.query_params["customer"] = customer
    return at.run()


def test_loopback_browser_sees_the_card_and_is_told_why(dashboard_env, app_test):
    at = _deep_link(app_test)
    assert_clean(at)
    assert any(c.value == LOCAL_BANNER for c in at.caption)
    assert at.title[0].value == "Customer card preview"
    assert at.subheader[0].value == "Dana Reyes"


@pytest.mark.parametrize("peer", [access.Peer("192.168.1.20"), access.Peer("2001:db8::7"),
                                  access.Peer("127.0.0.1", relayed=True), access.Peer(None)],
                         ids=["lan", "ipv6", "loopback-proxy", "unknown"])
def test_no_password_shows_other_machines_nothing(dashboard_env, monkeypatch, app_test, peer):
    _as_peer(monkeypatch, peer)
    at = _deep_link(app_test)
    assert_clean(at)
    assert "OGTK_DASHBOARD_PASSWORD" in at.error[0].value and "OGTK_DASHBOARD_OPEN=1" in at.error[0].value
    text = everything_shown(at)
    assert "Dana" not in text and "dana.reyes" not in text and "+1415" not in text
    assert not at.text_input and not at.code and not at.metric


def test_unknown_peer_is_refused_by_the_real_lookup(dashboard_env, monkeypatch, app_test):
    """AppTest has no WebSocket peer: the real :func:`session_peer` finds none and fails closed."""
    monkeypatch.setattr(access, "session_peer", REAL_SESSION_PEER)
    at = _deep_link(app_test)
    assert_clean(at)
    assert "could not determine" in at.error[0].value
    assert "Dana" not in everything_shown(at)


def test_open_flag_shows_everyone_with_a_banner(dashboard_env, monkeypatch, app_test):
    _as_peer(monkeypatch, access.Peer("203.0.113.9"))
    monkeypatch.setenv("OGTK_DASHBOARD_OPEN", "1")
    at = _deep_link(app_test)
    assert_clean(at)
    assert any(w.value == OPEN_BANNER for w in at.warning)
    assert at.subheader[0].value == "Dana Reyes"


def _unlock(at, password):
    at.text_input(key="ogtk_password").input(password)
    at.button(key="ogtk_unlock").click().run()
    assert_clean(at)
    return at


def test_password_gate_blocks_until_the_right_password(dashboard_env, monkeypatch, app_test):
    _as_peer(monkeypatch, access.Peer("203.0.113.9"))  # a password lets other machines in
    monkeypatch.setenv("OGTK_DASHBOARD_PASSWORD", "s3cret-pässword")
    at = _deep_link(app_test)
    assert_clean(at)
    assert [t.key for t in at.text_input] == ["ogtk_password"]  # only the gate
    assert not at.warning and not at.info and not at.metric

    _unlock(at, "wrong")
    assert [e.value for e in at.error] == [WRONG_PASSWORD]
    assert [t.key for t in at.text_input] == ["ogtk_password"]
    assert "Dana" not in everything_shown(at)
    at.run()  # a rerun without a submit is no attempt: nothing re-checked, nothing counted
    assert not at.error

    _unlock(at, "s3cret-pässword")
    assert not at.error
    assert at.title[0].value == "Customer card preview"
    assert at.subheader[0].value == "Dana Reyes"
    at.run()  # remembered for the session: the gate stays away on the next rerun
    assert "ogtk_password" not in [t.key for t in at.text_input]


def test_lock_again_brings_the_gate_back(dashboard_env, monkeypatch, app_test):
    monkeypatch.setenv("OGTK_DASHBOARD_PASSWORD", "s3cret")
    at = _unlock(_deep_link(app_test), "s3cret")
    assert at.subheader[0].value == "Dana Reyes"
    at.sidebar.button(key="ogtk_lock").click().run()
    assert_clean(at)
    assert [t.key for t in at.text_input] == ["ogtk_password"]
    assert "Dana" not in everything_shown(at)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_wrong_passwords_are_throttled_per_session(dashboard_env, monkeypatch, app_test):
    clock = FakeClock()
    monkeypatch.setattr(access, "_monotonic", clock)
    monkeypatch.setenv("OGTK_DASHBOARD_PASSWORD", "s3cret")
    at = _deep_link(app_test)
    for _ in range(3):
        assert [e.value for e in _unlock(at, "guess").error] == [WRONG_PASSWORD]
    _unlock(at, "guess")  # the fourth wrong one starts the pause
    _unlock(at, "s3cret")  # even the right one is not checked during it
    assert at.error[0].value.startswith("Too many wrong passwords. Try again in")
    assert [t.key for t in at.text_input] == ["ogtk_password"]
    clock.now += 2.0  # the first pause is 2 s
    assert not _unlock(at, "s3cret").error
    assert at.subheader[0].value == "Dana Reyes"


def test_deep_link_below_the_page_path_opens_the_card(dashboard_env, app_test):
    """``/customer_card?customer=…`` (the card page's own path) reaches the same card."""
    at = app_test.run()
    alias = next(h for h, info in at._registered_pages.items() if info.get("url_pathname") == "customer_card")
    at._page_hash = alias  # what the browser asks for when it opens /customer_card
    at.query_params["customer"] = KNOWN["reference"]
    at.run()
    assert_clean(at)
    assert at.subheader[0].value == "Dana Reyes"
    assert at.query_params["customer"] == KNOWN["reference"]


def test_invalid_settings_give_a_friendly_error(dashboard_env, monkeypatch, app_test):
    monkeypatch.setenv("ORDERGROOVE_BASE_URL", "https://restapi.ordergroove.com")  # real API, no key
    at = app_test.run()
    assert_clean(at)
    assert "ORDERGROOVE_API_KEY" in at.error[0].value
    assert "sandbox" in at.error[0].value
