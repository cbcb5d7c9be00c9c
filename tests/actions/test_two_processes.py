"""The double submit across worker processes: the lock lives in the shared cache, not in memory."""

from __future__ import annotations

import multiprocessing

import pytest

from support import SIGNING_KEY
from two_workers import GatedOrdergroove, submit_in_child


@pytest.mark.slow
def test_two_workers_submitting_the_same_cancel_write_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with GatedOrdergroove() as og:
        config = {"ORDERGROOVE_BASE_URL": og.base_url, "ORDERGROOVE_API_KEY": "og-key",
                  "GLADLY_SIGNING_KEY": SIGNING_KEY, "OGTK_DATA_DIR": str(tmp_path / "data"),
                  "OGTK_ACTIONS": "cancel"}
        results = ctx.Queue()
        first_ready, second_ready = ctx.Event(), ctx.Event()
        first = ctx.Process(target=submit_in_child, args=(config, SIGNING_KEY, first_ready, results))
        second = ctx.Process(target=submit_in_child, args=(config, SIGNING_KEY, second_ready, results))
        first.start()
        try:
            assert og.patching.wait(60), "the first worker never reached Ordergroove"
            second.start()  # while the first one's PATCH is still waiting for its answer
            assert second_ready.wait(60)
            og.release.set()
            answers = [results.get(timeout=60) for _ in range(2)]
        finally:
            for process in (first, second):
                process.join(60)
                if process.is_alive():
                    process.kill()
    assert og.patches == 1
    assert [status for status, _ in answers] == [200, 200]
    assert answers[0][1] == answers[1][1]
    assert answers[0][1]["message"] == "Subscription canceled"
