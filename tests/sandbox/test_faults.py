"""Fault settings validate their values; seeded draws hit the configured shares."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from app.sandbox.faults import FaultInjector, FaultSettings


def _draws(settings: FaultSettings, n: int = 10_000, seed: int = 7) -> Counter:
    injector = FaultInjector(settings, seed=seed, stop=threading.Event())
    return Counter((f.kind if f else "ok") for f in (injector.draw() for _ in range(n)))


def test_shares_match_the_settings():
    counts = _draws(FaultSettings(error_rate=0.2, rate_limit_rate=0.1, hang_rate=0.05))
    assert counts["500"] + counts["503"] == pytest.approx(2000, rel=0.1)
    assert counts["500"] > 700 and counts["503"] > 700
    assert counts["429"] == pytest.approx(1000, rel=0.15)
    assert counts["hang"] == pytest.approx(500, rel=0.2)


def test_same_seed_same_sequence_and_no_faults_by_default():
    settings = FaultSettings(error_rate=0.5)
    assert _draws(settings, 200, seed=3) == _draws(settings, 200, seed=3)
    assert _draws(FaultSettings(), 500) == Counter({"ok": 500})


@pytest.mark.parametrize("changes", [{"error_rate": 1.5}, {"hang_rate": -0.1}, {"latency_ms": -1},
                                     {"error_rate": 0.6, "rate_limit_rate": 0.6}, {"bogus": 1},
                                     {"hang_mode": "sometimes"}, {"latency_ms": "fast"}])
def test_bad_settings_are_refused(changes):
    with pytest.raises(ValueError):
        FaultSettings().update(**changes)


def test_retry_after_header_only_when_configured():
    fault = FaultInjector(FaultSettings(rate_limit_rate=1), seed=1, stop=threading.Event()).draw()
    plain = FaultInjector(FaultSettings(rate_limit_rate=1), seed=1, stop=threading.Event())
    assert plain.body(fault)[0] == 429 and "Retry-After" not in plain.body(fault)[3]
    told = FaultInjector(FaultSettings(rate_limit_rate=1, retry_after=2), seed=1, stop=threading.Event())
    assert told.body(fault)[3] == {"Retry-After": "2"}


def test_hang_and_latency_wake_up_when_stopped():
    stop = threading.Event()
    injector = FaultInjector(FaultSettings(hang_s=30, latency_ms=30_000), seed=1, stop=stop)
    threading.Timer(0.1, stop.set).start()
    started = time.monotonic()
    injector.hang()
    injector.delay()
    assert time.monotonic() - started < 2


def test_trickle_share_and_its_validation():
    counts = _draws(FaultSettings(trickle_rate=0.25, error_rate=0.25))
    assert counts["trickle"] == pytest.approx(2500, rel=0.1)
    assert counts["500"] + counts["503"] == pytest.approx(2500, rel=0.1)
    for bad in ({"trickle_rate": 1.2}, {"trickle_s": -1}, {"trickle_rate": 0.6, "hang_rate": 0.6}):
        with pytest.raises(ValueError):
            FaultSettings().update(**bad)
