"""The runtime with real parts: peer OS processes over tcp loopback, SIGKILL,
restarts on the same port, ordering, pending requests, and the test hooks across processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pytest

from actors.errors import PeerExited, ProcessStopped, RemoteError, RequestTimeout
from actors.filters import clear_filters, drop_messages, future_message
from actors.node import Node
from tests.integration.peer import EchoProcess
from tests.integration.runtime_support import HEARTBEAT, WAIT, Collector, Peer, failure, result
from transport.messages import Echo, RequestFailed
from transport.pid import PID

pytestmark = pytest.mark.integration


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


def _request_until_answered(me: Collector, to: PID, first_seq: int) -> Echo:
    """A request, repeated: one caught by the news that the process at ``to`` was replaced may fail."""
    for attempt in range(10):
        try:
            answer = me.request(to, Echo(payload=b"bounce", seq=first_seq + attempt)).result(WAIT)
            assert isinstance(answer, Echo)
            return answer
        except (PeerExited, RequestTimeout):
            continue
    raise AssertionError(f"{to} never answered")


def test_messages_queued_for_a_killed_peer_never_reach_its_successor(fresh_peer: Callable[..., Peer]) -> None:
    # A heartbeat timeout of 60 s: the connection to the dead peer stays open, its queue full of
    # bounces, when a new process binds the port. They were meant for the first process only.
    with Node(heartbeat_interval=0.2, heartbeat_timeout=60.0) as patient:
        first = fresh_peer()
        me = Collector.launch(patient, "me")
        assert result(me.request(first.echo, Echo(seq=1))) == Echo(seq=1)
        first.kill()
        for seq in range(10):
            me.send(first.echo, Echo(payload=b"bounce", seq=seq))
        second = fresh_peer(first.echo.port)
        assert _request_until_answered(me, second.echo, 100).seq >= 100
        # The successor answers on the connection the bounces would have come back on, so
        # any bounce it had been handed would be in by now.
        assert all(seq >= 100 for seq in me.call(lambda: me.got.get(second.echo, [])))


def test_a_remote_linker_that_exits_is_forgotten(node: Node, peer: Peer) -> None:
    # As an executor and its agent: each linked to the other; the remote one stops.
    me = Collector.launch(node, "me")
    result(me.request(peer.echo, Echo(payload=b"spawn:linker")))
    linker = peer.pid("linker")
    me.call(lambda: me.link(linker))
    assert result(me.request(linker, Echo(payload=f"ask:{me.pid}".encode()))).payload == b"collected"
    assert node.linkers(me.pid) == {linker}
    assert result(me.request(linker, Echo(payload=b"stop", seq=2))).seq == 2
    assert me.exited_event.wait(WAIT) and me.exits == [linker]
    assert node.linkers(me.pid) == set()


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
