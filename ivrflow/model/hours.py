"""Business hours at a moment: weekly schedule, closures, emergency, in the hours' zone."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from .. import model
from . import calendars


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(at: float, timezone: str) -> dt.datetime:
    """The wall-clock time in `timezone` of an epoch timestamp."""
    return dt.datetime.fromtimestamp(at, zone(timezone))


def _within(spans: tuple[tuple[dt.time, dt.time], ...], t: dt.time) -> bool:
    # Ranges are [start, end): 08:00-18:00 is open at 08:00 and closed at 18:00;
    # 24:00 (time.max) closes at midnight.
    return any(start <= t < end or (end == dt.time.max and t >= start) for start, end in spans)


def closure_on(hours: model.Hours, local: dt.datetime) -> model.Closure | None:
    return day_closure(hours, local.date())


def day_closure(hours: model.Hours, day: dt.date) -> model.Closure | None:
    """What closes `day`: a dated closure (it wins: it says which hours), else a calendar holiday."""
    for c in hours.closures:
        if c.first <= day <= c.last:
            return c
    for calendar in hours.calendars:
        name = calendars.holiday_name(calendar, day)
        if name is not None:
            return model.Closure(day, day, (), name)
    return None


def is_open(hours: model.Hours, at: float, emergency: bool = False) -> bool:
    if emergency:
        return False
    local = local_time(at, hours.timezone)
    t = local.time().replace(tzinfo=None)
    closure = closure_on(hours, local)
    if closure is not None and (not closure.times or _within(closure.times, t)):
        return False
    return _within(hours.weekly.get(local.weekday(), ()), t)


def open_spans(hours: model.Hours, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    """The day's opening hours: the weekly spans minus that day's closures."""
    spans = list(hours.weekly.get(day.weekday(), ()))
    c = day_closure(hours, day)
    if c is not None:
        if not c.times:
            return []
        for cut_start, cut_end in c.times:
            kept: list[tuple[dt.time, dt.time]] = []
            for start, end in spans:
                if cut_end <= start or cut_start >= end:
                    kept.append((start, end))
                    continue
                if start < cut_start:
                    kept.append((start, cut_start))
                if cut_end < end:
                    kept.append((cut_end, end))
            spans = kept
    return spans


def is_holiday(hours: model.Hours, at: float) -> bool:
    return closure_on(hours, local_time(at, hours.timezone)) is not None


__all__ = ["closure_on", "day_closure", "is_holiday", "is_open", "local_time", "open_spans", "zone"]
