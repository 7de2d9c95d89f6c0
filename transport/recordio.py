"""RecordIO, the framing of Mesos' v1 HTTP event streams: ``<decimal length>\\n<record>``.

Each record is its length in bytes as ASCII decimal digits, a line feed, then
the record itself, with nothing between records (no CR, no spaces: pymesos'
reader matches exactly that). Pure: no sockets, no threads.

``encode(record)`` frames one record. ``Decoder.feed(chunk)`` takes the
bytes of a stream as they arrive, in pieces of any size, and returns the
records completed so far; a record longer than ``max_record`` bytes, or a
length that is no decimal number, raises RecordIOError naming it.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_RECORD", "Decoder", "RecordIOError", "encode"]

DEFAULT_MAX_RECORD = 64 << 20  # the largest record a Decoder accepts (bytes)
_MAX_DIGITS = 20  # a length line longer than this is not a length


class RecordIOError(ValueError):
    """A stream that is not RecordIO (or a record over the decoder's limit)."""


def encode(record: bytes) -> bytes:
    """``record`` framed: its length, a line feed, the record."""
    return b"%d\n%s" % (len(record), record)


class Decoder:
    """Records out of a RecordIO byte stream fed in arbitrary pieces."""

    def __init__(self, max_record: int = DEFAULT_MAX_RECORD) -> None:
        if max_record < 0:
            raise ValueError(f"max_record must be >= 0, got {max_record!r}")
        self.max_record = max_record
        self._buffer = bytearray()
        self._length: int | None = None  # of the record being read, once its length line is in

    def feed(self, chunk: bytes) -> list[bytes]:
        """The records that ``chunk`` completes (in order); the rest is kept for the next call."""
        self._buffer += chunk
        out: list[bytes] = []
        while True:
            if self._length is None:
                newline = self._buffer.find(b"\n", 0, _MAX_DIGITS + 1)
                if newline < 0:
                    if len(self._buffer) > _MAX_DIGITS:
                        raise RecordIOError(f"no record length in {bytes(self._buffer[:_MAX_DIGITS + 1])!r}")
                    return out
                digits = bytes(self._buffer[:newline])
                if not digits.isdigit():
                    raise RecordIOError(f"record length {digits!r} is not a decimal number")
                length = int(digits)
                if length > self.max_record:
                    raise RecordIOError(f"record of {length} bytes is over the limit of {self.max_record}")
                del self._buffer[:newline + 1]
                self._length = length
            if len(self._buffer) < self._length:
                return out
            out.append(bytes(self._buffer[:self._length]))
            del self._buffer[:self._length]
            self._length = None

    @property
    def pending(self) -> int:
        """Bytes held of a record not yet complete."""
        return len(self._buffer)
