"""Altair charts of the dashboard, in the theme's colours (one place for chart styling)."""

from __future__ import annotations

import altair as alt
import pandas as pd

OUTCOME_COLORS = {"matched": "#0f6b6b", "unmatched": "#e0a030", "ambiguous": "#8e6fb5", "error": "#c0504d"}


#: same width for every y axis, so stacked charts line up
Y_AXIS_WIDTH = 48


def _time_axis(bucket: str, *, mid: bool = False) -> alt.X:
    """Time on x with a UTC time unit of one bucket: bars span their bucket; ``mid`` puts points
    in the middle of it, so a line drawn over the same buckets lines up with the bars."""
    fmt = "%d %b %H:%M" if bucket == "hour" else "%d %b"
    unit = "utcyearmonthdatehours" if bucket == "hour" else "utcyearmonthdate"
    extra = {"bandPosition": 0.5} if mid else {}
    return alt.X(field="bucket_start", type="temporal", timeUnit=unit, title=None,
                 axis=alt.Axis(format=fmt, labelAngle=0), scale=alt.Scale(type="utc"), **extra)


def match_rate_line(trend: pd.DataFrame, bucket: str) -> alt.Chart:
    """Match rate per request in each bucket (gaps where nothing was asked)."""
    return (
        alt.Chart(trend, height=180)
        .mark_line(point=alt.OverlayMarkDef(size=18), color=OUTCOME_COLORS["matched"])
        .encode(
            _time_axis(bucket, mid=True),
            alt.Y("match_rate:Q", title="match rate", axis=alt.Axis(format="%", minExtent=Y_AXIS_WIDTH),
                  scale=alt.Scale(domain=[0, 1])),
            tooltip=[alt.Tooltip("bucket_start:T", title="from", format="%d %b %Y %H:%M"),
                     alt.Tooltip("match_rate:Q", title="match rate", format=".1%")],
        )
    )


def outcome_bars(long: pd.DataFrame, bucket: str) -> alt.Chart:
    """Lookups per bucket, stacked by outcome."""
    order = list(OUTCOME_COLORS)
    return (
        alt.Chart(long, height=220)
        .mark_bar(width={"band": 0.85})  # with a time unit on x, each bar spans its bucket
        .encode(
            _time_axis(bucket),
            alt.Y("lookups:Q", title="lookups", stack="zero", axis=alt.Axis(minExtent=Y_AXIS_WIDTH)),
            alt.Color("outcome:N", sort=order, title=None, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=order, range=[OUTCOME_COLORS[o] for o in order])),
            order=alt.Order("outcome_rank:Q"),
            tooltip=[alt.Tooltip("bucket_start:T", title="from", format="%d %b %Y %H:%M"),
                     "outcome:N", alt.Tooltip("lookups:Q", format=",")],
        )
        .transform_calculate(outcome_rank=f"indexof({order!r}, datum.outcome)")
    )


def latency_histogram(frame: pd.DataFrame) -> alt.Chart:
    """Lookups per latency band, bands in order."""
    return (
        alt.Chart(frame, height=220)
        .mark_bar(color=OUTCOME_COLORS["matched"])
        .encode(
            alt.X("latency:N", sort=list(frame["latency"]), title="lookup latency",
                  axis=alt.Axis(labelAngle=0)),
            alt.Y("lookups:Q", title="lookups"),
            tooltip=["latency:N", alt.Tooltip("lookups:Q", format=",")],
        )
    )


def profiles_bars(trend: pd.DataFrame, bucket: str) -> alt.Chart:
    """Distinct unmatched profiles per bucket (``bucket``, ``profiles``)."""
    frame = trend.rename(columns={"bucket": "bucket_start"})
    return (
        alt.Chart(frame, height=200)
        .mark_bar(width={"band": 0.85}, color=OUTCOME_COLORS["unmatched"])
        .encode(
            _time_axis(bucket),
            alt.Y("profiles:Q", title="profiles", axis=alt.Axis(minExtent=Y_AXIS_WIDTH, tickMinStep=1)),
            tooltip=[alt.Tooltip("bucket_start:T", title="from", format="%d %b %Y %H:%M"),
                     alt.Tooltip("profiles:Q", format=",")],
        )
    )


def reasons_bars(reasons: pd.DataFrame) -> alt.Chart:
    """Profiles per reason, most first (``reason``, ``profiles``, ``lookups``)."""
    return (
        alt.Chart(reasons, height=max(90, 40 * len(reasons)))
        .mark_bar(color=OUTCOME_COLORS["ambiguous"])
        .encode(
            alt.Y("reason:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
            alt.X("profiles:Q", title="profiles", axis=alt.Axis(tickMinStep=1)),
            tooltip=["reason:N", alt.Tooltip("profiles:Q", format=","), alt.Tooltip("lookups:Q", format=",")],
        )
    )


ACTION_COLORS = {"done": "#0f6b6b", "invalid": "#e0a030", "rejected": "#8e6fb5", "error": "#c0504d"}
WEBHOOK_COLORS = {"applied": "#0f6b6b", "duplicate": "#7a8a94", "ignored": "#e0a030", "rejected": "#c0504d"}


def count_bars(counts: pd.DataFrame, bucket: str, colors: dict[str, str], title: str) -> alt.Chart:
    """Counts per bucket stacked by outcome (``bucket``, ``outcome``, ``count``)."""
    order = list(colors)
    frame = counts.rename(columns={"bucket": "bucket_start"})
    return (
        alt.Chart(frame, height=200)
        .mark_bar(width={"band": 0.85})
        .encode(
            _time_axis(bucket),
            alt.Y("count:Q", title=title, stack="zero", axis=alt.Axis(minExtent=Y_AXIS_WIDTH, tickMinStep=1)),
            alt.Color("outcome:N", sort=order, title=None, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=order, range=[colors[o] for o in order])),
            tooltip=[alt.Tooltip("bucket_start:T", title="from", format="%d %b %Y %H:%M"),
                     "outcome:N", alt.Tooltip("count:Q", format=",")],
        )
    )
