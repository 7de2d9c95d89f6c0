"""Heartbeats and incarnations of one endpoint's peers, over the endpoint's sockets.

``PeerWatch`` pings watched addresses, notes pongs and every sign of life,
learns which incarnation speaks at each address (from the routing id of its
frames, from pings and pongs) and reports a peer lost, once, when it stops
answering (for the heartbeat timeout), when its connection is closed and then
refused (its process died: at once), or when another incarnation speaks in its
place; the loss drops the
connection, since what is queued there was for the process that is gone.
It holds no socket: the endpoint passes in how to send a control frame now
and how to drop a connection. Any thread may call it.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import structlog

from transport.claims import SendControl
from transport.codec import Envelope, decode_frame
from transport.counters import Counters
from transport.errors import DecodeError
from transport.liveness import Control, Disconnections, Incarnations, Liveness, ping_frame, pong_frame
from transport.senders import Proofs

__all__ = ["PeerWatch"]

log = structlog.get_logger("transport.endpoint")

_CHECK_GAP = 0.1  # seconds between checks of one address


class PeerWatch:
    def __init__(self, address: Callable[[], str], incarnation: str, interval: float, timeout: float, *,
                 counters: Counters, send_control: SendControl, drop_connection: Callable[[str], None],
                 on_peer_lost: Callable[[str], None], proofs: Proofs[Envelope] | None = None,
                 read_news: Callable[[str], None] = lambda address: None) -> None:
        self._address = address
        # Hands on (to connection()) the kernel's news of our connection to an address that has
        # come in but not been read yet: the endpoint reads it on its own turn, maybe after frames
        # that came later on another socket.
        self._read_news = read_news
        self._incarnation = incarnation
        self._counters = counters
        self._send_control = send_control
        self._drop_connection = drop_connection
        self._on_peer_lost = on_peer_lost
        self._liveness = Liveness(interval, timeout)
        self._incarnations = Incarnations()  # learnt on the I/O thread; of() is a plain read
        self._proofs: Proofs[Envelope] = proofs or Proofs(timeout)
        self._their_tokens: OrderedDict[str, bytes] = OrderedDict()  # pinger -> its token, for unasked pongs
        self._checked: OrderedDict[str, float] = OrderedDict()  # address -> when last pinged to check news
        self._disconnections = Disconnections()  # the socket monitor's news, on the I/O thread
        self._lock = threading.Lock()

    def watch(self, address: str) -> None:
        """Start heartbeating ``address``; the first ping goes out now, ahead of anything this
        thread sends next, so the peer's incarnation is learnt first."""
        with self._lock:
            self._liveness.watch(address, time.monotonic())
        self._ping(address)  # else the next beat

    def unwatch(self, address: str) -> None:
        with self._lock:
            self._liveness.unwatch(address)

    def of(self, address: str) -> str:
        """The incarnation last heard from at ``address`` ("" if none): what a frame sent there is for."""
        return self._incarnations.of(address)

    def ended(self, incarnation: str) -> bool:
        return self._incarnations.ended(incarnation)

    def read_news(self, address: str) -> None:
        """Apply now the kernel's news of our connection to ``address`` that has come in and not
        been read (the endpoint reads it on its own turn, maybe after frames that came later on
        another socket): before what a newcomer there sends is acted upon."""
        self._read_news(address)

    def learn(self, address: str, incarnation: str) -> None:
        """``incarnation`` speaks at ``address``; if it replaces another, that one is lost, now.

        Before a new incarnation is known there, the kernel's news of our connection to
        ``address`` that has already come in is read: a refusal in it is about the process that
        was connected before (a predecessor killed while we connected), so it must end that one,
        not the successor whose frame is being read."""
        if self._incarnations.of(address) != incarnation:
            self.read_news(address)
        replaced = self._incarnations.learn(address, incarnation)
        if replaced:
            with self._lock:
                watched = self._liveness.forget(address)
            self.lost(address, "replaced", replaced, watched)

    def heard_from(self, address: str) -> None:
        """A sign of life (a pong, or data: a pong stuck behind a backlog of big frames must
        not make a busy peer look dead)."""
        with self._lock:
            self._liveness.heard_from(address, time.monotonic())

    def _check(self, address: str) -> None:
        """Ping ``address`` now, at most once per ``_CHECK_GAP`` seconds (forged pongs cannot make a flood)."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked.get(address, -_CHECK_GAP) < _CHECK_GAP:
                return
            self._checked[address] = now
            self._checked.move_to_end(address)
            if len(self._checked) > 4096:
                self._checked.popitem(last=False)
        self._ping(address)

    def _ping(self, address: str) -> None:
        self._send_control(address, ping_frame(self._address(), address, self._proofs.ping_token(address)), False,
                           b"")

    def control(self, control: Control, sender: str, identity: bytes = b"", key: bytes | None = None) -> None:
        """A ping (answered from our DEALER to the pinger's address) or a pong.

        A pong counts only with the token of our ping to its address (only the process bound
        there saw it); a ping teaches an incarnation only on a connection proven to speak for
        the pinger's address (``transport.senders``). A pong goes to a server holding the
        ping's connection's CURVE ``key``."""
        if control.kind == "pong":
            if not hmac.compare_digest(control.token, self._proofs.ping_token(control.address)):
                self._counters.incr("dropped", "unproven_pong")
                known = self._incarnations.of(control.address)
                if known and control.incarnation and control.incarnation != known:
                    self._check(control.address)  # news of a successor, unproven: ask the address itself
                return
            if control.incarnation:
                self.learn(control.address, control.incarnation)
            self.heard_from(control.address)
        elif control.kind == "ping":
            if sender and self._proofs.speaks_for(identity, key) == control.address:
                self.learn(control.address, sender)
            if control.token:
                with self._lock:
                    self._their_tokens[control.address] = control.token
                    self._their_tokens.move_to_end(control.address)
                    if len(self._their_tokens) > 4096:
                        self._their_tokens.popitem(last=False)
            pong = pong_frame(control.name, self._incarnation, control.token)
            if not self._send_control(control.address, pong, True, key or b""):
                self._counters.incr("dropped", "pong")

    def connection(self, address: str, kind: str) -> None:
        """The kernel's news of our connection to ``address`` (``connected``, ``disconnected``,
        ``retried``): closed under us and then refused, it was to a process that died; a
        watched one is lost now, not after the heartbeat timeout."""
        if kind == "connected":
            self._disconnections.connected(address)
        elif kind == "disconnected":
            self._disconnections.disconnected(address)
        elif kind == "retried" and self._disconnections.retried(address):
            with self._lock:
                watched = self._liveness.forget(address)
            if watched:
                self.lost(address, "connection_refused", self._incarnations.end(address))

    def stale_sender(self, incarnation: str) -> None:
        """A frame from an ended incarnation (late news of a process that is gone): dropped."""
        self._counters.incr("dropped", "stale_sender")
        log.info("message_dropped", reason="stale_sender", incarnation=incarnation)

    def stale(self, meant_for: str, frame: bytes, max_frame_bytes: int, key: bytes | None = None) -> None:
        """A frame for the incarnation this one replaced: dropped (counted), and its sender told
        who is here now (a pong naming our incarnation), so it learns the process it meant is gone."""
        try:
            envs = [e for e in decode_frame(frame, max_frame_bytes) if type(e) is Envelope]
        except DecodeError:
            envs = []
        self._counters.incr("dropped", "stale_incarnation", max(1, len(envs)))
        log.info("message_dropped", reason="stale_incarnation", meant_for=meant_for, count=len(envs))
        if envs:  # with the token the sender's pings gave us, if it pinged: else it cannot believe us
            to = envs[0].sender.address
            pong = pong_frame(envs[0].receiver.address.encode(), self._incarnation, self._their_tokens.get(to, b""))
            if not self._send_control(to, pong, True, key or b""):
                self._counters.incr("dropped", "pong")

    def tick(self) -> float:
        """Ping who is due, report who timed out; seconds until the next call is due."""
        now = time.monotonic()
        with self._lock:
            ping, lost = self._liveness.tick(now)
        for address in ping:  # a ping not sent (a full queue of them) is itself a sign of death
            self._ping(address)
        for address in lost:
            self.lost(address, "heartbeat_timeout", self._incarnations.of(address))
        with self._lock:
            return self._liveness.next_deadline(time.monotonic())

    def lost(self, address: str, reason: str, incarnation: str, watched: bool = True) -> None:
        """The process at ``address`` is gone: drop its connection and tell the endpoint's owner
        (a warning if it was watched, else news)."""
        self._drop_connection(address)
        (log.warning if watched else log.info)("peer_lost", peer=address, reason=reason, incarnation=incarnation)
        self._on_peer_lost(address)
