"""Marathon's placement constraints (pure): ``[field, operator, value?]`` on ``hostname`` or an
agent attribute.

UNIQUE (no two of the app's tasks share the field's value), CLUSTER (the field equals the value;
without a value, all tasks share the value of the first), GROUP_BY (spread evenly over the
field's values; with a count, over at least that many groups), LIKE / UNLIKE (the value, a
regular expression, matches / does not match the whole field), MAX_PER (at most value tasks per
field value), IS (equals). An agent without the attribute fails every operator but UNLIKE.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["OPERATORS", "Placement", "accepts", "attribute_values", "constraint_errors"]

OPERATORS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")
_NEEDS_VALUE = ("LIKE", "UNLIKE", "MAX_PER", "IS")

#: Where a task runs, as constraints see it: the agent's hostname and its attributes as text.
Placement = tuple[str, Mapping[str, str]]


def constraint_errors(constraint: Any) -> list[str]:
    """What is wrong with one constraint (an empty list: it is valid)."""
    if not isinstance(constraint, (list, tuple)) or not 2 <= len(constraint) <= 3:
        return [f"a constraint is [field, operator] or [field, operator, value], got {constraint!r}"]
    if not all(isinstance(part, str) for part in constraint[:2]):
        return [f"field and operator must be strings, got {list(constraint)!r}"]
    field, operator = constraint[0], constraint[1].upper()
    value = constraint[2] if len(constraint) == 3 else None
    if not field:
        return ["the field must not be empty"]
    if operator not in OPERATORS:
        return [f"unknown constraint operator {constraint[1]!r}; one of {', '.join(OPERATORS)}"]
    if value is not None and not isinstance(value, (str, int)):
        return [f"the value must be a string, got {value!r}"]
    if operator in _NEEDS_VALUE and value is None:
        return [f"{operator} needs a value"]
    if operator in ("GROUP_BY", "MAX_PER") and value is not None:
        try:
            if int(value) < (1 if operator == "GROUP_BY" else 0):
                raise ValueError
        except ValueError:
            return [f"{operator} takes a non-negative integer value, got {value!r}"]
    if operator in ("LIKE", "UNLIKE"):
        try:
            re.compile(str(value))
        except re.error as e:
            return [f"{value!r} is not a valid regular expression: {e}"]
    if operator == "UNIQUE" and value is not None:
        return ["UNIQUE takes no value"]
    return []


def attribute_values(attributes: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """An offer's attributes (Mesos v1 JSON) as text: TEXT as is, SCALAR as a number, RANGES and
    SET as Mesos prints them."""
    out: dict[str, str] = {}
    for attr in attributes or ():
        name = str(attr.get("name", ""))
        kind = attr.get("type", "TEXT")
        if kind == "SCALAR":
            number = float(attr.get("scalar", {}).get("value", 0.0))
            out[name] = f"{number:g}"
        elif kind == "RANGES":
            ranges = attr.get("ranges", {}).get("range", [])
            out[name] = "[" + ",".join(f"{r['begin']}-{r['end']}" for r in ranges) + "]"
        elif kind == "SET":
            out[name] = "{" + ",".join(attr.get("set", {}).get("item", [])) + "}"
        else:
            out[name] = str(attr.get("text", {}).get("value", ""))
    return out


def _value(field: str, where: Placement) -> str | None:
    hostname, attributes = where
    return hostname if field == "hostname" else attributes.get(field)


def _accepts_one(constraint: Sequence[Any], here: Placement, placed: Sequence[Placement]) -> bool:
    field, operator = constraint[0], constraint[1].upper()
    wanted = str(constraint[2]) if len(constraint) == 3 else None
    mine = _value(field, here)
    if operator == "UNLIKE":
        return mine is None or re.fullmatch(str(wanted), mine) is None
    if mine is None:
        return False
    others = [v for v in (_value(field, p) for p in placed) if v is not None]
    if operator == "UNIQUE":
        return mine not in others
    if operator == "CLUSTER":
        if wanted:
            return mine == wanted
        return not others or mine == others[0]
    if operator == "IS":
        return mine == wanted
    if operator == "LIKE":
        return re.fullmatch(str(wanted), mine) is not None
    counts = Counter(others)
    if operator == "MAX_PER":
        return counts[mine] < int(str(wanted))
    if operator == "GROUP_BY":
        groups = int(wanted) if wanted else 0
        least = 0 if len(counts) < groups or not counts else min(counts.values())
        return counts[mine] <= least
    raise ValueError(f"unknown constraint operator {operator!r}")


def accepts(constraints: Sequence[Sequence[Any]], here: Placement, placed: Sequence[Placement]) -> bool:
    """Whether a new task of an app may run at ``here`` given where its tasks run (``placed``)."""
    return all(_accepts_one(c, here, placed) for c in constraints)
