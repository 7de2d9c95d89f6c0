"""Heartbeat control frames and frame batching: the pure parts of the endpoint."""

from __future__ import annotations

import pytest

from transport.codec import split_batches
from transport.liveness import PING, PONG, Control, parse_control, ping_frame


def test_a_ping_frame_parses_back_to_its_reply_address_and_name() -> None:
    assert parse_control(ping_frame("127.0.0.1:5050", "127.0.0.1:5051")) == Control(
        "ping", "127.0.0.1:5050", b"127.0.0.1:5051")
    assert parse_control(PONG + b" 10.0.0.1:5050") == Control("pong", "10.0.0.1:5050")
    assert parse_control(PING) == Control("bare_ping")


@pytest.mark.parametrize("frame", [
    b"\x00ping nohost x", b"\x00ping 1.2.3.4:0 x", b"\x00ping h:1", b"\x00pong",
    b"\x00pong a b c d", b"\x00ping \xff:1 x", b"\x00what h:1", b"\x00",
])
def test_malformed_control_frames_are_refused(frame: bytes) -> None:
    assert parse_control(frame) is None


def test_split_batches_keeps_order_and_size() -> None:
    packed = [bytes([i]) * 10 for i in range(7)]
    batches = split_batches(packed, 25)
    assert [b for batch in batches for b in batch] == packed
    assert all(sum(map(len, batch)) <= 25 for batch in batches)
    assert split_batches(packed, 0) == [[p] for p in packed]
    assert split_batches([b"x" * 100], 25) == [[b"x" * 100]]
