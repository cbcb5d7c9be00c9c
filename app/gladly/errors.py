"""Errors of the Gladly side: one root carrying ``code``, ``detail`` and the HTTP ``status``.

The blueprint turns any :class:`GladlyError` into ``{"errors":[{"code","detail"}]}`` with its
status. Every class takes ``(code=None, detail="", status=None)``; subclasses supply the default
code and status, so they are raised as ``BadSignature(detail="...")``. Authentication failures are :class:`AuthError` (401), one subclass per reason so tests
and metrics can tell them apart; request-body problems are :class:`RequestError` (400). A
``detail`` is safe to send to the caller: it never holds a key, a password or a header value.
"""

from __future__ import annotations


class GladlyError(Exception):
    """A failure a Gladly request can cause, with the status the API answers it with.

    >>> err = GladlyError("unsupported_media_type", "Content-Type must be application/json", 415)
    >>> err.code, err.status
    ('unsupported_media_type', 415)
    """

    code = "bad_request"
    status = 400

    def __init__(self, code: str | None = None, detail: str = "", status: int | None = None):
        self.code = code or type(self).code
        self.detail = detail or self.code.replace("_", " ")
        self.status = status or type(self).status
        super().__init__(f"{self.code}: {self.detail}")

    def as_body(self) -> dict:
        return {"errors": [{"code": self.code, "detail": self.detail}]}


class RequestError(GladlyError):
    """The request body is not a valid Gladly lookup (400)."""

    code = "invalid_request"
    status = 400


class AuthError(GladlyError):
    """The request failed authentication (401)."""

    code = "unauthorized"
    status = 401


# --- signature (Gladly-Authorization) ------------------------------------------------------
class MissingSignature(AuthError):
    code = "missing_signature"


class MalformedSignature(AuthError):
    code = "malformed_signature"


class UnsupportedAlgorithm(AuthError):
    code = "unsupported_algorithm"


class MissingSignedHeader(AuthError):
    code = "missing_signed_header"


class InvalidGladlyTime(AuthError):
    code = "invalid_gladly_time"


class StaleRequest(AuthError):
    code = "stale_request"


class BadSignature(AuthError):
    code = "bad_signature"


# --- Basic auth ------------------------------------------------------------------------------
class MissingCredentials(AuthError):
    code = "missing_credentials"


class BadCredentials(AuthError):
    code = "bad_credentials"


class AuthenticationNotConfigured(AuthError):
    """Neither a signing key nor Basic auth is set and unauthenticated use was not allowed."""

    code = "authentication_not_configured"
