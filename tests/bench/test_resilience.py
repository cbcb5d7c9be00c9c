"""Fast versions of the ``make soak`` scenarios: same code as app.bench.scenarios, a few dozen requests each."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.bench import scenarios
from app.bench.scenarios import Sizes
from app.sandbox import SandboxServer

from servers import unavailable

pytestmark = pytest.mark.slow

FAST = Sizes(lookups=48, hang_seconds=3.0, concurrency=16, warm_customers=8, malformed=54,
             full_disk_lookups=32, deadline_s=1.5, short_ttl_s=2.0)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(latency_ms=10) as server:
        yield server


def explain(result) -> str:
    return "\n".join(result.failures() + result.notes)


def test_upstream_errors_answered_within_deadline(sandbox, tmp_path):
    result = scenarios.upstream_errors(sandbox, FAST, tmp_path)
    assert result.sent == FAST.lookups
    assert result.ok, explain(result)


def test_upstream_hanging_answered_within_deadline(sandbox, tmp_path):
    result = scenarios.upstream_hangs(sandbox, FAST, tmp_path)
    assert result.sent > 0
    assert result.ok, explain(result)


def test_worker_killed_mid_load(sandbox, tmp_path):
    result = scenarios.worker_killed(sandbox, FAST, tmp_path)
    assert result.ok, explain(result)


def test_data_dir_full_then_read_only(sandbox, tmp_path):
    result = scenarios.data_dir_unwritable(sandbox, FAST, tmp_path)
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.ok, explain(result)


def test_malformed_burst_all_4xx_and_no_events(sandbox, tmp_path):
    result = scenarios.malformed_burst(sandbox, FAST, tmp_path)
    assert result.sent == FAST.malformed
    assert result.events_recorded == 0
    assert result.ok, explain(result)


@pytest.mark.parametrize("scenario", [scenarios.redis_stopped, scenarios.postgres_stopped], ids=["redis", "postgres"])
def test_a_shared_server_stopped_mid_load_then_back(sandbox, tmp_path, scenario):
    """Every lookup is answered 200 through the outage. While Redis is down each cache call waits
    out its 0.5 s timeout, and a lookup that also waited for a thread (its deadline counts from
    its arrival, see app.serving) could be left too little of FAST's 1.5 s under a loaded CI
    machine: this one runs with 3 s, which still bounds every answer (``make soak`` uses 4 s)."""
    result = scenario(sandbox, replace(FAST, deadline_s=3.0), tmp_path)
    if result.skipped:
        unavailable(result.skipped)  # skips outside CI, fails in CI
    assert result.sent >= FAST.lookups
    assert set(result.by_status) == {200}, result.statuses()
    assert result.ok, explain(result)
