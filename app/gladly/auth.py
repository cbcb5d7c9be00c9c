"""Who may call the lookup: Basic auth, request signing, and the two combined per settings.

``GLADLY_SIGNING_KEY`` and ``GLADLY_BASIC_AUTH`` are independent (CONTRACT section 2): each one
that is set is enforced, so with both set a request needs a valid signature *and* matching
Basic credentials. With neither set, requests pass only when ``OGTK_ALLOW_UNAUTHENTICATED=1``;
otherwise every request is refused (fail closed), whoever built the authenticator.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any, Callable, Mapping

from .errors import AuthenticationNotConfigured, BadCredentials, MissingCredentials
from .signing import SignatureVerifier, normalize_headers

__all__ = ["Authenticator", "BasicAuthVerifier"]


def _digest(value: bytes) -> bytes:
    # Comparing fixed-size digests keeps the comparison constant-time in the length too.
    return hashlib.sha256(value).digest()


class BasicAuthVerifier:
    """Checks ``Authorization: Basic …`` against one ``user:password``.

    >>> verifier = BasicAuthVerifier("support:s3cret")
    >>> verifier.verify({"Authorization": "Basic c3VwcG9ydDpzM2NyZXQ="})
    """

    def __init__(self, expected: str):
        if ":" not in expected:
            raise ValueError("Basic auth credentials must look like user:password")
        self._expected = _digest(expected.encode("utf-8"))

    def __repr__(self) -> str:
        return "BasicAuthVerifier('***')"

    def verify(self, headers: Mapping[str, str] | Any) -> None:
        """Returns ``None`` when the credentials match; raises ``MissingCredentials``/``BadCredentials``.

        The decoded ``user:password`` bytes are compared whole (user and password together, so
        neither part can be probed separately), as SHA-256 digests with ``hmac.compare_digest``.
        Undecodable base64 and non-UTF-8 credentials are simply wrong credentials.
        """
        value = normalize_headers(headers).get("authorization", "").strip()
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "basic" or not token.strip():
            raise MissingCredentials(detail="Basic credentials are required")
        try:
            decoded = base64.b64decode(token.strip().encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise BadCredentials(detail="Basic credentials are not valid base64") from None
        if not hmac.compare_digest(_digest(decoded), self._expected):
            raise BadCredentials(detail="Basic credentials do not match")


class Authenticator:
    """Every authentication the settings ask for, in one call.

    >>> auth = Authenticator.from_settings(settings)
    >>> auth.verify(request.method, request.query_string, request.headers, request.get_data(cache=True))
    """

    def __init__(
        self,
        signature: SignatureVerifier | None = None,
        basic: BasicAuthVerifier | None = None,
        *,
        allow_unauthenticated: bool = False,
    ):
        self.signature = signature
        self.basic = basic
        self.allow_unauthenticated = allow_unauthenticated

    @classmethod
    def from_settings(cls, settings: Any, *, clock: Callable[[], float] = time.time) -> "Authenticator":
        signature = basic = None
        if settings.gladly_signing_key:
            signature = SignatureVerifier(
                [key.reveal() for key in settings.gladly_signing_keys],
                path=settings.gladly_lookup_path,
                replay_window_s=settings.gladly_replay_window_s,
                clock=clock,
            )
        if settings.gladly_basic_auth:
            basic = BasicAuthVerifier(settings.gladly_basic_auth.reveal())
        return cls(signature, basic, allow_unauthenticated=settings.allow_unauthenticated)

    @property
    def mode(self) -> str:
        """``"signature+basic"``, ``"signature"``, ``"basic"``, ``"none"`` or ``"refuse"``."""
        parts = [name for name, verifier in (("signature", self.signature), ("basic", self.basic)) if verifier]
        if parts:
            return "+".join(parts)
        return "none" if self.allow_unauthenticated else "refuse"

    def __repr__(self) -> str:
        return f"Authenticator(mode={self.mode!r})"

    def verify(self, method: str, query_string: str | bytes | None, headers: Mapping[str, str] | Any,
               body: bytes, *, path: str | None = None) -> None:
        """Returns ``None`` when the request may proceed; raises an ``AuthError`` otherwise.

        ``path``: the path the request was sent to, signed as such (default: the lookup path).
        """
        if self.signature is None and self.basic is None:
            if self.allow_unauthenticated:
                return
            raise AuthenticationNotConfigured(detail="lookup authentication is not configured")
        lower = normalize_headers(headers)
        if self.basic is not None:
            self.basic.verify(lower)
        if self.signature is not None:
            self.signature.verify(method, query_string, lower, body, path=path)
