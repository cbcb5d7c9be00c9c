"""Ordergroove's two write calls (CONTRACT §8), and the write fault that tests a client's read-back.

``PATCH /subscriptions/{id}/cancel/`` and ``PATCH /orders/{id}/skip_subscription/`` answer as
Ordergroove does (:mod:`.mutations`). The write fault (``write_fault_rate``): the write is
applied, then the answer is lost: a 503, or a hang of ``hang_s`` ending in 504 (``write_fault``
``"503"`` or ``"hang"``), so only a read-back tells the client what happened.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Response, current_app, request

from .mutations import Change, Refused, cancel_subscription, skip_subscription
from .protocol import json_response

writes = Blueprint("sandbox_writes", __name__)


def apply(change: Callable[[], tuple[dict, list[Change]]]) -> Response:
    """Run a change; announce it (webhooks); answer its record, Ordergroove's refusal, or the write fault."""
    state = current_app.extensions["sandbox"]
    try:
        record, changes = change()
    except Refused as refused:
        return json_response(refused.body, refused.status)
    state.announce(changes)
    lost = state.injector.draw_write_fault()
    if lost is not None:
        status, body, content_type, headers = state.injector.body(lost)
        return Response(body, status=status, content_type=content_type, headers=headers)
    return json_response(record)


def _body() -> Any:
    return request.get_json(force=True, silent=True) if request.get_data() else {}


@writes.patch("/subscriptions/<rid>/cancel/")
def cancel(rid: str) -> Response:
    return apply(lambda: cancel_subscription(current_app.extensions["sandbox"].dataset, rid, _body()))


@writes.patch("/orders/<rid>/skip_subscription/")
def skip(rid: str) -> Response:
    return apply(lambda: skip_subscription(current_app.extensions["sandbox"].dataset, rid, _body()))
