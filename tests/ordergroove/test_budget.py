"""RequestBudget: slots spaced at the rate after a burst, waits inside the deadline, shared by
processes through one file, slowed by a 429."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import responses

from app.deadline import Deadline
from app.ordergroove.budget import SLOW_S, RequestBudget
from app.ordergroove.client import OrdergrooveClient
from app.ordergroove.errors import Unavailable
from app.settings import Settings

REPO = Path(__file__).resolve().parents[2]


class FakeTime:
    def __init__(self):
        self.now = 500.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def ft():
    return FakeTime()


def budget(ft, tmp_path, rate=10, burst=3):
    return RequestBudget(rate, path=tmp_path / "budget", burst=burst, clock=ft.clock, sleep=ft.sleep)


def test_a_burst_goes_at_once_then_requests_are_spaced_at_the_rate(ft, tmp_path):
    b = budget(ft, tmp_path)
    waits = [b.acquire(Deadline(10, clock=ft.clock)) for _ in range(6)]
    assert waits == pytest.approx([0, 0, 0, 0.1, 0.1, 0.1])


def test_no_slot_within_the_deadline_fails_fast_and_takes_no_slot(ft, tmp_path):
    b = budget(ft, tmp_path, rate=1, burst=1)
    b.acquire(Deadline(10, clock=ft.clock))
    with pytest.raises(Unavailable) as caught:
        b.acquire(Deadline(0.5, clock=ft.clock))  # the next slot is 1 s away
    assert caught.value.deadline_cut and ft.now == 500.0
    assert b.acquire(Deadline(10, clock=ft.clock)) == pytest.approx(1.0)  # the failed call reserved nothing


def test_a_429_halves_the_rate_for_a_while(ft, tmp_path):
    b = budget(ft, tmp_path, rate=10, burst=1)
    b.slow_down()
    assert b.current_rate() == 5
    deadline = Deadline(100, clock=ft.clock)
    b.acquire(deadline)
    assert b.acquire(deadline) == pytest.approx(0.2)
    ft.now += SLOW_S - 1
    b.slow_down()  # another 429: the slow period starts again
    ft.now += SLOW_S - 1
    assert b.current_rate() == 5
    ft.now += 1
    assert b.current_rate() == 10


def test_the_default_burst_is_one_seconds_worth(tmp_path):
    assert RequestBudget(80, path=tmp_path / "b").burst == 80


def test_the_client_slows_its_budget_on_a_429(tmp_path):
    b = RequestBudget(100, path=tmp_path / "budget")
    og = OrdergrooveClient("https://og.test", "k", budget=b, sleep=lambda s: None)
    with responses.RequestsMock() as mocked:
        mocked.get("https://og.test/customers/1/", status=429)
        mocked.get("https://og.test/customers/1/", json={"merchant_user_id": "1"})
        assert og.customer("1", deadline=Deadline(4)) == {"merchant_user_id": "1"}
    assert b.current_rate() == 50
    og.close()


def test_settings_build_a_shared_budget_at_the_configured_rate(tmp_path):
    settings = Settings.from_env({"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700", "OGTK_DATA_DIR": str(tmp_path),
                                  "OGTK_UPSTREAM_RATE_PER_S": "25"})
    og = OrdergrooveClient.from_settings(settings)
    assert og.budget.rate_per_s == 25 and og.budget.path == settings.upstream_budget_path
    assert "budget" in settings.upstream_budget_path.name and og.budget._fd is not None
    og.close()
    assert OrdergrooveClient.from_settings(Settings.from_env(
        {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700", "OGTK_DATA_DIR": str(tmp_path),
         "OGTK_UPSTREAM_RATE_PER_S": "0"})).budget is None


def test_an_unusable_budget_file_falls_back_to_a_per_process_budget(ft, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    b = RequestBudget(10, path=blocker / "budget", burst=1, clock=ft.clock, sleep=ft.sleep)
    assert b.acquire(Deadline(10, clock=ft.clock)) == 0
    assert b.acquire(Deadline(10, clock=ft.clock)) == pytest.approx(0.1)


def test_the_budget_holds_across_processes_under_concurrent_load(sandbox, tmp_path):
    """Three processes, four threads each, all as fast as they can through one budget file: the
    sandbox sees at most rate x window + burst requests in any window."""
    rate, burst, per_thread = 40, 4, 8
    sandbox.set_faults(latency_ms=0, error_rate=0, rate_limit_rate=0, hang_rate=0)
    sandbox.reset_stats()
    code = textwrap.dedent(f"""
        import threading
        from app.deadline import Deadline
        from app.ordergroove.budget import RequestBudget
        from app.ordergroove.client import OrdergrooveClient
        og = OrdergrooveClient({sandbox.base_url!r}, {sandbox.api_key!r},
                               budget=RequestBudget({rate}, path={str(tmp_path / "budget")!r}, burst={burst}))
        def work():
            for _ in range({per_thread}):
                og.request("GET", "/customers/budget-probe/", deadline=Deadline(30), endpoint="probe")  # a 404
        threads = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for p in procs:
        assert p.wait(60) == 0, p.stderr.read()
    started = sorted(e["started"] for e in sandbox.request_log() if e["path"] == "/customers/budget-probe/")
    assert len(started) == 3 * 4 * per_thread
    for window in (0.25, 0.5, 1.0):
        busiest = max(sum(1 for t in started[i:] if t < s + window) for i, s in enumerate(started))
        assert busiest <= rate * window + burst + 1, (window, busiest)  # +1: arrival jitter at the edge
    assert started[-1] - started[0] >= (len(started) - burst) / rate * 0.9
