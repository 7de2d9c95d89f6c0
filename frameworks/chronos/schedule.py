"""Chronos' ISO 8601 repeating schedules, ``R[n]/<start>/<period>``, and when a job runs (pure, no clock).

How Chronos reads them, and so how we do:

* ``R`` repeats forever, ``Rn`` runs n times, ``R0`` never runs.
* The start is an ISO 8601 date-time (``Z``, ``+hh:mm`` offsets, fractional seconds; kept to the
  millisecond). Without an offset it is UTC. An empty start (``R//PT1H``) means one second before
  ``now``, which the caller passes in. A zero period (``PT0S``, or a bare ``P``) is allowed with a
  number of runs: ``R1/<start>/PT0S`` is Chronos' run-once job; ``R`` with a zero period is refused.
* ``scheduleTimeZone`` takes precedence over the start's own offset: the start's wall fields are
  kept and placed in that zone (Joda's ``withZoneRetainFields``), so ``R/2026-10-10T18:32:00Z/PT1H``
  with ``PST`` starts at 18:32 Pacific time.
* Chronos rewrites a job's schedule after every run to ``R(n-1)/<start + period>/<period>``, so the
  n-th run is the period added n times in a row, each step in the schedule's zone (see
  :meth:`Duration.add_to`): a P1M job from Jan 31 runs Feb 28, then Mar 28; a P1D job at 02:30 on
  the day clocks spring forward at 02:00 runs at 03:30 and stays at 03:30 afterwards, because that
  is the start Chronos writes back; ``PT24H`` is 24 elapsed hours and moves on the wall clock.
* A run that cannot start within ``epsilon`` of its time is skipped and counted, never run late;
  after the scheduler was down, at most one missed run is caught up, the latest, and only within
  epsilon (:func:`decide`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from frameworks.chronos.duration import Duration, ScheduleError, parse_duration, resolve_zone, to_zone

__all__ = [
    "Decision",
    "Duration",
    "Schedule",
    "ScheduleError",
    "decide",
    "format_time",
    "parse_duration",
    "parse_schedule",
]

_EXPRESSION = re.compile(r"(R\d*)/(.*)/(P.*)")


def format_time(t: datetime) -> str:
    """Joda's ``ISODateTimeFormat.dateTime``: ``2026-12-01T01:00:00.000Z`` or ``...000+01:00``."""
    offset = t.utcoffset()
    if offset is None:
        raise ValueError(f"format_time needs an aware datetime, got {t.isoformat()!r}")
    if offset:
        minutes = round(offset.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    else:
        zone = "Z"
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}{zone}"


@dataclass(frozen=True)
class Schedule:
    """A parsed ``R[n]/<start>/<period>``; ``start`` is aware, in the schedule's zone."""

    recurrences: int | None  # None = "R" (forever); 0 = "R0", never runs
    start: datetime
    period: Duration
    time_zone: str = ""  # "" = the start's own offset

    def __post_init__(self) -> None:
        if self.recurrences is not None and self.recurrences < 0:
            raise ScheduleError("schedule", str(self.recurrences), "recurrences must be >= 0")
        if self.start.tzinfo is None:
            raise ScheduleError("schedule", self.start.isoformat(), "the start needs a time zone")
        if self.period.is_zero and self.recurrences is None:  # R1/<start>/PT0S is Chronos' run-once job
            raise ScheduleError("schedule", str(self.period), "a zero period needs a number of runs (R1, not R)")

    def __str__(self) -> str:
        count = "" if self.recurrences is None else str(self.recurrences)
        return f"R{count}/{format_time(self.start)}/{self.period}"

    def start_after(self, steps: int) -> datetime | None:
        """The start after ``steps`` periods, in the schedule's zone; None past year 9999."""
        try:
            fixed = self.period.elapsed
            if fixed is not None:  # elapsed time only: exact in one step
                return (self.start.astimezone(timezone.utc) + steps * fixed).astimezone(self.start.tzinfo)
            t = self.start
            for _ in range(steps):
                t = self.period.add_to(t)
            return t
        except OverflowError:
            return None

    def occurrence(self, n: int) -> datetime | None:
        """The n-th run (0-based) in UTC; None past the recurrences (or past year 9999)."""
        if n < 0:
            raise ValueError(f"occurrence index must be >= 0, got {n}")
        if self.recurrences is not None and n >= self.recurrences:
            return None
        t = self.start_after(n)
        return None if t is None else t.astimezone(timezone.utc)

    def due(self, now: datetime) -> int:
        """How many runs are at or before ``now`` (bounded by the recurrences)."""
        limit = self.recurrences
        if self.start > now or limit == 0:
            return 0
        fixed = self.period.elapsed
        if fixed is not None:
            count = (now - self.start) // fixed + 1 if fixed else limit
            assert count is not None  # a zero period has a limit (__post_init__)
            return count if limit is None else min(count, limit)
        count, t = 0, self.start
        while t <= now and (limit is None or count < limit):
            count += 1
            try:
                t = self.period.add_to(t)
            except OverflowError:
                break
        return count

    def skip(self, runs: int) -> Schedule | None:
        """The schedule Chronos writes back after ``runs`` runs are consumed; None when exhausted."""
        left = None if self.recurrences is None else self.recurrences - runs
        if left is not None and left <= 0:
            return None
        start = self.start_after(runs)
        if start is None:
            return None
        return Schedule(left, start, self.period, self.time_zone)


