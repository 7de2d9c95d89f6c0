"""Persistent volumes in Mesos' format (pure; shared by the master and the agent).

A volume is reserved disk given a ``persistence.id`` and a ``container_path``
(Mesos' ``DiskInfo``)::

    {"name": "disk", "type": "SCALAR", "scalar": {"value": 64}, "role": "eng",
     "reservations": [...], "disk": {"persistence": {"id": "db", "principal": "ops"},
                                     "volume": {"container_path": "data", "mode": "RW"}}}

For ``Resources`` it is plain ``disk(eng):64`` (so DRF and quota count it as
disk); the master keeps which part of an agent's reserved disk is which volume
(``Volume``), offers a free volume as its own resource dict, and lets only a
task naming the volume use it. On the agent it is the directory
``<work_dir>/volumes/roles/<role>/<id>`` (``volume_dir``), which outlives tasks
and agent restarts until the volume is destroyed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from actors.resources import Resources, ResourcesError

__all__ = ["Volume", "VolumeError", "parse_volume", "volume_dir", "volume_ids", "volumes_of"]

Dict = dict[str, Any]


class VolumeError(ValueError):
    """A bad or impossible volume operation; the message names the volume and the reason."""


@dataclass
class Volume:
    persistence_id: str
    role: str
    resources: Resources  # disk(role):size
    info: Dict  # the resource dict, as created (with its reservations)
    container_path: str
    principal: str = ""
    task: tuple[str, str] | None = None  # (framework id, task id) of the live task using it
    offer: str | None = None  # the outstanding offer holding it


def _disk(d: Mapping[str, Any]) -> Mapping[str, Any]:
    disk = d.get("disk")
    return disk if isinstance(disk, Mapping) else {}


def volume_ids(items: Iterable[Any]) -> list[str]:
    """The persistence ids resource dicts name (in order)."""
    out = []
    for d in items:
        if isinstance(d, Mapping):
            persistence = _disk(d).get("persistence")
            if isinstance(persistence, Mapping) and isinstance(persistence.get("id"), str):
                out.append(persistence["id"])
    return out


def parse_volume(d: Any) -> Volume:
    """A volume resource dict -> Volume; VolumeError naming what is wrong."""
    if not isinstance(d, Mapping) or d.get("name") != "disk":
        raise VolumeError(f"a persistent volume must be a 'disk' resource, got {d!r}")
    persistence, volume = _disk(d).get("persistence"), _disk(d).get("volume")
    pid = persistence.get("id") if isinstance(persistence, Mapping) else None
    if not isinstance(pid, str) or not pid or "/" in pid or pid in (".", ".."):
        raise VolumeError(f"persistent volume needs a persistence id without '/', got {pid!r} in {d!r}")
    path = volume.get("container_path") if isinstance(volume, Mapping) else None
    if not isinstance(path, str) or not path or os.path.isabs(path) or ".." in path.split("/"):
        raise VolumeError(f"volume {pid!r} needs a relative container_path without '..', got {path!r}")
    mode = volume.get("mode", "RW") if isinstance(volume, Mapping) else "RW"
    if mode not in ("RW", "RO"):
        raise VolumeError(f"volume {pid!r}: mode must be RW or RO, got {mode!r}")
    try:
        res = Resources.from_dicts([d])
    except ResourcesError as e:
        raise VolumeError(f"volume {pid!r}: {e}") from None
    roles = res.roles()
    if not res or roles == {"*"}:
        raise VolumeError(f"volume {pid!r} must be made of reserved disk, got {res or 'nothing'}")
    principal = persistence.get("principal") if isinstance(persistence, Mapping) else None
    return Volume(pid, next(iter(roles)), res, dict(d), path, principal if isinstance(principal, str) else "")


def volumes_of(items: Iterable[Any]) -> dict[str, Volume]:
    """persistence id -> Volume, for the volume dicts among ``items`` (others ignored)."""
    out: dict[str, Volume] = {}
    for d in items:
        if isinstance(d, Mapping) and volume_ids([d]):
            try:
                v = parse_volume(d)
            except VolumeError:
                continue
            out[v.persistence_id] = v
    return out


def volume_dir(work_dir: str, role: str, persistence_id: str) -> str:
    """Mesos' layout: ``<work_dir>/volumes/roles/<role>/<id>`` (a role's ``/`` kept as a subdirectory)."""
    return os.path.join(work_dir, "volumes", "roles", role, persistence_id)
