"""The msgpack codec.

An envelope is ``[sender, receiver, type, body, correlation]``: two process
ids as text, the message type name, the record's fields as a map, and an int
linking requests to responses (0: none, n > 0: request n, -n: response to n).
A ZeroMQ frame holds a msgpack array of one or more envelopes, so a busy
sender can batch many messages into one frame.

Every decoding failure raises :class:`~transport.errors.DecodeError`; a batch
is decoded envelope by envelope, so one bad envelope costs only itself.
"""

from __future__ import annotations

import gc
import struct
from dataclasses import dataclass
from typing import Any

import msgpack

from transport.errors import DecodeError, PIDError, SchemaError
from transport.pid import PID
from transport.schema import Message, from_body, to_body

__all__ = [
    "Envelope",
    "encode_envelope",
    "join_frame",
    "decode_frame",
    "decode_envelope",
    "encode_frame",
    "split_batches",
    "DEFAULT_MAX_FRAME_BYTES",
    "MAX_DEPTH",
    "too_deep",
]

DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32  # nesting of lists and maps in a body (Mesos' deepest shapes need about 10)

_packb = msgpack.Packer(use_bin_type=True).pack
# Unpacking a big frame creates objects by the million and the cyclic GC rescans them
# over and over (5-7x slower for a 4 MB ResourceOffers of 10,000 offers); msgpack's
# documentation advises disabling GC around such unpacks. Only for frames this big.
_NO_GC_FRAME_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message in flight: who sent it, to whom, and the record."""

    sender: PID
    receiver: PID
    message: Message
    correlation: int = 0


def encode_envelope(sender: PID | str, receiver: PID | str, msg: Message, correlation: int = 0) -> bytes:
    """Pack one envelope (not yet a frame: see :func:`join_frame`)."""
    return _packb([str(sender), str(receiver), type(msg).__name__, to_body(msg), correlation])


def join_frame(packed: list[bytes]) -> bytes:
    """A frame from packed envelopes: a msgpack array header, then the envelopes."""
    n = len(packed)
    if n < 16:
        header = bytes((0x90 | n,))
    elif n < 0x10000:
        header = b"\xdc" + struct.pack(">H", n)
    else:
        header = b"\xdd" + struct.pack(">I", n)
    return header + b"".join(packed)


def split_batches(packed: list[bytes], max_bytes: int) -> list[list[bytes]]:
    """Group packed envelopes, in order, into frames of at most ``max_bytes`` each
    (a single larger envelope gets a frame of its own); 0 means one per frame."""
    if max_bytes <= 0:
        return [[p] for p in packed]
    batches: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for p in packed:
        if current and size + len(p) > max_bytes:
            batches.append(current)
            current, size = [], 0
        current.append(p)
        size += len(p)
    batches.append(current)
    return batches


def encode_frame(envelopes: list[Envelope]) -> bytes:
    """Encode whole envelopes into one frame (tests and tools)."""
    return join_frame(
        [encode_envelope(e.sender, e.receiver, e.message, e.correlation) for e in envelopes]
    )


_pid_cache: dict[str, PID] = {}


def _pid(text: Any, role: str) -> PID:
    pid = _pid_cache.get(text) if isinstance(text, str) else None
    if pid is None:
        try:
            pid = PID.parse(text)
        except PIDError as e:
            raise DecodeError("bad_envelope", f"{role}: {e}") from None
        if len(_pid_cache) > 10_000:
            _pid_cache.clear()
        _pid_cache[text] = pid
    return pid


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and maps nest more than ``limit`` deep in ``value``, level by level
    (no recursion: a 1,000-deep list must not reach repr, copy or json, which recurse)."""
    level = [value]
    for _ in range(limit):
        level = [child for item in level for child in (item.values() if type(item) is dict else item)
                 if type(child) is dict or type(child) is list]
        if not level:
            return False
    return True


def decode_envelope(raw: Any) -> Envelope:
    """Validate one unpacked envelope and build its record."""
    if not isinstance(raw, list) or len(raw) not in (4, 5):
        raise DecodeError("bad_envelope", "envelope must be [sender, receiver, type, body, correlation]")
    text = raw[0]
    sender = _pid_cache.get(text) if type(text) is str else None
    if sender is None:
        sender = _pid(text, "sender")
    text = raw[1]
    receiver = _pid_cache.get(text) if type(text) is str else None
    if receiver is None:
        receiver = _pid(text, "receiver")
    type_name = raw[2]
    if not isinstance(type_name, str):
        raise DecodeError("bad_envelope", f"message type must be text, got {type(type_name).__name__}")
    if len(type_name) > 100:
        raise DecodeError("unknown_type", f"message type of {len(type_name)} characters")
    correlation = raw[4] if len(raw) == 5 else 0
    if type(correlation) is not int:
        raise DecodeError("bad_envelope", f"correlation must be an int, got {correlation!r}")
    body = raw[3]
    if type(body) is dict and too_deep(body):
        raise DecodeError("too_deep", f"{type_name[:60]!r}: lists and maps nest more than {MAX_DEPTH} deep")
    try:
        msg = from_body(type_name, body)
    except SchemaError as e:
        reason = "unknown_type" if str(e).startswith("unknown message type") else "bad_fields"
        raise DecodeError(reason, str(e)) from None
    except Exception as e:  # a record's own __post_init__ checks, or what they did not foresee
        raise DecodeError("bad_fields", f"{type_name}: {type(e).__name__}: {str(e)[:200]}") from None
    return Envelope(sender, receiver, msg, correlation)


def decode_frame(frame: bytes, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> list[Envelope | DecodeError]:
    """Decode a frame into its envelopes, each an Envelope or the DecodeError it raised.

    A frame that is oversized or not a msgpack array of envelopes raises DecodeError.
    """
    if len(frame) > max_bytes:
        raise DecodeError("oversized", f"frame of {len(frame)} bytes exceeds the limit of {max_bytes}")
    pause_gc = len(frame) > _NO_GC_FRAME_BYTES and gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        return _decode_items(frame)
    finally:
        if pause_gc:
            gc.enable()


def _decode_items(frame: bytes) -> list[Envelope | DecodeError]:
    try:
        raw = msgpack.unpackb(frame, raw=False, use_list=True)
    except Exception as e:  # msgpack's errors are ValueErrors, but an unhashable key is a TypeError...
        raise DecodeError("garbage", f"not msgpack: {type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(raw, list) or not raw:
        raise DecodeError("garbage", "frame must be a non-empty array of envelopes")
    out: list[Envelope | DecodeError] = []
    for item in raw:
        try:
            out.append(decode_envelope(item))
        except DecodeError as e:
            out.append(e)
    return out
