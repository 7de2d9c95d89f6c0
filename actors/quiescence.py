"""Knowing when a cluster is idle, and running it in one deterministic order.

An :class:`Activity` is shared by every actor of one cluster (through its
manual clock). Each actor's mailbox is then an :class:`ActivityInbox`: an item
counts as *in flight* from the moment it is posted until the actor asks for
its next item (it has finished handling this one) or stops. ``settle`` waits
until nothing is in flight: no message queued, no handler running.

Items are numbered as they are posted, across all the actors, and an actor
may take its next item only when that item has the lowest number still in
flight. So at most one actor runs at a time, in the order the work was posted:
what one handler sends is handled after everything posted before it. Given
the same inputs (a manual clock advanced the same way, no outside process),
every run handles the same messages in the same order. A handler must not
block waiting for another actor of the cluster: that actor's turn never comes.

This is Mesos' ``Clock::settle`` (libprocess waits until no process has an
event queued or is running) made into a scheduling discipline.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections import deque
from typing import Any

__all__ = ["Activity", "ActivityInbox", "SettleTimeout"]

_UNTRACKED = -1


class SettleTimeout(RuntimeError):
    """The cluster did not become idle in time; the message names the busy mailboxes."""


class Activity:
    """Items in flight across the mailboxes of one cluster (see the module's docs)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # also the mutex of every ActivityInbox
        self._idle = threading.Condition(self.lock)
        self._numbers = itertools.count()
        self._heap: list[int] = []  # numbers in flight (and some finished, removed lazily)
        self._owner: dict[int, ActivityInbox] = {}  # number in flight -> its mailbox

    def inbox(self, name: str = "") -> ActivityInbox:
        return ActivityInbox(self, name)

    def in_flight(self) -> int:
        with self.lock:
            return len(self._owner)

    def busy(self) -> list[str]:
        """The mailboxes with items in flight (for error messages)."""
        with self.lock:
            return sorted({inbox.name for inbox in self._owner.values()})

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is in flight; False after ``timeout`` seconds of wall time."""
        with self.lock:
            return self._idle.wait_for(lambda: not self._owner, timeout)

    def settle(self, timeout: float = 10.0) -> None:
        """``wait_idle`` or raise SettleTimeout naming what is still busy."""
        start = time.monotonic()
        if not self.wait_idle(timeout):
            raise SettleTimeout(f"still busy after {time.monotonic() - start:.1f} s: {', '.join(self.busy())}")

    # --- called with the lock held, by ActivityInbox ------------------------------

    def _posted(self, inbox: ActivityInbox) -> int:
        number = next(self._numbers)
        heapq.heappush(self._heap, number)
        self._owner[number] = inbox
        return number

    def _finished(self, number: int) -> None:
        self._owner.pop(number, None)
        heap = self._heap
        while heap and heap[0] not in self._owner:
            heapq.heappop(heap)
        if heap:
            self._owner[heap[0]].not_empty.notify()
        else:
            self._idle.notify_all()

    def _first(self) -> int:
        return self._heap[0] if self._heap else _UNTRACKED


class ActivityInbox(queue.Queue):  # type: ignore[type-arg]
    """A pykka mailbox that reports to an :class:`Activity` and takes its turn.

    It keeps ``queue.Queue``'s interface and fields (``mutex``, ``queue``), with
    the mutex shared by the whole cluster, so code that peeks at the queue's
    tail under ``mutex`` keeps working.
    """

    def __init__(self, activity: Activity, name: str = "") -> None:
        super().__init__()
        self.activity = activity
        self.name = name
        self.mutex = activity.lock  # type: ignore[assignment]
        self.not_empty = threading.Condition(self.mutex)
        self.not_full = threading.Condition(self.mutex)
        self.all_tasks_done = threading.Condition(self.mutex)
        self._numbers: deque[int] = deque()  # beside self.queue, one number per item
        with self.mutex:  # starting the actor (pykka's on_start) is its first item
            self._current = activity._posted(self)  # the item being handled
        self._closed = False

    def begin(self) -> None:
        """Wait (on the actor's thread, before it starts) for its start to have its turn."""
        with self.mutex:
            while not self._closed and self._current != self.activity._first():
                self.not_empty.wait()

    def _put(self, item: Any) -> None:  # lock held (queue.Queue.put)
        self.queue.append(item)
        self._numbers.append(_UNTRACKED if self._closed else self.activity._posted(self))

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next item, once it is this mailbox's turn; the previous item is then finished."""
        activity = self.activity
        with self.mutex:
            if self._current != _UNTRACKED:
                activity._finished(self._current)
                self._current = _UNTRACKED
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._ready():
                remaining = None if deadline is None else deadline - time.monotonic()
                if not block or (remaining is not None and remaining <= 0):
                    raise queue.Empty
                self.not_empty.wait(remaining)
            item = self.queue.popleft()
            number = self._numbers.popleft()
            if number != _UNTRACKED:
                if self._closed:
                    activity._finished(number)
                else:
                    self._current = number
            return item

    def _ready(self) -> bool:
        if not self.queue:
            return False
        first = self._numbers[0]
        return self._closed or first == _UNTRACKED or first == self.activity._first()

    def close(self) -> None:
        """The actor stopped: what it was handling and what is still queued no longer count."""
        with self.mutex:
            if self._closed:
                return
            self._closed = True
            finished = [n for n in self._numbers if n != _UNTRACKED]
            if self._current != _UNTRACKED:
                finished.append(self._current)
                self._current = _UNTRACKED
            self._numbers = deque(_UNTRACKED for _ in self._numbers)
            for number in finished:
                self.activity._finished(number)
