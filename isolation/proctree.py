"""A process's whole tree, also what called setsid() or double-forked: the
process becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so orphans
of its descendants are re-parented to it instead of to init, and its tree is
every process whose parent chain in /proc leads to it: walked down from it
through /proc/PID/task/TID/children where the kernel has that file (a few reads
instead of every process's stat), else by reading the parent of every process."""

from __future__ import annotations

import ctypes
import os
import threading
import time

import structlog

__all__ = ["become_subreaper", "descendants", "kill_tree", "signal_tree"]

log = structlog.get_logger(__name__)

PR_SET_CHILD_SUBREAPER = 36
_KILL_ROUNDS = 200


def become_subreaper() -> bool:
    """Make this process a child subreaper; False (logged) where prctl is refused."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
            return True
        error = os.strerror(ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        error = str(exc)
    log.warning("subreaper_refused", error=error, detail="a task's setsid() processes may escape its kill")
    return False


def _parents() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process in /proc."""
    out: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rfind(")") + 2:].split()
        out[int(entry)] = (int(fields[1]), fields[0])
    return out


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None  # exited meanwhile
    return stat[stat.rfind(")") + 2:].split(maxsplit=1)[0]


def _children(pid: int) -> list[int]:
    """The children of ``pid`` (of each of its threads); empty once it is gone."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(child) for child in f.read().split())
        except OSError:
            continue
    return out


def _walk(pid: int) -> dict[int, tuple[int, str]] | None:
    """pid -> (parent pid, state) of the processes below ``pid``, walked through the children
    files; None when the kernel has none (CONFIG_PROC_CHILDREN off)."""
    if not os.path.exists(f"/proc/self/task/{threading.get_native_id()}/children"):
        return None
    out: dict[int, tuple[int, str]] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for child in _children(parent):
            state = _state(child)
            if state is not None and child not in out:
                out[child] = (parent, state)
                todo.append(child)
    return out


def _proc_is_ours() -> bool:
    """/proc shows this process's own pid namespace (not so after unshare --pid without a new /proc)."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def descendants(pid: int, *, include_zombies: bool = False) -> list[int]:
    """Every process below ``pid`` (children, their children, ...); empty (logged) when
    /proc belongs to another pid namespace, where its pids would name other processes."""
    if not _proc_is_ours():
        log.error("proc_of_another_pid_namespace", pid=pid, detail="not walking a process tree through it")
        return []
    table = _walk(pid)
    if table is not None:
        return sorted(child for child, (_parent, state) in table.items() if include_zombies or state != "Z")
    table = _parents()
    children: dict[int, list[int]] = {}
    for child, (parent, _state) in table.items():
        children.setdefault(parent, []).append(child)
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        current = todo.pop()
        if include_zombies or table[current][1] != "Z":
            out.append(current)
        todo.extend(children.get(current, []))
    return sorted(out)


def signal_tree(pid: int, signum: int) -> list[int]:
    """Send ``signum`` to every descendant of ``pid``; the pids signalled."""
    sent = []
    for child in descendants(pid):
        try:
            os.kill(child, signum)
            sent.append(child)
        except ProcessLookupError:
            pass
    return sent


def _reap_own_zombies() -> None:
    me = os.getpid()
    table = _walk(me)
    for child, (parent, state) in (_parents() if table is None else table).items():
        if parent == me and state == "Z":
            try:
                os.waitpid(child, os.WNOHANG)
            except ChildProcessError:
                pass


def kill_tree(pid: int, signum: int = 9) -> list[int]:
    """SIGKILL (or ``signum``) every descendant of ``pid`` until none is left
    (bounded), reaping those re-parented to this process (``pid`` is this
    process, a subreaper). Returns the pids signalled."""
    killed: set[int] = set()
    if pid == os.getpid() and _walk(pid) == {}:  # nothing below us at all (the usual end): no more walks
        return []
    for round_no in range(_KILL_ROUNDS):
        if pid == os.getpid():
            _reap_own_zombies()
        sent = signal_tree(pid, signum)
        if not sent:
            if pid == os.getpid():
                _reap_own_zombies()
            return sorted(killed)
        killed.update(sent)
        time.sleep(min(0.01, 0.001 * (round_no + 1)))
    log.error("process_tree_survived", pid=pid, left=descendants(pid))
    return sorted(killed)

