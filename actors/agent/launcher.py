"""Starting executor OS processes in their sandboxes, and one reaper thread
that reports their exits (pidfd + selector; no thread per executor)."""

from __future__ import annotations

import os
import selectors
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from actors.agent.users import RunAs
from actors.logs import LOG_FORMAT_ENV, LOG_LEVEL_ENV
from isolation.base import Entry

__all__ = ["Child", "LaunchSpec", "Reaper", "executor_argv", "launch_executor", "link_latest", "prepare_sandbox",
           "process_environment", "sandbox_path", "wait_status"]

log = structlog.get_logger(__name__)

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sandbox_path(work_dir: str, agent_id: str, framework_id: str, executor_id: str, container_id: str) -> str:
    """Mesos' layout: work_dir/slaves/<agent>/frameworks/<fid>/executors/<eid>/runs/<container>."""
    return os.path.join(work_dir, "slaves", agent_id, "frameworks", framework_id, "executors", executor_id,
                        "runs", container_id)


def executor_argv(command: dict[str, Any]) -> list[str]:
    """A CommandInfo dict -> argv: ``/bin/sh -c value`` when shell (default), else ``arguments``
    (or ``[value]``) run as ``value``."""
    value = str(command.get("value") or "")
    if command.get("shell", True):
        if not value:
            raise ValueError(f"shell command is empty in {command!r}")
        return ["/bin/sh", "-c", value]
    arguments = [str(a) for a in command.get("arguments") or []]
    if not value:
        raise ValueError(f"command value is empty in {command!r}")
    return [value, *arguments[1:]] if arguments else [value]


def wait_status(returncode: int | None) -> int:
    """Popen's returncode as a POSIX wait status (-9 -> 9, exit 3 -> 768); -1 when not known
    (a recovered executor: not our child, so its status is not ours to read), as Mesos."""
    if returncode is None:
        return -1
    return -returncode if returncode < 0 else (returncode & 0xFF) << 8


@dataclass
class LaunchSpec:
    argv: list[str]
    directory: str
    env: dict[str, str]
    run_as: RunAs | None = None  # the sandbox's owner; ``argv`` already switches to it
    # How a fork of the agent's zygote enters the container instead of exec'ing ``argv``
    # (the command executor only); None: exec ``argv``.
    entry: Entry | None = None


class Child(Protocol):
    """A launched executor process: a Popen, or a fork of the zygote (zygote_client.ForkedProcess)."""

    @property
    def pid(self) -> int: ...

    def wait(self, timeout: float | None = None) -> int | None: ...


def link_latest(directory: str) -> None:
    """Point ``runs/latest`` beside the run ``directory`` at it (as Mesos does), replacing
    an older link atomically: the executor's newest sandbox has a fixed path."""
    runs, run = os.path.split(os.path.normpath(directory))
    link = os.path.join(runs, "latest")
    staging = f"{link}.{run}"
    try:
        os.symlink(run, staging)
    except FileExistsError:
        os.unlink(staging)
        os.symlink(run, staging)
    os.replace(staging, link)


# The agent's own MESOPY_* settings that its executors share: how they log.
_SHARED_SETTINGS = frozenset({LOG_LEVEL_ENV, LOG_FORMAT_ENV})


def process_environment(extra: dict[str, str]) -> dict[str, str]:
    """An executor's whole environment: the agent's without its MESOS_*/MESOPY_* variables
    (but for MESOPY_LOG_LEVEL and MESOPY_LOG_FORMAT: executors log as their agent does),
    mesopy on PYTHONPATH, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESOS_", "MESOPY_")) or k in _SHARED_SETTINGS}
    python_path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = _REPO_ROOT + (os.pathsep + python_path if python_path else "")
    env.update(extra)
    return env


def prepare_sandbox(spec: LaunchSpec) -> tuple[str, str]:
    """Create the sandbox with its stdout and stderr files (owned by ``spec.run_as`` when it is
    given, as Mesos chowns the sandbox to the task's user), point ``runs/latest`` at it;
    returns the paths of stdout and stderr."""
    os.makedirs(spec.directory, exist_ok=True)
    link_latest(spec.directory)
    paths = os.path.join(spec.directory, "stdout"), os.path.join(spec.directory, "stderr")
    for path in paths:
        with open(path, "ab") as f:
            if spec.run_as is not None:
                os.chown(f.fileno(), spec.run_as.uid, spec.run_as.gid)
    if spec.run_as is not None:
        os.chown(spec.directory, spec.run_as.uid, spec.run_as.gid)
    return paths


def launch_executor(spec: LaunchSpec, on_forked: Callable[[int], None] | None = None) -> subprocess.Popen[bytes]:
    """Exec the executor (``spec.argv``) in a new session with stdout/stderr in its sandbox
    (``prepare_sandbox``). ``on_forked(pid)`` runs at once after the fork (the agent
    checkpoints the pid there, before anything else can happen)."""
    stdout, stderr = prepare_sandbox(spec)
    with open(stdout, "ab") as out, open(stderr, "ab") as err:
        proc = subprocess.Popen(spec.argv, cwd=spec.directory, env=process_environment(spec.env),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                                close_fds=True)
    if on_forked is not None:
        on_forked(proc.pid)
    return proc


ExitCallback = Callable[[int | None], None]


class Reaper:
    """Waits for many processes on one thread; ``on_exit(returncode)`` runs there.
    ``watch`` takes a child (its returncode is known); ``watch_pid`` any process, e.g. an
    executor a previous run of the agent started (returncode None: not ours to reap)."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        self._selector.register(self._rfd, selectors.EVENT_READ, None)
        self._pending: list[tuple[int, Callable[[], int | None], ExitCallback]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="executor-reaper", daemon=True)
        self._thread.start()

    def watch(self, proc: Child, on_exit: ExitCallback) -> None:
        self._add(proc.pid, proc.wait, on_exit)

    def watch_pid(self, pid: int, on_exit: ExitCallback) -> None:
        self._add(pid, lambda: None, on_exit)

    def _add(self, pid: int, wait: Callable[[], int | None], on_exit: ExitCallback) -> None:
        with self._lock:
            self._pending.append((pid, wait, on_exit))
        os.write(self._wfd, b"x")

    def close(self) -> None:
        with self._lock:
            self._closed = True
        os.write(self._wfd, b"x")
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.data is None:
                    try:
                        os.read(self._rfd, 4096)
                    except BlockingIOError:
                        pass
                    continue
                pid, wait, on_exit, fd = key.data
                self._selector.unregister(fd)
                os.close(fd)
                self._call(pid, on_exit, wait())
            with self._lock:
                if self._closed:
                    self._selector.close()
                    os.close(self._rfd)
                    os.close(self._wfd)
                    return
                pending, self._pending = self._pending, []
            for pid, wait, on_exit in pending:
                try:
                    fd = os.pidfd_open(pid)
                except ProcessLookupError:  # already gone (or reaped elsewhere)
                    self._call(pid, on_exit, wait())
                    continue
                self._selector.register(fd, selectors.EVENT_READ, (pid, wait, on_exit, fd))

    @staticmethod
    def _call(pid: int, on_exit: ExitCallback, returncode: int | None) -> None:
        try:
            on_exit(returncode)
        except Exception:
            log.exception("reaper_callback_failed", pid=pid)
