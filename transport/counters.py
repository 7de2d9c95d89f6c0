"""Counters of messages by kind (sent, received, dropped, rejected) and key."""

from __future__ import annotations

from collections import defaultdict

__all__ = ["Counters"]


class Counters:
    """``kind -> key -> count``. Increments are single-threaded per owner; reads copy."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))

    def incr(self, kind: str, key: str, n: int = 1) -> None:
        self._data[kind][key] += n

    def get(self, kind: str, key: str | None = None) -> int:
        """One count, or the total of a kind when ``key`` is None."""
        table: dict[str, int] = self._data.get(kind, {})
        return sum(table.values()) if key is None else table.get(key, 0)

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {kind: dict(table) for kind, table in list(self._data.items())}
