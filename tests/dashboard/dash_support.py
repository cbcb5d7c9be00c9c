"""Helpers shared by the dashboard tests: the seeded event mix and its known numbers.

(A plain module, not ``conftest``: a bare ``from conftest import`` would be ambiguous with
``tests/conftest.py``.)
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app.events import EventStore, LookupEvent
from app.sandbox import KNOWN

ENTRYPOINT = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"

#: the unmatched identifiers the seeded store holds, with how often each was asked
UNMATCHED_IDS = {"ext-404-alpha": 7, "ext-404-beta": 3, KNOWN["reference"]: 2}
UNMATCHED_EMAIL = "missing.person@example.com"  # stored masked as m***@example.com
UNMATCHED_EMAIL_COUNT = 4
MATCHED, AMBIGUOUS, ERRORS = 240, 9, 5


def seed_events(store: EventStore, now: datetime | None = None) -> int:
    """A few hundred events over the last 20 hours with known unmatched identifiers and counts."""
    now = now or datetime.now(timezone.utc)
    events = []
    step = 0

    def at() -> datetime:
        nonlocal step
        step += 1
        return now - timedelta(minutes=(step * 7) % (20 * 60) + 1)

    for i in range(MATCHED):
        level = "BASIC" if i % 3 else "DETAILED"
        events.append(LookupEvent.create(level=level, outcome="matched", ts=at(),
                                         gladly_customer_id=f"g-matched-{i % 60}",
                                         external_customer_id=f"cust-{i % 60}",
                                         matched_customer_id=f"cust-{i % 60}",
                                         duration_ms=20 + i % 150, upstream_calls=i % 3, cache_hits=2))
    for identifier, count in UNMATCHED_IDS.items():
        for i in range(count):
            events.append(LookupEvent.create(level="DETAILED", outcome="unmatched", ts=at(),
                                             gladly_customer_id=f"g-{identifier}",
                                             external_customer_id=identifier, duration_ms=45))
    for i in range(UNMATCHED_EMAIL_COUNT):
        events.append(LookupEvent.create(level="BASIC", outcome="unmatched", ts=at(),
                                         gladly_customer_id="g-missing-person",
                                         raw_emails=[UNMATCHED_EMAIL], duration_ms=30))
    for i in range(AMBIGUOUS):
        events.append(LookupEvent.create(level="BASIC", outcome="ambiguous", ts=at(),
                                         raw_emails=[KNOWN["shared_email"]], duration_ms=60))
    for i in range(ERRORS):
        events.append(LookupEvent.create(level="DETAILED", outcome="error", ts=at(),
                                         external_customer_id=f"cust-{i}", duration_ms=4000,
                                         error_code="ordergroove_timeout", correlation_id=f"corr-{i}"))
    assert all(store.record(event) for event in events)
    return len(events)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """What a reader sees of escaped markdown text (backslash escapes resolved, zero-width spaces
    dropped)."""
    return _ESCAPED.sub(r"\1", markdown).replace("\u200b", "")


def everything_shown(at: AppTest) -> str:
    """Every value, label and option of every element on the page and in the sidebar, as text."""
    parts: list[str] = []

    def walk(node) -> None:
        for attribute in ("value", "label", "options", "body", "placeholder"):
            try:
                found = getattr(node, attribute, None)
            except Exception:  # noqa: BLE001 - some elements compute values lazily
                continue
            if found is not None and not callable(found):
                parts.append(str(found))
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else children or ()):
            walk(child)

    walk(at._tree)
    return shown("\n".join(parts))


def write_worker_metrics(directory: Path) -> None:
    """What two gunicorn workers leave behind: multiprocess sample files (written by a child)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = textwrap.dedent("""
        from app import metrics
        metrics.UPSTREAM_REQUESTS.labels(endpoint="customer", status="200").inc(40)
        metrics.UPSTREAM_REQUESTS.labels(endpoint="customer", status="429").inc(3)
        metrics.UPSTREAM_REQUESTS.labels(endpoint="subscriptions", status="200").inc(20)
        metrics.UPSTREAM_REQUESTS.labels(endpoint="subscriptions", status="503").inc(2)
        metrics.UPSTREAM_REQUESTS.labels(endpoint="subscriptions", status="timeout").inc(1)
        for _ in range(4):
            metrics.UPSTREAM_SECONDS.labels(endpoint="customer").observe(0.05)
        metrics.CACHE_HITS.labels(kind="customer").inc(30)
        metrics.CACHE_MISSES.labels(kind="customer").inc(10)
    """)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script], cwd=ENTRYPOINT.parents[1], check=True,
                       env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"})
