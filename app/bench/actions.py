"""``make bench``'s action row: how long a Gladly Action submit takes against the sandbox (CONTRACT §7).

Run last, because it changes the sandbox's data: for background customers (never the fixtures
the other rows measure), the agent's card is looked up first, as in Gladly, then the skip and the
cancel of one active subscription are submitted and timed (signing stays outside the timed part).
A submit's cost is its fresh read, the PATCH and, for skip, the order's read: a few round trips.
"""

from __future__ import annotations

import collections
import json
import time
from typing import Any, Callable

from ..gladly.signing import sign_headers
from ..sandbox import KNOWN
from ..simulate import fetch_sandbox_customers
from .measure import detailed_payload, signed_request
from .stats import summarize_ms


def _active_actions(card: Any) -> dict[str, str] | None:
    """The buttons of the first Active subscription that offers both actions."""
    results = card.get("results", []) if isinstance(card, dict) else []
    for tx in (tx for result in results for tx in result.get("transactions", [])):
        buttons = {a["name"]: a["formUrl"] for a in tx.get("actions", [])}
        if len(buttons) == 2:
            return buttons
    return None


def action_latency(app, key: str, sandbox_url: str, api_key: str, *, n: int = 20,
                   say: Callable[[str], None] = print) -> dict[str, Any]:
    """Skip and cancel submit latencies (ms summaries) and the answers' statuses."""
    client = app.test_client()
    fixtures = {v for v in KNOWN.values() if isinstance(v, str)}
    customers = [str(c["merchant_user_id"]) for c in fetch_sandbox_customers(sandbox_url, api_key)
                 if str(c.get("merchant_user_id")) not in fixtures]
    seconds: dict[str, list[float]] = {"skip": [], "cancel": []}
    statuses: collections.Counter = collections.Counter()

    def submit(path: str, payload: dict) -> None:
        body = json.dumps(payload).encode()
        headers = sign_headers(key, method="POST", path=path, body=body)
        started = time.perf_counter()
        response = client.post(path, data=body, headers=headers)
        seconds["skip" if path.endswith("/skip") else "cancel"].append(time.perf_counter() - started)
        statuses[response.status_code] += 1

    for customer_id in customers:
        if len(seconds["cancel"]) >= n:
            break
        body, headers = signed_request(key, detailed_payload(customer_id))
        buttons = _active_actions(client.post("/gladly/lookup", data=body, headers=headers).get_json())
        if buttons is None:
            continue
        submit(buttons["Skip next order"], {"confirm": True})
        submit(buttons["Cancel subscription"], {"cancelReasonCode": "2"})
    say(f"  {sum(statuses.values())} action submits, answers by status {dict(sorted(statuses.items()))}")
    return {"skip": summarize_ms(seconds["skip"]) if seconds["skip"] else None,
            "cancel": summarize_ms(seconds["cancel"]) if seconds["cancel"] else None,
            "statuses": dict(statuses)}
