"""Gladly request signing (``Gladly-Authorization``): verify incoming lookups, sign outgoing ones.

Implements the reference's section 7.1 exactly: a canonical request (method, configured path,
sorted query, the signed headers in the order ``SignedHeaders`` lists them, an empty line, the
``SignedHeaders`` value, the SHA-256 of the raw body), a day key derived from ``Gladly-Time``'s
own date, and an HMAC-SHA256 compared in constant time. Modelled on Slack's and Stripe's
verifiers: raw bytes in, header names normalised first, an injectable clock for the replay
window, one specific :class:`AuthError` subclass per failure. ``sign_headers`` is the other half,
used by the CLI, the demo traffic and the benchmarks to act as Gladly.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from .errors import (
    AuthError,
    BadSignature,
    InvalidGladlyTime,
    MalformedSignature,
    MissingSignature,
    MissingSignedHeader,
    StaleRequest,
    UnsupportedAlgorithm,
)

__all__ = [
    "ALGORITHM",
    "AuthError",
    "SignatureVerifier",
    "canonical_query",
    "canonical_request",
    "compute_signature",
    "day_key",
    "format_gladly_time",
    "normalize_headers",
    "parse_authorization",
    "parse_gladly_time",
    "sign_headers",
    "string_to_sign",
]

ALGORITHM = "hmac-sha256"
AUTH_HEADER = "gladly-authorization"
TIME_HEADER = "gladly-time"
#: the headers Gladly signs on a lookup (plus ``authorization``/``www-authenticate`` with Basic auth)
DEFAULT_SIGNED = ("accept", "content-type", "gladly-correlation-id", "gladly-time", "x-b3-traceid")
_BASIC_SIGNED = ("authorization", "www-authenticate")

_TIME_RE = re.compile(r"\d{8}T\d{6}Z", re.ASCII)
_HEX64_RE = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_HEADER_NAME_RE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+", re.ASCII)
_PARTS = {"signingalgorithm": "algorithm", "signedheaders": "signed", "signature": "signature"}


# --- the algorithm (section 7.1) ------------------------------------------------------------
class _Normalized(dict):
    """Headers already through :func:`normalize_headers`, which hands them back as they are: a
    lookup's headers are normalised once, not again by each step of the verification."""


def normalize_headers(headers: Mapping[str, str] | Any) -> dict[str, str]:
    """Lowercase header names → value; accepts a plain mapping or werkzeug ``Headers``.

    When a name occurs more than once the first value wins (what ``Headers.get`` returns).
    """
    if type(headers) is _Normalized:
        return headers
    items: Iterable[tuple[Any, Any]]
    items = headers.items() if hasattr(headers, "items") else headers
    normalized = _Normalized()
    for name, value in items:
        normalized.setdefault(str(name).lower(), "" if value is None else str(value))
    return normalized


def canonical_query(query: str | bytes | None) -> str:
    """Query string with its parameters sorted by name (case-sensitive, stable; kept as sent)."""
    if isinstance(query, (bytes, bytearray)):
        query = bytes(query).decode("latin-1")
    query = (query or "").lstrip("?")
    params = [part for part in query.split("&") if part]
    return "&".join(sorted(params, key=lambda part: part.split("=", 1)[0]))


def canonical_request(
    method: str,
    path: str,
    query: str | bytes | None,
    signed_headers: list[str],
    headers: Mapping[str, str] | Any,
    body: bytes,
) -> str:
    """The section 7.1 canonical request; ``headers`` are looked up case-insensitively."""
    lower = normalize_headers(headers)
    lines = [method.upper(), path, canonical_query(query)]
    lines += [f"{name}:{lower[name.lower()].strip()}" for name in signed_headers]
    lines += ["", ";".join(signed_headers), hashlib.sha256(bytes(body)).hexdigest()]
    return "\n".join(lines)


def string_to_sign(gladly_time: str, canonical: str) -> str:
    return f"{ALGORITHM}\n{gladly_time}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def day_key(key: bytes | str, gladly_time: str) -> bytes:
    """HMAC(key, ``YYYYMMDD`` of Gladly-Time): the raw 32-byte date-scoped signing key."""
    raw_key = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return _day_key(raw_key, gladly_time[:8])


@functools.lru_cache(maxsize=16)
def _day_key(raw_key: bytes, day: str) -> bytes:
    """One per key and day (every lookup of a day signs with the same one); the few cached
    are as secret as the key itself, which the verifier holds anyway."""
    return hmac.digest(raw_key, day.encode("utf-8"), "sha256")


