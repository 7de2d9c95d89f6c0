"""Sane bounds on what an agent or a framework may declare: resource amounts, port
ranges, names of resources, roles and attributes, attribute values.

Used where resources are built (actors/resources.py: the agent's --resources,
agent registration, task launches) and where attributes are read (the agent's
--attributes, agent registration). Errors are ValueError subclasses naming the
bad value.
"""

from __future__ import annotations

import math
from typing import Any

from actors.roles import role_error

__all__ = [
    "MAX_ATTRIBUTES", "MAX_NAME_LENGTH", "MAX_RANGE_END", "MAX_SCALARS", "MAX_SCALAR_DEFAULT", "MAX_TEXT_LENGTH",
    "PORT_RANGE", "AttributesError", "check_attributes", "check_name", "key_problem", "max_scalar", "range_bounds",
    "range_problem", "scalar_problem",
]

MAX_NAME_LENGTH = 255
MAX_TEXT_LENGTH = 1024
#: Largest amount of a scalar resource: cpus (and gpus) in cores, everything else (mem, disk) in MB.
MAX_SCALARS = {"cpus": 1e6, "gpus": 1e6}
MAX_SCALAR_DEFAULT = float(2 ** 50)
#: Ports are TCP/UDP ports; other range resources stay below the ranges arithmetic's sentinel.
PORT_RANGE = (1, 65535)
MAX_RANGE_END = 2 ** 62 - 1
MAX_ATTRIBUTES = 1000
_RESOURCE_BAD_CHARS = frozenset(";:()[]{},| \t\n")


class AttributesError(ValueError):
    """A bad attribute; the message names it and the bad value."""


def check_name(kind: str, name: object) -> str | None:
    """Why ``name`` is no good as a ``kind`` (e.g. "resource name"): empty, too long, not printable; or None."""
    if not isinstance(name, str) or not name:
        return f"{kind} must be non-empty text, got {name!r:.100}"
    if len(name) > MAX_NAME_LENGTH:
        return f"{kind} {name[:40]!r}... is longer than {MAX_NAME_LENGTH} characters"
    if not name.isprintable():
        return f"{kind} {name[:300]!r} has characters that are not printable"
    return None


def max_scalar(name: str) -> float:
    return MAX_SCALARS.get(name, MAX_SCALAR_DEFAULT)


def range_bounds(name: str) -> tuple[int, int]:
    """Lowest begin and highest end of the ranges resource ``name``."""
    return PORT_RANGE if name == "ports" else (0, MAX_RANGE_END)


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) else repr(v)


def key_problem(name: Any, role: Any) -> str | None:
    """What is wrong with a resource's (name, role), or None."""
    if not isinstance(name, str) or not name or not _RESOURCE_BAD_CHARS.isdisjoint(name):
        return f"bad resource name {name!r:.300}"
    if not isinstance(role, str) or not role or not _RESOURCE_BAD_CHARS.isdisjoint(role):
        return f"bad role {role!r:.300} for resource {name!r}"
    problem = check_name("resource name", name) or check_name(f"role of resource {name[:40]!r}", role)
    if problem is None and role_error(role) is not None:
        problem = f"bad role {role!r} for resource {name!r}: {role_error(role)}"
    return problem


def scalar_problem(name: str, v: Any) -> str | None:
    """What is wrong with ``v`` as the amount of scalar resource ``name``, or None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return f"{v!r:.100} is not a number"
    if v < 0:
        return f"{name} must be >= 0, got {_fmt(v)}"
    if v > max_scalar(name):
        return f"{name} must be <= {_fmt(max_scalar(name))}, got {v!r}"
    return None


def range_problem(name: str, b: Any, e: Any) -> str | None:
    """What is wrong with ``[b-e]`` as a range of resource ``name``, or None."""
    if type(b) is not int or type(e) is not int or b < 0:
        return f"range [{b!r:.40}-{e!r:.40}] needs integers >= 0"
    if b > e:
        return f"range begin {b} > end {e}"
    low, high = range_bounds(name)
    if b < low or e > high:
        return f"{name} range [{b}-{e}] is not within {low}-{high}"
    return None


def check_attributes(items: Any) -> None:
    """Mesos v1 Attribute dicts (TEXT, SCALAR, RANGES or SET): bounded names and values."""
    if not isinstance(items, list):
        raise AttributesError(f"attributes must be a list, got {type(items).__name__}")
    if len(items) > MAX_ATTRIBUTES:
        raise AttributesError(f"{len(items)} attributes is more than {MAX_ATTRIBUTES}")
    for item in items:
        if not isinstance(item, dict):
            raise AttributesError(f"attribute must be a dict, got {item!r:.100}")
        problem = check_name("attribute name", item.get("name"))
        if problem:
            raise AttributesError(problem)
        name = item["name"]
        text = item.get("text")
        if isinstance(text, dict):
            value = text.get("value")
            if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH or not value.isprintable():
                raise AttributesError(f"attribute {name!r}: text must be printable and at most "
                                      f"{MAX_TEXT_LENGTH} characters, got {value!r:.100}")
        scalar = item.get("scalar")
        if isinstance(scalar, dict):
            value = scalar.get("value")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or abs(value) > MAX_SCALAR_DEFAULT:
                raise AttributesError(f"attribute {name!r}: scalar must be a finite number of at most "
                                      f"2^50, got {value!r:.100}")
