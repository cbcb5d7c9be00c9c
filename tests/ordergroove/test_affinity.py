"""The fetch threads of a process share one CPU (app.ordergroove.affinity); nothing else moves."""

from __future__ import annotations

import os
import threading

import pytest

from app.deadline import Deadline
from app.ordergroove import affinity
from app.ordergroove.fetcher import ProfileFetcher
from app.sandbox import KNOWN
from app.settings import Settings, SettingsError

SANDBOX = {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700"}
CAN_PIN = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
needs_two_cpus = pytest.mark.skipif(not CAN_PIN, reason="needs Linux and at least two CPUs to choose from")


def make_fetcher(tmp_path, base_url: str = SANDBOX["ORDERGROOVE_BASE_URL"], **env: str) -> ProfileFetcher:
    """A fetcher built as the app builds it (settings), over a data dir of the test's own."""
    return ProfileFetcher.from_settings(Settings.from_env({"ORDERGROOVE_BASE_URL": base_url,
                                                          "OGTK_DATA_DIR": str(tmp_path), **env}))


def thread_masks(fetcher: ProfileFetcher, n: int = 4) -> list[set[int]]:
    """The CPUs each of ``n`` fetch threads may run on, each asked on a thread of its own."""
    everyone = threading.Barrier(n, timeout=5)

    def mask() -> set[int]:
        everyone.wait()  # hold the thread, so each task runs on a different one
        return os.sched_getaffinity(0)

    futures = [fetcher.executor().submit(mask) for _ in range(n)]
    return [future.result(timeout=10) for future in futures]


def test_no_cpu_is_chosen_when_turned_off_or_with_one_cpu_to_choose_from(monkeypatch):
    assert affinity.choose_cpu(enabled=False) is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert affinity.choose_cpu() is None
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert affinity.choose_cpu() is None


def test_each_process_picks_one_of_its_allowed_cpus_by_pid(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {7, 2, 5}, raising=False)
    monkeypatch.setattr(os, "getpid", lambda: 4)
    assert affinity.choose_cpu() == 5  # sorted [2, 5, 7], 4 % 3 == 1
    monkeypatch.setattr(os, "getpid", lambda: 6)
    assert affinity.choose_cpu() == 2


def test_pinning_that_is_refused_leaves_the_thread_alone_without_raising(monkeypatch):
    def refuse(pid, mask):
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "sched_setaffinity", refuse, raising=False)
    assert affinity.pin_current_thread(0) is False
    assert affinity.pin_current_thread(None) is False


@needs_two_cpus
def test_fetch_threads_run_on_one_cpu_and_the_calling_thread_is_not_moved(tmp_path):
    before = os.sched_getaffinity(0)
    fetcher = make_fetcher(tmp_path)
    try:
        masks = thread_masks(fetcher)
        assert fetcher.fetch_cpu in before
        assert masks == [{fetcher.fetch_cpu}] * 4
        assert os.sched_getaffinity(0) == before
    finally:
        fetcher.close()


@needs_two_cpus
def test_turned_off_fetch_threads_go_where_the_scheduler_puts_them(tmp_path):
    before = os.sched_getaffinity(0)
    fetcher = make_fetcher(tmp_path, OGTK_FETCH_ONE_CPU="0")
    try:
        assert thread_masks(fetcher) == [before] * 4
        assert fetcher.fetch_cpu is None
    finally:
        fetcher.close()


def test_a_refused_pin_still_fetches_a_whole_profile(tmp_path, sandbox, monkeypatch):
    """A container that forbids sched_setaffinity: the pool's initializer must not break the pool."""
    def refuse(pid, mask):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setaffinity", refuse, raising=False)
    sandbox.set_faults(latency_ms=0, error_rate=0, rate_limit_rate=0, hang_rate=0)
    fetcher = make_fetcher(tmp_path, sandbox.base_url)
    try:
        profile = fetcher.profile(KNOWN["bench"], deadline=Deadline(10))
        assert profile is not None and len(profile.subscriptions) == 5 and len(profile.next_orders) == 5
    finally:
        fetcher.close()


def test_setting_turns_it_off_and_refuses_anything_but_0_or_1(tmp_path):
    assert Settings.from_env(SANDBOX).fetch_one_cpu is True
    assert Settings.from_env({**SANDBOX, "OGTK_FETCH_ONE_CPU": "0"}).fetch_one_cpu is False
    fetcher = make_fetcher(tmp_path, OGTK_FETCH_ONE_CPU="0")
    try:
        assert fetcher.one_cpu is False
    finally:
        fetcher.close()
    with pytest.raises(SettingsError, match="OGTK_FETCH_ONE_CPU"):
        Settings.from_env({**SANDBOX, "OGTK_FETCH_ONE_CPU": "yes"})
