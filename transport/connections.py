"""The endpoint's DEALERs (one per peer address): opening one, and the kernel's news of its connection.

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
import threading
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

__all__ = ["Connections"]

EVENTS = zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED
_KINDS: dict[int, str] = {zmq.EVENT_CONNECTED: "connected", zmq.EVENT_DISCONNECTED: "disconnected",
          zmq.EVENT_CONNECT_RETRIED: "retried"}

OnEvent = Callable[[str, str], None]  # (peer address, "connected" | "disconnected" | "retried")


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
        """Stop monitoring ``dealer`` (about to be closed); its monitor is closed at the I/O thread's next turn."""
        with self._lock:
            pair = self._of.pop(id(dealer), None)
            if pair is None:
                return
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

    def owns(self, sock: object) -> bool:
        return sock in self._polled

    def read(self, pair: zmq.Socket) -> None:
        """On the I/O thread: hand every event waiting on ``pair`` to ``on_event``."""
        address = self._address.get(pair)
        while True:
            try:
                event = recv_monitor_message(pair, zmq.NOBLOCK)
            except (zmq.Again, zmq.ZMQError):
                return
            kind = _KINDS.get(int(event["event"]))
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
