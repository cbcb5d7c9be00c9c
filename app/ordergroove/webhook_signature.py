"""Ordergroove webhook signatures: ``Ordergroove-Signature: ts=<unix>,sig=<hex>[,sig=<hex>]``.

``sig`` is hex HMAC-SHA256, keyed by the route's verification key, of ``<ts>.`` followed by the
raw body bytes exactly as received (never re-serialised JSON). During a key rotation the header
carries two ``sig`` values and ``ORDERGROOVE_WEBHOOK_KEY`` may hold two keys: a delivery is
genuine when any ``sig`` matches any key (CONTRACT section 9, reference section 8.2). Every key
is tried against every ``sig`` with ``hmac.compare_digest``, without stopping at the first match,
so the time taken says nothing about which comparison succeeded. Shaped like Stripe's and
Slack's verifiers: raw bytes in, header names normalised first, an injectable clock, one error
class per failure. The contract sets no ``ts`` window (Ordergroove retries for hours and may not
refresh ``ts``); ``max_age_s`` exists for a deployment that wants one and is off by default.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any, Callable, Iterable, Mapping

__all__ = [
    "SIGNATURE_HEADER", "BadWebhookSignature", "MalformedWebhookSignature", "MissingWebhookSignature",
    "StaleWebhookSignature", "WebhookSignatureError", "WebhookVerifier", "sign_webhook",
]

SIGNATURE_HEADER = "ordergroove-signature"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_DIGITS = re.compile(r"[0-9]{1,12}", re.ASCII)


class WebhookSignatureError(Exception):
    """The delivery is not proven to come from Ordergroove; ``code`` names why (never the body)."""

    code = "bad_webhook_signature"


class MissingWebhookSignature(WebhookSignatureError):
    code = "missing_signature"


class MalformedWebhookSignature(WebhookSignatureError):
    code = "malformed_signature"


class StaleWebhookSignature(WebhookSignatureError):
    code = "stale_signature"


class BadWebhookSignature(WebhookSignatureError):
    code = "bad_signature"


def _header(headers: Mapping[str, str] | Any) -> str:
    items = headers.items() if hasattr(headers, "items") else headers
    for name, value in items:
        if str(name).lower() == SIGNATURE_HEADER:
            return "" if value is None else str(value)
    return ""


def parse_signature_header(value: str) -> tuple[str, list[str]]:
    """``"ts=1741170125,sig=44…,sig=80…"`` → ``("1741170125", ["44…", "80…"])`` (sigs lowercased)."""
    if not value or not value.strip():
        raise MissingWebhookSignature("the Ordergroove-Signature header is missing")
    stamps: list[str] = []
    sigs: list[str] = []
    for part in value.split(","):
        name, sep, content = (p.strip() for p in part.partition("="))
        if not sep:
            raise MalformedWebhookSignature("Ordergroove-Signature parts must look like name=value")
        if name.lower() == "ts":
            stamps.append(content)
        elif name.lower() == "sig":
            sigs.append(content.lower())
        # other parts are ignored: Ordergroove may add some, and they are not signed anyway
    if len(stamps) != 1 or not _DIGITS.fullmatch(stamps[0]):
        raise MalformedWebhookSignature("Ordergroove-Signature needs exactly one numeric ts")
    if not sigs or not all(_HEX64.fullmatch(s) for s in sigs):
        raise MalformedWebhookSignature("Ordergroove-Signature needs sig values of 64 hex digits")
    return stamps[0], sigs


def sign_webhook(key: bytes | str, ts: int | str, body: bytes) -> str:
    """The ``sig`` Ordergroove computes: hex HMAC-SHA256(key, ``<ts>.`` + raw body)."""
    raw_key = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return hmac.new(raw_key, str(ts).encode("ascii") + b"." + bytes(body), hashlib.sha256).hexdigest()


class WebhookVerifier:
    """Checks one delivery against every configured key; raises a :class:`WebhookSignatureError`.

    >>> verifier = WebhookVerifier([b"og-test-verification-key-1", b"og-test-verification-key-0"])
    >>> verifier.verify(request.headers, request.get_data(cache=True))  # doctest: +SKIP
    """

    def __init__(self, keys: Iterable[bytes | str], *, max_age_s: float | None = None,
                 clock: Callable[[], float] = time.time):
        self._keys = tuple(k.encode("utf-8") if isinstance(k, str) else bytes(k) for k in keys)
        if not self._keys or not all(self._keys):
            raise ValueError("at least one non-empty Ordergroove webhook key is needed")
        self.max_age_s = max_age_s
        self.clock = clock

    def __repr__(self) -> str:
        return f"WebhookVerifier(keys={len(self._keys)} x '***', max_age_s={self.max_age_s})"

    def verify(self, headers: Mapping[str, str] | Any, body: bytes) -> int:
        """Returns the delivery's ``ts`` when a ``sig`` matches a key; raises otherwise."""
        ts, sigs = parse_signature_header(_header(headers))
        if self.max_age_s is not None and abs(self.clock() - int(ts)) > self.max_age_s:
            raise StaleWebhookSignature(f"Ordergroove-Signature ts is more than {self.max_age_s:g} s away")
        message = ts.encode("ascii") + b"." + bytes(body)
        matched = False
        for key in self._keys:
            expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode("ascii")
            for sig in sigs:
                matched |= hmac.compare_digest(expected, sig.encode("ascii"))
        if not matched:
            raise BadWebhookSignature("no sig matches a configured key")
        return int(ts)
