"""Isolation with cgroup v1: cpu (shares, optional CFS quota), cpuacct (usage),
memory (hard and soft limit, OOM notification), pids (pids.max), freezer (a
kill nothing escapes), devices (an allow-list) and blkio (usage).

Each container gets ``<mount>/<root>/<container_id>`` in every hierarchy it
uses; cpu and cpuacct may be one mount (``cpu,cpuacct``) or two. The
executor joins its cgroups before it execs, through the ``/bin/sh`` launcher
returned by ``wrap`` (``cgroupfs.join_argv``): no ``preexec_fn`` (unsafe in
a threaded agent), and the executor's start-up memory is charged to its own
cgroup.

What each controller limits and reports is in ``v1_controllers``. When the
container has a freezer cgroup, destroying it freezes the cgroup, SIGKILLs
every process and thaws it (``cgroupfs.freeze_kill``), so a process that
called setsid() or double-forked dies with the rest.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

import structlog

from isolation import cgroupfs, devices
from isolation.cgroupfs import LAUNCHER_EXIT_STATUS
from isolation.base import (
    REASON_CONTAINER_LIMITATION_MEMORY,
    Entry,
    RecoveredContainerTable,
    Isolator,
    Limitation,
    LimitationCallback,
    Limits,
    Usage,
    check_argv,
    check_container_id,
)
from isolation.errors import IsolationError, IsolationValueError
from isolation.oom import OomWatcher
from isolation.v1_controllers import (
    CFS_PERIOD_US,
    CPU_SHARES_PER_CPU,
    MIN_MEMORY_BYTES,
    apply_limits,
    pids_limitation,
    read_usage,
)

__all__ = ["CFS_PERIOD_US", "CPU_SHARES_PER_CPU", "LAUNCHER_EXIT_STATUS", "MIN_MEMORY_BYTES", "SUBSYSTEMS",
           "CgroupsIsolator"]

log = structlog.get_logger(__name__)

MiB = 1024 * 1024

# --isolation's cgroups/<subsystem> -> the kernel controllers it uses.
_SUBSYSTEM_CONTROLLERS = {"cpu": ("cpu", "cpuacct"), "mem": ("memory",), "pids": ("pids",),
                          "freezer": ("freezer",), "devices": ("devices",), "blkio": ("blkio",)}
SUBSYSTEMS = tuple(_SUBSYSTEM_CONTROLLERS)
_ROOT_PART = re.compile(r"^[A-Za-z0-9_.:@+=-]+$")


@dataclass
class _Container:
    paths: dict[str, str]               # kernel controller -> cgroup directory
    limits: Limits | None               # None when adopted by recover()
    pid: int | None = None
    callback: LimitationCallback | None = None
    limitation: Limitation | None = None
    delivered: bool = False


class CgroupsIsolator(RecoveredContainerTable[_Container]):
    """cgroup v1 isolator for ``subsystems`` out of SUBSYSTEMS. ``pids_max``: pids.max of a
    container whose Limits name no pids (0: unlimited); ``allowed_devices``: the devices
    allow-list (``devices.DEFAULT_ALLOWED`` when None); ``destroy_orphans`` False: ``recover``
    leaves cgroups under ``root`` it does not know alone (several agents share the root).
    With other hierarchies than the freezer, ``recover`` destroys an unknown container
    (freezer cgroup included) only when it has a cgroup in one of those. ``prune_root``:
    ``close`` removes ``root`` itself when empty."""

    name = "cgroups"

    def __init__(
        self,
        root: str = "mesopy",
        hierarchy: str = "/sys/fs/cgroup",
        enable_cfs: bool = False,
        subsystems: set[str] | frozenset[str] = frozenset({"cpu", "mem"}),
        pids_max: int = 0,
        allowed_devices: list[str] | None = None,
        destroy_orphans: bool = True,
        prune_root: bool = False,
    ) -> None:
        unknown = set(subsystems) - set(_SUBSYSTEM_CONTROLLERS)
        if unknown or not subsystems:
            raise IsolationValueError(
                f"cgroups subsystems must be a non-empty subset of {sorted(_SUBSYSTEM_CONTROLLERS)}, got {sorted(subsystems)}"
            )
        parts = root.strip("/").split("/")
        if not all(_ROOT_PART.match(p) and p not in (".", "..") for p in parts):
            raise IsolationValueError(f"cgroups root must be a relative path of plain names, got {root!r}")
        self.root = "/".join(parts)
        self.hierarchy = hierarchy
        self.enable_cfs = enable_cfs
        self.subsystems = frozenset(subsystems)
        self.pids_max = pids_max
        self.destroy_orphans = destroy_orphans
        self.prune_root = prune_root
        self.allowed_devices = devices.parse_allowed(allowed_devices)
        controllers = {c for s in subsystems for c in _SUBSYSTEM_CONTROLLERS[s]}
        self.mounts = cgroupfs.find_mounts(hierarchy, controllers)
        super().__init__()
        self._watcher = OomWatcher(self._on_oom) if "memory" in self.mounts else None
        self._clk_tck = os.sysconf("SC_CLK_TCK")
        # Containers whose freezer cgroup ``cleanup`` found and left empty, for a posix part that
        # would otherwise look through every process for their session (create_isolator sets it).
        self.emptied: set[str] | None = None
        log.info("cgroups_isolator_started", root=self.root, mounts=self.mounts, enable_cfs=enable_cfs)

    # -- paths -------------------------------------------------------------

    def _paths(self, container_id: str) -> dict[str, str]:
        return {c: os.path.join(mount, self.root, container_id) for c, mount in self.mounts.items()}

    @staticmethod
    def _dirs(paths: dict[str, str]) -> list[str]:
        """Distinct directories, memory first (co-mounted controllers share one)."""
        ordered = sorted(paths, key=lambda c: (c != "memory", c))
        return list(dict.fromkeys(paths[c] for c in ordered))

    # -- life cycle --------------------------------------------------------

    def prepare(self, container_id: str, limits: Limits, sandbox: str | None = None) -> None:
        check_container_id(container_id)
        paths = self._paths(container_id)
        self._add(container_id, _Container(paths=paths, limits=limits))
        try:
            for path in self._dirs(paths):
                if cgroupfs.make_dirs(path):
                    log.info("cgroup_created", container_id=container_id, path=path)
                else:
                    log.warning("cgroup_reused", container_id=container_id, path=path)
            if "devices" in paths:
                devices.restrict(paths["devices"], self.allowed_devices)
            self._apply(container_id, paths, limits, None)
            if self._watcher is not None:
                self._watcher.register(container_id, paths["memory"])
        except BaseException:
            self.cleanup(container_id)
            raise

    def wrap(self, container_id: str, argv: list[str]) -> list[str]:
        check_argv(container_id, argv)
        container = self._get(container_id)
        return cgroupfs.join_argv(self._dirs(container.paths), argv)

    def entry(self, container_id: str) -> Entry | None:
        container = self._get(container_id)
        return Entry(cgroupfs.procs_files(self._dirs(container.paths)))

    def isolate(self, container_id: str, pid: int) -> None:
        # The launcher from wrap() already joined the cgroups before exec.
        container = self._get(container_id)
        with self._lock:
            container.pid = pid
        log.debug("container_isolated", container_id=container_id, pid=pid)

    def update(self, container_id: str, limits: Limits) -> None:
        container = self._get(container_id)
        with self._lock:
            old = container.limits
            container.limits = limits
        self._apply(container_id, container.paths, limits, old)

    def cleanup(self, container_id: str) -> None:
        check_container_id(container_id)
        with self._lock:
            container = self._containers.pop(container_id, None)
        paths = container.paths if container is not None else self._paths(container_id)
        if self._watcher is not None:
            self._watcher.unregister(container_id)  # before rmdir, which signals the eventfd
        if self._destroy(container_id, paths) and self.emptied is not None:  # not when it raised
            with self._lock:
                self.emptied.add(container_id)

    def take_emptied(self, container_id: str) -> bool:
        """Whether the last ``cleanup`` of ``container_id`` found its freezer cgroup and left it
        empty (asked once: the answer is forgotten); False unless ``emptied`` is being kept."""
        with self._lock:
            if self.emptied is None or container_id not in self.emptied:
                return False
            self.emptied.discard(container_id)
            return True

    def recover(self, known: set[str]) -> list[str]:
        orphans: set[str] = set()
        found: set[str] = set()
        freezer = self.mounts.get("freezer")
        for mount in dict.fromkeys(self.mounts.values()):
            base = os.path.join(mount, self.root)
            try:
                entries = [e.name for e in os.scandir(base) if e.is_dir(follow_symlinks=False)]
            except FileNotFoundError:
                continue
            for name in entries:
                if name in known:
                    found.add(name)
                elif self.destroy_orphans and (mount != freezer or len(set(self.mounts.values())) == 1):
                    # A cgroup only in the freezer hierarchy is a posix agent's container
                    # (several share the root): not ours to destroy.
                    orphans.add(name)
        for name in sorted(orphans):
            self._destroy(name, self._paths(name))
            log.warning("orphan_cgroup_removed", container_id=name, root=self.root)
        for name in sorted(found):
            self._adopt(name)
        for name in sorted(set(known) - found):
            log.info("recovered_container_has_no_cgroup", container_id=name, root=self.root)
        return sorted(orphans)

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
        if self.prune_root:
            for mount in dict.fromkeys(self.mounts.values()):
                cgroupfs.remove_if_empty(os.path.join(mount, self.root))
        log.info("cgroups_isolator_closed", root=self.root)

    def _adopt(self, container_id: str) -> None:
        paths = self._paths(container_id)
        with self._lock:
            if container_id in self._containers:
                return
            self._containers[container_id] = _Container(paths=paths, limits=None)
        for path in self._dirs(paths):
            cgroupfs.make_dirs(path)
        if self._watcher is not None:
            self._watcher.register(container_id, paths["memory"])
        log.info("container_recovered", container_id=container_id, paths=self._dirs(paths))

    def _destroy(self, container_id: str, paths: dict[str, str]) -> bool:
        """Kill and remove the container's cgroups; whether its freezer cgroup was there and emptied."""
        errors: list[str] = []
        emptied = False
        if "freezer" in paths:  # first: nothing forks or escapes while the rest is killed
            frozen = os.path.isdir(paths["freezer"])
            try:
                killed = cgroupfs.freeze_kill(paths["freezer"])
            except IsolationError as exc:
                errors.append(str(exc))
            else:
                if killed:
                    log.info("container_frozen_and_killed", container_id=container_id, pids=killed)
                emptied = frozen
        for path in self._dirs(paths):
            existed = os.path.isdir(path)
            try:
                killed = cgroupfs.destroy_cgroup(path)
            except IsolationError as exc:
                errors.append(str(exc))
                continue
            if killed:
                log.info("cgroup_processes_killed", container_id=container_id, path=path, pids=killed)
            if existed:
                log.info("cgroup_removed", container_id=container_id, path=path)
        if errors:
            log.error("cgroup_cleanup_failed", container_id=container_id, errors=errors)
            raise IsolationError(f"cleanup of container {container_id!r} failed: {'; '.join(errors)}")
        return emptied

    # -- limits ------------------------------------------------------------

    def _apply(self, container_id: str, paths: dict[str, str], limits: Limits, old: Limits | None) -> None:
        apply_limits(container_id, paths, limits, old, enable_cfs=self.enable_cfs, pids_max=self.pids_max)

    # -- usage and limitations ----------------------------------------------

    def usage(self, container_id: str) -> Usage:
        container = self._get(container_id)
        now = time.time()
        fields = read_usage(container.paths, container.limits, self._clk_tck)
        any_dir = self._dirs(container.paths)[0]
        if not os.path.isdir(any_dir):
            raise IsolationError(f"cgroup {any_dir!r} of container {container_id!r} is gone")
        return Usage(timestamp=now, processes=len(cgroupfs.read_procs(any_dir)), **fields)

    def limitation(self, container_id: str) -> Limitation | None:
        with self._lock:
            container = self._containers.get(container_id)
            if container is None or container.limitation is not None:
                return container.limitation if container is not None else None
        if "memory" in container.paths:
            oom = cgroupfs.read_keyed(os.path.join(container.paths["memory"], "memory.oom_control"))
            if oom.get("oom_kill", 0) > 0:
                return self._record_oom(container_id, container)
        if "pids" in container.paths:
            found = pids_limitation(container.paths["pids"])
            if found is not None:
                with self._lock:
                    if container.limitation is None:
                        container.limitation = found
                        log.warning("pids_limit_exceeded", container_id=container_id, message=found.message)
                    return container.limitation
        return None

    def watch(self, container_id: str, callback: LimitationCallback) -> None:
        container = self._get(container_id)
        with self._lock:
            container.callback = callback
            pending = container.limitation is not None and not container.delivered
        if pending and self._watcher is not None:
            self._watcher.fire_soon(container_id)

    def _on_oom(self, container_id: str) -> None:
        """Called on the watcher thread when the container's eventfd fired."""
        with self._lock:
            container = self._containers.get(container_id)
        if container is None:
            return
        oom_control = os.path.join(container.paths["memory"], "memory.oom_control")
        if not os.path.exists(oom_control):
            return  # the cgroup is being removed: not an OOM
        limitation = container.limitation or self._record_oom(container_id, container)
        with self._lock:
            callback = container.callback if not container.delivered else None
            if callback is not None:
                container.delivered = True
        if callback is not None:
            callback(container_id, limitation)

    def _record_oom(self, container_id: str, container: _Container) -> Limitation:
        mpath = container.paths["memory"]
        limit = cgroupfs.read_int(os.path.join(mpath, "memory.limit_in_bytes")) or 0
        max_used = cgroupfs.read_int(os.path.join(mpath, "memory.max_usage_in_bytes")) or 0
        stat = cgroupfs.read_keyed(os.path.join(mpath, "memory.stat"))
        details = "".join(f", {k}={stat[k]}" for k in ("total_rss", "total_cache", "total_swap") if k in stat)
        message = (
            f"Memory limit exceeded: Requested: {limit // MiB}MB Maximum Used: {max_used // MiB}MB "
            f"(memory.limit_in_bytes={limit}{details}) in cgroup {mpath}"
        )
        limitation = Limitation(reason=REASON_CONTAINER_LIMITATION_MEMORY, message=message)
        with self._lock:
            if container.limitation is None:
                container.limitation = limitation
                log.warning("memory_limit_exceeded", container_id=container_id, limit_bytes=limit,
                            max_usage_bytes=max_used, path=mpath)
            return container.limitation
