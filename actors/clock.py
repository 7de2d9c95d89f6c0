"""Injected time: a real clock with one timer thread, and a manual clock for tests."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from actors.quiescence import Activity

__all__ = ["Clock", "RealClock", "ManualClock", "Timer"]

_COMPACT_MIN = 64


class Timer:
    """A scheduled callback; ``cancel()`` stops it if it has not fired."""

    __slots__ = ("when", "fn", "cancelled", "_clock")

    def __init__(self, when: float, fn: Callable[[], None], clock: Clock | None = None) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False
        self._clock = clock

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            if self._clock is not None:
                self._clock._note_cancelled()


class Clock:
    """Time as the runtime sees it. Subclasses keep a heap of timers."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._lock = threading.Condition()
        self._cancelled = 0  # about how many cancelled timers the heap holds

    def now(self) -> float:
        raise NotImplementedError

    def pending(self) -> int:
        """Timers not yet fired nor cancelled."""
        with self._lock:
            return sum(1 for _, _, t in self._heap if not t.cancelled)

    def _note_cancelled(self) -> None:
        """Drop cancelled timers once they are most of the heap (a request answered in
        time cancels its timeout): memory follows the live timers, not the rate."""
        with self._lock:
            self._cancelled += 1
            if self._cancelled > _COMPACT_MIN and 2 * self._cancelled > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(self.now() + max(0.0, seconds), fn, self)
        with self._lock:
            heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
            if self._heap[0][2] is timer:  # only a new earliest timer changes the wait
                self._lock.notify()
        return timer

    def _pop_due(self, now: float) -> list[Timer]:
        due: list[Timer] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                timer = self._pop()
                if not timer.cancelled:
                    due.append(timer)
        return due

    def _pop(self) -> Timer:
        """The earliest timer, off the heap (lock held)."""
        timer = heapq.heappop(self._heap)[2]
        if timer.cancelled and self._cancelled > 0:
            self._cancelled -= 1
        return timer


class RealClock(Clock):
    """Wall-clock time (monotonic); one daemon thread fires every timer."""

    def __init__(self) -> None:
        super().__init__()
        self._thread: threading.Thread | None = None

    def now(self) -> float:
        return time.monotonic()

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Timer:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="clock", daemon=True)
                    self._thread.start()
        return super().call_later(seconds, fn)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._heap:
                    self._lock.wait()
                delay = self._heap[0][0] - self.now()
                if delay > 0:
                    self._lock.wait(delay)
            for timer in self._pop_due(self.now()):
                _fire(timer)


class ManualClock(Clock):
    """Time that moves only when a test calls ``advance``; due timers fire in order.

    With an ``activity`` (the actors of a cluster report to it, see
    actors.quiescence), ``advance`` lets the actors settle before each timer
    fires and at the end, and ``settle`` is available: Mesos' paused
    ``Clock::advance`` followed by ``Clock::settle``.
    """

    def __init__(self, start: float = 0.0, *, activity: Activity | None = None) -> None:
        super().__init__()
        self._now = start
        self.activity = activity

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float, *, settle_timeout: float = 10.0) -> None:
        """Move time forward, firing (on this thread) every timer that comes due.

        With an activity, each timer fires only once the actors are idle, and
        the actors are idle again when this returns (SettleTimeout if they are
        still busy after ``settle_timeout`` s of wall time at any step).
        """
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        target = self._now + seconds
        while True:
            if self.activity is not None:
                self.activity.settle(settle_timeout)
            timer = self._next_due(target)
            if timer is None:
                break
            self._now = max(self._now, timer.when)
            _fire(timer)
        self._now = target
        if self.activity is not None:
            self.activity.settle(settle_timeout)

    def settle(self, timeout: float = 10.0) -> None:
        """Return once the actors are idle and no timer is due now (firing those that are)."""
        if self.activity is None:
            raise RuntimeError("this ManualClock has no activity to settle: create it with activity=Activity()")
        self.advance(0.0, settle_timeout=timeout)

    def _next_due(self, target: float) -> Timer | None:
        with self._lock:
            while self._heap and self._heap[0][0] <= target:
                timer = self._pop()
                if not timer.cancelled:
                    return timer
        return None


def _fire(timer: Timer) -> None:
    try:
        timer.fn()
    except Exception:  # a timer's failure is the timer's, not the clock's
        import structlog

        structlog.get_logger(__name__).exception("timer_failed")
