"""Retention pruning in the background: one stoppable thread per process, off the request path.

The worker prunes ``initial_delay_s`` after start (not in the boot burst, and not at all in a
short-lived CLI process) and then every ``interval_s``; the store's pruning lease lets only one
process prune at a time and ``min_interval_s`` skips a run another process did recently (gunicorn
recycles workers every minute or so, and each new one would otherwise prune at boot). The thread
uses its own connection and closes it itself before it ends, so stopping the store never closes
a connection under it: :meth:`RetentionWorker.stop` first, then :meth:`EventStore.close`.
"""

from __future__ import annotations

import logging
import threading

from .store import EventStore

log = logging.getLogger(__name__)


class RetentionWorker:
    """Deletes events older than ``retention_days`` until stopped.

    >>> worker = RetentionWorker(store, retention_days=90).start()
    >>> worker.stop()  # before store.close()
    """

    def __init__(self, store: EventStore, retention_days: float, *, initial_delay_s: float = 20.0,
                 interval_s: float = 3600.0, min_interval_s: float = 600.0, name: str = "ogtk-prune",
                 **prune_options) -> None:
        self.store = store
        self.retention_days = retention_days
        self.initial_delay_s = initial_delay_s
        self.interval_s = interval_s
        self.min_interval_s = min_interval_s
        self.prune_options = prune_options
        self.removed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> "RetentionWorker":
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Ask the worker to stop (it ends within one pruning batch) and wait; True once ended."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            if self._stop.wait(self.initial_delay_s):
                return
            while not self._stop.is_set():
                try:
                    removed = self.store.prune(self.retention_days, stop=self._stop,
                                               min_interval_s=self.min_interval_s, **self.prune_options)
                except Exception as exc:  # an unusable store is reported by /readyz, not by a crash
                    log.warning("event retention pruning skipped: %s", exc)
                else:
                    self.removed += removed
                    if removed:
                        log.info("pruned %d events older than %s days", removed, self.retention_days)
                if self._stop.wait(self.interval_s):
                    break
        finally:
            self.store.close_thread_connection()
