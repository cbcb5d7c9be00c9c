"""The event database's layout: tables, indexes, and how a :class:`LookupEvent` becomes a row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .model import HOUR_MS, LookupEvent, to_ms

SCHEMA_VERSION = 1
TABLES_SQL = """
CREATE TABLE IF NOT EXISTS lookup_events (
    id                   INTEGER PRIMARY KEY,
    ts_ms                INTEGER NOT NULL,  -- epoch milliseconds, UTC
    hour                 INTEGER NOT NULL,  -- ts_ms / 3600000: trend buckets and range scans
    level                TEXT    NOT NULL,  -- BASIC | DETAILED
    outcome              TEXT    NOT NULL,  -- matched | unmatched | ambiguous | error
    gladly_customer_id   TEXT,              -- query.id
    external_customer_id TEXT,
    matched_customer_id  TEXT,
    emails               TEXT,              -- masked only, ', '-joined
    customer_key         TEXT,              -- g:<gladly id> | x:<external id> | e:<masked emails>
    subject_kind         TEXT,              -- externalCustomerId | email
    subject              TEXT,              -- the external id, else the masked emails
    duration_ms          REAL    NOT NULL,
    upstream_calls       INTEGER NOT NULL,
    cache_hits           INTEGER NOT NULL,
    stale                INTEGER NOT NULL,
    correlation_id       TEXT,
    error_code           TEXT
);
-- hourly totals, so window totals and trends read a few hundred rows instead of every event.
-- Inserts update them in the same transaction (EventStore.record, insert_rows: a per-row trigger
-- doubled bulk-load time); the trigger below keeps them right whoever deletes events.
CREATE TABLE IF NOT EXISTS lookup_hourly (
    hour           INTEGER NOT NULL,
    level          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    lookups        INTEGER NOT NULL,
    stale          INTEGER NOT NULL,
    upstream_calls INTEGER NOT NULL,
    cache_hits     INTEGER NOT NULL,
    PRIMARY KEY (hour, level, outcome)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS lookup_events_hourly_delete AFTER DELETE ON lookup_events BEGIN
    UPDATE lookup_hourly SET lookups = lookups - 1, stale = stale - OLD.stale,
        upstream_calls = upstream_calls - OLD.upstream_calls, cache_hits = cache_hits - OLD.cache_hits
    WHERE hour = OLD.hour AND level = OLD.level AND outcome = OLD.outcome;
END;
CREATE TABLE IF NOT EXISTS ogtk_meta (key TEXT PRIMARY KEY, value TEXT);
"""
COLUMNS = (
    "ts_ms", "hour", "level", "outcome", "gladly_customer_id", "external_customer_id",
    "matched_customer_id", "emails", "customer_key", "subject_kind", "subject", "duration_ms",
    "upstream_calls", "cache_hits", "stale", "correlation_id", "error_code",
)
INSERT_SQL = (
    f"INSERT INTO lookup_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)

# Secondary indexes, each designed for one link-health query. Bulk loads drop and rebuild them.
INDEXES = {
    # window edges (partial hours), narrow windows, small-window percentiles, recent errors
    "ix_events_hour": "lookup_events (hour, ts_ms, level, outcome, stale, upstream_calls, "
                      "cache_hits, duration_ms)",
    # per-customer match rate: walked in customer order, so the window needs no sort
    "ix_events_customer": "lookup_events (customer_key, ts_ms, level, outcome)",
    # unmatched / ambiguous identifiers: grouped in index order, latest Gladly id by one seek
    "ix_events_subject": "lookup_events (outcome, subject_kind, subject, ts_ms, level, "
                         "gladly_customer_id)",
    # exact latency percentiles of wide windows: walk durations in order
    "ix_events_duration": "lookup_events (duration_ms, ts_ms, level)",
}
INDEX_SQL = "".join(f"CREATE INDEX IF NOT EXISTS {name} ON {spec};\n" for name, spec in INDEXES.items())
ROLLUP_SQL = (
    "INSERT INTO lookup_hourly (hour, level, outcome, lookups, stale, upstream_calls, cache_hits) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hour, level, outcome) DO UPDATE SET "
    "lookups = lookups + excluded.lookups, stale = stale + excluded.stale, "
    "upstream_calls = upstream_calls + excluded.upstream_calls, "
    "cache_hits = cache_hits + excluded.cache_hits"
)


def event_row(event: LookupEvent) -> tuple:
    """The :data:`INSERT_SQL` parameters for one event (in :data:`COLUMNS` order)."""
    ts_ms = to_ms(event.ts)
    subject = event.subject
    return (
        ts_ms, ts_ms // HOUR_MS, event.level, event.outcome, event.gladly_customer_id,
        event.external_customer_id, event.matched_customer_id, ", ".join(event.emails) or None,
        event.customer_key, subject[0] if subject else None, subject[1] if subject else None,
        event.duration_ms, event.upstream_calls, event.cache_hits, int(event.stale),
        event.correlation_id, event.error_code,
    )


_UPSTREAM, _HITS, _STALE = (COLUMNS.index(name) for name in ("upstream_calls", "cache_hits", "stale"))


def rollup_row(row: Sequence) -> tuple:
    """The :data:`ROLLUP_SQL` parameters adding one event row to its hour."""
    return (row[1], row[2], row[3], 1, row[_STALE], row[_UPSTREAM], row[_HITS])


def rollup_rows(rows: Iterable[Sequence]) -> list[tuple]:
    """:data:`ROLLUP_SQL` parameters adding many event rows, one per (hour, level, outcome)."""
    sums: dict[tuple, list[int]] = {}
    for row in rows:
        key = (row[1], row[2], row[3])
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = [0, 0, 0, 0]
        acc[0] += 1
        acc[1] += row[_STALE]
        acc[2] += row[_UPSTREAM]
        acc[3] += row[_HITS]
    return [(*key, *acc) for key, acc in sums.items()]
