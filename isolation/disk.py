"""The disk/du isolator: each container's sandbox usage measured with
``du -k -s`` every ``watch_interval`` seconds on one thread (Mesos'
--container_disk_watch_interval, default 15 s); with ``enforce`` (Mesos'
--enforce_container_disk_quota) a container over its ``disk`` resource hits
a limitation with REASON_CONTAINER_LIMITATION_DISK, and the agent kills it.
The sandbox itself is left alone (kept for inspection)."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass

import structlog

from isolation.base import (
    REASON_CONTAINER_LIMITATION_DISK,
    ContainerTable,
    Isolator,
    Limitation,
    LimitationCallback,
    Limits,
    Usage,
    check_argv,
    check_container_id,
)
from isolation.errors import IsolationValueError

__all__ = ["DiskIsolator", "du_bytes"]

log = structlog.get_logger(__name__)

MiB = 1024 * 1024
DU_TIMEOUT = 60.0


def du_bytes(path: str) -> int | None:
    """Bytes used under ``path`` as ``du -k -s`` counts them; None if du failed."""
    try:
        done = subprocess.run(["du", "-k", "-s", path], capture_output=True, text=True, timeout=DU_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("du_failed", path=path, error=str(exc))
        return None
    first = done.stdout.split()
    if not first or not first[0].isdigit():
        log.warning("du_failed", path=path, returncode=done.returncode, stderr=done.stderr.strip()[-200:])
        return None
    return int(first[0]) * 1024


@dataclass
class _Container:
    sandbox: str | None
    limit_bytes: int | None
    used_bytes: int | None = None
    callback: LimitationCallback | None = None
    limitation: Limitation | None = None
    delivered: bool = False


class DiskIsolator(ContainerTable[_Container], Isolator):
    """See the module docstring; a part of a CompositeIsolator that owns "disk"."""

    name = "disk/du"

    def __init__(self, watch_interval: float = 15.0, enforce: bool = False) -> None:
        if not watch_interval > 0:
            raise IsolationValueError(f"container_disk_watch_interval must be > 0, got {watch_interval!r}")
        super().__init__()
        self.watch_interval = watch_interval
        self.enforce = enforce
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mesopy-disk-du", daemon=True)
        self._thread.start()
        log.info("disk_isolator_started", watch_interval=watch_interval, enforce=enforce)

    @staticmethod
    def _limit(limits: Limits) -> int | None:
        return int(limits.disk_mb * MiB) if limits.disk_mb else None

    def prepare(self, container_id: str, limits: Limits, sandbox: str | None = None) -> None:
        check_container_id(container_id)
        self._add(container_id, _Container(sandbox=sandbox, limit_bytes=self._limit(limits)))

    def wrap(self, container_id: str, argv: list[str]) -> list[str]:
        check_argv(container_id, argv)
        self._get(container_id)
        return list(argv)

    def isolate(self, container_id: str, pid: int) -> None:
        self._get(container_id)

    def update(self, container_id: str, limits: Limits) -> None:
        container = self._get(container_id)
        with self._lock:
            container.limit_bytes = self._limit(limits)

    def usage(self, container_id: str) -> Usage:
        container = self._get(container_id)
        return Usage(cpus_user_time_secs=0.0, cpus_system_time_secs=0.0, cpus_limit=None, mem_rss_bytes=0,
                     mem_limit_bytes=None, timestamp=time.time(), disk_used_bytes=container.used_bytes,
                     disk_limit_bytes=container.limit_bytes)

    def limitation(self, container_id: str) -> Limitation | None:
        with self._lock:
            container = self._containers.get(container_id)
            return container.limitation if container is not None else None

    def watch(self, container_id: str, callback: LimitationCallback) -> None:
        container = self._get(container_id)
        with self._lock:
            container.callback = callback
        self._deliver(container_id, container)

    def cleanup(self, container_id: str) -> None:
        with self._lock:
            self._containers.pop(container_id, None)

    def recover(self, known: set[str]) -> list[str]:
        return []  # nothing of its own on disk; sandboxes are the agent's

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=DU_TIMEOUT + 5.0)

    # -- the watcher thread ---------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.watch_interval):
            with self._lock:
                todo = [(cid, c) for cid, c in self._containers.items() if c.sandbox is not None]
            for container_id, container in todo:
                if self._stop.is_set():
                    return
                self._measure(container_id, container)

    def _measure(self, container_id: str, container: _Container) -> None:
        assert container.sandbox is not None
        used = du_bytes(container.sandbox)
        if used is None:
            return
        with self._lock:
            container.used_bytes = used
            limit = container.limit_bytes
            over = self.enforce and limit is not None and used > limit and container.limitation is None
            if over:
                container.limitation = Limitation(
                    reason=REASON_CONTAINER_LIMITATION_DISK,
                    message=f"Disk usage ({used // 1024}KB) exceeds quota ({(limit or 0) // 1024}KB) "
                            f"in sandbox {container.sandbox}",
                )
        if over:
            log.warning("disk_quota_exceeded", container_id=container_id, used_bytes=used, limit_bytes=limit,
                        sandbox=container.sandbox)
            self._deliver(container_id, container)

    def _deliver(self, container_id: str, container: _Container) -> None:
        with self._lock:
            if container.limitation is None or container.callback is None or container.delivered:
                return
            container.delivered = True
            callback, limitation = container.callback, container.limitation
        try:
            callback(container_id, limitation)
        except Exception:
            log.exception("disk_limitation_callback_failed", container_id=container_id)
