"""Heartbeat bookkeeping for watched peers (pure: ``now`` is passed in).

ZeroMQ reconnects silently and hides a dead peer, so the endpoint pings every
watched address each ``interval`` and declares it lost when no answer has come
for ``timeout`` seconds: a peer that is alive but silent (stopped, swapping, a
paused VM, a cut link) is judged by that timeout alone. A peer whose process
died is known sooner, from the kernel: ``Disconnections`` follows the socket
monitor's news of each connection, and a connection closed under us whose
reconnection is then refused was to a process that is gone. A lost address is reported once and forgotten; watch
it again to follow the restarted peer.

Every endpoint has an incarnation (a random id made when it starts) that tells
it from a successor bound to the same port. ``Incarnations`` keeps which one
answers at each address, learnt from every frame and pong: when another one
speaks there, the one known has ended (its process is gone, whatever heartbeats
say), and frames still coming from an ended one are stale.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from transport.errors import PIDError
from transport.pid import parse_address

__all__ = [
    "Disconnections", "Incarnations", "Liveness", "Control", "PING", "PONG", "STAMP",
    "ping_frame", "pong_frame", "parse_control", "routing_id", "split_message", "stamp",
]

# Control frames start with a NUL byte, which no msgpack frame of envelopes does.
PING = b"\x00ping"
PONG = b"\x00pong"
STAMP = b"\x01"  # first byte of the part before a data frame naming the incarnation it is for


@dataclass(frozen=True, slots=True)
class Control:
    """A parsed control frame: ``ping`` (reply to ``address`` naming ``name``),
    ``pong`` (from ``address``, whose endpoint is ``incarnation``) or
    ``bare_ping`` (answer on the same connection). ``token``: what a ping carries and its
    pong gives back (``transport.senders``), b"" if none."""

    kind: str
    address: str = ""
    name: bytes = b""
    incarnation: str = ""
    token: bytes = b""


def ping_frame(ours: str, theirs: str, token: bytes = b"") -> bytes:
    """``\\x00ping <our address> <their address> [<token>]``: they answer
    ``\\x00pong <their address> <their incarnation> [<token>]``."""
    frame = b"%s %s %s" % (PING, ours.encode(), theirs.encode())
    return frame + b" " + token if token else frame


def pong_frame(name: bytes, incarnation: str, token: bytes = b"") -> bytes:
    """``\\x00pong <the name the pinger uses for us> <our incarnation> [<the ping's token>]``."""
    frame = b"%s %s %s" % (PONG, name, incarnation.encode())
    return frame + b" " + token if token else frame


def stamp(incarnation: str) -> bytes:
    """The part sent ahead of a data frame meant for ``incarnation`` only."""
    return STAMP + incarnation.encode()


def routing_id(incarnation: str, n: int | str) -> bytes:
    """The routing id of an endpoint's DEALER: its incarnation, then ``.n`` (the endpoint uses
    random text for ``n``, so the id of a connection of ours cannot be guessed and taken over)."""
    return b"%s.%s" % (incarnation.encode(), str(n).encode())


def split_message(identity: bytes, parts: list[bytes]) -> tuple[str, bytes, list[bytes]]:
    """A message as a ROUTER got it: (the sender's incarnation, "" if it gave none; the
    incarnation it is for, b"" if any; the rest). Our DEALERs' routing ids name their
    incarnation (``routing_id``); ZeroMQ's own ids start with NUL."""
    sender = identity.partition(b".")[0].decode("ascii", "replace") if identity[:1] not in (b"", b"\x00") else ""
    if len(parts) == 2 and parts[0][:1] == STAMP:
        return sender, parts[0][1:], parts[1:]
    return sender, b"", parts


def parse_control(frame: bytes) -> Control | None:
    """The control frame's meaning, or None if it is malformed."""
    if frame == PING:
        return Control("bare_ping")
    words = frame.split(b" ")
    try:
        texts = [w.decode("ascii") for w in words[1:]]
        if words[0] == PONG and len(texts) in (1, 2, 3):
            return Control("pong", texts[0], incarnation=texts[1] if len(texts) >= 2 else "",
                           token=words[3] if len(texts) == 3 else b"")
        if words[0] == PING and len(texts) in (2, 3):
            parse_address(texts[0])
            return Control("ping", texts[0], words[2], token=words[3] if len(texts) == 3 else b"")
    except (UnicodeDecodeError, PIDError):
        pass
    return None


class Liveness:
    def __init__(self, interval: float, timeout: float) -> None:
        if interval <= 0 or timeout <= interval:
            raise ValueError(f"need 0 < heartbeat interval < timeout, got {interval} and {timeout}")
        self.interval = interval
        self.timeout = timeout
        self._last_seen: dict[str, float] = {}
        self._watchers: dict[str, int] = {}
        self._next_ping = 0.0

    def watch(self, address: str, now: float) -> None:
        self._watchers[address] = self._watchers.get(address, 0) + 1
        self._last_seen.setdefault(address, now)

    def unwatch(self, address: str) -> None:
        left = self._watchers.get(address, 0) - 1
        if left <= 0:
            self._watchers.pop(address, None)
            self._last_seen.pop(address, None)
        else:
            self._watchers[address] = left

    def watched(self) -> list[str]:
        return list(self._watchers)

    def heard_from(self, address: str, now: float) -> None:
        """A sign of life from the incarnation watched."""
        if address in self._last_seen:
            self._last_seen[address] = now

    def forget(self, address: str) -> bool:
        """Stop watching ``address`` at once (its process is known gone); whether it was watched."""
        self._watchers.pop(address, None)
        return self._last_seen.pop(address, None) is not None

    def tick(self, now: float) -> tuple[list[str], list[str]]:
        """(addresses to ping now, addresses just lost)."""
        lost = [a for a, seen in self._last_seen.items() if now - seen >= self.timeout]
        for address in lost:
            self._last_seen.pop(address, None)
            self._watchers.pop(address, None)
        ping: list[str] = []
        if now >= self._next_ping:
            ping = list(self._last_seen)
            self._next_ping = now + self.interval
        return ping, lost

    def next_deadline(self, now: float) -> float:
        """Seconds until tick() has something to do."""
        if not self._last_seen:
            return self.interval
        oldest = min(self._last_seen.values())
        return max(0.0, min(self._next_ping, oldest + self.timeout) - now)


class Incarnations:
    """The incarnation known at each address, and incarnations known ended (each bounded by ``limit``,
    least recently heard from forgotten first)."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._at: OrderedDict[str, str] = OrderedDict()
        self._ended: OrderedDict[str, None] = OrderedDict()

    def of(self, address: str) -> str:
        """The incarnation last heard from at ``address``; "" if none (safe from any thread)."""
        return self._at.get(address, "")

    def ended(self, incarnation: str) -> bool:
        return incarnation in self._ended

    def end(self, address: str) -> str:
        """The process at ``address`` is known gone: its incarnation (returned) has ended, and the
        next one to speak there replaces nobody."""
        known = self._at.pop(address, "")
        if known:
            self._ended[known] = None
            if len(self._ended) > self.limit:
                self._ended.popitem(last=False)
        return known

    def learn(self, address: str, incarnation: str) -> str:
        """``incarnation`` speaks at ``address``: the incarnation it replaces there, or ""."""
        known = self._at.get(address)
        if known == incarnation:
            self._at.move_to_end(address)
            return ""
        self._at[address] = incarnation
        self._at.move_to_end(address)
        if len(self._at) > self.limit:
            self._at.popitem(last=False)
        if known is None:
            return ""
        self._ended[known] = None
        if len(self._ended) > self.limit:
            self._ended.popitem(last=False)
        return known


class Disconnections:
    """Connections the kernel closed under us, until they connect again (bounded by ``limit``).

    ZeroMQ reports a closed connection (``disconnected``), then at once schedules the
    reconnection (one ``retried``); a further ``retried`` means an attempt failed (refused:
    nothing listens there any more). A stopped process keeps its connections and its
    listening socket, so it never looks like this."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._retries: OrderedDict[str, int] = OrderedDict()

    def connected(self, address: str) -> None:
        self._retries.pop(address, None)

    def disconnected(self, address: str) -> None:
        self._retries[address] = 0
        self._retries.move_to_end(address)
        while len(self._retries) > self.limit:
            self._retries.popitem(last=False)

    def retried(self, address: str) -> bool:
        """A reconnection to ``address`` was scheduled; True when that means the peer is gone."""
        if address not in self._retries:
            return False
        self._retries[address] += 1
        if self._retries[address] < 2:
            return False
        del self._retries[address]
        return True
