"""frameworks/chronos/schedule.py: Chronos' ISO 8601 schedules and when a job runs, on a manual clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frameworks.chronos.schedule import (
    Duration,
    Schedule,
    ScheduleError,
    decide,
    parse_duration,
    parse_schedule,
)

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def runs(schedule: Schedule, count: int) -> list[str]:
    out = []
    for n in range(count):
        t = schedule.occurrence(n)
        out.append("-" if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return out


# -- parsing and formatting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, formatted",
    [
        # Chronos' own examples (docs/docs/api.md)
        ("R10/2012-10-01T05:52:00Z/PT2S", "R10/2012-10-01T05:52:00.000Z/PT2S"),
        ("R/2014-09-25T17:22:00Z/PT2M", "R/2014-09-25T17:22:00.000Z/PT2M"),
        ("R/1997-07-16T19:20:30.45+01:00/P1Y2M3DT4H5M6S", "R/1997-07-16T19:20:30.450+01:00/P1Y2M3DT4H5M6S"),
        ("R4/2026-12-01T01:00:00.000Z/PT1H", "R4/2026-12-01T01:00:00.000Z/PT1H"),
        ("R0/2026-12-01T00:00:00Z/P1D", "R0/2026-12-01T00:00:00.000Z/P1D"),
        ("R1/2026-12-01T00:00:00-05:30/P10M", "R1/2026-12-01T00:00:00.000-05:30/P10M"),
        ("R/2026-12-01T00:00:00.123456Z/PT0.5S", "R/2026-12-01T00:00:00.123Z/PT0.500S"),
        ("R/2026-12-01T00:00:00/P1Y12M12D", "R/2026-12-01T00:00:00.000Z/P1Y12M12D"),
        ("R/2026-12-01/P12DT12M", "R/2026-12-01T00:00:00.000Z/P12DT12M"),
    ],
)
def test_parse_and_format_back_to_chronos_text(text: str, formatted: str) -> None:
    assert str(parse_schedule(text)) == formatted


@pytest.mark.parametrize(
    "text, zone, start",
    [  # Chronos' Iso8601ExpressionParserSpec: scheduleTimeZone keeps the wall fields, takes precedence
        ("R5/2008-03-01T13:00:00Z/P1D", "", "2008-03-01T13:00:00+00:00"),
        ("R/2008-03-01T13:00:00Z/P1D", "BST", "2008-03-01T13:00:00+06:00"),  # Java's BST is Asia/Dhaka
        ("R/2008-03-01T13:00:00Z/P1D", "PST", "2008-03-01T13:00:00-08:00"),
        ("R/2008-03-01T13:00:00Z/P1D", "Europe/Paris", "2008-03-01T13:00:00+01:00"),
        ("R/2008-03-01T13:00:00-04:00/P1D", "PST", "2008-03-01T13:00:00-08:00"),
        ("R/2008-03-01/P1D", "PST", "2008-03-01T00:00:00-08:00"),
        ("R/2008-03-01T13:00:00Z/P1D", "GMT+05:30", "2008-03-01T13:00:00+05:30"),
    ],
)
def test_chronos_parser_examples(text: str, zone: str, start: str) -> None:
    schedule = parse_schedule(text, zone)
    assert schedule.occurrence(0) == at(start)
    assert schedule.period == Duration(days=1)


def test_run_once_jobs_with_a_zero_period() -> None:
    # Chronos' "R1//P" (run once, now) and R1/<time>/PT0S
    once = parse_schedule("R1//P", now=at("2026-12-01T10:00:00+00:00"))
    assert once.period == Duration() and str(once) == "R1/2026-12-01T09:59:59.000Z/PT0S"
    d = decide(once, at("2026-12-01T10:00:00+00:00"), parse_duration("PT60S"))
    assert d.run_at == at("2026-12-01T09:59:59+00:00") and d.remaining is None
    twice = parse_schedule("R2/2026-12-01T00:00:00Z/PT0S")
    assert twice.occurrence(1) == twice.occurrence(0) and twice.occurrence(2) is None
    d = decide(twice, at("2026-12-01T00:00:05+00:00"), parse_duration("PT60S"))
    assert d.run_at == at("2026-12-01T00:00:00+00:00") and d.skipped == 1 and d.remaining is None


def test_recurrences() -> None:
    assert parse_schedule("R/2026-12-01T00:00:00Z/PT1H").recurrences is None
    assert parse_schedule("R0/2026-12-01T00:00:00Z/PT1H").recurrences == 0
    assert parse_schedule("R1/2026-12-01T00:00:00Z/PT1H").recurrences == 1
    assert parse_schedule("R25/2026-12-01T00:00:00Z/PT1H").recurrences == 25


@pytest.mark.parametrize(
    "text, piece",
    [
        ("2026-12-01T00:00:00Z/PT1H", "2026-12-01T00:00:00Z/PT1H"),  # no R
        ("R/2026-12-01T00:00:00Z", "R/2026-12-01T00:00:00Z"),  # no period
        ("Rx/2026-12-01T00:00:00Z/PT1H", "Rx/"),
        ("R/2026-13-01T00:00:00Z/PT1H", "2026-13-01T00:00:00Z"),  # month 13
        ("R/yesterday/PT1H", "yesterday"),
        ("R/2026-12-01 00:00:00Z/PT1H", "2026-12-01 00:00:00Z"),
        ("R/2026-12-01T00:00:00Z/P", "'P'"),  # a zero period forever
        ("R/2026-12-01T00:00:00Z/PT", "'PT'"),
        ("R/2026-12-01T00:00:00Z/P1H", "P1H"),  # hours need T
        ("R/2026-12-01T00:00:00Z/P-1D", "P-1D"),
        ("R/2026-12-01T00:00:00Z/P1.5D", "P1.5D"),
        ("R/2026-12-01T00:00:00Z/PT0S", "PT0S"),  # forever, all at one instant
        ("FOO", "FOO"),  # Chronos' Iso8601ExpressionParserSpec
        ("R/2008-03-01T13:00:00Z", "2008-03-01T13:00:00Z"),  # ditto: no period
    ],
)
def test_bad_schedule_names_field_and_value(text: str, piece: str) -> None:
    with pytest.raises(ScheduleError) as err:
        parse_schedule(text)
    assert err.value.field == "schedule"
    assert str(err.value).startswith("schedule: ")
    assert piece.strip("'") in str(err.value)


def test_bad_time_zone_names_field_and_value() -> None:
    with pytest.raises(ScheduleError) as err:
        parse_schedule("R/2026-12-01T00:00:00Z/PT1H", "Mars/Olympus_Mons")
    assert err.value.field == "scheduleTimeZone" and err.value.value == "Mars/Olympus_Mons"
    assert "Mars/Olympus_Mons" in str(err.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("PT60S", Duration(seconds=60)),
        ("P1M", Duration(months=1)),
        ("PT1M", Duration(minutes=1)),
        ("P1Y2M10DT2H30M", Duration(years=1, months=2, days=10, hours=2, minutes=30)),
        ("P2W", Duration(weeks=2)),
        ("PT1,25S", Duration(seconds=1.25)),
        ("PT0S", Duration()),
        ("P", Duration()),  # as Joda reads it
    ],
)
def test_parse_duration(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


def test_bad_duration_names_its_field() -> None:
    with pytest.raises(ScheduleError, match=r"^epsilon: .*'60 seconds'"):
        parse_duration("60 seconds")
    with pytest.raises(ScheduleError, match=r"^retryDelay: .*'T1H'"):
        parse_duration("T1H", "retryDelay")


def test_empty_start_means_a_second_before_now() -> None:
    now = at("2026-12-01T10:00:00+00:00")
    schedule = parse_schedule("R2//PT1H", now=now)
    assert schedule.occurrence(0) == now - timedelta(seconds=1)
    zoned = parse_schedule("R2//PT1H", "Asia/Tokyo", now=now)  # the same instant, written in Tokyo time
    assert zoned.occurrence(0) == now - timedelta(seconds=1)
    assert str(zoned) == "R2/2026-12-01T18:59:59.000+09:00/PT1H"
    with pytest.raises(ScheduleError, match="schedule"):
        parse_schedule("R2//PT1H")


# -- calendar arithmetic ------------------------------------------------------------------------------


def test_month_end_is_clamped_and_chronos_carries_the_clamp_on() -> None:
    # Chronos writes start+P1M back after each run, so Jan 31 -> Feb 28 -> Mar 28.
    schedule = parse_schedule("R/2027-01-31T09:00:00Z/P1M")
    assert runs(schedule, 3) == ["2027-01-31T09:00:00Z", "2027-02-28T09:00:00Z", "2027-03-28T09:00:00Z"]


def test_leap_years() -> None:
    assert runs(parse_schedule("R3/2028-01-31T00:00:00Z/P1M"), 2)[1] == "2028-02-29T00:00:00Z"
    assert runs(parse_schedule("R/2028-02-29T12:00:00Z/P1Y"), 3) == [
        "2028-02-29T12:00:00Z", "2029-02-28T12:00:00Z", "2030-02-28T12:00:00Z"]
    assert runs(parse_schedule("R/2028-02-28T00:00:00Z/P1D"), 2)[1] == "2028-02-29T00:00:00Z"
    assert runs(parse_schedule("R/2100-02-28T00:00:00Z/P1D"), 2)[1] == "2100-03-01T00:00:00Z"  # not leap
    # years then months, each clamping (Joda adds a Period field by field)
    assert Duration(years=1, months=1).add_to(at("2028-02-29T00:00:00+00:00")) == at("2029-03-28T00:00:00+00:00")


def test_weeks_and_time_parts() -> None:
    assert runs(parse_schedule("R/2026-12-01T00:00:00Z/P2W"), 2)[1] == "2026-12-15T00:00:00Z"
    assert runs(parse_schedule("R/2026-12-01T00:00:00Z/P1DT1H30M15S"), 3) == [
        "2026-12-01T00:00:00Z", "2026-12-02T01:30:15Z", "2026-12-03T03:00:30Z"]
    assert runs(parse_schedule("R/2026-12-01T00:00:00Z/PT90M"), 2)[1] == "2026-12-01T01:30:00Z"


def test_recurrences_bound_the_runs() -> None:
    assert runs(parse_schedule("R0/2026-12-01T00:00:00Z/PT1H"), 1) == ["-"]
    assert runs(parse_schedule("R1/2026-12-01T00:00:00Z/PT1H"), 2) == ["2026-12-01T00:00:00Z", "-"]
    assert runs(parse_schedule("R2/2026-12-01T00:00:00Z/PT1H"), 3)[2] == "-"
    assert parse_schedule("R/2026-12-01T00:00:00Z/PT1H").occurrence(100_000) == \
        at("2026-12-01T00:00:00+00:00") + timedelta(hours=100_000)


def test_past_year_9999_there_is_no_next_run() -> None:
    schedule = parse_schedule("R/9999-06-01T00:00:00Z/P1Y")
    assert schedule.occurrence(1) is None
    assert decide(schedule, at("9999-07-01T00:00:00+00:00"), Duration(hours=1)).remaining is None


# -- time zones and DST -------------------------------------------------------------------------------


def test_schedule_time_zone_keeps_the_wall_fields() -> None:
    # Chronos' docs: "R/2014-10-10T18:32:00Z/PT60M" with scheduleTimeZone PST runs at 18:32 Pacific.
    schedule = parse_schedule("R/2014-10-10T18:32:00Z/PT60M", "PST")
    assert schedule.occurrence(0) == at("2014-10-11T01:32:00+00:00")
    assert str(schedule) == "R/2014-10-10T18:32:00.000-07:00/PT60M"
    assert parse_schedule("R/2026-07-01T09:00:00+05:00/P1D", "Europe/Berlin").occurrence(0) == \
        at("2026-07-01T07:00:00+00:00")


def test_p1d_keeps_the_wall_time_across_dst_but_pt24h_does_not() -> None:
    daily = parse_schedule("R/2026-03-07T09:00:00/P1D", "America/New_York")  # DST starts 2026-03-08
    assert runs(daily, 3) == ["2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"]
    hourly = parse_schedule("R/2026-03-07T09:00:00/PT24H", "America/New_York")
    assert runs(hourly, 2) == ["2026-03-07T14:00:00Z", "2026-03-08T14:00:00Z"]  # 10:00 EDT
    fall = parse_schedule("R/2026-10-24T09:00:00/P1D", "Europe/London")  # BST ends 2026-10-25
    assert runs(fall, 2) == ["2026-10-24T08:00:00Z", "2026-10-25T09:00:00Z"]


def test_a_run_in_the_spring_gap_moves_forward_and_stays() -> None:
    # 02:30 does not exist on 2026-03-08 in New York: Joda moves it to 03:30 EDT, and since Chronos
    # writes that start back, the job runs at 03:30 from then on.
    schedule = parse_schedule("R/2026-03-07T02:30:00/P1D", "America/New_York")
    assert runs(schedule, 3) == ["2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T07:30:00Z"]
    after = schedule.skip(1)
    assert after is not None and str(after) == "R/2026-03-08T03:30:00.000-04:00/P1D"
    assert after.occurrence(1) == schedule.occurrence(2)


def test_an_ambiguous_autumn_time_takes_the_summer_offset() -> None:
    # 01:30 happens twice on 2026-11-01 in New York; Joda (and we) take the first, EDT.
    schedule = parse_schedule("R/2026-10-31T01:30:00/P1D", "America/New_York")
    assert runs(schedule, 2) == ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z"]


def test_time_parts_are_elapsed_time_even_in_the_repeated_autumn_hour() -> None:
    # 01:30 EST, the second 01:30 of 2026-11-01 in New York: PT1H later is 02:30 EST, not 01:30 EST.
    from zoneinfo import ZoneInfo
    second = at("2026-11-01T06:30:00+00:00").astimezone(ZoneInfo("America/New_York"))
    assert second.fold == 1
    assert Duration(hours=1).add_to(second) == at("2026-11-01T07:30:00+00:00")
    hourly = parse_schedule("R/2026-11-01T00:30:00/PT1H", "America/New_York")
    assert runs(hourly, 3) == ["2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"]
    d = decide(hourly, at("2026-11-01T06:30:30+00:00"), parse_duration("PT60S"))  # the second 01:30, 30 s late
    assert d.run_at == at("2026-11-01T06:30:00+00:00") and d.skipped == 2


def test_a_duration_is_never_negative() -> None:
    with pytest.raises(ScheduleError, match="days"):
        Duration(days=-1)


# -- decide: epsilon, skips, catch-up -----------------------------------------------------------------

HOURLY = "R/2026-12-01T00:00:00Z/PT1H"


def test_on_time_run_and_wake() -> None:
    d = decide(parse_schedule(HOURLY), at("2026-12-01T00:00:00+00:00"), parse_duration("PT60S"))
    assert d.run_at == at("2026-12-01T00:00:00+00:00") and d.skipped == 0
    assert str(d.remaining) == "R/2026-12-01T01:00:00.000Z/PT1H"
    assert d.wake_at == at("2026-12-01T01:00:00+00:00")


def test_before_the_start_nothing_runs() -> None:
    schedule = parse_schedule(HOURLY)
    d = decide(schedule, at("2026-11-30T23:00:00+00:00"), parse_duration("PT60S"))
    assert d == type(d)(None, 0, schedule, at("2026-12-01T00:00:00+00:00"))


def test_late_within_epsilon_runs_beyond_is_skipped_not_run_late() -> None:
    schedule = parse_schedule(HOURLY)
    eps = parse_duration("PT60S")
    d = decide(schedule, at("2026-12-01T00:01:00+00:00"), eps)
    assert d.run_at == at("2026-12-01T00:00:00+00:00") and d.skipped == 0
    d = decide(schedule, at("2026-12-01T00:01:00.001+00:00"), eps)
    assert d.run_at is None and d.skipped == 1
    assert d.wake_at == at("2026-12-01T01:00:00+00:00")


def test_down_for_hours_at_most_one_catch_up() -> None:
    schedule = parse_schedule(HOURLY)
    d = decide(schedule, at("2026-12-01T05:00:30+00:00"), parse_duration("PT60S"))
    assert d.run_at == at("2026-12-01T05:00:00+00:00") and d.skipped == 5
    d = decide(schedule, at("2026-12-01T05:30:00+00:00"), parse_duration("PT60S"))
    assert d.run_at is None and d.skipped == 6
    assert str(d.remaining) == "R/2026-12-01T06:00:00.000Z/PT1H"
    # an epsilon longer than the period still catches up only once, the latest
    d = decide(schedule, at("2026-12-01T05:30:00+00:00"), parse_duration("PT3H"))
    assert d.run_at == at("2026-12-01T05:00:00+00:00") and d.skipped == 5


def test_recurrences_are_consumed_by_runs_and_skips() -> None:
    schedule = parse_schedule("R3/2026-12-01T00:00:00Z/PT1H")
    d = decide(schedule, at("2026-12-01T01:00:10+00:00"), parse_duration("PT30S"))
    assert d.run_at == at("2026-12-01T01:00:00+00:00") and d.skipped == 1
    assert str(d.remaining) == "R1/2026-12-01T02:00:00.000Z/PT1H"
    d = decide(schedule, at("2026-12-02T00:00:00+00:00"), parse_duration("PT30S"))
    assert d == type(d)(None, 3, None, None)
    last = decide(parse_schedule("R1/2026-12-01T00:00:00Z/PT1H"), at("2026-12-01T00:00:00+00:00"), Duration())
    assert last.run_at is not None and last.remaining is None and last.wake_at is None
    never = decide(parse_schedule("R0/2026-12-01T00:00:00Z/PT1H"), at("2026-12-02T00:00:00+00:00"), Duration())
    assert never == type(never)(None, 0, None, None)


def test_monthly_catch_up_walks_the_calendar() -> None:
    schedule = parse_schedule("R/2026-01-31T00:00:00Z/P1M")
    d = decide(schedule, at("2026-05-28T00:00:10+00:00"), parse_duration("PT1M"))
    assert d.run_at == at("2026-05-28T00:00:00+00:00") and d.skipped == 4
    assert str(d.remaining) == "R/2026-06-28T00:00:00.000Z/P1M"


def test_a_long_downtime_with_a_short_period_is_computed_not_walked() -> None:
    schedule = parse_schedule("R/2000-01-01T00:00:00Z/PT1S")
    d = decide(schedule, at("2026-12-01T00:00:00.5+00:00"), parse_duration("PT1S"))
    assert d.run_at == at("2026-12-01T00:00:00+00:00")
    assert d.skipped == int((at("2026-12-01T00:00:00+00:00") - at("2000-01-01T00:00:00+00:00")).total_seconds())


# -- properties ---------------------------------------------------------------------------------------

ZONES = st.sampled_from(["", "UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"])
DURATIONS = st.builds(
    Duration,
    years=st.integers(0, 2), months=st.integers(0, 14), weeks=st.integers(0, 3), days=st.integers(0, 40),
    hours=st.integers(0, 30), minutes=st.integers(0, 90),
    seconds=st.integers(0, 90_000).map(lambda ms: ms / 1000),
).filter(lambda d: not d.is_zero)
STARTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1))
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    recurrences = draw(st.none() | st.integers(0, 50))
    start = draw(STARTS).replace(tzinfo=draw(OFFSETS))
    count = "" if recurrences is None else str(recurrences)
    text = f"R{count}/{start.isoformat()}/{draw(DURATIONS)}"
    return parse_schedule(text, draw(ZONES))


@settings(max_examples=150, deadline=None)
@given(schedules())
def test_round_trip_parse_format(schedule: Schedule) -> None:
    again = parse_schedule(str(schedule), schedule.time_zone)
    assert again == schedule and str(again) == str(schedule)
    assert again.occurrence(0) == schedule.occurrence(0)


@settings(max_examples=150, deadline=None)
@given(schedules())
def test_occurrences_strictly_increase_and_rewrites_agree(schedule: Schedule) -> None:
    times = [t for t in (schedule.occurrence(n) for n in range(6)) if t is not None]
    assert times == sorted(set(times))
    rest = schedule.skip(1)
    if rest is not None:  # what Chronos writes back runs exactly the remaining occurrences
        assert [rest.occurrence(n) for n in range(5)] == [schedule.occurrence(n + 1) for n in range(5)]


@settings(max_examples=150, deadline=None)
@given(schedules(), st.integers(0, 10), st.integers(0, 7200))
def test_decide_consumes_every_due_run_once(schedule: Schedule, n: int, late_s: int) -> None:
    base = schedule.occurrence(n)
    if base is None:
        return
    now = base + timedelta(seconds=late_s)
    d = decide(schedule, now, Duration(minutes=30))
    due = schedule.due(now)
    assert d.skipped + (d.run_at is not None) == due
    if d.run_at is not None:
        assert d.run_at <= now <= d.run_at + timedelta(minutes=30)
    if d.wake_at is not None:
        assert d.wake_at > now and d.remaining is not None and d.remaining.occurrence(0) == d.wake_at
