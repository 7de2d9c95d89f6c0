"""The injected clocks: ManualClock fires due timers in order; RealClock fires on its thread."""

from __future__ import annotations

import threading
from functools import partial

from actors.clock import Clock, ManualClock, RealClock, Timer


def test_manual_clock_starts_where_told_and_moves_only_on_advance() -> None:
    clock = ManualClock(start=100.0)
    assert clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5
    assert isinstance(clock, Clock)


def test_manual_clock_fires_in_time_order_then_insertion_order() -> None:
    clock = ManualClock()
    fired: list[tuple[str, float]] = []

    def note(name: str) -> None:
        fired.append((name, clock.now()))

    clock.call_later(3.0, lambda: note("c"))
    clock.call_later(1.0, lambda: note("a1"))
    clock.call_later(1.0, lambda: note("a2"))
    clock.call_later(2.0, lambda: note("b"))
    clock.call_later(10.0, lambda: note("late"))
    assert clock.pending() == 5
    clock.advance(0.999)
    assert fired == []
    clock.advance(2.001)
    assert fired == [("a1", 1.0), ("a2", 1.0), ("b", 2.0), ("c", 3.0)]
    assert clock.now() == 3.0
    assert clock.pending() == 1


def test_manual_clock_cancel() -> None:
    clock = ManualClock()
    fired: list[str] = []
    keep = clock.call_later(1.0, lambda: fired.append("keep"))
    drop = clock.call_later(1.0, lambda: fired.append("drop"))
    assert isinstance(drop, Timer)
    drop.cancel()
    assert clock.pending() == 1
    clock.advance(5.0)
    assert fired == ["keep"]
    keep.cancel()  # after firing: harmless
    assert clock.pending() == 0


def test_manual_clock_fires_timers_scheduled_by_timers_within_the_advance() -> None:
    clock = ManualClock()
    fired: list[float] = []

    def tick() -> None:
        fired.append(clock.now())
        if len(fired) < 5:
            clock.call_later(1.0, tick)

    clock.call_later(1.0, tick)
    clock.advance(3.5)
    assert fired == [1.0, 2.0, 3.0]
    clock.advance(10.0)
    assert fired == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_negative_delay_fires_at_once() -> None:
    clock = ManualClock(start=5.0)
    fired: list[float] = []
    clock.call_later(-3.0, lambda: fired.append(clock.now()))
    clock.advance(0.0)
    assert fired == [5.0]


def test_a_failing_timer_does_not_stop_the_others() -> None:
    clock = ManualClock()
    fired: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    clock.call_later(1.0, boom)
    clock.call_later(2.0, lambda: fired.append("after"))
    clock.advance(3.0)
    assert fired == ["after"]


def test_real_clock_fires() -> None:
    clock = RealClock()
    first = threading.Event()
    second = threading.Event()
    order: list[str] = []
    t0 = clock.now()

    def note(name: str, event: threading.Event) -> None:
        order.append(name)
        event.set()

    clock.call_later(0.05, lambda: note("second", second))
    clock.call_later(0.0, lambda: note("first", first))
    assert first.wait(5) and second.wait(5)
    assert order == ["first", "second"]
    assert clock.now() - t0 >= 0.05


def test_real_clock_cancel() -> None:
    clock = RealClock()
    cancelled_fired = threading.Event()
    done = threading.Event()
    timer = clock.call_later(0.02, cancelled_fired.set)
    timer.cancel()
    clock.call_later(0.05, done.set)
    assert done.wait(5)
    assert not cancelled_fired.is_set()


def test_real_clock_survives_a_failing_timer() -> None:
    clock = RealClock()
    done = threading.Event()

    def boom() -> None:
        raise RuntimeError("boom")

    clock.call_later(0.0, boom)
    clock.call_later(0.01, done.set)
    assert done.wait(5)


def test_cancelled_timers_do_not_pile_up() -> None:
    clock = ManualClock()
    fired: list[int] = []
    for i in range(10):
        clock.call_later(10.0, partial(fired.append, i))
    for _ in range(1000):  # like requests answered long before their timeout
        clock.call_later(10.0, lambda: None).cancel()
    assert clock.pending() == 10
    assert len(clock._heap) < 200  # compacted: held timers follow the live ones
    clock.advance(10.0)
    assert fired == list(range(10))