def compute_signature(
    key: bytes | str,
    method: str,
    path: str,
    query: str | bytes | None,
    signed_headers: list[str],
    headers: Mapping[str, str] | Any,
    body: bytes,
    gladly_time: str,
) -> str:
    """Lowercase hex signature of a request, section 7.1 step by step."""
    canonical = canonical_request(method, path, query, signed_headers, headers, body)
    to_sign = string_to_sign(gladly_time, canonical)
    return hmac.digest(day_key(key, gladly_time), to_sign.encode("utf-8"), "sha256").hex()


# --- the header ---------------------------------------------------------------------------
def parse_authorization(value: str) -> tuple[str, list[str], str]:
    """``SigningAlgorithm=…, SignedHeaders=a;b, Signature=…`` → (algorithm, names, signature).

    Lenient on the form: spaces around parts and ``=``, case of the part names, part order.
    Strict on the content: each part exactly once, no other parts, names lowercase tokens
    without duplicates, the signature 64 hex digits (returned lowercase). The algorithm is
    returned lowercased but not checked here (the verifier says ``unsupported_algorithm``).
    """
    if value is None or not str(value).strip():
        raise MissingSignature(detail="Gladly-Authorization header is missing")
    found: dict[str, str] = {}
    for part in str(value).split(","):
        name, sep, content = part.partition("=")
        key = _PARTS.get(name.strip().lower())
        if not sep or key is None:
            raise MalformedSignature(
                detail="Gladly-Authorization must be SigningAlgorithm=…, SignedHeaders=…, Signature=…"
            )
        if key in found:
            raise MalformedSignature(detail=f"Gladly-Authorization repeats {name.strip()}")
        found[key] = content.strip()
    missing = [name for name, key in (("SigningAlgorithm", "algorithm"), ("SignedHeaders", "signed"),
                                      ("Signature", "signature")) if not found.get(key)]
    if missing:
        raise MalformedSignature(detail=f"Gladly-Authorization lacks {', '.join(missing)}")
    names = found["signed"].split(";")
    if not all(_HEADER_NAME_RE.fullmatch(name) for name in names):
        raise MalformedSignature(detail="SignedHeaders must be lowercase header names joined by ';'")
    if len(set(names)) != len(names):
        raise MalformedSignature(detail="SignedHeaders lists a header twice")
    if not _HEX64_RE.fullmatch(found["signature"]):
        raise MalformedSignature(detail="Signature must be 64 hex digits")
    return found["algorithm"].lower(), names, found["signature"].lower()


def parse_gladly_time(value: str) -> datetime:
    """``20250314T091522Z`` → aware UTC datetime; :class:`InvalidGladlyTime` otherwise."""
    text = (value or "").strip()
    if not _TIME_RE.fullmatch(text):
        raise InvalidGladlyTime(detail="Gladly-Time must look like YYYYMMDDTHHMMSSZ")
    try:  # the pattern fixed every position: no strptime, which was a tenth of verifying
        return datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]),
                        int(text[13:15]), tzinfo=timezone.utc)
    except ValueError:
        raise InvalidGladlyTime(detail="Gladly-Time is not a real date and time") from None


