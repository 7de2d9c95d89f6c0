"""Helpers of the containment tests: live processes, leftover cgroups."""

from __future__ import annotations

import os
import select
import signal
import uuid
from collections.abc import Iterator

import pytest

from isolation import cgroupfs

__all__ = ["HIERARCHY", "alive", "cgroup_root", "leftover_cgroups", "processes_with_env", "reap_all", "remove_cgroups",
           "wait_dead"]

HIERARCHY = "/sys/fs/cgroup"
V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "pids", "freezer", "devices", "blkio")


def alive(pid: int) -> bool:
    """True while ``pid`` is a process that is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] not in ("Z", "X")


def wait_dead(pid: int, timeout: float = 5.0) -> bool:
    """Wait (on a pidfd, no polling) until ``pid`` has exited; True if it did within ``timeout``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable) or not alive(pid)
    finally:
        os.close(fd)


def pids_with_env(marker: str) -> Iterator[int]:
    """Pids (zombies too) with an environment entry starting with ``marker``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if any(item.startswith(marker.encode()) for item in environ):
            yield int(entry)


def processes_with_env(marker: str) -> list[int]:
    """Live pids whose environment holds ``marker`` (e.g. ``MESOS_DIRECTORY=<tmp>``)."""
    out = []
    for pid in pids_with_env(marker):
        if alive(pid):
            out.append(pid)
    return out


def reap_all(pids: list[int]) -> None:
    """SIGKILL what a failed test left behind (so one failure does not leak into the next)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def leftover_cgroups(root: str) -> list[str]:
    """Cgroups left under ``root`` and under ``<root>_posix`` (a posix agent's) in any v1 hierarchy."""
    out = []
    for controller in V1_CONTROLLERS:
        for top in (root, f"{root}_posix"):
            base = os.path.join(HIERARCHY, controller, top)
            if os.path.isdir(base):
                out += [os.path.join(base, e.name) for e in os.scandir(base) if e.is_dir()]
    return out


def remove_cgroups(root: str) -> None:
    """Remove ``root`` and ``<root>_posix`` from every v1 hierarchy, their processes killed: each frozen
    freezer cgroup (an agent kill -9'd between its freeze and its thaw) is thawed first, so they can die."""
    for controller in V1_CONTROLLERS:
        for top in (root, f"{root}_posix"):
            base = os.path.join(HIERARCHY, controller, top)
            for dirpath, _dirnames, files in os.walk(base):
                if "freezer.state" in files:
                    cgroupfs.write_value(os.path.join(dirpath, "freezer.state"), "THAWED")
            cgroupfs.destroy_cgroup(base)


@pytest.fixture
def cgroup_root() -> Iterator[str]:
    """A cgroups root of this test's own; afterwards nothing may be left under it."""
    if os.geteuid() != 0 or not os.path.isdir(os.path.join(HIERARCHY, "freezer")):
        pytest.skip("needs root and the cgroup v1 freezer and pids hierarchies")
    root = f"mesopy-test-{uuid.uuid4().hex[:12]}"
    yield root
    left = leftover_cgroups(root)
    remove_cgroups(root)
    assert left == [], f"cgroups left behind: {left}"
