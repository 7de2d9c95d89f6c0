"""Framework ids: minting them, and remembering which were removed, in bounded memory (pure).

The master refuses a removed framework for good: its re-registration and its
calls get "Framework <id> has been removed" (Mesos keeps a removed framework
among its completed ones for that). Remembering every removed id in a set
grows by one per framework forever, so ``FrameworkIds`` does without one for
the ids this master minted (``<master_id>-<n>``, ``n`` counting up): such an
id that is not live has been removed, since every minted id is registered at
once. Only ids minted elsewhere (by an earlier master, re-registered here
after a failover) are remembered one by one, the most recent
``max_foreign`` of them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Container

__all__ = ["MAX_FOREIGN_REMOVED", "FrameworkIds"]

MAX_FOREIGN_REMOVED = 10_000


class FrameworkIds:
    """``FrameworkIds(master_id, live)``: ``live`` is the master's id -> framework map.

    ``new()`` mints the next id; ``fid in ids`` says whether ``fid`` was
    removed; ``add(fid)`` records a removal (minted ids need no record).
    """

    __slots__ = ("_foreign", "_live", "_max_foreign", "_next", "_prefix")

    def __init__(self, master_id: str, live: Container[str], max_foreign: int = MAX_FOREIGN_REMOVED) -> None:
        if max_foreign < 0:
            raise ValueError(f"max_foreign must be >= 0, got {max_foreign!r}")
        self._prefix = f"{master_id}-"
        self._live = live
        self._next = 0
        self._max_foreign = max_foreign
        self._foreign: OrderedDict[str, None] = OrderedDict()

    def new(self) -> str:
        """The next id of this master (one not live, e.g. not claimed by a forged re-registration)."""
        while True:
            fid = f"{self._prefix}{self._next:04d}"
            self._next += 1
            if fid not in self._live and fid not in self._foreign:
                return fid

    def minted(self, fid: str) -> bool:
        """Whether this master handed out ``fid``."""
        if not fid.startswith(self._prefix):
            return False
        n = fid[len(self._prefix):]
        if not (4 <= len(n) <= 18 and n.isascii() and n.isdigit()):
            return False
        number = int(n)
        return number < self._next and f"{number:04d}" == n

    def __contains__(self, fid: object) -> bool:
        if not isinstance(fid, str) or fid in self._live:
            return False
        return self.minted(fid) or fid in self._foreign

    def add(self, fid: str) -> None:
        """Record that ``fid`` was removed."""
        if self.minted(fid):
            return
        self._foreign[fid] = None
        self._foreign.move_to_end(fid)
        while len(self._foreign) > self._max_foreign:
            self._foreign.popitem(last=False)

    def __len__(self) -> int:
        """How many ids are remembered one by one (those minted elsewhere)."""
        return len(self._foreign)
