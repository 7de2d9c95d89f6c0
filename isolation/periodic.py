"""The shared shell of isolators that check their containers on a timer
(disk/du, network/ports): one thread for all containers, and a limitation
delivered once to the callback ``watch`` installed."""

from __future__ import annotations

import threading
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

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

__all__ = ["PeriodicContainer", "PeriodicIsolator"]

log = structlog.get_logger(__name__)


@dataclass
class PeriodicContainer:
    limits: Limits
    sandbox: str | None
    pid: int | None = None
    callback: LimitationCallback | None = None
    limitation: Limitation | None = None
    delivered: bool = False
    state: dict[str, Any] = field(default_factory=dict)  # what the subclass measured


class PeriodicIsolator(TrackedContainerTable[PeriodicContainer], Isolator):
    """Calls ``_check`` for every container every ``interval`` seconds on one thread;
    ``_check`` returns a Limitation to raise (delivered once) or None."""

    def __init__(self, interval: float, flag: str) -> None:
        if not interval > 0:
            raise IsolationValueError(f"--{flag} must be > 0, got {interval!r}")
        super().__init__()
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"mesopy-{self.name}", daemon=True)
        self._thread.start()

    @abstractmethod
    def _check(self, container_id: str, container: PeriodicContainer) -> Limitation | None:
        """Measure the container (off the lock); a Limitation when it broke its limit."""

    def prepare(self, container_id: str, limits: Limits, sandbox: str | None = None) -> None:
        check_container_id(container_id)
        self._add(container_id, PeriodicContainer(limits=limits, sandbox=sandbox))

    def usage(self, container_id: str) -> Usage:
        self._get(container_id)
        return Usage(cpus_user_time_secs=0.0, cpus_system_time_secs=0.0, cpus_limit=None, mem_rss_bytes=0,
                     mem_limit_bytes=None, timestamp=time.time())

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
        return []  # nothing of its own on the host

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 65.0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                todo = list(self._containers.items())
            for container_id, container in todo:
                if self._stop.is_set():
                    return
                try:
                    found = self._check(container_id, container)
                except Exception:
                    log.exception("periodic_check_failed", isolator=self.name, container_id=container_id)
                    continue
                if found is None:
                    continue
                with self._lock:
                    if container.limitation is None:
                        container.limitation = found
                self._deliver(container_id, container)

    def _deliver(self, container_id: str, container: PeriodicContainer) -> None:
        with self._lock:
            if container.limitation is None or container.callback is None or container.delivered:
                return
            container.delivered = True
            callback, limitation = container.callback, container.limitation
        try:
            callback(container_id, limitation)
        except Exception:
            log.exception("limitation_callback_failed", isolator=self.name, container_id=container_id)
