"""How many log lines rejected input may cost (pure: counts only, no clock).

A flood of garbage must cost counter increments, not log lines. Each rejection
is keyed by (reason, peer): the first ``first`` of a key are logged in full,
and of a reason as a whole at most ``reason_first`` in full (a flood from ever
new peers must not log ``first`` lines per peer); after that one summary line
per ``every`` rejections of the reason, carrying the count. The keys kept are
bounded (least recently seen forgotten first), so made-up peers cannot grow
the table either.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

__all__ = ["LogBudget", "Verdict", "peer_key"]


def peer_key(identity: bytes) -> str:
    """A connection's routing id as a log and budget key (ours are ``incarnation.hex``; ZeroMQ's
    own start with a NUL byte)."""
    if identity[:1] in (b"", b"\x00"):
        return identity.hex()[:40]
    return identity[:40].decode("ascii", "replace")


class Verdict(NamedTuple):
    """``full``: log this one with its detail; ``summary``: log a line with ``total``; neither: stay quiet."""

    full: bool
    summary: bool
    total: int  # rejections of this reason so far


class LogBudget:
    def __init__(self, first: int = 10, reason_first: int = 50, every: int = 1000, max_keys: int = 4096) -> None:
        if first < 0 or reason_first < 0 or every < 1 or max_keys < 1:
            raise ValueError(f"bad log budget: first={first} reason_first={reason_first} every={every} "
                             f"max_keys={max_keys}")
        self.first = first
        self.reason_first = reason_first
        self.every = every
        self.max_keys = max_keys
        self._keys: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._reasons: dict[str, int] = {}
        self._lock = threading.Lock()

    def spend(self, reason: str, peer: str) -> Verdict:
        """Count one rejection of ``reason`` from ``peer``; how to log it."""
        key = (reason, peer)
        with self._lock:
            n = self._keys.pop(key, 0) + 1
            self._keys[key] = n
            if len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            total = self._reasons[reason] = self._reasons.get(reason, 0) + 1
        full = n <= self.first and total <= self.reason_first
        return Verdict(full, not full and total % self.every == 0, total)
