"""The node's rule for running handlers inline (``Node._post`` with ``wire``), against a stand-in
process: only idle, with nothing queued, the turn free, and every envelope for an inline handler."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from actors.mailbox import TurnInbox
from actors.node import Node
from transport.codec import Envelope
from transport.messages import Echo
from transport.pid import PID

SENDER = PID("far", "127.0.0.2", 6000)
RECEIVER = PID("p", "127.0.0.1", 5000)


class _Ref:
    def __init__(self) -> None:
        self.told: list[Any] = []

    def tell(self, item: Any) -> None:
        self.told.append(item)


class Standin:
    """An Addressee whose actor's thread is waiting for an item (its turn free) unless told otherwise."""

    def __init__(self, inline: bool = True) -> None:
        self.posted = 0
        self.handled = 0
        self.actor_inbox = TurnInbox()
        self.actor_inbox.turn.release()  # the actor waits for an item
        self.actor_stopped = threading.Event()
        self.actor_ref = _Ref()
        self.inline = inline
        self.inlined: list[Envelope] = []
        self.completed: list[Envelope] = []

    def complete(self, env: Envelope) -> None:
        self.completed.append(env)

    def takes_inline(self, envs: list[Envelope]) -> bool:
        return self.inline

    def handle_inline(self, envs: list[Envelope]) -> None:
        assert self.actor_inbox.turn.locked()  # handled in the turn
        self.inlined.extend(envs)
        self.handled += len(envs)
        self.actor_inbox.turn.release()


def _post(process: Standin, wire: bool = True, n: int = 1) -> None:
    node = Node()
    node._processes["p"] = process  # type: ignore[assignment]
    node._post("p", [Envelope(SENDER, RECEIVER, Echo(seq=i), i + 1) for i in range(n)], wire=wire)


def test_an_idle_process_handles_wire_envelopes_inline_in_its_turn() -> None:
    process = Standin()
    _post(process, n=2)
    assert [e.correlation for e in process.inlined] == [1, 2]
    assert process.actor_ref.told == []
    assert process.posted == process.handled == 2
    assert not process.actor_inbox.turn.locked()  # given back


@pytest.mark.parametrize("case", ["queued", "being_handled", "turn_taken", "not_wire", "not_inline"])
def test_otherwise_the_envelopes_go_to_the_mailbox(case: str) -> None:
    process = Standin(inline=case != "not_inline")
    if case == "queued":  # an item is in the mailbox, the actor's thread not yet at it
        process.actor_inbox.queue.append(object())
    elif case == "being_handled":
        process.posted = 3
    elif case == "turn_taken":  # the actor's thread is handling something
        process.actor_inbox.turn.acquire()
    _post(process, wire=case != "not_wire")
    assert process.inlined == []
    assert len(process.actor_ref.told) == 1
    assert process.actor_inbox.turn.locked() == (case == "turn_taken")  # left as it was


def test_a_lone_response_still_completes_directly() -> None:
    process = Standin()
    node = Node()
    node._processes["p"] = process  # type: ignore[assignment]
    node._post("p", [Envelope(SENDER, RECEIVER, Echo(seq=1), -4)], wire=True)
    assert [e.correlation for e in process.completed] == [-4]
    assert process.inlined == []
