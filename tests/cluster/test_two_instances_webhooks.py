"""Two instances, one Redis: a webhook delivered to one instance refreshes the card on both, and
its repeat delivered to the other is a duplicate (CONTRACT sections 9 and 10)."""

from __future__ import annotations

import json

import pytest
import requests

from app.ordergroove.webhook_signature import sign_webhook
from app.sandbox import KNOWN

from support import detailed

pytestmark = pytest.mark.slow

WEBHOOK_KEY = "og-cluster-test-key"
WEBHOOK_PATH = "/ordergroove/webhook"


@pytest.fixture
def cluster_env(cluster_env):  # the extension point: every instance also takes webhooks
    return {**cluster_env, "ORDERGROOVE_WEBHOOK_KEY": WEBHOOK_KEY}


def deliver(cluster, index: int, event_id: str, customer: str) -> requests.Response:
    body = json.dumps({"id": event_id, "type": "subscription.cancel", "created": 1741170125,
                       "data": {"object": {"public_id": "sub-1", "customer": customer}}}).encode()
    headers = {"Content-Type": "application/json",
               "Ordergroove-Signature": f"ts=1741170125,sig={sign_webhook(WEBHOOK_KEY, 1741170125, body)}"}
    return requests.post(cluster.instances[index].base_url + WEBHOOK_PATH, data=body, headers=headers, timeout=30)


def test_a_webhook_to_one_instance_refreshes_the_card_on_both_and_is_deduplicated_fleet_wide(cluster):
    customer = KNOWN["reference"]
    assert cluster.lookup(0, detailed(customer)).status_code == 200
    warm = len(cluster.upstream_log())
    for _ in range(3):  # warm on both, and found whole in the cache: remembered by its workers
        assert cluster.lookup(1, detailed(customer)).status_code == 200
    assert len(cluster.upstream_log()) == warm

    first = deliver(cluster, 0, "evt-cluster-1", customer)
    assert first.status_code == 200 and first.json()["status"] == "ok"
    assert len(cluster.upstream_log()) == warm  # answering a webhook calls nobody
    repeat = deliver(cluster, 1, "evt-cluster-1", customer)
    assert repeat.status_code == 200 and repeat.json()["status"] == "duplicate"

    assert cluster.lookup(1, detailed(customer)).status_code == 200
    refetched = len(cluster.upstream_log())
    assert refetched > warm, "the other instance still served the card cached before the webhook"
    assert cluster.lookup(0, detailed(customer)).status_code == 200
    assert len(cluster.upstream_log()) == refetched  # and the refetched card is warm on the first
