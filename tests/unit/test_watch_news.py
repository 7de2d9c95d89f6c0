"""The kernel's news of a connection is read before a new incarnation is learnt (pure: no sockets).

The endpoint reads its DEALERs' socket monitors on its own turn, and a monitor attached by
another thread only from the I/O thread's next turn (up to a heartbeat later), while frames
on the ROUTER are read as they come. So when a process is killed -9 while we connect to it and
its successor binds the port at once, the successor's first frame (a pong to a ping queued
before the kill) can be read before the news that our connection was closed and then refused.
That news is about the predecessor: it must not end the successor (whose every later frame
would then be dropped as ``stale_sender``).
"""

from __future__ import annotations

from collections import defaultdict

from transport.codec import Envelope, encode_envelope, join_frame
from transport.counters import Counters
from transport.inbound import Inbound
from transport.liveness import Control, pong_frame, routing_id
from transport.messages import Echo
from transport.senders import PROVE, PROVEN, Proofs
from transport.watch import PeerWatch

ME = "127.0.0.1:7000"
A = "127.0.0.1:5051"  # the agent's address: a process killed there, then its successor
KILLED_WHILE_CONNECTING = ["connected", "disconnected", "retried", "retried"]  # then refused


class Kernel:
    """The socket monitors' news, come in but not read yet (per address)."""

    def __init__(self) -> None:
        self.unread: defaultdict[str, list[str]] = defaultdict(list)
        self.watch: PeerWatch | None = None

    def read(self, address: str) -> None:
        """What the endpoint does on its turn (and what PeerWatch may ask for sooner)."""
        assert self.watch is not None
        for kind in self.unread.pop(address, []):
            self.watch.connection(address, kind)


class World:
    def __init__(self) -> None:
        self.kernel = Kernel()
        self.counters = Counters()
        self.sent: list[tuple[str, bytes]] = []
        self.dropped: list[str] = []
        self.order: list[str] = []  # "dropped <address>", "sent <first word of the control frame>"
        self.lost: list[tuple[str, str]] = []  # (address, incarnation known there when reported)
        self.proofs: Proofs[Envelope] = Proofs(5.0)
        self.watch = PeerWatch(lambda: ME, "me0000000000", 0.5, 60.0, counters=self.counters,
                               send_control=self.send_control, drop_connection=self.drop,
                               on_peer_lost=lambda address: self.lost.append((address, self.watch.of(address))),
                               proofs=self.proofs, read_news=self.kernel.read)
        self.kernel.watch = self.watch
        self.delivered: list[Envelope] = []
        self.inbound = Inbound(lambda: ME, "me0000000000", self.watch, self.proofs, counters=self.counters,
                               max_frame_bytes=1 << 20, send_control=self.send_control,
                               answer=lambda identity, frame: True, on_envelope=self.delivered.append,
                               on_envelopes=None, on_rejected=lambda error: None)

    def send_control(self, address: str, frame: bytes, pong: bool, key: bytes = b"") -> bool:
        self.sent.append((address, frame))
        self.order.append(f"sent {frame.split(b' ')[0][1:].decode()}")
        return True

    def drop(self, address: str) -> None:
        self.dropped.append(address)
        self.order.append(f"dropped {address}")

    def endpoint_turn(self) -> None:
        self.kernel.read(A)


def test_a_refusal_read_late_ends_the_predecessor_not_the_successor() -> None:
    w = World()
    w.watch.watch(A)  # the executor links to its agent: a ping goes out (and waits in the DEALER's queue)
    w.kernel.unread[A] += KILLED_WHILE_CONNECTING  # the agent is killed -9 while we connect
    successor = "5ucce55or000"
    token = w.proofs.ping_token(A)
    w.watch.control(Control("pong", A, incarnation=successor, token=token), successor)  # the queued ping's pong
    w.endpoint_turn()  # the monitor is read only now
    assert not w.watch.ended(successor)
    assert w.watch.of(A) == successor
    assert w.lost == [(A, "")]  # the predecessor's loss, reported before the successor was known
    assert w.dropped == [A]  # its connection (and what was queued there for it) dropped


def test_a_refusal_read_late_ends_the_incarnation_known_before() -> None:
    w = World()
    w.watch.watch(A)
    w.watch.learn(A, "predecessor0")
    w.kernel.unread[A] += ["disconnected", "retried", "retried"]
    w.watch.learn(A, "5ucce55or000")
    w.endpoint_turn()
    assert w.watch.ended("predecessor0") and not w.watch.ended("5ucce55or000")
    assert w.lost == [(A, "")]  # once: as refused, not again as replaced
    assert w.watch.of(A) == "5ucce55or000"


def test_news_is_not_read_for_every_frame_of_a_known_incarnation() -> None:
    w = World()
    w.watch.learn(A, "known0000000")
    w.kernel.unread[A] += ["disconnected"]
    w.watch.learn(A, "known0000000")
    assert w.kernel.unread[A] == ["disconnected"]  # left for the endpoint's turn


def test_the_successor_is_heard_through_inbound_after_a_late_refusal() -> None:
    """The whole path of the failing run: pong, then data frames that must be proven, from the
    successor, with the predecessor's refusal read only after the pong."""
    w = World()
    w.watch.watch(A)
    w.kernel.unread[A] += KILLED_WHILE_CONNECTING
    successor = "5ucce55or000"
    rid = routing_id(successor, "00ff")
    w.inbound.receive(rid, [pong_frame(A.encode(), successor, w.proofs.ping_token(A))])
    w.endpoint_turn()
    frame = join_frame([encode_envelope(f"agent(1)@{A}", f"executor(1)@{ME}", Echo(seq=1))])
    w.inbound.receive(rid, [frame])
    [prove] = [f for address, f in w.sent if address == A and f.startswith(PROVE + b" ")]
    w.inbound.receive(routing_id(successor, "0aaa"), [PROVEN + b" " + prove.split(b" ")[2]])
    w.inbound.receive(rid, [join_frame([encode_envelope(f"agent(1)@{A}", f"executor(1)@{ME}", Echo(seq=2))])])
    assert [env.message for env in w.delivered] == [Echo(seq=1), Echo(seq=2)]
    assert w.counters.get("dropped", "stale_sender") == 0
    assert w.lost == [(A, "")]


def test_a_successors_first_frame_is_challenged_after_the_late_refusal_closed_the_old_connection() -> None:
    """Its frame comes before any pong: the challenge must not go out on the DEALER that the
    predecessor's refusal, read next, closes (with what was queued there: the challenge, and the
    frames held behind it would wait for the proof timeout, then be dropped as ``unproven``)."""
    w = World()
    w.watch.watch(A)
    w.order.clear()  # the watch's ping
    w.kernel.unread[A] += KILLED_WHILE_CONNECTING
    rid = routing_id("5ucce55or000", "00ff")
    w.inbound.receive(rid, [join_frame([encode_envelope(f"agent(1)@{A}", f"executor(1)@{ME}", Echo(seq=1))])])
    assert w.order == [f"dropped {A}", "sent prove"]
    assert w.lost == [(A, "")]
    w.endpoint_turn()
    [prove] = [f for address, f in w.sent if address == A and f.startswith(PROVE + b" ")]
    w.inbound.receive(routing_id("5ucce55or000", "0aaa"), [PROVEN + b" " + prove.split(b" ")[2]])
    assert [env.message for env in w.delivered] == [Echo(seq=1)]
    assert w.watch.of(A) == "5ucce55or000" and w.lost == [(A, "")]
