"""Two worker processes submitting the same cancel: a loopback Ordergroove that counts PATCHes.

``GatedOrdergroove`` is a real HTTP server (werkzeug, a thread of the test process) serving the
few reads an action makes and a cancel PATCH that waits for ``release`` before it answers, so a
second submit arrives while the first is still writing. ``submit_in_child`` runs in a spawned
process: its own app, its own client, the same data directory as the other worker.
"""

from __future__ import annotations

import json
import threading

from flask import Flask, Response
from werkzeug.serving import make_server

from app.processes import LOOPBACK, free_port

SID = "0767811a8025176986607ad9e36fd616"
CUSTOMER = "7781203344"


class GatedOrdergroove:
    def __init__(self) -> None:
        self.patches = 0
        self.patching = threading.Event()
        self.release = threading.Event()
        self.live = True
        self._lock = threading.Lock()
        app = Flask("gated-ordergroove")

        def answer(body, status=200):
            return Response(json.dumps(body), status=status, mimetype="application/json")

        @app.get("/subscriptions/<sid>/")
        def subscription(sid):
            return answer({"public_id": sid, "customer": CUSTOMER, "product": "p1", "live": self.live})

        @app.get("/customers/<cid>/")
        def customer(cid):
            return answer({"merchant_user_id": cid, "first_name": "Dana"})

        @app.get("/<path:anything>")
        def lists(anything):
            return answer({"count": 0, "next": None, "results": []})

        @app.patch("/subscriptions/<sid>/cancel/")
        def cancel(sid):
            with self._lock:
                self.patches += 1
            self.patching.set()
            self.release.wait(20)
            self.live = False
            return answer({"public_id": sid, "live": False})

        self.port = free_port()
        self._server = make_server(LOOPBACK, self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def __enter__(self) -> "GatedOrdergroove":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._server.shutdown()
        self._thread.join(10)


def submit_in_child(config: dict, signing_key: str, ready, results) -> None:
    """One worker: build the app, say so, submit the cancel, hand back (status, body)."""
    from app import create_app
    from app.gladly.signing import sign_headers

    app = create_app(config)
    client = app.test_client()
    path = f"/gladly/actions/subscriptions/{SID}/cancel"
    body = json.dumps({"cancelReasonCode": "2"}).encode()
    headers = sign_headers(signing_key, method="POST", path=path, body=body)
    ready.set()
    response = client.post(path, data=body, headers=headers)
    results.put((response.status_code, response.get_json()))
    app.extensions["ogtk"].close()
