"""Bench rows about writes and freshness: action submit latency (issue 10) and webhook-to-fresh-card
latency (issue 11), against a sandbox that sends its webhooks to the API under test."""

from __future__ import annotations

import statistics
import time
from typing import Any

from ..gladly.schema import lookup_body
from ..processes import ApiProcess, SandboxProcess
from ..simulate import GladlyClient


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"n": len(ordered), "p50": statistics.median(ordered) * 1000, "p95": pick(0.95)}


def _card(gladly: GladlyClient, customer_id: str) -> dict:
    answer = gladly.lookup(lookup_body("DETAILED", external_customer_id=customer_id, gladly_id="bench-fresh"))
    results = answer.body.get("results", []) if isinstance(answer.body, dict) else []
    return results[0] if results else {}


def action_submits(api: ApiProcess, key: str, customer_ids: list[str], n: int = 20) -> dict[str, Any] | None:
    """Cancel submits (with a reason) on the first active subscription of ``n`` cards; None when
    the API offers no actions (not built or disabled)."""
    gladly = GladlyClient(api.lookup_url, signing_key=key)
    seconds, statuses = [], {}
    for customer_id in customer_ids:
        if len(seconds) >= n:
            break
        for tx in _card(gladly, customer_id).get("transactions", []):
            buttons = {a["name"]: a["formUrl"] for a in tx.get("actions", [])}
            if "Cancel subscription" in buttons:
                answer = gladly.action(buttons["Cancel subscription"], {"cancelReasonCode": "2"})
                seconds.append(answer.seconds)
                statuses[answer.status] = statuses.get(answer.status, 0) + 1
                break
    return {**percentiles_ms(seconds), "statuses": statuses} if seconds else None


def webhook_freshness(api: ApiProcess, sandbox: SandboxProcess, key: str, customer_ids: list[str],
                      n: int = 15, timeout_s: float = 10.0) -> dict[str, Any] | None:
    """For ``n`` customers: warm the card, change a quantity in "Ordergroove's admin", then look the
    card up again and again until it shows the change. None when the API has no webhook endpoint."""
    gladly = GladlyClient(api.lookup_url, signing_key=key)
    seconds, stale_reads, missed = [], 0, 0
    for customer_id in customer_ids:
        if len(seconds) + missed >= n:
            break
        card = _card(gladly, customer_id)
        active = [tx for tx in card.get("transactions", []) if tx.get("status") == "Active"]
        if not active:
            continue
        sid, quantity = active[0]["subscriptionId"], int(active[0].get("quantity") or 1)
        wanted = quantity % 9 + 1
        changed_at = time.perf_counter()
        status, _ = sandbox.mutate(action="change_quantity", subscription=sid, quantity=wanted)
        if status != 200:
            continue
        while time.perf_counter() - changed_at < timeout_s:
            fresh = next((tx for tx in _card(gladly, customer_id).get("transactions", [])
                          if tx.get("subscriptionId") == sid), {})
            if int(fresh.get("quantity") or 0) == wanted:
                seconds.append(time.perf_counter() - changed_at)
                break
            stale_reads += 1
            time.sleep(0.01)
        else:
            missed += 1
    if not seconds and (missed or not api_has_webhooks(api)):
        return None
    return {**percentiles_ms(seconds), "stale_reads": stale_reads, "missed": missed}


def api_has_webhooks(api: ApiProcess) -> bool:
    import requests

    try:
        return requests.post(f"{api.base_url}/ordergroove/webhook", data=b"{}", timeout=5).status_code != 404
    except requests.RequestException:
        return False
