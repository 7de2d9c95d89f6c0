"""A dead peer from a slow one: a SIGKILLed process is seen at once (its connection closed,
then refused), a SIGSTOPped one (a GC or VM pause) only after the heartbeat timeout."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from actors.node import Node
from tests.integration.runtime_support import Collector, Peer, result
from transport.messages import Echo

pytestmark = pytest.mark.integration

SILENCE = 6.0  # the heartbeat timeout of the watching node: far above the stall, far below the 75 s default


@pytest.fixture
def node() -> Iterator[Node]:
    n = Node(heartbeat_interval=0.2, heartbeat_timeout=SILENCE).start()
    yield n
    n.stop()


@pytest.fixture
def linked(node: Node) -> Iterator[tuple[Collector, Peer]]:
    other = Peer()
    me = Collector.launch(node, "me")
    assert result(me.request(other.echo, Echo(seq=1))) == Echo(seq=1)
    me.call(lambda: me.link(other.echo))
    yield me, other
    if other.proc.poll() is None:
        other.proc.send_signal(signal.SIGCONT)
    other.close()


def test_a_killed_peer_is_seen_at_once_not_after_the_heartbeat_timeout(linked: tuple[Collector, Peer]) -> None:
    me, other = linked
    start = time.monotonic()
    other.kill()
    assert me.exited_event.wait(SILENCE), "exited() did not fire"
    took = time.monotonic() - start
    assert took < SILENCE / 3, f"a SIGKILLed peer was seen after {took:.2f} s, as if only by heartbeats"
    assert me.exits == [other.echo]


def test_a_stalled_peer_is_not_dead_and_answers_after_it_resumes(linked: tuple[Collector, Peer]) -> None:
    me, other = linked
    other.proc.send_signal(signal.SIGSTOP)
    try:
        # Three seconds of stall (the old 3 s timeout would have called it dead): no exit.
        assert not me.exited_event.wait(3.0), "a stopped (alive) peer was declared dead"
    finally:
        other.proc.send_signal(signal.SIGCONT)
    assert result(me.request(other.echo, Echo(seq=2))) == Echo(seq=2)
    assert me.exits == []


def test_a_peer_stalled_past_the_heartbeat_timeout_is_lost(linked: tuple[Collector, Peer]) -> None:
    me, other = linked
    start = time.monotonic()
    other.proc.send_signal(signal.SIGSTOP)
    try:
        assert me.exited_event.wait(SILENCE * 2), "a peer silent past the heartbeat timeout was never lost"
    finally:
        other.proc.send_signal(signal.SIGCONT)
    assert time.monotonic() - start >= SILENCE * 0.9
