"""The ZeroMQ endpoint: with transport/connections.py (its DEALERs, ZAP), the only modules that import zmq.

One ROUTER per OS process receives every frame sent to it; per peer address one
DEALER carries our frames to that peer's ROUTER (``transport.peers`` closes the
idle ones and caps their number). The ROUTER is used by the I/O thread alone;
DEALERs only send, each send under one lock. Other threads queue packed
envelopes for the I/O thread, which batches them into frames of many envelopes
per peer; a sender that finds the queue empty, outside a burst of sends, sends
its frame on the DEALER itself (order per sender and receiver holds).
Nothing is dropped silently: ROUTER_MANDATORY, non-blocking sends into bounded
queues, a counter and a log event for every drop or rejected frame.
Heartbeats and incarnations are ``transport.watch``'s, fed by a socket monitor on
each DEALER (``transport.connections``) so that a dead peer is seen at once: a DEALER's routing id is
our incarnation (and random text), and a data frame names the incarnation it is
for (docs/protocol.md, "Incarnations and connections"). What comes in is
``transport.inbound``'s, behind the frame boundary here: nothing a peer sends
ends the I/O thread, and a claimed sender must be proven by its address
(``transport.claims``). A failure of the thread itself ends the process.

With ``curve`` (a key pair) every link is CURVE-encrypted: the ROUTER is a CURVE server
whose ZAP handler (on the I/O thread) records each client's key; every DEALER is a client
under its peer's key, pinned (``pin``) or learnt from a proven connection (``transport.curve``).
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import sys
import threading
import time
import uuid
from typing import Callable, NoReturn

import structlog
import zmq

from transport.addresses import WILDCARD_IPS, advertised_ip
from transport.codec import DEFAULT_MAX_FRAME_BYTES, Envelope, join_frame, split_batches
from transport.counters import Counters
from transport.errors import AddressInUse, DecodeError, TransportError
from transport.connections import Dealers, NoServerKey, Zap, generate_key_pair, recv_parts, send_parts, user_id
from transport.curve import CurveKeys
from transport.inbound import Inbound
from transport.liveness import stamp
from transport.senders import Proofs
from transport.watch import PeerWatch

__all__ = ["Endpoint", "AddressInUse", "EXIT_TRANSPORT_FAILED", "exit_process", "generate_key_pair"]

log = structlog.get_logger(__name__)

_BATCH_BYTES = 256 * 1024
_DIRECT_GAP = 0.0001  # seconds between sends that make them a burst
_DIRECT_BURST = 2  # sends of a burst that still skip the queue: the rest are batched by the I/O thread
EXIT_TRANSPORT_FAILED = 70  # the exit status of a process whose I/O thread failed (EX_SOFTWARE)


def exit_process(error: BaseException) -> NoReturn:
    """The default ``on_fatal``: a daemon whose transport is gone must not live on deaf, so the
    process exits at once (a supervisor restarts it)."""
    print(f"mesopy: the transport's I/O thread failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    os._exit(EXIT_TRANSPORT_FAILED)


class Endpoint:
    """Send packed envelopes to peers by ``host:port``; hand received ones to a callback.

    The ROUTER binds ``host:port``; ``address`` is what peers are told to send to:
    ``advertise_host`` (default: ``host``, or the routable IP when ``host`` is
    ``0.0.0.0``) and ``advertise_port`` (default: the bound port).

    ``on_envelope`` gets each good envelope; when ``on_envelopes`` is given it gets
    instead, once per frame, the list of the frame's good envelopes in order.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_envelope: Callable[[Envelope], None],
        on_envelopes: Callable[[list[Envelope]], None] | None = None,
        on_peer_lost: Callable[[str], None] = lambda address: None,
        on_rejected: Callable[[DecodeError], None] = lambda error: None,
        on_fatal: Callable[[BaseException], None] = exit_process,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        queue_limit: int = 100_000,
        send_hwm: int = 10_000,
        heartbeat_interval: float = 0.5,
        heartbeat_timeout: float = 75.0,
        batch: bool = True,
        max_pong_peers: int = 1024,
        max_peers: int = 1000,
        peer_idle_timeout: float = 10.0,
        advertise_host: str | None = None,
        advertise_port: int | None = None,
        curve: CurveKeys | None = None,
    ) -> None:
        self.host = host
        self.curve = curve
        self.port = port
        self.advertised_host = advertised_ip(host, advertise_host)
        self._advertise_port = advertise_port
        self.counters = Counters()
        self.incarnation = uuid.uuid4().hex[:12]  # tells this process from a successor on the same port
        proofs: Proofs[Envelope] = Proofs(max(5.0, heartbeat_timeout))  # which address each connection speaks for
        self._on_fatal = on_fatal
        self._max_frame_bytes = max_frame_bytes
        self._queue_limit = queue_limit
        self._send_hwm = send_hwm
        self._batch = batch
        self._watch = PeerWatch(lambda: self.address, self.incarnation, heartbeat_interval, heartbeat_timeout,
                                counters=self.counters, send_control=self._send_control,
                                drop_connection=self._drop_connection, on_peer_lost=on_peer_lost,
                                proofs=proofs, read_news=lambda address: self._dealers.connections.flush(address))
        self._inbound = Inbound(lambda: self.address, self.incarnation, self._watch, proofs,
                                bound_address=self._bound_address, counters=self.counters,
                                max_frame_bytes=max_frame_bytes, send_control=self._send_control,
                                answer=self._answer, on_envelope=on_envelope, on_envelopes=on_envelopes,
                                on_rejected=on_rejected, on_proven=self._proven_key)
        self._outbox: collections.deque[tuple[str, str, bytes]] = collections.deque()  # (peer, its incarnation, envelope)
        self._send_lock = threading.Lock()  # held for every use of a DEALER
        self._last_send = 0.0
        self._burst = 0  # sends so far, each within _DIRECT_GAP of the previous (any thread: a hint)
        self._io_thread = 0  # the I/O thread's ident: what it queues itself is flushed without a wake
        self._next_beat = 0.0  # when the I/O thread next has heartbeat work
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._wake_pending = False
        self._stopping = False
        self._closed = False
        # The context is made in start(): one built for a node that never starts
        # would otherwise be left to the garbage collector, whose term() can block.
        self._context: zmq.Context | None = None
        self._router: zmq.Socket = None  # type: ignore[assignment]  # bound in start()
        self._dealers = Dealers(self.incarnation, self._watch.connection, self._inbound.claims.owners,
                                counters=self.counters, curve=curve, send_hwm=send_hwm, max_peers=max_peers,
                                idle_timeout=peer_idle_timeout, max_pong_peers=max_pong_peers)
        self._zap: Zap | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------

    @property
    def advertised_port(self) -> int:
        return self.port if self._advertise_port is None else self._advertise_port

    @property
    def address(self) -> str:
        """The advertised ``host:port`` (the bound one may differ: ``0.0.0.0``, a forwarded port)."""
        return f"{self.advertised_host}:{self.advertised_port}"

    def _bound_address(self) -> str:
        """``host:port`` we are bound to (loopback for a wildcard bind): peers may use it."""
        return f"{'127.0.0.1' if self.host in WILDCARD_IPS else self.host}:{self.port}"

    def pin(self, address: str, public_key: bytes) -> None:
        """Connect to ``address`` only to a server holding ``public_key`` (Z85), whatever is learnt."""
        with self._send_lock:
            self._dealers.pin(address, public_key)

    def server_key(self, address: str) -> bytes:
        """The CURVE key known for ``address`` (b"" if none)."""
        with self._send_lock:
            return self._dealers.keys.of(address)

    @property
    def connections(self) -> int:  # how many DEALERs (connections to peers) are open
        return len(self._dealers)

    def start(self) -> None:
        """Bind the ROUTER (raising AddressInUse naming the port) and start the I/O thread."""
        self._context = self._dealers.context = zmq.Context()
        self._context.set(zmq.MAX_SOCKETS, self._dealers.max_sockets())  # with monitors; closed ones reaped later
        if self.curve is not None:  # the ZAP handler first: a handshake before it would go unrecorded
            self._zap = Zap(self._context, self.counters)
        router = self._router = self._context.socket(zmq.ROUTER)
        if self.curve is not None:
            router.curve_server = True
            router.curve_secretkey = self.curve.secret
            router.curve_publickey = self.curve.public
            router.zap_domain = b"mesopy"
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.RCVHWM, self._send_hwm)
        # Twice the limit: a frame up to that is read, counted and logged (``rejected oversized``);
        # past it ZeroMQ cuts the connection before the bytes are held anywhere.
        router.setsockopt(zmq.MAXMSGSIZE, 2 * self._max_frame_bytes + 1024)
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
        log.debug("endpoint_bound", address=self.address, bound=f"{self.host}:{self.port}")

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
        now = time.monotonic()
        burst = self._burst + 1 if now - self._last_send <= _DIRECT_GAP else 0
        self._burst, self._last_send = burst, now
        to = self._watch.of(address)  # the process meant: fixed now, whoever binds there later
        if burst < _DIRECT_BURST and not self._outbox and self._send_lock.acquire(blocking=False):
            try:  # nothing queued can be overtaken: the I/O thread flushes under this lock
                if not self._outbox and not self._closed:
                    sock = self._dealers.table.use(address, now)
                    if sock is not None:
                        return self._send_frame(address, sock, [packed], to)
            finally:
                self._send_lock.release()
        if len(self._outbox) >= self._queue_limit:
            self.counters.incr("dropped", "queue_full")
            log.warning("message_dropped", reason="queue_full", peer=address, limit=self._queue_limit)
            return False
        self._outbox.append((address, to, packed))
        if not self._wake_pending and threading.get_ident() != self._io_thread:
            self._wake()  # the I/O thread flushes what it queued itself before it polls again
        return True

    def watch(self, address: str) -> None:
        """Start heartbeating ``address``; ``on_peer_lost`` fires once if it stops answering
        or another process answers in its place."""
        self._watch.watch(address)

    def unwatch(self, address: str) -> None:
        self._watch.unwatch(address)

    def _wake(self) -> None:
        if self._closed:
            return
        self._wake_pending = True
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    # --- the I/O thread ---------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        if self._zap is not None:
            poller.register(self._zap.sock, zmq.POLLIN)
        router = self._router
        self._io_thread = threading.get_ident()
        try:  # lean: after a frame is handed to an actor, the GIL is free again once we poll
            while not self._stopping:
                now = time.monotonic()
                if now >= self._next_beat:
                    self._next_beat = now + self._watch.tick()
                    with self._send_lock:
                        self._dealers.idle(now)
                    self._inbound.claims.expire(now)
                self._dealers.connections.sync(poller)
                wait = 0 if self._outbox else max(0, int((self._next_beat - now) * 1000) + 1)  # ours, unwoken
                for sock, _ in poller.poll(wait):
                    if sock is router:
                        self._receive_router()
                    elif self._dealers.connections.owns(sock):
                        self._dealers.connections.read(sock)
                    elif self._zap is not None and sock is self._zap.sock:
                        self._zap.answer()
                    else:
                        self._drain_wake()
                if self._outbox:
                    self._flush_outbox()
            self._flush_outbox()
        except Exception as e:  # not input (that is caught per frame): the thread itself failed
            log.exception("endpoint_failed", address=self.address)
            if not self._stopping:
                self._close_sockets()
                self._on_fatal(e)
        finally:
            self._close_sockets()

    def _drain_wake(self) -> None:
        self._wake_pending = False
        with contextlib.suppress(BlockingIOError):  # one read: anything left makes the next poll return at once
            os.read(self._wake_r, 65536)

    def _send_frame(self, address: str, sock: zmq.Socket, items: list[bytes], to: str) -> bool:
        """Send one frame of packed envelopes for incarnation ``to`` ("" any); send lock held."""
        try:
            send_parts(sock, stamp(to), join_frame(items)) if to else send_parts(sock, join_frame(items))
        except zmq.Again:
            self._count_drop(address, len(items), "peer_queue_full")
            return False
        self.counters.incr("sent", "frames")
        self.counters.incr("sent", "envelopes", len(items))
        return True

    def _flush_outbox(self) -> None:
        outbox, now = self._outbox, time.monotonic()
        with self._send_lock:
            by_peer: dict[tuple[str, str], list[bytes]] = {}
            while outbox:
                address, to, packed = outbox.popleft()
                by_peer.setdefault((address, to), []).append(packed)
            for (address, to), queued in by_peer.items():
                try:
                    sock = self._dealers.get(address, now)
                except zmq.ZMQError as e:
                    self._count_drop(address, len(queued), f"bad_address: {e}")
                    continue
                except NoServerKey:
                    self._count_drop(address, len(queued), "no_server_key: its CURVE key is not known")
                    continue
                for frame_items in split_batches(queued, _BATCH_BYTES if self._batch else 0):
                    self._send_frame(address, sock, frame_items, to)

    def _count_drop(self, address: str, n: int, reason: str) -> None:
        self.counters.incr("dropped", reason.split(":")[0], n)
        log.warning("message_dropped", reason=reason, peer=address, count=n)

    def _receive_router(self) -> None:
        """One message per poll, so the GIL goes to the actors it woke without delay.

        The frame boundary: whatever goes wrong with one message is counted by reason and
        the message dropped; nothing a peer sends ends this thread."""
        key: bytes | None = None
        try:
            if self.curve is None:
                identity, *frames = recv_parts(self._router)
            else:
                parts = self._router.recv_multipart(zmq.NOBLOCK, copy=False)
                key = user_id(parts[-1])
                identity, *frames = [part.bytes for part in parts]
        except zmq.Again:
            return
        try:
            self._inbound.receive(identity, frames, key)
        except Exception as e:  # a bug met by input: the frame is lost, the transport is not
            self._inbound.reject(DecodeError("internal_error", f"{type(e).__name__}: {str(e)[:200]}"), identity,
                                 exc_info=True)

    def _send_control(self, address: str, frame: bytes, pong: bool, key: bytes = b"") -> bool:
        """Send a control frame to ``address`` now, from its DEALER (any thread); with CURVE, to a
        server holding ``key`` if given (the key of the connection it answers)."""
        try:
            with self._send_lock:
                if not self._closed:
                    self._dealers.get(address, time.monotonic(), pong, key).send(frame, zmq.NOBLOCK)
                    return True
        except (zmq.ZMQError, NoServerKey):
            pass
        return False

    def _answer(self, identity: bytes, frame: bytes) -> bool:
        """Send ``frame`` back on the connection ``identity`` (I/O thread only: the ROUTER is its)."""
        try:
            self._router.send_multipart([identity, frame], zmq.NOBLOCK)
            return True
        except zmq.ZMQError:
            return False

    def _drop_connection(self, address: str) -> None:
        with self._send_lock:
            self._dealers.drop(address)

    def _proven_key(self, address: str, key: bytes) -> None:
        """A connection with ``key`` proved to speak for ``address`` (I/O thread)."""
        with self._send_lock:
            self._dealers.learn(address, key)

    def _close_sockets(self) -> None:
        with self._send_lock:
            self._closed = True
            self._dealers.close_all()
        if self._context is not None:
            self._router.close(0)
            if self._zap is not None:
                self._zap.sock.close(0)
            self._context.term()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