def format_gladly_time(moment: datetime | float | None = None) -> str:
    if moment is None:
        moment = time.time()
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(float(moment), tz=timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


# --- verifying ----------------------------------------------------------------------------
class SignatureVerifier:
    """Checks ``Gladly-Authorization`` on an incoming lookup; raises an :class:`AuthError`.

    ``keys`` is one key or several (rotation: the old and the new key are both accepted while
    Gladly switches); every key is tried, each compared in constant time.

    >>> verifier = SignatureVerifier(["new-key", "old-key"], path="/gladly/lookup", replay_window_s=300)
    >>> verifier.verify("POST", request.query_string, request.headers, request.get_data(cache=True))
    """

    def __init__(
        self,
        keys: str | bytes | Iterable[str | bytes],
        *,
        path: str = "/gladly/lookup",
        replay_window_s: float = 300,
        clock: Callable[[], float] = time.time,
    ):
        if isinstance(keys, (str, bytes)):
            keys = [keys]
        raw = tuple(key.encode("utf-8") if isinstance(key, str) else bytes(key) for key in keys)
        if not raw or not all(raw):
            raise ValueError("the Gladly signing key must not be empty")
        if replay_window_s < 0:
            raise ValueError("replay_window_s must be >= 0 (0 disables the check)")
        self._keys = raw
        self.path = path
        self.replay_window_s = replay_window_s
        self.clock = clock

    def __repr__(self) -> str:
        return (f"SignatureVerifier(keys=<{len(self._keys)} hidden>, path={self.path!r}, "
                f"replay_window_s={self.replay_window_s})")

    def verify(self, method: str, query_string: str | bytes | None, headers: Mapping[str, str] | Any,
               body: bytes, *, path: str | None = None) -> None:
        """Returns ``None`` when the signature is valid and fresh; raises otherwise.

        ``path`` is the canonical request's path line: the path the request actually arrived on
        (action routes answer at two places, each signed as requested); the lookup's configured
        path when not given.
        """
        lower = normalize_headers(headers)
        algorithm, signed, signature = parse_authorization(lower.get(AUTH_HEADER, ""))
        if algorithm != ALGORITHM:
            raise UnsupportedAlgorithm(detail=f"SigningAlgorithm must be {ALGORITHM}")
        if TIME_HEADER not in signed:
            raise MissingSignedHeader(detail="SignedHeaders must include gladly-time")
        absent = [name for name in signed if name not in lower]
        if absent:
            raise MissingSignedHeader(detail=f"signed header(s) not in the request: {', '.join(absent)}")
        gladly_time = lower[TIME_HEADER].strip()
        sent_at = parse_gladly_time(gladly_time)
        if self.replay_window_s:
            skew = self.clock() - sent_at.timestamp()
            if skew > self.replay_window_s:
                raise StaleRequest(detail=f"Gladly-Time is more than {self.replay_window_s:g} s old")
            if -skew > self.replay_window_s:
                raise StaleRequest(detail=f"Gladly-Time is more than {self.replay_window_s:g} s in the future")
        given = signature.encode("ascii")
        matched = False
        for key in self._keys:  # no early exit: every key costs the same, whichever one matches
            expected = compute_signature(key, method, path or self.path, query_string, signed, lower, body,
                                         gladly_time)
            matched |= hmac.compare_digest(expected.encode("ascii"), given)
        if not matched:
            raise BadSignature(detail="signature does not match the request")


# --- signing (acting as Gladly) ------------------------------------------------------------
def new_correlation_id() -> tuple[str, str]:
    """A 22-char base64url ``Gladly-Correlation-Id`` and the matching hex ``X-B3-Traceid``."""
    raw = secrets.token_bytes(16)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="), raw.hex()


def _trace_id_for(correlation_id: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(correlation_id + "=" * (-len(correlation_id) % 4))
    except ValueError:
        raw = b""
    return raw.hex() if len(raw) == 16 else secrets.token_hex(16)


def sign_headers(
    key: str | bytes,
    method: str = "POST",
    path: str = "/gladly/lookup",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    query: str = "",
    now: datetime | float | None = None,
    signed: Iterable[str] | None = None,
) -> dict[str, str]:
    """All headers Gladly would send with ``body``, ``Gladly-Authorization`` included.

    ``headers`` (any case) are kept and win; missing ones are added: ``Accept`` and
    ``Content-Type`` (``application/json``), ``Gladly-Time`` (from ``now``, default the current
    time), a random ``Gladly-Correlation-Id`` and its ``X-B3-Traceid``. ``signed`` defaults to
    Gladly's set, plus ``authorization``/``www-authenticate`` when present, sorted.
    """
    out: dict[str, str] = dict(headers or {})
    present = {name.lower() for name in out}

    def add(name: str, value: str) -> None:
        if name.lower() not in present:
            out[name] = value
            present.add(name.lower())

    add("Accept", "application/json")
    add("Content-Type", "application/json")
    add("Gladly-Time", format_gladly_time(now))
    lower = normalize_headers(out)
    if "gladly-correlation-id" not in lower:
        correlation_id, trace_id = new_correlation_id()
        add("Gladly-Correlation-Id", correlation_id)
        add("X-B3-Traceid", trace_id)
    else:
        add("X-B3-Traceid", _trace_id_for(lower["gladly-correlation-id"].strip()))
    lower = normalize_headers(out)

    if signed is None:
        names = sorted({*DEFAULT_SIGNED, *(h for h in _BASIC_SIGNED if h in lower)})
    else:
        names = [name.lower() for name in signed]
        absent = [name for name in names if name not in lower]
        if absent:
            raise ValueError(f"cannot sign headers that are not set: {', '.join(absent)}")
    gladly_time = lower[TIME_HEADER].strip()
    signature = compute_signature(key, method, path, query, names, lower, body, gladly_time)
    for name in [n for n in out if n.lower() == AUTH_HEADER]:
        del out[name]
    out["Gladly-Authorization"] = (
        f"SigningAlgorithm={ALGORITHM}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out
