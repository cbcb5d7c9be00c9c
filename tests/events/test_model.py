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
