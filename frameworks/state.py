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

``write_batch(store, changes)`` makes many changes durable at once (a key to bytes, or to
None: delete): the directory store writes every temporary file, flushes them with one
``syncfs`` (Linux, a batch of SYNCFS_MIN_FILES or more; else one fsync per file), renames
them and fsyncs the directory once: a batch of N keys costs two flushes, not 2N. Each key
is still old or new after a crash (a batch is not atomic across keys); any other store
applies the changes one by one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import threading
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from actors.agent.checkpoint_io import atomic_write
from actors.ha import StoreError, ZooKeeperStore
from actors.ha.store_keys import check_key, decode_key, encode_key

__all__ = ["SYNCFS_MIN_FILES", "DirectoryStore", "StateStore", "StoreError", "open_store", "write_batch"]

_SUFFIX = ".v"  # a key's file: <encoded key>.v; its temporary (atomic_write's) <encoded key>.v.tmp


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return getattr(libc, "syncfs", None)
    except OSError:
        return None


_SYNCFS = _load_syncfs()
SYNCFS_MIN_FILES = 8  # a smaller batch fsyncs each of its files


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

    def write_many(self, changes: Iterable[tuple[str, bytes | None]]) -> None:
        """Apply ``changes`` in order (the last change of a key wins), durable when it returns."""
        final = {check_key(key): value for key, value in changes}
        for key, value in final.items():
            if value is not None and not isinstance(value, bytes | bytearray):
                raise TypeError(f"state value of {key!r} must be bytes, got {type(value).__name__}")
        if not final:
            return
        with self._lock:
            try:
                self._write_many(final)
            except OSError as e:
                raise StoreError(f"cannot write {len(final)} state keys in {self.directory}: "
                                 f"{e.strerror or e}") from None

    def _write_many(self, final: dict[str, bytes | None]) -> None:
        puts = {self._path(k): bytes(v) for k, v in final.items() if v is not None}
        written: list[int] = []
        try:
            for path, data in puts.items():
                fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                written.append(fd)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            # syncfs writes back every dirty file of the file system (others' too): worth it
            # only for a batch that would otherwise cost many fsyncs
            if len(written) < SYNCFS_MIN_FILES or not _syncfs(written[0]):
                for fd in written:
                    os.fsync(fd)
        finally:
            for fd in written:
                os.close(fd)
        for path in puts:  # every new value is on disk: only now may a name point at one
            os.replace(path + ".tmp", path)
        for key in (k for k, v in final.items() if v is None):
            try:
                os.unlink(self._path(key))
            except FileNotFoundError:
                pass
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


def _syncfs(fd: int) -> bool:
    """Flush the whole file system holding ``fd`` (True), or False where syncfs is not available."""
    if _SYNCFS is None:
        return False
    if _SYNCFS(fd) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return True


def write_batch(store: StateStore, changes: Iterable[tuple[str, bytes | None]]) -> None:
    """Make ``changes`` (key -> bytes, or None to delete) durable, in one batch where ``store``
    can (``write_many``), else one by one in order."""
    many = getattr(store, "write_many", None)
    if many is not None:
        many(changes)
        return
    for key, value in changes:
        if value is None:
            store.delete(key)
        else:
            store.put(key, value)


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
