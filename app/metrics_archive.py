"""Prometheus multiprocess files that stay bounded while gunicorn recycles workers.

Every worker writes its samples to its own ``<type>_<pid>.db`` files, and every scrape reads
all of them. Gunicorn's ``max_requests`` replaces a busy worker every minute or so, so without
care the directory (and each scrape) grows for as long as the server runs. When a worker exits,
:func:`archive_dead_worker` (gunicorn's ``child_exit`` hook, in the master) folds its files into
one ``<type>_archive.db`` per type and deletes them: counters, histograms and summaries are
added, ``min``/``max`` gauges keep the extreme, ``mostrecent`` the latest, and the per-process
and ``live*`` gauges of a dead worker are dropped (as ``mark_process_dead`` does).

Counts are never lost or doubled: the archive is rewritten to a temporary file and renamed over
the old one, and the dead worker's files deleted, all under an exclusive ``flock``; scrapes read
under the same lock, shared (:class:`LockedMultiProcessCollector`), so a scrape sees either the
files before the fold or after it, never half of it. Two gunicorn masters during a USR2 upgrade
share the directory and the lock. Deliberately free of :mod:`app.metrics`: importing that in the
master would create metric files for the master itself.

>>> archive_dead_worker("/dev/shm/ogtk-metrics-…", pid=4242)
"""

from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from prometheus_client import multiprocess
from prometheus_client.mmap_dict import MmapedDict

LOCK_NAME = ".lock"
ARCHIVE = "archive"
_WORKER_FILE = re.compile(r"(?P<kind>counter|histogram|summary|gauge_[a-z]+)_(?P<pid>\d+)\.db")
#: how the values of one key from two processes combine, per file kind; absent kinds are dropped
_COMBINE = {
    "counter": lambda old, new: (old[0] + new[0], max(old[1], new[1])),
    "histogram": lambda old, new: (old[0] + new[0], max(old[1], new[1])),
    "summary": lambda old, new: (old[0] + new[0], max(old[1], new[1])),
    "gauge_sum": lambda old, new: (old[0] + new[0], max(old[1], new[1])),
    "gauge_max": lambda old, new: max(old, new),
    "gauge_min": lambda old, new: min(old, new),
    "gauge_mostrecent": lambda old, new: old if old[1] >= new[1] else new,
}


@contextmanager
def locked(directory: str | os.PathLike, *, shared: bool) -> Iterator[None]:
    """The directory's lock: shared for reading the files, exclusive for folding them."""
    fd = os.open(Path(directory) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _values(path: Path) -> dict[str, tuple[float, float]]:
    if not path.exists():
        return {}
    return {key: (value, ts) for key, value, ts, _ in MmapedDict.read_all_values_from_file(str(path))}


def _fold(directory: Path, kind: str, dead: Path) -> None:
    archive = directory / f"{kind}_{ARCHIVE}.db"
    merged = _values(archive)
    combine = _COMBINE[kind]
    for key, value in _values(dead).items():
        merged[key] = combine(merged[key], value) if key in merged else value
    scratch = directory / f".{kind}_{ARCHIVE}.{os.getpid()}.tmp"  # not *.db: scrapes never read it
    scratch.unlink(missing_ok=True)
    out = MmapedDict(str(scratch))
    try:
        for key, (value, ts) in merged.items():
            out.write_value(key, value, ts)
    finally:
        out.close()
    os.replace(scratch, archive)


def archive_dead_worker(directory: str | os.PathLike, pid: int) -> int:
    """Fold the files of the exited process ``pid`` into the archives; returns how many went."""
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    with locked(directory, shared=False):
        mine = [(path, match["kind"]) for path in sorted(directory.glob(f"*_{pid}.db"))
                if (match := _WORKER_FILE.fullmatch(path.name)) and int(match["pid"]) == pid]
        multiprocess.mark_process_dead(pid, str(directory))  # its live* gauges
        for path, kind in mine:
            if kind in _COMBINE:
                _fold(directory, kind, path)
            path.unlink(missing_ok=True)
        return len(mine)


class LockedMultiProcessCollector(multiprocess.MultiProcessCollector):
    """``MultiProcessCollector`` that reads every file under the shared lock (see module doc)."""

    def collect(self):
        with locked(self._path, shared=True):
            return list(super().collect())


def file_count(directory: str | os.PathLike) -> int:
    """How many sample files a scrape reads now (the number this module keeps bounded)."""
    return sum(1 for _ in Path(directory).glob("*.db"))

