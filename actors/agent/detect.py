"""Detection of the agent's total resources, completed from the --resources flag (pure)."""

from __future__ import annotations

import os
import shutil

from actors.resources import Resources

__all__ = ["DEFAULT_PORTS", "default_resources", "detect_resources", "disk_reserve_mb", "mem_reserve_mb"]

GB = 1024.0
DEFAULT_PORTS = (31000, 32000)


def mem_reserve_mb(total_mb: float) -> float:
    """Mesos: leave 1 GB to the system when there are at least 2 GB, else half."""
    return GB if total_mb >= 2 * GB else total_mb / 2


def disk_reserve_mb(total_mb: float) -> float:
    """Mesos: leave 5 GB when the disk has at least 10 GB, else half."""
    return 5 * GB if total_mb >= 10 * GB else total_mb / 2


def default_resources(flag: str, cpu_count: int | None, mem_total_mb: float | None,
                      disk_total_mb: float | None) -> Resources:
    """The agent's resources: those named in ``flag``, the others from the measured
    totals less their reserves (Mesos' defaults where unknown: 1 cpu, 1 GB, 10 GB),
    and ports 31000-32000 unless the flag names ports."""
    given = Resources.parse(flag)
    names = given.names()
    text: list[str] = []
    if "cpus" not in names:
        text.append(f"cpus:{cpu_count or 1}")
    if "mem" not in names:
        mem = mem_total_mb - mem_reserve_mb(mem_total_mb) if mem_total_mb else GB
        text.append(f"mem:{int(mem)}")
    if "disk" not in names:
        disk = disk_total_mb - disk_reserve_mb(disk_total_mb) if disk_total_mb else 10 * GB
        text.append(f"disk:{int(disk)}")
    if "ports" not in names:
        text.append(f"ports:[{DEFAULT_PORTS[0]}-{DEFAULT_PORTS[1]}]")
    return given + Resources.parse(";".join(text))


def _mem_total_mb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _disk_total_mb(path: str) -> float | None:
    probe = path
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    try:
        return shutil.disk_usage(probe or "/").total / (1024.0 * 1024.0)
    except OSError:
        return None


def detect_resources(flag: str, work_dir: str) -> Resources:
    """``default_resources`` with this machine's cpu count, memory and work_dir's filesystem."""
    return default_resources(flag, os.cpu_count(), _mem_total_mb(), _disk_total_mb(work_dir))
