"""Bad input from the wire: a raw ZeroMQ client sends each kind of bad frame to a
live node; each is rejected with a counter and a ``message_rejected`` log event,
and the node goes on answering real requests. Ends with a hypothesis fuzz run
against the live endpoint."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from actors.node import Node
from tests.integration.peer import EchoProcess
from tests.integration.proofs_support import answer_proof
from transport.codec import Envelope, decode_frame
from transport.messages import Echo
from transport.pid import PID

pytestmark = pytest.mark.integration

MAX_FRAME = 8192  # room for the 5,000-digit poison pills
_packb = msgpack.Packer(use_bin_type=True).pack


@dataclass
class Client:
    """A raw DEALER into the node, and a ROUTER where the node's answers arrive."""

    node: Node
    echo: PID
    pid: PID
    dealer: zmq.Socket
    router: zmq.Socket
    seq: Iterator[int]

    def envelope(self, type_name: str = "Echo", body: Any = None, correlation: int = 0, sender: Any = None) -> list[Any]:
        body = {"payload": b"ok", "seq": 1} if body is None else body
        return [str(self.pid) if sender is None else sender, str(self.echo), type_name, body, correlation]

    def send(self, *frames: bytes) -> None:
        self.dealer.send_multipart(list(frames))

    def roundtrip(self, dealer: zmq.Socket | None = None) -> None:
        """A real request; returns once its answer is back, so every earlier frame was handled."""
        n = next(self.seq)
        (dealer or self.dealer).send(_packb([self.envelope("Echo", {"payload": b"real", "seq": n}, n)]))
        while True:  # skip answers to requests that fuzzed frames happened to make
            assert self.router.poll(10_000), f"no answer to request {n}"
            _identity, frame = self.router.recv_multipart()
            if answer_proof(frame, self.router.context):  # the node asks whether we speak for pid
                continue
            answers = [e for e in decode_frame(frame) if isinstance(e, Envelope) and e.correlation == -n]
            if answers:
                break
        assert answers[0].message == Echo(payload=b"real", seq=n)
        assert answers[0].sender == self.echo


@pytest.fixture
def client() -> Iterator[Client]:
    node = Node(max_frame_bytes=MAX_FRAME).start()
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(f"tcp://{node.address}")
    try:
        EchoProcess.launch(node, "echo")
        c = Client(node, node.pid("echo"), PID("client", "127.0.0.1", port), dealer, router, itertools.count(1))
        c.roundtrip()
        yield c
    finally:
        node.stop()
        dealer.close(0)
        router.close(0)
        ctx.term()


