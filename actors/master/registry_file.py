"""The registry in a file under the master's ``--work_dir`` (``--registry=replicated_log`` without ``--zk``).

Mesos' replicated log with a quorum of one is a durable log on the master's own
disk; this is its equivalent for a single master: ``<work_dir>/registry``,
replaced atomically (write a temporary file, fsync, rename, fsync the
directory) so a kill -9 at any instant leaves the old or the new registry,
never a torn one. The same interface as ``actors.ha.RegistryStore``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import structlog

__all__ = ["FileRegistryStore"]

log = structlog.get_logger(__name__)


class FileRegistryStore:
    """``<work_dir>/registry``: ``read()`` once at start, then ``write(data, done)`` in order."""

    def __init__(self, work_dir: str) -> None:
        self.path = os.path.join(work_dir, "registry")

    def read(self, timeout: float = 0.0) -> bytes | None:
        """The stored registry, None when there is none yet (``timeout``: unused, a local read)."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        log.info("registry_fetched", path=self.path, bytes=len(data))
        return data

    def write(self, data: bytes, done: Callable[[str], None]) -> None:
        """Replace the registry with ``data`` atomically; ``done(error)`` ("" on success), before returning."""
        tmp = self.path + ".tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            fd = os.open(os.path.dirname(self.path), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            done(f"cannot write {self.path}: {e}")
            return
        done("")
