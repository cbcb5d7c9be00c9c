"""Window picker → UTC range, bucket size and previous window."""

from datetime import date, datetime, timedelta, timezone

import pytest

from dashboard.windows import Window

NOW = datetime(2026, 3, 10, 14, 37, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("choice, length, bucket", [("24 h", timedelta(hours=24), "hour"),
                                                    ("7 d", timedelta(days=7), "day"),
                                                    ("30 d", timedelta(days=30), "day")])
def test_presets(choice, length, bucket):
    window = Window.preset(choice, now=NOW)
    assert window.end == datetime(2026, 3, 10, 14, 38, tzinfo=timezone.utc)  # stable within a minute
    assert window.length == length and window.bucket == bucket
    assert window.previous() == Window(window.start - length, window.start)


def test_custom_days_are_whole_utc_days_in_either_order():
    window = Window.days(date(2026, 3, 2), date(2026, 3, 1), now=NOW)
    assert (window.start, window.end) == (datetime(2026, 3, 1, tzinfo=timezone.utc),
                                          datetime(2026, 3, 3, tzinfo=timezone.utc))
    assert window.bucket == "hour" and window.span_text() == "48 hours"


def test_custom_range_ending_today_stops_now():
    window = Window.days(date(2026, 3, 1), date(2026, 3, 10), now=NOW)
    assert window.end == datetime(2026, 3, 10, 14, 38, tzinfo=timezone.utc)
    assert window.bucket == "day" and window.span_text() == "9 days 14 hours"
