"""Heartbeat bookkeeping for watched peers (pure: ``now`` is passed in).

ZeroMQ reconnects silently and hides a dead peer, so the endpoint pings every
watched address each ``interval`` and declares it lost when no answer has come
for ``timeout`` seconds, or at once when the answer comes from another
incarnation (a new process restarted on the same port: the one watched is
dead). A lost address is reported once and forgotten; watch it again to
follow the restarted peer.
"""

from __future__ import annotations

from dataclasses import dataclass

from transport.errors import PIDError
from transport.pid import parse_address

__all__ = ["Liveness", "Control", "PING", "PONG", "ping_frame", "pong_frame", "parse_control"]

# Control frames start with a NUL byte, which no msgpack frame of envelopes does.
PING = b"\x00ping"
PONG = b"\x00pong"


_GONE = float("-inf")


@dataclass(frozen=True, slots=True)
class Control:
    """A parsed control frame: ``ping`` (reply to ``address`` naming ``name``),
    ``pong`` (from ``address``, whose endpoint is ``incarnation``) or
    ``bare_ping`` (answer on the same connection)."""

    kind: str
    address: str = ""
    name: bytes = b""
    incarnation: str = ""


def ping_frame(ours: str, theirs: str) -> bytes:
    """``\\x00ping <our address> <their address>``: they answer ``\\x00pong <their address>``."""
    return b"%s %s %s" % (PING, ours.encode(), theirs.encode())


def pong_frame(name: bytes, incarnation: str) -> bytes:
    """``\\x00pong <the name the pinger uses for us> <our incarnation>``."""
    return b"%s %s %s" % (PONG, name, incarnation.encode())


def parse_control(frame: bytes) -> Control | None:
    """The control frame's meaning, or None if it is malformed."""
    if frame == PING:
        return Control("bare_ping")
    words = frame.split(b" ")
    try:
        texts = [w.decode("ascii") for w in words[1:]]
        if words[0] == PONG and len(texts) in (1, 2):
            return Control("pong", texts[0], incarnation=texts[1] if len(texts) == 2 else "")
        if words[0] == PING and len(texts) == 2:
            parse_address(texts[0])
            return Control("ping", texts[0], words[2])
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
        self._incarnations: dict[str, str] = {}
        self._next_ping = 0.0

    def watch(self, address: str, now: float) -> None:
        self._watchers[address] = self._watchers.get(address, 0) + 1
        self._last_seen.setdefault(address, now)

    def unwatch(self, address: str) -> None:
        left = self._watchers.get(address, 0) - 1
        if left <= 0:
            self._watchers.pop(address, None)
            self._last_seen.pop(address, None)
            self._incarnations.pop(address, None)
        else:
            self._watchers[address] = left

    def watched(self) -> list[str]:
        return list(self._watchers)

    def heard_from(self, address: str, now: float, incarnation: str = "") -> None:
        """A sign of life; ``incarnation`` (from pongs) tells a restarted peer apart."""
        if address not in self._last_seen:
            return
        if self._last_seen[address] == _GONE:
            return  # stays gone until tick() reports it, whatever the successor sends
        if incarnation and self._incarnations.setdefault(address, incarnation) != incarnation:
            self._last_seen[address] = _GONE  # the process watched has been replaced
            return
        self._last_seen[address] = now

    def tick(self, now: float) -> tuple[list[str], list[str]]:
        """(addresses to ping now, addresses just lost)."""
        lost = [a for a, seen in self._last_seen.items() if now - seen >= self.timeout]
        for address in lost:
            self._last_seen.pop(address, None)
            self._watchers.pop(address, None)
            self._incarnations.pop(address, None)
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
