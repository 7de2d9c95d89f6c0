"""A process's mailbox is bounded for what the wire brings: past ``mailbox_limit`` envelopes
waiting, ordinary messages are refused and counted (a request gets RequestFailed), while
control traffic and responses are always taken. Two real nodes over ZeroMQ."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actors.errors import RemoteError
from actors.node import Node
from tests.integration.peer import TrackedProcess
from transport.messages import Echo, KillTask
from transport.pid import PID

pytestmark = pytest.mark.integration

LIMIT = 20


class Stuck(TrackedProcess):
    """Handles nothing until ``release`` is set; counts what it handled."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.release = threading.Event()
        self.echoes = 0
        self.kills = 0
        self.install(Echo, self.on_echo)
        self.install(KillTask, self.on_kill)

    def on_echo(self, sender: PID, msg: Echo) -> Any:
        self.release.wait(30)
        self.echoes += 1
        return msg

    def on_kill(self, sender: PID, msg: KillTask) -> None:
        self.kills += 1


class Sender(TrackedProcess):
    pass


@pytest.fixture
def nodes() -> Iterator[tuple[Node, Node]]:
    busy, other = Node(mailbox_limit=LIMIT).start(), Node().start()
    try:
        yield busy, other
    finally:
        other.stop()
        busy.stop()


def test_a_full_mailbox_refuses_ordinary_messages_but_takes_control(nodes: tuple[Node, Node]) -> None:
    busy, other = nodes
    stuck = Stuck.launch(busy, "stuck")
    sender = Sender.launch(other, "sender")
    try:
        first = sender.request(stuck.pid, Echo(seq=0), timeout=30)  # the handler now blocks
        for seq in range(1, 200):
            sender.send(stuck.pid, Echo(seq=seq))
        for n in range(50):
            sender.send(stuck.pid, KillTask(framework_id="f", task_id=f"t{n}"))
        refused = sender.request(stuck.pid, Echo(seq=999), timeout=30)
        with pytest.raises(RemoteError, match="busy: Echo refused"):
            refused.result(30)
        assert busy.counters.get("refused", "Echo") >= 200 - LIMIT
        assert busy.counters.get("refused", "KillTask") == 0
        stuck.release.set()
        assert first.result(30) == Echo(seq=0)
        done = threading.Event()
        for _ in range(200):
            if stuck.kills == 50:
                break
            done.wait(0.05)
        assert stuck.kills == 50  # every control message was taken
        assert stuck.echoes == 200 - busy.counters.get("refused", "Echo") + 1
    finally:
        stuck.release.set()


def test_a_bad_limit_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="mailbox_limit must be >= 1, got 0"):
        Node(mailbox_limit=0)
