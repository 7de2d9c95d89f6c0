"""The message schema machinery: typed records registered by type name.

Every wire message is a frozen dataclass decorated with :func:`message`; the
decorator registers it under its class name and compiles a validator from its
type hints, so a body from the wire is checked field by field before a record
is built. The records themselves live in :mod:`transport.messages`.
"""

from __future__ import annotations

import dataclasses
import reprlib
import types
import typing
from typing import Any, Callable, TypeVar

from transport.errors import SchemaError

__all__ = ["Message", "message", "REGISTRY", "to_body", "from_body", "message_type"]

Validator = Callable[[Any, str], Any]
M = TypeVar("M", bound="Message")


class Message:
    """Base of every wire record (see :func:`message`)."""

    __slots__ = ()
    _fields: typing.ClassVar[tuple[str, ...]] = ()
    _validators: typing.ClassVar[dict[str, Validator]] = {}
    _checks: typing.ClassVar[tuple[tuple[str, type | None, Validator, str], ...]] = ()
    _required: typing.ClassVar[frozenset[str]] = frozenset()


REGISTRY: dict[str, type[Message]] = {}


@typing.dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def message(cls: type[M]) -> type[M]:
    """Make ``cls`` a frozen dataclass and register it by its class name."""
    name = cls.__name__
    if name in REGISTRY:
        raise SchemaError(f"message type {name!r} is defined twice")
    if not cls.__doc__ or "->" not in cls.__doc__:
        raise SchemaError(f"message {name!r} needs a docstring naming 'sender -> receiver'")
    dc = dataclasses.dataclass(frozen=True, slots=True)(cls)
    hints = typing.get_type_hints(dc)
    fields = dataclasses.fields(dc)  # type: ignore[arg-type]
    dc._fields = tuple(f.name for f in fields)
    dc._validators = {f.name: _compile(hints[f.name]) for f in fields}
    dc._checks = tuple(
        (f.name, hints[f.name] if hints[f.name] in _EXACT else None, dc._validators[f.name], f"{name}.{f.name}")
        for f in fields
    )
    dc._required = frozenset(
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    REGISTRY[name] = dc
    return dc


def message_type(name: str) -> type[Message]:
    """The record registered as ``name``; SchemaError if there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise SchemaError(f"unknown message type {name!r}") from None


def to_body(msg: Message) -> dict[str, Any]:
    """The record as a plain dict (field name -> value) ready for msgpack."""
    return {f: getattr(msg, f) for f in msg._fields}


def from_body(type_name: str, body: Any) -> Message:
    """Build and validate a record from a decoded body; SchemaError names the fault."""
    cls = REGISTRY.get(type_name)
    if cls is None:
        raise SchemaError(f"unknown message type {type_name!r}")
    if not isinstance(body, dict):
        raise SchemaError(f"{type_name}: body must be a map, got {type(body).__name__}")
    if not cls._required <= body.keys():
        missing = cls._required.difference(body)
        raise SchemaError(f"{type_name}: missing field(s) {', '.join(sorted(missing))}")
    kwargs = {}
    for field, exact, check, path in cls._checks:  # exact: a type that passes as it is
        if field in body:
            value = body[field]
            kwargs[field] = value if type(value) is exact else check(value, path)
    return cls(**kwargs)


# --- validators compiled from type hints ------------------------------------


_shown = reprlib.Repr()
_shown.maxlevel, _shown.maxstring, _shown.maxother = 3, 50, 50


def _fail(path: str, expected: str, value: Any) -> typing.NoReturn:
    shown = _shown.repr(value)  # bounded: a deep or huge value must not recurse or copy
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise SchemaError(f"{path} must be {expected}, got {type(value).__name__} {shown}")


def _scalar(kind: type) -> Validator:
    def check(value: Any, path: str) -> Any:
        if type(value) is kind:
            return value
        if kind is float and type(value) is int:
            return float(value)
        if kind is bytes and isinstance(value, (bytes, bytearray)):
            return bytes(value)
        _fail(path, kind.__name__, value)

    return check


_EXACT = (str, int, float, bool, bytes)  # values of exactly these types need no check


def _any(value: Any, path: str) -> Any:
    return value


def _compile(hint: Any) -> Validator:
    if hint is Any:
        return _any
    if hint in (str, int, float, bool, bytes):
        return _scalar(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise SchemaError(f"unsupported union {hint!r}")
        sub = _compile(inner[0])
        return lambda v, p: None if v is None else sub(v, p)
    if hint is list or origin is list:
        item = _compile(args[0]) if args else _any

        def check_list(value: Any, path: str) -> Any:
            if not isinstance(value, (list, tuple)):
                _fail(path, "a list", value)
            if item is _any:
                return list(value)
            return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]

        return check_list
    if hint is dict or origin is dict:
        key = _compile(args[0]) if args else _any
        val = _compile(args[1]) if args else _any

        def check_dict(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                _fail(path, "a map", value)
            if key is _any and val is _any:
                return value
            return {key(k, f"{path} key"): val(v, f"{path}[{k!r}]") for k, v in value.items()}

        return check_dict
    raise SchemaError(f"unsupported field type {hint!r}")
