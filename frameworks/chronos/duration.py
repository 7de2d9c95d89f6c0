"""ISO 8601 durations and time zones as Chronos reads them (Joda-Time's ``ISOPeriodFormat.standard``).

A :class:`Duration` keeps its fields as written (``PT90M`` stays 90 minutes) and is added the way
Joda adds a ``Period`` to a zoned ``DateTime``: field by field from the largest, years, months,
weeks and days in local wall time of the time's zone (Jan 31 + P1M -> Feb 28/29; a wall time that
falls in a DST gap moves forward by the gap, an ambiguous one takes the earlier, summer offset),
hours, minutes and seconds as elapsed time. Pure: no clock.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Duration", "ScheduleError", "parse_duration", "resolve_zone", "to_zone"]


class ScheduleError(ValueError):
    """A schedule, duration or time zone that cannot be read; ``str(e)`` names the field and the value."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}: {value!r}")
        self.field = field
        self.value = value
        self.reason = reason


_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?"
)


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration, ``PnYnMnWnDTnHnMnS``; seconds are kept to the millisecond, as Joda does."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("years", "months", "weeks", "days", "hours", "minutes", "seconds"):
            if getattr(self, name) < 0:
                raise ScheduleError(name, str(getattr(self, name)), "a duration's parts must be >= 0")

    @property
    def millis(self) -> int:
        """The seconds part in whole milliseconds."""
        return round(self.seconds * 1000)

    @property
    def is_zero(self) -> bool:
        return not (self.years or self.months or self.weeks or self.days or self.hours or self.minutes
                    or self.millis)

    @property
    def elapsed(self) -> timedelta | None:
        """The fixed length when the duration has only time parts (hours, minutes, seconds), else None."""
        if self.years or self.months or self.weeks or self.days:
            return None
        return timedelta(hours=self.hours, minutes=self.minutes, milliseconds=self.millis)

    def add_to(self, t: datetime) -> datetime:
        """``t`` plus this duration, calendar parts in ``t``'s own zone; the result is in that zone.

        Raises OverflowError past year 9999.
        """
        if t.tzinfo is None:
            raise ValueError(f"add_to needs an aware datetime, got {t.isoformat()!r}")
        zone = t.tzinfo
        local = t
        if self.years or self.months or self.weeks or self.days:  # on the wall clock, then re-read
            wall = t.replace(tzinfo=None)
            if self.years:  # years, then months, each clamping the day (Feb 29 + P1Y1M -> Mar 28)
                wall = _add_months(wall, 12 * self.years)
            if self.months:
                wall = _add_months(wall, self.months)
            wall += timedelta(days=7 * self.weeks + self.days)
            local = to_zone(wall.replace(tzinfo=zone), zone)
        span = timedelta(hours=self.hours, minutes=self.minutes, milliseconds=self.millis)
        if not span:
            return local
        return (local.astimezone(timezone.utc) + span).astimezone(zone)

    def __str__(self) -> str:
        """Joda's ``ISOPeriodFormat.standard`` text: zero fields left out, ``PT0S`` for nothing."""
        date = "".join(f"{v}{u}" for v, u in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"),
                                              (self.days, "D")) if v)
        whole, ms = divmod(self.millis, 1000)
        secs = f"{whole}.{ms:03d}" if ms else str(whole)
        time = "".join(f"{v}{u}" for v, u in ((self.hours, "H"), (self.minutes, "M")) if v)
        if whole or ms:
            time += f"{secs}S"
        if not date and not time:
            return "PT0S"
        return f"P{date}" + (f"T{time}" if time else "")


def _add_months(wall: datetime, months: int) -> datetime:
    """Calendar month arithmetic: the day of month is clamped to the target month's last day."""
    index = wall.year * 12 + (wall.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError(f"date out of range: year {year}")
    day = min(wall.day, calendar.monthrange(year, month + 1)[1])
    return wall.replace(year=year, month=month + 1, day=day)


def to_zone(t: datetime, zone: tzinfo) -> datetime:
    """``t``'s wall fields placed in ``zone``, as a real instant: a time in a DST gap moves forward by
    the gap (Joda's rule; fold=0 takes the offset before the change), an ambiguous one keeps fold=0
    (the earlier, summer offset)."""
    return t.replace(tzinfo=zone, fold=0).astimezone(timezone.utc).astimezone(zone)


def parse_duration(text: str, field: str = "epsilon") -> Duration:
    """``"PT60S"``, ``"P1M"``, ``"P1Y2M10DT2H30M"``, ``"P2W"``, ``"PT1.5S"`` -> Duration.

    ``"P"`` alone is zero (Joda reads it so). Raises ScheduleError naming ``field`` and the text for
    anything else (negative or fractional parts other than seconds, missing ``P``, an empty ``T``).
    """
    if not isinstance(text, str):
        raise ScheduleError(field, repr(text), "not an ISO 8601 duration string")
    match = _DURATION.fullmatch(text)
    if match is None or text == "PT":  # a bare "P" is zero, as Joda reads it (Chronos' "R1//P")
        raise ScheduleError(field, text, "not an ISO 8601 duration (PnYnMnWnDTnHnMnS)")
    parts = {k: v for k, v in match.groupdict().items() if v is not None}
    seconds = float(parts.pop("seconds", "0").replace(",", "."))
    return Duration(seconds=seconds, **{k: int(v) for k, v in parts.items()})


# Java's three-letter time zone ids (java.util.TimeZone, ZoneId.SHORT_IDS) that Chronos accepts in
# scheduleTimeZone; EST, MST and HST are fixed offsets and exist in the tz database as such.
_JAVA_SHORT_IDS = {
    "ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo", "BST": "Asia/Dhaka",
    "CAT": "Africa/Harare", "CNT": "America/St_Johns", "CST": "America/Chicago", "CTT": "Asia/Shanghai",
    "EAT": "Africa/Addis_Ababa", "ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis",
    "IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan",
    "NST": "Pacific/Auckland", "PLT": "Asia/Karachi", "PNT": "America/Phoenix",
    "PRT": "America/Puerto_Rico", "PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal",
    "VST": "Asia/Ho_Chi_Minh",
}
_CUSTOM_OFFSET = re.compile(r"(?:GMT|UTC)(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?")


def resolve_zone(name: str, field: str = "scheduleTimeZone") -> tzinfo:
    """An IANA zone name (``Europe/Berlin``), one of Java's short ids (``PST``) or ``GMT+hh:mm``.

    Unlike Java, which silently falls back to GMT, an unknown name raises ScheduleError.
    """
    custom = _CUSTOM_OFFSET.fullmatch(name)
    if custom is not None:
        hours, minutes = int(custom["h"]), int(custom["m"] or 0)
        if hours > 18 or minutes > 59:
            raise ScheduleError(field, name, "offset out of range")
        sign = -1 if custom["sign"] == "-" else 1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(_JAVA_SHORT_IDS.get(name, name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(field, name, "unknown time zone (want a tz database name)") from None
