"""Two instances, one Redis: an agent's double submit with its halves on different instances
writes to Ordergroove once, and both halves get the one answer (CONTRACT sections 8 and 10).

The sandbox's injected latency (150 ms a call) keeps the first submit's fresh read and PATCH in
flight while the second arrives: without fleet-wide de-duplication both would read the
subscription live and both would write."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.sandbox import KNOWN

from support import detailed

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster_env(cluster_env):  # the extension point: every instance also offers the actions
    return {**cluster_env, "OGTK_ACTIONS": "cancel,skip"}


def double_submit(cluster, path: str, payload: dict) -> list:
    """The same submit sent at once to instance 0 and instance 1."""
    body = json.dumps(payload).encode()
    together = threading.Barrier(2)

    def send(index: int):
        together.wait()
        return cluster.post(index, path, body)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(send, (0, 1)))


def assert_written_once_answered_alike(cluster, answers, message: str) -> None:
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["message"] == message
    assert cluster.sandbox.stats()["writes"] == 1, "the double submit reached Ordergroove twice"


def test_a_cancel_submitted_to_both_instances_at_once_writes_once(cluster):
    path = f"/gladly/actions/subscriptions/{KNOWN['reference_active_subscription']}/cancel"
    answers = double_submit(cluster, path, {"cancelReasonCode": "2"})
    assert_written_once_answered_alike(cluster, answers, "Subscription canceled")
    card = cluster.lookup(1, detailed(KNOWN["reference"])).json()["results"][0]
    status = {tx["subscriptionId"]: tx["status"] for tx in card["transactions"]}
    assert status[KNOWN["reference_active_subscription"]] == "Canceled"  # fresh on the other instance too


def test_a_skip_submitted_to_both_instances_at_once_writes_once(cluster):
    card = cluster.lookup(0, detailed(KNOWN["bench"])).json()["results"][0]
    skip_url = next(action["formUrl"] for tx in card["transactions"] for action in tx.get("actions", ())
                    if action["formUrl"].endswith("/skip"))
    cluster.sandbox.reset_stats()
    answers = double_submit(cluster, skip_url, {"confirm": True})
    assert_written_once_answered_alike(cluster, answers, "Next order skipped")
