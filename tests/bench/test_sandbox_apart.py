"""The bench keeps the sandbox off the API's fetch CPU for the in-process cold rows, then gives it back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from app.bench.measure import sandbox_apart

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                                reason="needs Linux and at least two CPUs")

# a stand-in for the sandbox: a process that starts a thread now and another on request (stdin)
CHILD = """
import sys, threading, time
def idle():
    time.sleep(60)
threading.Thread(target=idle, daemon=True).start()
print("up", flush=True)
sys.stdin.readline()
threading.Thread(target=idle, daemon=True).start()
print("more", flush=True)
time.sleep(60)
"""


def masks(pid: int) -> list[set[int]]:
    return [os.sched_getaffinity(int(task)) for task in os.listdir(f"/proc/{pid}/task")]


@pytest.fixture
def child():
    process = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "up"
    yield process
    process.kill()
    process.wait()


def test_every_thread_leaves_the_fetch_cpu_threads_started_meanwhile_too_and_all_come_back(child):
    allowed = os.sched_getaffinity(0)
    fetch_cpu = min(allowed)
    with sandbox_apart(child.pid, fetch_cpu) as cpus:
        assert cpus == allowed - {fetch_cpu}
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "more"
        seen = masks(child.pid)
        assert len(seen) == 3 and all(mask == cpus for mask in seen)
    deadline = time.monotonic() + 5
    while any(mask != allowed for mask in masks(child.pid)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(mask == allowed for mask in masks(child.pid))


def test_nothing_moves_without_a_fetch_cpu(child):
    before = masks(child.pid)
    with sandbox_apart(child.pid, None) as cpus:
        assert cpus is None
        assert masks(child.pid) == before
