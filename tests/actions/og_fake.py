"""A small stateful Ordergroove behind ``responses``: the records of one customer, and the two PATCHes.

Payloads are shaped like the reference's (``ordergroove-rest-api.md``, ``ordergroove-writes-webhooks.md``):
list envelopes with ``results``, ``live`` as Ordergroove spells it, the three error body shapes.
``on_patch`` scripts what each PATCH does: ``"ok"`` (apply, 200), ``"apply_then_timeout"`` /
``"apply_then_503"`` (the change lands, the answer is lost), ``"timeout"`` / ``"503"`` (nothing
lands, no useful answer), or ``(status, body)`` for a refusal (nothing lands).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from urllib.parse import parse_qs, urlsplit

import requests
import responses

BASE = "https://og.test"
SID = "0767811a8025176986607ad9e36fd616"
OID = "b5384130608aff9075a80fee319ab115"
NEXT_OID = "c0ffee30608aff9075a80fee319ab999"
CUSTOMER = "7781203344"
PRODUCT = "40212877221943"
PRODUCT_NAME = "Cold Brew Concentrate 32 oz"


class FakeOrdergroove:
    def __init__(self, mock: responses.RequestsMock):
        self.lock = threading.Lock()
        self.subscription = {"public_id": SID, "customer": CUSTOMER, "product": PRODUCT, "live": True,
                             "quantity": 2, "price": None, "every": 6, "every_period": 2, "cancelled": None,
                             "cancel_reason": None, "created": "2024-03-04 09:00:00", "updated": "2025-03-01 10:00:00"}
        self.order = {"public_id": OID, "customer": CUSTOMER, "status": 1, "place": "2025-03-28 00:00:00"}
        self.next_order = {"public_id": NEXT_OID, "customer": CUSTOMER, "status": 1, "place": "2025-05-09 00:00:00"}
        self.skipped = False
        self.on_patch: deque = deque()
        self.patches: list[tuple[str, dict]] = []
        self.requests: list[str] = []
        mock.add_passthru("http://127.0.0.1")  # the session sandbox, if a test uses it too
        for method, pattern, handler in [
            ("GET", r"/customers/[^/?]+/$", self._customer),
            ("GET", r"/subscriptions/\?", self._subscriptions),
            ("GET", r"/subscriptions/[^/?]+/$", self._subscription),
            ("GET", r"/orders/\?", self._orders),
            ("GET", r"/orders/[^/?]+/$", self._order),
            ("GET", r"/items/\?", self._items),
            ("GET", r"/products/", self._products),
            ("PATCH", r"/subscriptions/[^/]+/cancel/$", self._cancel),
            ("PATCH", r"/orders/[^/]+/skip_subscription/$", self._skip),
        ]:
            mock.add_callback(method, re.compile(re.escape(BASE) + pattern), callback=self._counted(handler))

    # -- plumbing ---------------------------------------------------------------------------------
    def _counted(self, handler):
        def callback(request):
            with self.lock:
                self.requests.append(f"{request.method} {urlsplit(request.url).path}")
                return handler(request)
        return callback

    @staticmethod
    def _json(body, status: int = 200):
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    @staticmethod
    def _query(request) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}

    def _upcoming(self) -> list[dict]:
        if self.skipped:
            return [self.next_order]
        return [self.order] if self.order["status"] == 1 else []

    # -- reads ------------------------------------------------------------------------------------
    def _customer(self, request):
        return self._json({"merchant_user_id": CUSTOMER, "first_name": "Dana", "last_name": "Reyes",
                           "email": "dana.reyes@example.com", "live": True})

    def _subscriptions(self, request):
        return self._json({"count": 1, "next": None, "results": [self.subscription]})

    def _subscription(self, request):
        if urlsplit(request.url).path.rstrip("/").rsplit("/", 1)[-1] != SID:
            return self._json({"detail": "Unable to find requested asset."}, 404)
        return self._json(self.subscription)

    def _orders(self, request):
        rows = self._upcoming() if self.subscription["live"] in (True, "True", "true") else []
        return self._json({"count": len(rows), "next": None, "results": rows})

    def _order(self, request):
        oid = urlsplit(request.url).path.rstrip("/").rsplit("/", 1)[-1]
        for order in (self.order, self.next_order):
            if order["public_id"] == oid:
                return self._json(order)
        return self._json({"detail": "Unable to find requested asset."}, 404)

    def _items(self, request):
        query = self._query(request)
        rows = [{"public_id": "item-1", "order": o["public_id"], "subscription": SID, "product": PRODUCT,
                 "quantity": 2} for o in self._upcoming()]
        if "order" in query:
            rows = [r for r in rows if r["order"] == query["order"]]
        if "subscription" in query:
            rows = [r for r in rows if r["subscription"] == query["subscription"]]
        return self._json({"count": len(rows), "next": None, "results": rows})

    def _products(self, request):
        product = {"external_product_id": PRODUCT, "name": PRODUCT_NAME, "sku": "CB-32", "price": "24.99",
                   "live": True, "discontinued": False, "autoship_enabled": True}
        if "?" in request.url:
            return self._json({"count": 1, "next": None, "results": [product]})
        return self._json(product)

    # -- writes -----------------------------------------------------------------------------------
    def _script(self):
        return self.on_patch.popleft() if self.on_patch else "ok"

    def _answer(self, script, applied_body):
        if script in ("timeout", "apply_then_timeout"):
            raise requests.exceptions.ReadTimeout("scripted: no answer")
        if script in ("503", "apply_then_503"):
            return 503, {"Content-Type": "text/html"}, "<html>Service Unavailable</html>"
        if isinstance(script, tuple):
            status, body = script
            return self._json(body, status) if not isinstance(body, str) else (status, {}, body)
        return self._json(applied_body)

    def _cancel(self, request):
        body = json.loads(request.body or b"{}")
        self.patches.append(("cancel", body))
        script = self._script()
        if script in ("ok", "apply_then_timeout", "apply_then_503"):
            if self.subscription["live"] is not True:
                return self._json({"detail": "Subscription cannot be edited in its current state."}, 400)
            self.subscription.update(live=False, cancelled="2025-03-05 10:22:00",
                                     cancel_reason=body.get("cancel_reason"))
        return self._answer(script, self.subscription)

    def _skip(self, request):
        body = json.loads(request.body or b"{}")
        self.patches.append(("skip", body))
        script = self._script()
        if script in ("ok", "apply_then_timeout", "apply_then_503"):
            if self.skipped or body.get("subscription") != SID:
                return self._json({"subscription": ["This subscription is not valid for this order."]}, 400)
            self.skipped = True
        return self._answer(script, self.order)
