"""Is this instance ready for traffic? Only its own faults say no (CONTRACT section 3).

A load balancer takes an unready instance out of rotation. That helps when the fault is local
(its data directory full or unwritable, its cache or event store files unusable, shutting
down), since another instance can serve. It hurts when the fault is shared: Ordergroove (or a
shared Redis or PostgreSQL) failing fails every instance alike, and dropping them all would stop
the stale answers we exist to give. So shared dependencies are only reported, in the body and
in ``ogtk_dependency_up``.

>>> checker = ReadinessChecker(settings.data_dir, cache=..., events=..., client=...)
>>> checker.evaluate().body()
{'status': 'ok', 'checks': {'data_dir': 'ok', ..., 'ordergroove': 'failing: ...'}}
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import metrics
from .deadline import Deadline
from .ordergroove.errors import OrdergrooveError, Unauthorized

OK = "ok"
#: below this much free space SQLite's WAL and the cache can no longer grow: the disk is full
MIN_FREE_BYTES = 1 << 20
#: a recent answer from real traffic stands in for a probe
UPSTREAM_FRESH_S = 60.0
#: a probe's verdict is reused this long, so a busy load balancer does not hammer Ordergroove
PROBE_REMEMBER_S = 10.0
PROBE_DEADLINE_S = 2.0


def failing(reason: str) -> str:
    return f"failing: {reason}"


@dataclass
class Readiness:
    """Every check by name, ``"ok"`` or ``"failing: <reason>"``; only ``local`` ones decide."""

    local: dict[str, str] = field(default_factory=dict)
    shared: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.local.values())

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": OK if self.ready else "unavailable"}
        if not self.ready:
            body["reasons"] = [f"{name}: {state.removeprefix('failing: ')}"
                               for name, state in self.local.items() if state != OK]
        body["checks"] = {**self.local, **self.shared}
        return body


class ReadinessChecker:
    """The checks of one process, and the little state they keep (probe memory, shutdown)."""

    def __init__(self, data_dir: Path, *, cache: Any, events: Any, client: Any,
                 clock: Callable[[], float] = time.monotonic):
        self.data_dir = Path(data_dir)
        self.cache, self.events, self.client = cache, events, client
        self.clock = clock
        self.shutting_down = False
        self._probe_lock = threading.Lock()
        self._probe: tuple[float, str] | None = None  # (when, verdict)
        #: more shared dependencies (a shared Redis, PostgreSQL) register a check here
        self.shared_checks: dict[str, Callable[[], str]] = {"ordergroove": self.ordergroove}
        if getattr(cache, "shared", False):  # Redis (OGTK_CACHE_URL): every instance's, so only reported
            self.shared_checks["cache"] = lambda: _state_of(self.cache.check)
        if getattr(events, "shared", False):  # PostgreSQL (OGTK_EVENTS_URL): every instance's, so only reported
            self.shared_checks["events_db"] = lambda: _state_of(self.events.check_server)

    def begin_shutdown(self) -> None:
        """Called when the worker is told to stop: readiness fails while in-flight work drains."""
        self.shutting_down = True

    def evaluate(self) -> Readiness:
        local = {"data_dir": self.data_dir_state()}
        if "cache" not in self.shared_checks:
            local["cache"] = _state_of(self.cache.check)
        local["events"] = _state_of(self.events.check)
        local["process"] = failing("shutting down") if self.shutting_down else OK
        readiness = Readiness(local=local, shared={name: check() for name, check in self.shared_checks.items()})
        for name, state in readiness.shared.items():
            metrics.DEPENDENCY_UP.labels(name).set(1 if state == OK else 0)
        return readiness

    # --- local ---------------------------------------------------------------------------
    def data_dir_state(self) -> str:
        try:
            stat = os.statvfs(self.data_dir)
            free = stat.f_bavail * stat.f_frsize
            if free < MIN_FREE_BYTES:
                return failing(f"data directory {self.data_dir} is full ({free // 1024} KiB free)")
            probe = self.data_dir / f".ready-{os.getpid()}-{threading.get_ident()}"
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"ok")
                os.fsync(fd)
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError as exc:
            return failing(f"data directory {self.data_dir} is not writable ({exc.strerror or exc})")
        return OK

    # --- shared ---------------------------------------------------------------------------
    def ordergroove(self) -> str:
        """What this process last heard from Ordergroove; a probe when it heard nothing lately."""
        state = self.client.upstream_state(fresh_s=UPSTREAM_FRESH_S)
        if state.status == "failing":
            return failing(state.reason or "Ordergroove is failing")
        if state.status == OK:
            return OK
        with self._probe_lock:  # one probe at a time; the others reuse its verdict
            now = self.clock()
            if self._probe is None or now - self._probe[0] >= PROBE_REMEMBER_S:
                self._probe = (now, self._run_probe())
            return self._probe[1]

    def _run_probe(self) -> str:
        try:
            self.client.get("/products/", {"page_size": 1}, deadline=Deadline(PROBE_DEADLINE_S), endpoint="probe")
        except Unauthorized as exc:
            return failing(f"Ordergroove refused the API key (HTTP {exc.status or '401'})")
        except OrdergrooveError as exc:
            return failing(f"Ordergroove probe failed: {type(exc).__name__}")
        return OK


def _state_of(check: Callable[[], None]) -> str:
    try:
        check()
    except Exception as exc:  # any failure means "not ready", with the reason
        return failing(str(exc) or type(exc).__name__)
    return OK

