"""The event database's layout: versioned migrations, indexes, and how events become rows.

``PRAGMA user_version`` holds the schema version. :func:`migrate` applies every step above it in
one ``BEGIN IMMEDIATE`` transaction, re-reading the version once it holds the write lock, so
processes that open an old file at the same time upgrade it exactly once; each step is also
idempotent on its own (``IF NOT EXISTS``, columns added only when missing, back-fills only of
empty values), so a step interrupted or repeated leaves the same result. All SQL that shapes
rows lives here; the link-health queries live in :mod:`.health`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence

from .model import HOUR_MS, ActionEvent, LookupEvent, WebhookEvent, to_ms

_V1_TABLES = """
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
    customer_key         TEXT,              -- g:<gladly id> | x:<external id> | h:<email hashes> | e:<masked emails>
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

# v2: what the admin side needs (why a lookup missed, who it was for) and the other two doors.
_V2_COLUMNS = {
    "uid": "TEXT",                           # LookupEvent.uid: record_suggestion finds it by this
    "partial": "INTEGER NOT NULL DEFAULT 0",  # the card was answered with a piece missing
    "reason": "TEXT",                        # REASONS code, for every outcome but matched
    "email_hashes": "TEXT",                  # keyed hashes of the emails, ','-joined
    "suggestion": "TEXT",                    # Ordergroove ids found by email afterwards, ','-joined
    "profile_key": "TEXT",                   # g:<gladly id> | h:<email hashes> | x:<external id>
}
_V2_TABLES = """
CREATE TABLE IF NOT EXISTS action_events (
    id              INTEGER PRIMARY KEY,
    ts_ms           INTEGER NOT NULL,
    action          TEXT    NOT NULL,  -- cancel | skip
    outcome         TEXT    NOT NULL,  -- done | invalid | rejected | error
    subscription_id TEXT    NOT NULL,
    customer_id     TEXT,
    order_id        TEXT,
    reason_code     TEXT,
    og_status       INTEGER,
    duration_ms     REAL    NOT NULL,
    correlation_id  TEXT,
    source          TEXT    NOT NULL,  -- gladly | cli
    detail          TEXT               -- short machine reason, never the agent's text
);
CREATE TABLE IF NOT EXISTS webhook_events (
    id          INTEGER PRIMARY KEY,
    ts_ms       INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,  -- applied | duplicate | ignored | rejected
    event_id    TEXT,
    type        TEXT,
    customer_id TEXT,
    duration_ms REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_actions_ts ON action_events (ts_ms, action, outcome);
CREATE INDEX IF NOT EXISTS ix_webhooks_ts ON webhook_events (ts_ms, outcome, type);
"""
# events stored before v2 get the reason their outcome implies (model.default_reason) and a
# profile key from what they carried (no hashes then: email-only ones stay without a key)
_V2_BACKFILL = """
UPDATE lookup_events SET reason = CASE outcome
        WHEN 'error' THEN 'upstream_error' WHEN 'ambiguous' THEN 'email_ambiguous'
        ELSE CASE WHEN COALESCE(external_customer_id, '') != '' THEN 'id_unknown'
                  WHEN emails IS NOT NULL THEN 'email_unknown' ELSE 'no_identifier' END END
    WHERE reason IS NULL AND outcome != 'matched';
UPDATE lookup_events SET profile_key = CASE
        WHEN COALESCE(gladly_customer_id, '') != '' THEN 'g:' || gladly_customer_id
        WHEN COALESCE(external_customer_id, '') != '' THEN 'x:' || external_customer_id END
    WHERE profile_key IS NULL;
"""

#: the partial index's condition; queries using ix_events_profile repeat it word for word
NOT_MATCHED = "outcome != 'matched'"

# Secondary indexes of lookup_events, each designed for one query. Bulk loads drop and rebuild them.
INDEXES = {
    # window edges (partial hours), narrow windows, small-window percentiles, recent errors
    "ix_events_hour": "ON lookup_events (hour, ts_ms, level, outcome, stale, upstream_calls, "
                      "cache_hits, duration_ms)",
    # per-customer match rate: walked in customer order, so the window needs no sort
    "ix_events_customer": "ON lookup_events (customer_key, ts_ms, level, outcome)",
    # unmatched / ambiguous identifiers: grouped in index order, latest Gladly id by one seek
    "ix_events_subject": "ON lookup_events (outcome, subject_kind, subject, ts_ms, level, "
                         "gladly_customer_id)",
    # exact latency percentiles of wide windows: walk durations in order
    "ix_events_duration": "ON lookup_events (duration_ms, ts_ms, level)",
    # record_suggestion finds its event
    "ix_events_uid": "ON lookup_events (uid) WHERE uid IS NOT NULL",
    # unmatched profiles, their trend and top reasons: only the lookups that did not match
    "ix_events_profile": "ON lookup_events (profile_key, ts_ms, level, reason, suggestion) "
                         f"WHERE {NOT_MATCHED}",
}
_UNIQUE = {"ix_events_uid"}
INDEX_SQL = "".join(
    f"CREATE {'UNIQUE ' if name in _UNIQUE else ''}INDEX IF NOT EXISTS {name} {spec};\n"
    for name, spec in INDEXES.items())


