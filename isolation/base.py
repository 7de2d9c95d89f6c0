"""The isolator interface and the records it exchanges with the agent."""

from __future__ import annotations

import math
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Generic, Protocol, TypeVar

from isolation.errors import IsolationError, IsolationValueError

__all__ = [
    "REASON_CONTAINER_LIMITATION",
    "REASON_CONTAINER_LIMITATION_DISK",
    "REASON_CONTAINER_LIMITATION_MEMORY",
    "ContainerTable",
    "Entry",
    "RecoveredContainerTable",
    "TrackedContainerTable",
    "Isolator",
    "Limitation",
    "LimitationCallback",
    "Limits",
    "Usage",
    "check_argv",
    "check_container_id",
]

REASON_CONTAINER_LIMITATION = "REASON_CONTAINER_LIMITATION"   # Mesos' reason for other limits (pids, ports)
REASON_CONTAINER_LIMITATION_DISK = "REASON_CONTAINER_LIMITATION_DISK"
REASON_CONTAINER_LIMITATION_MEMORY = "REASON_CONTAINER_LIMITATION_MEMORY"

LimitationCallback = Callable[[str, "Limitation"], None]

_CONTAINER_ID = re.compile(r"^[A-Za-z0-9_.:@+=-]{1,200}$")


def check_container_id(container_id: str) -> str:
    """Return ``container_id`` if it is usable as one cgroup directory name."""
    if not isinstance(container_id, str) or not _CONTAINER_ID.match(container_id) or container_id in (".", ".."):
        raise IsolationValueError(
            f"container id must be 1-200 characters of [A-Za-z0-9_.:@+=-] and not '.' or '..', got {container_id!r}"
        )
    return container_id


def check_argv(container_id: str, argv: list[str]) -> None:
    """IsolationValueError when ``argv`` (to launch in the container) is empty."""
    if not argv:
        raise IsolationValueError(f"argv to launch in container {container_id!r} is empty")


C = TypeVar("C")


