"""A bounded per-process memo: the last ``size`` keys used, least recently used dropped first.

The warm path keeps two of them (the fetcher's parsed cache entries and the presented cards).
Each is checked against the data it was made from before being reused, so a memo never decides
freshness: it only saves parsing or presenting the same data twice in one process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """Thread-safe; values are shared between callers, so they must not be changed.

    >>> memo = BoundedMemo(2)
    >>> memo.put("a", 1); memo.put("b", 2); memo.get("a"); memo.put("c", 3)
    1
    >>> memo.get("b") is None
    True
    """

    def __init__(self, size: int):
        if size < 1:
            raise ValueError("a memo holds at least one entry")
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value remembered for ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for ``key``, dropping the least recently used beyond ``size``."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        """Forget ``key`` (no error when it is not remembered)."""
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
