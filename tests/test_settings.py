"""Settings: defaults, validation messages, fail-closed start, secrets never printed."""

from __future__ import annotations

import logging

import pytest

from app import create_app
from app.settings import Settings, SettingsError

SANDBOX = {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700"}


def test_defaults_follow_the_contract():
    s = Settings.from_env({**SANDBOX})
    assert s.gladly_replay_window_s == 300
    assert s.lookup_deadline_s == 4.0
    assert str(s.data_dir) == "var"
    assert s.ordergroove_timezone.key == "UTC"


def test_production_url_needs_an_api_key():
    with pytest.raises(SettingsError, match="ORDERGROOVE_API_KEY"):
        Settings.from_env({})
    assert Settings.from_env({"ORDERGROOVE_API_KEY": "k"}).ordergroove_base_url == "https://restapi.ordergroove.com"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ORDERGROOVE_TIMEZONE": "Mars/Olympus"}, "IANA"),
        ({"OGTK_LOOKUP_DEADLINE_S": "soon"}, "OGTK_LOOKUP_DEADLINE_S"),
        ({"GLADLY_REPLAY_WINDOW_S": "-1"}, "at least"),
        ({"GLADLY_BASIC_AUTH": "no-colon"}, "user:password"),
        ({"GLADLY_BASIC_AUTH": "user:"}, "non-empty"),
        ({"GLADLY_BASIC_AUTH": ":pw"}, "non-empty"),
        ({"ORDERGROOVE_BASE_URL": "ftp://x"}, "http"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**SANDBOX, **env})


def test_trailing_slash_is_dropped_and_timezone_read():
    s = Settings.from_env({"ORDERGROOVE_BASE_URL": "http://localhost:9/", "ORDERGROOVE_TIMEZONE": "America/New_York"})
    assert s.ordergroove_base_url == "http://localhost:9"
    assert s.ordergroove_timezone.key == "America/New_York"


def test_api_refuses_to_start_unauthenticated(tmp_path):
    with pytest.raises(SettingsError, match="GLADLY_SIGNING_KEY"):
        create_app({**SANDBOX, "OGTK_DATA_DIR": str(tmp_path)})


def test_unauthenticated_demo_mode_starts_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        app = create_app({**SANDBOX, "OGTK_DATA_DIR": str(tmp_path), "OGTK_ALLOW_UNAUTHENTICATED": "1"})
    assert "NOT authenticated" in caplog.text
    app.extensions["ogtk"].close()


def test_secrets_never_appear_in_repr():
    s = Settings.from_env({**SANDBOX, "ORDERGROOVE_API_KEY": "og-secret-1", "GLADLY_SIGNING_KEY": "gl-secret-2",
                           "GLADLY_BASIC_AUTH": "user:pw-secret-3", "OGTK_DASHBOARD_PASSWORD": "dash-secret-4"})
    text = repr(s) + str(s)
    for secret in ("og-secret-1", "gl-secret-2", "pw-secret-3", "dash-secret-4"):
        assert secret not in text
    assert s.gladly_signing_key.reveal() == "gl-secret-2"


def test_metrics_files_live_outside_the_data_dir_and_are_found_again(tmp_path, monkeypatch):
    from app.settings import default_metrics_dir

    monkeypatch.delenv("OGTK_METRICS_DIR", raising=False)
    first = Settings.from_env({**SANDBOX, "OGTK_DATA_DIR": str(tmp_path / "a")}).metrics_dir
    assert tmp_path not in first.parents
    assert first == default_metrics_dir(tmp_path / "a")  # what gunicorn.conf.py computes
    assert first != default_metrics_dir(tmp_path / "b")
    monkeypatch.setenv("OGTK_METRICS_DIR", str(tmp_path / "m"))
    assert default_metrics_dir(tmp_path / "a") == tmp_path / "m"


def test_signing_key_may_hold_several_comma_separated_keys():
    s = Settings.from_env({**SANDBOX, "GLADLY_SIGNING_KEY": "new-key, old-key"})
    assert [k.reveal() for k in s.gladly_signing_keys] == ["new-key", "old-key"]
    assert "new-key" not in repr(s.gladly_signing_keys)
    assert Settings.from_env({**SANDBOX}).gladly_signing_keys == ()


@pytest.mark.parametrize("value", ["new-key,", ",old-key", "a,,b", " , "])
def test_an_empty_key_between_commas_is_refused(value):
    with pytest.raises(SettingsError, match="empty key"):
        Settings.from_env({**SANDBOX, "GLADLY_SIGNING_KEY": value})


@pytest.mark.parametrize("path", ["ogtk/gladly/lookup", "/ogtk//lookup", "/ogtk/lookup/", "/x?y=1", "/a/../b",
                                  "/a b", "/", "https://host/gladly/lookup"])
def test_lookup_path_must_be_a_plain_url_path(path):
    with pytest.raises(SettingsError, match="OGTK_GLADLY_LOOKUP_PATH"):
        Settings.from_env({**SANDBOX, "OGTK_GLADLY_LOOKUP_PATH": path})


def test_lookup_path_defaults_to_the_route_and_takes_a_prefix():
    assert Settings.from_env({**SANDBOX}).gladly_lookup_path == "/gladly/lookup"
    assert Settings.from_env({**SANDBOX, "OGTK_GLADLY_LOOKUP_PATH": "/ogtk/gladly/lookup"}).gladly_lookup_path == (
        "/ogtk/gladly/lookup")