def _bad_frames(c: Client) -> list[tuple[str, str, list[bytes]]]:
    good = _packb([c.envelope()])
    return [
        ("garbage", "garbage", [b"\xc1\xc1\xc1 this is not msgpack"]),
        ("empty frame", "garbage", [b""]),
        ("truncated msgpack", "garbage", [good[: len(good) // 2]]),
        ("not an array", "garbage", [_packb({"sender": str(c.pid)})]),
        ("unknown type", "unknown_type", [_packb([c.envelope("NoSuchMessage", {})])]),
        ("wrong field types", "bad_fields", [_packb([c.envelope("Echo", {"payload": 1, "seq": "two"})])]),
        ("missing fields", "bad_fields", [_packb([c.envelope("RequestFailed", {})])]),
        ("body not a map", "bad_fields", [_packb([c.envelope("Echo", [b"x", 1])])]),
        ("oversized frame", "oversized", [_packb([c.envelope("Echo", {"payload": b"x" * MAX_FRAME})])]),
        ("wrong envelope shape", "bad_envelope", [_packb([[str(c.pid), str(c.echo), "Echo"]])]),
        ("envelope not a list", "bad_envelope", [_packb(["just text"])]),
        ("bad pid text", "bad_envelope", [_packb([c.envelope(sender="no pid here")])]),
        ("bad port in pid", "bad_envelope", [_packb([c.envelope(sender="client@127.0.0.1:\u00b2")])]),
        ("bad correlation", "bad_envelope", [_packb([c.envelope(correlation="1")])]),  # type: ignore[arg-type]
        ("two frames", "bad_envelope", [good, good]),
        ("bad heartbeat", "garbage", [b"\x00ping no-address-here"]),
        # The poison pills that once ended the I/O thread (int() refuses 4,301 digits; repr of a
        # 1,010-deep list recurses past the interpreter's limit):
        ("5,000-digit sender port", "bad_envelope", [_packb([c.envelope(sender="client@127.0.0.1:" + "9" * 5000)])]),
        ("5,000-digit receiver port", "bad_envelope",
         [_packb([[str(c.pid), "echo@127.0.0.1:" + "1" * 5000, "Echo", {"payload": b"x", "seq": 1}, 0]])]),
        ("5,000-digit port in a heartbeat", "garbage", [b"\x00ping 127.0.0.1:" + b"7" * 5000 + b" x"]),
        ("a sender pid of 4 KB", "bad_envelope", [_packb([c.envelope(sender="a" * 4000 + "@h:1")])]),
        ("lists 1,010 deep in a text field", "too_deep",
         [_packb([c.envelope("RequestFailed", {"error": _nested(1010)})])]),
        ("maps 40 deep", "too_deep", [_packb([c.envelope("Echo", {"payload": b"x", "seq": 1, "x": _nested(40, {})})])]),
        ("unknown control frame", "garbage", [b"\x00hello"]),
    ]


def _nested(depth: int, leaf: Any = None) -> Any:
    value: Any = [] if leaf is None else leaf
    for _ in range(depth - 1):
        value = [value] if leaf is None else {"k": value}
    return value


KINDS = [k for k, _, _ in _bad_frames(Client(None, PID("e", "h", 1), PID("c", "h", 1), None, None, iter(())))]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_each_bad_kind_is_rejected_counted_and_logged(client: Client, kind: str) -> None:
    (reason, frames) = next((r, f) for k, r, f in _bad_frames(client) if k == kind)
    counters = client.node.endpoint.counters
    before = counters.get("rejected", reason)
    total_before = counters.get("rejected")
    with capture_logs() as logs:
        client.send(*frames)
        client.roundtrip()  # answered: the node still serves, and the bad frame was handled first
    assert counters.get("rejected", reason) == before + 1
    assert counters.get("rejected") == total_before + 1
    rejected = [e for e in logs if e["event"] == "message_rejected"]
    assert len(rejected) == 1, logs
    assert rejected[0]["reason"] == reason
    assert rejected[0]["log_level"] == "warning"
    assert rejected[0]["detail"]
    assert client.node.endpoint.counters.get("received", "envelopes") >= 2


def test_every_bad_kind_in_a_row_then_real_requests(client: Client) -> None:
    bad = _bad_frames(client)
    with capture_logs() as logs:
        for _, _, frames in bad:
            client.send(*frames)
        for _ in range(3):
            client.roundtrip()
    assert len([e for e in logs if e["event"] == "message_rejected"]) == len(bad)
    reasons = {r for _, r, _ in bad}
    assert reasons == {"garbage", "unknown_type", "bad_fields", "oversized", "bad_envelope", "too_deep"}
    assert client.node.endpoint.counters.get("rejected") == len(bad)


def test_a_batch_with_one_bad_envelope_delivers_the_others(client: Client) -> None:
    frame = _packb(
        [
            client.envelope("Echo", {"payload": b"a", "seq": 101}, 101),
            client.envelope("Echo", {"payload": b"b", "seq": "bad"}, 102),
            client.envelope("Echo", {"payload": b"c", "seq": 103}, 103),
        ]
    )
    client.send(frame)
    answers: list[Any] = []
    while len(answers) < 2:  # one frame or two: the node batches what is queued
        assert client.router.poll(10_000)
        answers.extend(decode_frame(client.router.recv_multipart()[1]))
    assert sorted(e.correlation for e in answers if isinstance(e, Envelope)) == [-103, -101]
    assert client.node.endpoint.counters.get("rejected", "bad_fields") == 1


def test_frame_beyond_the_socket_limit_is_cut_off_and_the_node_goes_on(client: Client) -> None:
    """Far beyond max_frame_bytes, libzmq's MAXMSGSIZE drops the connection before the
    frame is read into memory; the node keeps serving other connections."""
    client.send(b"\x00" * (MAX_FRAME * 20))
    fresh = client.dealer.context.socket(zmq.DEALER)
    fresh.setsockopt(zmq.LINGER, 0)
    fresh.connect(f"tcp://{client.node.address}")
    try:
        client.roundtrip(fresh)
    finally:
        fresh.close(0)


def test_heartbeat_ping_is_answered_from_the_node_to_the_pinger(client: Client) -> None:
    client.send(b"\x00ping " + client.pid.address.encode() + b" what-you-call-me")
    assert client.router.poll(10_000)
    _identity, frame = client.router.recv_multipart()
    assert frame == b"\x00pong what-you-call-me " + client.node.endpoint.incarnation.encode()
    client.send(b"\x00ping")  # a bare ping is answered on the same connection
    assert client.dealer.poll(10_000)
    assert client.dealer.recv() == b"\x00pong"
    assert client.node.endpoint.counters.get("rejected") == 0


def test_unknown_receiver_gets_request_failed(client: Client) -> None:
    client.send(_packb([[str(client.pid), f"nobody@{client.node.address}", "Echo", {}, 77]]))
    assert client.router.poll(10_000)
    (env,) = decode_frame(client.router.recv_multipart()[1])
    assert isinstance(env, Envelope) and env.correlation == -77
    assert "no process" in env.message.error  # type: ignore[attr-defined]
    assert client.node.counters.get("dropped", "unknown_process") == 1


# --- fuzz against the live endpoint ----------------------------------------------

_pids = st.sampled_from(["client@127.0.0.1:1", "echo@127.0.0.1:1", "bad pid", "x@127.0.0.1:0", "",
                         "x@127.0.0.1:" + "9" * 5000, "x" * 300 + "@127.0.0.1:1", "x@" + "h" * 300 + ":1"])
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=20), st.binary(max_size=20)
)
_objects = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
) | st.integers(1, 1010).map(lambda depth: _nested(depth))  # deep nesting (msgpack packs at most 1,024)
_envelopes = st.tuples(
    _pids,
    _pids,
    st.sampled_from(["Echo", "Link", "Exited", "RequestFailed", "StatusUpdate", "Nope"]),
    st.one_of(st.fixed_dictionaries({}, optional={"payload": _objects, "seq": _objects, "pid": _objects}), _objects),
    st.integers(-5, 0),  # no requests: answers would go to the made-up senders
).map(list)


