"""A task's kept status as a compact record, read as the TaskStatus dict it was made from.

The master keeps a few statuses per task (``Task.statuses``); as dicts they were most of
a running task's bytes (an outer dict and an ``{"value": id}`` dict per id). A
:class:`TaskStatusRecord` holds the common fields in slots: the ids as bare strings (the
task's own objects where equal), the timestamp and the ``uuid`` bytes only where present,
the other fields in a tuple. Its keys' order, and its state, source and reason (words of
a small vocabulary), are in a :class:`_Shape` that statuses alike share, so reading it
(``items()``, ``to_dict()``)
gives back a dict equal to the status it was made from, in the same order: the v1 shapes
endpoints and callbacks show are built only when one reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Union

from actors.master.compact import DEFAULT_INTERN_LIMIT

__all__ = ["TaskStatusRecord", "compact_status"]

# Fields held in a slot. Ids only when of the plain ``{"value": str}`` shape, held bare.
_ID_SLOTS = {"task_id": "_task_id", "agent_id": "_agent_id", "executor_id": "_executor_id"}
_VALUE_SLOTS = {"timestamp": "_timestamp", "uuid": "_uuid"}
# Fields whose text value is held by the shape.
_WORDS = frozenset({"state", "source", "reason"})

# How a key is held: True in its slot, False in ``_rest``, a str: that word (in the shape).
_Layout = tuple[tuple[str, Union[bool, str]], ...]
# Where a shape finds a key: a slot's name, an index in ``_rest``, or (its word,).
_Where = Union[str, int, tuple[str]]


class _Shape:
    """The keys of statuses alike, in order, where each is held, and their words."""

    __slots__ = ("keys", "where")

    def __init__(self, layout: _Layout) -> None:
        self.keys = tuple(key for key, _ in layout)
        where: dict[str, _Where] = {}
        rest = 0
        for key, held in layout:
            if held is True:
                where[key] = _ID_SLOTS.get(key) or _VALUE_SLOTS[key]
            elif held is False:
                where[key], rest = rest, rest + 1
            else:
                where[key] = (held,)
        self.where = where


# Shared between records; bounded as an Interner (past the limit the table starts again).
_shapes: dict[_Layout, _Shape] = {}


def _shape(layout: _Layout) -> _Shape:
    shape = _shapes.get(layout)
    if shape is None:
        if len(_shapes) >= DEFAULT_INTERN_LIMIT:
            _shapes.clear()
        shape = _shapes[layout] = _Shape(layout)
    return shape


def _plain_id(value: Any) -> str | None:
    if type(value) is dict and len(value) == 1:
        inner = value.get("value")
        if type(inner) is str:
            return inner
    return None


class TaskStatusRecord(Mapping[str, Any]):
    """A kept TaskStatus (see the module docstring); ``to_dict()`` is the status as a fresh dict."""

    __slots__ = ("_shape", "_task_id", "_agent_id", "_executor_id", "_timestamp", "_uuid", "_rest")

    def __init__(self, shape: _Shape, slots: dict[str, Any], rest: tuple[Any, ...]) -> None:
        self._shape = shape
        self._task_id = slots.get("_task_id")
        self._agent_id = slots.get("_agent_id")
        self._executor_id = slots.get("_executor_id")
        self._timestamp = slots.get("_timestamp")
        self._uuid = slots.get("_uuid")
        self._rest = rest

    def __getitem__(self, key: str) -> Any:
        where = self._shape.where.get(key)
        if where is None:
            raise KeyError(key)
        if isinstance(where, int):
            return self._rest[where]
        if isinstance(where, tuple):
            return where[0]
        value = getattr(self, where)
        return {"value": value} if key in _ID_SLOTS else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._shape.keys)

    def __len__(self) -> int:
        return len(self._shape.keys)

    def __contains__(self, key: object) -> bool:
        return key in self._shape.where

    def __repr__(self) -> str:
        return f"TaskStatusRecord({self.to_dict()!r})"

    def id_of(self, key: str) -> str | None:
        """The bare id string a slotted id field holds (None when absent or not the plain shape)."""
        slot = _ID_SLOTS.get(key)
        return getattr(self, slot) if slot is not None and self._shape.where.get(key) == slot else None

    def to_dict(self) -> dict[str, Any]:
        return {key: self[key] for key in self._shape.keys}


def compact_status(status: Mapping[str, Any], ids: tuple[str, ...] = ()) -> TaskStatusRecord:
    """``status`` as a record; an id equal to one of ``ids`` is held as that string object."""
    layout: list[tuple[str, bool | str]] = []
    slots: dict[str, Any] = {}
    rest: list[Any] = []
    for key, value in status.items():
        held: bool | str = False
        if key in _ID_SLOTS:
            plain = _plain_id(value)
            if plain is not None:
                slots[_ID_SLOTS[key]] = next((known for known in ids if known == plain), plain)
                held = True
        elif key in _VALUE_SLOTS:
            slots[_VALUE_SLOTS[key]] = value
            held = True
        elif key in _WORDS and type(value) is str:
            held = value
        if held is False:
            rest.append(value)
        layout.append((key, held))
    return TaskStatusRecord(_shape(tuple(layout)), slots, tuple(rest))
