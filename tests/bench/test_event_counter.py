"""Counting events on a full data disk (issue 8 §1): the harness's reader must not need a free byte."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile

import pytest

from app.bench.scenarios import EventCounter, events_in, fill
from app.events.model import LookupEvent
from app.events.store import EventStore


@pytest.fixture()
def tiny_tmpfs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    mount_point = tempfile.mkdtemp(dir=tmp_path)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "ogtk-test", mount_point]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield tmp_path.joinpath(mount_point)
    finally:
        subprocess.run(["umount", "-l", mount_point])


def _store_with_events(directory, n=20) -> EventStore:
    store = EventStore(directory / "events.sqlite3")
    for _ in range(n):
        store.record(LookupEvent.create(level="BASIC", outcome="matched", raw_emails=["a@example.com"]))
    return store


def test_counter_opened_before_the_disk_fills_counts_after_every_writer_dropped_its_connection(tiny_tmpfs):
    store = _store_with_events(tiny_tmpfs)
    with EventCounter(tiny_tmpfs) as events:
        assert events.count() == 20
        fill(tiny_tmpfs)
        store.close()  # the API's workers drop their connections after failed writes
        assert events.count() == 20


def test_the_cause_a_lone_reader_on_a_full_disk_must_rebuild_the_wal_index(tiny_tmpfs):
    """What failed in CI: a one-shot read-only open, when no other connection holds the database."""
    _store_with_events(tiny_tmpfs).close()
    fill(tiny_tmpfs)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        events_in(tiny_tmpfs)


def test_counter_needs_an_existing_database(tmp_path):
    with pytest.raises(FileNotFoundError):
        EventCounter(tmp_path)
