"""The presenter's ``actions`` field (CONTRACT §4, last row): Active only, enabled only, skip bound."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from app.gladly.presenter import present_detailed
from app.ordergroove.models import Customer, CustomerProfile, Subscription

UTC = ZoneInfo("UTC")
SID, CANCELED_SID, INACTIVE_SID = "0767811a8025176986607ad9e36fd616", "03dc9aa7b9a58dd48b14bbfeb7d277bb", "inactive1"
OID = "b5384130608aff9075a80fee319ab115"


def profile(next_order_ids=None) -> CustomerProfile:
    subs = (
        Subscription.from_api({"public_id": SID, "customer": "7781203344", "product": "p1", "live": True}, UTC),
        Subscription.from_api({"public_id": CANCELED_SID, "product": "p2", "live": "False",
                               "cancelled": "2024-02-20 10:41:09"}, UTC),
        Subscription.from_api({"public_id": INACTIVE_SID, "product": "p3", "live": False}, UTC),
    )
    return CustomerProfile(customer=Customer.from_api({"merchant_user_id": "7781203344"}, UTC), subscriptions=subs,
                           next_orders={SID: datetime(2025, 3, 28, tzinfo=timezone.utc)}, products={},
                           fetched_at=datetime(2025, 3, 1, tzinfo=timezone.utc),
                           next_order_ids={SID: OID} if next_order_ids is None else next_order_ids)


def by_id(result: dict) -> dict:
    return {tx["subscriptionId"]: tx for tx in result["transactions"]}


def test_active_subscriptions_carry_both_actions_as_the_last_field():
    tx = by_id(present_detailed(profile(), actions={"cancel", "skip"}))[SID]
    assert list(tx)[-1] == "actions"
    assert tx["actions"] == [
        {"name": "Cancel subscription", "formUrl": f"/gladly/actions/subscriptions/{SID}/cancel"},
        {"name": "Skip next order", "formUrl": f"/gladly/actions/subscriptions/{SID}/orders/{OID}/skip"},
    ]


@pytest.mark.parametrize("sid", [CANCELED_SID, INACTIVE_SID])
def test_other_statuses_carry_none(sid):
    assert "actions" not in by_id(present_detailed(profile(), actions={"cancel", "skip"}))[sid]


def test_off_by_default():
    assert all("actions" not in tx for tx in present_detailed(profile())["transactions"])


def test_skip_only_when_the_upcoming_order_is_known():
    tx = by_id(present_detailed(profile(next_order_ids={}), actions={"cancel", "skip"}))[SID]
    assert [a["name"] for a in tx["actions"]] == ["Cancel subscription"]
    tx = by_id(present_detailed(profile(next_order_ids={}), actions={"skip"}))[SID]
    assert "actions" not in tx  # omitted when empty
