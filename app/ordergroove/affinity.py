"""One CPU for a process's fetch threads, so a cold lookup's requests hand the GIL over cheaply.

A cold lookup fans out over the fetch threads: round two of the plan is a request per upcoming
order plus the product batch, each on its own thread. Threads of one process take the GIL from
one another at every system call they make (connect, send, an SQLite step, the budget's flock).
On different cores each of those handoffs has to wake the other core, and on 2 cores the
requests of round two left about 0.7 ms apart (0.5 ms on one core). On one core a thread runs
on until it waits on Ordergroove, then the next one goes. Measured against the sandbox (50 ms
per request, bench customer, 2 cores), alternating with the setting off: in-process, fully
cold 2.16 round trips against 2.12 with it on and catalogue cached 2.15 against 2.11 (five
rounds of 15 lookups each way, every round in favour); through gunicorn, fully cold 2.20
against 2.16 (four rounds), warm throughput and tail unchanged.

Only the fetch threads are held to a CPU: warm lookups never use them, and the request threads
and everything else go where the scheduler puts them. Each process picks one of the CPUs it
may use by its pid, so gunicorn's workers spread over the cores. When that CPU is busy and
another idle, a fetch thread waits for its turn there: a cold lookup's fetch work is a few
milliseconds of CPU against Ordergroove's tens to hundreds of milliseconds per round. Linux
only; anywhere the call is missing or refused this does nothing. ``OGTK_FETCH_ONE_CPU=0``
turns it off.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def choose_cpu(enabled: bool = True) -> int | None:
    """The CPU this process's fetch threads run on, or ``None``: turned off, not Linux, or only
    one CPU to choose from (nothing to gain)."""
    if not enabled or not hasattr(os, "sched_getaffinity"):
        return None
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except OSError:
        return None
    if len(allowed) < 2:
        return None
    return allowed[os.getpid() % len(allowed)]


def pin_current_thread(cpu: int | None) -> bool:
    """Run the calling thread on ``cpu`` only (a thread pool's initializer: never raises, since a
    failing initializer would break the pool). True when the thread is now held to ``cpu``."""
    if cpu is None:
        return False
    try:
        os.sched_setaffinity(0, {cpu})  # pid 0: on Linux, the calling thread only
    except (OSError, ValueError, AttributeError) as exc:  # the CPU went away, or a sandbox refuses
        log.debug("fetch thread left where the scheduler puts it (%s)", exc)
        return False
    return True