class ContainerTable(Generic[C]):
    """An isolator's containers by id, with the lock that guards them (callers on several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._containers: dict[str, C] = {}

    def _get(self, container_id: str) -> C:
        with self._lock:
            container = self._containers.get(container_id)
        if container is None:
            raise IsolationError(f"unknown container {container_id!r}: not prepared or already cleaned up")
        return container

    def _add(self, container_id: str, container: C) -> None:
        """Hold a newly prepared container; IsolationError when ``container_id`` is already held."""
        with self._lock:
            if container_id in self._containers:
                raise IsolationError(f"container {container_id!r} is already prepared")
            self._containers[container_id] = container


@dataclass(frozen=True)
class Entry:
    """How a process forked from a launcher that is already running (the agent's zygote) enters
    a container without exec'ing ``wrap``'s argv: it writes its own pid to each of
    ``cgroup_procs`` (before it runs anything of the task). Empty: nothing to join."""

    cgroup_procs: tuple[str, ...] = ()

    def __add__(self, other: Entry) -> Entry:
        return Entry(self.cgroup_procs + other.cgroup_procs)


class _Tracked(Protocol):
    """A container record with the limits it was given and the executor pid it runs (once isolated)."""

    limits: Limits
    pid: int | None


T = TypeVar("T", bound=_Tracked)


class TrackedContainerTable(ContainerTable[T]):
    """ContainerTable whose ``wrap`` / ``isolate`` / ``update`` only check the container and
    record the pid / limits (the isolator itself runs nothing around the executor)."""

    def wrap(self, container_id: str, argv: list[str]) -> list[str]:
        check_argv(container_id, argv)
        self._get(container_id)
        return list(argv)

    def entry(self, container_id: str) -> Entry | None:
        self._get(container_id)
        return Entry()

    def isolate(self, container_id: str, pid: int) -> None:
        container = self._get(container_id)
        with self._lock:
            container.pid = pid

    def update(self, container_id: str, limits: Limits) -> None:
        container = self._get(container_id)
        with self._lock:
            container.limits = limits


@dataclass(frozen=True)
class Limits:
    """What a container may use: the executor's resources plus its tasks'.
    ``pids`` None: the agent's --cgroups_pids_max; ``disk_mb`` None: no disk limit;
    ``ports``: the port ranges it may listen on, None while not known (not checked)."""

    cpus: float
    mem_mb: float
    pids: int | None = None
    disk_mb: float | None = None
    ports: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        for name in ("cpus", "mem_mb", "disk_mb"):
            value = getattr(self, name)
            if name == "disk_mb" and value is None:
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise IsolationValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for begin, end in self.ports or ():
            if not 0 <= begin <= end <= 65535:
                raise IsolationValueError(f"port range must be within 0-65535, got [{begin}-{end}]")
        if self.pids is not None and (not isinstance(self.pids, int) or self.pids < 1):
            raise IsolationValueError(f"pids must be an integer >= 1, got {self.pids!r}")


@dataclass(frozen=True)
class Usage:
    """A container's resource usage, named like Mesos' ResourceStatistics."""

    cpus_user_time_secs: float
    cpus_system_time_secs: float
    cpus_limit: float | None
    mem_rss_bytes: int
    mem_limit_bytes: int | None
    timestamp: float
    mem_total_bytes: int | None = None
    mem_cache_bytes: int | None = None
    mem_soft_limit_bytes: int | None = None
    cpus_nr_periods: int | None = None
    cpus_nr_throttled: int | None = None
    cpus_throttled_time_secs: float | None = None
    processes: int | None = None
    threads: int | None = None
    disk_used_bytes: int | None = None
    disk_limit_bytes: int | None = None
    blkio_bytes_read: int | None = None
    blkio_bytes_write: int | None = None
    blkio_ops_read: int | None = None
    blkio_ops_write: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields that are known, as in Mesos' JSON (unset fields left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Limitation:
    """A limit the container ran into; ``reason`` is a Mesos TaskStatus reason."""

    reason: str
    message: str


class Isolator(ABC):
    """Contains executors. Safe to call from several threads.

    Life of a container: ``prepare`` -> launch ``wrap(argv)`` (or a fork that follows
    ``entry``) -> ``isolate(pid)`` -> ``update``/``usage``/``limitation`` -> ``cleanup``. ``watch`` callbacks
    run on the isolator's watcher thread.
    """

    name: str = "isolator"

    @abstractmethod
    def prepare(self, container_id: str, limits: Limits, sandbox: str | None = None) -> None:
        """Create the container's cgroups (or bookkeeping) and apply ``limits``;
        ``sandbox`` is its sandbox directory (for disk/du, filesystem/linux)."""

    @abstractmethod
    def wrap(self, container_id: str, argv: list[str]) -> list[str]:
        """The argv to launch instead of ``argv``: joins the container, then execs ``argv``."""

    def entry(self, container_id: str) -> Entry | None:
        """What a process forked (not exec'd) into the container does to enter it, in place of
        ``wrap``; None when only ``wrap``'s argv can enter it (new namespaces need an exec).
        This default: None, so an isolator that says nothing is always entered by ``wrap``."""
        return None

    @abstractmethod
    def isolate(self, container_id: str, pid: int) -> None:
        """Tell the isolator the pid of the launched process (a session leader)."""

    @abstractmethod
    def update(self, container_id: str, limits: Limits) -> None:
        """Apply new limits (a task was added or removed)."""

    @abstractmethod
    def usage(self, container_id: str) -> Usage:
        """Current usage of the container."""

    @abstractmethod
    def limitation(self, container_id: str) -> Limitation | None:
        """The limit the container hit (e.g. an OOM kill), also after it exited; None if none
        or the container is unknown."""

    @abstractmethod
    def watch(self, container_id: str, callback: LimitationCallback) -> None:
        """Call ``callback(container_id, limitation)`` once, from the watcher thread, when
        the container hits a limit."""

    @abstractmethod
    def cleanup(self, container_id: str) -> None:
        """Kill what is left in the container and remove it. Idempotent."""

    @abstractmethod
    def recover(self, known: set[str]) -> list[str]:
        """At agent start: adopt the ``known`` containers, destroy the others; returns
        the ids destroyed."""

    def adopt(self, container_id: str, limits: Limits, sandbox: str | None, pid: int) -> None:
        """After ``recover``: take back the container of a recovered executor whose process
        ``pid`` (a session leader another run of the agent launched) runs already. This
        default prepares its bookkeeping afresh and records the pid; isolators with
        something on the host (cgroups) reuse what ``recover`` found."""
        self.prepare(container_id, limits, sandbox)
        self.isolate(container_id, pid)

    @abstractmethod
    def close(self) -> None:
        """Stop the watcher thread; the containers are left as they are."""


class RecoveredContainerTable(ContainerTable[C], Isolator):
    """For cgroup isolators: ``adopt`` a container ``recover`` found (its cgroups hold the
    executor already) by applying its limits and recording its pid; one not found is prepared."""

    def adopt(self, container_id: str, limits: Limits, sandbox: str | None, pid: int) -> None:
        with self._lock:
            found = container_id in self._containers
        if not found:
            super().adopt(container_id, limits, sandbox, pid)
            return
        self.update(container_id, limits)
        self.isolate(container_id, pid)
