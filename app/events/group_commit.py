"""Group commit: the threads of one process that record at the same moment share one transaction.

Every lookup records an event before it answers. One transaction per event made 16 concurrent
clients cost about a thousand SQLite transactions a second, each taking the database's single
write lock in turn (and sleeping in SQLite's busy handler when another worker had it): the event
write cost as much as the rest of a warm lookup. Here a thread that finds no write in progress
writes everything waiting, its own row included, in one transaction; threads arriving meanwhile
wait for the next one, which one of them leads. Nothing changes for the caller: :meth:`submit`
returns once its row is committed (``True``) or has failed (``False``), so an answered lookup is a
recorded one, and there is no background thread to lose rows at exit. No thread waits
longer than two writes: the one under way and its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Ticket:
    __slots__ = ("item", "ok")

    def __init__(self, item: Any):
        self.item = item
        self.ok: bool | None = None


class GroupCommit:
    """``commit.submit(row)`` from any thread; ``write(rows)`` runs one transaction per group.

    ``write`` returns True when the rows were stored, False (or raises) when they were not.

    >>> commit = GroupCommit(lambda rows: store.write_rows(rows))
    >>> commit.submit(("lookup", row))
    True
    """

    def __init__(self, write: Callable[[Sequence[Any]], bool], *, max_group: int = 500):
        self.write = write
        self.max_group = max(1, int(max_group))
        self._cond = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._writing = False
        #: transactions and rows so far (for tests and the bench: rows / groups is the sharing)
        self.groups = 0
        self.rows = 0

    def submit(self, item: Any) -> bool:
        ticket = _Ticket(item)
        with self._cond:
            self._waiting.append(ticket)
        while True:
            with self._cond:
                while self._writing and ticket.ok is None:
                    self._cond.wait()
                if ticket.ok is not None:  # written (or failed) in a group another thread led
                    return ticket.ok
                self._writing = True
                group, self._waiting = self._waiting[:self.max_group], self._waiting[self.max_group:]
            self._write(group)  # ours is in it, unless more than max_group were waiting before us

    def _write(self, group: list[_Ticket]) -> None:
        ok = False
        try:
            ok = bool(self.write([t.item for t in group]))
        finally:
            with self._cond:
                for t in group:
                    t.ok = ok
                self.groups += 1
                self.rows += len(group)
                self._writing = False
                self._cond.notify_all()  # the written return; one of the others leads the next group
