"""The API as deployed: under gunicorn with several workers (events, metrics, fail-closed start)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from app.sandbox import KNOWN
from app.simulate import GladlyClient
from support import SIGNING_KEY, basic, detailed

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_env(tmp_path, sandbox, port, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GLADLY_", "OGTK_", "ORDERGROOVE_", "PROMETHEUS_"))}
    env.update(
        ORDERGROOVE_BASE_URL=sandbox.base_url,
        ORDERGROOVE_API_KEY=sandbox.api_key,
        OGTK_DATA_DIR=str(tmp_path / "data"),
        OGTK_BIND=f"127.0.0.1:{port}",
        OGTK_WORKERS="3",
        OGTK_LOG_LEVEL="warning",
        **extra,
    )
    return env


@pytest.fixture
def served(tmp_path, sandbox):
    port = free_port()
    env = gunicorn_env(tmp_path, sandbox, port, GLADLY_SIGNING_KEY=SIGNING_KEY)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:create_app()"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not come up")
        yield base, tmp_path / "data"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_events_are_recorded_once_each_from_several_workers_and_metrics_add_up(served):
    base, data_dir = served
    gladly = GladlyClient(f"{base}/gladly/lookup", signing_key=SIGNING_KEY)
    plan = [detailed(KNOWN["reference"]), basic(emails=["dana.reyes@example.com"]), detailed(KNOWN["unknown"])] * 40
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(gladly.lookup, plan))
    assert {a.status for a in answers} == {200}
    with sqlite3.connect(data_dir / "events.sqlite3") as db:
        total, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT correlation_id) FROM lookup_events").fetchone()
    assert total == distinct == len(plan)
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("ogtk_lookups_total{")
    )
    assert counted == len(plan)


def test_gunicorn_exits_non_zero_when_unauthenticated(tmp_path, sandbox):
    env = gunicorn_env(tmp_path, sandbox, free_port())
    result = subprocess.run([sys.executable, "-m", "gunicorn", "app:create_app()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "GLADLY_SIGNING_KEY" in result.stderr


def test_connection_stays_usable_after_a_413(served):
    base, _ = served
    session = requests.Session()
    oversized = session.post(f"{base}/gladly/lookup", data=b"x" * (2 * 1024 * 1024),
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert oversized.status_code == 413
    gladly = GladlyClient(f"{base}/gladly/lookup", signing_key=SIGNING_KEY, session=session)
    assert gladly.lookup(detailed(KNOWN["reference"])).status == 200
