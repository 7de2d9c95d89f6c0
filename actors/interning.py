"""One shared object for values that many records hold alike (the master's and the allocator's).

A homogeneous cluster has thousands of agents with the same total, tasks with the same
resources, and decline filters refusing the same remainder; a record keeps one object
(immutable, hashable) for each distinct value instead of a copy of its own. The table is
bounded: past ``limit`` distinct values it is emptied and starts again (a value interned
before still works; it is merely no longer shared with later equal ones).
"""

from __future__ import annotations

from typing import Generic, Hashable, TypeVar

__all__ = ["DEFAULT_INTERN_LIMIT", "Interner"]

DEFAULT_INTERN_LIMIT = 4096
T = TypeVar("T", bound=Hashable)


class Interner(Generic[T]):
    """``intern(value)``: the first value seen equal to ``value``, or ``value`` itself."""

    __slots__ = ("_limit", "_table")

    def __init__(self, limit: int = DEFAULT_INTERN_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"the intern limit must be >= 1, got {limit}")
        self._limit = limit
        self._table: dict[T, T] = {}

    def intern(self, value: T) -> T:
        table = self._table
        known = table.get(value)
        if known is not None:
            return known
        if len(table) >= self._limit:
            table.clear()
        table[value] = value
        return value

    def __len__(self) -> int:
        return len(self._table)
