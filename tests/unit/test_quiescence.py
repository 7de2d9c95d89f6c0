"""actors.quiescence: settle waits for every actor of a node on a tracked manual clock, and
the actors handle their items one at a time in the order they were posted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actors.clock import ManualClock
from actors.node import Node
from actors.process import Process
from actors.quiescence import Activity, SettleTimeout
from transport.messages import Echo
from transport.pid import PID


class Relay(Process):
    """On Echo(n): record it, pass Echo(n - 1) on to ``peer`` while n > 0."""

    def __init__(self, node: Node, name: str, journal: list[Any], peer: str, made: dict[str, Relay]) -> None:
        super().__init__(node, name)
        made[name] = self
        self.journal = journal
        self.peer = peer
        self.gate: threading.Event | None = None
        self.install(Echo, self._echo)

    def _echo(self, sender: PID, msg: Echo) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        self.journal.append((self.pid.name, msg.payload.decode()))
        n = int(msg.payload)
        if n > 0 and self.peer:
            self.send(self.node.pid(self.peer), Echo(payload=str(n - 1).encode()))


@pytest.fixture
def node() -> Iterator[Node]:
    clock = ManualClock(activity=Activity())
    with Node(clock=clock) as n:
        yield n


def actors(node: Node, journal: list[Any], pairs: list[tuple[str, str]]) -> dict[str, Relay]:
    made: dict[str, Relay] = {}
    for name, peer in pairs:
        Relay.spawn(node, name, journal, peer, made)
    return made


def test_settle_returns_only_once_a_chain_of_messages_between_actors_has_ended(node: Node) -> None:
    journal: list[Any] = []
    made = actors(node, journal, [("a", "b"), ("b", "a")])
    clock = node.clock
    assert isinstance(clock, ManualClock)
    made["a"].send(node.pid("a"), Echo(payload="500".encode()))
    clock.settle()
    assert len(journal) == 501 and journal[-1][1] == "0"


def test_actors_take_their_items_in_the_order_they_were_posted(node: Node) -> None:
    journal: list[Any] = []
    made = actors(node, journal, [("x", ""), ("y", ""), ("z", "")])
    sender = made["x"]
    order = [("y", "1"), ("z", "2"), ("x", "3"), ("y", "4"), ("x", "5"), ("z", "6")] * 30

    def burst() -> None:  # one handler of x posts them all
        for name, payload in order:
            sender.send(node.pid(name), Echo(payload=payload.encode()))

    sender.run(burst)
    assert isinstance(node.clock, ManualClock)
    node.clock.settle()
    # Each process's messages queued behind its first one join that mailbox item (the node's
    # batching), and the items run in the order they were posted: y's, then z's, then x's.
    assert journal == [m for who in "yzx" for m in order if m[0] == who]


def test_settle_names_the_busy_actor_after_its_timeout(node: Node) -> None:
    journal: list[Any] = []
    made = actors(node, journal, [("slow", "")])
    made["slow"].gate = gate = threading.Event()
    made["slow"].send(node.pid("slow"), Echo(payload="0".encode()))
    assert isinstance(node.clock, ManualClock)
    with pytest.raises(SettleTimeout, match=r"slow"):
        node.clock.settle(timeout=0.2)
    gate.set()
    node.clock.settle()
    assert journal == [("slow", "0")]


def test_what_a_stopped_actor_left_queued_does_not_keep_the_cluster_busy(node: Node) -> None:
    journal: list[Any] = []
    made = actors(node, journal, [("gone", ""), ("other", "")])
    made["gone"].gate = gate = threading.Event()
    made["other"].send(node.pid("gone"), Echo(payload=b"0"))  # "gone" blocks on it
    ref = made["gone"].actor_ref
    ref.stop(block=False)  # queued behind the blocked handler
    assert isinstance(node.clock, ManualClock) and node.clock.activity is not None
    activity = node.clock.activity
    for i in range(1, 5):  # queued behind the stop: never handled
        made["other"].send(node.pid("gone"), Echo(payload=str(i).encode()))
    gate.set()
    node.clock.settle(timeout=5)
    assert activity.in_flight() == 0 and journal == [("gone", "0")]


def test_advance_lets_the_work_of_each_timer_finish_before_the_next_fires(node: Node) -> None:
    journal: list[Any] = []
    made = actors(node, journal, [("p", "q"), ("q", "p")])
    clock = node.clock
    assert isinstance(clock, ManualClock)
    p = made["p"]
    p.delay(1.0, lambda: p.send(node.pid("q"), Echo(payload="50".encode())))
    p.delay(2.0, lambda: journal.append(("timer", clock.now())))
    clock.advance(5.0)
    assert journal[-1] == ("timer", 2.0) and len(journal) == 52
    assert clock.now() == 5.0


def test_a_plain_manual_clock_has_nothing_to_settle() -> None:
    with pytest.raises(RuntimeError, match="activity"):
        ManualClock().settle()
    with pytest.raises(ValueError, match="-1"):
        ManualClock().advance(-1)
