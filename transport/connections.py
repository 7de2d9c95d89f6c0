"""The endpoint's connections: which DEALER carries frames to each peer address (``Dealers``),
opening one, the kernel's news of its connection (``Connections``), and with CURVE the ZAP
handler of the ROUTER's incoming handshakes (``Zap``).

``Dealers`` holds one DEALER per peer address (``transport.peers`` bounds them) and,
with CURVE, the server key of each address (``transport.curve.KeyBook``): a DEALER
connects under the key known for its address, and a control frame answering a
connection whose key is another one (a proof, a pong) goes on a probe DEALER under
that key, so a claim never replaces the key of a connection that works. Every
method is called with the endpoint's send lock held.

Each DEALER gets a monitor, a PAIR socket that receives
its connection events (connected, disconnected, reconnection retried). The
monitors are read by the endpoint's I/O thread; they are attached and detached
wherever DEALERs are made and closed (under the endpoint's send lock), and
registered with the I/O thread's poller at its next turn. What the events mean
is ``transport.liveness.Disconnections``'; this module only carries them.
With transport/endpoint.py, the only modules that import zmq.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable

import structlog
import zmq
from zmq.utils import z85
from zmq.utils.monitor import recv_monitor_message

from transport.counters import Counters
from transport.curve import CurveKeys, KeyBook
from transport.liveness import routing_id
from transport.peers import Closed, PeerTable

__all__ = ["Connections", "Dealers", "NoServerKey", "Zap", "generate_key_pair", "recv_parts", "send_parts", "user_id"]

log = structlog.get_logger("transport.endpoint")

EVENTS = zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED
_KINDS: dict[int, str] = {zmq.EVENT_CONNECTED: "connected", zmq.EVENT_DISCONNECTED: "disconnected",
          zmq.EVENT_CONNECT_RETRIED: "retried"}

OnEvent = Callable[[str, str], None]  # (peer address, "connected" | "disconnected" | "retried")

# pyzmq's send_multipart/recv_multipart as plain calls with int flags: its Flag enums cost an enum
# construction per part (``SNDMORE | flags``, RCVMORE), a few microseconds a message.
_NOBLOCK = int(zmq.NOBLOCK)
_MORE = int(zmq.SNDMORE) | _NOBLOCK
_RCVMORE = int(zmq.RCVMORE)


def send_parts(sock: zmq.Socket, first: bytes, last: bytes | None = None) -> None:
    """Send one message of one or two parts without blocking (zmq.Again if the queue is full: a
    message is queued whole or not at all)."""
    if last is None:
        sock.send(first, _NOBLOCK)
    else:
        sock.send(first, _MORE)
        sock.send(last, _NOBLOCK)


def recv_parts(sock: zmq.Socket) -> list[bytes]:
    """Every part of the next message, without blocking (zmq.Again if there is none)."""
    parts = [sock.recv(_NOBLOCK)]
    while sock.get(_RCVMORE):
        parts.append(sock.recv(_NOBLOCK))
    return parts


class Connections:
    def __init__(self, name: str, on_event: OnEvent) -> None:
        self._name = name
        self._on_event = on_event
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._of: dict[int, zmq.Socket] = {}  # id(dealer) -> its monitor
        self._address: dict[zmq.Socket, str] = {}
        self._added: list[zmq.Socket] = []
        self._removed: list[zmq.Socket] = []
        self._polled: set[zmq.Socket] = set()

    def open(self, context: zmq.Context, address: str, routing_id: bytes, send_hwm: int, *,
             curve: tuple[bytes, bytes, bytes] | None = None, monitor: bool = True) -> zmq.Socket:
        """A new DEALER connecting to ``address``, monitored unless told not; call with the
        endpoint's send lock held. ``curve``: (our public key, our secret key, the server's key)."""
        sock = context.socket(zmq.DEALER)
        if curve is not None:
            sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = curve
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTING_ID, routing_id)
        sock.setsockopt(zmq.SNDHWM, send_hwm)
        sock.setsockopt(zmq.RCVHWM, 1)  # never read: nothing is sent back on it
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        try:
            if monitor:
                self.attach(address, sock)
            sock.connect(f"tcp://{address}")
        except zmq.ZMQError:
            self.detach(sock)
            sock.close(0)
            raise
        return sock

    def attach(self, address: str, dealer: zmq.Socket) -> None:
        """Monitor ``dealer`` (to ``address``); call before it connects, from the thread using it."""
        endpoint = f"inproc://monitor-{self._name}-{next(self._ids)}"
        dealer.monitor(endpoint, EVENTS)
        pair = dealer.context.socket(zmq.PAIR)
        pair.setsockopt(zmq.LINGER, 0)
        pair.connect(endpoint)
        with self._lock:
            self._of[id(dealer)] = pair
            self._address[pair] = address
            self._added.append(pair)

    def detach(self, dealer: zmq.Socket) -> None:
        """Stop monitoring ``dealer`` (about to be closed); its monitor is closed at the I/O thread's
        next turn, and what is left unread there is not news of its address any more."""
        with self._lock:
            pair = self._of.pop(id(dealer), None)
            if pair is None:
                return
            self._address.pop(pair, None)
            self._removed.append(pair)
        try:
            dealer.monitor(None, 0)
        except zmq.ZMQError:
            pass

    def sync(self, poller: zmq.Poller) -> None:
        """On the I/O thread: poll the new monitors, close the detached ones."""
        if not self._added and not self._removed:
            return
        with self._lock:
            added, self._added = self._added, []
            removed, self._removed = self._removed, []
            for pair in removed:
                self._address.pop(pair, None)
        for pair in added:
            poller.register(pair, zmq.POLLIN)
            self._polled.add(pair)
        for pair in removed:
            if pair in self._polled:
                poller.unregister(pair)
                self._polled.discard(pair)
            pair.close(0)

    def flush(self, address: str) -> None:
        """On the I/O thread: hand on now every event waiting on the monitor of ``address``'s DEALER,
        polled yet or not (a monitor attached by another thread is polled from the I/O thread's
        next turn, up to a heartbeat later)."""
        with self._lock:
            pairs = [pair for pair, to in self._address.items() if to == address]
        for pair in pairs:
            self.read(pair)

    def owns(self, sock: object) -> bool:
        return sock in self._polled

    def read(self, pair: zmq.Socket) -> None:
        """On the I/O thread: hand every event waiting on ``pair`` to ``on_event`` (none once its
        DEALER is detached: an event may close it)."""
        while True:
            try:
                event = recv_monitor_message(pair, zmq.NOBLOCK)
            except (zmq.Again, zmq.ZMQError):
                return
            kind = _KINDS.get(int(event["event"]))
            address = self._address.get(pair)
            if kind is not None and address is not None:
                self._on_event(address, kind)

    def close(self) -> None:
        """Close every monitor (the endpoint is closing; its DEALERs are closed)."""
        with self._lock:
            pairs = set(self._address) | set(self._added) | set(self._removed)
            self._of.clear()
            self._address.clear()
            self._added, self._removed = [], []
        for pair in pairs | self._polled:
            pair.close(0)
        self._polled.clear()


class NoServerKey(Exception):
    """With CURVE: no key is known for the peer address (nothing may be sent there)."""


class Dealers:
    def __init__(self, incarnation: str, on_event: OnEvent, owners: dict[bytes, tuple[str, bytes]], *,
                 counters: Counters, curve: CurveKeys | None, send_hwm: int, max_peers: int, idle_timeout: float,
                 max_pong_peers: int) -> None:
        self.incarnation = incarnation
        self.curve = curve
        self.connections = Connections(incarnation, on_event)
        self.keys = KeyBook()  # the CURVE server key of each peer address
        self.table: PeerTable[zmq.Socket] = PeerTable(max_peers, idle_timeout, max_pong_peers)
        # "<address> <key>" -> a DEALER under a key not (yet) the address's own: proofs and pongs only
        self._probes: PeerTable[zmq.Socket] = PeerTable(max_pong_peers, idle_timeout, max_pong_peers)
        self._owners = owners  # routing id -> (peer address, its key): what the sender checks ask
        self._counters = counters
        self._send_hwm = send_hwm
        self.context: zmq.Context | None = None  # set when the endpoint starts

    def __len__(self) -> int:
        return len(self.table)

    def max_sockets(self) -> int:
        """Sockets a context must allow: DEALERs and their monitors, probes, and some."""
        return 4 * self.table.limit + 2 * self.table.pong_limit + 64

    def get(self, address: str, now: float, pong: bool = False, key: bytes = b"") -> zmq.Socket:
        """The DEALER to ``address``, marked used (made on first use; past the table's limits the
        least recently used one is closed). With CURVE, ``key`` other than the address's known
        key gets a probe DEALER under ``key``; no key known at all: NoServerKey."""
        known = self.keys.of(address) if self.curve is not None else b""
        if self.curve is not None:
            if key and key != known:
                return self._probe(address, key, now)
            if not known and address not in self.table:
                raise NoServerKey(address)
        sock = self.table.use(address, now, pong=pong)
        if sock is None:
            sock = self._open(address, known, monitor=True)
            self.close(self.table.add(address, sock, now, pong=pong))
        return sock

    def _probe(self, address: str, key: bytes, now: float) -> zmq.Socket:
        name = f"{address} {key.decode()}"
        sock = self._probes.use(name, now, pong=True)
        if sock is None:
            sock = self._open(address, key, monitor=False)
            self.close(self._probes.add(name, sock, now, pong=True))
        return sock

    def _open(self, address: str, key: bytes, *, monitor: bool) -> zmq.Socket:
        assert self.context is not None, "endpoint not started"
        rid = routing_id(self.incarnation, os.urandom(8).hex())  # unguessable: no one can take it over
        curve = (self.curve.public, self.curve.secret, key) if self.curve is not None else None
        sock = self.connections.open(self.context, address, rid, self._send_hwm, curve=curve, monitor=monitor)
        self._owners[rid] = (address, key)
        return sock

    def pin(self, address: str, key: bytes) -> None:
        self.keys.pin(address, key)
        self._rekey(address, key)

    def learn(self, address: str, key: bytes) -> None:
        """A connection with ``key`` proved to speak for ``address``: that is its key now."""
        if self.curve is not None and key and self.keys.learn(address, key):
            self._rekey(address, key)

    def _rekey(self, address: str, key: bytes) -> None:
        """Close the DEALER to ``address`` if it was opened under another key."""
        sock = self.table.peek(address)
        if sock is not None and self._owners.get(_rid(sock), ("", key))[1] != key:
            self.table.pop(address)
            self.close([Closed(address, sock, "rekeyed")])

    def idle(self, now: float) -> None:
        self.close(self.table.idle(now) + self._probes.idle(now))

    def drop(self, address: str) -> None:
        sock = self.table.pop(address)
        if sock is not None:
            self.close([Closed(address, sock, "lost")])

    def close(self, closed: list[Closed[zmq.Socket]]) -> None:
        """Close what a peer table let go; only evictions are worth a log event."""
        for address, sock, reason in closed:
            self.connections.detach(sock)
            self._owners.pop(_rid(sock), None)
            sock.close(0)
            self._counters.incr("closed", reason)
            limit = self.table.pong_limit if reason == "pong_evicted" else self.table.limit
            if reason in ("evicted", "pong_evicted"):  # idle and lost ones are the normal course
                log.warning("peer_connection_closed", peer=address, reason=reason, limit=limit)

    def close_all(self) -> None:
        for sock in self.table.clear():
            self.connections.detach(sock)
            sock.close(200)  # let frames flushed at stop reach their peers
        for sock in self._probes.clear():
            sock.close(0)
        self.connections.close()


def _rid(sock: zmq.Socket) -> bytes:
    return bytes(sock.getsockopt(zmq.ROUTING_ID))  # type: ignore[arg-type]


def generate_key_pair() -> CurveKeys:
    """A new CURVE key pair (ephemeral: it lives as long as whoever holds it)."""
    public, secret = zmq.curve_keypair()
    return CurveKeys(public, secret)


def user_id(frame: zmq.Frame) -> bytes:
    """The client key our ZAP handler gave the frame's connection (b"" if none)."""
    try:
        return str(frame.get("User-Id")).encode()
    except zmq.ZMQError:
        return b""


class Zap:
    """ZeroMQ's ZAP handler (RFC 27) for one context, answered on the endpoint's I/O thread:
    every CURVE client key is accepted and becomes the connection's ``User-Id``, to which the
    sender checks (``transport.claims``) bind the connection's claims. Bound before the ROUTER,
    so no handshake goes unrecorded."""

    def __init__(self, context: zmq.Context, counters: Counters) -> None:
        self.sock = context.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind("inproc://zeromq.zap.01")
        self._counters = counters

    def answer(self) -> None:
        try:
            request = self.sock.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return
        version, request_id, mechanism = request[0], request[1], request[5] if len(request) > 5 else b""
        if mechanism == b"CURVE" and len(request) == 7 and len(request[6]) == 32:
            self._counters.incr("curve", "handshakes")
            reply = [version, request_id, b"200", b"OK", z85.encode(request[6]), b""]
        else:
            self._counters.incr("curve", "refused")
            reply = [version, request_id, b"400", b"CURVE only", b"", b""]
        self.sock.send_multipart(reply)
