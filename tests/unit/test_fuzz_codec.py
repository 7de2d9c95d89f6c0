"""Hypothesis fuzz of decode_frame: whatever comes in, only DecodeError is raised,
and what is returned is a list of Envelope or DecodeError."""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import transport.messages  # noqa: F401
from transport.codec import Envelope, decode_frame, encode_envelope, join_frame
from transport.errors import DecodeError
from transport.messages import Echo, Exited, StatusUpdate
from transport.pid import PID
from transport.schema import REGISTRY

_packb = msgpack.Packer(use_bin_type=True).pack
MAX = 64 * 1024
FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
ints = st.integers(-(2**63), 2**64 - 1)  # what msgpack can carry

SENDER = PID("a", "127.0.0.1", 1)
RECEIVER = PID("b", "127.0.0.1", 2)
VALID_FRAMES = [
    join_frame([encode_envelope(SENDER, RECEIVER, Echo(payload=b"abc", seq=5), 3)]),
    join_frame(
        [
            encode_envelope(SENDER, RECEIVER, Exited(pid="x@h:9")),
            encode_envelope(SENDER, RECEIVER, StatusUpdate(framework_id="f", status={"state": "TASK_RUNNING"}), -4),
        ]
    ),
]


def check(frame: bytes, max_bytes: int = MAX) -> list[Envelope | DecodeError]:
    try:
        out = decode_frame(frame, max_bytes)
    except DecodeError as e:
        assert e.reason in ("oversized", "garbage")
        return []
    assert isinstance(out, list) and out
    for item in out:
        assert isinstance(item, (Envelope, DecodeError)), repr(item)
        if isinstance(item, DecodeError):
            assert item.reason in ("bad_envelope", "unknown_type", "bad_fields")
        else:
            assert isinstance(item.sender, PID) and isinstance(item.receiver, PID)
            assert type(item.message).__name__ in REGISTRY
            assert type(item.correlation) is int
    return out


@FUZZ
@given(st.binary(max_size=2048))
@example(b"")
@example(b"\x91")
@example(b"\xdd\xff\xff\xff\xff")
@example(b"\x91\x95\xa3a@b\xa3a@b")
def test_arbitrary_bytes(frame: bytes) -> None:
    check(frame)


@FUZZ
@given(
    base=st.sampled_from(VALID_FRAMES),
    cuts=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=6),
    truncate=st.one_of(st.none(), st.integers(0, 400)),
)
def test_mutated_valid_frames(base: bytes, cuts: list[tuple[int, int]], truncate: int | None) -> None:
    frame = bytearray(base)
    for pos, value in cuts:
        frame[pos % len(frame)] = value
    if truncate is not None:
        frame = frame[: truncate % (len(frame) + 1)]
    check(bytes(frame))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.binary(max_size=30),
)
objects = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.one_of(st.text(max_size=10), st.binary(max_size=10)), inner, max_size=6),
    ),
    max_leaves=12,
)
pid_texts = st.one_of(
    st.sampled_from(["a@127.0.0.1:1", "b(2)@h:65535", "x@[::1]:5", "bad", "a@h:0", "a@h:\u00b2", "a\n@h:1"]),
    st.text(max_size=25),
)
type_names = st.one_of(st.sampled_from(sorted(REGISTRY)), st.text(max_size=20), ints)
bodies = st.one_of(
    st.dictionaries(
        st.sampled_from(["payload", "seq", "pid", "error", "framework_id", "status", "uuid", "timestamp", "x"]),
        objects,
        max_size=6,
    ),
    objects,
)
envelopes = st.one_of(
    st.tuples(pid_texts, pid_texts, type_names, bodies, st.one_of(st.integers(-(2**63), 2**63 - 1), objects)).map(list),
    st.tuples(pid_texts, pid_texts, type_names, bodies).map(list),
    objects,
)


@settings(FUZZ, max_examples=150)  # generating these is the slow part
@given(st.lists(envelopes, min_size=0, max_size=5))
def test_arbitrary_envelopes(raws: list[Any]) -> None:
    out = check(_packb(raws))
    if raws:
        assert len(out) == len(raws)


@FUZZ
@given(objects)
def test_arbitrary_msgpack_objects(obj: Any) -> None:
    check(_packb(obj))


@FUZZ
@given(st.binary(min_size=1, max_size=600), st.integers(0, 600))
def test_size_limit(frame: bytes, limit: int) -> None:
    if len(frame) > limit:
        try:
            decode_frame(frame, limit)
        except DecodeError as e:
            assert e.reason == "oversized"
        else:
            raise AssertionError("an oversized frame was decoded")
    else:
        check(frame, limit)
