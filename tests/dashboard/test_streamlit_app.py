"""The entrypoint: page config, the password gate and the open-access banner."""

from __future__ import annotations

from dashboard.access import OPEN_BANNER

from dash_support import assert_clean


def test_open_dashboard_says_so_and_shows_the_card_page(dashboard_env, app_test):
    at = app_test.run()
    assert_clean(at)
    assert any(w.value == OPEN_BANNER for w in at.warning)
    assert at.title[0].value == "Customer card preview"
    assert at.text_input(key="card_query")


def test_password_gate_blocks_until_the_right_password(dashboard_env, monkeypatch, app_test):
    monkeypatch.setenv("OGTK_DASHBOARD_PASSWORD", "s3cret-pässword")
    at = app_test.run()
    assert_clean(at)
    assert [t.key for t in at.text_input] == ["ogtk_password"]  # only the gate
    assert not at.warning and not at.info and not at.metric

    at.text_input(key="ogtk_password").input("wrong").run()
    assert_clean(at)
    assert [e.value for e in at.error] == ["That password is not right."]
    assert [t.key for t in at.text_input] == ["ogtk_password"]
    assert not at.info and not at.warning and not at.metric and not at.code and not at.dataframe
    assert all(m.value != OPEN_BANNER for m in at.markdown)

    at.text_input(key="ogtk_password").input("s3cret-pässword").run()
    assert_clean(at)
    assert not at.error
    assert at.title[0].value == "Customer card preview"
    # remembered for the session: the gate stays away on the next rerun
    at.run()
    assert "ogtk_password" not in [t.key for t in at.text_input]
    assert at.text_input(key="card_query")


def test_invalid_settings_give_a_friendly_error(dashboard_env, monkeypatch, app_test):
    monkeypatch.setenv("ORDERGROOVE_BASE_URL", "https://restapi.ordergroove.com")  # real API, no key
    at = app_test.run()
    assert_clean(at)
    assert "ORDERGROOVE_API_KEY" in at.error[0].value
    assert "sandbox" in at.error[0].value
