"""Time windows for the link-health page: the picker's choice → a UTC range, its bucket size and
the window just before it (for the KPI deltas)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

PRESETS = {"24 h": timedelta(hours=24), "7 d": timedelta(days=7), "30 d": timedelta(days=30)}
CUSTOM = "Custom range"
CHOICES = (*PRESETS, CUSTOM)
#: windows up to this long are charted by hour, longer ones by day
HOURLY_MAX = timedelta(hours=48)


@dataclass(frozen=True)
class Window:
    """A half-open UTC range ``[start, end)``.

    >>> window = Window.preset("7 d", now=datetime.now(timezone.utc))
    >>> window.bucket, window.previous().end == window.start
    """

    start: datetime
    end: datetime

    @classmethod
    def preset(cls, choice: str, *, now: datetime) -> "Window":
        end = _whole_minute(now) + timedelta(minutes=1)
        return cls(end - PRESETS[choice], end)

    @classmethod
    def days(cls, first: date, last: date, *, now: datetime) -> "Window":
        """Whole UTC days ``first``..``last`` inclusive (order-insensitive), never past now."""
        first, last = min(first, last), max(first, last)
        start = datetime.combine(first, time.min, tzinfo=timezone.utc)
        end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=timezone.utc)
        end = min(end, _whole_minute(now) + timedelta(minutes=1))
        return cls(start, max(end, start + timedelta(minutes=1)))

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def bucket(self) -> str:
        """``"hour"`` for windows up to 48 h, ``"day"`` beyond."""
        return "hour" if self.length <= HOURLY_MAX else "day"

    def previous(self) -> "Window":
        """The window of the same length that ends where this one starts."""
        return Window(self.start - self.length, self.start)

    def span_text(self) -> str:
        """``"24 hours"``, ``"7 days"``, ``"2 days 5 hours"``."""
        days, hours = self.length.days, self.length.seconds // 3600
        if self.length <= HOURLY_MAX:
            days, hours = 0, int(self.length.total_seconds() // 3600)
        parts = [f"{days} day{'s' * (days != 1)}"] if days else []
        if hours or not days:
            parts.append(f"{hours} hour{'s' * (hours != 1)}")
        return " ".join(parts)

    def label(self) -> str:
        return f"{self.start:%d %b %Y %H:%M} – {self.end:%d %b %Y %H:%M} UTC"


def _whole_minute(moment: datetime) -> datetime:
    """Rounded down to the minute, so reruns within a minute share cached query results."""
    return moment.astimezone(timezone.utc).replace(second=0, microsecond=0)
