"""Which peer address each incoming connection speaks for (pure: ``now`` is passed in).

A ZeroMQ peer chooses its own routing id, and an envelope names its sender in
plain text, so neither proves who sent a frame. What does: TCP to an address
reaches only the process bound there. When a connection (a routing id) first
claims a sender at address ``A``, its envelopes are held and a challenge is
sent to ``A``: ``\\x00prove <our address> <token> <routing id, hex>``. The
process at ``A`` answers ``\\x00proven <token>`` only if that routing id is one
of its own connections to us; then the connection is proven to speak for
``A``, and what it holds is delivered, in order. A forger's connection is never
vouched for: its envelopes are dropped when the challenge expires (``spoofed``).

A token is an HMAC of (address, routing id) under this endpoint's secret, so
only the process at ``A`` ever sees it. With CURVE a challenge also carries the
client key the connection authenticated with (its token covers it): the
endpoint sends it to ``A`` under that key, and a proven connection stays proven
only with the same key (``transport.curve``). Pings carry a token of the pinged
address too, and a pong counts only with it (``ping_token``): a forged pong can
neither fake a sign of life nor announce a successor.

Everything is bounded: proven connections (least recently used forgotten, then
proven again), challenges open at once, envelopes held per challenge and the
bytes held in all.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Challenge", "Proofs", "PROVE", "PROVEN"]

PROVE = b"\x00prove"
PROVEN = b"\x00proven"

E = TypeVar("E")


@dataclass
class Challenge(Generic[E]):
    """A connection's claim to speak for ``address``, not yet proven; ``held`` (one list per
    frame, in order) waits for the proof."""

    address: str
    token: bytes
    deadline: float
    held: list[list[E]] = field(default_factory=list)
    count: int = 0  # items held
    key: bytes = b""  # the CURVE key the connection authenticated with (b"" without CURVE)
    size: int = 0  # bytes of the frames they came in


class Proofs(Generic[E]):
    def __init__(self, timeout: float = 5.0, max_proven: int = 4096, max_open: int = 256,
                 max_held: int = 100_000, max_held_bytes: int = 64 * 1024 * 1024, secret: bytes | None = None) -> None:
        if timeout <= 0 or max_proven < 1 or max_open < 1 or max_held < 1 or max_held_bytes < 1:
            raise ValueError(f"bad proof limits: timeout={timeout} max_proven={max_proven} "
                             f"max_open={max_open} max_held={max_held} max_held_bytes={max_held_bytes}")
        self.timeout = timeout
        self.max_proven = max_proven
        self.max_open = max_open
        self.max_held = max_held
        self.max_held_bytes = max_held_bytes  # of all challenges together
        self.held_bytes = 0
        self._secret = secret or os.urandom(32)
        self._proven: OrderedDict[bytes, tuple[str, bytes]] = OrderedDict()  # routing id -> (address, CURVE key)
        self._open: OrderedDict[bytes, Challenge[E]] = OrderedDict()  # routing id -> its challenge, oldest first

    def token(self, address: str, identity: bytes = b"") -> bytes:
        return hmac.new(self._secret, address.encode() + b"\x00" + identity, hashlib.sha256).hexdigest()[:32].encode()

    def ping_token(self, address: str) -> bytes:
        """What a ping to ``address`` carries and its pong must give back."""
        return self.token(address)

    def speaks_for(self, identity: bytes, key: bytes | None = None) -> str | None:
        """The address ``identity`` is proven to speak for, if any (with ``key`` given: only if it
        was proven with that CURVE key, so a routing id taken over by another connection is not)."""
        entry = self._proven.get(identity)
        if entry is None or (key is not None and not hmac.compare_digest(entry[1], key)):
            return None
        self._proven.move_to_end(identity)
        return entry[0]

    def pending(self, identity: bytes) -> Challenge[E] | None:
        return self._open.get(identity)

    def challenge(self, identity: bytes, address: str, now: float,
                  key: bytes = b"") -> tuple[Challenge[E] | None, bool]:
        """The open challenge of ``identity`` for ``address`` (and whether it is new: then send it),
        or None when it may not have one (too many open, or it claims another address)."""
        open_one = self._open.get(identity)
        if open_one is not None:
            return (open_one, False) if open_one.address == address else (None, False)
        if len(self._open) >= self.max_open:
            return None, False
        made: Challenge[E] = Challenge(address, self.token(address, identity + key), now + self.timeout, key=key)
        self._open[identity] = made
        return made, True

    def hold(self, challenge: Challenge[E], items: list[E], size: int = 0) -> list[E]:
        """Hold ``items`` (from a frame of ``size`` bytes) behind ``challenge``; what did not fit
        (to be dropped): at most ``max_held`` items per challenge, ``max_held_bytes`` in all."""
        room = max(0, self.max_held - challenge.count)
        if self.held_bytes + size > self.max_held_bytes:
            room = 0
        if room:
            challenge.held.append(items[:room])
            challenge.count += len(challenge.held[-1])
            challenge.size += size
            self.held_bytes += size
        return items[room:]

    def proven(self, token: bytes) -> tuple[bytes, Challenge[E]] | None:
        """``\\x00proven <token>`` came: the connection it proves and its challenge (with what it holds)."""
        for identity, challenge in self._open.items():  # few open at once (max_open)
            if hmac.compare_digest(challenge.token, token):
                del self._open[identity]
                self.held_bytes -= challenge.size
                self._proven[identity] = (challenge.address, challenge.key)
                self._proven.move_to_end(identity)
                if len(self._proven) > self.max_proven:
                    self._proven.popitem(last=False)
                return identity, challenge
        return None

    def expired(self, now: float) -> list[Challenge[E]]:
        """Challenges unanswered past their deadline, taken out (their held items are to be dropped)."""
        out: list[Challenge[E]] = []
        while self._open:
            identity, challenge = next(iter(self._open.items()))
            if challenge.deadline > now:
                break
            del self._open[identity]
            self.held_bytes -= challenge.size
            out.append(challenge)
        return out

    def next_deadline(self) -> float | None:
        return next(iter(self._open.values())).deadline if self._open else None
