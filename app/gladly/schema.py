"""The Gladly lookup request body: raw bytes → a validated, normalised :class:`LookupRequest`.

CONTRACT section 4 and the reference's section 2. Rules decided here where the contract is silent:

- ``lookupLevel`` is matched after trimming and case-insensitively (``"detailed"`` is DETAILED).
- ``uniqueMatchRequired`` must be a JSON boolean when present; absent or ``null`` defaults to
  ``True`` for DETAILED (Gladly always sends it so) and ``False`` for BASIC.
- ``query`` keys may be flat or under ``query.customAttributes``; a flat value wins unless it is
  ``null``. A ``customAttributes`` that is not an object is ignored, like any unknown key.
- ``emails``/``phones``: a string or a list of strings (``null`` = none); values trimmed, empties
  dropped, duplicates dropped (emails case-insensitively, keeping the first spelling); at most
  :data:`MAX_VALUES` of each (each email costs an Ordergroove search).
- ``externalCustomerId``: a string (trimmed; empty = absent) or an integral number (→ ``"123"``).
- ``id`` and ``name`` are informational (logged, never matched on): a wrong type is ignored.
- JSON must be strict (no ``NaN``/``Infinity``); a leading UTF-8 BOM is tolerated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import RequestError

__all__ = ["BASIC", "DETAILED", "LEVELS", "MAX_VALUES", "LookupRequest", "RequestError", "encode_body", "lookup_body",
           "parse_lookup_request"]

BASIC, DETAILED = "BASIC", "DETAILED"
LEVELS = (BASIC, DETAILED)
#: most emails (and phones) one request may carry
MAX_VALUES = 50
#: longest value kept: RFC 5321's 254 for an email; ids and phones are far shorter in practice
MAX_VALUE_CHARS = 254


@dataclass(frozen=True)
class LookupRequest:
    """One parsed Gladly lookup.

    >>> req = parse_lookup_request(b'{"lookupLevel":"BASIC","query":{"emails":"a@example.com"}}')
    >>> req.level, req.emails
    ('BASIC', ('a@example.com',))
    """

    level: str  # "BASIC" | "DETAILED"
    unique_match_required: bool = False
    external_customer_id: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    gladly_customer_id: str | None = None
    name: str | None = None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode(body: bytes | bytearray | memoryview | str | Mapping) -> Any:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("invalid_encoding", "request body must be UTF-8") from None
    elif isinstance(body, str):
        text = body
    else:
        raise RequestError("invalid_json", "request body must be a JSON object")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise RequestError("invalid_json", "request body is empty")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise RequestError("invalid_json", "request body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, NaN, over-long integers
        raise RequestError("invalid_json", f"request body is not valid JSON ({_short(exc)})") from None


def _short(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0][:120]


def _level(data: Mapping[str, Any]) -> str:
    if data.get("lookupLevel") is None:
        raise RequestError("missing_lookup_level", "lookupLevel is required (BASIC or DETAILED)")
    value = data["lookupLevel"]
    level = value.strip().upper() if isinstance(value, str) and value.isascii() else None
    if level not in LEVELS:
        raise RequestError("invalid_lookup_level", "lookupLevel must be BASIC or DETAILED")
    return level


def _unique(data: Mapping[str, Any], level: str) -> bool:
    value = data.get("uniqueMatchRequired")
    if value is None:
        return level == DETAILED
    if not isinstance(value, bool):
        raise RequestError("invalid_unique_match_required", "uniqueMatchRequired must be true or false")
    return value


def _query(data: Mapping[str, Any]) -> dict[str, Any]:
    if "query" not in data or data["query"] is None:
        raise RequestError("missing_query", "query is required")
    query = data["query"]
    if not isinstance(query, dict):
        raise RequestError("invalid_query", "query must be an object")
    nested = query.get("customAttributes")
    merged = dict(nested) if isinstance(nested, dict) else {}
    merged.update({key: value for key, value in query.items() if value is not None})
    return merged


def _strings(query: Mapping[str, Any], key: str) -> list[str]:
    value = query.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RequestError(f"invalid_{key}", f"query.{key} must be a string or a list of strings")
    return [_checked(item.strip(), f"query.{key}") for item in value if item.strip()]


def _checked(text: str, where: str) -> str:
    """A value we will send to Ordergroove and store: bounded, and encodable as UTF-8 (JSON lets
    a client send lone surrogates, which no URL or database can carry)."""
    if len(text) > MAX_VALUE_CHARS:
        raise RequestError("value_too_long", f"{where} values may be at most {MAX_VALUE_CHARS} characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RequestError("invalid_encoding", f"{where} is not valid Unicode text") from None
    return text


def _unique_values(values: list[str], key: str, *, fold: bool) -> tuple[str, ...]:
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        marker = value.casefold() if fold else value
        if marker not in seen:
            seen.add(marker)
            kept.append(value)
    if len(kept) > MAX_VALUES:
        raise RequestError(f"too_many_{key}", f"query.{key} may hold at most {MAX_VALUES} values")
    return tuple(kept)


def _external_id(query: Mapping[str, Any]) -> str | None:
    value = query.get("externalCustomerId")
    if value is None:
        return None
    if isinstance(value, str):
        return _checked(value.strip(), "query.externalCustomerId") or None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RequestError("invalid_external_customer_id", "query.externalCustomerId must be a string or an integer")


def _optional_text(value: Any) -> str | None:
    """Informational fields (Gladly's ``id``, ``name``): a value we cannot store is dropped."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()[:MAX_VALUE_CHARS]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text or None


def parse_lookup_request(body: bytes | str | Mapping[str, Any]) -> LookupRequest:
    """Validate one lookup body (raw bytes as received, or an already decoded object).

    Raises :class:`RequestError` (status 400) with a specific ``code`` for anything invalid;
    never anything else, whatever the bytes.
    """
    data = _decode(body)
    if not isinstance(data, Mapping):
        raise RequestError("invalid_json", "request body must be a JSON object")
    level = _level(data)
    unique = _unique(data, level)
    query = _query(data)
    external_id = _external_id(query)
    emails = _unique_values(_strings(query, "emails"), "emails", fold=True)
    phones = _unique_values(_strings(query, "phones"), "phones", fold=False)
    return LookupRequest(
        level=level,
        unique_match_required=unique,
        external_customer_id=external_id,
        emails=emails,
        phones=phones,
        gladly_customer_id=_optional_text(query.get("id")),
        name=_optional_text(query.get("name")) if isinstance(query.get("name"), str) else None,
    )


def lookup_body(level: str, *, external_customer_id: str | None = None, emails: Any = None, phones: Any = None,
                gladly_id: str | None = None, name: str | None = None,
                unique_match_required: bool | None = None) -> dict[str, Any]:
    """A lookup body shaped as Gladly sends it: the inverse of :func:`parse_lookup_request`.

    The one builder for tests, the simulator, the benchmarks and the CLI. Fields left ``None``
    are left out; ``uniqueMatchRequired`` defaults as Gladly sends it (true for DETAILED).

    >>> lookup_body("DETAILED", external_customer_id="42")
    {'lookupLevel': 'DETAILED', 'uniqueMatchRequired': True, 'query': {'externalCustomerId': '42'}}
    """
    level = level.upper()
    query: dict[str, Any] = {}
    for key, value in (("id", gladly_id), ("name", name), ("externalCustomerId", external_customer_id),
                       ("emails", emails), ("phones", phones)):
        if value is not None:
            query[key] = list(value) if isinstance(value, tuple) else value
    unique = level == DETAILED if unique_match_required is None else unique_match_required
    return {"lookupLevel": level, "uniqueMatchRequired": unique, "query": query}


def encode_body(payload: Any) -> bytes:
    """Compact JSON bytes, as Gladly puts them on the wire (and signs them)."""
    return json.dumps(payload, separators=(",", ":")).encode()
