"""The unknown-id suggestion (CONTRACT section 5): searched after the answer, bounded, never changing it."""

from __future__ import annotations

import sqlite3
import threading

from prometheus_client import REGISTRY

from app.sandbox import KNOWN
from app.suggestions import BackgroundQueue, TokenBucket
from support import basic, detailed


def rows(services) -> list[dict]:
    with sqlite3.connect(services.settings.events_db_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM lookup_events ORDER BY rowid")]


def answered(lookup, payload):
    """One lookup as a WSGI server does it: the body read, then the response closed (sent)."""
    response = lookup(payload)
    body = response.get_data()
    response.close()
    return response.status_code, body


def dropped() -> float:
    return REGISTRY.get_sample_value("ogtk_suggestions_total", {"outcome": "dropped"}) or 0.0


def test_the_suggestion_runs_after_the_answer_and_never_changes_it(lookup, services):
    gate = threading.Event()
    services.background.submit(gate.wait)  # hold the worker: nothing after the answer can run yet
    status, body = answered(lookup, detailed(KNOWN["unknown"], emails=["dana.reyes@example.com"]))
    assert (status, body) == (200, b'{"results":[]}')
    [event] = rows(services)
    assert event["reason"] == "id_unknown" and event["suggestion"] is None  # answered before any search
    assert services.background.pending() == 1
    gate.set()
    services.background.join()
    [event] = rows(services)
    assert event["suggestion"] == KNOWN["reference"]
    assert answered(lookup, detailed(KNOWN["unknown"], emails=["dana.reyes@example.com"])) == (status, body)


def test_only_a_detailed_unknown_id_with_emails_is_searched_afterwards(lookup, services):
    answered(lookup, detailed(KNOWN["reference"], emails=["dana.reyes@example.com"]))  # matched
    answered(lookup, basic(emails=["nobody@example.net"], customer_id=KNOWN["unknown"]))  # BASIC
    answered(lookup, detailed(KNOWN["unknown"]))  # no emails to search
    services.background.join()
    assert [e["suggestion"] for e in rows(services)] == [None, None, None]
    assert [e["reason"] for e in rows(services)] == [None, "id_unknown", "id_unknown"]


def test_a_flood_of_misses_is_dropped_past_the_bound_and_answers_stay_the_same(lookup, services):
    services.background = BackgroundQueue(maxsize=3)
    gate = threading.Event()
    services.background.submit(gate.wait)
    before = dropped()
    answers = {answered(lookup, detailed(KNOWN["unknown"], emails=[f"flood{i}@example.net"])) for i in range(10)}
    assert answers == {(200, b'{"results":[]}')}
    assert services.background.pending() == 3
    assert dropped() - before == 7
    gate.set()
    services.background.close()


def test_the_rate_limit_spaces_work_after_a_burst():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate_per_s=2.0, burst=3, clock=lambda: now[0], sleep=sleep)
    for _ in range(9):
        bucket.wait()
    assert sum(slept) == 3.0  # 3 at once, then 6 more at 2 per second


def test_work_that_fails_does_not_stop_the_queue():
    queue = BackgroundQueue(maxsize=4, rate_per_s=1000, burst=10)
    done = []
    queue.submit(lambda: 1 / 0)
    queue.submit(lambda: done.append(True))
    queue.join()
    queue.close()
    assert done == [True] and not queue.submit(lambda: None)
