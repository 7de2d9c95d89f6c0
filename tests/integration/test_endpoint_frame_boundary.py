"""The frame boundary of a real Endpoint: whatever fails while one frame is routed is counted
and dropped, and the I/O thread goes on; a failure of the thread itself ends the process
(here: the ``on_fatal`` hook a test installs instead)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from tests.integration.proofs_support import answer_proof
from transport.codec import Envelope, encode_envelope, join_frame
from transport.endpoint import EXIT_TRANSPORT_FAILED, Endpoint
from transport.messages import Echo
from transport.pid import PID

pytestmark = pytest.mark.integration


@pytest.fixture
def raw() -> Iterator[zmq.Socket]:
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        yield sock
    finally:
        sock.close(0)
        context.term()


def test_a_delivery_that_raises_costs_its_frame_only(raw: zmq.Socket) -> None:
    delivered: list[Envelope] = []
    got = threading.Event()

    def on_envelope(env: Envelope) -> None:
        if env.message == Echo(seq=13):
            raise RecursionError("what a handler did not foresee")
        delivered.append(env)
        got.set()

    endpoint = Endpoint(on_envelope=on_envelope)
    endpoint.start()
    home = raw.context.socket(zmq.ROUTER)  # the address the probe speaks for
    home.setsockopt(zmq.LINGER, 0)
    port = home.bind_to_random_port("tcp://127.0.0.1")
    try:
        raw.connect(f"tcp://{endpoint.address}")
        me, sink = PID("probe", "127.0.0.1", port), PID("sink", endpoint.host, endpoint.port)
        for seq in (13, 13, 1):
            raw.send(join_frame([encode_envelope(me, sink, Echo(seq=seq))]))
        assert home.poll(5000)
        assert answer_proof(home.recv_multipart()[-1], raw.context)
        assert got.wait(5)
        assert [e.message for e in delivered] == [Echo(seq=1)]
        assert endpoint.counters.get("rejected", "internal_error") == 2
        assert endpoint._thread is not None and endpoint._thread.is_alive()
    finally:
        home.close(0)
        endpoint.stop()


def test_a_failure_of_the_io_thread_itself_is_fatal() -> None:
    fatal: list[BaseException] = []
    called = threading.Event()

    def on_fatal(error: BaseException) -> None:
        fatal.append(error)
        called.set()

    endpoint = Endpoint(on_envelope=lambda env: None, on_fatal=on_fatal)

    def broken_tick() -> float:
        raise MemoryError("the I/O thread's own work failed")

    endpoint._watch.tick = broken_tick  # type: ignore[method-assign]
    endpoint.start()
    try:
        assert called.wait(5)
        assert isinstance(fatal[0], MemoryError)
        assert endpoint._thread is not None
        endpoint._thread.join(5)
        assert not endpoint._thread.is_alive()
    finally:
        endpoint.stop()


def test_by_default_a_failed_io_thread_exits_the_process_non_zero() -> None:
    program = (
        "import threading\n"
        "from transport.endpoint import Endpoint\n"
        "e = Endpoint(on_envelope=lambda env: None)\n"
        "def broken():\n"
        "    raise RuntimeError('the I/O thread failed')\n"
        "e._watch.tick = broken\n"
        "e.start()\n"
        "threading.Event().wait(30)\n"  # a daemon's main thread, waiting: the exit must come from the I/O thread
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == EXIT_TRANSPORT_FAILED
    assert "RuntimeError: the I/O thread failed" in done.stderr
