"""A ping names its own reply address: a flood of made-up ones must stay bounded."""

from __future__ import annotations

import threading

import pytest
import zmq

from tests.integration.proofs_support import answer_proof
from transport.codec import Envelope, encode_envelope, join_frame
from transport.endpoint import Endpoint
from transport.messages import Echo
from transport.pid import PID

pytestmark = pytest.mark.integration


def test_pings_from_many_made_up_addresses_keep_the_socket_count_bounded() -> None:
    delivered = threading.Event()
    received: list[Envelope] = []

    def on_envelope(env: Envelope) -> None:
        received.append(env)
        delivered.set()

    endpoint = Endpoint(on_envelope=on_envelope, max_pong_peers=4)
    endpoint.start()
    context = zmq.Context()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    try:
        raw.connect(f"tcp://{endpoint.address}")
        for port in range(40001, 40021):  # nothing listens there; each would need its own socket
            raw.send(b"\x00ping 127.0.0.1:%d x" % port)
        # Frames on one connection are handled in order: once this envelope is
        # delivered, every ping before it has been answered or refused.
        home = context.socket(zmq.ROUTER)  # the address the probe speaks for
        home.setsockopt(zmq.LINGER, 0)
        me = PID("probe", "127.0.0.1", home.bind_to_random_port("tcp://127.0.0.1"))
        raw.send(join_frame([encode_envelope(me, PID("sink", endpoint.host, endpoint.port), Echo(seq=1))]))
        assert home.poll(5000) and answer_proof(home.recv_multipart()[-1], context)
        home.close(0)
        assert delivered.wait(5)
        assert received[0].message == Echo(seq=1)
        assert endpoint.counters.get("closed", "pong_evicted") == 17  # and the challenge to the probe
        assert endpoint.connections <= 4
    finally:
        raw.close(0)
        context.term()
        endpoint.stop()
