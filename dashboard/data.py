"""Link-health and operations queries for the dashboard, cached, plus the plain shaping around them.

All counting happens in SQL inside the event store's queries; this module only caches them
(``st.cache_data(ttl=30)``, keyed by the widget values passed in) and shapes the small results
for display: KPI deltas and the long-form trend (the unmatched table is shaped in :mod:`.unmatched`).
The store itself is passed as ``_store`` (not hashed); ``db_path`` keys the cache per database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

if TYPE_CHECKING:  # pragma: no cover
    from app.events import EventStore

TTL_S = 30
OUTCOMES = ("matched", "unmatched", "ambiguous", "error")
#: upper edges (ms) of the latency histogram's bars; the last bar is open-ended
LATENCY_EDGES_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000)


def level_arg(choice: str) -> str | None:
    """The picker's ``"All"`` means both levels (``None`` for the store's queries)."""
    return None if choice in ("All", "", None) else choice


# -- cached queries (one SQL aggregation each, in the event store) ------------------------------
@st.cache_data(ttl=TTL_S, show_spinner=False)
def summary(_store: "EventStore", db_path: str, start: datetime, end: datetime, level: str | None):
    return _store.summary(start, end, level)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def trend(_store: "EventStore", db_path: str, start: datetime, end: datetime, bucket: str,
          level: str | None) -> pd.DataFrame:
    return _store.trend(start, end, bucket, level)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def unmatched_profiles(_store: "EventStore", db_path: str, start: datetime, end: datetime,
                       level: str | None) -> pd.DataFrame:
    return _store.unmatched_profiles(start, end, level)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def unmatched_trend(_store: "EventStore", db_path: str, start: datetime, end: datetime, bucket: str,
                    level: str | None) -> pd.DataFrame:
    return _store.unmatched_trend(start, end, bucket, level)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def top_reasons(_store: "EventStore", db_path: str, start: datetime, end: datetime,
                level: str | None) -> pd.DataFrame:
    return _store.top_reasons(start, end, level)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def is_synthetic(_store: "EventStore", db_path: str) -> bool:
    """Whether the event store holds the demo's synthetic history (every page then says so)."""
    return _store.is_synthetic()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def latency(_store: "EventStore", db_path: str, start: datetime, end: datetime, level: str | None):
    return _store.latency_percentiles(start, end, level)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def recent_errors(_store: "EventStore", db_path: str, limit: int = 50) -> pd.DataFrame:
    return _store.recent_errors(limit)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def has_events(_store: "EventStore", db_path: str) -> bool:
    """Whether any lookup was ever recorded (drives the "no lookups yet" empty state)."""
    return _store.count() > 0


@st.cache_data(ttl=TTL_S, show_spinner=False)
def latency_histogram(_store: "EventStore", db_path: str, start: datetime, end: datetime,
                      level: str | None) -> pd.DataFrame:
    """Lookups per latency band in the window (one GROUP BY in the store, SQLite or PostgreSQL)."""
    counts = _store.latency_bands(start, end, level, edges_ms=LATENCY_EDGES_MS)
    return pd.DataFrame({"latency": latency_band_labels(), "lookups": counts})


def latency_band_labels() -> list[str]:
    """``["< 5 ms", "5–10 ms", …, "2–4 s", "≥ 4 s"]`` for :data:`LATENCY_EDGES_MS`."""
    labels, low = [f"< {_ms(LATENCY_EDGES_MS[0])}"], LATENCY_EDGES_MS[0]
    for edge in LATENCY_EDGES_MS[1:]:
        unit_ms = edge <= 500
        labels.append(f"{low:g}–{edge:g} ms" if unit_ms else f"{low / 1000:g}–{edge / 1000:g} s")
        low = edge
    labels.append(f"≥ {_ms(low)}")
    return labels


