"""The schema and the msgpack codec: every registered message round-trips,
every decode error reason is reachable, and a bad envelope spoils only itself.

Sample records are built generically from each type's hints, so a message
type added to transport.messages is covered without touching this file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import msgpack
import pytest

import transport.messages  # noqa: F401  (registers every record)
from transport.codec import (
    Envelope,
    decode_envelope,
    decode_frame,
    encode_envelope,
    encode_frame,
    join_frame,
)
from transport.errors import DecodeError, SchemaError
from transport.messages import Echo, Exited, RequestFailed, StatusUpdate
from transport.pid import PID
from transport.schema import (
    REGISTRY,
    Message,
    from_body,
    message,
    message_type,
    to_body,
)

SENDER = PID("sender(1)", "127.0.0.1", 5050)
RECEIVER = PID("receiver", "10.0.0.2", 5051)
_packb = msgpack.Packer(use_bin_type=True).pack


def sample_value(hint: Any) -> Any:
    """A valid, non-default value for a field's type hint."""
    if hint is Any:
        return {"value": "x", "n": [1, 2.5, None, b"\x00"], "nested": {"ok": True}}
    if hint is str:
        return "text-\u00e9"
    if hint is bool:
        return True
    if hint is int:
        return -7
    if hint is float:
        return 2.5
    if hint is bytes:
        return b"\x00\xffbytes"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return sample_value(next(a for a in args if a is not type(None)))
    if hint is list or origin is list:
        return [sample_value(args[0] if args else Any), sample_value(args[0] if args else Any)]
    if hint is dict or origin is dict:
        key, val = args if args else (str, Any)
        return {sample_value(key): sample_value(val)}
    raise AssertionError(f"no sample for {hint!r}: teach sample_value this type")


def wrong_value(hint: Any) -> Any:
    """A value of the wrong type for a hint, or NotImplemented if any value fits."""
    if hint is Any:
        return NotImplemented
    if hint is str:
        return 12
    if hint in (int, float, bool, bytes):
        return "not a number" if hint is not bytes else 3
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = next(a for a in typing.get_args(hint) if a is not type(None))
        return wrong_value(inner)
    if hint is list or origin is list:
        return {"not": "a list"}
    if hint is dict or origin is dict:
        return ["not", "a", "map"]
    raise AssertionError(f"no wrong value for {hint!r}")


def sample(cls: type[Message]) -> Message:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: sample_value(hints[f.name]) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def raw_envelope(type_name: str, body: Any, correlation: int = 0) -> list[Any]:
    return [str(SENDER), str(RECEIVER), type_name, body, correlation]


def frame_of(*raws: Any) -> bytes:
    return _packb(list(raws))


ALL_TYPES = sorted(REGISTRY)


def test_registry_holds_the_runtime_and_mesos_records() -> None:
    for name in ("Link", "Exited", "RequestFailed", "Echo", "RegisterFramework", "StatusUpdate", "RunTask"):
        assert name in REGISTRY
    assert len(REGISTRY) >= 40


@pytest.mark.parametrize("type_name", ALL_TYPES)
def test_every_message_type_round_trips(type_name: str) -> None:
    cls = REGISTRY[type_name]
    assert cls.__doc__ and "->" in cls.__doc__
    msg = sample(cls)
    assert from_body(type_name, to_body(msg)) == msg
    for correlation in (0, 42, -42):
        (got,) = decode_frame(encode_frame([Envelope(SENDER, RECEIVER, msg, correlation)]))
        assert isinstance(got, Envelope)
        assert got == Envelope(SENDER, RECEIVER, msg, correlation)
        assert type(got.message) is cls


@pytest.mark.parametrize("type_name", ALL_TYPES)
def test_defaults_may_be_left_out(type_name: str) -> None:
    cls = REGISTRY[type_name]
    hints = typing.get_type_hints(cls)
    body = {f: sample_value(hints[f]) for f in cls._required}
    (got,) = decode_frame(frame_of(raw_envelope(type_name, body)))
    assert isinstance(got, Envelope) and type(got.message) is cls


@pytest.mark.parametrize("type_name", [n for n in ALL_TYPES if REGISTRY[n]._required])
def test_every_required_field_is_checked(type_name: str) -> None:
    cls = REGISTRY[type_name]
    body = to_body(sample(cls))
    for field in cls._required:
        partial = {k: v for k, v in body.items() if k != field}
        (got,) = decode_frame(frame_of(raw_envelope(type_name, partial)))
        assert isinstance(got, DecodeError)
        assert got.reason == "bad_fields" and field in got.detail


