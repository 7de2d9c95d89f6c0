"""The runtime with real parts: peer OS processes over tcp loopback, SIGKILL,
restarts on the same port, ordering, pending requests, and the test hooks."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.clock import ManualClock
from actors.errors import PeerExited, ProcessStopped, RemoteError, RequestTimeout
from actors.filters import clear_filters, drop_messages, future_message
from actors.node import Node
from tests.integration.peer import EchoProcess, TrackedProcess
from transport.codec import Envelope
from transport.messages import Echo, RequestFailed
from transport.pid import PID

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PEER = Path(__file__).with_name("peer.py")
HEARTBEAT = {"heartbeat_interval": 0.2, "heartbeat_timeout": 1.0}
WAIT = 10.0


class Peer:
    """A peer OS process running tests/integration/peer.py."""

    def __init__(self, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(PEER), "--port", str(port), "--heartbeat-interval", "0.2", "--heartbeat-timeout", "1.0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=30):
                self.proc.kill()
                raise AssertionError("the peer did not print its pid within 30 s")
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            raise AssertionError(f"the peer exited with {self.proc.wait()} before it was ready")
        self.echo = PID.parse(line)

    def pid(self, name: str) -> PID:
        return PID(name, self.echo.host, self.echo.port)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Collector(TrackedProcess):
    """Records Echo messages by sender and answers requests with the same Echo."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.got: dict[PID, list[int]] = {}
        self.expect: tuple[int, threading.Event] | None = None
        self.exits: list[PID] = []
        self.exited_event = threading.Event()
        self.install(Echo, self.on_echo)

    def on_echo(self, sender: PID, msg: Echo) -> Echo:
        seqs = self.got.setdefault(sender, [])
        seqs.append(msg.seq)
        if self.expect is not None and sum(map(len, self.got.values())) >= self.expect[0]:
            self.expect[1].set()
        return Echo(payload=b"collected", seq=msg.seq)

    def expecting(self, n: int) -> threading.Event:
        event = threading.Event()
        self.expect = (n, event)
        return event

    def exited(self, pid: PID) -> None:
        self.exits.append(pid)
        self.exited_event.set()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on this process's thread and return its result."""
        done: Future[Any] = Future()
        self.run(lambda: done.set_result(fn()))
        return done.result(WAIT)


def result(future: Future[Any]) -> Any:
    return future.result(WAIT)


def failure(future: Future[Any]) -> BaseException | None:
    return future.exception(WAIT)


@pytest.fixture(autouse=True)
def _no_filters_left() -> Iterator[None]:
    yield
    clear_filters()


@pytest.fixture
def node() -> Iterator[Node]:
    n = Node(**HEARTBEAT).start()  # type: ignore[arg-type]
    yield n
    n.stop()


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


@pytest.fixture
def fresh_peer() -> Iterator[Callable[..., Peer]]:
    made: list[Peer] = []

    def make(port: int = 0) -> Peer:
        made.append(Peer(port))
        return made[-1]

    yield make
    for p in made:
        p.close()


# --- two OS processes ----------------------------------------------------------------


def test_messages_both_ways(node: Node, peer: Peer) -> None:
    me = Collector.launch(node, "me")
    got = me.expecting(1)
    me.send(peer.echo, Echo(payload=b"bounce", seq=41))  # the peer sends it back
    assert got.wait(WAIT)
    assert me.got == {peer.echo: [41]}


def test_request_response_both_ways(node: Node, peer: Peer) -> None:
    me = Collector.launch(node, "me")
    assert result(me.request(peer.echo, Echo(payload=b"hello", seq=7))) == Echo(payload=b"hello", seq=7)
    # the peer asks us, then answers with our answer
    answer = result(me.request(peer.echo, Echo(payload=f"ask:{me.pid}".encode(), seq=8)))
    assert answer == Echo(payload=b"collected", seq=8)
    assert me.got == {peer.echo: [8]}
    futures = [me.request(peer.echo, Echo(payload=b"many", seq=i)) for i in range(200)]
    assert [result(f).seq for f in futures] == list(range(200))


def test_request_to_a_missing_remote_process_fails(node: Node, peer: Peer) -> None:
    me = Collector.launch(node, "me")
    error = failure(me.request(peer.pid("nobody"), Echo()))
    assert isinstance(error, (RemoteError, PeerExited))
    error = failure(me.request(peer.echo, RequestFailed(error="not handled by echo")))
    assert isinstance(error, RemoteError) and "does not handle RequestFailed" in str(error)


def test_ordering_per_sender_receiver_pair(node: Node, peer: Peer) -> None:
    n = 10_000
    senders = [Collector.launch(node, f"sender({i})") for i in range(2)]
    events = [s.expecting(n) for s in senders]

    def blast(me: Collector) -> None:
        for seq in range(n):
            me.send(peer.echo, Echo(payload=b"bounce", seq=seq))

    for s in senders:  # both senders run at once, interleaving at the peer
        s.run(blast, s)
    for s, event in zip(senders, events):
        assert event.wait(30), f"{s.pid} got {sum(map(len, s.got.values()))} of {n}"
        assert s.call(partial(s.got.get, peer.echo)) == list(range(n))
        assert s.counters.get("sent", "Echo") == n
        assert s.counters.get("received", "Echo") == n


