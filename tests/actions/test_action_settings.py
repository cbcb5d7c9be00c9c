"""OGTK_ACTIONS, OGTK_CANCEL_REASONS and ORDERGROOVE_WEBHOOK_KEY: defaults and validation."""

from __future__ import annotations

import pytest

from app.settings import DEFAULT_CANCEL_REASONS, Settings, SettingsError

SANDBOX = {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700"}


def test_defaults_are_off():
    s = Settings.from_env(SANDBOX)
    assert s.actions == frozenset()
    assert s.cancel_reasons == DEFAULT_CANCEL_REASONS
    assert s.webhook_keys == ()


@pytest.mark.parametrize("raw, expected", [
    ("cancel,skip", {"cancel", "skip"}), (" Skip ", {"skip"}), ("cancel,,", {"cancel"}), ("", set()),
])
def test_actions_list(raw, expected):
    assert Settings.from_env({**SANDBOX, "OGTK_ACTIONS": raw}).actions == expected


def test_unknown_action_is_refused():
    with pytest.raises(SettingsError, match="OGTK_ACTIONS"):
        Settings.from_env({**SANDBOX, "OGTK_ACTIONS": "cancel,refund"})


def test_cancel_reasons_parse():
    s = Settings.from_env({**SANDBOX, "OGTK_CANCEL_REASONS": "2=Overstocked; 08 = Too expensive;"})
    assert s.cancel_reasons == (("2", "Overstocked"), ("8", "Too expensive"))


@pytest.mark.parametrize("raw", ["2", "x=Label", "2=", "=Label", "2=a|b", "2=A;2=B", f"2={'x' * 201}", ";;"])
def test_bad_cancel_reasons_are_refused(raw):
    with pytest.raises(SettingsError, match="OGTK_CANCEL_REASONS"):
        Settings.from_env({**SANDBOX, "OGTK_CANCEL_REASONS": raw})


def test_webhook_keys_are_a_comma_list_and_never_printed():
    s = Settings.from_env({**SANDBOX, "ORDERGROOVE_WEBHOOK_KEY": " new-key , old-key "})
    assert s.webhook_keys == (b"new-key", b"old-key")
    assert "new-key" not in repr(s)


def test_webhook_key_of_only_commas_is_refused():
    with pytest.raises(SettingsError, match="ORDERGROOVE_WEBHOOK_KEY"):
        Settings.from_env({**SANDBOX, "ORDERGROOVE_WEBHOOK_KEY": " , "})
