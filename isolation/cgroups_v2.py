"""Isolation on the cgroup v2 (unified) hierarchy: cpu (cpu.weight, cpu.max),
memory (memory.max, memory.oom.group; OOM kills read from memory.events),
pids (pids.max, pids.events) and a kill nothing escapes (cgroup.kill, or
cgroup.freeze + SIGKILL where the kernel has no cgroup.kill).

Each container is ``<mount>/<root>/<container_id>``; the controllers it
needs are enabled in ``cgroup.subtree_control`` from the mount down to
``<root>``. ``create_isolator`` picks this backend when ``--cgroups_hierarchy``
is itself a cgroup2 mount.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import structlog

from isolation import cgroupfs
from isolation.base import (
    REASON_CONTAINER_LIMITATION,
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
from isolation.v1_controllers import CFS_PERIOD_US, CPU_SHARES_PER_CPU, MIN_MEMORY_BYTES

__all__ = ["CgroupsV2Isolator", "is_cgroup2", "weight_of"]

log = structlog.get_logger(__name__)

MiB = 1024 * 1024
CGROUP2_SUPER_MAGIC = 0x63677270
_CONTROLLERS = {"cpu": "cpu", "mem": "memory", "pids": "pids", "freezer": None}  # freezer: built in
_KILL_ROUNDS = 500


def is_cgroup2(path: str, mounts_file: str = "/proc/mounts") -> bool:
    """True when ``path`` is the mount point of a cgroup2 file system."""
    real = os.path.realpath(path)
    try:
        with open(mounts_file) as f:
            return any(len(p) > 2 and p[2] == "cgroup2" and os.path.realpath(p[1]) == real
                       for p in (line.split() for line in f))
    except OSError:
        return False


def weight_of(cpus: float) -> int:
    """cpu.weight (1-10000) for ``cpus``, mapped from v1 shares as systemd and runc do."""
    shares = max(2, min(262144, int(CPU_SHARES_PER_CPU * cpus)))
    return 1 + ((shares - 2) * 9999) // 262142


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


@dataclass
class _Container:
    path: str
    limits: Limits | None
    pid: int | None = None
    limitation: Limitation | None = None


class CgroupsV2Isolator(RecoveredContainerTable[_Container]):
    """cgroup v2 isolator for ``subsystems`` out of {"cpu", "mem", "pids", "freezer"};
    ``prune_root``: ``close`` removes the root cgroup itself when empty."""

    name = "cgroups-v2"

    def __init__(self, root: str = "mesopy", mount: str = "/sys/fs/cgroup", enable_cfs: bool = False,
                 subsystems: set[str] | frozenset[str] = frozenset({"cpu", "mem"}), pids_max: int = 0,
                 destroy_orphans: bool = True, prune_root: bool = False) -> None:
        unknown = set(subsystems) - set(_CONTROLLERS)
        if unknown or not subsystems:
            raise IsolationValueError(f"cgroup v2 subsystems must be a non-empty subset of {sorted(_CONTROLLERS)}, "
                                      f"got {sorted(subsystems)}")
        parts = root.strip("/").split("/")
        if not all(p and p not in (".", "..") for p in parts):
            raise IsolationValueError(f"cgroups root must be a relative path of plain names, got {root!r}")
        if not is_cgroup2(mount):
            raise IsolationError(f"{mount!r} is not a cgroup2 mount")
        self.root = "/".join(parts)
        self.mount = os.path.realpath(mount)
        self.base = os.path.join(self.mount, self.root)
        self.enable_cfs = enable_cfs
        self.subsystems = frozenset(subsystems)
        self.pids_max = pids_max
        self.destroy_orphans = destroy_orphans
        self.prune_root = prune_root
        self.controllers = sorted(c for s in subsystems if (c := _CONTROLLERS[s]) is not None)
        self._enable_controllers()
        super().__init__()
        log.info("cgroups_v2_isolator_started", base=self.base, controllers=self.controllers)

    def _enable_controllers(self) -> None:
        """Enable the controllers from the mount down to ``base``; IsolationError naming a missing one."""
        available = (_read(os.path.join(self.mount, "cgroup.controllers")) or "").split()
        missing = [c for c in self.controllers if c not in available]
        if missing:
            raise IsolationError(f"cgroup v2 controller(s) {', '.join(missing)} not available at {self.mount!r} "
                                 f"(cgroup.controllers: {' '.join(available) or 'none'}; bound to cgroup v1?)")
        cgroupfs.make_dirs(self.base)
        levels = [self.mount]
        for part in self.root.split("/"):
            levels.append(os.path.join(levels[-1], part))
        for level in levels:
            for controller in self.controllers:
                cgroupfs.write_value(os.path.join(level, "cgroup.subtree_control"), f"+{controller}")

    # -- life cycle ------------------------------------------------------------

    def prepare(self, container_id: str, limits: Limits, sandbox: str | None = None) -> None:
        check_container_id(container_id)
        path = os.path.join(self.base, container_id)
        self._add(container_id, _Container(path=path, limits=limits))
        try:
            if not cgroupfs.make_dirs(path):
                log.warning("cgroup_reused", container_id=container_id, path=path)
            if "memory" in self.controllers:  # an OOM kills the whole container, not one process of it
                cgroupfs.write_value(os.path.join(path, "memory.oom.group"), 1)
            self._apply(path, limits, None)
            log.info("cgroup_created", container_id=container_id, path=path)
        except BaseException:
            self.cleanup(container_id)
            raise

    def wrap(self, container_id: str, argv: list[str]) -> list[str]:
        check_argv(container_id, argv)
        return cgroupfs.join_argv([self._get(container_id).path], argv)

    def entry(self, container_id: str) -> Entry | None:
        return Entry(cgroupfs.procs_files([self._get(container_id).path]))

    def isolate(self, container_id: str, pid: int) -> None:
        container = self._get(container_id)
        with self._lock:
            container.pid = pid

    def update(self, container_id: str, limits: Limits) -> None:
        container = self._get(container_id)
        with self._lock:
            old, container.limits = container.limits, limits
        self._apply(container.path, limits, old)

    def _apply(self, path: str, limits: Limits, old: Limits | None) -> None:
        if "cpu" in self.controllers:
            cgroupfs.write_value(os.path.join(path, "cpu.weight"), weight_of(limits.cpus))
            if self.enable_cfs:
                quota = max(1000, int(limits.cpus * CFS_PERIOD_US))
                cgroupfs.write_value(os.path.join(path, "cpu.max"), f"{quota} {CFS_PERIOD_US}")
        if "memory" in self.controllers:
            limit = max(MIN_MEMORY_BYTES, int(limits.mem_mb * MiB))
            current = _read(os.path.join(path, "memory.max"))
            if old is None or current is None or current == "max" or limit > int(current):  # only ever raised
                cgroupfs.write_value(os.path.join(path, "memory.max"), limit)
        if "pids" in self.controllers:
            wanted = limits.pids if limits.pids is not None else self.pids_max
            cgroupfs.write_value(os.path.join(path, "pids.max"), wanted if wanted > 0 else "max")

    def cleanup(self, container_id: str) -> None:
        check_container_id(container_id)
        with self._lock:
            self._containers.pop(container_id, None)
        self._destroy(container_id, os.path.join(self.base, container_id))

    def _destroy(self, container_id: str, path: str) -> None:
        if not os.path.isdir(path):
            return
        kill = os.path.join(path, "cgroup.kill")
        if os.path.exists(kill):
            cgroupfs.write_value(kill, 1)  # the kernel kills the whole subtree; nothing forks past it
            for round_no in range(_KILL_ROUNDS):
                if "populated 0" in (_read(os.path.join(path, "cgroup.events")) or "populated 0"):
                    break
                time.sleep(min(0.01, 0.001 * (round_no + 1)))
            else:
                raise IsolationError(f"cgroup {path!r} still populated after cgroup.kill")
        else:  # before Linux 5.14: frozen processes cannot fork, and SIGKILL still ends them
            log.info("cgroup_kill_unavailable", path=path, detail="freezing and killing instead")
            cgroupfs.write_value(os.path.join(path, "cgroup.freeze"), 1)
        killed = cgroupfs.destroy_cgroup(path)  # SIGKILL what is left (if anything), rmdir deepest first
        log.info("cgroup_removed", container_id=container_id, path=path, pids_killed=killed)

    def recover(self, known: set[str]) -> list[str]:
        try:
            entries = [e.name for e in os.scandir(self.base) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return []
        orphans = sorted(n for n in entries if n not in known) if self.destroy_orphans else []
        for name in orphans:
            self._destroy(name, os.path.join(self.base, name))
            log.warning("orphan_cgroup_removed", container_id=name, base=self.base)
        for name in sorted(set(entries) & known):
            with self._lock:
                self._containers.setdefault(name, _Container(path=os.path.join(self.base, name), limits=None))
        return orphans

    def close(self) -> None:
        if self.prune_root:
            cgroupfs.remove_if_empty(self.base)
        log.info("cgroups_v2_isolator_closed", base=self.base)

    # -- usage and limitations -----------------------------------------------

    def usage(self, container_id: str) -> Usage:
        container = self._get(container_id)
        path = container.path
        if not os.path.isdir(path):
            raise IsolationError(f"cgroup {path!r} of container {container_id!r} is gone")
        cpu = cgroupfs.read_keyed(os.path.join(path, "cpu.stat"))  # always there in v2
        mem = cgroupfs.read_keyed(os.path.join(path, "memory.stat"))
        limit = _read(os.path.join(path, "memory.max"))
        return Usage(
            cpus_user_time_secs=cpu.get("user_usec", 0) / 1e6,
            cpus_system_time_secs=cpu.get("system_usec", 0) / 1e6,
            cpus_limit=container.limits.cpus if container.limits is not None else None,
            mem_rss_bytes=mem.get("anon", 0),
            mem_limit_bytes=int(limit) if limit and limit.isdigit() else None,
            timestamp=time.time(),
            mem_total_bytes=cgroupfs.read_int(os.path.join(path, "memory.current")),
            mem_cache_bytes=mem.get("file"),
            cpus_nr_periods=cpu.get("nr_periods"),
            cpus_nr_throttled=cpu.get("nr_throttled"),
            cpus_throttled_time_secs=cpu["throttled_usec"] / 1e6 if "throttled_usec" in cpu else None,
            processes=len(cgroupfs.read_procs(path)),
            threads=cgroupfs.read_int(os.path.join(path, "pids.current")),
        )

    def limitation(self, container_id: str) -> Limitation | None:
        with self._lock:
            container = self._containers.get(container_id)
        if container is None or container.limitation is not None:
            return container.limitation if container is not None else None
        found: Limitation | None = None
        oom_kills = cgroupfs.read_keyed(os.path.join(container.path, "memory.events")).get("oom_kill", 0)
        refused = cgroupfs.read_keyed(os.path.join(container.path, "pids.events")).get("max", 0)
        if oom_kills > 0:
            limit = _read(os.path.join(container.path, "memory.max"))
            found = Limitation(REASON_CONTAINER_LIMITATION_MEMORY,
                               f"Memory limit exceeded: memory.max={limit} (memory.events oom_kill={oom_kills}) "
                               f"in cgroup {container.path}")
        elif refused > 0:
            limit = _read(os.path.join(container.path, "pids.max"))
            found = Limitation(REASON_CONTAINER_LIMITATION,
                               f"Pids limit exceeded: pids.max={limit} refused {refused} fork(s) "
                               f"in cgroup {container.path}")
        if found is not None:
            with self._lock:
                container.limitation = container.limitation or found
            return container.limitation
        return None

    def watch(self, container_id: str, callback: LimitationCallback) -> None:
        # memory.oom.group makes an OOM kill the whole container: the executor's exit is the
        # signal, and limitation() then names the reason. Nothing to watch here.
        self._get(container_id)
