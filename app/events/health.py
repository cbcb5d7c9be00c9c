"""Link-health queries over the lookup events: how often Gladly's lookups find their customer.

Every query takes a half-open window ``[start, end)`` of aware datetimes and an optional lookup
``level`` ("BASIC", "DETAILED"; ``None`` = both) and is one or a few SQL aggregations over
covering indexes, so each stays well under a second on a million events. The SQL is the subset
SQLite and PostgreSQL share (``CASE`` rather than boolean arithmetic, ``SUM`` rather than
``TOTAL``, no negative ``LIMIT``; ``INDEXED BY`` hints are dropped for PostgreSQL by
:mod:`.dialect`): ``tests/events/test_backends_agree.py`` runs every query on both. pandas and
numpy are imported on first query, never by the write path (API workers record but never query).

Match rate = matched / (matched + unmatched + ambiguous); errors are left out (they say nothing
about the link). Per customer, each distinct Gladly customer counts once: linked when at least
one of its lookups in the window matched. A customer is Gladly's ``query.id``; for lookups
without one, the external customer id asked for stands in, and without that the masked emails
(see :attr:`LookupEvent.customer_key`).

The unmatched *profiles* (:meth:`LinkHealthQueries.unmatched_profiles`) are the lookups that did
not match, one row per Gladly customer id, else per keyed email hash, else per external id
(:attr:`LookupEvent.profile_key`; never per masked email, which merges distinct people).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from .model import HOUR_MS, KIND_EMAIL, KIND_EXTERNAL, LEVELS, PROFILE_KINDS, REASONS, to_ms
from .schema import NOT_MATCHED

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PERCENTILES = (0.50, 0.95, 0.99)
#: upper edges (ms) of the latency histogram's bands; the last band is open-ended
LATENCY_EDGES_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000)
_FETCH_PERCENTILES_UP_TO = 100_000  # events; above this, walking ix_events_duration is cheaper
TREND_COLUMNS = ["bucket_start", "matched", "unmatched", "ambiguous", "error", "match_rate"]
UNMATCHED_COLUMNS = ["identifier", "kind", "gladly_customer_id", "count", "first_seen", "last_seen"]
PROFILE_COLUMNS = ["key_kind", "gladly_customer_id", "external_customer_id", "masked_email", "reason",
                   "suggestion", "lookups", "first_seen", "last_seen"]
DAY_MS = 24 * HOUR_MS
#: "no limit" in a portable LIMIT (SQLite's -1 is an error in PostgreSQL)
NO_LIMIT = 2**62
_HOURLY_COUNTS = ["matched", "unmatched", "ambiguous", "error", "stale", "upstream", "hits"]
ERROR_COLUMNS = ["ts", "level", "error_code", "gladly_customer_id", "external_customer_id",
                 "emails", "duration_ms", "upstream_calls", "correlation_id"]


@dataclass(frozen=True)
class LatencyPercentiles:
    """Exact nearest-rank percentiles of ``duration_ms`` (None when the window is empty)."""

    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class LinkHealthSummary:
    """The headline numbers of one window; ``as_dict()`` for tables and JSON."""

    start: datetime
    end: datetime
    level: str | None
    lookups: int
    matched: int
    unmatched: int
    ambiguous: int
    errors: int
    stale: int
    match_rate_per_request: float | None
    customers: int           # distinct customers with any lookup (errors included)
    customers_asked: int     # ... with a matched/unmatched/ambiguous lookup
    customers_matched: int   # ... with at least one matched lookup
    match_rate_per_customer: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_upstream_calls: float | None
    cache_hit_share: float | None  # cache hits / (cache hits + upstream calls)

    def as_dict(self) -> dict:
        return asdict(self)


def previous_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window of equal length just before ``[start, end)``, to compare against."""
    return start - (end - start), start


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def pandas():
    """pandas, imported on first use (API workers never pay for it)."""
    import pandas

    return pandas