def _ms(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


# -- KPIs -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpi:
    """One ``st.metric``: label, formatted value and delta vs the previous window.

    >>> [st.metric(k.label, k.value, k.delta, delta_color=k.delta_color) for k in kpis(now, before)]
    """

    label: str
    value: str
    delta: str | None
    delta_color: str  # "normal" (up is good), "inverse" (up is bad), "off"
    help: str


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def _pp_delta(now: float | None, before: float | None) -> str | None:
    if now is None or before is None:
        return None
    return f"{(now - before) * 100:+.1f} pp"


def _count_delta(now: int, before: int) -> str | None:
    return f"{now - before:+,}" if (now or before) else None


def kpis(current: Any, previous: Any) -> list[Kpi]:
    """The six headline numbers of the link-health page (``LinkHealthSummary`` in, ``Kpi`` out)."""
    return [
        Kpi("Lookups", f"{current.lookups:,}", _count_delta(current.lookups, previous.lookups), "off",
            "Lookups Gladly sent in the window (vs the window before)."),
        Kpi("Match rate · per request", _pct(current.match_rate_per_request),
            _pp_delta(current.match_rate_per_request, previous.match_rate_per_request), "normal",
            "matched / (matched + unmatched + ambiguous), counting every request."),
        Kpi("Match rate · per customer", _pct(current.match_rate_per_customer),
            _pp_delta(current.match_rate_per_customer, previous.match_rate_per_customer), "normal",
            "Each distinct Gladly customer counts once: linked if any of its lookups matched. "
            "Gladly repeats BASIC lookups for unlinked profiles, so this is the fairer rate."),
        Kpi("Unmatched", f"{current.unmatched:,}", _count_delta(current.unmatched, previous.unmatched),
            "inverse", "Lookups that found no Ordergroove customer."),
        Kpi("Ambiguous", f"{current.ambiguous:,}", _count_delta(current.ambiguous, previous.ambiguous),
            "inverse", "Lookups that found several customers where one was required."),
        Kpi("Errors", f"{current.errors:,}", _count_delta(current.errors, previous.errors), "inverse",
            "Lookups that failed (Ordergroove unreachable and nothing cached)."),
    ]


# -- shaping --------------------------------------------------------------------------------------
def trend_long(frame: pd.DataFrame, bucket: str = "hour") -> pd.DataFrame:
    """The trend as ``bucket_start, bucket_end, outcome, lookups`` rows for a stacked bar chart."""
    present = [c for c in OUTCOMES if c in frame.columns]
    long = frame.melt(id_vars=["bucket_start"], value_vars=present, var_name="outcome", value_name="lookups")
    long["bucket_end"] = long["bucket_start"] + pd.Timedelta(hours=1 if bucket == "hour" else 24)
    return long


# -- operations -----------------------------------------------------------------------------------
@st.cache_data(ttl=10, show_spinner=False)
def upstream_samples(directory: str) -> list:
    """Every worker's Prometheus samples, summed (see :mod:`dashboard.upstream`)."""
    from dashboard.upstream import read_samples

    return read_samples(Path(directory))


def human_bytes(size: int) -> str:
    """``1536`` → ``"1.5 KB"``."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover


def ms(value: float | None) -> str:
    """Milliseconds for a metric: ``"—"`` when unknown, whole ms from 10 ms up."""
    if value is None:
        return "—"
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


# -- actions and webhooks ---------------------------------------------------------------------------
@st.cache_data(ttl=TTL_S, show_spinner=False)
def recent_actions(_store: "EventStore", db_path: str, start: datetime, end: datetime, action: str | None,
                   outcome: str | None, limit: int = 1000) -> pd.DataFrame:
    return _store.recent_actions(start, end, action=action, outcome=outcome, limit=limit)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def action_counts(_store: "EventStore", db_path: str, start: datetime, end: datetime, bucket: str) -> pd.DataFrame:
    return _store.action_counts(start, end, bucket)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def webhook_summary(_store: "EventStore", db_path: str, start: datetime, end: datetime):
    return _store.webhook_summary(start, end)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def webhook_counts(_store: "EventStore", db_path: str, start: datetime, end: datetime, bucket: str) -> pd.DataFrame:
    return _store.webhook_counts(start, end, bucket)


def table_csv(frame: pd.DataFrame, time_columns: tuple[str, ...] = ("ts",)) -> bytes:
    """A table as UTF-8 CSV, its time columns in ISO 8601 UTC."""
    out = frame.copy()
    for column in time_columns:
        if column in out.columns and not out.empty:
            out[column] = pd.to_datetime(out[column], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out.to_csv(index=False).encode("utf-8")
