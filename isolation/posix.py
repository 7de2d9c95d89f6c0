"""The posix isolator: no limits, usage summed over the container's session.

The agent starts each executor as a session leader (``start_new_session``)
and tells the isolator its pid through ``isolate``; every process whose
session id is that pid belongs to the container.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from isolation.base import (
    Isolator,
    Limitation,
    LimitationCallback,
    Limits,
    TrackedContainerTable,
    Usage,
    check_container_id,
)
from isolation.errors import IsolationValueError

__all__ = ["PosixIsolator", "ProcStat", "session_processes"]

log = structlog.get_logger(__name__)

_KILL_ROUNDS = 200


@dataclass(frozen=True)
class ProcStat:
    """What the posix isolator reads of one process in /proc."""

    pid: int
    state: str             # R, S, D, Z, ...
    session: int
    utime_ticks: int       # own user time plus that of its reaped children
    stime_ticks: int       # own system time plus that of its reaped children
    rss_bytes: int


def _read(path: str) -> bytes:
    """A small /proc file, unbuffered (one open/read/close: this runs for every process)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def _read_stat(pid: int, page_size: int, session: int | None = None) -> ProcStat | None:
    """``pid``'s ProcStat; None when it has exited, or is not in ``session`` when one is given
    (then its statm is not read)."""
    try:
        stat = _read(f"/proc/{pid}/stat")
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        # fields[0] is field 3 (state): field N of proc(5) is fields[N - 3].
        fields = stat[stat.rfind(b")") + 2:].split()
        if session is not None and int(fields[3]) != session:
            return None
        statm = _read(f"/proc/{pid}/statm").split()
    except OSError:
        return None  # exited meanwhile
    return ProcStat(
        pid=pid,
        state=fields[0].decode(),
        session=int(fields[3]),
        utime_ticks=int(fields[11]) + int(fields[13]),
        stime_ticks=int(fields[12]) + int(fields[14]),
        rss_bytes=int(statm[1]) * page_size,
    )


def session_processes(session: int) -> list[ProcStat]:
    """Every live process whose session id is ``session``."""
    page_size = os.sysconf("SC_PAGE_SIZE")
    result = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read_stat(int(entry), page_size, session)
            if stat is not None:
                result.append(stat)
    return result


@dataclass
class _Container:
    limits: Limits
    pid: int | None = None


class PosixIsolator(TrackedContainerTable[_Container], Isolator):
    """Runs executors without resource limits; reports their usage from /proc.

    ``emptied(container_id)``: whether another part of the agent's isolator (the freezer
    tracking) has just killed every process of that container, so that ``cleanup`` need not
    read every process in /proc for its session (it still does when that part could not)."""

    name = "posix"

    def __init__(self, emptied: Callable[[str], bool] | None = None) -> None:
        super().__init__()
        self._emptied = emptied
        self._clk_tck = os.sysconf("SC_CLK_TCK")
        log.warning("posix_isolation_no_limits", detail="tasks run without cpu or memory limits (posix isolator)")

    def prepare(self, container_id: str, limits: Limits, sandbox: str | None = None) -> None:
        check_container_id(container_id)
        self._add(container_id, _Container(limits=limits))

    def isolate(self, container_id: str, pid: int) -> None:
        if pid <= 0:
            raise IsolationValueError(f"pid must be > 0, got {pid}")
        super().isolate(container_id, pid)

    def usage(self, container_id: str) -> Usage:
        container = self._get(container_id)
        now = time.time()
        procs = session_processes(container.pid) if container.pid is not None else []
        return Usage(
            cpus_user_time_secs=sum(p.utime_ticks for p in procs) / self._clk_tck,
            cpus_system_time_secs=sum(p.stime_ticks for p in procs) / self._clk_tck,
            cpus_limit=None,
            mem_rss_bytes=sum(p.rss_bytes for p in procs),
            mem_limit_bytes=None,
            timestamp=now,
            processes=len(procs),
        )

    def limitation(self, container_id: str) -> Limitation | None:
        return None

    def watch(self, container_id: str, callback: LimitationCallback) -> None:
        self._get(container_id)  # nothing is limited, so nothing ever fires

    def cleanup(self, container_id: str) -> None:
        """SIGKILL what is left of the container's session, then forget it."""
        with self._lock:
            container = self._containers.pop(container_id, None)
        emptied = self._emptied is not None and self._emptied(container_id)  # asked always: it forgets
        if container is None or container.pid is None or emptied:
            return  # emptied: its freezer cgroup held the whole session (it inherits the cgroup)
        for round_no in range(_KILL_ROUNDS):
            procs = [p for p in session_processes(container.pid) if p.state != "Z"]
            if not procs:
                return
            for proc in procs:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            log.info("session_processes_killed", container_id=container_id, pids=[p.pid for p in procs])
            time.sleep(min(0.01, 0.001 * (round_no + 1)))

    def recover(self, known: set[str]) -> list[str]:
        return []  # nothing on disk to find or remove

    def close(self) -> None:
        pass
