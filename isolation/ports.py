"""The network/ports isolator: every ``watch_interval`` seconds (Mesos'
--container_ports_watch_interval) the TCP ports each container's processes
listen on are compared with the ports allocated to it; a port outside them
is logged, or with ``enforce`` (--enforce_container_ports) raises a
limitation with REASON_CONTAINER_LIMITATION and the agent kills the task.
With ``agent_ports`` (--check_agent_port_range_only) only ports inside the
agent's own ``ports`` resource count.

A container's processes are those of its freezer cgroup (the agent as root
keeps one per container), else those of its session."""

from __future__ import annotations

import os

import structlog

from isolation import cgroupfs
from isolation.base import REASON_CONTAINER_LIMITATION, Limitation
from isolation.periodic import PeriodicContainer, PeriodicIsolator
from isolation.posix import session_processes

__all__ = ["PortsIsolator", "format_ranges", "listening_ports"]

log = structlog.get_logger(__name__)

_LISTEN = "0A"


def listening_ports(pids: list[int]) -> set[int]:
    """The TCP (v4 and v6) ports on which the processes ``pids`` hold listening sockets."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # exited meanwhile
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    if not inodes or not pids:
        return set()
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pids[0]}/net/{table}") as f:  # the processes' network namespace
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def format_ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + ", ".join(f"{b}-{e}" for b, e in ranges) + "]"


def _inside(port: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(begin <= port <= end for begin, end in ranges)


class PortsIsolator(PeriodicIsolator):
    """See the module docstring."""

    name = "network-ports"

    def __init__(self, watch_interval: float = 30.0, enforce: bool = False,
                 agent_ports: tuple[tuple[int, int], ...] | None = None,
                 freezer: str | None = None) -> None:
        self.enforce = enforce
        self.agent_ports = agent_ports
        self.freezer = freezer  # "<freezer mount>/<cgroups root>" when containers have freezer cgroups
        super().__init__(watch_interval, "container_ports_watch_interval")
        log.info("ports_isolator_started", watch_interval=watch_interval, enforce=enforce,
                 agent_ports=format_ranges(agent_ports) if agent_ports else None, freezer=freezer)

    def _processes(self, container_id: str, container: PeriodicContainer) -> list[int]:
        if self.freezer is not None:
            return cgroupfs.read_procs(os.path.join(self.freezer, container_id))
        if container.pid is None:
            return []
        return [p.pid for p in session_processes(container.pid) if p.state != "Z"]

    def _check(self, container_id: str, container: PeriodicContainer) -> Limitation | None:
        allocated = container.limits.ports
        if allocated is None:
            return None  # not known yet (the executor has not registered)
        listening = listening_ports(self._processes(container_id, container))
        bad = sorted(p for p in listening if not _inside(p, allocated)
                     and (self.agent_ports is None or _inside(p, self.agent_ports)))
        reported = container.state.setdefault("reported", set())
        if not bad or set(bad) <= reported:
            return None
        reported.update(bad)
        message = (f"Container is listening on port(s) {', '.join(map(str, bad))} not allocated to it "
                   f"(allocated: {format_ranges(allocated)})")
        log.warning("container_unallocated_ports", container_id=container_id, ports=bad,
                    allocated=format_ranges(allocated), enforce=self.enforce)
        return Limitation(reason=REASON_CONTAINER_LIMITATION, message=message) if self.enforce else None
