"""The registry's znode ``<path>/registry`` (kazoo): read once when elected, then replaced in order.

Every write is a compare-and-set on the version this master last read or
wrote, so a deposed leader that still writes fails instead of overwriting its
successor's registry. What the bytes hold is the master's business
(``actors.master.registry``); this module only stores them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

from actors.ha.election import parse_zk_url

__all__ = ["REGISTRY_ZNODE", "RegistryStore"]

log = structlog.get_logger(__name__)
REGISTRY_ZNODE = "registry"  # beside the election's json.info_ children, which the detectors skip


class RegistryStore:
    """The registry of the masters electing under ``zk_url``'s path, through ``client`` (their session)."""

    def __init__(self, client: KazooClient, zk_url: str) -> None:
        self.client = client
        self.path = f"{parse_zk_url(zk_url).path}/{REGISTRY_ZNODE}"
        self.version: int | None = None  # None: not read yet; -1: no znode yet

    def read(self, timeout: float) -> bytes | None:
        """The stored registry (None when there is none yet); raises on a ZooKeeper failure or timeout."""
        try:
            data, stat = self.client.get_async(self.path).get(timeout=timeout)
        except NoNodeError:
            self.version = -1
            return None
        self.version = stat.version
        log.info("registry_fetched", path=self.path, bytes=len(data), version=stat.version)
        return bytes(data)

    def write(self, data: bytes, done: Callable[[str], None]) -> None:
        """Store ``data`` in place of the version last seen; ``done(error)`` ("" on success) runs
        on kazoo's thread. Call again only after ``done``: one write at a time keeps them ordered."""
        if self.version is None:
            done("the registry was not read before writing")
            return
        if self.version < 0:
            self.client.create_async(self.path, data, makepath=True).rawlink(
                lambda result: self._done(result, done, created=True))
        else:
            self.client.set_async(self.path, data, version=self.version).rawlink(
                lambda result: self._done(result, done, created=False))

    def _done(self, result: Any, done: Callable[[str], None], *, created: bool) -> None:
        try:
            value = result.get_nowait()
        except Exception as e:  # BadVersionError (another leader wrote), NodeExistsError, connection loss
            done(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
            return
        self.version = 0 if created else value.version
        done("")
