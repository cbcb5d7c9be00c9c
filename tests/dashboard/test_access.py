"""The password comparison and how the password is read from the environment."""

import pytest

from app.settings import Secret
from dashboard.access import configured_password, password_matches


@pytest.mark.parametrize("given, expected, ok", [
    ("s3cret", Secret("s3cret"), True),
    ("s3cret", "s3cret", True),
    ("s3cret ", Secret("s3cret"), False),
    ("S3CRET", Secret("s3cret"), False),
    ("", Secret("s3cret"), False),
    (None, Secret("s3cret"), False),
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
