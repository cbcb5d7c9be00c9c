"""The data directory fills up at runtime, then goes read-only: lookups are still answered."""

from __future__ import annotations

import errno
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from ...processes import ApiProcess
from ...simulate import new_signing_key
from ..loadgen import drive
from .common import (DEFAULT_FAULTS, ScenarioResult, Sizes, api_running, lookup_bounds, lookup_mix, pick_customers,
                     readyz, tally, warm_up)
from .events import EventCounter


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def fill(directory: Path) -> int:
    """Write a filler file until the filesystem is full; returns the bytes written."""
    filler = directory / "filler.bin"
    written = 0
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (1 << 20, 1 << 12, 1 << 9):
            block = b"\0" * chunk
            while True:
                try:
                    written += fh.write(block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written


def data_dir_unwritable(sandbox: Any, sizes: Sizes, work: Path) -> ScenarioResult:
    """The data directory fills up at runtime, then the API runs on it read-only: lookups still answered.

    The data directory is a 64 MiB tmpfs mounted for the scenario (root only: ``chmod`` does not
    stop root, a real filesystem is the honest test). "Full": a filler file takes every free
    byte while the API runs. "Read-only": a filesystem cannot be remounted read-only while
    SQLite holds files open for writing, so the API is restarted on the remounted-read-only
    directory, as after a volume goes read-only and the pod restarts.
    """
    result = ScenarioResult("data directory full, then read-only")
    began = time.monotonic()
    if os.geteuid() != 0:
        result.skipped = "needs root to mount a small tmpfs for the data directory"
        return result
    mount_point = Path(tempfile.mkdtemp(prefix="ogtk-soak-tmpfs-", dir=str(work)))
    mounted = _run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "ogtk-soak", str(mount_point)])
    if mounted.returncode != 0:
        result.skipped = f"cannot mount a tmpfs here ({mounted.stderr.strip() or mounted.returncode})"
        return result
    key = new_signing_key()
    data_dir = mount_point / "data"
    try:
        sandbox.set_faults(**DEFAULT_FAULTS)
        customers = pick_customers(sandbox, sizes.warm_customers)
        with api_running(sandbox, sizes, work, "datadir-full", key, data_dir=data_dir) as api:
            warm_up(api, key, customers)
            with EventCounter(data_dir) as events:  # opened while there is space: see its docstring
                status, body = readyz(api)
                result.check("/readyz 200 before", status == 200, status)
                before = events.count()
                filled = fill(mount_point)
                result.notes.append(f"full: a filler file took the last {filled / 2**20:.1f} MiB of the 64 MiB tmpfs")
                workers_before = api.worker_pids()
                answers = drive(api.base_url, lookup_mix(key, customers, sizes.full_disk_lookups, seed=8),
                                concurrency=sizes.concurrency, timeout=sizes.deadline_s + 10)
                status, body = readyz(api)
                tally(result, answers, sizes.deadline_s)
                lookup_bounds(result, answers, sizes.deadline_s, prefix="full: ")
                result.check("full: /readyz 503 with reasons", status == 503 and _has_reasons(body), _brief(body))
                lost = [p for p in workers_before if p not in api.worker_pids()]
                result.check("full: no worker died", not lost,
                             f"{len(lost)} of {len(workers_before)} workers died: {_deaths(api.log_path)}"
                             if lost else "all alive")
                result.events_recorded = events.count() - before
                result.notes.append(f"full: {result.events_recorded} events recorded for {len(answers)} lookups "
                                    "(lost by design while full; counted in ogtk_event_write_failures_total)")
                (mount_point / "filler.bin").unlink()
            recovered = _recover(api)
            result.check("full, then space freed: /readyz back to 200", recovered[0] == 200, _brief(recovered[1]))
        ro = _run(["mount", "-o", "remount,ro", str(mount_point)])
        if ro.returncode != 0:
            result.check("read-only: remount the data directory read-only", False, ro.stderr.strip())
            return result
        try:
            with api_running(sandbox, sizes, work, "datadir-ro", key, data_dir=data_dir) as api:
                answers_ro = drive(api.base_url, lookup_mix(key, customers, sizes.full_disk_lookups, seed=9),
                                   concurrency=sizes.concurrency, timeout=sizes.deadline_s + 10)
                status, body = readyz(api)
                tally(result, answers_ro, sizes.deadline_s)
                lookup_bounds(result, answers_ro, sizes.deadline_s, prefix="read-only: ")
                result.check("read-only: /readyz 503 with reasons", status == 503 and _has_reasons(body), _brief(body))
        except RuntimeError as exc:  # the API did not start
            result.check("read-only: the API starts on a read-only data directory", False,
                         " | ".join(line.strip() for line in str(exc).splitlines()[-6:])[:600])
        finally:
            _run(["mount", "-o", "remount,rw", str(mount_point)])
    finally:
        _run(["umount", "-l", str(mount_point)])
        try:
            mount_point.rmdir()
        except OSError:
            pass
        result.seconds = time.monotonic() - began
    return result


def _deaths(log_path: Path) -> str:
    """What gunicorn said about workers that died (signal, exit code), from its log."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    found = [line.split("] ", 2)[-1] for line in lines
             if "was sent" in line or "exited with code" in line or "Worker (pid" in line]
    return "; ".join(dict.fromkeys(found))[:300] or "gunicorn logged no reason"


def _has_reasons(body: Any) -> bool:
    return isinstance(body, dict) and bool(body.get("reasons"))


def _brief(body: Any) -> str:
    if isinstance(body, dict) and body.get("reasons"):
        return "; ".join(str(r)[:90] for r in body["reasons"])
    return str(body)[:160]


def _recover(api: ApiProcess, timeout: float = 25.0) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    status, body = readyz(api)
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        status, body = readyz(api)
    return status, body
