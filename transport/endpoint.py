"""The ZeroMQ endpoint: the only module that imports zmq.

One ROUTER is bound per OS process and receives every frame sent to it. For
each peer address one DEALER connects to that peer's ROUTER and carries our
frames there (ZeroMQ reconnects it when the peer restarts). All sockets live
on one I/O thread; other threads hand it packed envelopes through a queue and
a wake-up pipe. The I/O thread batches what is queued for a peer into frames
of many envelopes, which is where throughput under load comes from.

Nothing is dropped silently: the ROUTER has ROUTER_MANDATORY, DEALERs send
without blocking into bounded queues, and every drop or rejected frame is
counted and logged. Heartbeats (``\\x00ping`` to a watched peer, ``\\x00pong``
back over the same connection) find peers that died, which ZeroMQ hides.
"""

from __future__ import annotations

import collections
import errno
import os
import threading
import time
from typing import Callable

import structlog
import zmq

from transport.codec import DEFAULT_MAX_FRAME_BYTES, Envelope, decode_frame, join_frame
from transport.counters import Counters
from transport.errors import DecodeError, TransportError
from transport.liveness import Liveness

__all__ = ["Endpoint", "AddressInUse"]

log = structlog.get_logger(__name__)

PING = b"\x00ping"
PONG = b"\x00pong"
_BATCH_BYTES = 256 * 1024


class AddressInUse(TransportError, OSError):
    """The port asked for is taken by another process."""


