"""A peer killed -9 while we connect to it, and a new process bound at once to its address.

Real OS processes (tests/integration/rebind_peer.py): the watcher's DEALER to address ``A``
reaches a process there that is killed -9 before it answers; a new process binds ``A`` and
answers the ping still queued in that DEALER. The watcher learns the successor from that
pong before it reads its socket monitor's news that the connection was closed and then
refused (the monitor of a DEALER opened by another thread is polled only from the I/O
thread's next turn, a heartbeat later here). That news is about the process that died: the
watcher must report it lost and then hear the successor, not drop the successor's frames as
``stale_sender`` (an executor registering across an agent's kill -9 did).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.operators_support import free_port
from transport.codec import Envelope
from transport.endpoint import Endpoint
from transport.messages import Echo

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
WAIT = 15.0
PEER = str(Path(__file__).with_name("rebind_peer.py"))


class Peer:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, PEER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    started: list[Peer] = []
    yield started
    for peer in started:
        peer.kill()


@pytest.mark.parametrize("first_news", ["its_frame", "its_pong"])
def test_a_successor_bound_at_once_is_heard_after_its_predecessor_dies_mid_handshake(
        peers: list[Peer], first_news: str) -> None:
    """``its_frame``: the successor's first envelope comes before it has answered our ping (its
    claim is challenged over our DEALER to its address, which the news of the predecessor's death
    closes); ``its_pong``: its answer to our queued ping comes first, and teaches its incarnation."""
    events: queue.Queue[tuple[str, object]] = queue.Queue()
    # A long heartbeat: the watcher's I/O thread has no turn of its own while this happens.
    watcher = Endpoint(on_envelope=lambda env: events.put(("envelope", env)),
                       on_peer_lost=lambda address: events.put(("lost", address)),
                       heartbeat_interval=5.0, heartbeat_timeout=60.0)
    watcher.start()
    try:
        port = free_port()
        address = f"127.0.0.1:{port}"
        first = Peer("listen", str(port))
        peers.append(first)
        assert first.line() == "listening"
        watcher.watch(address)  # its ping waits in the new DEALER's queue
        assert first.line() == "accepted"  # connected: the handshake has begun, unanswered
        first.kill()
        successor = Peer("endpoint", str(port), watcher.address)
        peers.append(successor)
        ready, incarnation = successor.line().split()
        assert ready == "ready"
        if first_news == "its_frame":
            successor.tell("send 1")
        kind, lost = events.get(timeout=WAIT)
        assert (kind, lost) == ("lost", address)  # the process that died, before the successor's news
        if first_news == "its_pong":
            successor.tell("send 1")
        kind, env = events.get(timeout=WAIT)
        assert kind == "envelope" and isinstance(env, Envelope) and env.message == Echo(seq=1)
        assert env.sender.address == address
        successor.tell("send 2")
        kind, env = events.get(timeout=WAIT)
        assert kind == "envelope" and isinstance(env, Envelope) and env.message == Echo(seq=2)
        assert watcher.counters.get("dropped", "stale_sender") == 0
        assert events.empty()
    finally:
        watcher.stop()
