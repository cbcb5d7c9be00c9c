"""One writer at a time for a SQLite file, across the threads and processes of one machine.

Why not leave it to SQLite: a writer that finds the database locked sleeps in SQLite's busy
handler (1, 2, 5, 10, 15, 20, 25 ms …) and tries again, and meanwhile fresh writers take the lock
first. Under a steady stream of short transactions from several gunicorn workers, an unlucky
writer loses again and again: every lookup records an event, so at 16 concurrent clients those
sleeps halved the warm throughput and made the slow tail. Here writers wait on an ``flock`` of a
lock file beside the database, retrying every fraction of a millisecond, so the next writer
starts almost the moment the previous one commits.

The wait is bounded (``wait_s``): when another program holds the lock that long, the writer goes
ahead and SQLite's own locking, which stays in force, decides. A lock file that cannot be opened
(read-only directory) costs nothing but the queueing.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: first and longest pause between tries while another process writes
_FIRST_PAUSE_S, _LONGEST_PAUSE_S = 0.0001, 0.002


class WriterLock:
    """``with lock.hold(): <one short write transaction>``; safe to share between threads.

    >>> lock = WriterLock("/var/lib/ogtk/events.sqlite3.lock")
    >>> with lock.hold():
    ...     conn.execute("INSERT …")
    """

    def __init__(self, path: str | os.PathLike, *, wait_s: float = 0.5):
        self.path = Path(path)
        self.wait_s = wait_s
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()

    def _descriptor(self) -> int | None:
        if self._pid != os.getpid():  # forked: the inherited descriptor shares the parent's lock
            self._threads, self._fd, self._pid = threading.Lock(), None, os.getpid()
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                return None
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the lock for the block: this process's other threads wait on a thread lock,
        other processes on the file lock (at most ``wait_s``, then the block runs anyway)."""
        fd = self._descriptor()
        with self._threads:
            locked = fd is not None and self._lock_file(fd)
            try:
                yield
            finally:
                if locked:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_file(self, fd: int) -> bool:
        give_up = time.monotonic() + self.wait_s
        pause = _FIRST_PAUSE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE_S)
            except OSError:
                return False

    def close(self) -> None:
        with self._threads:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
