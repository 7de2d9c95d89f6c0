"""The data shapes at the SDK boundary (pure): what callbacks get, what drivers accept.

Callbacks get Mesos' v1 JSON shapes: every ``bytes`` value (a status ``uuid``
or ``data``, a framework message, a task's ``data``) as base64 text, lists for
tuples, and, with ``use_addict=True``, ``addict.Dict`` for every mapping (an
attribute-access dict in which a missing key reads as an empty Dict), as
pymesos hands them. Whatever a framework passes in is copied into plain dicts
and lists (so later changes to its objects do not reach the wire, and an
addict Dict's "missing key reads as empty" cannot leak into the master).

Protobuf objects (``mesos_pb2.*`` of the Python-2-era ``mesos.interface``)
are refused with an error naming what was given.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "CallbackShaper",
    "b64_text",
    "bytes_from",
    "check_not_protobuf",
    "dict_class",
    "for_callback",
    "plain",
    "shaper",
]

Dict = dict[str, Any]
CallbackShaper = Callable[[Any], Any]


def dict_class(use_addict: bool) -> type[dict[Any, Any]]:
    """``addict.Dict`` when asked for (imported on first use), else ``dict``."""
    if not use_addict:
        return dict
    from addict import Dict as AddictDict

    return AddictDict  # type: ignore[no-any-return]


def b64_text(data: bytes) -> str:
    """bytes -> base64 text (no newline), v1 JSON's form of a ``bytes`` field."""
    return base64.b64encode(bytes(data)).decode("ascii")


def bytes_from(value: Any, what: str) -> bytes:
    """bytes as they are; text as base64 (v1 JSON); ValueError naming anything else."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise ValueError(
                f"{what} given as text must be base64 (use frameworks.encode_data(bytes)), got {value!r}"
            ) from None
    raise ValueError(f"{what} must be bytes or base64 text, got {type(value).__name__} {value!r}")


_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


def for_callback(value: Any, dict_cls: type[dict[Any, Any]] = dict) -> Any:
    """A deep copy in v1 JSON shapes: mappings -> ``dict_cls``, tuples -> lists, bytes -> base64 text."""
    kind = type(value)
    if kind in _AS_THEY_ARE:  # the common leaves first: no ABC isinstance check for them
        return value
    if kind is dict and dict_cls is dict:
        return {k: for_callback(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return dict_cls((k, for_callback(v, dict_cls)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [for_callback(v, dict_cls) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b64_text(bytes(value))
    return value


def shaper(use_addict: bool) -> CallbackShaper:
    """``for_callback`` bound to the driver's dict class."""
    cls = dict_class(use_addict)
    return lambda value: for_callback(value, cls)


def check_not_protobuf(value: Any, what: str) -> None:
    """ValueError if ``value`` is a protobuf message (mesos_pb2), which this SDK does not take."""
    kind = type(value)  # the class: an addict Dict answers every attribute
    if not isinstance(value, Mapping) and hasattr(kind, "DESCRIPTOR") and hasattr(kind, "SerializeToString"):
        raise ValueError(
            f"{what} must be a dict (a mesos_pb2 {kind.__name__} object was given: "
            "convert it with google.protobuf.json_format.MessageToDict(obj, preserving_proto_field_name=True))"
        )


def plain(value: Any, what: str = "value") -> Any:
    """A deep copy as plain dicts and lists (any Mapping, addict's included); protobuf objects refused."""
    check_not_protobuf(value, what)
    if isinstance(value, Mapping):
        return {k: plain(v, f"{what}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{what}[{i}]") for i, v in enumerate(value)]
    return value
