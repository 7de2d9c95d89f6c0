"""The agent's checkpointed resources: dynamic reservations and persistent volumes.

The master sends ``CheckpointResources`` with every change; the agent keeps the
list in ``<work_dir>/meta/resources.json`` (written whole, atomically) and its
total is its ``--resources`` with those reservations applied, reported (with
their ``reservations`` stacks and volumes' ``disk``) whenever it registers. So
a reservation or a volume outlives the framework that made it, a master restart
and an agent restart. Each volume is a directory (``actors.volumes.volume_dir``)
made when the volume is created and removed when it is destroyed; a task naming
the volume finds it in its sandbox at its ``container_path``.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from actors.reservations import ReservationError, apply_conversions, reserve_conversions
from actors.resources import Resources
from actors.volumes import VolumeError, volume_dir, volume_ids, volumes_of

__all__ = ["CHECKPOINT_FILE", "agent_total", "keep_checkpointed", "link_volumes", "load_checkpointed", "report",
           "save_checkpointed", "sync_volume_dirs"]

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


def keep_checkpointed(work_dir: str, base: Resources, old: list[Dict], items: list[Dict]
                      ) -> tuple[Resources, list[str], list[str]]:
    """The master's ``CheckpointResources`` ``items`` replace ``old``: checked against ``base``,
    saved, volume directories made and removed. The new total and the (created, removed)
    directories; ReservationError (nothing changed) if ``base`` cannot hold them."""
    total = agent_total(base, items)
    save_checkpointed(work_dir, items)
    created, removed = sync_volume_dirs(work_dir, old, items)
    return total, created, removed


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
    """The resource dicts the agent registers with: the checkpointed ones as they are (stacks,
    volumes), then the rest of ``total``."""
    return (total - Resources.from_dicts(items)).to_dicts() + [dict(d) for d in items]


def sync_volume_dirs(work_dir: str, old: list[Dict], new: list[Dict]) -> tuple[list[str], list[str]]:
    """Make the directory of every volume in ``new``; remove those of volumes only in ``old``
    (destroyed). The (created, removed) directories."""
    before, after = volumes_of(old), volumes_of(new)
    created, removed = [], []
    for pid, v in after.items():
        path = volume_dir(work_dir, v.role, pid)
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
            created.append(path)
    for pid, v in before.items():
        if pid not in after:
            path = volume_dir(work_dir, v.role, pid)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return created, removed


def link_volumes(work_dir: str, sandbox: str, task: Dict, checkpointed: list[Dict]) -> list[str]:
    """Make each volume the task names (and the agent holds) visible in ``sandbox`` at its
    ``container_path``: a symbolic link to the volume's directory (so removing a sandbox
    never touches a volume). The links made; VolumeError for a volume the agent does not hold."""
    items = [d for holder in (task, task.get("executor") or {}) if isinstance(holder, dict)
             for d in holder.get("resources") or []]
    held = volumes_of(checkpointed)
    links = []
    for pid in volume_ids(items):
        v = held.get(pid)
        if v is None:
            raise VolumeError(f"volume {pid!r} is not on this agent")
        link = os.path.join(sandbox, v.container_path)
        if os.path.lexists(link):
            continue
        os.makedirs(os.path.dirname(link) or sandbox, exist_ok=True)
        os.symlink(volume_dir(work_dir, v.role, pid), link)
        links.append(link)
    return links
