"""Isolators that contain the agent's executors: cgroups v1 (cpu, mem, pids,
devices, blkio, and a freezer for every container when root), disk/du,
namespaces/pid, filesystem/linux, a posix fallback without limits.

``create_isolator`` turns the agent's ``--isolation`` flag (Mesos' isolator
names) into an isolator.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

import structlog

from isolation.base import (
    REASON_CONTAINER_LIMITATION,
    REASON_CONTAINER_LIMITATION_DISK,
    REASON_CONTAINER_LIMITATION_MEMORY,
    Entry,
    Isolator,
    Limitation,
    LimitationCallback,
    Limits,
    Usage,
)
from isolation.cgroups_v1 import CgroupsIsolator
from isolation.cgroups_v2 import CgroupsV2Isolator, is_cgroup2
from isolation.composite import CompositeIsolator
from isolation.disk import DiskIsolator
from isolation.errors import IsolationError, IsolationValueError
from isolation.namespaces import DEFAULT_SANDBOX_DIRECTORY, NamespacesIsolator
from isolation.ports import PortsIsolator
from isolation.posix import PosixIsolator

__all__ = [
    "KNOWN_ISOLATORS",
    "REASON_CONTAINER_LIMITATION",
    "REASON_CONTAINER_LIMITATION_DISK",
    "REASON_CONTAINER_LIMITATION_MEMORY",
    "CgroupsIsolator",
    "CgroupsV2Isolator",
    "CompositeIsolator",
    "DiskIsolator",
    "Entry",
    "IsolationError",
    "IsolationSpec",
    "IsolationValueError",
    "Isolator",
    "Limitation",
    "LimitationCallback",
    "Limits",
    "NamespacesIsolator",
    "PortsIsolator",
    "PosixIsolator",
    "Usage",
    "create_isolator",
    "parse_isolation",
]

log = structlog.get_logger(__name__)

_CGROUPS = ("cpu", "mem", "pids", "devices", "blkio")
_OTHERS = {"disk/du": "disk/du", "posix/disk": "disk/du",  # posix/disk: disk/du's old Mesos name
           "namespaces/pid": "namespaces/pid", "filesystem/linux": "filesystem/linux",
           "network/ports": "network/ports"}
KNOWN_ISOLATORS = (*(f"cgroups/{s}" for s in _CGROUPS), "posix/cpu", "posix/mem", *_OTHERS)


class IsolationSpec(NamedTuple):
    """``--isolation`` split up: cgroups subsystems, posix resources, the other isolators."""

    cgroups: frozenset[str]
    posix: frozenset[str]
    others: frozenset[str] = frozenset()


def parse_isolation(spec: str) -> IsolationSpec:
    """Split an ``--isolation`` value. cgroups: subset of {cpu, mem, pids, devices,
    blkio}; posix: subset of {cpu, mem} (a resource listed for both goes to cgroups;
    an empty value or "posix" means posix for both); others: e.g. {"disk/du"}."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names or names == ["posix"]:
        return IsolationSpec(frozenset(), frozenset({"cpu", "mem"}))
    cgroups: set[str] = set()
    posix: set[str] = set()
    others: set[str] = set()
    for name in names:
        if name not in KNOWN_ISOLATORS:
            raise IsolationValueError(
                f"unknown isolator {name!r} in --isolation {spec!r}; known: {', '.join(KNOWN_ISOLATORS)}"
            )
        if name in _OTHERS:
            others.add(_OTHERS[name])
            continue
        kind, resource = name.split("/")
        (cgroups if kind == "cgroups" else posix).add(resource)
    return IsolationSpec(frozenset(cgroups), frozenset(posix - cgroups), frozenset(others))


def _freezer_available(hierarchy: str) -> bool:
    from isolation.cgroupfs import find_mounts

    if is_cgroup2(hierarchy):
        return os.access(hierarchy, os.W_OK)  # cgroup.kill / cgroup.freeze are built into v2
    try:
        find_mounts(hierarchy, {"freezer"})
        return True
    except IsolationError as exc:
        log.warning("freezer_unavailable", hierarchy=hierarchy, error=str(exc),
                    detail="containers are tracked by session only; a setsid() process can escape a kill")
        return False