def _to_datetime(ms_series) -> "pd.Series":
    pd = pandas()
    return pd.to_datetime(pd.Series(ms_series, dtype="int64"), unit="ms", utc=True)


def none_for_missing(frame: "pd.DataFrame", columns) -> "pd.DataFrame":
    """Missing text as ``None`` (pandas turns some into NaN, which is truthy and prints "nan")."""
    for column in columns:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def _seen_times(frame: "pd.DataFrame") -> None:
    """``first_ms``/``last_ms`` (epoch ms) become ``first_seen``/``last_seen`` (UTC datetimes)."""
    frame["first_seen"] = _to_datetime(frame.pop("first_ms"))
    frame["last_seen"] = _to_datetime(frame.pop("last_ms"))


def bucket_ms(bucket: str) -> int:
    """Milliseconds per ``"hour"`` or ``"day"`` bucket (UTC)."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be 'hour' or 'day'")
    return HOUR_MS if bucket == "hour" else DAY_MS


def bucket_range(start: datetime, end: datetime, step: int) -> range:
    """Every bucket number (epoch ms // step) that ``[start, end)`` touches."""
    return range(to_ms(start) // step, (to_ms(end) - 1) // step + 1)


def _sum_if(outcome: str, value: str = "1") -> str:
    """``SUM`` of ``value`` over the rows of one outcome (portable: no boolean arithmetic)."""
    return f"SUM(CASE WHEN outcome = '{outcome}' THEN {value} ELSE 0 END)"


def _check_level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS} or None, not {level!r}")


def _window(start: datetime, end: datetime, level: str | None, *, hours: bool = True,
            alias: str = "") -> tuple[str, list]:
    """WHERE terms (and parameters) selecting ``[start, end)`` and the level."""
    _check_level(level)
    lo, hi = to_ms(start), to_ms(end)
    terms, params = [f"{alias}ts_ms >= ?", f"{alias}ts_ms < ?"], [lo, hi]
    if hours:  # lets the planner seek on the leading column of ix_events_hour
        terms.insert(0, f"{alias}hour BETWEEN ? AND ?")
        params[:0] = [lo // HOUR_MS, (hi - 1) // HOUR_MS]
    if level is not None:
        terms.append(f"{alias}level = ?")
        params.append(level)
    return " AND ".join(terms), params


class LinkHealthQueries:
    """Mixed into :class:`EventStore`; needs ``self._read(sql, params) -> list[tuple]``."""

    def _read(self, sql: str, params=()) -> list[tuple]:  # pragma: no cover - provided by the store
        raise NotImplementedError

    def _snapshot(self):  # pragma: no cover - provided by the store
        """Context manager: the reads inside it see one consistent state of the database."""
        raise NotImplementedError

    def _hourly(self, start: datetime, end: datetime, level: str | None) -> "pd.DataFrame":
        """Per-hour totals of ``[start, end)``: whole hours from the rollup, the edges from events."""
        _check_level(level)
        lo, hi = to_ms(start), to_ms(end)
        first_full, end_full = -(-lo // HOUR_MS), hi // HOUR_MS
        parts, params = [], []
        level_term = " AND level = ?" if level else ""
        level_params = [level] if level else []
        if first_full < end_full:
            parts.append(
                f"SELECT hour, {_sum_if('matched', 'lookups')}, {_sum_if('unmatched', 'lookups')}, "
                f"{_sum_if('ambiguous', 'lookups')}, {_sum_if('error', 'lookups')}, SUM(stale), "
                "SUM(upstream_calls), SUM(cache_hits) FROM lookup_hourly "
                f"WHERE hour >= ? AND hour < ?{level_term} GROUP BY hour")
            params += [first_full, end_full, *level_params]
            raw = [(lo, min(first_full * HOUR_MS, hi)), (max(end_full * HOUR_MS, lo), hi)]
        else:
            raw = [(lo, hi)]
        for raw_lo, raw_hi in raw:
            if raw_lo >= raw_hi:
                continue
            parts.append(
                f"SELECT hour, {_sum_if('matched')}, {_sum_if('unmatched')}, {_sum_if('ambiguous')}, "
                f"{_sum_if('error')}, SUM(stale), SUM(upstream_calls), SUM(cache_hits) "
                "FROM lookup_events INDEXED BY ix_events_hour "
                f"WHERE hour BETWEEN ? AND ? AND ts_ms >= ? AND ts_ms < ?{level_term} GROUP BY hour")
            params += [raw_lo // HOUR_MS, (raw_hi - 1) // HOUR_MS, raw_lo, raw_hi, *level_params]
        rows = self._read(" UNION ALL ".join(parts), params) if parts else []
        frame = pandas().DataFrame(rows, columns=["hour", *_HOURLY_COUNTS]).astype("int64")
        return frame.groupby("hour", as_index=False).sum()

    def summary(self, start: datetime, end: datetime, level: str | None = None) -> LinkHealthSummary:
        """Counts, both match rates, latency and cache use of ``[start, end)`` (one snapshot)."""
        with self._snapshot():
            totals = self._hourly(start, end, level)[_HOURLY_COUNTS].sum()
            matched, unmatched, ambiguous, errors, stale, upstream, hits = (
                int(totals[name]) for name in _HOURLY_COUNTS)
            lookups = matched + unmatched + ambiguous + errors
            customers, asked, linked = self._customer_counts(start, end, level, lookups)
            latency = self.latency_percentiles(start, end, level, _count=lookups)
        answered = matched + unmatched + ambiguous
        return LinkHealthSummary(
            start=start, end=end, level=level, lookups=lookups, matched=matched,
            unmatched=unmatched, ambiguous=ambiguous, errors=errors, stale=stale,
            match_rate_per_request=_ratio(matched, answered),
            customers=customers, customers_asked=asked, customers_matched=linked,
            match_rate_per_customer=_ratio(linked, asked),
            p50_ms=latency.p50_ms, p95_ms=latency.p95_ms, p99_ms=latency.p99_ms,
            mean_upstream_calls=_ratio(upstream, lookups),
            cache_hit_share=_ratio(hits, hits + upstream),
        )

    def _customer_counts(self, start, end, level, lookups: int) -> tuple[int, int, int]:
        if not lookups:
            return 0, 0, 0
        # Walking ix_events_customer in key order needs no sort but reads every event; a narrow
        # window is cheaper found through the time index and sorted.
        (span,), = self._read("SELECT (SELECT MAX(id) FROM lookup_events) - "
                              "(SELECT MIN(id) FROM lookup_events) + 1")
        wide = lookups * 4 > (span or 0)
        index = "ix_events_customer" if wide else "ix_events_hour"
        where, params = _window(start, end, level, hours=not wide)
        (customers, asked, linked), = self._read(
            "SELECT COUNT(*), COALESCE(SUM(asked), 0), COALESCE(SUM(linked), 0) FROM ("
            "SELECT MAX(CASE WHEN outcome != 'error' THEN 1 ELSE 0 END) AS asked, "
            "MAX(CASE WHEN outcome = 'matched' THEN 1 ELSE 0 END) AS linked "
            f"FROM lookup_events INDEXED BY {index} WHERE customer_key IS NOT NULL AND {where} "
            "GROUP BY customer_key) AS per_customer", params)
        return int(customers), int(asked), int(linked)

    def trend(self, start: datetime, end: datetime, bucket: str = "hour",
              level: str | None = None) -> "pd.DataFrame":
        """Outcome counts per UTC hour or day, empty buckets included, oldest first."""
        step = bucket_ms(bucket)
        counts = ["matched", "unmatched", "ambiguous", "error"]
        frame = self._hourly(start, end, level)
        frame["bucket"] = frame["hour"] * HOUR_MS // step
        grouped = frame.groupby("bucket")[counts].sum()
        grouped = grouped.reindex(bucket_range(start, end, step), fill_value=0).astype("int64")
        out = grouped.reset_index(names="bucket")
        out.insert(0, "bucket_start", _to_datetime(out.pop("bucket") * step))
        answered = out["matched"] + out["unmatched"] + out["ambiguous"]
        out["match_rate"] = (out["matched"] / answered.where(answered > 0)).astype("float64")
        return out[TREND_COLUMNS]

    def unmatched_ids(self, start: datetime, end: datetime, level: str | None = None,
                      limit: int = 500, outcome: str = "unmatched") -> "pd.DataFrame":
        """What Gladly asked for and we could not match, most often asked first.

        ``identifier`` is the external customer id, else the masked emails; ``gladly_customer_id``
        is the latest one seen with it in the window. ``outcome="ambiguous"`` lists those instead.
        """
        if outcome not in ("unmatched", "ambiguous", "error", "matched"):
            raise ValueError(f"unknown outcome {outcome!r}")
        where, params = _window(start, end, level, hours=False)
        inner_where, inner_params = _window(start, end, level, hours=False, alias="e.")
        rows = self._read(
            "WITH top AS (SELECT subject_kind, subject, COUNT(*) AS n, MIN(ts_ms) AS first_ms, "
            f"MAX(ts_ms) AS last_ms FROM lookup_events INDEXED BY ix_events_subject "
            f"WHERE outcome = ? AND subject IS NOT NULL AND {where} "
            "GROUP BY subject_kind, subject ORDER BY n DESC, last_ms DESC LIMIT ?) "
            "SELECT subject, subject_kind, (SELECT e.gladly_customer_id FROM lookup_events e "
            "INDEXED BY ix_events_subject WHERE e.outcome = ? AND e.subject_kind = top.subject_kind "
            f"AND e.subject = top.subject AND {inner_where} AND e.gladly_customer_id IS NOT NULL "
            "ORDER BY e.ts_ms DESC LIMIT 1), n, first_ms, last_ms FROM top "
            "ORDER BY n DESC, last_ms DESC",
            [outcome, *params, int(limit), outcome, *inner_params])
        frame = pandas().DataFrame(rows, columns=["identifier", "kind", "gladly_customer_id", "count",
                                            "first_ms", "last_ms"])
        frame["count"] = frame["count"].astype("int64")
        _seen_times(frame)
        return frame[UNMATCHED_COLUMNS]

    def unmatched_profiles(self, start: datetime, end: datetime, level: str | None = None, *,
                           limit: int | None = 1000) -> "pd.DataFrame":
        """Who fails to link, and why: one row per profile with a lookup that did not match
        (unmatched, ambiguous or error), most lookups first, at most ``limit`` rows.

        ``key_kind`` says what identifies the row (``gladly_id``, ``email_hash`` or
        ``external_id``); the ids, masked email and ``reason`` (its label) are those of the
        profile's latest such lookup, ``suggestion`` the latest Ordergroove ids found by its email.
        """
        where, params = _window(start, end, level, hours=False)
        latest_where, latest_params = _window(start, end, level, hours=False, alias="l.")
        rows = self._read(
            "WITH p AS (SELECT profile_key, COUNT(*) AS n, MIN(ts_ms) AS first_ms, MAX(ts_ms) AS last_ms "
            f"FROM lookup_events INDEXED BY ix_events_profile WHERE {NOT_MATCHED} "
            f"AND profile_key IS NOT NULL AND {where} GROUP BY profile_key "
            "ORDER BY n DESC, last_ms DESC LIMIT ?) "
            "SELECT p.profile_key, e.gladly_customer_id, e.external_customer_id, e.emails, e.reason, "
            "(SELECT l.suggestion FROM lookup_events l INDEXED BY ix_events_profile "
            f"WHERE l.{NOT_MATCHED} AND l.profile_key = p.profile_key AND l.suggestion IS NOT NULL "
            f"AND {latest_where} ORDER BY l.ts_ms DESC LIMIT 1), p.n, p.first_ms, p.last_ms FROM p "
            "JOIN lookup_events e ON e.id = (SELECT l.id FROM lookup_events l INDEXED BY ix_events_profile "
            f"WHERE l.{NOT_MATCHED} AND l.profile_key = p.profile_key AND {latest_where} "
            "ORDER BY l.ts_ms DESC LIMIT 1) ORDER BY p.n DESC, p.last_ms DESC",
            [*params, NO_LIMIT if limit is None else int(limit), *latest_params, *latest_params])
        frame = pandas().DataFrame(rows, columns=[
            "profile_key", "gladly_customer_id", "external_customer_id", "masked_email", "reason",
            "suggestion", "lookups", "first_ms", "last_ms"])
        frame.insert(0, "key_kind", frame.pop("profile_key").str[:1].map(PROFILE_KINDS))
        frame["reason"] = frame["reason"].map(REASONS)
        frame["lookups"] = frame["lookups"].astype("int64")
        _seen_times(frame)
        return none_for_missing(frame, PROFILE_COLUMNS[:6])[PROFILE_COLUMNS]

    def unmatched_trend(self, start: datetime, end: datetime, bucket: str = "day",
                        level: str | None = None) -> "pd.DataFrame":
        """Distinct unmatched profiles (as in :meth:`unmatched_profiles`) per UTC day or hour,
        empty buckets included: ``bucket`` (its start), ``profiles``."""
        step = bucket_ms(bucket)
        where, params = _window(start, end, level, hours=False)
        rows = self._read(
            f"SELECT ts_ms / {step}, COUNT(DISTINCT profile_key) FROM lookup_events "
            f"INDEXED BY ix_events_profile WHERE {NOT_MATCHED} AND profile_key IS NOT NULL AND {where} "
            f"GROUP BY ts_ms / {step}", params)
        counts = dict(rows)
        buckets = list(bucket_range(start, end, step))
        frame = pandas().DataFrame({"bucket": [b * step for b in buckets],
                                    "profiles": [int(counts.get(b, 0)) for b in buckets]})
        frame["bucket"] = _to_datetime(frame["bucket"])
        frame["profiles"] = frame["profiles"].astype("int64")
        return frame

    def top_reasons(self, start: datetime, end: datetime, level: str | None = None) -> "pd.DataFrame":
        """Why lookups did not match: ``reason`` (label), distinct ``profiles``, ``lookups``;
        most profiles first."""
        where, params = _window(start, end, level, hours=False)
        rows = self._read(
            "SELECT reason, COUNT(DISTINCT profile_key) AS profiles, COUNT(*) AS lookups "
            f"FROM lookup_events INDEXED BY ix_events_profile WHERE {NOT_MATCHED} "
            f"AND reason IS NOT NULL AND {where} GROUP BY reason ORDER BY profiles DESC, lookups DESC, reason",
            params)
        frame = pandas().DataFrame(rows, columns=["reason", "profiles", "lookups"])
        frame["reason"] = frame["reason"].map(REASONS)
        return frame.astype({"profiles": "int64", "lookups": "int64"})

    def latency_histogram(self, start: datetime, end: datetime, level: str | None = None, *,
                          edges_ms=LATENCY_EDGES_MS) -> "pd.DataFrame":
        """Lookups per latency band: ``band`` i counts durations in ``[edges[i-1], edges[i])`` (band 0
        from zero, the last band from the last edge up), every band present: ``band``, ``lookups``."""
        edges = [float(edge) for edge in edges_ms]
        cases = " ".join(f"WHEN duration_ms < ? THEN {i}" for i in range(len(edges)))
        where, params = _window(start, end, level)
        counts = dict(self._read(
            f"SELECT CASE {cases} ELSE {len(edges)} END AS band, COUNT(*) FROM lookup_events "
            f"INDEXED BY ix_events_hour WHERE {where} GROUP BY band", [*edges, *params]))
        bands = range(len(edges) + 1)
        return pandas().DataFrame({"band": list(bands),
                                   "lookups": [int(counts.get(band, 0)) for band in bands]})

    def latency_percentiles(self, start: datetime, end: datetime, level: str | None = None, *,
                            _count: int | None = None) -> LatencyPercentiles:
        """p50/p95/p99 of ``duration_ms`` (nearest rank: the ceil(p·n)-th smallest value)."""
        if _count is None:
            with self._snapshot():
                count = int(self._hourly(start, end, level)[_HOURLY_COUNTS[:4]].to_numpy().sum())
                return self.latency_percentiles(start, end, level, _count=count)
        count = _count
        if not count:
            return LatencyPercentiles(0, None, None, None)
        ranks = [max(1, math.ceil(p * count - 1e-9)) for p in PERCENTILES]  # 1-based
        if count <= _FETCH_PERCENTILES_UP_TO:  # a narrow window: read its durations, sort here
            import numpy as np

            where, params = _window(start, end, level)
            durations = np.sort(np.fromiter(
                (row[0] for row in self._read(
                    f"SELECT duration_ms FROM lookup_events INDEXED BY ix_events_hour WHERE {where}",
                    params)), dtype="float64"))
            count = len(durations)  # the same snapshot as the count, unless called on its own
            ranks = [max(1, math.ceil(p * count - 1e-9)) for p in PERCENTILES]
            if not count:
                return LatencyPercentiles(0, None, None, None)
            return LatencyPercentiles(count, *(float(durations[rank - 1]) for rank in ranks))
        where, params = _window(start, end, level, hours=False)
        values = []
        for rank in ranks:  # walk the duration index from whichever end is nearer to the rank
            order, offset = ("ASC", rank - 1) if rank <= count / 2 else ("DESC", count - rank)
            values.append(self._read(
                "SELECT duration_ms FROM lookup_events INDEXED BY ix_events_duration "
                f"WHERE {where} ORDER BY duration_ms {order} LIMIT 1 OFFSET ?",
                [*params, offset])[0][0])
        return LatencyPercentiles(count, *values)

    def latency_bands(self, start: datetime, end: datetime, level: str | None = None, *,
                      edges_ms=(5, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000)) -> list[int]:
        """Lookups per latency band: ``[< edges[0], edges[0]–edges[1], …, ≥ edges[-1]]``."""
        where, params = _window(start, end, level)
        cases = " ".join(f"WHEN duration_ms < {float(edge)!r} THEN {i}" for i, edge in enumerate(edges_ms))
        rows = self._read(
            f"SELECT CASE {cases} ELSE {len(edges_ms)} END AS band, COUNT(*) FROM lookup_events "
            f"INDEXED BY ix_events_hour WHERE {where} GROUP BY band", params)
        counts = dict(rows)
        return [int(counts.get(band, 0)) for band in range(len(edges_ms) + 1)]

    def recent_errors(self, limit: int = 50, *, start: datetime | None = None,
                      end: datetime | None = None) -> "pd.DataFrame":
        """The latest ``error`` lookups, newest first."""
        where, params = "", []
        if start is not None or end is not None:
            start = start or datetime(1970, 1, 1, tzinfo=timezone.utc)
            end = end or datetime.now(timezone.utc) + timedelta(days=1)
            where, params = _window(start, end, None)
            where = " AND " + where
        rows = self._read(
            "SELECT ts_ms, level, error_code, gladly_customer_id, external_customer_id, emails, "
            "duration_ms, upstream_calls, correlation_id FROM lookup_events INDEXED BY ix_events_hour "
            f"WHERE outcome = 'error'{where} ORDER BY hour DESC, ts_ms DESC LIMIT ?",
            [*params, int(limit)])
        frame = pandas().DataFrame(rows, columns=["ts_ms", *ERROR_COLUMNS[1:]])
        frame.insert(0, "ts", _to_datetime(frame.pop("ts_ms")))
        return frame[ERROR_COLUMNS]


__all__ = ["LatencyPercentiles", "LinkHealthQueries", "LinkHealthSummary", "previous_window",
           "KIND_EMAIL", "KIND_EXTERNAL"]
