"""Two gunicorn instances, own data directories, one Redis: the cache is the fleet's (CONTRACT 10)."""

from __future__ import annotations

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.sandbox import KNOWN

from support import detailed

pytestmark = pytest.mark.slow


def test_a_card_fetched_through_one_instance_is_warm_on_the_other(cluster):
    first = cluster.lookup(0, detailed(KNOWN["reference"]))
    assert first.status_code == 200 and first.json()["results"]
    fetched = len(cluster.upstream_log())
    assert fetched > 0
    second = cluster.lookup(1, detailed(KNOWN["reference"]))
    assert second.status_code == 200
    assert second.json() == first.json()
    assert len(cluster.upstream_log()) == fetched, "the second instance asked Ordergroove again"
    assert cluster.instances[0].data_dir != cluster.instances[1].data_dir


def test_a_concurrent_cold_burst_to_both_instances_fetches_each_piece_once_fleet_wide(cluster):
    burst = 16
    barrier = threading.Barrier(burst)

    def send(n: int):
        barrier.wait()
        return cluster.lookup(n % 2, detailed(KNOWN["bench"]))

    with ThreadPoolExecutor(max_workers=burst) as pool:
        answers = list(pool.map(send, range(burst)))
    assert [a.status_code for a in answers] == [200] * burst
    assert all(a.json() == answers[0].json() for a in answers)
    calls = collections.Counter((r["method"], r["path"], repr(sorted(r["query"].items())))
                                for r in cluster.upstream_log())
    repeated = {call: n for call, n in calls.items() if n > 1}
    assert calls and not repeated, f"fetched more than once across the fleet: {repeated}"
