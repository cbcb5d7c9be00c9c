"""`make run`'s orchestration: sandbox + gunicorn + a burst of signed lookups, all answered and recorded."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.processes import clean_env, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_demo_burst_flows_through_the_api_into_the_event_store(tmp_path):
    data_dir = tmp_path / "demo"
    command = [sys.executable, "-m", "app.demo", "--exit-after-traffic", "--lookups", "60",
               "--latency-ms", "5", "--sandbox-port", str(free_port()), "--api-port", str(free_port()),
               "--data-dir", str(data_dir), "--history", "0"]
    result = subprocess.run(command, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "answers by status: {200: 60}" in result.stdout
    cards = int(re.search(r"action forms and submits after (\d+) card lookups", result.stdout).group(1))
    with sqlite3.connect(data_dir / "events.sqlite3") as db:
        outcomes = dict(db.execute("SELECT outcome, COUNT(*) FROM lookup_events GROUP BY outcome").fetchall())
        actions = dict(db.execute("SELECT action, COUNT(*) FROM action_events GROUP BY action").fetchall())
    assert sum(outcomes.values()) == 60 + cards  # the burst, then the cards whose buttons agents pressed
    assert actions.get("cancel", 0) > 0 and actions.get("skip", 0) > 0  # the Actions view opens on data
    assert outcomes.get("matched", 0) > 0 and outcomes.get("unmatched", 0) > 0


def test_demo_history_is_seeded_once_labeled_and_only_into_a_demo_directory(tmp_path, monkeypatch):
    from app.demo import seed_demo_history
    from app.events import EventStore, LookupEvent

    monkeypatch.delenv("OGTK_DATA_DIR", raising=False)
    demo = tmp_path / "demo"
    assert seed_demo_history(demo, 300).startswith("seeded 300 synthetic lookup events over 30 days")
    with EventStore(demo / "events.sqlite3") as store:
        assert store.is_synthetic() and store.count() == 300
    assert "already" in seed_demo_history(demo, 300)  # not doubled on the next make run
    with EventStore(demo / "events.sqlite3") as store:
        assert store.count() == 300

    real = tmp_path / "real"
    with EventStore(real / "events.sqlite3") as store:
        store.record(LookupEvent.create(level="BASIC", outcome="matched", raw_emails=["a@example.com"]))
    assert "NOT seeded" in seed_demo_history(real, 300)
    monkeypatch.setenv("OGTK_DATA_DIR", str(tmp_path / "configured"))
    assert "NOT seeded" in seed_demo_history(tmp_path / "configured", 300)
    with EventStore(real / "events.sqlite3") as store:
        assert store.count() == 1 and not store.is_synthetic()
    assert not (tmp_path / "configured" / "events.sqlite3").exists()