class Endpoint:
    """Send packed envelopes to peers by ``host:port``; hand received ones to a callback."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_envelope: Callable[[Envelope], None],
        on_peer_lost: Callable[[str], None] = lambda address: None,
        on_rejected: Callable[[DecodeError], None] = lambda error: None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        queue_limit: int = 100_000,
        send_hwm: int = 10_000,
        heartbeat_interval: float = 0.5,
        heartbeat_timeout: float = 3.0,
        batch: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.counters = Counters()
        self._on_envelope = on_envelope
        self._on_peer_lost = on_peer_lost
        self._on_rejected = on_rejected
        self._max_frame_bytes = max_frame_bytes
        self._queue_limit = queue_limit
        self._send_hwm = send_hwm
        self._batch = batch
        self._liveness = Liveness(heartbeat_interval, heartbeat_timeout)
        self._liveness_lock = threading.Lock()
        self._outbox: collections.deque[tuple[str, bytes]] = collections.deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._wake_pending = False
        self._stopping = False
        self._closed = False
        self._context = zmq.Context()
        self._router = self._context.socket(zmq.ROUTER)
        self._dealers: dict[str, zmq.Socket] = {}
        self._thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        """Bind the ROUTER (raising AddressInUse naming the port) and start the I/O thread."""
        router = self._router
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.RCVHWM, self._send_hwm)
        router.setsockopt(zmq.MAXMSGSIZE, self._max_frame_bytes + 1024)
        try:
            if self.port == 0:
                self.port = router.bind_to_random_port(f"tcp://{self.host}")
            else:
                router.bind(f"tcp://{self.host}:{self.port}")
        except zmq.ZMQError as e:
            self._close_sockets()
            if e.errno == errno.EADDRINUSE:
                raise AddressInUse(f"port {self.port} on {self.host} is already in use") from None
            raise TransportError(f"cannot bind tcp://{self.host}:{self.port}: {e}") from None
        self._thread = threading.Thread(target=self._run, name=f"endpoint-{self.port}", daemon=True)
        self._thread.start()
        log.debug("endpoint_bound", address=self.address)

    def stop(self, timeout: float = 5.0) -> None:
        """Flush what is queued (best effort), close every socket, join the I/O thread."""
        if self._stopping:
            return
        self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self._close_sockets()

    # --- API for other threads -------------------------------------------

    def send(self, address: str, packed: bytes) -> bool:
        """Queue one packed envelope for ``address``; False (and counted) if dropped."""
        if self._stopping:
            self.counters.incr("dropped", "stopped")
            return False
        if len(self._outbox) >= self._queue_limit:
            self.counters.incr("dropped", "queue_full")
            log.warning("message_dropped", reason="queue_full", peer=address, limit=self._queue_limit)
            return False
        self._outbox.append((address, packed))
        if not self._wake_pending:
            self._wake()
        return True

    def watch(self, address: str) -> None:
        """Start heartbeating ``address``; ``on_peer_lost`` fires once if it stops answering."""
        with self._liveness_lock:
            self._liveness.watch(address, time.monotonic())
        self._wake()

    def unwatch(self, address: str) -> None:
        with self._liveness_lock:
            self._liveness.unwatch(address)

    def _wake(self) -> None:
        if self._closed:
            return
        self._wake_pending = True
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    # --- the I/O thread ---------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        try:
            while True:
                with self._liveness_lock:
                    timeout = self._liveness.next_deadline(time.monotonic())
                events = dict(poller.poll(int(timeout * 1000) + 1))
                if self._wake_r in events:
                    self._drain_wake()
                self._flush_outbox(poller)
                if self._router in events:
                    self._receive_router()
                for address, sock in list(self._dealers.items()):
                    if events.get(sock):
                        self._receive_dealer(address, sock)
                self._heartbeat(poller)
                if self._stopping:
                    self._flush_outbox(poller)
                    break
        except Exception:  # a bug here must not vanish silently
            log.exception("endpoint_failed", address=self.address)
        finally:
            self._close_sockets()

    def _drain_wake(self) -> None:
        self._wake_pending = False
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _dealer(self, address: str, poller: zmq.Poller) -> zmq.Socket:
        sock = self._dealers.get(address)
        if sock is None:
            sock = self._context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, self._send_hwm)
            sock.setsockopt(zmq.RECONNECT_IVL, 100)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
            sock.connect(f"tcp://{address}")
            poller.register(sock, zmq.POLLIN)
            self._dealers[address] = sock
        return sock

    def _flush_outbox(self, poller: zmq.Poller) -> None:
        outbox = self._outbox
        if not outbox:
            return
        by_peer: dict[str, list[bytes]] = {}
        while outbox:
            address, packed = outbox.popleft()
            by_peer.setdefault(address, []).append(packed)
        for address, queued in by_peer.items():
            try:
                sock = self._dealer(address, poller)
            except zmq.ZMQError as e:
                self._count_drop(address, len(queued), f"bad_address: {e}")
                continue
            for frame_items in self._batches(queued):
                try:
                    sock.send(join_frame(frame_items), zmq.NOBLOCK)
                    self.counters.incr("sent", "frames")
                    self.counters.incr("sent", "envelopes", len(frame_items))
                except zmq.Again:
                    self._count_drop(address, len(frame_items), "peer_queue_full")

    def _batches(self, packed: list[bytes]) -> list[list[bytes]]:
        if not self._batch:
            return [[p] for p in packed]
        batches: list[list[bytes]] = []
        current: list[bytes] = []
        size = 0
        for p in packed:
            if current and size + len(p) > _BATCH_BYTES:
                batches.append(current)
                current, size = [], 0
            current.append(p)
            size += len(p)
        batches.append(current)
        return batches

    def _count_drop(self, address: str, n: int, reason: str) -> None:
        self.counters.incr("dropped", reason.split(":")[0], n)
        log.warning("message_dropped", reason=reason, peer=address, count=n)

    def _receive_router(self) -> None:
        router = self._router
        for _ in range(1000):
            try:
                identity, *frames = router.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            if len(frames) != 1:
                self._reject(DecodeError("bad_envelope", f"expected one frame per message, got {len(frames)}"))
                continue
            frame = frames[0]
            if frame == PING:
                try:
                    router.send_multipart([identity, PONG], zmq.NOBLOCK)
                except zmq.ZMQError:
                    self.counters.incr("dropped", "pong")
                continue
            self._dispatch(frame)

    def _receive_dealer(self, address: str, sock: zmq.Socket) -> None:
        while True:
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frame == PONG:
                with self._liveness_lock:
                    self._liveness.heard_from(address, time.monotonic())

    def _dispatch(self, frame: bytes) -> None:
        self.counters.incr("received", "frames")
        try:
            items = decode_frame(frame, self._max_frame_bytes)
        except DecodeError as e:
            self._reject(e)
            return
        for item in items:
            if isinstance(item, DecodeError):
                self._reject(item)
                continue
            self.counters.incr("received", "envelopes")
            try:
                self._on_envelope(item)
            except Exception:
                log.exception("delivery_failed", type=type(item.message).__name__)

    def _reject(self, error: DecodeError) -> None:
        self.counters.incr("rejected", error.reason)
        log.warning("message_rejected", reason=error.reason, detail=error.detail[:200], address=self.address)
        self._on_rejected(error)

    def _heartbeat(self, poller: zmq.Poller) -> None:
        with self._liveness_lock:
            ping, lost = self._liveness.tick(time.monotonic())
        for address in ping:
            try:
                self._dealer(address, poller).send(PING, zmq.NOBLOCK)
            except zmq.ZMQError:
                pass  # a queue full of undelivered pings is itself a sign of death
        for address in lost:
            sock = self._dealers.pop(address, None)
            if sock is not None:  # discard what was queued for the dead incarnation
                poller.unregister(sock)
                sock.close(0)
            log.warning("peer_lost", peer=address)
            self._on_peer_lost(address)

    def _close_sockets(self) -> None:
        self._closed = True
        for sock in self._dealers.values():
            sock.close(200)  # let frames flushed at stop reach their peers
        self._dealers.clear()
        self._router.close(0)
        self._context.term()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
