"""Fault injection for the sandbox: added latency, 429s, 500/503s, hanging requests and trickled bodies.

One :class:`FaultInjector` per server. Each data request draws from a seeded RNG whether it
fails and how, and its answer leaves no earlier than the configured latency after the request
arrived (a per-request wait, so parallel requests are delayed in parallel). Waits use an :class:`threading.Event`, so shutting the server down
wakes every sleeping or hanging request at once.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

HANG_MODES = ("mixed", "504", "close")
WRITE_FAULTS = ("503", "hang")


@dataclass(frozen=True)
class FaultSettings:
    """What goes wrong, and how often; rates are shares of data requests (0..1).

    >>> FaultSettings().update(error_rate=0.1).error_rate
    0.1
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0  # share answered 500 or 503
    rate_limit_rate: float = 0.0  # share answered 429
    hang_rate: float = 0.0  # share that hang for hang_s, then 504 or a closed connection
    hang_s: float = 60.0
    retry_after: float | None = None  # send Retry-After on 429s when set (Ordergroove documents none)
    hang_mode: str = "mixed"  # "504", "close" or "mixed" (half each)
    trickle_rate: float = 0.0  # share answered normally, but with the body spread over trickle_s
    trickle_s: float = 5.0
    write_fault_rate: float = 0.0  # share of writes applied, then answered 503 or hung (see write_fault)
    write_fault: str = "503"  # "503", or "hang": hang_s, then 504

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "hang_rate", "trickle_rate", "write_fault_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if self.error_rate + self.rate_limit_rate + self.hang_rate + self.trickle_rate > 1.0 + 1e-9:
            raise ValueError("error_rate + rate_limit_rate + hang_rate + trickle_rate must not exceed 1")
        if self.latency_ms < 0 or self.hang_s < 0 or self.trickle_s < 0:
            raise ValueError("latency_ms, hang_s and trickle_s must not be negative")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if self.hang_mode not in HANG_MODES:
            raise ValueError(f"hang_mode must be one of {HANG_MODES}")
        if self.write_fault not in WRITE_FAULTS:
            raise ValueError(f"write_fault must be one of {WRITE_FAULTS}")

    def update(self, **changes: Any) -> "FaultSettings":
        """A copy with ``changes`` applied; unknown names or bad values raise ValueError."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}")
            if name in ("hang_mode", "write_fault"):
                clean[name] = str(value)
            elif name == "retry_after" and value is None:
                clean[name] = None
            else:
                try:
                    clean[name] = float(value)
                except (TypeError, ValueError):
                    raise ValueError(f"{name} must be a number, got {value!r}") from None
        return replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        text = (f"latency {self.latency_ms:g} ms, errors {self.error_rate:.0%}, "
                f"429s {self.rate_limit_rate:.0%}, hangs {self.hang_rate:.0%} x {self.hang_s:g} s")
        if self.trickle_rate:
            text += f", trickled bodies {self.trickle_rate:.0%} x {self.trickle_s:g} s"
        if self.write_fault_rate:
            text += f", writes applied then {self.write_fault} {self.write_fault_rate:.0%}"
        if self.retry_after is not None:
            text += f", Retry-After {self.retry_after:g}"
        return text


@dataclass(frozen=True)
class Fault:
    """One drawn failure: ``kind`` is "hang", "429", "500", "503" or "trickle"."""

    kind: str
    json_body: bool = True  # False: an HTML / plain-text body, as proxies send
    close: bool = False  # hangs only: drop the connection instead of answering 504


class FaultInjector:
    """Thread-safe, seeded source of latency and failures.

    >>> inj = FaultInjector(FaultSettings(error_rate=1.0), seed=1, stop=threading.Event())
    >>> inj.draw().kind in ("500", "503")
    True
    """

    def __init__(self, settings: FaultSettings, *, seed: int, stop: threading.Event):
        self._settings = settings
        self._rng = random.Random(f"faults-{seed}")
        self._lock = threading.Lock()
        self.stop = stop

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def set(self, **changes: Any) -> FaultSettings:
        with self._lock:
            self._settings = self._settings.update(**changes)
            return self._settings

    def delay(self, since: float | None = None) -> None:
        """The injected latency of one request, counted from ``since`` (its ``time.monotonic()``
        arrival) when given, so time the sandbox itself spent on the request is part of the
        latency rather than added to it; returns early when the server stops."""
        latency = self._settings.latency_ms / 1000.0
        if since is not None:
            latency -= time.monotonic() - since
        if latency > 0:
            self.stop.wait(latency)

    def draw(self) -> Fault | None:
        """Decide this request's fate: None (answer normally) or a :class:`Fault`."""
        s = self._settings
        if not (s.hang_rate or s.rate_limit_rate or s.error_rate or s.trickle_rate):
            return None
        with self._lock:
            roll, detail, style = self._rng.random(), self._rng.random(), self._rng.random()
        if roll < s.hang_rate:
            close = s.hang_mode == "close" or (s.hang_mode == "mixed" and detail < 0.5)
            return Fault("hang", close=close)
        roll -= s.hang_rate
        if roll < s.rate_limit_rate:
            return Fault("429", json_body=style < 0.7)
        roll -= s.rate_limit_rate
        if roll < s.error_rate:
            return Fault("500" if detail < 0.5 else "503", json_body=style < 0.5)
        roll -= s.error_rate
        if roll < s.trickle_rate:
            return Fault("trickle")
        return None

    def draw_write_fault(self) -> Fault | None:
        """After a write was applied: None (answer it) or the fault that loses its answer (hangs first)."""
        s = self._settings
        if not s.write_fault_rate:
            return None
        with self._lock:
            roll = self._rng.random()
        if roll >= s.write_fault_rate:
            return None
        if s.write_fault == "hang":
            self.hang()
            return Fault("hang")
        return Fault("503")

    def hang(self) -> None:
        """Block for ``hang_s`` or until the server stops, whichever comes first."""
        self.stop.wait(self._settings.hang_s)

    def body(self, fault: Fault) -> tuple[int, str, str, dict[str, str]]:
        """(status, body, content type, headers) of the answer to ``fault``."""
        headers: dict[str, str] = {}
        if fault.kind == "429":
            if self._settings.retry_after is not None:
                headers["Retry-After"] = f"{self._settings.retry_after:g}"
            if fault.json_body:
                return 429, json.dumps({"detail": "Request was throttled."}), "application/json", headers
            return 429, "Too Many Requests", "text/plain", headers
        if fault.kind == "hang":
            return 504, _html(504, "Gateway Time-out"), "text/html", headers
        status = int(fault.kind)
        if fault.json_body:
            detail = "A server error occurred." if status == 500 else "Service temporarily unavailable."
            return status, json.dumps({"detail": detail}), "application/json", headers
        return status, _html(status, "Internal Server Error" if status == 500 else "Service Unavailable"), \
            "text/html", headers


def _html(status: int, title: str) -> str:
    return f"<html><head><title>{status} {title}</title></head><body><h1>{status} {title}</h1></body></html>\n"
