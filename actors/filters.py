"""Test hooks on delivery, like Mesos' DROP_MESSAGE and FUTURE_MESSAGE.

Filters are process-wide: they see every envelope delivered to any local
process of any node in this OS process, before its handler runs.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from transport.codec import Envelope
from transport.pid import PID
from transport.schema import Message

__all__ = ["MessageFilter", "drop_messages", "future_message", "apply_filters", "clear_filters"]

_lock = threading.Lock()
_filters: list[MessageFilter] = []


def _matches(want: PID | str | None, pid: PID) -> bool:
    if want is None:
        return True
    if isinstance(want, PID):
        return want == pid
    # a name, a family of names ("agent" for agent(1), agent(2)...), or pid text
    return want == pid.name or want == str(pid) or pid.name.startswith(want + "(")


class MessageFilter:
    """Matches envelopes by message type (None: any) and optionally sender / receiver
    and the receiving node's ``address`` (host:port).

    ``drop``: matched envelopes are not delivered. ``count``: the filter
    retires after that many matches (None: never). ``future`` resolves with the
    first match. Use as a context manager, or call ``remove()``.
    """

    def __init__(
        self,
        message_type: type[Message] | None,
        *,
        sender: PID | str | None = None,
        receiver: PID | str | None = None,
        drop: bool = True,
        count: int | None = None,
        address: str | None = None,
    ) -> None:
        if count is not None and count < 1:
            raise ValueError(f"count must be >= 1 or None, got {count!r}")
        self.message_type = message_type
        self.address = address
        self.sender = sender
        self.receiver = receiver
        self.drop = drop
        self.count = count
        self.matched = 0
        self.future: Future[Envelope] = Future()

    def matches(self, env: Envelope) -> bool:
        return (
            (self.message_type is None or type(env.message) is self.message_type)
            and (self.address is None or env.receiver.address == self.address)
            and _matches(self.sender, env.sender)
            and _matches(self.receiver, env.receiver)
        )

    @property
    def retired(self) -> bool:
        """It matched its ``count`` and no longer applies."""
        return self.count is not None and self.matched >= self.count

    def install(self) -> MessageFilter:
        with _lock:
            _filters.append(self)
        return self

    def remove(self) -> None:
        with _lock:
            if self in _filters:
                _filters.remove(self)

    def __enter__(self) -> MessageFilter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def drop_messages(
    message_type: type[Message],
    *,
    sender: PID | str | None = None,
    receiver: PID | str | None = None,
    count: int | None = None,
) -> MessageFilter:
    """Drop matching messages (``count`` of them, or all until removed)."""
    return MessageFilter(message_type, sender=sender, receiver=receiver, count=count).install()


def future_message(
    message_type: type[Message],
    *,
    sender: PID | str | None = None,
    receiver: PID | str | None = None,
    drop: bool = False,
) -> Future[Envelope]:
    """A future resolving with the next matching envelope (dropped too if ``drop``)."""
    f = MessageFilter(message_type, sender=sender, receiver=receiver, drop=drop, count=1).install()
    return f.future


def apply_filters(env: Envelope) -> bool:
    """Run the installed filters on ``env``; True if it must be dropped."""
    if not _filters:
        return False
    drop = False
    with _lock:
        for f in list(_filters):
            if not f.matches(env):
                continue
            f.matched += 1
            if f.matched == 1:
                f.future.set_result(env)
            if f.count is not None and f.matched >= f.count:
                _filters.remove(f)
            drop = drop or f.drop
    return drop


def clear_filters() -> None:
    with _lock:
        _filters.clear()
