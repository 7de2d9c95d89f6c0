"""The disk/du isolator: each container's sandbox usage measured with
``du -k -s`` every ``watch_interval`` seconds on one thread (Mesos'
--container_disk_watch_interval, default 15 s); with ``enforce`` (Mesos'
--enforce_container_disk_quota) a container over its ``disk`` resource hits
a limitation with REASON_CONTAINER_LIMITATION_DISK, and the agent kills it.
The sandbox itself is left alone (kept for inspection)."""

from __future__ import annotations

import dataclasses
import subprocess

import structlog

from isolation.base import REASON_CONTAINER_LIMITATION_DISK, Limitation, Usage
from isolation.periodic import PeriodicContainer, PeriodicIsolator

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


class DiskIsolator(PeriodicIsolator):
    """See the module docstring; a part of a CompositeIsolator that owns "disk"."""

    name = "disk-du"

    def __init__(self, watch_interval: float = 15.0, enforce: bool = False) -> None:
        self.enforce = enforce
        super().__init__(watch_interval, "container_disk_watch_interval")
        log.info("disk_isolator_started", watch_interval=watch_interval, enforce=enforce)

    @staticmethod
    def _limit(container: PeriodicContainer) -> int | None:
        return int(container.limits.disk_mb * MiB) if container.limits.disk_mb else None

    def usage(self, container_id: str) -> Usage:
        container = self._get(container_id)
        return dataclasses.replace(super().usage(container_id), disk_used_bytes=container.state.get("used"),
                                   disk_limit_bytes=self._limit(container))

    def _check(self, container_id: str, container: PeriodicContainer) -> Limitation | None:
        if container.sandbox is None:
            return None
        used = du_bytes(container.sandbox)
        if used is None:
            return None
        container.state["used"] = used
        limit = self._limit(container)
        if not self.enforce or limit is None or used <= limit:
            return None
        log.warning("disk_quota_exceeded", container_id=container_id, used_bytes=used, limit_bytes=limit,
                    sandbox=container.sandbox)
        return Limitation(reason=REASON_CONTAINER_LIMITATION_DISK,
                          message=f"Disk usage ({used // 1024}KB) exceeds quota ({limit // 1024}KB) "
                                  f"in sandbox {container.sandbox}")
