"""One watcher thread for the OOM notifications of many memory cgroups.

Each container's memory cgroup gets an eventfd registered through
``cgroup.event_control`` ("<eventfd> <fd of memory.oom_control>"); the thread
polls all eventfds plus a wake-up pipe and reports which container fired.
The kernel also signals the eventfd when the cgroup is removed, so the
receiver must check ``memory.oom_control`` before calling it an OOM.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable

import structlog

from isolation.errors import IsolationError

__all__ = ["OomWatcher"]

log = structlog.get_logger(__name__)


class OomWatcher:
    """Calls ``on_fire(container_id)`` from its own thread when a registered
    memory cgroup signals an OOM event. Thread-safe."""

    def __init__(self, on_fire: Callable[[str], None]) -> None:
        self._on_fire = on_fire
        self._lock = threading.Lock()
        self._by_fd: dict[int, str] = {}
        self._by_id: dict[str, int] = {}
        self._to_close: list[int] = []
        self._pending: list[str] = []
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread: threading.Thread | None = None
        self._closed = False

    def register(self, container_id: str, memory_path: str) -> None:
        """Watch the memory cgroup at ``memory_path`` for ``container_id``."""
        oom_control = os.path.join(memory_path, "memory.oom_control")
        event_control = os.path.join(memory_path, "cgroup.event_control")
        efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        try:
            ofd = os.open(oom_control, os.O_RDONLY | os.O_CLOEXEC)
            try:
                with open(event_control, "w") as f:
                    f.write(f"{efd} {ofd}")
            finally:
                os.close(ofd)  # the kernel keeps what it needs of it
        except OSError as exc:
            os.close(efd)
            raise IsolationError(f"cannot register an OOM eventfd on {oom_control!r}: {exc.strerror}") from exc
        with self._lock:
            if self._closed:
                os.close(efd)
                raise IsolationError(f"OOM watcher is closed; cannot watch container {container_id!r}")
            old = self._by_id.pop(container_id, None)
            if old is not None:
                del self._by_fd[old]
                self._to_close.append(old)
            self._by_fd[efd] = container_id
            self._by_id[container_id] = efd
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mesopy-oom-watcher", daemon=True)
                self._thread.start()
        self.wake()
        log.debug("oom_watch_registered", container_id=container_id, path=memory_path, eventfd=efd)

    def unregister(self, container_id: str) -> None:
        """Stop watching ``container_id`` (before its cgroup is removed)."""
        with self._lock:
            efd = self._by_id.pop(container_id, None)
            if efd is None:
                return
            del self._by_fd[efd]
            if self._thread is None or self._closed:
                os.close(efd)
                return
            self._to_close.append(efd)  # closed by the watcher thread: it may be polling it
        self.wake()

    def fire_soon(self, container_id: str) -> None:
        """Have the thread call ``on_fire(container_id)`` as if its eventfd fired
        (to deliver an OOM seen before a callback was installed)."""
        with self._lock:
            if self._closed or self._thread is None:
                return
            self._pending.append(container_id)
        self.wake()

    def wake(self) -> None:
        """Make the thread look at its state again."""
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (a wake-up is pending) or closed

    def close(self) -> None:
        """Stop the thread and close every eventfd."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self.wake()
        if thread is not None:
            thread.join(timeout=5.0)
        with self._lock:
            for fd in list(self._by_fd) + self._to_close:
                os.close(fd)
            self._by_fd.clear()
            self._by_id.clear()
            self._to_close.clear()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        log.debug("oom_watcher_started")
        while True:
            with self._lock:
                for fd in self._to_close:
                    os.close(fd)
                self._to_close.clear()
                if self._closed:
                    break
                fds = list(self._by_fd)
                pending, self._pending = self._pending, []
            for container_id in pending:
                self._call(container_id)
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            for fd in fds:
                poller.register(fd, select.POLLIN)
            for fd, _events in poller.poll():
                if fd == self._wake_r:
                    self._drain()
                    continue
                try:
                    os.eventfd_read(fd)
                except (BlockingIOError, OSError):
                    continue
                with self._lock:
                    fired = self._by_fd.get(fd)
                if fired is not None:  # None: unregistered meanwhile (e.g. the rmdir signal)
                    self._call(fired)
        log.debug("oom_watcher_stopped")

    def _call(self, container_id: str) -> None:
        try:
            self._on_fire(container_id)
        except Exception:
            log.exception("oom_callback_failed", container_id=container_id)

    def _drain(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
