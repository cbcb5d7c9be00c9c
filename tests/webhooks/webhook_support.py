"""The reference's golden webhook vector (ordergroove-writes-webhooks.md section 9) and helpers."""

from __future__ import annotations

import json

from app.ordergroove.webhook_signature import sign_webhook

NEW_KEY = b"og-test-verification-key-1"
OLD_KEY = b"og-test-verification-key-0"
TS = 1741170125
GOLDEN_BODY = (
    b'{"id":"65f0c1d2e3a4b5c6d7e8f901","type":"subscription.cancel","created":1741170123,"data":{"object":'
    b'{"type":"subscription","merchant":"5b4b5d02049b641549182f8040addf63","public_id":'
    b'"0767811a8025176986607ad9e36fd616","customer":"7781203344","product":"40212877221943","quantity":2,'
    b'"price":null,"every":6,"every_period":2,"every_period_display":"Weeks","live":false,"cancelled":'
    b'1741170120,"cancel_reason":"2|Has three bottles left","cancel_reason_code":2,"start_date":"2024-03-04",'
    b'"updated":1741170120}},"context":{},"snapshot":{}}'
)
SIG_NEW = "440f6d1e5295692e88aab75694504c792804d80b9463963eceaf1ad57350c89b"
SIG_OLD = "802b7144fd69dbcbbc8f70f76b1bb7bfd377973a1bd8724c27d3514db401f731"
WEBHOOK_PATH = "/ordergroove/webhook"


def envelope(event_id="evt-1", type_="subscription.cancel", customer="7781203344", **extra) -> bytes:
    obj = {"public_id": "sub-1", **({"customer": customer} if customer is not None else {}), **extra}
    return json.dumps({"id": event_id, "type": type_, "created": TS, "data": {"object": obj},
                       "context": {}, "snapshot": {}}, separators=(",", ":")).encode()


def signed_headers(body: bytes, *, key: bytes = NEW_KEY, ts: int = TS, extra_sigs: tuple[str, ...] = ()) -> dict:
    sigs = ",".join(f"sig={s}" for s in (sign_webhook(key, ts, body), *extra_sigs))
    return {"Content-Type": "application/json", "OrderGroove-Signature": f"ts={ts},{sigs}"}
