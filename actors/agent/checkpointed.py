"""The agent's checkpointed resources: dynamic reservations the master made on it.

The master sends ``CheckpointResources`` with every change; the agent keeps the
list in ``<work_dir>/meta/resources.json`` (written whole, atomically) and its
total is its ``--resources`` with those reservations applied, reported (with
their ``reservations`` stacks) whenever it registers. So a reservation outlives
the framework that made it, a master restart and an agent restart.
"""

from __future__ import annotations

import json
import os
from typing import Any

from actors.reservations import DynamicReservations, ReservationError, apply_conversions, reserve_conversions
from actors.resources import Resources

__all__ = ["CHECKPOINT_FILE", "agent_total", "load_checkpointed", "report", "save_checkpointed"]

CHECKPOINT_FILE = os.path.join("meta", "resources.json")
Dict = dict[str, Any]


def load_checkpointed(work_dir: str) -> list[Dict]:
    """The checkpointed resource dicts ([] if none); ReservationError if the file is damaged."""
    path = os.path.join(work_dir, CHECKPOINT_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            items = json.load(f)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise ReservationError(f"cannot read the checkpointed resources {path!r}: {e}") from None
    if not isinstance(items, list):
        raise ReservationError(f"checkpointed resources {path!r} must hold a list, got {type(items).__name__}")
    return items


def save_checkpointed(work_dir: str, items: list[Dict]) -> None:
    path = os.path.join(work_dir, CHECKPOINT_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(items, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def agent_total(base: Resources, items: list[Dict]) -> Resources:
    """``base`` (the agent's own resources) with the checkpointed reservations made in turn,
    each from unreserved resources; ReservationError if ``base`` cannot hold them."""
    total = base
    for d in items:
        stack = [e for e in d.get("reservations") or [] if isinstance(e, dict)]
        flat = dict(d, reservations=stack[-1:]) if stack else d  # a refinement of a dynamic one: one step
        total = apply_conversions(total, reserve_conversions([flat]), "in the agent's --resources")
    return total


def report(total: Resources, items: list[Dict]) -> list[Dict]:
    """The resource dicts the agent registers with: ``total`` with the stacks of its reservations."""
    stacks = DynamicReservations.from_dicts(items).stacks()
    out = []
    for d in total.to_dicts():
        stack = stacks.get(d.get("role", "*"))
        out.append(dict(d, reservations=stack) if stack else d)
    return out
