"""Counters of messages by kind (sent, received, dropped, rejected) and key."""

from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["Counters"]


class Counters:
    """``kind -> key -> count``, incremented from any thread; reads copy."""

    __slots__ = ("_data", "_lock")

    def __init__(self) -> None:
        self._data: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()

    def incr(self, kind: str, key: str, n: int = 1) -> None:
        with self._lock:  # a read-add-store: two threads at once must not lose a count
            self._data[kind][key] += n

    def get(self, kind: str, key: str | None = None) -> int:
        """One count, or the total of a kind when ``key`` is None."""
        with self._lock:
            table: dict[str, int] = self._data.get(kind, {})
            return sum(table.values()) if key is None else table.get(key, 0)

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {kind: dict(table) for kind, table in self._data.items()}
