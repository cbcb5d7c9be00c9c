"""A monotonic time budget handed down from the lookup to every upstream call it makes.

One lookup must answer inside ``OGTK_LOOKUP_DEADLINE_S``; passing a :class:`Deadline` object
(rather than separate timeouts) lets the client shorten its socket timeouts and skip retries
that could not finish in time.
"""

from __future__ import annotations

import time


class Deadline:
    """The time left for one unit of work.

    >>> d = Deadline(4.0); d.remaining() <= 4.0
    True
    """

    __slots__ = ("_ends_at", "_clock")

    def __init__(self, seconds: float, clock=time.monotonic):
        self._clock = clock
        self._ends_at = clock() + seconds

    @classmethod
    def unlimited(cls) -> "Deadline":
        return cls(10**9)

    def remaining(self) -> float:
        return max(0.0, self._ends_at - self._clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def shrink(self, margin: float) -> "Deadline":
        """A deadline ``margin`` seconds earlier (keeps time to answer after upstream gives up)."""
        inner = Deadline(0, self._clock)
        inner._ends_at = self._ends_at - margin
        return inner
