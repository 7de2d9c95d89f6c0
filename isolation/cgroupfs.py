"""Low-level cgroup v1 filesystem helpers: finding mounts, reading and writing
control files, killing a cgroup's processes and removing it.

cgroupspy is used for typed access to control files: a controller object is
built for one cgroup directory (``controller_for``) instead of a ``Tree()``,
which would walk the whole hierarchy on every call. Directories are created
and removed with plain ``os.mkdir``/``os.rmdir`` (all that cgroupspy's
``create_cgroup``/``delete_cgroup`` do, minus their bytes/str quirks), and
``cgroup.procs`` is read with plain file I/O so that a vanished cgroup is an
empty list rather than an exception.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from typing import TypeVar

import structlog
from cgroupspy.controllers import Controller
from cgroupspy.nodes import Node

from isolation.errors import IsolationError

__all__ = [
    "LAUNCHER_EXIT_STATUS",
    "controller_for",
    "destroy_cgroup",
    "find_mounts",
    "freeze_kill",
    "join_argv",
    "make_dirs",
    "procs_files",
    "read_int",
    "read_keyed",
    "read_procs",
    "remove_if_empty",
    "write_value",
]

log = structlog.get_logger(__name__)

C = TypeVar("C", bound=Controller)

_KILL_ROUNDS = 200          # bounded: 200 rounds x up to 10 ms back-off ~ 2 s
_RMDIR_ROUNDS = 100
_FREEZE_ROUNDS = 500        # bounded: ~5 s of waiting for FREEZING -> FROZEN
LAUNCHER_EXIT_STATUS = 125

# Arguments: the cgroup.procs files, "--", then the program. The shell writes
# its own pid ($$) to each file, then becomes the program, so the program
# starts inside its cgroups. A failed write ends it with status 125.
_LAUNCHER = (
    'for f do shift; if [ "$f" = -- ]; then exec "$@"; fi; '
    'if ! echo $$ 2>/dev/null >"$f"; then '
    f'echo "mesopy-launcher: cannot join cgroup ${{f%/cgroup.procs}}" >&2; exit {LAUNCHER_EXIT_STATUS}; fi; '
    f'done; echo "mesopy-launcher: no command given" >&2; exit {LAUNCHER_EXIT_STATUS}'
)


def procs_files(cgroup_dirs: list[str]) -> tuple[str, ...]:
    """The ``cgroup.procs`` file of each of ``cgroup_dirs``: a pid written there joins it."""
    return tuple(os.path.join(d, "cgroup.procs") for d in cgroup_dirs)


def join_argv(cgroup_dirs: list[str], argv: list[str]) -> list[str]:
    """The argv that joins the cgroups ``cgroup_dirs`` (v1 or v2), then execs ``argv``:
    no ``preexec_fn`` (unsafe in a threaded agent), and start-up memory is charged there."""
    return ["/bin/sh", "-c", _LAUNCHER, "mesopy-launcher", *procs_files(cgroup_dirs), "--", *argv]


def _unescape_mount(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def find_mounts(hierarchy: str, controllers: set[str], mounts_file: str = "/proc/mounts") -> dict[str, str]:
    """Map each of ``controllers`` (kernel names: cpu, cpuacct, memory) to the
    directory of its cgroup v1 mount.

    Mounts under ``hierarchy`` listed in /proc/mounts win, so co-mounted
    controllers (``cpu,cpuacct``) share one directory; otherwise
    ``<hierarchy>/<controller>`` is used if it looks like that controller's
    mount. Raises IsolationError naming the path when a controller is missing.
    """
    hierarchy = os.path.realpath(hierarchy)
    found: dict[str, str] = {}
    try:
        with open(mounts_file) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or parts[2] != "cgroup":
            continue
        mountpoint = _unescape_mount(parts[1])
        if os.path.commonpath([hierarchy, mountpoint]) != hierarchy:
            continue
        for option in parts[3].split(","):
            if option in controllers and option not in found:
                found[option] = mountpoint
    probe = {"cpu": "cpu.shares", "cpuacct": "cpuacct.stat", "memory": "memory.limit_in_bytes"}
    for name in sorted(controllers - set(found)):
        candidate = os.path.join(hierarchy, name)
        if os.path.exists(os.path.join(candidate, probe.get(name, "cgroup.procs"))):
            found[name] = os.path.realpath(candidate)
        else:
            raise IsolationError(
                f"cgroup v1 controller {name!r} is not mounted under {hierarchy!r} (no {candidate!r} in /proc/mounts)"
            )
    for name, path in found.items():
        if not os.access(path, os.W_OK):
            raise IsolationError(f"cgroup hierarchy {path!r} for controller {name!r} is not writable")
    return found


def controller_for(cls: type[C], path: str) -> C:
    """A cgroupspy controller bound to the single cgroup directory ``path``.

    A parentless Node's full path is its name, so this touches only ``path``.
    """
    return cls(Node(path))


def read_int(path: str) -> int | None:
    """An integer control file; None if it does not exist (any more)."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except FileNotFoundError:
        return None


