"""EventStream (transport/event_stream.py): order of pushes from another thread, heartbeats,
close, and a reader that stops reading (the stream is aborted, never grows without bound)."""

from __future__ import annotations

import asyncio
import threading

from transport.event_stream import EventStream


def test_pushes_from_another_thread_arrive_in_order_then_close_ends_it() -> None:
    async def main() -> tuple[list[bytes], list[str]]:
        ends: list[str] = []
        stream = EventStream(on_end=ends.append)
        written: list[bytes] = []

        async def write(data: bytes) -> None:
            written.append(data)

        def producer() -> None:
            for i in range(100):
                stream.push(b"%d," % i)
            stream.close()
        threading.Thread(target=producer).start()
        reason = await asyncio.wait_for(stream.pump(write, lambda: None), 5)
        assert reason == "closed"
        return written, ends

    written, ends = asyncio.run(main())
    assert b"".join(written) == b"".join(b"%d," % i for i in range(100))
    assert ends == ["closed"]


def test_heartbeats_come_at_the_interval_while_idle_and_between_events() -> None:
    async def main() -> list[bytes]:
        stream = EventStream(heartbeat_every=0.05, heartbeat=b"HB")
        written: list[bytes] = []

        async def write(data: bytes) -> None:
            written.append(data)
            if written.count(b"HB") == 3:
                stream.close()
        stream.push(b"first")
        await asyncio.wait_for(stream.pump(write, lambda: None), 5)
        return written

    written = asyncio.run(main())
    assert written == [b"first", b"HB", b"HB", b"HB"]


def test_a_reader_that_stops_reading_gets_aborted_past_the_buffer_limit() -> None:
    async def main() -> tuple[str, list[str], int]:
        ends: list[str] = []
        stream = EventStream(max_buffered=1000, on_end=ends.append)
        blocked = asyncio.get_running_loop().create_future()
        aborted: list[int] = []

        async def write(data: bytes) -> None:
            await blocked  # the client never reads: the write never completes

        def abort() -> None:
            aborted.append(1)
            blocked.set_exception(ConnectionResetError("aborted"))
        task = asyncio.ensure_future(stream.pump(write, abort))
        for _ in range(30):
            stream.push(b"x" * 100)
            await asyncio.sleep(0)
        try:
            await asyncio.wait_for(task, 5)
        except ConnectionResetError:
            pass
        return stream.end_reason or "", ends, len(aborted)

    outcome = asyncio.run(main())
    assert outcome == ("slow_reader", ["slow_reader"], 1)
