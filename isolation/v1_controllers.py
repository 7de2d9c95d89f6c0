"""What each cgroup v1 controller limits and reports: cpu (shares, CFS quota),
cpuacct and memory usage, pids (pids.max and its limitation), blkio usage.

Functions of a container's cgroup paths (kernel controller -> directory);
the container life cycle is in ``cgroups_v1``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import structlog
from cgroupspy.controllers import CpuController, MemoryController

from isolation import cgroupfs
from isolation.base import REASON_CONTAINER_LIMITATION, Limitation, Limits
from isolation.errors import IsolationError

__all__ = [
    "CFS_PERIOD_US",
    "CPU_SHARES_PER_CPU",
    "MIN_MEMORY_BYTES",
    "apply_limits",
    "pids_limitation",
    "read_usage",
]

log = structlog.get_logger(__name__)

MiB = 1024 * 1024
CPU_SHARES_PER_CPU = 1024
MIN_CPU_SHARES = 2
CFS_PERIOD_US = 100_000
MIN_CFS_QUOTA_US = 1_000
MIN_MEMORY_BYTES = 32 * MiB


def _write(path: str, filename: str, value: int, write: Callable[[], None]) -> None:
    try:
        write()
    except OSError as exc:
        raise IsolationError(f"cannot write {value} to {os.path.join(path, filename)!r}: {exc.strerror}") from exc


def apply_limits(container_id: str, paths: dict[str, str], limits: Limits, old: Limits | None, *,
                 enable_cfs: bool, pids_max: int) -> None:
    """Write ``limits`` to the container's cgroups (``old``: the limits before, None at prepare).
    ``pids_max`` is the agent's --cgroups_pids_max, used when ``limits.pids`` is None (0: no limit)."""
    if "cpu" in paths:
        cpu = cgroupfs.controller_for(CpuController, paths["cpu"])
        shares = max(MIN_CPU_SHARES, int(CPU_SHARES_PER_CPU * limits.cpus))
        quota: int | None = None
        _write(paths["cpu"], "cpu.shares", shares, lambda: setattr(cpu, "shares", shares))
        if enable_cfs:
            quota = max(MIN_CFS_QUOTA_US, int(limits.cpus * CFS_PERIOD_US))
            _write(paths["cpu"], "cpu.cfs_period_us", CFS_PERIOD_US,
                   lambda: setattr(cpu, "cfs_period_us", CFS_PERIOD_US))
            _write(paths["cpu"], "cpu.cfs_quota_us", quota, lambda: setattr(cpu, "cfs_quota_us", quota))
        log.info("cpu_limits_set", container_id=container_id, cpus=limits.cpus, shares=shares, cfs_quota_us=quota)
    if "memory" in paths:
        _apply_memory(container_id, paths["memory"], limits, old)
    if "pids" in paths:
        wanted = limits.pids if limits.pids is not None else pids_max
        cgroupfs.write_value(os.path.join(paths["pids"], "pids.max"), wanted if wanted > 0 else "max")
        log.info("pids_limit_set", container_id=container_id, pids_max=wanted if wanted > 0 else "max")


def _apply_memory(container_id: str, path: str, limits: Limits, old: Limits | None) -> None:
    mem = cgroupfs.controller_for(MemoryController, path)
    limit = max(MIN_MEMORY_BYTES, int(limits.mem_mb * MiB))
    _write(path, "memory.soft_limit_in_bytes", limit, lambda: setattr(mem, "soft_limit_in_bytes", limit))
    current = cgroupfs.read_int(os.path.join(path, "memory.limit_in_bytes"))
    # Like Mesos: the hard limit is set at start and only ever raised;
    # lowering it under a running executor could fail or trigger an OOM.
    if old is None or current is None or limit > current:
        _write(path, "memory.limit_in_bytes", limit, lambda: setattr(mem, "limit_in_bytes", limit))
        log.info("memory_limits_set", container_id=container_id, mem_mb=limits.mem_mb, limit_bytes=limit)
    elif limit < current:
        log.info("memory_hard_limit_kept", container_id=container_id, requested_bytes=limit,
                 hard_limit_bytes=current, soft_limit_bytes=limit)


