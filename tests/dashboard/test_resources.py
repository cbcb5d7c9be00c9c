"""dashboard.resources: one Services per configuration, friendly messages for bad settings, and
the sidebar's "where the data comes from"."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import resources

from dash_support import assert_clean


def test_config_key_holds_ordergroove_and_ogtk_settings_but_not_the_password(monkeypatch):
    monkeypatch.setenv("ORDERGROOVE_BASE_URL", "http://127.0.0.1:8700")
    monkeypatch.setenv("OGTK_DATA_DIR", "/tmp/x")
    monkeypatch.setenv("OGTK_DASHBOARD_PASSWORD", "s3cret")
    monkeypatch.setenv("HOME_UNRELATED", "1")
    key = dict(resources.config_key())
    assert key == {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700", "OGTK_DATA_DIR": "/tmp/x"}
    assert resources.config_key() == tuple(sorted(key.items()))  # stable, hashable


def test_settings_problem_explains_a_missing_key(monkeypatch):
    monkeypatch.setenv("ORDERGROOVE_BASE_URL", "https://restapi.ordergroove.com")
    problem = resources.settings_problem()
    assert "ORDERGROOVE_API_KEY" in problem and "make sandbox" in problem


def test_no_settings_problem_against_the_sandbox(dashboard_env):
    assert resources.settings_problem() is None
    assert resources.load_settings().ordergroove_is_sandbox


def test_services_are_built_once_per_configuration(dashboard_env, monkeypatch, tmp_path):
    first = resources.services(resources.config_key())
    try:
        assert resources.services(resources.config_key()) is first
        assert first.settings.data_dir == dashboard_env
        closed = []

        def spy(services):
            close = services.close
            monkeypatch.setattr(services, "close", lambda: (closed.append(services), close()))

        spy(first)
        monkeypatch.setenv("OGTK_DATA_DIR", str(tmp_path / "other"))
        second = resources.services(resources.config_key())
        assert second is not first and second.settings.data_dir == tmp_path / "other"
        assert closed == [first]  # replaced, so its threads and connections are released
        spy(second)
        st.cache_resource.clear()
        third = resources.services(resources.config_key())  # a cleared cache builds anew
        assert third is not second and closed == [first, second]
    finally:
        st.cache_resource.clear()


def _page_with_services():
    import streamlit as st

    from dashboard.resources import get_services, sidebar_status

    services = get_services()
    sidebar_status()
    st.write(f"events at {services.settings.events_db_path.name}")


def test_get_services_and_the_sidebar_status(dashboard_env):
    at = AppTest.from_function(_page_with_services, default_timeout=30).run()
    assert_clean(at)
    assert at.markdown[0].value == "events at events.sqlite3"
    status = at.sidebar.caption[0].value
    assert "local sandbox" in status and str(dashboard_env) in status


def test_get_services_stops_the_page_on_bad_settings(dashboard_env, monkeypatch):
    monkeypatch.setenv("ORDERGROOVE_BASE_URL", "https://restapi.ordergroove.com")
    at = AppTest.from_function(_page_with_services, default_timeout=30).run()
    assert_clean(at)
    assert "ORDERGROOVE_API_KEY" in at.error[0].value
    assert not at.markdown and not at.sidebar.caption


def test_get_services_reports_an_unusable_data_directory(dashboard_env, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("OGTK_DATA_DIR", str(blocker / "data"))
    at = AppTest.from_function(_page_with_services, default_timeout=30).run()
    assert_clean(at)
    assert "could not open its data" in at.error[0].value and "OGTK_DATA_DIR" in at.error[0].value