def test_fuzz_live_endpoint(client: Client) -> None:
    good = _packb([client.envelope()])
    sent = [0]

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(
            st.binary(max_size=MAX_FRAME + 200),
            st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)), min_size=1, max_size=5).map(
                lambda cuts: _mutate(good, cuts)
            ),
            st.lists(st.one_of(_envelopes, _objects), max_size=4).map(_packb),
            _objects.map(_packb),
        )
    )
    def fuzz(frame: bytes) -> None:
        client.send(frame)
        sent[0] += not frame.startswith(b"\x00")  # a leading zero byte marks a heartbeat frame

    fuzz()
    client.roundtrip()
    counters = client.node.endpoint.counters
    assert counters.get("received", "frames") == sent[0] + 2  # every fuzz message frame, plus two real requests
    assert counters.get("rejected") > 0
    assert client.node.endpoint._thread is not None and client.node.endpoint._thread.is_alive()


def _mutate(frame: bytes, cuts: list[tuple[int, int]]) -> bytes:
    out = bytearray(frame)
    for pos, value in cuts:
        out[pos] = value
    return bytes(out)


def test_an_exited_notice_about_another_nodes_process_is_dropped(client: Client) -> None:
    """``Exited`` is the runtime's news of its own processes: a peer cannot announce the
    death of a process elsewhere (here: one the echo process is linked to)."""
    ghost = PID("ghost", "127.0.0.1", 1)
    client.node.link(client.echo, ghost)
    client.send(_packb([client.envelope("Exited", {"pid": str(ghost)})]))
    client.roundtrip()
    assert client.node.counters.get("dropped", "spoofed_exited") == 1
    assert client.echo in client.node.linkers(ghost)
