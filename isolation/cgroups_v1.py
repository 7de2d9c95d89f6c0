"""Isolation with cgroup v1: cpu (shares, optional CFS quota), cpuacct (usage)
and memory (hard and soft limit, OOM notification).

Each container gets ``<mount>/<root>/<container_id>`` in every hierarchy it
uses; cpu and cpuacct may be one mount (``cpu,cpuacct``) or two. The
executor joins its cgroups before it execs, through the ``/bin/sh`` launcher
returned by ``wrap``: no ``preexec_fn`` (unsafe in a threaded agent), and the
executor's start-up memory is charged to its own cgroup.

Control files are written through cgroupspy controllers bound to one
directory (see ``cgroupfs.controller_for``); reads of files that may vanish
(a container being destroyed) use the plain helpers in ``cgroupfs``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from cgroupspy.controllers import CpuController, MemoryController

from isolation import cgroupfs
from isolation.base import (
    REASON_CONTAINER_LIMITATION_MEMORY,
    ContainerTable,
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

__all__ = ["CFS_PERIOD_US", "CPU_SHARES_PER_CPU", "LAUNCHER_EXIT_STATUS", "MIN_MEMORY_BYTES", "CgroupsIsolator"]

log = structlog.get_logger(__name__)

MiB = 1024 * 1024
CPU_SHARES_PER_CPU = 1024
MIN_CPU_SHARES = 2
CFS_PERIOD_US = 100_000
MIN_CFS_QUOTA_US = 1_000
MIN_MEMORY_BYTES = 32 * MiB
LAUNCHER_EXIT_STATUS = 125

_SUBSYSTEM_CONTROLLERS = {"cpu": ("cpu", "cpuacct"), "mem": ("memory",)}
_ROOT_PART = re.compile(r"^[A-Za-z0-9_.:@+=-]+$")

# Arguments: the cgroup.procs files, "--", then the program. The shell writes
# its own pid ($$) to each file, then becomes the program, so the program
# starts inside its cgroups. A failed write ends it with status 125.
_LAUNCHER = (
    'for f do shift; if [ "$f" = -- ]; then exec "$@"; fi; '
    'if ! echo $$ 2>/dev/null >"$f"; then '
    f'echo "mesopy-launcher: cannot join cgroup ${{f%/cgroup.procs}}" >&2; exit {LAUNCHER_EXIT_STATUS}; fi; '
    f'done; echo "mesopy-launcher: no command given" >&2; exit {LAUNCHER_EXIT_STATUS}'
)


@dataclass
class _Container:
    paths: dict[str, str]               # kernel controller -> cgroup directory
    limits: Limits | None               # None when adopted by recover()
    pid: int | None = None
    callback: LimitationCallback | None = None
    limitation: Limitation | None = None
    delivered: bool = False


class CgroupsIsolator(ContainerTable[_Container], Isolator):
    """cgroup v1 isolator for ``subsystems`` out of {"cpu", "mem"}."""

    name = "cgroups"

    def __init__(
        self,
        root: str = "mesopy",
        hierarchy: str = "/sys/fs/cgroup",
        enable_cfs: bool = False,
        subsystems: set[str] | frozenset[str] = frozenset({"cpu", "mem"}),
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
        controllers = {c for s in subsystems for c in _SUBSYSTEM_CONTROLLERS[s]}
        self.mounts = cgroupfs.find_mounts(hierarchy, controllers)
        super().__init__()
        self._watcher = OomWatcher(self._on_oom) if "memory" in self.mounts else None
        self._clk_tck = os.sysconf("SC_CLK_TCK")
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

    def prepare(self, container_id: str, limits: Limits) -> None:
        check_container_id(container_id)
        paths = self._paths(container_id)
        self._add(container_id, _Container(paths=paths, limits=limits))
        try:
            for path in self._dirs(paths):
                if cgroupfs.make_dirs(path):
                    log.info("cgroup_created", container_id=container_id, path=path)
                else:
                    log.warning("cgroup_reused", container_id=container_id, path=path)
            self._apply(container_id, paths, limits, None)
            if self._watcher is not None:
                self._watcher.register(container_id, paths["memory"])
        except BaseException:
            self.cleanup(container_id)
            raise

    def wrap(self, container_id: str, argv: list[str]) -> list[str]:
        check_argv(container_id, argv)
        container = self._get(container_id)
        procs = [os.path.join(d, "cgroup.procs") for d in self._dirs(container.paths)]
        return ["/bin/sh", "-c", _LAUNCHER, "mesopy-launcher", *procs, "--", *argv]

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
        self._destroy(container_id, paths)

    def recover(self, known: set[str]) -> list[str]:
        orphans: set[str] = set()
        found: set[str] = set()
        for mount in dict.fromkeys(self.mounts.values()):
            base = os.path.join(mount, self.root)
            try:
                entries = [e.name for e in os.scandir(base) if e.is_dir(follow_symlinks=False)]
            except FileNotFoundError:
                continue
            for name in entries:
                (found if name in known else orphans).add(name)
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

    def _destroy(self, container_id: str, paths: dict[str, str]) -> None:
        errors: list[str] = []
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

    # -- limits --------------------------------------------------------------

    def _apply(self, container_id: str, paths: dict[str, str], limits: Limits, old: Limits | None) -> None:
        if "cpu" in paths:
            cpu = cgroupfs.controller_for(CpuController, paths["cpu"])
            shares = max(MIN_CPU_SHARES, int(CPU_SHARES_PER_CPU * limits.cpus))
            quota: int | None = None
            self._write(paths["cpu"], "cpu.shares", shares, lambda: setattr(cpu, "shares", shares))
            if self.enable_cfs:
                quota = max(MIN_CFS_QUOTA_US, int(limits.cpus * CFS_PERIOD_US))
                self._write(paths["cpu"], "cpu.cfs_period_us", CFS_PERIOD_US,
                            lambda: setattr(cpu, "cfs_period_us", CFS_PERIOD_US))
                self._write(paths["cpu"], "cpu.cfs_quota_us", quota, lambda: setattr(cpu, "cfs_quota_us", quota))
            log.info("cpu_limits_set", container_id=container_id, cpus=limits.cpus, shares=shares,
                     cfs_quota_us=quota)
        if "memory" in paths:
            mem = cgroupfs.controller_for(MemoryController, paths["memory"])
            limit = max(MIN_MEMORY_BYTES, int(limits.mem_mb * MiB))
            self._write(paths["memory"], "memory.soft_limit_in_bytes", limit,
                        lambda: setattr(mem, "soft_limit_in_bytes", limit))
            current = cgroupfs.read_int(os.path.join(paths["memory"], "memory.limit_in_bytes"))
            # Like Mesos: the hard limit is set at start and only ever raised;
            # lowering it under a running executor could fail or trigger an OOM.
            if old is None or current is None or limit > current:
                self._write(paths["memory"], "memory.limit_in_bytes", limit,
                            lambda: setattr(mem, "limit_in_bytes", limit))
                log.info("memory_limits_set", container_id=container_id, mem_mb=limits.mem_mb, limit_bytes=limit)
            elif limit < current:
                log.info("memory_hard_limit_kept", container_id=container_id, requested_bytes=limit,
                         hard_limit_bytes=current, soft_limit_bytes=limit)

    @staticmethod
    def _write(path: str, filename: str, value: int, write: Callable[[], None]) -> None:
        try:
            write()
        except OSError as exc:
            raise IsolationError(f"cannot write {value} to {os.path.join(path, filename)!r}: {exc.strerror}") from exc

    # -- usage and limitations ----------------------------------------------

    def usage(self, container_id: str) -> Usage:
        container = self._get(container_id)
        paths = container.paths
        now = time.time()
        user = system = 0.0
        cpus_limit: float | None = None
        periods = throttled = None
        throttled_secs: float | None = None
        if "cpuacct" in paths:
            stat = cgroupfs.read_keyed(os.path.join(paths["cpuacct"], "cpuacct.stat"))
            user = stat.get("user", 0) / self._clk_tck
            system = stat.get("system", 0) / self._clk_tck
        if "cpu" in paths:
            cpu_stat = cgroupfs.read_keyed(os.path.join(paths["cpu"], "cpu.stat"))
            periods, throttled = cpu_stat.get("nr_periods"), cpu_stat.get("nr_throttled")
            if "throttled_time" in cpu_stat:
                throttled_secs = cpu_stat["throttled_time"] / 1e9
            if container.limits is not None:
                cpus_limit = container.limits.cpus
            else:
                shares = cgroupfs.read_int(os.path.join(paths["cpu"], "cpu.shares"))
                cpus_limit = shares / CPU_SHARES_PER_CPU if shares else None
        rss = 0
        mem_limit = mem_total = mem_cache = mem_soft = None
        if "memory" in paths:
            mpath = paths["memory"]
            mstat = cgroupfs.read_keyed(os.path.join(mpath, "memory.stat"))
            rss = mstat.get("total_rss", mstat.get("rss", 0))
            mem_cache = mstat.get("total_cache", mstat.get("cache"))
            mem_total = cgroupfs.read_int(os.path.join(mpath, "memory.usage_in_bytes"))
            mem_limit = cgroupfs.read_int(os.path.join(mpath, "memory.limit_in_bytes"))
            mem_soft = cgroupfs.read_int(os.path.join(mpath, "memory.soft_limit_in_bytes"))
        any_dir = self._dirs(paths)[0]
        if not os.path.isdir(any_dir):
            raise IsolationError(f"cgroup {any_dir!r} of container {container_id!r} is gone")
        return Usage(
            cpus_user_time_secs=user,
            cpus_system_time_secs=system,
            cpus_limit=cpus_limit,
            mem_rss_bytes=rss,
            mem_limit_bytes=mem_limit,
            timestamp=now,
            mem_total_bytes=mem_total,
            mem_cache_bytes=mem_cache,
            mem_soft_limit_bytes=mem_soft,
            cpus_nr_periods=periods,
            cpus_nr_throttled=throttled,
            cpus_throttled_time_secs=throttled_secs,
            processes=len(cgroupfs.read_procs(any_dir)),
        )

    def limitation(self, container_id: str) -> Limitation | None:
        with self._lock:
            container = self._containers.get(container_id)
            if container is None or container.limitation is not None:
                return container.limitation if container is not None else None
        if "memory" not in container.paths:
            return None
        oom = cgroupfs.read_keyed(os.path.join(container.paths["memory"], "memory.oom_control"))
        if oom.get("oom_kill", 0) <= 0:
            return None
        return self._record_oom(container_id, container)

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
