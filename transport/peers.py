"""The table of open connections to peers (pure: ``now`` is passed in, sockets are opaque).

An endpoint opens one connection per peer address it sends to. Peers come and
go (every executor has an address of its own), so the table closes what is no
longer used: a connection unused for ``idle_timeout`` seconds, the least
recently used one when ``limit`` are open, and (by the endpoint) one whose peer
was lost. A connection opened only to answer pings is further bounded by
``pong_limit``, oldest first: a ping names its own reply address, so made-up
addresses must not open sockets without bound. The table returns what to close;
the endpoint closes it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, NamedTuple, TypeVar

__all__ = ["Closed", "PeerTable"]

S = TypeVar("S")


class Closed(NamedTuple, Generic[S]):
    """A connection the table let go: close ``sock``; ``reason`` is idle, evicted or pong_evicted."""

    address: str
    sock: S
    reason: str


class PeerTable(Generic[S]):
    def __init__(self, limit: int = 1000, idle_timeout: float = 10.0, pong_limit: int = 1024) -> None:
        if limit < 1 or pong_limit < 1:
            raise ValueError(f"peer limits must be >= 1, got {limit} and {pong_limit}")
        if idle_timeout <= 0:
            raise ValueError(f"peer idle timeout must be > 0, got {idle_timeout}")
        self.limit = limit
        self.idle_timeout = idle_timeout
        self.pong_limit = pong_limit
        self._open: OrderedDict[str, tuple[S, float]] = OrderedDict()  # least recently used first
        self._pong_only: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, address: str) -> bool:
        return address in self._open

    def peek(self, address: str) -> S | None:
        """The open connection to ``address``, not marked used; None if there is none."""
        entry = self._open.get(address)
        return None if entry is None else entry[0]

    def addresses(self) -> list[str]:
        return list(self._open)

    def use(self, address: str, now: float, *, pong: bool = False) -> S | None:
        """The open connection to ``address``, marked used now; None if there is none.

        Real traffic (``pong`` false) makes a connection opened for pongs a full one."""
        entry = self._open.get(address)
        if entry is None:
            return None
        self._open[address] = (entry[0], now)
        self._open.move_to_end(address)
        if not pong and self._pong_only:
            self._pong_only.pop(address, None)
        return entry[0]

    def add(self, address: str, sock: S, now: float, *, pong: bool = False) -> list[Closed[S]]:
        """Record a new connection; what must be closed to stay within the limits."""
        closed: list[Closed[S]] = []
        if pong:
            self._pong_only[address] = None
            while len(self._pong_only) > self.pong_limit:
                oldest, _ = self._pong_only.popitem(last=False)
                entry = self._open.pop(oldest, None)
                if entry is not None:
                    closed.append(Closed(oldest, entry[0], "pong_evicted"))
        while len(self._open) >= self.limit:
            oldest, (old_sock, _) = self._open.popitem(last=False)
            self._pong_only.pop(oldest, None)
            closed.append(Closed(oldest, old_sock, "evicted"))
        self._open[address] = (sock, now)
        return closed

    def pop(self, address: str) -> S | None:
        """Forget the connection to ``address`` (the caller closes it)."""
        self._pong_only.pop(address, None)
        entry = self._open.pop(address, None)
        return None if entry is None else entry[0]

    def idle(self, now: float) -> list[Closed[S]]:
        """Take out every connection unused for ``idle_timeout`` seconds."""
        closed: list[Closed[S]] = []
        horizon = now - self.idle_timeout
        while self._open:
            address, (sock, used) = next(iter(self._open.items()))
            if used > horizon:
                break
            del self._open[address]
            self._pong_only.pop(address, None)
            closed.append(Closed(address, sock, "idle"))
        return closed

    def clear(self) -> list[S]:
        """Take out every connection."""
        socks = [sock for sock, _ in self._open.values()]
        self._open.clear()
        self._pong_only.clear()
        return socks
