"""What a node puts into a process's mailbox, and what it needs of a process.

``Node`` delivers to processes and ``Process`` registers with a node; both
use the items here, so neither module has to import the other's internals:
``Mailbag`` (envelopes posted as one mailbox item), ``PeerExitedNotice`` and
``Addressee``, the part of a process the node touches; and ``REFUSABLE``, the
message types a full mailbox refuses.

A process's mailbox takes at most ``Node(mailbox_limit=...)`` envelopes from the
wire beyond what it has handled (default 100,000); past that, envelopes of the
``REFUSABLE`` types are refused (counted ``refused <Type>``; a request gets a
RequestFailed). Every other type is control traffic (registrations, status
updates and their acknowledgements, kills, shutdowns, offers, links and
exits...) and responses settle waiting futures: those are never refused. What
a process sends itself (timers, runs, local messages) is never refused either.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import pykka

from transport.codec import Envelope
from transport.pid import PID

__all__ = ["Addressee", "Mailbag", "PeerExitedNotice", "REFUSABLE", "DEFAULT_MAILBOX_LIMIT"]

DEFAULT_MAILBOX_LIMIT = 100_000

# Messages whose loss the protocol already survives: framework messages are
# unreliable in Mesos too, and the rest are retried or re-asked by their senders.
REFUSABLE = frozenset({
    "Echo", "FrameworkToExecutor", "ExecutorToFramework", "ReconcileTasks", "ResourceRequest",
    "MasterStateRequest", "ResourceUsageRequest", "ReviveOffers", "SuppressOffers",
})


class Mailbag(list):  # type: ignore[type-arg]
    """Envelopes for one process, handed to it as one mailbox item.

    While a bag is the last item in the process's mailbox, later envelopes for
    that process join it instead of costing a mailbox item each: a burst pays
    the mailbox once, a lone message still goes at once, and the mailbox stays
    first in, first out (nothing joins a bag with anything queued behind it).
    """

    __slots__ = ()


class PeerExitedNotice:
    """Delivered to a linker's mailbox: ``pid`` has exited."""

    __slots__ = ("pid",)

    def __init__(self, pid: PID) -> None:
        self.pid = pid


class Addressee(Protocol):
    """A registered process as the node sees it (``actors.process.Process`` is one)."""

    posted: int  # envelopes queued to it, counted under its mailbox's lock
    handled: int  # envelopes it has handled

    @property
    def actor_ref(self) -> pykka.ActorRef[Any]: ...

    @property
    def actor_inbox(self) -> Any: ...

    @property
    def actor_stopped(self) -> threading.Event: ...

    def complete(self, env: Envelope) -> None:
        """Settle the request that ``env`` answers."""
