"""End to end: an admin edit in the sandbox → its signed webhook → the very next card shows it.

The API runs on a real loopback HTTP server (werkzeug, a thread) because the sandbox delivers
webhooks over HTTP, as Ordergroove does. Cards stay fresh in the cache for 90 s, so a card that
changes within the poll below changed because the webhook dropped it.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from app import create_app
from app.gladly.schema import encode_body, lookup_body
from app.gladly.signing import sign_headers
from app.processes import LOOPBACK, free_port
from app.sandbox import KNOWN, SandboxServer

from support import SIGNING_KEY

pytestmark = pytest.mark.slow

KEY = "og-e2e-verification-key"
DANA = KNOWN["reference"]
SID = KNOWN["reference_active_subscription"]


@pytest.fixture
def api_and_sandbox(tmp_path):
    port = free_port()
    with SandboxServer(customers=60, webhook_url=f"http://{LOOPBACK}:{port}/ordergroove/webhook",
                       webhook_key=KEY) as sb:
        app = create_app({"ORDERGROOVE_BASE_URL": sb.base_url, "ORDERGROOVE_API_KEY": sb.api_key,
                          "GLADLY_SIGNING_KEY": SIGNING_KEY, "OGTK_DATA_DIR": str(tmp_path / "data"),
                          "ORDERGROOVE_WEBHOOK_KEY": KEY})
        server = make_server(LOOPBACK, port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{LOOPBACK}:{port}", sb, app
        finally:
            server.shutdown()
            thread.join(10)
            app.extensions["ogtk"].close()


def quantity_on_card(api: str) -> int:
    body = encode_body(lookup_body("DETAILED", external_customer_id=DANA, gladly_id="g-e2e"))
    response = requests.post(f"{api}/gladly/lookup", data=body, headers=sign_headers(SIGNING_KEY, body=body),
                             timeout=10)
    assert response.status_code == 200
    tx = next(t for t in response.json()["results"][0]["transactions"] if t["subscriptionId"] == SID)
    return tx["quantity"]


def test_a_change_in_ordergroove_reaches_the_card_through_the_webhook(api_and_sandbox):
    api, sb, app = api_and_sandbox
    before = quantity_on_card(api)  # the card is now cached for 90 s
    wanted = before + 3
    edit = requests.post(f"{sb.base_url}/_sandbox/mutate", timeout=10,
                         json={"action": "change_quantity", "subscription": SID, "quantity": wanted})
    assert edit.status_code == 200, edit.text
    deadline = time.monotonic() + 15
    seen = before
    while time.monotonic() < deadline and seen != wanted:
        time.sleep(0.05)  # polling the card, as an agent reopening it would; bounded above
        seen = quantity_on_card(api)
    assert seen == wanted
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    summary = app.extensions["ogtk"].events.webhook_summary(now - timedelta(minutes=5), now + timedelta(minutes=5))
    applied = summary.by_type_outcome
    assert ((applied["type"] == "subscription.change_quantity") & (applied["outcome"] == "applied")).any()
