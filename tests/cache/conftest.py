"""Every backend test runs against each backend (``make_backend`` and friends: tests/servers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def backend(make_backend):
    return make_backend()
