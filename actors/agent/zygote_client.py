"""The agent's end of its executor launcher (``actors.agent.zygote``): starting it, asking it
for forks, the exits it reports, restarting it when it dies, and exec as the fallback.

``ExecutorLauncher.launch`` forks a command executor from the zygote when the
launch spec says how to enter its container (``LaunchSpec.entry``) and the
zygote is up; otherwise (no entry: a custom executor or an isolator that needs
its exec wrapper; the zygote not running) it execs ``LaunchSpec.argv`` as
before, and says once that the launcher is unavailable. A zygote that dies
(kill -9) is seen at once (its socket closes) and started again; the
executors it had forked live on, watched by their pid as recovered executors
are (exit status unknown, as theirs).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from collections.abc import Callable
from typing import Any

import structlog

from actors.agent.launcher import Child, ExitCallback, LaunchSpec, Reaper, launch_executor, prepare_sandbox, \
    process_environment
from actors.agent.zygote import ENV_SPACE, ENV_SPACE_VARIABLE, MAX_MESSAGE

__all__ = ["ExecutorLauncher", "ForkedProcess", "Zygote", "ZygoteError"]

log = structlog.get_logger(__name__)

ZYGOTE_ARGV = (sys.executable, "-m", "actors.agent.zygote")
READY_TIMEOUT = 30.0    # its imports, on a loaded machine
SPAWN_TIMEOUT = 10.0    # one fork
RESTART_BACKOFF = 1.0   # between failed starts


class ZygoteError(Exception):
    """The zygote could not fork this executor (not running, died, or refused)."""


class ForkedProcess:
    """An executor forked by the zygote: its exit comes from the zygote's report (or, once the
    zygote has died, from the reaper watching its pid: status unknown, None)."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._callback: ExitCallback | None = None
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        return self._pid

    def on_exit(self, callback: ExitCallback) -> None:
        """``callback(returncode)`` once it has exited (now, if it has)."""
        with self._lock:
            done = self._done.is_set()
            if not done:
                self._callback = callback
        if done:
            callback(self.returncode)

    def exited(self, returncode: int | None) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self.returncode = returncode
            self._done.set()
            callback, self._callback = self._callback, None
        if callback is not None:
            callback(returncode)

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"executor {self._pid}", timeout or 0.0)
        return self.returncode


