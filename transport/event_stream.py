"""A long-lived streamed HTTP response fed from any thread (Mesos' v1 event streams).

A route answers ``HttpReply(stream=EventStream(...))``; the server
(transport/http.py) then sends a ``200`` chunked response and ``pump``s the
stream into it on its event loop: no thread per stream, one coroutine each.
Producers on other threads (the master's actor) ``push`` bytes and ``close``
it; both are thread-safe and keep their order. Every ``heartbeat_every``
seconds the ``heartbeat`` bytes are written too (Mesos' HEARTBEAT events).

Bounded: bytes pushed but not yet written (a slow or stalled reader) are
capped at ``max_buffered``; past it the stream ends with reason
``"slow_reader"`` (the client re-subscribes; nothing piles up). ``on_end``
is called once, on the event loop, with why the stream ended: ``"closed"``
(by ``close``), ``"client_gone"``, ``"slow_reader"``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

__all__ = ["DEFAULT_MAX_BUFFERED", "EventStream"]

DEFAULT_MAX_BUFFERED = 8 << 20  # bytes a stream holds for a slow reader before it is ended

log = structlog.get_logger(__name__)


class EventStream:
    """Create it on the HTTP loop (in a route); ``push``/``close`` from anywhere."""

    def __init__(self, *, heartbeat_every: float | None = None, heartbeat: bytes = b"",
                 max_buffered: int = DEFAULT_MAX_BUFFERED, on_end: Callable[[str], None] | None = None,
                 content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self.heartbeat_every = heartbeat_every
        self.heartbeat = heartbeat
        self.max_buffered = max_buffered
        self.on_end = on_end
        self.content_type = content_type
        self.headers = dict(headers or {})
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._abort: Callable[[], None] | None = None  # the server's: drop the connection at once
        self.end_reason: str | None = None  # set once it has ended

    # --- any thread -------------------------------------------------------------

    def push(self, data: bytes) -> None:
        """Queue ``data`` to be written (dropped if the stream has ended)."""
        self._call(self._append, data)

    def close(self) -> None:
        """End the stream once what was pushed before is written."""
        self._call(self._close)

    def _call(self, fn: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: the server is gone, and the stream with it
            pass

    # --- the loop ---------------------------------------------------------------

    def _append(self, data: bytes) -> None:
        if self.end_reason is not None or self._closing:
            return
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > self.max_buffered:
            log.warning("event_stream_slow_reader", buffered=self._buffered, limit=self.max_buffered)
            self._chunks.clear()
            self._closing = True
            self.end_reason = "slow_reader"
            if self._abort is not None:
                self._abort()  # a write blocked on the reader fails now
        self._wake.set()

    def _close(self) -> None:
        self._closing = True
        self._wake.set()

    async def pump(self, write: Callable[[bytes], Awaitable[None]], abort: Callable[[], None]) -> str:
        """Write until closed or the client goes; returns (and reports to ``on_end``) why it ended.
        ``abort()`` drops the connection (called if the reader falls ``max_buffered`` behind)."""
        self._abort = abort
        every = self.heartbeat_every
        next_beat = self._loop.time() + every if every else None
        try:
            while True:
                if next_beat is not None and self._loop.time() >= next_beat:
                    self._chunks.append(self.heartbeat)
                    next_beat = self._loop.time() + every  # type: ignore[operator]
                if not self._chunks:
                    if self._closing:
                        break
                    self._wake.clear()
                    wait = None if next_beat is None else max(0.0, next_beat - self._loop.time())
                    try:
                        await asyncio.wait_for(self._wake.wait(), wait)
                    except asyncio.TimeoutError:
                        pass
                    continue
                data = b"".join(self._chunks)
                self._chunks.clear()
                self._buffered = 0
                await write(data)
            if self.end_reason is None:
                self.end_reason = "closed"
        except (ConnectionError, asyncio.CancelledError):
            self.end_reason = self.end_reason or "client_gone"
            raise
        except Exception as e:  # aiohttp's ClientConnectionResetError and kin: the connection is gone
            log.info("event_stream_write_failed", error=repr(e))
            self.end_reason = self.end_reason or "client_gone"
        finally:
            self.ended(self.end_reason or "client_gone")
        return self.end_reason

    def ended(self, reason: str) -> None:
        """Mark it ended (idempotent) and tell ``on_end`` once; the server calls it if pumping never starts."""
        on_end, self.on_end, self._abort = self.on_end, None, None
        self.end_reason = self.end_reason or reason
        self._chunks.clear()
        if on_end is not None:
            try:
                on_end(self.end_reason)
            except Exception:
                log.exception("event_stream_on_end_failed")