def read_keyed(path: str) -> dict[str, int]:
    """A ``key value`` per line control file (memory.stat, cpuacct.stat,
    memory.oom_control); empty if it does not exist (any more)."""
    result: dict[str, int] = {}
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return result
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            result[parts[0]] = int(parts[1])
    return result


def read_procs(path: str) -> list[int]:
    """The pids in the cgroup at ``path``; empty if the cgroup is gone."""
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENODEV):
            return []
        raise IsolationError(f"cannot read {path!r}/cgroup.procs: {exc.strerror}") from exc


def make_dirs(path: str) -> bool:
    """Create the cgroup directory ``path`` and its parents; True if it was new."""
    try:
        os.makedirs(path)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        raise IsolationError(f"cannot create cgroup {path!r}: {exc.strerror}") from exc


def _kill_all(path: str) -> list[int]:
    """SIGKILL every process in the cgroup until it is empty (bounded)."""
    killed: set[int] = set()
    for round_no in range(_KILL_ROUNDS):
        pids = read_procs(path)
        if not pids:
            return sorted(killed)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(min(0.01, 0.001 * (round_no + 1)))
    raise IsolationError(f"processes {read_procs(path)} still in cgroup {path!r} after {_KILL_ROUNDS} SIGKILL rounds")


def _rmdir(path: str) -> None:
    for round_no in range(_RMDIR_ROUNDS):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise IsolationError(f"cannot remove cgroup {path!r}: {exc.strerror}") from exc
            _kill_all(path)
            time.sleep(min(0.01, 0.001 * (round_no + 1)))
    raise IsolationError(f"cannot remove cgroup {path!r}: still busy after {_RMDIR_ROUNDS} attempts")


def destroy_cgroup(path: str) -> list[int]:
    """Kill every process in the cgroup at ``path`` and its sub-cgroups, then
    remove the directories (deepest first). Returns the pids killed.
    Nothing to do if ``path`` does not exist."""
    if not os.path.isdir(path):
        return []
    killed: list[int] = []
    for dirpath, _dirnames, _files in os.walk(path, topdown=False):
        killed.extend(_kill_all(dirpath))
        _rmdir(dirpath)
    return killed


def write_value(path: str, value: object) -> None:
    """Write ``value`` to the control file ``path``; IsolationError naming the file and value."""
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as exc:
        raise IsolationError(f"cannot write {value!r} to {path!r}: {exc.strerror}") from exc


def _freezer_state(path: str) -> str:
    try:
        with open(os.path.join(path, "freezer.state")) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def _all_procs(path: str) -> list[int]:
    pids: list[int] = []
    for dirpath, _dirnames, _files in os.walk(path):
        pids.extend(read_procs(dirpath))
    return pids


def freeze_kill(path: str) -> list[int]:
    """Kill every process of the v1 freezer cgroup at ``path`` (and its sub-cgroups)
    so that none can escape, as Mesos does: freeze it (no process can fork or
    exit while frozen), SIGKILL every process seen, thaw it so the signals are
    delivered, repeat until it is empty. Returns the pids killed; nothing to do
    if ``path`` does not exist."""
    killed: set[int] = set()
    state = os.path.join(path, "freezer.state")
    for _round in range(_KILL_ROUNDS):
        if not os.path.isdir(path) or not _all_procs(path):
            return sorted(killed)
        write_value(state, "FROZEN")
        for wait_round in range(_FREEZE_ROUNDS):
            if _freezer_state(path) in ("FROZEN", ""):
                break
            if wait_round % 50 == 49:
                write_value(state, "FROZEN")  # a task in uninterruptible sleep: ask again
            time.sleep(0.01)
        else:
            log.warning("freezer_stuck_freezing", path=path)
        for pid in _all_procs(path):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        write_value(state, "THAWED")
        for wait_round in range(_KILL_ROUNDS):
            if not _all_procs(path):
                return sorted(killed)
            time.sleep(min(0.01, 0.001 * (wait_round + 1)))
    raise IsolationError(f"processes {_all_procs(path)} still in freezer cgroup {path!r} after "
                         f"{_KILL_ROUNDS} freeze-kill rounds")


def remove_if_empty(path: str) -> None:
    """rmdir the cgroup ``path`` if it holds no processes and no cgroups (else leave it)."""
    try:
        os.rmdir(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.EBUSY, errno.ENOTEMPTY):
            raise IsolationError(f"cannot remove cgroup {path!r}: {exc.strerror}") from exc
