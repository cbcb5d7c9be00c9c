"""Ordergroove's request and answer conventions: JSON bodies, query parameters, list pagination.

Pagination: page style by default (``count``/``next``/``previous``/``results``; ``page``,
``page_size`` default 10, capped at 100); cursor style when the request carries
``X-OG-API-VERSION: 2`` or a ``cursor`` parameter (no ``count``). ``next`` links are absolute and
keep every filter.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Iterable
from urllib.parse import urlencode

from flask import Response, request

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
NOT_FOUND = {"detail": "Unable to find requested asset."}


class BadParams(Exception):
    """A query parameter Ordergroove would reject with 400; ``body`` is the error body."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.body = {field_name: [message]}


def json_response(body: Any, status: int = 200, content_type: str = "application/json",
          headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, content_type=content_type,
                    headers=headers)


def is_true(value: Any) -> bool:
    """Ordergroove's stored truthiness: ``True`` or the strings "True"/"true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def bool_param(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise BadParams(name, f"Select a valid choice. {raw} is not one of the available choices.")


def int_param(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadParams(name, "Enter a number.") from None


def narrow(rows: list[dict] | None, subset: Iterable[dict]) -> list[dict]:
    if rows is None:
        return list(subset)
    keep = {id(r) for r in subset}
    return [r for r in rows if id(r) in keep]


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(urlencode({"o": offset}).encode()).decode()


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        if not text.startswith("o="):
            return None
        offset = int(text[2:])
        return offset if offset >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


def _link(params: list[tuple[str, str]]) -> str:
    base = request.host_url.rstrip("/") + request.path
    return f"{base}?{urlencode(params)}" if params else base


def _page_size() -> int:
    raw = request.args.get("page_size")
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise BadParams("page_size", "A valid integer is required.") from None
    if size < 1:
        raise BadParams("page_size", "Ensure this value is greater than or equal to 1.")
    return min(size, MAX_PAGE_SIZE)


def paginate(rows: list[dict]) -> Response:
    """The list envelope of ``rows`` for the current request, page or cursor style."""
    size = _page_size()
    filters = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "cursor", "page_size")]
    if request.headers.get("X-OG-API-VERSION", "").strip() == "2" or "cursor" in request.args:
        offset = 0
        if request.args.get("cursor"):
            offset = _decode_cursor(request.args["cursor"])
            if offset is None:
                return json_response({"detail": "Invalid cursor"}, 404)
        end = offset + size
        nxt = _link([("cursor", _encode_cursor(end))] + filters + [("page_size", str(size))]) \
            if end < len(rows) else None
        prev = _link([("cursor", _encode_cursor(max(0, offset - size)))] + filters + [("page_size", str(size))]) \
            if offset > 0 else None
        return json_response({"next": nxt, "previous": prev, "results": rows[offset:end]})
    raw_page = request.args.get("page")
    try:
        page = int(raw_page) if raw_page not in (None, "") else 1
    except ValueError:
        raise BadParams("page", "A valid integer is required.") from None
    last = max(1, -(-len(rows) // size))
    if page < 1 or page > last:
        return json_response({"detail": "Invalid page."}, 404)
    keep = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    nxt = _link(keep + [("page", str(page + 1))]) if page < last else None
    prev = None
    if page > 1:
        prev = _link(keep) if page == 2 else _link(keep + [("page", str(page - 1))])
    start = (page - 1) * size
    return json_response({"count": len(rows), "next": nxt, "previous": prev, "results": rows[start:start + size]})