@pytest.mark.parametrize("type_name", ALL_TYPES)
def test_every_typed_field_is_checked(type_name: str) -> None:
    cls = REGISTRY[type_name]
    hints = typing.get_type_hints(cls)
    body = to_body(sample(cls))
    for field in cls._fields:
        bad = wrong_value(hints[field])
        if bad is NotImplemented:
            continue
        (got,) = decode_frame(frame_of(raw_envelope(type_name, {**body, field: bad})))
        assert isinstance(got, DecodeError), field
        assert got.reason == "bad_fields"
        assert f"{type_name}.{field}" in got.detail


def test_unknown_body_keys_are_ignored() -> None:
    (got,) = decode_frame(frame_of(raw_envelope("Echo", {"payload": b"p", "seq": 1, "extra": [1]})))
    assert isinstance(got, Envelope) and got.message == Echo(payload=b"p", seq=1)


def test_int_is_accepted_for_float_and_nested_values_are_checked() -> None:
    assert from_body("StatusUpdate", {"framework_id": "f", "status": {}, "timestamp": 3}) == StatusUpdate(
        framework_id="f", status={}, timestamp=3.0
    )
    with pytest.raises(SchemaError, match=r"ReviveOffers.roles\[1\] must be str"):
        from_body("ReviveOffers", {"framework_id": "f", "roles": ["a", 2]})
    with pytest.raises(SchemaError, match="key must be str"):
        from_body("RegisterFramework", {"framework": {1: "x"}})
    with pytest.raises(SchemaError, match="Echo.seq must be int, got bool"):
        from_body("Echo", {"seq": True})


def test_four_element_envelope_means_no_correlation() -> None:
    env = decode_envelope([str(SENDER), str(RECEIVER), "Exited", {"pid": "a@b:1"}])
    assert env == Envelope(SENDER, RECEIVER, Exited(pid="a@b:1"), 0)


def test_encode_envelope_accepts_text_pids() -> None:
    packed = encode_envelope(str(SENDER), str(RECEIVER), Echo(seq=3), 5)
    assert decode_frame(join_frame([packed])) == [Envelope(SENDER, RECEIVER, Echo(seq=3), 5)]


@pytest.mark.parametrize("n", [0, 1, 15, 16, 300, 70_000])
def test_join_frame_headers(n: int) -> None:
    packed = [encode_envelope(SENDER, RECEIVER, Echo(seq=i)) for i in range(n)]
    frame = join_frame(packed)
    assert msgpack.unpackb(frame) == [msgpack.unpackb(p) for p in packed]
    if n:
        got = decode_frame(frame)
        assert [e.message for e in got] == [Echo(seq=i) for i in range(n)]  # type: ignore[union-attr]


# --- every decode error reason ---------------------------------------------------

GOOD = raw_envelope("Echo", {"payload": b"x", "seq": 1})

FRAME_ERRORS = [
    ("oversized", b"\x91" + _packb(GOOD) + b"\x00" * 100, "exceeds the limit"),
    ("garbage", b"\xc1\xc1 not msgpack", "not msgpack"),
    ("garbage", frame_of(GOOD)[:-3], "not msgpack"),  # truncated
    ("garbage", frame_of(GOOD) + b"\x00", "not msgpack"),  # extra data
    ("garbage", b"", "not msgpack"),
    ("garbage", _packb({"not": "an array"}), "non-empty array"),
    ("garbage", _packb([]), "non-empty array"),
    ("garbage", _packb(17), "non-empty array"),
    ("garbage", _packb({1: 2}), "not msgpack"),  # non-text map keys (strict_map_key)
]


