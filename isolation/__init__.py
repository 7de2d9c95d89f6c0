"""Isolators that contain the agent's executors: cgroups v1 (cpu, memory) and
a posix fallback without limits.

``create_isolator`` turns the agent's ``--isolation`` flag into an isolator.
"""

from __future__ import annotations

from isolation.base import (
    REASON_CONTAINER_LIMITATION_MEMORY,
    Isolator,
    Limitation,
    LimitationCallback,
    Limits,
    Usage,
)
from isolation.cgroups_v1 import CgroupsIsolator
from isolation.composite import CompositeIsolator
from isolation.errors import IsolationError, IsolationValueError
from isolation.posix import PosixIsolator

__all__ = [
    "KNOWN_ISOLATORS",
    "REASON_CONTAINER_LIMITATION_MEMORY",
    "CgroupsIsolator",
    "CompositeIsolator",
    "IsolationError",
    "IsolationValueError",
    "Isolator",
    "Limitation",
    "LimitationCallback",
    "Limits",
    "PosixIsolator",
    "Usage",
    "create_isolator",
    "parse_isolation",
]

KNOWN_ISOLATORS = ("cgroups/cpu", "cgroups/mem", "posix/cpu", "posix/mem")


def parse_isolation(spec: str) -> tuple[frozenset[str], frozenset[str]]:
    """Split an ``--isolation`` value into (cgroups resources, posix resources),
    each a subset of {"cpu", "mem"}. A resource listed for both goes to cgroups;
    an empty value or "posix" means posix for both."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names or names == ["posix"]:
        return frozenset(), frozenset({"cpu", "mem"})
    cgroups: set[str] = set()
    posix: set[str] = set()
    for name in names:
        if name not in KNOWN_ISOLATORS:
            raise IsolationValueError(
                f"unknown isolator {name!r} in --isolation {spec!r}; known: {', '.join(KNOWN_ISOLATORS)}"
            )
        kind, resource = name.split("/")
        (cgroups if kind == "cgroups" else posix).add(resource)
    return frozenset(cgroups), frozenset(posix - cgroups)


def create_isolator(
    spec: str,
    *,
    cgroups_root: str = "mesopy",
    cgroups_hierarchy: str = "/sys/fs/cgroup",
    enable_cfs: bool = False,
) -> Isolator:
    """The isolator for the ``--isolation`` flag value ``spec`` (e.g.
    ``"cgroups/cpu,cgroups/mem"``). Raises IsolationValueError (a ValueError)
    for an unknown isolator, IsolationError naming the path when cgroups are
    asked for but their hierarchy is not mounted or not writable."""
    cgroups, posix = parse_isolation(spec)
    if not cgroups:
        return PosixIsolator()
    isolator = CgroupsIsolator(root=cgroups_root, hierarchy=cgroups_hierarchy, enable_cfs=enable_cfs,
                               subsystems=set(cgroups))
    if not posix:
        return isolator
    return CompositeIsolator([(isolator, cgroups), (PosixIsolator(), posix)])
