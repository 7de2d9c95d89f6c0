"""RecordIO framing (transport/recordio.py): encode, decode in pieces of any size, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transport.recordio import Decoder, RecordIOError, encode


def test_encode_is_the_length_a_line_feed_and_the_record() -> None:
    assert encode(b'{"type":"HEARTBEAT"}') == b'20\n{"type":"HEARTBEAT"}'
    assert encode(b"") == b"0\n"


@given(st.lists(st.binary(max_size=300), max_size=8), st.integers(min_value=1, max_value=50))
def test_records_survive_any_split_of_the_stream(records: list[bytes], piece: int) -> None:
    stream = b"".join(encode(r) for r in records)
    decoder = Decoder()
    out: list[bytes] = []
    for i in range(0, len(stream), piece):
        out.extend(decoder.feed(stream[i:i + piece]))
    assert out == records
    assert decoder.pending == 0


def test_bad_lengths_and_records_over_the_limit_are_refused_naming_them() -> None:
    with pytest.raises(RecordIOError, match="'x1'"):
        Decoder().feed(b"x1\nabc")
    with pytest.raises(RecordIOError, match="no record length"):
        Decoder().feed(b"1" * 30)
    with pytest.raises(RecordIOError, match="over the limit of 4"):
        Decoder(max_record=4).feed(b"5\nabcde")
    assert Decoder(max_record=4).feed(b"4\nabcd") == [b"abcd"]
