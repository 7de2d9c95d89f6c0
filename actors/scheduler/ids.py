"""Normalising what framework code passes to a driver: ids, lists, dicts.

Framework authors write ids as ``{"value": "x"}`` (Mesos' v1 JSON shape) or as
plain ``"x"``, one or many. These helpers turn either into the plain text the
wire's routing fields carry, or into the v1 shape the dicts carry. Mappings
other than ``dict`` (pymesos' addict ``Dict`` is a dict subclass) are accepted.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from actors.scheduler.shapes import check_not_protobuf, plain

__all__ = ["as_dicts", "as_texts", "id_dict", "id_value", "id_values", "normalize_ids", "uuid_bytes"]

Dict = dict[str, Any]


def id_value(value: Any, what: str = "id") -> str:
    """``"x"`` or ``{"value": "x"}`` -> ``"x"``; ValueError naming anything else."""
    if isinstance(value, str):
        if not value:
            raise ValueError(f"{what} must not be empty")
        return value
    if isinstance(value, Mapping):
        inner = value.get("value")
        if isinstance(inner, str) and inner:
            return inner
        raise ValueError(f"{what} must be {{'value': <non-empty text>}}, got {dict(value)!r}")
    inner = getattr(value, "value", None)  # protobuf-like objects
    if isinstance(inner, str) and inner:
        return inner
    raise ValueError(f"{what} must be text or {{'value': text}}, got {type(value).__name__} {value!r}")


def id_values(value: Any, what: str = "id") -> list[str]:
    """One id or a list/tuple of ids (either shape) -> a list of plain texts; None -> []."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [id_value(v, what) for v in value]
    return [id_value(value, what)]


def id_dict(value: Any, what: str = "id") -> Dict:
    """Either shape -> ``{"value": "x"}``."""
    return {"value": id_value(value, what)}


def as_dicts(value: Any, what: str) -> list[Dict]:
    """One dict or a list of dicts -> a list of deep plain copies; None -> []."""
    if value is None:
        return []
    check_not_protobuf(value, what)
    if isinstance(value, Mapping):
        return [plain(value, what)]
    if isinstance(value, (list, tuple)):
        out: list[Dict] = []
        for i, item in enumerate(value):
            check_not_protobuf(item, f"{what}[{i}]")
            if not isinstance(item, Mapping):
                raise ValueError(f"{what}[{i}] must be a dict, got {type(item).__name__} {item!r}")  # noqa: TRY004
            out.append(plain(item, f"{what}[{i}]"))
        return out
    raise ValueError(f"{what} must be a dict or a list of dicts, got {type(value).__name__} {value!r}")


def as_texts(value: Any, what: str) -> list[str]:
    """One text or a list of texts (e.g. roles) -> a list; None -> []."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"{what} must be text or a list of texts, got {type(value).__name__} {value!r}")


def normalize_ids(d: Dict, *keys: str) -> Dict:
    """Turn each present ``d[key]`` given as plain text into ``{"value": text}`` (in place)."""
    for key in keys:
        if key in d and d[key] is not None and not (isinstance(d[key], Mapping) and "value" in d[key]):
            d[key] = id_dict(d[key], key)
        elif key in d and isinstance(d[key], Mapping):
            d[key] = dict(d[key])
    return d


def uuid_bytes(value: Any) -> bytes:
    """A status uuid: bytes as they are, text as base64 (pymesos' JSON shape); b"" if absent."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"status uuid {value!r} is neither bytes nor base64 text") from None
    raise ValueError(f"status uuid must be bytes, got {type(value).__name__} {value!r}")
