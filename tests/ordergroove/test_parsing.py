"""The never-raising parsers against every odd form Ordergroove sends (CONTRACT section 4)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.ordergroove.parsing import (
    is_null,
    parse_bool,
    parse_datetime,
    parse_decimal,
    parse_id,
    parse_int,
    parse_json_object,
    parse_text,
)

UTC = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize("value, expected", [
    (True, True), ("True", True), ("true", True), (" TRUE ", True), (1, True), ("1", True), ("yes", True),
    (False, False), ("False", False), ("false", False), (0, False), ("0", False), ("no", False),
])
def test_parse_bool_forms(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", [None, "", "maybe", [], {}])
def test_parse_bool_unknown_gives_the_default(value):
    assert parse_bool(value) is False
    assert parse_bool(value, default=True) is True


@pytest.mark.parametrize("value, expected", [
    ("7781203344", "7781203344"), (7781203344, "7781203344"), (" 42 ", "42"), (42.0, "42"),
    ("0767811a8025176986607ad9e36fd616", "0767811a8025176986607ad9e36fd616"),
    (None, None), ("", None), ("null", None), (True, None), (4.5, None), ({"id": 1}, None), ([1], None),
])
def test_parse_id_compares_as_trimmed_strings(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("Dana", "Dana"), ("  Dana ", "Dana"), (None, ""), ("null", ""), ("None", ""), (12, "12"), ({"a": 1}, ""),
])
def test_parse_text(value, expected):
    assert parse_text(value) == expected


@pytest.mark.parametrize("value, expected", [
    (2, 2), ("2", 2), ("2.0", 2), (" 7 ", 7), (2.0, 2), ("2.5", None), ("x", None), (None, None),
    ("null", None), (True, None), ("NaN", None), ("Infinity", None),
])
def test_parse_int(value, expected):
    assert parse_int(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("24.50", Decimal("24.50")), ("18.00", Decimal("18.00")), (12.99, Decimal("12.99")), (5, Decimal(5)),
    (None, None), ("null", None), ("", None), ("free", None), ("NaN", None), ("Infinity", None), (False, None),
])
def test_parse_decimal_money(value, expected):
    assert parse_decimal(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("2024-02-20 10:41:09", datetime(2024, 2, 20, 10, 41, 9, tzinfo=timezone.utc)),
    ("2024-02-20T10:41:09", datetime(2024, 2, 20, 10, 41, 9, tzinfo=timezone.utc)),
    ("2024-02-20 10:41:09.250000", datetime(2024, 2, 20, 10, 41, 9, 250000, tzinfo=timezone.utc)),
    ("2024-03-04", datetime(2024, 3, 4, tzinfo=timezone.utc)),  # start_date as a bare date
    ("2024-02-20T10:41:09Z", datetime(2024, 2, 20, 10, 41, 9, tzinfo=timezone.utc)),
    ("2024-02-20T12:41:09+02:00", datetime(2024, 2, 20, 10, 41, 9, tzinfo=timezone.utc)),
    (1708425669, datetime(2024, 2, 20, 10, 41, 9, tzinfo=timezone.utc)),  # webhook epoch
])
def test_parse_datetime_forms_in_utc(value, expected):
    parsed = parse_datetime(value, UTC)
    assert parsed == expected and parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("value", [None, "null", "NULL", "", "2023-02-29", "2023-02-29 10:00:00", "soon",
                                   True, {}, 10**20])
def test_parse_datetime_bad_or_null_gives_none(value):
    assert parse_datetime(value, UTC) is None


def test_naive_datetimes_are_read_in_the_configured_zone():
    assert parse_datetime("2023-07-11 11:58:40", NEW_YORK) == datetime(2023, 7, 11, 15, 58, 40, tzinfo=timezone.utc)
    assert parse_datetime("2024-01-11 11:58:40", NEW_YORK) == datetime(2024, 1, 11, 16, 58, 40, tzinfo=timezone.utc)
    # an explicit offset wins over the zone; epochs are UTC whatever the zone
    assert parse_datetime("2024-01-11T11:58:40+00:00", NEW_YORK).hour == 11
    assert parse_datetime(0, NEW_YORK) == datetime(1970, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, expected", [
    ({"loyalty_tier": "gold"}, {"loyalty_tier": "gold"}),
    ('{"source": "checkout"}', {"source": "checkout"}),
    ("", {}), (None, {}), ("null", {}), ("not json", {}), ("[1, 2]", {}), ('"text"', {}), (42, {}),
])
def test_parse_json_object_extra_data(value, expected):
    assert parse_json_object(value) == expected


@pytest.mark.parametrize("value, expected", [
    (None, True), ("null", True), (" Null ", True), ("", True), ("none", True), ("nil", True),
    ("0", False), (0, False), (False, False), ("x", False),
])
def test_is_null(value, expected):
    assert is_null(value) is expected


@pytest.mark.parametrize("text, zone", [("0001-01-01 00:00:00", "Asia/Tokyo"), ("9999-12-31 23:00:00", "America/New_York")])
def test_dates_pushed_off_the_calendar_by_the_timezone_are_dropped(text, zone):
    assert parse_datetime(text, ZoneInfo(zone)) is None


@pytest.mark.parametrize("value", ["1e5000", 10**12, "-99999999999"])
def test_absurd_integers_are_dropped(value):
    assert parse_int(value) is None
