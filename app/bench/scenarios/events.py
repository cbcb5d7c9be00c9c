"""Counting the events the API under test stored, without writing to its data directory (or, with
``OGTK_EVENTS_URL``, in its PostgreSQL)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def events_in(data_dir: Path) -> int:
    """Events stored so far, read without writing anything; needs free space (see :class:`EventCounter`)."""
    path = data_dir / "events.sqlite3"
    if not path.exists():
        return 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        return db.execute("SELECT COUNT(*) FROM lookup_events").fetchall()[0][0]


class EventCounter:
    """Counts stored events through one read-only connection opened while the disk has space.

    Why held open: the event database is in WAL mode, and a connection that finds no other
    connection on it (the API's workers drop theirs after a failed write) must rebuild the
    shared-memory index in the ``-shm`` file (creating it when the last writer removed it), which
    takes free space; on a full disk that fails with "disk I/O error", even for a ``mode=ro``
    open. Held open from before the disk fills, this connection
    keeps the index alive, so counting needs no free byte. ``fetchall`` ends each read at once,
    so the held connection never pins a snapshot or blocks a checkpoint.

    >>> with EventCounter(data_dir) as events:  # doctest: +SKIP
    ...     before = events.count(); fill_the_disk(); recorded = events.count() - before
    """

    def __init__(self, data_dir: Path):
        path = data_dir / "events.sqlite3"
        if not path.exists():
            raise FileNotFoundError(f"no event database at {path} yet: open the counter after a lookup")
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False)

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM lookup_events").fetchall()[0][0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "EventCounter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def server_side_max_ms(data_dir: Path, last: int) -> float:
    """Slowest duration the API itself recorded over its last ``last`` events (time inside the app)."""
    path = data_dir / "events.sqlite3"
    if not path.exists() or last <= 0:
        return 0.0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT max(duration_ms) FROM (SELECT duration_ms FROM lookup_events "
                           "ORDER BY id DESC LIMIT ?)", (last,)).fetchone()
    return float(row[0] or 0.0)


def events_in_postgres(url: str) -> int:
    """Lookup events stored so far in the PostgreSQL at ``url``."""
    import psycopg  # only the PostgreSQL scenarios need the driver

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        return conn.execute("SELECT COUNT(*) FROM lookup_events").fetchone()[0]