def _statements(script: str) -> list[str]:
    """Split a script into statements (``;`` ends one; triggers keep their inner ones)."""
    out, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    return [statement for statement in out if statement.strip(" ;\n")]


def _run(conn: sqlite3.Connection, script: str) -> None:
    for statement in _statements(script):
        conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    _run(conn, _V1_TABLES)


def _v2(conn: sqlite3.Connection) -> None:
    present = {row[1] for row in conn.execute("PRAGMA table_info(lookup_events)")}
    for column, declaration in _V2_COLUMNS.items():
        if column not in present:
            conn.execute(f"ALTER TABLE lookup_events ADD COLUMN {column} {declaration}")
    _run(conn, _V2_TABLES + _V2_BACKFILL)


#: (version, step): step N takes a database at version N-1 to N
MIGRATIONS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = ((1, _v1), (2, _v2))
SCHEMA_VERSION = MIGRATIONS[-1][0]


def schema_is_current(conn: sqlite3.Connection) -> bool:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    present = conn.execute(
        f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN "
        f"({', '.join('?' * len(INDEXES))})", tuple(INDEXES)).fetchone()[0]
    return version >= SCHEMA_VERSION and present == len(INDEXES)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the file to :data:`SCHEMA_VERSION` (in one write transaction); returns the version
    found. A newer file (from a later release) is left as it is."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = conn.execute("PRAGMA user_version").fetchone()[0]  # now under the write lock
        for version, step in MIGRATIONS:
            if version > found:
                step(conn)
        _run(conn, INDEX_SQL)  # also restores indexes an interrupted bulk load dropped
        if found < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found


# -- lookup events -----------------------------------------------------------------------------
COLUMNS = (
    "ts_ms", "hour", "level", "outcome", "gladly_customer_id", "external_customer_id",
    "matched_customer_id", "emails", "customer_key", "subject_kind", "subject", "duration_ms",
    "upstream_calls", "cache_hits", "stale", "correlation_id", "error_code",
    "uid", "partial", "reason", "email_hashes", "suggestion", "profile_key",
)


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


INSERT_SQL = _insert("lookup_events", COLUMNS)
SUGGESTION_SQL = "UPDATE lookup_events SET suggestion = ? WHERE uid = ?"
ROLLUP_SQL = (
    "INSERT INTO lookup_hourly (hour, level, outcome, lookups, stale, upstream_calls, cache_hits) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hour, level, outcome) DO UPDATE SET "
    "lookups = lookup_hourly.lookups + excluded.lookups, stale = lookup_hourly.stale + excluded.stale, "
    "upstream_calls = lookup_hourly.upstream_calls + excluded.upstream_calls, "
    "cache_hits = lookup_hourly.cache_hits + excluded.cache_hits"  # qualified: PostgreSQL needs it
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
        event.uid, int(event.partial), event.reason, ",".join(event.email_hashes) or None, None,
        event.profile_key,
    )


_UPSTREAM, _HITS, _STALE = (COLUMNS.index(name) for name in ("upstream_calls", "cache_hits", "stale"))


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


# -- action and webhook events -----------------------------------------------------------------
ACTION_COLUMNS = ("ts_ms", "action", "outcome", "subscription_id", "customer_id", "order_id",
                  "reason_code", "og_status", "duration_ms", "correlation_id", "source", "detail")
WEBHOOK_COLUMNS = ("ts_ms", "outcome", "event_id", "type", "customer_id", "duration_ms")
ACTION_INSERT_SQL = _insert("action_events", ACTION_COLUMNS)
WEBHOOK_INSERT_SQL = _insert("webhook_events", WEBHOOK_COLUMNS)


def action_row(event: ActionEvent) -> tuple:
    return (to_ms(event.ts), *(getattr(event, name) for name in ACTION_COLUMNS[1:]))


def webhook_row(event: WebhookEvent) -> tuple:
    return (to_ms(event.ts), *(getattr(event, name) for name in WEBHOOK_COLUMNS[1:]))


#: tables pruned by age: (table, WHERE terms selecting rows older than a cutoff in ms)
PRUNED_TABLES = {
    "lookup_events": "hour <= :cutoff_hour AND ts_ms < :cutoff",
    "action_events": "ts_ms < :cutoff",
    "webhook_events": "ts_ms < :cutoff",
}
