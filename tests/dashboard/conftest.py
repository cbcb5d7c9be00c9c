"""Dashboard fixtures: a configured environment, a seeded event store and an AppTest factory.

Each test gets its own ``OGTK_DATA_DIR`` (``tmp_path``) pointed at the session sandbox, and
Streamlit's caches are cleared before and after, so no page sees another test's data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.events import EventStore
from dashboard import access

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for dash_support, like tests/support.py
from dash_support import ENTRYPOINT, seed_events  # noqa: E402


@pytest.fixture
def dashboard_env(monkeypatch, tmp_path, sandbox):
    """The environment `streamlit run` would get: the sandbox and a fresh data directory, viewed
    from a browser on this machine (AppTest has no real peer, which the gate refuses)."""
    monkeypatch.setattr(access, "session_peer", lambda: access.Peer("127.0.0.1"))
    monkeypatch.setenv("OGTK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORDERGROOVE_BASE_URL", sandbox.base_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path / "data"
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def seeded(dashboard_env):
    """The data directory with its event store seeded (see the module constants)."""
    from app.settings import Settings

    store = EventStore(Settings.from_env().events_db_path)
    seed_events(store)
    store.close()
    return dashboard_env


@pytest.fixture
def app_test():
    """A fresh AppTest of the entrypoint (run it yourself)."""
    return AppTest.from_file(str(ENTRYPOINT), default_timeout=30)
