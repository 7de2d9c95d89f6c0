"""The keys of a framework's state store (pure): '/'-separated paths, each stored under one flat name.

Both stores (a directory, frameworks/state.py, and ZooKeeper, actors/ha/kv_store.py)
keep every key as one entry directly under their root, named by the key
percent-encoded (``apps/prod/web`` -> ``apps%2Fprod%2Fweb``). Flat names keep a key
and the keys below it (``apps/prod`` and ``apps/prod/web``) apart without
directories or parent znodes to clean up, and ``keys(prefix)`` is one listing.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

__all__ = ["MAX_NAME_BYTES", "StoreError", "check_key", "decode_key", "encode_key"]

MAX_NAME_BYTES = 250  # an encoded key longer than this is refused (file names stop at 255 bytes)


class StoreError(RuntimeError):
    """A store operation failed (I/O, ZooKeeper); the message names the key and the cause."""


def check_key(key: object) -> str:
    """``key`` if it is a valid store key, else ValueError naming it."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"a state key must be non-empty text, got {key!r}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"state key {key!r}: each '/'-separated part must be non-empty and not '.' or '..'")
    if "\x00" in key:
        raise ValueError(f"state key {key!r} contains a NUL character")
    if len(encode_key(key).encode()) > MAX_NAME_BYTES:
        raise ValueError(f"state key {key[:60]!r}... is too long: {len(encode_key(key))} bytes encoded, "
                         f"at most {MAX_NAME_BYTES}")
    return key


def encode_key(key: str) -> str:
    """The flat entry name of ``key`` (no '/', never '.' or '..')."""
    return quote(key, safe="")


def decode_key(name: str) -> str | None:
    """The key an entry name holds, or None when ``name`` is not one ``encode_key`` makes."""
    key = unquote(name)
    return key if key and encode_key(key) == name else None
