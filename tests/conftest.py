"""Shared fixtures: a sandbox Ordergroove, an app built through the factory, signed requests.

The sandbox runs once per session (it is read-only and deterministic); each test gets its own
data directory, so caches and event stores never leak between tests.
"""

from __future__ import annotations

import os

import pytest

os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # tests use the in-process registry

from app import create_app  # noqa: E402
from app.sandbox import KNOWN, SandboxServer  # noqa: E402

from support import LOOKUP_PATH, SIGNING_KEY, signed  # noqa: E402

pytest_plugins = ("servers",)  # real redis-server / PostgreSQL fixtures (tests/servers.py)


@pytest.fixture(scope="session")
def sandbox():
    with SandboxServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """No test inherits a developer's real configuration."""
    for name in list(os.environ):
        if name.startswith(("ORDERGROOVE_", "GLADLY_", "OGTK_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def base_config(tmp_path, sandbox):
    return {
        "ORDERGROOVE_BASE_URL": sandbox.base_url,
        "ORDERGROOVE_API_KEY": sandbox.api_key,
        "GLADLY_SIGNING_KEY": SIGNING_KEY,
        "OGTK_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
def make_app(base_config):
    apps = []

    def build(**overrides):
        config = {**base_config, **{k: v for k, v in overrides.items() if v is not None}}
        for key in [k for k, v in overrides.items() if v is None]:
            config.pop(key, None)
        app = create_app(config)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["ogtk"].close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def services(app):
    return app.extensions["ogtk"]


@pytest.fixture
def lookup(client):
    """POST a signed lookup; returns the Flask test response."""

    def send(payload, **kwargs):
        body, headers = signed(payload, **kwargs)
        return client.post(LOOKUP_PATH, data=body, headers=headers)

    return send
