"""Webhook tests: the golden vector's helpers importable as ``webhook_support``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for webhook_support, like tests/support.py
