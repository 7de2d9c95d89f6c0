"""Incarnations on the wire: endpoints in this process over real loopback sockets.

A successor bound to a port ends the incarnation known there: the loss is
reported before the successor's first envelope is handed on, frames still
coming from the ended incarnation are dropped, and a frame meant for another
incarnation is dropped by whoever receives it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest
import zmq

from transport.codec import Envelope, encode_envelope, join_frame
from transport.endpoint import Endpoint
from transport.liveness import routing_id
from transport.messages import Echo

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]
WAIT = 10.0


class Watcher:
    """An endpoint recording, in one queue and in order, envelopes and lost peers."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, object]] = queue.Queue()
        self.endpoint = Endpoint(on_envelope=lambda env: self.events.put(("envelope", env)),
                                 on_peer_lost=lambda address: self.events.put(("lost", address)),
                                 heartbeat_interval=0.2, heartbeat_timeout=60.0)
        self.endpoint.start()

    def next(self) -> tuple[str, object]:
        return self.events.get(timeout=WAIT)


@pytest.fixture
def watcher() -> Iterator[Watcher]:
    w = Watcher()
    yield w
    w.endpoint.stop()


def _sender(port: int = 0) -> Endpoint:
    endpoint = Endpoint(on_envelope=lambda env: None, port=port)
    endpoint.start()
    return endpoint


def _echo(sender: Endpoint | Watcher, to: Endpoint | Watcher, seq: int) -> None:
    frm = sender.endpoint if isinstance(sender, Watcher) else sender
    target = to.endpoint if isinstance(to, Watcher) else to
    frm.send(target.address, encode_envelope(f"p@{frm.address}", f"w@{target.address}", Echo(seq=seq)))


def test_the_loss_of_a_replaced_incarnation_comes_before_its_successors_news(watcher: Watcher) -> None:
    first = _sender()
    port = first.port
    _echo(first, watcher, 1)
    kind, env = watcher.next()
    assert kind == "envelope" and isinstance(env, Envelope) and env.message == Echo(seq=1)
    first.stop()
    for n in range(3):  # every successor, each time
        successor = _sender(port)
        try:
            _echo(successor, watcher, 10 + n)
            assert watcher.next() == ("lost", f"127.0.0.1:{port}")
            kind, env = watcher.next()
            assert kind == "envelope" and isinstance(env, Envelope) and env.message == Echo(seq=10 + n)
        finally:
            successor.stop()


def test_frames_from_an_ended_incarnation_are_dropped(watcher: Watcher) -> None:
    first = _sender()
    old = first.incarnation
    _echo(first, watcher, 1)
    assert watcher.next()[0] == "envelope"
    first.stop()
    successor = _sender(first.port)
    context = zmq.Context()
    ghost = context.socket(zmq.DEALER)  # speaks as the ended incarnation
    ghost.setsockopt(zmq.LINGER, 0)
    ghost.setsockopt(zmq.ROUTING_ID, routing_id(old, 99))
    try:
        _echo(successor, watcher, 2)
        assert watcher.next()[0] == "lost"
        assert watcher.next()[0] == "envelope"
        ghost.connect(f"tcp://{watcher.endpoint.address}")
        sender, receiver = f"p@{successor.address}", f"w@{watcher.endpoint.address}"
        ghost.send(join_frame([encode_envelope(sender, receiver, Echo(seq=3))]))
        _echo(successor, watcher, 4)  # on another connection: wait on the counter instead
        assert watcher.next()[1].message == Echo(seq=4)  # type: ignore[attr-defined]
        done = threading.Event()
        for _ in range(100):
            if watcher.endpoint.counters.get("dropped", "stale_sender") == 1:
                break
            done.wait(0.05)
        assert watcher.endpoint.counters.get("dropped", "stale_sender") == 1
        assert watcher.events.empty()
    finally:
        ghost.close(0)
        context.term()
        successor.stop()


def test_a_frame_for_another_incarnation_is_dropped_and_its_sender_told(watcher: Watcher) -> None:
    target = _sender()
    _echo(target, watcher, 1)  # the watcher learns target's incarnation
    assert watcher.next()[0] == "envelope"
    port = target.port
    target.stop()
    got: queue.Queue[Envelope] = queue.Queue()
    successor = Endpoint(on_envelope=got.put, port=port)
    successor.start()
    try:
        _echo(watcher, successor, 2)  # meant for the process that died
        assert watcher.next() == ("lost", f"127.0.0.1:{port}")  # the successor said who it is
        assert successor.counters.get("dropped", "stale_incarnation") == 1
        _echo(watcher, successor, 3)
        assert got.get(timeout=WAIT).message == Echo(seq=3)
        assert got.empty()
    finally:
        successor.stop()


def test_one_endpoint_reaching_a_router_by_two_names_loses_nothing(watcher: Watcher) -> None:
    sender = _sender()
    try:
        receiver = f"w@{watcher.endpoint.address}"
        for n, name in enumerate([watcher.endpoint.address, f"localhost:{watcher.endpoint.port}"] * 3):
            sender.send(name, encode_envelope(f"p@{sender.address}", receiver, Echo(seq=n)))
        got = sorted(env.message.seq for kind, env in (watcher.next() for _ in range(6)))  # type: ignore[attr-defined]
        assert got == list(range(6))
    finally:
        sender.stop()
