"""Liveness of a busy peer: data frames count as signs of life, not only pongs.

A peer whose pongs are stuck behind a backlog (50,000 offers) is alive; the
endpoint must not report it lost while its frames keep arriving.
"""

from __future__ import annotations

import threading

import pytest

from transport.codec import Envelope, encode_envelope
from transport.endpoint import Endpoint
from transport.messages import Echo

pytestmark = [pytest.mark.integration, pytest.mark.timeout(20)]


def test_frames_from_a_peer_that_never_pongs_keep_it_alive() -> None:
    lost = threading.Event()
    got = threading.Event()

    def received(env: Envelope) -> None:
        got.set()

    watcher = Endpoint(on_envelope=received, on_peer_lost=lambda address: lost.set(),
                       heartbeat_interval=0.1, heartbeat_timeout=0.75)
    busy = Endpoint(on_envelope=lambda env: None, heartbeat_interval=0.1, heartbeat_timeout=0.75)
    busy._watch.control = lambda control, sender, identity=b"": None  # type: ignore[method-assign]  # pings unanswered
    watcher.start()
    busy.start()
    try:
        watcher.watch(busy.address)
        sender, receiver = f"busy@{busy.address}", f"watcher@{watcher.address}"
        for _ in range(60):  # 3 s of data every 50 ms: four heartbeat timeouts
            busy.send(watcher.address, encode_envelope(sender, receiver, Echo(payload=b"x")))
            assert not lost.wait(0.05), "a peer sending data was reported lost"
        assert got.is_set()
        assert lost.wait(3.0), "a silent peer must still be reported lost"
    finally:
        watcher.stop()
        busy.stop()
