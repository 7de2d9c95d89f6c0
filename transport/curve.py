"""CURVE keys (pure: no socket, no zmq): key files, a process's key pair, and the book of
which server key each peer address has.

A key is its 40-character Z85 text, as bytes. Key files are ZeroMQ's certificate
format, what ``zmq.auth.create_certificates`` writes: the public file holds
``public-key = "..."``, the secret file both ``public-key`` and ``secret-key``. A
file holding just the 40 Z85 characters is read too.

Every endpoint uses one key pair for both of its roles: its ROUTER is a CURVE server
with it, its DEALERs are CURVE clients with it. So the client key a connection
authenticated with is the server key of the process that made it, and that is
how a peer's key is learnt: when a connection with key K is proven to speak for
address A (``transport.senders``: the proof is asked of A over a connection to A
that only a server holding K's secret can complete), A's key is K. Keys given by
configuration (the master's, for agents and drivers; the agent's, for its
executors) are pinned and never replaced by what is learnt.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["CurveError", "CurveKeys", "KeyBook", "load_public_key", "load_key_pair", "parse_key",
           "write_key_files"]

_Z85 = re.compile(rb"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
_FIELD = re.compile(r'^\s*(public|secret)-key\s*=\s*"([^"]*)"\s*$', re.MULTILINE)


class CurveError(ValueError):
    """A bad key or key file, named in the message."""


def parse_key(text: str | bytes, what: str = "CURVE key") -> bytes:
    """The Z85 text of a key; CurveError naming ``what`` and the bad value."""
    key = text.strip().encode() if isinstance(text, str) else text.strip()
    if not _Z85.match(key):
        raise CurveError(f"{what}: {key[:60]!r} is not a 40-character Z85 CURVE key")
    return key


def _fields(path: str, what: str) -> dict[str, bytes]:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read(64 * 1024)
    except (OSError, UnicodeDecodeError) as e:
        raise CurveError(f"{what}: cannot read {path!r}: {e}") from None
    found = {kind: parse_key(value, f"{what} {path!r} {kind}-key") for kind, value in _FIELD.findall(text)}
    if not found and text.strip():
        found["bare"] = parse_key(text, f"{what} {path!r}")
    return found


def load_public_key(value: str, what: str = "public key") -> bytes:
    """A public key given as its Z85 text or as a key file (either of ZeroMQ's files)."""
    if not os.path.exists(value):
        if _Z85.match(value.strip().encode()):
            return parse_key(value, what)
        raise CurveError(f"{what}: {value[:60]!r} is neither a 40-character Z85 CURVE key nor a key file")
    fields = _fields(value, what)
    key = fields.get("public") or fields.get("bare")
    if key is None:
        raise CurveError(f"{what}: {value!r} holds no public-key")
    return key


@dataclass(frozen=True)
class CurveKeys:
    """A process's key pair (Z85)."""

    public: bytes
    secret: bytes

    def __repr__(self) -> str:  # never the secret in a log line
        return f"CurveKeys(public={self.public.decode()!r})"


def load_key_pair(secret_file: str, public_file: str = "") -> CurveKeys:
    """The pair in ``secret_file`` (ZeroMQ's secret certificate); ``public_file``, if given,
    must hold the same public key. CurveError naming the file and the fault."""
    fields = _fields(secret_file, "--curve_secret_key")
    secret, public = fields.get("secret"), fields.get("public")
    if secret is None:
        raise CurveError(f"--curve_secret_key: {secret_file!r} holds no secret-key "
                         "(a ZeroMQ secret certificate, as zmq.auth.create_certificates writes)")
    if public is None:
        if not public_file:
            raise CurveError(f"--curve_secret_key: {secret_file!r} holds no public-key; give --curve_public_key")
        public = load_public_key(public_file, "--curve_public_key")
    elif public_file and load_public_key(public_file, "--curve_public_key") != public:
        raise CurveError(f"--curve_public_key: {public_file!r} is not the public key of {secret_file!r}")
    return CurveKeys(public, secret)


def write_key_files(directory: str, name: str, keys: CurveKeys) -> tuple[str, str]:
    """Write ``name.key`` and ``name.key_secret`` (mode 0600) in ZeroMQ's format; their paths."""
    paths = os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.key_secret")
    bodies = (f'curve\n    public-key = "{keys.public.decode()}"\n',
              f'curve\n    public-key = "{keys.public.decode()}"\n    secret-key = "{keys.secret.decode()}"\n')
    for path, body in zip(paths, bodies):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write("#   ZeroMQ CURVE certificate (mesopy)\n\nmetadata\n" + body)
    return paths


class KeyBook:
    """The server key of each peer address: pinned (configuration) or learnt (a proven
    connection's key); at most ``limit`` learnt ones, least recently used forgotten."""

    def __init__(self, limit: int = 4096) -> None:
        if limit < 1:
            raise ValueError(f"key book limit must be >= 1, got {limit}")
        self.limit = limit
        self._pinned: dict[str, bytes] = {}
        self._learnt: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pinned) + len(self._learnt)

    def pin(self, address: str, key: bytes) -> None:
        self._pinned[address] = parse_key(key, f"key of {address}")
        self._learnt.pop(address, None)

    def of(self, address: str) -> bytes:
        """The key to connect to ``address`` with, b"" if none is known."""
        key = self._pinned.get(address)
        if key is not None:
            return key
        key = self._learnt.get(address)
        if key is None:
            return b""
        self._learnt.move_to_end(address)
        return key

    def learn(self, address: str, key: bytes) -> bool:
        """``address`` proved it holds ``key``; whether that changed what ``of`` answers."""
        if address in self._pinned or not key:
            return False
        changed = self._learnt.get(address) != key
        self._learnt[address] = key
        self._learnt.move_to_end(address)
        while len(self._learnt) > self.limit:
            self._learnt.popitem(last=False)
        return changed