def create_isolator(
    spec: str,
    *,
    cgroups_root: str = "mesopy",
    cgroups_hierarchy: str = "/sys/fs/cgroup",
    enable_cfs: bool = False,
    pids_max: int = 0,
    allowed_devices: list[str] | None = None,
    disk_watch_interval: float = 15.0,
    enforce_disk_quota: bool = False,
    sandbox_directory: str = DEFAULT_SANDBOX_DIRECTORY,
    ports_watch_interval: float = 30.0,
    enforce_ports: bool = False,
    agent_ports: tuple[tuple[int, int], ...] | None = None,
    agent_key: str | None = None,
    track_freezer: bool | None = None,
) -> Isolator:
    """The isolator for the ``--isolation`` flag value ``spec`` (e.g.
    ``"cgroups/cpu,cgroups/mem"``). ``track_freezer`` (default: when running as
    root and the freezer hierarchy is there) puts every container in a freezer
    cgroup too, as Mesos' Linux launcher does, so that destroying it kills
    every process. When ``cgroups_hierarchy`` is a cgroup2 mount the v2
    backend is used (cpu, mem, pids; cgroup.kill). Raises IsolationValueError (a ValueError) for an unknown
    isolator, IsolationError naming the path when cgroups are asked for but
    their hierarchy is not mounted or not writable. ``agent_ports``: only
    ports in these ranges count for network/ports (--check_agent_port_range_only).
    ``agent_key`` (one per work_dir): each agent's containers go under a subtree of
    its own, ``<cgroups_root>/<agent_key>`` (``<cgroups_root>_posix/<agent_key>``
    with only the freezer tracking, no cgroups isolation), so that this agent's
    ``recover`` keeps or destroys what a previous run of it left, and never touches
    another agent's containers."""
    cgroups, posix, others = parse_isolation(spec)
    if track_freezer is None:
        track_freezer = os.geteuid() == 0 and _freezer_available(cgroups_hierarchy)
    subsystems = set(cgroups) | ({"freezer"} if track_freezer else set())
    own_root = agent_key is not None
    if own_root:
        root = f"{cgroups_root}/{agent_key}" if cgroups else f"{cgroups_root}_posix/{agent_key}"
    else:
        root = cgroups_root
    options: dict[str, Any] = {"root": root, "enable_cfs": enable_cfs, "subsystems": subsystems,
                               "pids_max": pids_max, "destroy_orphans": bool(cgroups) or own_root,
                               "prune_root": own_root}
    parts: list[tuple[Isolator, frozenset[str]]] = []
    tracker: CgroupsIsolator | None = None
    freezer: str | None = None  # where each container's cgroup.procs is, for network/ports
    if subsystems and is_cgroup2(cgroups_hierarchy):
        v1_only = sorted(subsystems & {"devices", "blkio"})
        if v1_only:
            raise IsolationError(f"cgroups/{', cgroups/'.join(v1_only)} need cgroup v1; {cgroups_hierarchy!r} "
                                 "is a cgroup2 mount")
        v2 = CgroupsV2Isolator(mount=cgroups_hierarchy, **options)
        parts.append((v2, frozenset(cgroups & {"cpu", "mem"})))
        freezer = v2.base
    elif subsystems:
        tracker = CgroupsIsolator(hierarchy=cgroups_hierarchy, allowed_devices=allowed_devices, **options)
        parts.append((tracker, frozenset(cgroups & {"cpu", "mem"})))
        if "freezer" in tracker.mounts:
            freezer = os.path.join(tracker.mounts["freezer"], tracker.root)
    if posix or not cgroups:
        emptied: Callable[[str], bool] | None = None
        if tracker is not None and "freezer" in tracker.mounts:
            tracker.emptied = set()  # its cleanup says which containers the freezer emptied
            emptied = tracker.take_emptied
        parts.append((PosixIsolator(emptied), posix if cgroups else frozenset({"cpu", "mem"})))
    if "disk/du" in others:
        parts.append((DiskIsolator(disk_watch_interval, enforce_disk_quota), frozenset({"disk"})))
    if "network/ports" in others:
        parts.append((PortsIsolator(ports_watch_interval, enforce_ports, agent_ports, freezer), frozenset()))
    if others & {"namespaces/pid", "filesystem/linux"}:  # last: the innermost wrapper, after the cgroup join
        parts.append((NamespacesIsolator(pid="namespaces/pid" in others, filesystem="filesystem/linux" in others,
                                         sandbox_directory=sandbox_directory), frozenset()))
    return parts[0][0] if len(parts) == 1 else CompositeIsolator(parts)
