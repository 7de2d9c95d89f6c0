"""What a node puts into a process's mailbox, and what it needs of a process.

``Node`` delivers to processes and ``Process`` registers with a node; both
use the items here, so neither module has to import the other's internals:
``Mailbag`` (envelopes posted as one mailbox item), ``PeerExitedNotice`` and
``Addressee``, the part of a process the node touches; ``TurnInbox``, the mailbox
whose turn lock lets the I/O thread run an inline handler; and ``REFUSABLE``, the
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

import queue
import threading
from typing import Any, Protocol

import pykka

from transport.codec import Envelope
from transport.pid import PID

__all__ = ["Addressee", "Mailbag", "PeerExitedNotice", "TurnInbox", "try_turn", "REFUSABLE", "DEFAULT_MAILBOX_LIMIT"]

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


class TurnInbox(queue.Queue):  # type: ignore[type-arg]
    """A process's mailbox (a ``queue.Queue``) with its *turn*: a lock the actor's thread holds
    from the moment it takes an item until it asks for the next one.

    So the turn is free only while the actor's thread waits for an item with nothing
    left to handle. Another thread that try-acquires it (never waits for it) may then
    run the process's code itself, excluded from the actor's thread as one more item
    would be: the node's I/O thread does this for inline handlers (``Process.install``).
    The turn is taken when the inbox is made (on the thread starting the actor), so
    nothing runs before the actor's start is done; once the actor stops it is never
    given back.
    """

    def __init__(self) -> None:
        super().__init__()
        self.turn = threading.Lock()
        self.turn.acquire()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Give the turn back, wait for an item, take the turn again (also if none came)."""
        self.turn.release()
        try:
            return super().get(block, timeout)
        finally:
            self.turn.acquire()


def try_turn(inbox: Any) -> bool:
    """Take a process's turn if it is free, never waiting (a TurnInbox's; other mailboxes have none)."""
    turn = getattr(inbox, "turn", None)
    return turn is not None and turn.acquire(blocking=False)


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

    def takes_inline(self, envs: list[Envelope]) -> bool:
        """Whether every one of ``envs`` is for a handler that may run on the I/O thread."""

    def handle_inline(self, envs: list[Envelope]) -> None:
        """Handle ``envs`` on the calling thread, which holds the turn; give the turn back."""
