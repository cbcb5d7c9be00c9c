"""``flask --app app action cancel|skip``: the operator's door, through the very same code path."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from og_fake import NEXT_OID, OID, SID

from test_routes import build, og  # noqa: F401  (fixtures)


@pytest.fixture
def runner(build):  # noqa: F811
    app = build()
    return app, app.test_cli_runner()


def test_cancel_with_reason_and_details(runner, og):  # noqa: F811
    app, cli = runner
    result = cli.invoke(args=["action", "cancel", SID, "--reason", "2", "--details", "Has three bottles left"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["message"] == "Subscription canceled"
    assert og.patches == [("cancel", {"cancel_reason": "2|Has three bottles left"})]
    now = datetime.now(timezone.utc)
    rows = app.extensions["ogtk"].events.recent_actions(now - timedelta(minutes=5), now + timedelta(minutes=5))
    assert list(rows["source"]) == ["cli"]


def test_cancel_with_a_bad_reason_is_refused_without_a_write(runner, og):  # noqa: F811
    _, cli = runner
    result = cli.invoke(args=["action", "cancel", SID, "--reason", "99"])
    assert result.exit_code == 2
    assert "Unknown reason code 99" in result.stdout
    assert og.patches == []


def test_skip_finds_the_upcoming_order_like_a_card_would(runner, og):  # noqa: F811
    _, cli = runner
    result = cli.invoke(args=["action", "skip", SID])
    assert result.exit_code == 0, result.output
    assert og.patches == [("skip", {"subscription": SID})]
    assert f"PATCH /orders/{OID}/skip_subscription/" in og.requests


def test_skip_of_a_given_order(runner, og):  # noqa: F811
    _, cli = runner
    result = cli.invoke(args=["action", "skip", SID, "--order", NEXT_OID])
    assert result.exit_code == 0, result.output
    assert f"PATCH /orders/{NEXT_OID}/skip_subscription/" in og.requests


def test_a_canceled_subscription_has_nothing_to_skip(runner, og):  # noqa: F811
    _, cli = runner
    og.subscription.update(live=False, cancelled="2025-03-01 10:00:00")
    result = cli.invoke(args=["action", "skip", SID])
    assert result.exit_code == 1 and og.patches == []


def test_a_disabled_action_says_how_to_enable_it(build, og):  # noqa: F811
    cli = build(OGTK_ACTIONS="skip").test_cli_runner()
    result = cli.invoke(args=["action", "cancel", SID])
    assert result.exit_code == 2 and "OGTK_ACTIONS" in result.output
    assert og.patches == []
