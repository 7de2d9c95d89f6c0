"""The runtime inside one OS process: forced encoding, the test hooks, mailbox order,
counters, request timeouts on a manual clock, missing processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.clock import ManualClock
from actors.errors import PeerExited, RemoteError, RequestTimeout
from actors.filters import clear_filters, drop_messages, future_message
from actors.node import Node
from tests.integration.peer import EchoProcess, TrackedProcess
from tests.integration.runtime_support import WAIT, Collector, failure, result
from transport.codec import Envelope
from transport.messages import Echo, RequestFailed
from transport.pid import PID

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_filters_left() -> Iterator[None]:
    yield
    clear_filters()


def test_force_encoding_runs_local_messages_through_the_codec() -> None:
    for force in (False, True):
        with Node(force_encoding=force) as n:
            echo = EchoProcess.launch(n, "echo")
            me = Collector.launch(n, "me")
            sent = Echo(payload=b"local", seq=9)
            answer = result(me.request(echo.pid, sent))
            assert answer == sent
            assert (answer is sent) is not force  # decoded afresh only when forced
            bad = Echo(payload=b"x", seq="nine")  # type: ignore[arg-type]  # records are not checked locally
            with capture_logs() as logs:
                me.send(echo.pid, bad)
                result(me.request(echo.pid, Echo(seq=10)))
            if force:
                assert n.counters.get("rejected", "bad_fields") == 1
                assert [e["event"] for e in logs if e["event"] == "local_message_rejected"] == ["local_message_rejected"]
                assert [m.seq for _, m in echo.received] == [9, 10]
            else:
                assert [m.seq for _, m in echo.received] == [9, "nine", 10]


def test_drop_messages_and_future_message_locally() -> None:
    with Node() as n:
        me = Collector.launch(n, "me")
        other = Collector.launch(n, "other")
        with drop_messages(Echo, receiver=other.pid, count=2) as dropper:
            seen = future_message(Echo, receiver="other")
            for seq in (1, 2, 3):
                me.send(other.pid, Echo(seq=seq))
            assert result(seen).message.seq == 1
            assert other.call(lambda: other.got) == {me.pid: [3]}
            assert dropper.matched == 2
        taken = future_message(Echo, sender=me.pid, drop=True)
        me.send(other.pid, Echo(seq=4))
        env = result(taken)
        assert isinstance(env, Envelope) and env.sender == me.pid and env.message == Echo(seq=4)
        me.send(other.pid, Echo(seq=5))
        assert result(me.request(other.pid, Echo(seq=6))).seq == 6
        assert other.call(lambda: other.got) == {me.pid: [3, 5, 6]}
        assert n.counters.get("dropped", "filtered") == 3


class Gate(TrackedProcess):
    """Notes what it handles, in order; an Echo whose payload ends with b"wait" blocks until ``gate`` is set."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.order: list[Any] = []
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.done = threading.Event()
        self.install(Echo, self.on_echo)

    def on_echo(self, sender: PID, msg: Echo) -> None:
        if msg.payload.endswith(b"wait"):
            self.waiting.set()
            assert self.gate.wait(WAIT)
        self.order.append(msg.seq)
        if msg.payload == b"last":
            self.done.set()


def test_mailbox_stays_first_in_first_out() -> None:
    """Messages to a busy process share one mailbox item, but never overtake what was queued before them."""
    with Node() as n:
        gate = Gate.launch(n, "gate")
        me = Collector.launch(n, "me")
        other = Collector.launch(n, "other")
        me.send(gate.pid, Echo(payload=b"wait", seq=0))
        assert gate.waiting.wait(WAIT)
        me.send(gate.pid, Echo(seq=1))
        other.send(gate.pid, Echo(seq=2))
        gate.run(gate.order.append, "call")  # queued behind 1 and 2, ahead of 3
        me.send(gate.pid, Echo(seq=3))
        for seq in range(4, 1000):
            (me if seq % 2 else other).send(gate.pid, Echo(seq=seq))
        me.send(gate.pid, Echo(payload=b"last", seq=1000))
        gate.gate.set()
        assert gate.done.wait(WAIT)
        assert gate.order == [0, 1, 2, "call", *range(3, 1001)]


class SendsThenAnswers(TrackedProcess):
    """Answers an Echo request by first sending the requester Echo b"wait", then answering once ``answer`` is set."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.answer: Future[Echo] = Future()
        self.install(Echo, self.on_echo)

    def on_echo(self, sender: PID, msg: Echo) -> Future[Echo]:
        self.send(sender, Echo(payload=b"wait", seq=msg.seq))
        return self.answer


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote"])
def test_an_answer_never_overtakes_a_message_sent_before_it(remote: bool) -> None:
    """The requester is busy with a message the answerer sent first, its mailbox empty, when
    the answer comes: the request settles only once that handler has ended."""
    with Node() as n, Node() as far:
        gate = Gate.launch(n, "gate")
        me = Collector.launch(n, "me")
        answerer = SendsThenAnswers.launch(far if remote else n, "answerer")
        answer = gate.request(answerer.pid, Echo(seq=1))
        assert gate.waiting.wait(WAIT)
        seen: list[list[Any]] = []
        answer.add_done_callback(lambda _: seen.append(list(gate.order)))
        answerer.answer.set_result(Echo(payload=b"answer", seq=1))  # the answer goes out now
        result(me.request(answerer.pid, Echo(seq=2)))  # answered after the gate, on the same path
        assert not answer.done()
        gate.gate.set()
        assert result(answer).payload == b"answer"
        assert seen == [[1]]


def test_counters_per_process_by_type() -> None:
    with Node() as n:
        echo = EchoProcess.launch(n, "echo")
        me = Collector.launch(n, "me")
        for seq in range(3):
            me.send(echo.pid, Echo(seq=seq))
        me.send(echo.pid, RequestFailed(error="nobody handles this"))
        assert isinstance(failure(me.request(echo.pid, RequestFailed(error="nor this"))), RemoteError)
        assert result(me.request(echo.pid, Echo(seq=3))).seq == 3
        assert me.counters.snapshot()["sent"] == {"Echo": 4, "RequestFailed": 2}
        assert me.counters.get("received", "Echo") == 1
        assert me.counters.get("received", "RequestFailed") == 1
        assert echo.counters.get("received", "Echo") == 4
        assert echo.counters.get("rejected", "RequestFailed") == 2
        assert echo.counters.get("sent") == 0  # answers are not counted as sends


def test_request_timeout_on_a_manual_clock() -> None:
    clock = ManualClock()
    with Node(clock=clock) as n:
        holder = EchoProcess.launch(n, "holder")
        me = Collector.launch(n, "me")
        pending = me.request(holder.pid, Echo(payload=b"hold"), timeout=5.0)
        answered = me.request(holder.pid, Echo(seq=1), timeout=5.0)
        assert result(answered).seq == 1
        clock.advance(4.9)
        assert not pending.done()
        clock.advance(0.2)
        assert isinstance(failure(pending), RequestTimeout)
        assert "did not answer within 5.0 s" in str(pending.exception())
        untimed = me.request(holder.pid, Echo(payload=b"hold"), timeout=None)
        clock.advance(3600)
        assert not untimed.done()


def test_request_to_a_missing_local_process_fails() -> None:
    with Node() as n:
        me = Collector.launch(n, "me")
        error = failure(me.request(n.pid("nobody"), Echo()))
        assert isinstance(error, (RemoteError, PeerExited))
