"""CURVE on real Endpoints: what crosses is encrypted, a peer without the server's key (or
with a wrong one) gets nothing in, and a claimed sender must hold the key it connected with."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import zmq

from transport.codec import Envelope, encode_envelope, join_frame
from transport.curve import CurveKeys
from transport.endpoint import Endpoint
from transport.messages import Echo
from transport.pid import PID

pytestmark = pytest.mark.integration

SECRET_TEXT = b"sleep 3; echo the-task-command-text"


def _keys() -> CurveKeys:
    public, secret = zmq.curve_keypair()
    return CurveKeys(public, secret)


class Inbox:
    def __init__(self) -> None:
        self.got: list[Envelope] = []
        self.event = threading.Event()

    def __call__(self, env: Envelope) -> None:
        self.got.append(env)
        self.event.set()


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        threading.Event().wait(0.02)
    return condition()


@pytest.fixture
def pair() -> Iterator[tuple[Endpoint, Inbox, Endpoint, Inbox]]:
    """A client endpoint that knows the server's key (pinned), and the server."""
    client_in, server_in = Inbox(), Inbox()
    server = Endpoint(on_envelope=server_in, curve=_keys(), heartbeat_timeout=2.0)
    client = Endpoint(on_envelope=client_in, curve=_keys(), heartbeat_timeout=2.0)
    server.start()
    client.start()
    assert server.curve is not None
    client.pin(server.address, server.curve.public)
    try:
        yield client, client_in, server, server_in
    finally:
        client.stop()
        server.stop()


def _echo(frm: Endpoint, to: Endpoint, payload: bytes = b"", seq: int = 1) -> bytes:
    return encode_envelope(PID("a", frm.host, frm.port), PID("b", to.host, to.port), Echo(payload=payload, seq=seq))


def test_both_ways_over_curve_the_reply_uses_the_key_the_client_proved(pair) -> None:  # type: ignore[no-untyped-def]
    client, client_in, server, server_in = pair
    assert client.send(server.address, _echo(client, server, seq=1))
    assert server_in.event.wait(5), "the pinned server got nothing"
    assert server_in.got[0].message == Echo(seq=1)
    assert server.server_key(client.address) == client.curve.public  # type: ignore[union-attr]  # learnt from the proof
    assert server.send(client.address, _echo(server, client, seq=2))
    assert client_in.event.wait(5)
    assert client_in.got[0].message == Echo(seq=2)
    assert server.counters.get("curve", "handshakes") >= 1


def test_a_peer_whose_key_is_not_known_is_not_sent_to(pair) -> None:  # type: ignore[no-untyped-def]
    client, _, server, _ = pair
    stranger = f"127.0.0.1:{server.port + 1}"
    assert client.send(stranger, _echo(client, server))  # queued; dropped by the I/O thread, counted
    assert _wait(lambda: client.counters.get("dropped", "no_server_key") == 1)


@pytest.mark.parametrize("how", ["plain", "wrong_server_key"])
def test_a_client_without_the_servers_key_gets_nothing_in(pair, how: str) -> None:  # type: ignore[no-untyped-def]
    client, _, server, server_in = pair
    context = zmq.Context()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    if how == "wrong_server_key":
        mine = _keys()
        raw.curve_publickey, raw.curve_secretkey, raw.curve_serverkey = mine.public, mine.secret, _keys().public
    try:
        raw.connect(f"tcp://{server.address}")
        frame = join_frame([_echo(client, server, seq=7)])
        for _ in range(3):
            raw.send(frame)
        raw.send(b"\x00ping 127.0.0.1:1 " + server.address.encode())
        # a legitimate message sent after them arrives: so everything the raw client sent was
        # already read and refused by the handshake when we look
        assert client.send(server.address, _echo(client, server, seq=8))
        assert server_in.event.wait(5)
        assert [e.message for e in server_in.got] == [Echo(seq=8)]
        assert server.counters.get("received", "frames") == 1
        assert server.counters.get("curve", "handshakes") == 1  # the client's only
    finally:
        raw.close(0)
        context.term()


def test_a_key_holder_claiming_another_address_is_not_believed(pair) -> None:  # type: ignore[no-untyped-def]
    """The raw client knows the server's key, so its frames get in, but it claims to be
    ``client``: the proof is asked of ``client``'s address under the raw client's key, which
    only a server holding that key's secret could accept; so nothing is delivered."""
    client, _, server, server_in = pair
    assert server.curve is not None
    context = zmq.Context()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    mine = _keys()
    raw.curve_publickey, raw.curve_secretkey, raw.curve_serverkey = mine.public, mine.secret, server.curve.public
    try:
        raw.connect(f"tcp://{server.address}")
        raw.send(join_frame([_echo(client, server, seq=9)]))
        assert _wait(lambda: server.counters.get("dropped", "unproven") == 1, timeout=15)
        assert server_in.got == []
        assert server.server_key(client.address) == b""
    finally:
        raw.close(0)
        context.term()


class Tap:
    """A TCP relay on loopback that keeps every byte going one way (to ``to_port``, set before
    the first connection)."""

    def __init__(self) -> None:
        self.seen = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.to_port = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", self.to_port))
        threading.Thread(target=self._pump, args=(upstream, conn, False), daemon=True).start()
        self._pump(conn, upstream, True)

    def _pump(self, src: socket.socket, dst: socket.socket, keep: bool) -> None:
        try:
            while data := src.recv(65536):
                if keep:
                    self.seen += data
                dst.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._listener.close()


@pytest.mark.parametrize("encrypted", [True, False])
def test_the_wire_carries_no_plain_text_with_curve(encrypted: bool) -> None:
    """The same send through a tap (the server advertises the tap's port): the command text is on
    the wire without CURVE, not with it."""
    server_in, client_in = Inbox(), Inbox()
    tap = Tap()
    server = Endpoint(on_envelope=server_in, curve=_keys() if encrypted else None, advertise_port=tap.port)
    client = Endpoint(on_envelope=client_in, curve=_keys() if encrypted else None)
    server.start()
    client.start()
    tap.to_port = server.port
    try:
        if server.curve is not None:
            client.pin(server.address, server.curve.public)
        assert client.send(server.address, _echo(client, server, payload=SECRET_TEXT))
        assert server_in.event.wait(5)
        assert server_in.got[0].message == Echo(payload=SECRET_TEXT, seq=1)
        assert _wait(lambda: len(tap.seen) > len(SECRET_TEXT))
        assert (SECRET_TEXT in bytes(tap.seen)) is not encrypted
    finally:
        tap.close()
        client.stop()
        server.stop()
