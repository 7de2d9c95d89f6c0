"""``/v2/events``: Marathon's event bus as server-sent events.

``EventBus.publish`` (any thread) writes each event to every subscribed stream as
``event: <eventType>`` / ``data: <json>``; a subscriber may ask for some event types only.
Bounded: at most ``MAX_SUBSCRIBERS`` streams (more are refused with 503), and each stream ends
when a slow reader lets ``EventStream.max_buffered`` bytes pile up (transport/event_stream.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from typing import Any

from transport.event_stream import EventStream

__all__ = ["MAX_SUBSCRIBERS", "EventBus", "sse_bytes"]

MAX_SUBSCRIBERS = 64
HEARTBEAT_SECONDS = 15.0


def sse_bytes(event: dict[str, Any]) -> bytes:
    return f"event: {event['eventType']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[EventStream, frozenset[str]] = {}
        self.published = 0

    def subscribe(self, types: Collection[str] = ()) -> EventStream | None:
        """A new stream (call on the HTTP loop); None when there are too many already."""
        with self._lock:
            if len(self._subscribers) >= MAX_SUBSCRIBERS:
                return None
            stream = EventStream(heartbeat_every=HEARTBEAT_SECONDS, heartbeat=b"\r\n",
                                 content_type="text/event-stream", headers={"Cache-Control": "no-cache"},
                                 on_end=lambda reason: self._drop(stream))
            self._subscribers[stream] = frozenset(types)
        return stream

    def _drop(self, stream: EventStream) -> None:
        with self._lock:
            self._subscribers.pop(stream, None)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, event: dict[str, Any]) -> None:
        data = sse_bytes(event)
        with self._lock:
            self.published += 1
            targets = [s for s, types in self._subscribers.items() if not types or event["eventType"] in types]
        for stream in targets:
            stream.push(data)

    def close(self) -> None:
        with self._lock:
            streams = list(self._subscribers)
        for stream in streams:
            stream.close()
