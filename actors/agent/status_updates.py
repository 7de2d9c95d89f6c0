"""The agent's status update manager (pure): reliable, ordered delivery of
task status updates to the framework, as in Mesos' StatusUpdateManager.

One stream per (framework id, task id). Updates queue in arrival order; only
the head is outstanding (sent, awaiting its acknowledgement). The head is
retried at its deadline with a doubling interval; an acknowledgement by uuid
pops it and makes the next one due at once. Updates whose uuid the stream has
already seen are duplicates and dropped. A stream ends once its terminal
update is acknowledged. Time is passed in as ``now``.

Bounds: a stream keeps at most ``MAX_UPDATES_PER_STREAM`` updates (past it,
the oldest queued non-terminal one behind the outstanding head is dropped:
the framework still learns the latest state, and the terminal one is never
dropped); a removed framework's streams are dropped and updates for it
refused afterwards (as Mesos ignores updates for a terminating framework);
``resend(framework_id)`` resends a framework's heads at most once per
``retry_interval`` however often it is asked.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_UPDATES_PER_STREAM", "TERMINAL_STATES", "AckResult", "PendingUpdate", "StatusUpdateManager", "is_terminal",
]

TERMINAL_STATES = frozenset({
    "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
    "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR",
})

_CLOSED_STREAMS_KEPT = 10_000
_REMOVED_FRAMEWORKS_KEPT = 10_000
MAX_UPDATES_PER_STREAM = 100


def is_terminal(state: str) -> bool:
    return state in TERMINAL_STATES


@dataclass
class PendingUpdate:
    """One update kept until acknowledged: the TaskStatus dict and where it goes."""

    framework_id: str
    task_id: str
    uuid: bytes
    status: dict[str, Any]
    sent_at: float | None = None
    attempts: int = 0

    @property
    def terminal(self) -> bool:
        return is_terminal(str(self.status.get("state", "")))


@dataclass
class _Stream:
    updates: deque[PendingUpdate] = field(default_factory=deque)
    seen: set[bytes] = field(default_factory=set)
    acknowledged: set[bytes] = field(default_factory=set)
    deadline: float | None = None
    interval: float = 0.0
    terminated: bool = False  # a terminal update was received


@dataclass(frozen=True)
class AckResult:
    """What an acknowledgement did: ``acked`` the update it matched (None if it matched
    none), ``stream_closed`` when it was the terminal one, ``next`` what to send now."""

    acked: PendingUpdate | None
    stream_closed: bool
    next: list[PendingUpdate]


class StatusUpdateManager:
    """Keeps status updates until acknowledged; see the module docstring."""

    def __init__(self, retry_interval: float = 10.0, max_interval: float = 600.0) -> None:
        if retry_interval <= 0 or max_interval < retry_interval:
            raise ValueError(
                f"retry interval must be > 0 and <= max interval, got {retry_interval} and {max_interval}")
        self.retry_interval = retry_interval
        self.max_interval = max_interval
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._closed: OrderedDict[tuple[str, str], set[bytes]] = OrderedDict()
        self._removed: OrderedDict[str, None] = OrderedDict()  # frameworks shut down here
        self._resent: OrderedDict[str, float] = OrderedDict()  # framework id -> when resend() last resent
        self.paused = False  # while disconnected from the master: keep, do not send
        self.dropped = 0  # updates dropped by the bounds (stream too long, framework removed)

    # --- input -----------------------------------------------------------------

    def update(self, framework_id: str, status: dict[str, Any], now: float) -> tuple[bool, list[PendingUpdate]]:
        """Add an update (``status["uuid"]`` required). Returns (accepted, to send now);
        accepted is False for a duplicate or an update after the terminal one."""
        uuid = status.get("uuid")
        if not isinstance(uuid, bytes) or not uuid:
            raise ValueError(f"status update for task {status.get('task_id')!r} needs a uuid, got {uuid!r}")
        task_id = _task_id(status)
        key = (framework_id, task_id)
        if key in self._closed:
            return False, []
        if framework_id in self._removed:
            self.dropped += 1
            return False, []
        stream = self._streams.setdefault(key, _Stream())
        if uuid in stream.seen or stream.terminated:
            return False, []
        stream.seen.add(uuid)
        pending = PendingUpdate(framework_id, task_id, uuid, dict(status))
        stream.terminated = pending.terminal
        if len(stream.updates) >= MAX_UPDATES_PER_STREAM:
            del stream.updates[1]  # the oldest behind the head; never terminal (nothing follows one)
            self.dropped += 1
        stream.updates.append(pending)
        return True, self._head_if_idle(stream, now)

    def restore(self, framework_id: str, task_id: str, updates: list[dict[str, Any]], acknowledged: list[bytes],
                terminated: bool) -> None:
        """A stream read back from the checkpoint after a restart: ``updates`` not yet
        acknowledged (sent when resumed), ``acknowledged`` uuids (answered if they come
        again); with no update left and ``terminated``, the stream is closed."""
        key = (framework_id, task_id)
        stream = _Stream(seen=set(acknowledged), acknowledged=set(acknowledged), terminated=terminated)
        for status in updates[-MAX_UPDATES_PER_STREAM:]:
            stream.seen.add(status["uuid"])
            stream.updates.append(PendingUpdate(framework_id, task_id, status["uuid"], dict(status)))
        stream.terminated = terminated or any(u.terminal for u in stream.updates)
        if stream.terminated and not stream.updates:
            self._closed[key] = stream.acknowledged
        else:
            self._streams[key] = stream

    def record(self, framework_id: str, task_id: str) -> tuple[list[dict[str, Any]], list[bytes], bool]:
        """What to checkpoint of a stream: its updates not yet acknowledged, the acknowledged
        uuids, whether its terminal update was received."""
        key = (framework_id, task_id)
        closed = self._closed.get(key)
        if closed is not None:
            return [], list(closed), True
        stream = self._streams.get(key)
        if stream is None:
            return [], [], False
        return [u.status for u in stream.updates], list(stream.acknowledged), stream.terminated

    def is_acknowledged(self, framework_id: str, task_id: str, uuid: bytes) -> bool:
        """Whether ``uuid`` was acknowledged already (for answering a duplicate)."""
        key = (framework_id, task_id)
        closed = self._closed.get(key)
        if closed is not None:
            return uuid in closed
        stream = self._streams.get(key)
        return stream is not None and uuid in stream.acknowledged

    def acknowledge(self, framework_id: str, task_id: str, uuid: bytes, now: float) -> AckResult:
        """The framework acknowledged ``uuid``; acks for anything but the outstanding head are ignored."""
        key = (framework_id, task_id)
        stream = self._streams.get(key)
        if stream is None or not stream.updates or stream.updates[0].uuid != uuid:
            return AckResult(None, False, [])
        head = stream.updates.popleft()
        stream.acknowledged.add(uuid)
        stream.deadline = None
        if head.terminal and not stream.updates:
            del self._streams[key]
            self._closed[key] = stream.acknowledged
            while len(self._closed) > _CLOSED_STREAMS_KEPT:
                self._closed.popitem(last=False)
            return AckResult(head, True, [])
        return AckResult(head, False, self._head_if_idle(stream, now))

    def due(self, now: float) -> list[PendingUpdate]:
        """Outstanding updates whose retry deadline has come; their deadlines move on."""
        if self.paused:
            return []
        out: list[PendingUpdate] = []
        for stream in self._streams.values():
            if stream.updates and stream.deadline is not None and stream.deadline <= now:
                stream.interval = min(stream.interval * 2, self.max_interval)
                out.append(self._mark_sent(stream, now))
        return out

    def resume(self, now: float) -> list[PendingUpdate]:
        """(Re)connected: every stream's head is sent now, retry intervals restart."""
        self.paused = False
        out: list[PendingUpdate] = []
        for stream in self._streams.values():
            if stream.updates:
                stream.interval = self.retry_interval
                out.append(self._mark_sent(stream, now))
        return out

    def resend(self, framework_id: str, now: float, *, moved: bool = False) -> list[PendingUpdate]:
        """The framework is back (UpdateFramework): its heads are sent now, unless this was
        done less than ``retry_interval`` ago and the framework has not ``moved`` (a new pid)
        since: a repeated request resends nothing."""
        last = self._resent.get(framework_id)
        if self.paused or (not moved and last is not None and now - last < self.retry_interval):
            return []
        out: list[PendingUpdate] = []
        for (fid, _), stream in self._streams.items():
            if fid == framework_id and stream.updates:
                stream.interval = self.retry_interval
                out.append(self._mark_sent(stream, now))
        if out:
            self._resent[framework_id] = now
            self._resent.move_to_end(framework_id)
            while len(self._resent) > _REMOVED_FRAMEWORKS_KEPT:
                self._resent.popitem(last=False)
        return out

    def remove_framework(self, framework_id: str) -> int:
        """Forget every stream of a framework (it was shut down) and refuse its later
        updates; returns the updates dropped."""
        keys = [k for k in self._streams if k[0] == framework_id]
        dropped = sum(len(self._streams.pop(k).updates) for k in keys)
        self._resent.pop(framework_id, None)
        self._removed[framework_id] = None
        self._removed.move_to_end(framework_id)
        while len(self._removed) > _REMOVED_FRAMEWORKS_KEPT:
            self._removed.popitem(last=False)
        self.dropped += dropped
        return dropped

    # --- queries -----------------------------------------------------------------

    def next_deadline(self) -> float | None:
        deadlines = [s.deadline for s in self._streams.values() if s.updates and s.deadline is not None]
        return min(deadlines) if deadlines else None

    def pending(self, framework_id: str | None = None) -> list[PendingUpdate]:
        """Every kept update (of one framework), streams in creation order."""
        return [u for (fid, _), s in self._streams.items() if framework_id in (None, fid) for u in s.updates]

    def latest(self, framework_id: str, task_id: str) -> PendingUpdate | None:
        stream = self._streams.get((framework_id, task_id))
        return stream.updates[-1] if stream is not None and stream.updates else None

    # --- internals ---------------------------------------------------------------

    def _head_if_idle(self, stream: _Stream, now: float) -> list[PendingUpdate]:
        if self.paused or not stream.updates or stream.updates[0].sent_at is not None:
            return []
        stream.interval = self.retry_interval
        return [self._mark_sent(stream, now)]

    def _mark_sent(self, stream: _Stream, now: float) -> PendingUpdate:
        head = stream.updates[0]
        head.sent_at = now
        head.attempts += 1
        stream.deadline = now + stream.interval
        return head


def _task_id(status: dict[str, Any]) -> str:
    task_id = status.get("task_id")
    if isinstance(task_id, dict):
        task_id = task_id.get("value")
    if not isinstance(task_id, str) or not task_id:
        raise ValueError(f"status update needs a task_id, got {status.get('task_id')!r}")
    return task_id
