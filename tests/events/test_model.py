"""LookupEvent and email masking."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.events import LookupEvent, mask_email


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("john.doe@example.com", "j***@example.com"),
        ("  John.Doe@Example.COM ", "j***@example.com"),
        ("j***@example.com", "j***@example.com"),  # idempotent
        ("@example.com", "***@example.com"),
        ("a@b@c.com", "a***@c.com"),
        ("", "***"),
        ("   ", "***"),
        ("no-at-sign", "***"),
        (None, "***"),
    ],
)
def test_mask_email(raw, masked):
    assert mask_email(raw) == masked


def test_create_masks_raw_emails_and_dedupes():
    event = LookupEvent.create(level="BASIC", outcome="unmatched",
                               raw_emails=["Ann.Lee@Shop.com", "ann@shop.com", "bob@x.org"])
    assert event.emails == ("a***@shop.com", "b***@x.org")
    assert event.masked_emails == event.emails


def test_constructor_masks_too():
    event = LookupEvent(level="BASIC", outcome="unmatched", emails=("zed@x.org",))
    assert event.emails == ("z***@x.org",)
    assert LookupEvent(level="BASIC", outcome="unmatched", emails="zed@x.org").emails == ("z***@x.org",)


def test_defaults_and_normalisation():
    before = datetime.now(timezone.utc)
    event = LookupEvent(level="DETAILED", outcome="unmatched", matched_customer_id="og-1",
                        duration_ms=3, upstream_calls="2")
    assert before <= event.ts <= datetime.now(timezone.utc)
    assert event.ts.tzinfo is not None
    assert event.matched_customer_id is None  # only a match has a matched id
    assert event.duration_ms == 3.0 and event.upstream_calls == 2


def test_times_become_utc():
    naive = LookupEvent(level="BASIC", outcome="matched", ts=datetime(2026, 1, 1, 12))
    assert naive.ts == datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    plus2 = timezone(timedelta(hours=2))
    shifted = LookupEvent(level="BASIC", outcome="matched", ts=datetime(2026, 1, 1, 12, tzinfo=plus2))
    assert shifted.ts.utcoffset() == timedelta(0) and shifted.ts.hour == 10


@pytest.mark.parametrize(("level", "outcome"), [("basic", "matched"), ("BASIC", "found"), ("", "error")])
def test_rejects_unknown_level_or_outcome(level, outcome):
    with pytest.raises(ValueError):
        LookupEvent(level=level, outcome=outcome)


@pytest.mark.parametrize(
    ("fields", "subject", "customer_key"),
    [
        ({"gladly_customer_id": "g1", "external_customer_id": "x1", "emails": ("a@b.c",)},
         ("externalCustomerId", "x1"), "g:g1"),
        ({"external_customer_id": "x1"}, ("externalCustomerId", "x1"), "x:x1"),
        ({"emails": ("ann@b.c", "bo@d.e")}, ("email", "a***@b.c, b***@d.e"), "e:a***@b.c, b***@d.e"),
        ({"gladly_customer_id": "g1"}, None, "g:g1"),
        ({}, None, None),
    ],
)
def test_subject_and_customer_key(fields, subject, customer_key):
    event = LookupEvent(level="BASIC", outcome="unmatched", **fields)
    assert event.subject == subject
    assert event.customer_key == customer_key


# -- the fields of schema v2 -------------------------------------------------------------------
from app.events import (ACTION_OUTCOMES, OUTCOMES, REASONS, WEBHOOK_OUTCOMES, ActionEvent,  # noqa: E402
                        EmailHasher, WebhookEvent)


def test_uid_is_a_fresh_uuid4_hex_per_event():
    one, two = LookupEvent(level="BASIC", outcome="matched"), LookupEvent(level="BASIC", outcome="matched")
    assert len(one.uid) == 32 and int(one.uid, 16) >= 0 and one.uid != two.uid


@pytest.mark.parametrize(("outcome", "fields", "reason"), [
    ("unmatched", {"external_customer_id": "og-1"}, "id_unknown"),
    ("unmatched", {"emails": ("a@b.c",)}, "email_unknown"),
    ("unmatched", {}, "no_identifier"),  # phones alone: nothing Ordergroove could match
    ("ambiguous", {"emails": ("a@b.c",)}, "email_ambiguous"),
    ("error", {}, "upstream_error"),
    ("matched", {"reason": "id_unknown"}, None),  # a match has no reason
    ("unmatched", {"emails": ("a@b.c",), "reason": "upstream_error"}, "upstream_error"),  # given wins
])
def test_reason_implied_by_outcome_unless_given(outcome, fields, reason):
    assert LookupEvent(level="BASIC", outcome=outcome, **fields).reason == reason


def test_unknown_reason_and_non_hash_values_are_refused():
    with pytest.raises(ValueError, match="reason"):
        LookupEvent(level="BASIC", outcome="unmatched", reason="because")
    with pytest.raises(ValueError, match="email_hashes"):  # a raw address must never be stored
        LookupEvent(level="BASIC", outcome="unmatched", email_hashes=("ann@example.com",))


def test_create_with_a_hasher_keeps_masked_emails_and_their_hashes_only():
    hasher = EmailHasher(b"k")
    event = LookupEvent.create(level="BASIC", outcome="unmatched", hasher=hasher,
                               raw_emails=[" Ann@X.com", "ann@x.com", "bo@y.org"], partial=1)
    assert event.emails == ("a***@x.com", "b***@y.org")
    assert event.email_hashes == (hasher.hash("ann@x.com"), hasher.hash("bo@y.org"))
    assert event.partial is True
    assert "Ann@X.com" not in repr(event) and "bo@y.org" not in repr(event)


def test_profile_key_prefers_gladly_id_then_email_hash_then_external_id():
    digest = "ab" * 32
    assert LookupEvent(level="BASIC", outcome="unmatched", gladly_customer_id="g1",
                       email_hashes=(digest,)).profile_key == "g:g1"
    assert LookupEvent(level="BASIC", outcome="unmatched", external_customer_id="x1",
                       email_hashes=(digest,)).profile_key == "h:" + digest
    assert LookupEvent(level="DETAILED", outcome="unmatched", external_customer_id="x1").profile_key == "x:x1"
    assert LookupEvent(level="BASIC", outcome="unmatched", emails=("a@b.c",)).profile_key is None


def test_outcome_names_are_defined_once_next_to_each_other():
    assert OUTCOMES == ("matched", "unmatched", "ambiguous", "error")
    assert ACTION_OUTCOMES == ("done", "invalid", "rejected", "error")
    assert WEBHOOK_OUTCOMES == ("applied", "duplicate", "ignored", "rejected")
    assert set(REASONS) == {"id_unknown", "email_unknown", "email_ambiguous", "upstream_error", "no_identifier"}


def test_action_and_webhook_events_validate_and_normalise():
    action = ActionEvent(action="skip", outcome="done", subscription_id=123, og_status="200",
                         ts=datetime(2026, 1, 1), detail="x" * 500)
    assert action.subscription_id == "123" and action.og_status == 200
    assert action.ts.tzinfo is timezone.utc and action.source == "gladly"
    assert len(action.detail) == 64  # a short code, never an agent's prose
    for bad in ({"action": "refund"}, {"outcome": "ok"}, {"source": "web"}):
        with pytest.raises(ValueError):
            ActionEvent(**{"action": "cancel", "outcome": "done", "subscription_id": "s", **bad})
    hook = WebhookEvent(outcome="applied", event_id="evt_1", type="order.updated", customer_id="c")
    assert hook.duration_ms == 0.0 and hook.ts.tzinfo is timezone.utc
    with pytest.raises(ValueError):
        WebhookEvent(outcome="ok")


def test_customer_key_counts_email_only_lookups_apart_by_hash():
    one, two = "a1" * 32, "b2" * 32
    # both mask to n***@example.net: per-customer rates must not merge them
    first = LookupEvent(level="BASIC", outcome="unmatched", emails=("n***@example.net",), email_hashes=(one,))
    second = LookupEvent(level="BASIC", outcome="unmatched", emails=("n***@example.net",), email_hashes=(two,))
    assert (first.customer_key, second.customer_key) == ("h:" + one, "h:" + two)