@pytest.mark.parametrize("reason, frame, fragment", FRAME_ERRORS)
def test_frame_errors(reason: str, frame: bytes, fragment: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_frame(frame, max_bytes=len(frame_of(GOOD)) + 10)
    assert info.value.reason == reason
    assert fragment in info.value.detail
    assert isinstance(info.value, ValueError)


ENVELOPE_ERRORS = [
    ("bad_envelope", "not an envelope", "envelope must be"),
    ("bad_envelope", [str(SENDER), str(RECEIVER), "Echo"], "envelope must be"),
    ("bad_envelope", GOOD + [1], "envelope must be"),
    ("bad_envelope", {"sender": str(SENDER)}, "envelope must be"),
    ("bad_envelope", ["nobody", str(RECEIVER), "Echo", {}, 0], "sender"),
    ("bad_envelope", [str(SENDER), "x@h:0", "Echo", {}, 0], "receiver"),
    ("bad_envelope", [str(SENDER), 5, "Echo", {}, 0], "receiver"),
    ("bad_envelope", [str(SENDER), str(RECEIVER), 5, {}, 0], "message type must be text"),
    ("bad_envelope", [str(SENDER), str(RECEIVER), "Echo", {}, "1"], "correlation must be an int"),
    ("bad_envelope", [str(SENDER), str(RECEIVER), "Echo", {}, 1.0], "correlation must be an int"),
    ("bad_envelope", [str(SENDER), str(RECEIVER), "Echo", {}, True], "correlation must be an int"),
    ("unknown_type", raw_envelope("NoSuchMessage", {}), "'NoSuchMessage'"),
    ("unknown_type", raw_envelope("__class__", {}), "unknown message type"),
    ("bad_fields", raw_envelope("Echo", {"seq": "one"}), "Echo.seq must be int"),
    ("bad_fields", raw_envelope("Echo", {"payload": 5}), "Echo.payload must be bytes"),
    ("bad_fields", raw_envelope("Exited", {}), "missing field(s) pid"),
    ("bad_fields", raw_envelope("Echo", [b"x", 1]), "body must be a map"),
]


@pytest.mark.parametrize("reason, raw, fragment", ENVELOPE_ERRORS)
def test_envelope_errors(reason: str, raw: Any, fragment: str) -> None:
    (got,) = decode_frame(frame_of(raw))
    assert isinstance(got, DecodeError)
    assert got.reason == reason
    assert fragment in got.detail
    with pytest.raises(DecodeError):
        decode_envelope(raw)


def test_every_reason_is_covered() -> None:
    reasons = {r for r, _, _ in FRAME_ERRORS} | {r for r, _, _ in ENVELOPE_ERRORS}
    assert reasons == {"oversized", "garbage", "bad_envelope", "unknown_type", "bad_fields"}


def test_one_bad_envelope_does_not_spoil_a_batch() -> None:
    frame = frame_of(
        raw_envelope("Echo", {"seq": 1}),
        raw_envelope("Echo", {"seq": "two"}),
        raw_envelope("Nope", {}),
        ["x", "y"],
        raw_envelope("RequestFailed", {"error": "boom"}, -9),
        raw_envelope("Echo", {"seq": 3}, 4),
    )
    got = decode_frame(frame)
    assert [type(g) for g in got] == [Envelope, DecodeError, DecodeError, DecodeError, Envelope, Envelope]
    assert [g.reason for g in got if isinstance(g, DecodeError)] == ["bad_fields", "unknown_type", "bad_envelope"]
    good = [g for g in got if isinstance(g, Envelope)]
    assert [g.message for g in good] == [Echo(seq=1), RequestFailed(error="boom"), Echo(seq=3)]
    assert [g.correlation for g in good] == [0, -9, 4]


def test_decode_error_fields() -> None:
    e = DecodeError("garbage", "detail text")
    assert (e.reason, e.detail, str(e)) == ("garbage", "detail text", "garbage: detail text")


# --- schema definitions ------------------------------------------------------------


def test_message_type_lookup() -> None:
    assert message_type("Echo") is Echo
    with pytest.raises(SchemaError, match="unknown message type 'Nope'"):
        message_type("Nope")


def test_records_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Echo(seq=1).seq = 2  # type: ignore[misc]


def test_a_type_cannot_be_registered_twice() -> None:
    with pytest.raises(SchemaError, match="defined twice"):

        @message
        class Echo(Message):
            """any -> any: a duplicate."""


def test_a_record_must_name_sender_and_receiver() -> None:
    with pytest.raises(SchemaError, match="docstring"):

        @message
        class NoDirection(Message):
            """Says nothing about who sends it."""

    assert "NoDirection" not in REGISTRY


def test_unsupported_field_types_are_refused() -> None:
    with pytest.raises(SchemaError, match="unsupported field type"):

        @message
        class HasSet(Message):
            """test -> test: a set cannot travel."""

            items: set[str]

    assert "HasSet" not in REGISTRY