class Zygote:
    """One running zygote process and the thread that reads what it says. ``on_lost(self)``
    runs on that thread when it has died; its live children are in ``children``."""

    def __init__(self, on_lost: Callable[[Zygote], None], argv: tuple[str, ...] = ZYGOTE_ARGV) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = process_environment({ENV_SPACE_VARIABLE: "x" * ENV_SPACE})
        try:
            self.proc = subprocess.Popen([*argv, str(theirs.fileno())], pass_fds=(theirs.fileno(),), env=env,
                                         stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        finally:
            theirs.close()
        self._sock = ours
        self._lock = threading.Lock()
        self._next = 0
        self._pending: dict[int, Future[ForkedProcess]] = {}
        self.children: dict[int, ForkedProcess] = {}
        self._on_lost = on_lost
        ours.settimeout(READY_TIMEOUT)
        try:
            ready = json.loads(ours.recv(MAX_MESSAGE) or b"null")
        except (OSError, ValueError) as e:
            self._kill()
            raise ZygoteError(f"executor launcher did not start: {e}") from e
        if not isinstance(ready, dict) or "ready" not in ready:
            self._kill()
            raise ZygoteError(f"executor launcher did not start (exit status {self.proc.poll()})")
        ours.settimeout(None)
        self.env_space = int(ready["env_space"])
        self._thread = threading.Thread(target=self._read, name="executor-launcher-reader", daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def spawn(self, request: dict[str, Any]) -> ForkedProcess:
        future: Future[ForkedProcess] = Future()
        with self._lock:
            self._next += 1
            rid = self._next
            self._pending[rid] = future
        try:
            self._sock.send(json.dumps({**request, "id": rid}).encode())
            return future.result(SPAWN_TIMEOUT)
        except (OSError, FutureTimeout) as e:
            raise ZygoteError(f"executor launcher did not fork: {e or 'no answer'}") from e
        finally:
            with self._lock:
                self._pending.pop(rid, None)

    def close(self) -> None:
        """Close our end: it forks no more and exits once its children are gone (waited for
        here when it has none: no zombie is left)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(timeout=5)
        self._sock.close()
        with self._lock:
            idle = not self.children
        if idle:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def take_children(self) -> list[ForkedProcess]:
        """The children it had not reported ended (once it has died: they are ours to watch now)."""
        with self._lock:
            children, self.children = list(self.children.values()), {}
        return children

    def _kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._sock.close()

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            if "exit" in message:
                with self._lock:
                    child = self.children.pop(int(message["exit"]), None)
                if child is not None:
                    child.exited(int(message["returncode"]))
                continue
            forked = ForkedProcess(int(message["pid"])) if "pid" in message else None
            with self._lock:
                future = self._pending.get(message.get("id"))
                if forked is not None:
                    self.children[forked.pid] = forked  # before the next message: its exit
            if future is None:
                continue
            if forked is not None:
                future.set_result(forked)
            else:
                future.set_exception(ZygoteError(f"executor launcher refused: {message.get('error')}"))
        with self._lock:
            pending = list(self._pending.values())
        for future in pending:
            if not future.done():
                future.set_exception(ZygoteError("executor launcher exited"))
        self._on_lost(self)


class ExecutorLauncher:
    """Starts executors: forked from the zygote when it can, else exec'd (see the module doc)."""

    def __init__(self, reaper: Reaper, argv: tuple[str, ...] = ZYGOTE_ARGV, enabled: bool = True) -> None:
        self._reaper = reaper
        self._argv = argv
        self._enabled = enabled
        self._lock = threading.Lock()
        self._zygote: Zygote | None = None
        self._starting: threading.Thread | None = None
        self._next_start = 0.0
        self._closed = False
        self._said_unavailable = False
        self.restarts = 0

    def start(self) -> None:
        """Start the zygote in the background (the first launch that can use it does: an agent
        that never runs a command task never pays for one); launches wait for it."""
        if self._enabled:
            self._start_in_background()

    @property
    def zygote(self) -> Zygote | None:
        return self._zygote

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> Zygote | None:
        """The running zygote, after waiting for a start in progress."""
        starting = self._starting
        if starting is not None:
            starting.join(timeout)
        return self._zygote

    def launch(self, spec: LaunchSpec, on_forked: Callable[[int], None] | None = None) -> Child:
        """Fork the executor from the zygote (``spec.entry`` given), else exec it."""
        zygote = None
        if spec.entry is not None and self._enabled:
            self.start()  # nothing to do when it runs (or is being started)
            zygote = self.wait_ready()
            if zygote is None:
                self._unavailable("not running")
        if zygote is not None and spec.entry is not None:
            stdout, stderr = prepare_sandbox(spec)
            try:
                child = zygote.spawn({"directory": spec.directory, "stdout": stdout, "stderr": stderr,
                                      "env": process_environment(spec.env),
                                      "cgroup_procs": list(spec.entry.cgroup_procs)})
            except ZygoteError as e:
                self._unavailable(str(e))
            else:
                if on_forked is not None:
                    on_forked(child.pid)
                return child
        return launch_executor(spec, on_forked)

    def watch(self, child: Child, on_exit: ExitCallback) -> None:
        """``on_exit(returncode)`` once ``child`` has exited (from the zygote's report or the reaper)."""
        if isinstance(child, ForkedProcess):
            child.on_exit(on_exit)
        else:
            self._reaper.watch(child, on_exit)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            zygote, self._zygote = self._zygote, None
        starting = self._starting
        if starting is not None:
            starting.join(READY_TIMEOUT)  # a zygote it starts now sees _closed and closes itself
        if zygote is not None:
            zygote.close()

    def _unavailable(self, why: str) -> None:
        with self._lock:
            said, self._said_unavailable = self._said_unavailable, True
        if not said:
            log.warning("executor_launcher_unavailable", error=why, fallback="exec")

    def _start_in_background(self) -> None:
        with self._lock:
            if self._closed or self._zygote is not None or time.monotonic() < self._next_start or \
                    (self._starting is not None and self._starting.is_alive()):
                return
            self._next_start = time.monotonic() + RESTART_BACKOFF
            self._starting = threading.Thread(target=self._start, name="executor-launcher-start", daemon=True)
            self._starting.start()

    def _start(self) -> None:
        try:
            zygote = Zygote(self._lost, self._argv)
        except (OSError, ZygoteError) as e:
            self._unavailable(str(e))
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self._zygote = zygote
                self._said_unavailable = False
        if closed:
            zygote.close()
            return
        log.info("executor_launcher_started", pid=zygote.pid, env_space=zygote.env_space)

    def _lost(self, zygote: Zygote) -> None:
        with self._lock:
            current = self._zygote is zygote
            if current:
                self._zygote = None
            closed = self._closed
        if not current and closed:
            return
        returncode = zygote.proc.wait()
        orphans = zygote.take_children()
        log.warning("executor_launcher_exited", pid=zygote.pid, returncode=returncode, executors=len(orphans))
        for child in orphans:  # alive without their parent now: watched by pid, status unknown
            self._reaper.watch_pid(child.pid, child.exited)
        if current and not closed:
            self.restarts += 1
            with self._lock:
                self._next_start = 0.0
            self._start_in_background()
