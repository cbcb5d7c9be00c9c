"""Queries over action and webhook events, for the dashboard's Actions and Webhooks views.

Same conventions as :mod:`.health`: half-open windows ``[start, end)`` of aware datetimes,
pandas DataFrames (pandas imported on first query), buckets by UTC hour or day with the empty
ones included, so a chart of a quiet day still shows the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .health import _to_datetime, bucket_ms, bucket_range, none_for_missing, pandas
from .model import ACTION_OUTCOMES, ACTIONS, WEBHOOK_OUTCOMES, to_ms

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

ACTION_LIST_COLUMNS = ["ts", "action", "outcome", "customer_id", "subscription_id", "order_id",
                       "reason_code", "og_status", "duration_ms", "source", "correlation_id"]
COUNT_COLUMNS = ["bucket", "outcome", "count"]
UNKNOWN_TYPE = "unknown"  # a rejected delivery's body is not trusted, so its type is not read


@dataclass(frozen=True)
class WebhookSummary:
    """Webhook deliveries of one window.

    ``last_received`` is the latest authentic delivery (any outcome but ``rejected``) before the
    window's end, however old, so "nothing for two days" can be said about a one-day window.
    """

    last_received: datetime | None
    deliveries: int
    signature_failures: int  # outcome "rejected" in the window
    by_type_outcome: "pd.DataFrame"  # type, outcome, count


class ActivityQueries:
    """Mixed into :class:`EventStore`; needs ``self._read(sql, params) -> list[tuple]``."""

    def _read(self, sql: str, params=()) -> list[tuple]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    def _bucket_counts(self, table: str, outcomes, start: datetime, end: datetime,
                       bucket: str) -> "pd.DataFrame":
        step = bucket_ms(bucket)
        rows = self._read(
            f"SELECT ts_ms / {step}, outcome, COUNT(*) FROM {table} WHERE ts_ms >= ? AND ts_ms < ? "
            f"GROUP BY ts_ms / {step}, outcome", [to_ms(start), to_ms(end)])
        counts = {(b, outcome): n for b, outcome, n in rows}
        keys = [(b, outcome) for b in bucket_range(start, end, step) for outcome in outcomes]
        frame = pandas().DataFrame({
            "bucket": _to_datetime([b * step for b, _ in keys]),
            "outcome": [outcome for _, outcome in keys],
            "count": [int(counts.get(key, 0)) for key in keys]})
        return frame.astype({"count": "int64"})[COUNT_COLUMNS]

    def recent_actions(self, start: datetime, end: datetime, action: str | None = None,
                       outcome: str | None = None, limit: int = 1000) -> "pd.DataFrame":
        """Action submits in ``[start, end)``, newest first, optionally of one action or outcome."""
        terms, params = ["ts_ms >= ?", "ts_ms < ?"], [to_ms(start), to_ms(end)]
        for column, value, allowed in (("action", action, ACTIONS), ("outcome", outcome, ACTION_OUTCOMES)):
            if value is not None:
                if value not in allowed:
                    raise ValueError(f"{column} must be one of {allowed} or None, not {value!r}")
                terms.append(f"{column} = ?")
                params.append(value)
        rows = self._read(
            f"SELECT ts_ms, {', '.join(ACTION_LIST_COLUMNS[1:])} FROM action_events "
            f"WHERE {' AND '.join(terms)} ORDER BY ts_ms DESC, id DESC LIMIT ?", [*params, int(limit)])
        frame = pandas().DataFrame(rows, columns=["ts_ms", *ACTION_LIST_COLUMNS[1:]])
        frame.insert(0, "ts", _to_datetime(frame.pop("ts_ms")))
        frame["og_status"] = frame["og_status"].astype("Int64")
        frame["duration_ms"] = frame["duration_ms"].astype("float64")
        text = [c for c in ACTION_LIST_COLUMNS if c not in ("ts", "og_status", "duration_ms")]
        return none_for_missing(frame, text)[ACTION_LIST_COLUMNS]

    def action_counts(self, start: datetime, end: datetime, bucket: str = "hour") -> "pd.DataFrame":
        """Action submits per bucket and outcome (every outcome of every bucket, zeros included)."""
        return self._bucket_counts("action_events", ACTION_OUTCOMES, start, end, bucket)

    def webhook_counts(self, start: datetime, end: datetime, bucket: str = "hour") -> "pd.DataFrame":
        """Webhook deliveries per bucket and outcome (zeros included)."""
        return self._bucket_counts("webhook_events", WEBHOOK_OUTCOMES, start, end, bucket)

    def webhook_summary(self, start: datetime, end: datetime) -> WebhookSummary:
        """Last received, signature failures and deliveries by type and outcome of ``[start, end)``."""
        lo, hi = to_ms(start), to_ms(end)
        (last_ms,), = self._read(
            "SELECT MAX(ts_ms) FROM webhook_events WHERE outcome != 'rejected' AND ts_ms < ?", [hi])
        rows = self._read(
            "SELECT type, outcome, COUNT(*) FROM webhook_events WHERE ts_ms >= ? AND ts_ms < ? "
            "GROUP BY type, outcome ORDER BY COUNT(*) DESC, COALESCE(type, ''), outcome", [lo, hi])
        frame = pandas().DataFrame(rows, columns=["type", "outcome", "count"]).astype({"count": "int64"})
        frame["type"] = frame["type"].fillna(UNKNOWN_TYPE)
        return WebhookSummary(
            last_received=(None if last_ms is None
                           else datetime.fromtimestamp(last_ms / 1000, tz=timezone.utc)),
            deliveries=int(frame["count"].sum()),
            signature_failures=int(frame.loc[frame["outcome"] == "rejected", "count"].sum()),
            by_type_outcome=frame)
