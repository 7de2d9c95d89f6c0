"""A framework's state store in ZooKeeper (kazoo): one znode per key under ``<zk path>/<name>``.

``put`` returns once ZooKeeper has acknowledged the write (it is durable on a
quorum). An operation waits through a brief connection loss (kazoo sends it
once reconnected) for up to ``op_timeout`` s (default: the session timeout),
then raises StoreError naming the key. The pure key rules are in
``actors.ha.store_keys``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kazoo.exceptions import ConnectionLoss, KazooException, NodeExistsError, NoNodeError, SessionExpiredError
from kazoo.handlers.threading import KazooTimeoutError

from actors.ha.election import parse_zk_url
from actors.ha.store_keys import StoreError, check_key, decode_key, encode_key
from actors.ha.zookeeper import connect, zk_client

__all__ = ["MAX_VALUE_BYTES", "ZooKeeperStore"]

MAX_VALUE_BYTES = 1000 * 1024  # ZooKeeper refuses znodes near its 1 MiB jute.maxbuffer


class ZooKeeperStore:
    """``StateStore`` (frameworks/state.py) on ZooKeeper: keys under ``zk_url``'s path + ``/name``."""

    def __init__(self, zk_url: str, name: str, *, session_timeout: float = 10.0, connect_timeout: float = 15.0,
                 op_timeout: float | None = None) -> None:
        self.url = url = parse_zk_url(zk_url)
        if not name or "/" in name:
            raise ValueError(f"store name must be one non-empty path part, got {name!r}")
        self.root = f"{url.path}/{name}"
        self.op_timeout = session_timeout if op_timeout is None else op_timeout
        self.client = zk_client(url, session_timeout)
        connect(self.client, url, connect_timeout)
        try:
            self.client.ensure_path(self.root)
        except Exception:
            self.close()
            raise

    def _node(self, key: str) -> str:
        return f"{self.root}/{encode_key(check_key(key))}"

    def _wait(self, what: str, key: str, call: Callable[[], Any]) -> Any:
        """``call()``'s async result, waited for up to ``op_timeout`` s (through reconnections: a
        request cut off by a lost connection or an expired session is sent again); StoreError
        naming ``key`` otherwise.
        NoNodeError and NodeExistsError pass through: they are answers, not failures."""
        deadline = time.monotonic() + self.op_timeout
        while True:
            try:
                return call().get(timeout=max(0.0, deadline - time.monotonic()))
            except (ConnectionLoss, SessionExpiredError) as e:  # no ephemeral state here: a new session will do
                if time.monotonic() < deadline:
                    time.sleep(0.05)  # kazoo reconnects meanwhile; the next attempt waits for it
                    continue
                error = f"the connection was lost ({type(e).__name__})"
            except (NoNodeError, NodeExistsError):
                raise
            except KazooTimeoutError:
                error = f"no answer within {self.op_timeout} s"
            except KazooException as e:
                error = f"{type(e).__name__} {e}".rstrip()
            raise StoreError(f"cannot {what} state key {key!r} in ZooKeeper at {self.url.hosts}{self.root}: {error}")

    def get(self, key: str) -> bytes | None:
        node = self._node(key)
        try:
            data, _ = self._wait("read", key, lambda: self.client.get_async(node))
        except NoNodeError:
            return None
        return bytes(data)

    def put(self, key: str, value: bytes) -> None:
        node = self._node(key)
        if not isinstance(value, bytes | bytearray):
            raise TypeError(f"state value of {key!r} must be bytes, got {type(value).__name__}")
        if len(value) > MAX_VALUE_BYTES:
            raise ValueError(f"state value of {key!r} is {len(value)} bytes; ZooKeeper takes at most {MAX_VALUE_BYTES}")
        data = bytes(value)
        for _ in range(3):  # set, or create when missing; a race with a delete or create goes round again
            try:
                self._wait("write", key, lambda: self.client.set_async(node, data))
                return
            except NoNodeError:
                pass
            try:
                self._wait("write", key, lambda: self.client.create_async(node, data))
                return
            except NodeExistsError:
                pass
        raise StoreError(f"cannot write state key {key!r} in ZooKeeper at {self.root}: it keeps being created "
                         "and deleted by another writer")

    def delete(self, key: str) -> None:
        node = self._node(key)
        try:
            self._wait("delete", key, lambda: self.client.delete_async(node))
        except NoNodeError:
            pass

    def keys(self, prefix: str = "") -> list[str]:
        names = self._wait("list", prefix or "*", lambda: self.client.get_children_async(self.root))
        found = (decode_key(name) for name in names)
        return sorted(k for k in found if k is not None and k.startswith(prefix))

    def close(self) -> None:
        try:
            self.client.stop()
        finally:
            self.client.close()