def _parse_start(text: str, time_zone: str, now: datetime | None) -> datetime:
    if text == "":  # an instant, not wall fields: the zone changes only how it is written
        if now is None:
            raise ScheduleError("schedule", text, "an empty start means now; no time given")
        instant = now - timedelta(seconds=1)
        instant = instant.replace(microsecond=instant.microsecond // 1000 * 1000)
        return instant.astimezone(resolve_zone(time_zone) if time_zone else timezone.utc)
    if " " in text or not text[:4].isdigit():
        raise ScheduleError("schedule", text, "not an ISO 8601 date-time")
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise ScheduleError("schedule", text, "not an ISO 8601 date-time") from None
    start = start.replace(microsecond=start.microsecond // 1000 * 1000)
    if time_zone:  # Joda's withZoneRetainFields: the wall fields, read in that zone
        return to_zone(start.replace(tzinfo=None), resolve_zone(time_zone))
    return start if start.tzinfo is not None else start.replace(tzinfo=timezone.utc)


def parse_schedule(text: str, time_zone: str = "", now: datetime | None = None) -> Schedule:
    """``"R/2026-12-01T00:00:00Z/PT1H"``, ``"R5/2026-01-31T09:00:00+01:00/P1M"`` -> Schedule.

    ``time_zone`` is the job's ``scheduleTimeZone``; ``now`` is only needed for an empty start.
    Raises ScheduleError naming the field (``schedule`` or ``scheduleTimeZone``) and the value.
    """
    if not isinstance(text, str):
        raise ScheduleError("schedule", repr(text), "not an ISO 8601 repeating interval")
    match = _EXPRESSION.fullmatch(text)
    if match is None:
        raise ScheduleError("schedule", text, "not an ISO 8601 repeating interval R[n]/<start>/<period>")
    repeat, start_text, period_text = match.groups()
    recurrences = None if repeat == "R" else int(repeat[1:])
    start = _parse_start(start_text, time_zone, now)
    period = parse_duration(period_text, "schedule")
    return Schedule(recurrences, start, period, time_zone)


@dataclass(frozen=True)
class Decision:
    """What to do with a schedule at ``now``."""

    run_at: datetime | None  # the occurrence to run now (within epsilon of now), else None
    skipped: int  # occurrences missed by more than epsilon (counted, never run late)
    remaining: Schedule | None  # the schedule after consuming run/skipped ones; None when exhausted
    wake_at: datetime | None  # when to decide again (remaining's next occurrence), None if none


def decide(schedule: Schedule, now: datetime, epsilon: Duration) -> Decision:
    """Consume every occurrence at or before ``now``: the latest one runs if it is no more than
    ``epsilon`` old, every other one is skipped (at most one catch-up after a downtime)."""
    if now.tzinfo is None:
        raise ValueError(f"decide needs an aware now, got {now.isoformat()!r}")
    due = schedule.due(now)
    if due == 0:
        first = schedule.occurrence(0)
        return Decision(None, 0, schedule if first is not None else None, first)
    last = schedule.start_after(due - 1)
    assert last is not None  # due counted it
    try:
        in_time = epsilon.add_to(last) >= now
    except OverflowError:
        in_time = True
    remaining = schedule.skip(due)
    wake_at = None if remaining is None else remaining.start.astimezone(timezone.utc)
    run_at = last.astimezone(timezone.utc) if in_time else None
    return Decision(run_at, due - 1 if in_time else due, remaining, wake_at)