def read_usage(paths: dict[str, str], limits: Limits | None, clk_tck: int) -> dict[str, Any]:
    """The Usage fields the container's cgroups tell (ResourceStatistics names)."""
    out: dict[str, Any] = {"cpus_user_time_secs": 0.0, "cpus_system_time_secs": 0.0, "cpus_limit": None,
                           "mem_rss_bytes": 0, "mem_limit_bytes": None}
    if "cpuacct" in paths:
        stat = cgroupfs.read_keyed(os.path.join(paths["cpuacct"], "cpuacct.stat"))
        out["cpus_user_time_secs"] = stat.get("user", 0) / clk_tck
        out["cpus_system_time_secs"] = stat.get("system", 0) / clk_tck
    if "cpu" in paths:
        cpu_stat = cgroupfs.read_keyed(os.path.join(paths["cpu"], "cpu.stat"))
        out["cpus_nr_periods"], out["cpus_nr_throttled"] = cpu_stat.get("nr_periods"), cpu_stat.get("nr_throttled")
        if "throttled_time" in cpu_stat:
            out["cpus_throttled_time_secs"] = cpu_stat["throttled_time"] / 1e9
        if limits is not None:
            out["cpus_limit"] = limits.cpus
        else:
            shares = cgroupfs.read_int(os.path.join(paths["cpu"], "cpu.shares"))
            out["cpus_limit"] = shares / CPU_SHARES_PER_CPU if shares else None
    if "memory" in paths:
        mpath = paths["memory"]
        mstat = cgroupfs.read_keyed(os.path.join(mpath, "memory.stat"))
        out["mem_rss_bytes"] = mstat.get("total_rss", mstat.get("rss", 0))
        out["mem_cache_bytes"] = mstat.get("total_cache", mstat.get("cache"))
        out["mem_total_bytes"] = cgroupfs.read_int(os.path.join(mpath, "memory.usage_in_bytes"))
        out["mem_limit_bytes"] = cgroupfs.read_int(os.path.join(mpath, "memory.limit_in_bytes"))
        out["mem_soft_limit_bytes"] = cgroupfs.read_int(os.path.join(mpath, "memory.soft_limit_in_bytes"))
    if "pids" in paths:
        out["threads"] = cgroupfs.read_int(os.path.join(paths["pids"], "pids.current"))
    if "blkio" in paths:
        out.update(_blkio(paths["blkio"]))
    return out


def _blkio(path: str) -> dict[str, int]:
    """Bytes and operations summed over devices (blkio.throttle.io_service_bytes / io_serviced)."""
    out: dict[str, int] = {}
    for filename, prefix in (("blkio.throttle.io_service_bytes", "blkio_bytes"),
                             ("blkio.throttle.io_serviced", "blkio_ops")):
        totals = {"Read": 0, "Write": 0}
        try:
            with open(os.path.join(path, filename)) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and parts[1] in totals and parts[2].isdigit():
                totals[parts[1]] += int(parts[2])
        out[f"{prefix}_read"], out[f"{prefix}_write"] = totals["Read"], totals["Write"]
    return out


def pids_limitation(path: str) -> Limitation | None:
    """A Limitation when a fork or clone in the pids cgroup at ``path`` was refused by pids.max."""
    refused = cgroupfs.read_keyed(os.path.join(path, "pids.events")).get("max", 0)
    if refused <= 0:
        return None
    try:
        with open(os.path.join(path, "pids.max")) as f:
            limit = f.read().strip()
    except FileNotFoundError:
        limit = "?"
    peak = cgroupfs.read_int(os.path.join(path, "pids.peak"))
    return Limitation(
        reason=REASON_CONTAINER_LIMITATION,
        message=(f"Pids limit exceeded: pids.max={limit} refused {refused} fork(s) "
                 f"(pids.peak={peak}) in cgroup {path}"),
    )
