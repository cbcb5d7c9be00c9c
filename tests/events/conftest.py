"""Fixtures for the event store tests: a fresh store in a temp dir."""

from __future__ import annotations

import pytest

from app.events import EventStore


@pytest.fixture
def store(tmp_path):
    store = EventStore(tmp_path / "data" / "events.sqlite3")
    yield store
    store.close()
