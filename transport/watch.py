"""Heartbeats and incarnations of one endpoint's peers, over the endpoint's sockets.

``PeerWatch`` pings watched addresses, notes pongs and every sign of life,
learns which incarnation speaks at each address (from the routing id of its
frames, from pings and pongs) and reports a peer lost, once, when it stops
answering or another incarnation speaks in its place; the loss drops the
connection, since what is queued there was for the process that is gone.
It holds no socket: the endpoint passes in how to send a control frame now
and how to drop a connection. Any thread may call it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from transport.codec import Envelope, decode_frame
from transport.counters import Counters
from transport.errors import DecodeError
from transport.liveness import Control, Incarnations, Liveness, ping_frame, pong_frame

__all__ = ["PeerWatch"]

log = structlog.get_logger("transport.endpoint")

SendControl = Callable[[str, bytes, bool], bool]  # (address, frame, only a pong) -> sent


class PeerWatch:
    def __init__(self, address: Callable[[], str], incarnation: str, interval: float, timeout: float, *,
                 counters: Counters, send_control: SendControl, drop_connection: Callable[[str], None],
                 on_peer_lost: Callable[[str], None]) -> None:
        self._address = address
        self._incarnation = incarnation
        self._counters = counters
        self._send_control = send_control
        self._drop_connection = drop_connection
        self._on_peer_lost = on_peer_lost
        self._liveness = Liveness(interval, timeout)
        self._incarnations = Incarnations()  # learnt on the I/O thread; of() is a plain read
        self._lock = threading.Lock()

    def watch(self, address: str) -> None:
        """Start heartbeating ``address``; the first ping goes out now, ahead of anything this
        thread sends next, so the peer's incarnation is learnt first."""
        with self._lock:
            self._liveness.watch(address, time.monotonic())
        self._send_control(address, ping_frame(self._address(), address), False)  # else the next beat

    def unwatch(self, address: str) -> None:
        with self._lock:
            self._liveness.unwatch(address)

    def of(self, address: str) -> str:
        """The incarnation last heard from at ``address`` ("" if none): what a frame sent there is for."""
        return self._incarnations.of(address)

    def ended(self, incarnation: str) -> bool:
        return self._incarnations.ended(incarnation)

    def learn(self, address: str, incarnation: str) -> None:
        """``incarnation`` speaks at ``address``; if it replaces another, that one is lost, now."""
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

    def control(self, control: Control, sender: str) -> None:
        """A ping (answered from our DEALER to the pinger's address) or a pong."""
        if control.kind == "pong":
            if control.incarnation:
                self.learn(control.address, control.incarnation)
            self.heard_from(control.address)
        elif control.kind == "ping":
            if sender:
                self.learn(control.address, sender)
            if not self._send_control(control.address, pong_frame(control.name, self._incarnation), True):
                self._counters.incr("dropped", "pong")

    def stale_sender(self, incarnation: str) -> None:
        """A frame from an ended incarnation (late news of a process that is gone): dropped."""
        self._counters.incr("dropped", "stale_sender")
        log.info("message_dropped", reason="stale_sender", incarnation=incarnation)

    def stale(self, meant_for: str, frame: bytes, max_frame_bytes: int) -> None:
        """A frame for the incarnation this one replaced: dropped (counted), and its sender told
        who is here now (a pong naming our incarnation), so it learns the process it meant is gone."""
        try:
            envs = [e for e in decode_frame(frame, max_frame_bytes) if type(e) is Envelope]
        except DecodeError:
            envs = []
        self._counters.incr("dropped", "stale_incarnation", max(1, len(envs)))
        log.info("message_dropped", reason="stale_incarnation", meant_for=meant_for, count=len(envs))
        if envs:
            pong = pong_frame(envs[0].receiver.address.encode(), self._incarnation)
            if not self._send_control(envs[0].sender.address, pong, True):
                self._counters.incr("dropped", "pong")

    def tick(self) -> float:
        """Ping who is due, report who timed out; seconds until the next call is due."""
        now = time.monotonic()
        with self._lock:
            ping, lost = self._liveness.tick(now)
        for address in ping:  # a ping not sent (a full queue of them) is itself a sign of death
            self._send_control(address, ping_frame(self._address(), address), False)
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