def test_link_fires_exited_when_the_peer_is_sigkilled(node: Node, fresh_peer: Callable[..., Peer]) -> None:
    other = fresh_peer()
    me = Collector.launch(node, "me")
    assert result(me.request(other.echo, Echo(seq=1))) == Echo(seq=1)
    me.call(lambda: me.link(other.echo))
    pending = me.request(other.echo, Echo(payload=b"hold"))
    other.kill()
    assert me.exited_event.wait(5.0), "exited() did not fire within 5 s of SIGKILL (heartbeat timeout 1 s)"
    assert me.exits == [other.echo]
    assert isinstance(failure(pending), PeerExited)


def test_exited_fires_when_the_peer_is_replaced_on_the_same_port_at_once(fresh_peer: Callable[..., Peer]) -> None:
    # A heartbeat timeout of 60 s cannot fire here: only the successor's pongs,
    # which carry another incarnation, can tell that the linked process died.
    with Node(heartbeat_interval=0.2, heartbeat_timeout=60.0) as patient:
        first = fresh_peer()
        me = Collector.launch(patient, "me")
        me.call(lambda: me.link(first.echo))
        # The link's first ping went ahead of this request on the same connection,
        # so its pong (naming the first incarnation) is in before the answer.
        assert result(me.request(first.echo, Echo(seq=1))) == Echo(seq=1)
        first.kill()
        second = fresh_peer(first.echo.port)
        assert me.exited_event.wait(WAIT), "the replaced peer's exit was not noticed"
        assert me.exits == [first.echo]
        assert result(me.request(second.echo, Echo(seq=2))) == Echo(seq=2)


def test_reconnect_after_the_peer_restarts_on_the_same_port(node: Node, fresh_peer: Callable[..., Peer]) -> None:
    first = fresh_peer()
    me = Collector.launch(node, "me")
    assert result(me.request(first.echo, Echo(seq=1))) == Echo(seq=1)
    first.kill()
    second = fresh_peer(first.echo.port)
    assert second.echo == first.echo
    answered = None
    for attempt in range(10):  # at most once: a request caught by the death of the first may fail
        try:
            answered = me.request(second.echo, Echo(seq=100 + attempt)).result(WAIT)
            break
        except (PeerExited, RequestTimeout):
            continue
    assert answered is not None and answered.seq >= 100
    got = me.expecting(1)
    me.send(second.echo, Echo(payload=b"bounce", seq=5))
    assert got.wait(WAIT)
    assert me.got[second.echo] == [5]


def test_pending_requests_fail_when_the_requester_stops(node: Node, peer: Peer) -> None:
    holder = EchoProcess.launch(node, "holder")
    me = Collector.launch(node, "me")
    local = me.request(holder.pid, Echo(payload=b"hold"))
    remote = me.request(peer.echo, Echo(payload=b"hold"))
    assert result(me.request(peer.echo, Echo(seq=3))).seq == 3  # the hold has reached the peer
    me.actor_ref.stop()
    assert isinstance(failure(local), ProcessStopped)
    assert isinstance(failure(remote), ProcessStopped)
    assert isinstance(failure(me.request(holder.pid, Echo())), ProcessStopped)


def test_pending_requests_fail_when_the_target_stops(node: Node, peer: Peer) -> None:
    me = Collector.launch(node, "me")
    holder = EchoProcess.launch(node, "holder")
    local = me.request(holder.pid, Echo(payload=b"hold"))
    assert result(me.request(holder.pid, Echo(seq=1))).seq == 1
    holder.actor_ref.stop()
    assert isinstance(failure(local), PeerExited)

    result(me.request(peer.echo, Echo(payload=b"spawn:victim")))
    victim = peer.pid("victim")
    remote = me.request(victim, Echo(payload=b"hold"))
    assert result(me.request(victim, Echo(payload=b"stop", seq=2))).seq == 2
    assert isinstance(failure(remote), PeerExited)
    assert isinstance(failure(me.request(victim, Echo())), (RemoteError, PeerExited))


def test_remote_messages_pass_the_test_hooks(node: Node, peer: Peer) -> None:
    me = Collector.launch(node, "me")
    seen = future_message(Echo, sender=peer.echo, receiver=me.pid)
    dropped = drop_messages(Echo, sender=peer.echo, count=1)
    got = me.expecting(1)
    me.send(peer.echo, Echo(payload=b"bounce", seq=1))
    me.send(peer.echo, Echo(payload=b"bounce", seq=2))
    assert got.wait(WAIT)
    assert result(seen).message.seq == 1
    assert dropped.matched == 1
    assert me.call(lambda: me.got) == {peer.echo: [2]}
    assert node.counters.get("dropped", "filtered") == 1


# --- one OS process -----------------------------------------------------------------


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
    """Notes what it handles, in order; an Echo with payload b"wait" blocks until ``gate`` is set."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.order: list[Any] = []
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.done = threading.Event()
        self.install(Echo, self.on_echo)

    def on_echo(self, sender: PID, msg: Echo) -> None:
        if msg.payload == b"wait":
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
