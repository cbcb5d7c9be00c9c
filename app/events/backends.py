"""Which event store a process uses: SQLite under ``OGTK_DATA_DIR`` unless ``OGTK_EVENTS_URL`` is set.

The API workers, the CLI and the dashboard all open their store here, so with
``OGTK_EVENTS_URL=postgresql://…`` every one of them (on every instance) reads and writes the
same events. psycopg is imported only then: a single instance on SQLite never loads it.

>>> store = open_event_store(settings)        # EventStore or PostgresEventStore
>>> store.record(LookupEvent.create(level="BASIC", outcome="matched"))
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .store import EventStore

if TYPE_CHECKING:  # pragma: no cover
    from ..settings import Settings
    from .postgres import PostgresEventStore

#: bounds of one process's PostgreSQL use: pooled connections, and seconds per connect / statement
POOL_SIZE, CONNECT_TIMEOUT_S, STATEMENT_TIMEOUT_S = 4, 2.0, 5.0


def open_event_store(settings: "Settings", *, busy_timeout_ms: int = 5000) -> "EventStore | PostgresEventStore":
    """The event store ``settings`` name (``busy_timeout_ms`` is SQLite's wait for a writer)."""
    if settings.events_url is not None:
        from .postgres import PostgresEventStore

        return PostgresEventStore(settings.events_url.reveal(), pool_size=POOL_SIZE,
                                  connect_timeout_s=CONNECT_TIMEOUT_S,
                                  statement_timeout_s=STATEMENT_TIMEOUT_S)
    return EventStore(settings.events_db_path, busy_timeout_ms=busy_timeout_ms)
