"""Defensive parsers for Ordergroove's inconsistently typed payloads.

Every function takes whatever arrived (string, number, bool, None, garbage) and returns a clean
value or ``None``; none of them raises. A single bad field must never fail a lookup.
"""

from __future__ import annotations

import json
from functools import lru_cache
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

_NULLS = {"", "null", "none", "nil"}
#: forms ``datetime.fromisoformat`` refuses but Ordergroove-ish payloads may still carry
_LOOSE_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d")


def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NULLS)


def parse_bool(value: Any, default: bool = False) -> bool:
    """``true``, ``"True"``, ``"true"``, ``1``, ``"1"``, ``"yes"`` → True; unknown → ``default``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "1", "yes", "t", "y"}:
            return True
        if text in {"false", "0", "no", "f", "n"}:
            return False
    return default


def parse_id(value: Any) -> str | None:
    """Ids arrive as strings or numbers; compare them as trimmed strings."""
    if is_null(value) or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text or None
    return None


def parse_text(value: Any) -> str:
    """A display string; ``None``/``"null"`` become ``""``."""
    if is_null(value) or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


#: quantities and frequencies beyond this are garbage (``"1e5000"``), not data
MAX_INT = 10**9


def parse_int(value: Any) -> int | None:
    """``2``, ``"2"``, ``2.0`` → ``2``; fractions and garbage → ``None``."""
    number = parse_decimal(value)
    if number is None or abs(number) > MAX_INT or number != number.to_integral_value():
        return None
    return int(number)


def parse_decimal(value: Any) -> Decimal | None:
    """Money arrives as ``"24.50"`` (or a number); ``None`` when absent or not a finite number."""
    if is_null(value) or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def parse_datetime(value: Any, tz: ZoneInfo) -> datetime | None:
    """Naive ``YYYY-MM-DD HH:MM:SS`` read in ``tz``; returned as an aware UTC datetime.

    Strings that carry their own offset keep it; a bare date means midnight in ``tz``; epoch
    numbers (webhook style) are UTC. Impossible dates (29 Feb of a non-leap year) give ``None``.
    """
    if is_null(value) or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    return _parse_datetime_text(value.strip(), tz)


@lru_cache(maxsize=8192)
def _parse_datetime_text(text: str, tz: ZoneInfo) -> datetime | None:
    """Memoised: the same timestamps come back from the cache on every warm lookup, and
    parsing them was the largest cost of the warm path. ``fromisoformat`` (fast, and it reads
    ``YYYY-MM-DD HH:MM:SS``, bare dates and offsets) first; ``strptime`` for looser forms."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in _LOOSE_DATETIME_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # year 1 or 9999 pushed past the calendar by the offset
        return None


def parse_json_object(value: Any) -> dict:
    """``extra_data``: an object, a JSON-encoded string, ``""`` or ``null`` → always a dict."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}
