"""Raw ZooKeeper, for the failover benchmark's baseline: how long after its holder is killed does an
ephemeral znode's watcher hear it is gone? That is the floor under any ZooKeeper failover.

``python -m actors.ha.probe HOSTS PATH SESSION_TIMEOUT`` holds an ephemeral znode at PATH (prints
"ready" once it exists) until killed; ``deletion_watch`` watches one.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from kazoo.client import KazooClient

__all__ = ["DeletionWatch", "hold_ephemeral"]


def hold_ephemeral(hosts: str, path: str, session_timeout: float) -> None:
    """Create the ephemeral ``path`` and block until this process is killed."""
    client = KazooClient(hosts=hosts, timeout=session_timeout)
    client.start(timeout=15)
    client.create(path, b"probe", ephemeral=True, makepath=True)
    print("ready", flush=True)
    threading.Event().wait()


class DeletionWatch:
    """Watch ``path`` (which must exist); ``gone_at`` is ``time.perf_counter()`` when it was deleted."""

    def __init__(self, hosts: str, path: str) -> None:
        self.client = KazooClient(hosts=hosts, timeout=10.0)
        self.client.start(timeout=15)
        self.gone = threading.Event()
        self.gone_at = 0.0
        if self.client.exists(path, watch=self._event) is None:
            self.close()
            raise RuntimeError(f"{path} does not exist")

    def _event(self, event: Any) -> None:
        if event.type == "DELETED":
            self.gone_at = time.perf_counter()
            self.gone.set()

    def close(self) -> None:
        self.client.stop()
        self.client.close()


if __name__ == "__main__":
    hold_ephemeral(sys.argv[1], sys.argv[2], float(sys.argv[3]))
