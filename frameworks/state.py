"""Durable key-value state for the framework services (Marathon, Chronos): ZooKeeper or a directory.

``open_store(zk, state_dir, name)`` gives a ``StateStore``: with ``zk``
(``zk://h:p/marathon``) the keys live in ZooKeeper under ``/marathon/<name>``
(actors/ha/kv_store.py, the kazoo shell), else in the directory
``<state_dir>/<name>``. Keys are '/'-separated paths (``apps/prod/web``);
``keys(prefix)`` lists those starting with ``prefix`` (plain text prefix),
sorted. ``put`` is durable when it returns: the directory store writes a
temporary file, fsyncs it, renames it over the key's file and fsyncs the
directory (actors/agent/checkpoint_io.atomic_write), so a kill -9 at any
instant leaves a key's old value or its new one, never a torn one. One
process owns a state directory at a time (an flock on ``.lock``).
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Protocol, runtime_checkable

from actors.agent.checkpoint_io import atomic_write
from actors.ha import StoreError, ZooKeeperStore
from actors.ha.store_keys import check_key, decode_key, encode_key

__all__ = ["DirectoryStore", "StateStore", "StoreError", "open_store"]

_SUFFIX = ".v"  # a key's file: <encoded key>.v; its temporary (atomic_write's) <encoded key>.v.tmp


@runtime_checkable
class StateStore(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, value: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> list[str]: ...
    def close(self) -> None: ...


class DirectoryStore:
    """``StateStore`` in ``directory``: one file per key, replaced atomically; thread-safe."""

    def __init__(self, directory: str) -> None:
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self._lock = threading.Lock()
        self._lock_fd = os.open(os.path.join(self.directory, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise StoreError(f"state directory {self.directory} is in use by another process") from None
        for name in os.listdir(self.directory):
            if name.endswith(_SUFFIX + ".tmp"):  # a put cut short by a crash: the key kept its old value
                os.unlink(os.path.join(self.directory, name))

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, encode_key(check_key(key)) + _SUFFIX)

    def get(self, key: str) -> bytes | None:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StoreError(f"cannot read state key {key!r} in {self.directory}: {e.strerror or e}") from None

    def put(self, key: str, value: bytes) -> None:
        path = self._path(key)
        if not isinstance(value, bytes | bytearray):
            raise TypeError(f"state value of {key!r} must be bytes, got {type(value).__name__}")
        with self._lock:  # atomic_write's one temporary name per key wants one writer at a time
            try:
                atomic_write(path, bytes(value))
            except OSError as e:
                raise StoreError(f"cannot write state key {key!r} in {self.directory}: {e.strerror or e}") from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._lock:
            try:
                os.unlink(path)
            except FileNotFoundError:
                return
            except OSError as e:
                raise StoreError(f"cannot delete state key {key!r} in {self.directory}: {e.strerror or e}") from None
            fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def keys(self, prefix: str = "") -> list[str]:
        found = (decode_key(name[: -len(_SUFFIX)]) for name in os.listdir(self.directory) if name.endswith(_SUFFIX))
        return sorted(k for k in found if k is not None and k.startswith(prefix))

    def close(self) -> None:
        with self._lock:
            if self._lock_fd >= 0:
                os.close(self._lock_fd)  # releases the flock
                self._lock_fd = -1


def open_store(zk: str | None, state_dir: str, name: str) -> StateStore:
    """The store named ``name``: in ZooKeeper under ``zk``'s path when ``zk`` is given, else in
    ``<state_dir>/<name>``. ValueError naming a bad ``zk`` URL or name; StoreError/RuntimeError
    when the store cannot be opened (ZooKeeper unreachable, directory in use)."""
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"store name must be one non-empty path part, got {name!r}")
    if zk:
        return ZooKeeperStore(zk, name)
    if not state_dir:
        raise ValueError("a state directory (--state_dir) is needed when no --zk is given")
    return DirectoryStore(os.path.join(state_dir, name))
