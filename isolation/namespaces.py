"""namespaces/pid and filesystem/linux: the executor starts through
``unshare`` in a new pid namespace (it is pid 1 there, with its own /proc,
so ``ps`` sees only the container; when it dies the kernel kills the rest)
and/or a private mount namespace in which ``/tmp`` is a bind mount of the
sandbox's ``tmp`` directory and the sandbox is also mounted at
``sandbox_directory`` (Mesos' --sandbox_directory, default
/mnt/mesos/sandbox), which MESOS_SANDBOX then names.

The mounts live in the container's mount namespace only (private
propagation), so they vanish with its last process; nothing is mounted on
the host.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass

import structlog

from isolation.base import (
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

__all__ = ["DEFAULT_SANDBOX_DIRECTORY", "NamespacesIsolator", "runtime_dirs_under_tmp"]

log = structlog.get_logger(__name__)

DEFAULT_SANDBOX_DIRECTORY = "/mnt/mesos/sandbox"

# Arguments: sandbox, sandbox_directory, the directories under /tmp the executor
# itself runs from (kept, read-only, inside the private /tmp), "--", the program.
# Runs inside the new mount namespace, before the program.
_MOUNTS = (
    'fail() { echo "mesopy-namespaces: cannot mount the sandbox" >&2; exit 125; }; '
    'sandbox=$1 target=$2; shift 2; '
    'mkdir -p "$target" && mount --bind "$sandbox" "$target" && '
    'mkdir -p "$target/tmp" && chmod 1777 "$target/tmp" || fail; '
    'while [ "$1" != "--" ]; do kept="$target/tmp/${1#/tmp/}"; '
    'mkdir -p "$kept" && mount --bind "$1" "$kept" && mount -o remount,bind,ro "$kept" || fail; shift; done; '
    'shift; mount --rbind "$target/tmp" /tmp || fail; '
    'export MESOS_SANDBOX="$target"; cd "$target" && exec "$@"'
)  # the sandbox first: it may itself be under /tmp


def runtime_dirs_under_tmp() -> list[str]:
    """The directories directly under /tmp that this Python and mesopy's own code live in
    (a venv or a checkout under /tmp): the executor must still find them once /tmp is private."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found: set[str] = set()
    for path in (sys.prefix, sys.base_prefix, os.path.realpath(sys.executable), package_root):
        parts = os.path.realpath(path).split(os.sep)
        if len(parts) > 2 and parts[1] == "tmp":
            found.add(os.sep.join(parts[:3]))
    return sorted(found)


@dataclass
class _Container:
    sandbox: str | None
    pid: int | None = None


class NamespacesIsolator(ContainerTable[_Container], Isolator):
    """``pid``: namespaces/pid; ``filesystem``: filesystem/linux (needs the sandbox at prepare)."""

    def __init__(self, *, pid: bool, filesystem: bool, sandbox_directory: str = DEFAULT_SANDBOX_DIRECTORY) -> None:
        if not (pid or filesystem):
            raise IsolationValueError("a namespaces isolator needs namespaces/pid or filesystem/linux")
        normal = os.path.normpath(sandbox_directory)
        if not os.path.isabs(normal) or normal == "/" or os.path.commonpath([normal, "/tmp"]) == "/tmp":
            raise IsolationValueError(f"--sandbox_directory must be an absolute path other than / and not under "
                                      f"/tmp, got {sandbox_directory!r}")
        self._unshare = shutil.which("unshare")
        if self._unshare is None:
            raise IsolationError("namespaces/pid and filesystem/linux need util-linux's unshare on PATH")
        if os.geteuid() != 0:
            raise IsolationError("namespaces/pid and filesystem/linux need the agent to run as root")
        super().__init__()
        self.pid_namespace = pid
        self.filesystem = filesystem
        self.sandbox_directory = os.path.normpath(sandbox_directory)
        self.name = "+".join(n for n, on in (("namespaces/pid", pid), ("filesystem/linux", filesystem)) if on)
        log.info("namespaces_isolator_started", pid=pid, filesystem=filesystem,
                 sandbox_directory=self.sandbox_directory)

    def prepare(self, container_id: str, limits: Limits, sandbox: str | None = None) -> None:
        check_container_id(container_id)
        if self.filesystem and not sandbox:
            raise IsolationValueError(f"filesystem/linux needs the sandbox of container {container_id!r}")
        self._add(container_id, _Container(sandbox=sandbox))

    def wrap(self, container_id: str, argv: list[str]) -> list[str]:
        check_argv(container_id, argv)
        container = self._get(container_id)
        assert self._unshare is not None
        out = [self._unshare]
        if self.pid_namespace:
            # --kill-child: if unshare (the agent's child) dies, so does pid 1, and with it the namespace.
            out += ["--pid", "--fork", "--kill-child", "--mount-proc"]
        if self.filesystem:
            out += ["--mount", "--propagation", "private"]
        out.append("--")
        if self.filesystem:
            assert container.sandbox is not None
            out += ["/bin/sh", "-c", _MOUNTS, "mesopy-namespaces", container.sandbox, self.sandbox_directory,
                    *runtime_dirs_under_tmp(), "--"]
        return out + list(argv)

    def isolate(self, container_id: str, pid: int) -> None:
        container = self._get(container_id)
        with self._lock:
            container.pid = pid

    def update(self, container_id: str, limits: Limits) -> None:
        self._get(container_id)

    def usage(self, container_id: str) -> Usage:
        self._get(container_id)
        return Usage(cpus_user_time_secs=0.0, cpus_system_time_secs=0.0, cpus_limit=None, mem_rss_bytes=0,
                     mem_limit_bytes=None, timestamp=time.time())

    def limitation(self, container_id: str) -> Limitation | None:
        return None

    def watch(self, container_id: str, callback: LimitationCallback) -> None:
        self._get(container_id)

    def cleanup(self, container_id: str) -> None:
        # The namespaces (and their mounts) end with their last process, which the
        # cgroups/posix part kills; there is nothing of ours on the host to remove.
        with self._lock:
            self._containers.pop(container_id, None)

    def recover(self, known: set[str]) -> list[str]:
        return []

    def close(self) -> None:
        pass
