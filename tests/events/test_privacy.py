"""No plain email reaches the event store, by any path (CONTRACT section 5, issue 13).

Events carrying raw addresses are recorded through every way in: the model's constructor and
``create`` (with and without a hasher), suggestions, action and webhook events, bulk loads, and
real lookups through the API (matched, unmatched, ambiguous, by email and by id). Then every text
value of every table is searched, and so are the raw bytes of the database file and its WAL
(read while the store is still open, so nothing has been checkpointed away).
"""

from __future__ import annotations

import sqlite3

from app.events import ActionEvent, EventStore, LookupEvent, WebhookEvent
from app.events.schema import event_row
from app.sandbox import KNOWN

from support import basic, detailed

ADDRESSES = ["Priya.Natarajan@Example.org", "zoe.q@corp.example", KNOWN["reference_email"],
             KNOWN["shared_email"], "Ghost.Customer@nowhere.example"]


def _needles() -> list[str]:
    """Each address as given and lower-cased, and its local part (what masking removes)."""
    out = set()
    for address in ADDRESSES:
        local = address.split("@")[0]
        out |= {address, address.lower(), local, local.lower()}
    return sorted(out, key=len, reverse=True)


def _record_everything(store: EventStore) -> None:
    hasher = store.hasher
    for outcome in ("matched", "unmatched", "ambiguous", "error"):
        for level in ("BASIC", "DETAILED"):
            event = LookupEvent.create(level=level, outcome=outcome, raw_emails=ADDRESSES,
                                       hasher=hasher, gladly_customer_id="g-1",
                                       external_customer_id="unknown-id")
            assert store.record(event)
            assert store.record_suggestion(event.uid, ["7781203344"])
    assert store.record(LookupEvent(level="BASIC", outcome="unmatched", emails=tuple(ADDRESSES)))
    assert store.record(LookupEvent.create(level="BASIC", outcome="unmatched", raw_emails=ADDRESSES[0]))
    store.insert_rows([event_row(LookupEvent.create(level="BASIC", outcome="unmatched",
                                                    raw_emails=ADDRESSES, hasher=hasher))])
    assert store.record_action(ActionEvent(action="cancel", outcome="done", subscription_id="s1",
                                           customer_id="7781203344", reason_code="2"))
    assert store.record_webhook(WebhookEvent(outcome="applied", event_id="evt_1",
                                             type="subscriber.updated", customer_id="7781203344"))


def _assert_no_address_in(store: EventStore) -> None:
    needles = _needles()
    conn = sqlite3.connect(store.path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"lookup_events", "action_events", "webhook_events", "ogtk_meta"} <= set(tables)
        scanned = 0
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, (str, bytes)):
                        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                        scanned += 1
                        for needle in needles:
                            assert needle.lower() not in text.lower(), f"{needle!r} in {table}: {text!r}"
        assert scanned > 50
        masked = {r[0] for r in conn.execute("SELECT emails FROM lookup_events WHERE emails IS NOT NULL")}
        assert any("p***@example.org" in m for m in masked)  # the masked form is what is kept
    finally:
        conn.close()
    files = [p for p in store.path.parent.iterdir() if p.name.startswith(store.path.name)]
    assert store.path.with_name(store.path.name + "-wal") in files
    for path in files:
        data = path.read_bytes().lower()
        for needle in needles:
            assert needle.lower().encode() not in data, f"{needle!r} in {path.name}"


def test_no_plain_email_in_any_table_or_file_byte(store):
    _record_everything(store)
    _assert_no_address_in(store)


def test_lookups_through_the_api_store_no_plain_email(services, lookup):
    for payload in (basic(emails=ADDRESSES), basic(emails=[KNOWN["reference_email"]]),
                    basic(emails=[KNOWN["shared_email"]]), detailed("no-such-id", emails=ADDRESSES),
                    detailed(KNOWN["reference"], emails=ADDRESSES)):
        assert lookup(payload).status_code == 200
    assert services.events.count() == 5
    _assert_no_address_in(services.events)
