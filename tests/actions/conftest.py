"""Action tests: the fakes importable as ``fakes``, and a real shared lock store per test."""

from __future__ import annotations

import sys
from pathlib import Path

import diskcache
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for fakes, like tests/support.py


@pytest.fixture
def locks(tmp_path):
    cache = diskcache.Cache(str(tmp_path / "locks"))
    yield cache
    cache.close()
