"""Exceptions raised by the Ordergroove client: one root, one subclass per way a call fails.

Callers decide on the class only (Ordergroove warns that messages change); the blueprint maps
them to lookup outcomes and HTTP statuses in one place.
"""

from __future__ import annotations


class OrdergrooveError(Exception):
    """Root of every Ordergroove failure; carries the endpoint and HTTP status when known."""

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None):
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status

    def __str__(self) -> str:
        where = f" [{self.endpoint}" + (f" -> {self.status}" if self.status else "") + "]" if self.endpoint else ""
        return f"{self.args[0]}{where}"


class NotFound(OrdergrooveError):
    """404: the customer, subscription or product does not exist (or is not visible to this key)."""


class Unauthorized(OrdergrooveError):
    """401/403: the API key is wrong or lacks permission. Retrying will not help."""


class RateLimited(OrdergrooveError):
    """429 after every allowed retry."""


class Unavailable(OrdergrooveError):
    """5xx, timeout, connection failure or an unreadable body, after every allowed retry.

    ``timed_out`` is true when no answer came back in time (the request may have reached
    Ordergroove: a write may have happened); ``deadline_cut`` when it was our own lookup budget,
    not Ordergroove, that ran out.
    """

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None,
                 timed_out: bool = False, deadline_cut: bool = False):
        super().__init__(message, endpoint=endpoint, status=status)
        self.timed_out = timed_out
        self.deadline_cut = deadline_cut


class BadRequest(OrdergrooveError):
    """400: Ordergroove rejected the parameters we sent (a bug on our side, not the caller's)."""
