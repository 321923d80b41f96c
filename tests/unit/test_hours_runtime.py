"""Business hours at a moment (ivrflow.hours): boundaries, 24:00, closures, DST (issue 3).

Every check is at an epoch instant, read in the hours' own time zone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import ivrflow
from ivrflow.model import Hours, hours

FLOWS = Path(__file__).resolve().parents[2] / "flows"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NEW_YORK = ZoneInfo("America/New_York")

SOURCE = """\
flow hours_test
  timezone "America/Sao_Paulo"
hours office:
  timezone "America/Sao_Paulo"
  mon-fri 08:00-12:00, 13:00-18:00
  sat 09:00-13:00
  sun closed
  closed 2026-12-25 "Natal"
  closed 2026-12-24 14:00-24:00 "Véspera: fecha às 14h"
  closed 2026-02-16..2026-02-17 "Carnaval"
  closed 2026-02-18 08:00-14:00 "Cinzas: abre às 14h"
hours late:
  timezone "America/Sao_Paulo"
  fri 20:00-24:00
  sat 00:00-24:00
hours ny:
  timezone "America/New_York"
  mon-fri 09:00-18:00
  sun 01:00-03:00
  sat 02:00-03:00
hours plain:
  mon-fri 08:00-18:00
hours skipped:
  timezone "America/New_York"
  sun 02:00-03:00
start:
  hangup
"""


@pytest.fixture(scope="module")
def h() -> dict[str, Hours]:
    result = ivrflow.compile_file("t.ivr", text=SOURCE)
    assert result.flow is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
    return dict(result.flow.hours)


def sp(text: str) -> float:
    """A São Paulo wall-clock time as epoch seconds."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SAO_PAULO).timestamp()


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


# ---------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        ("2026-11-24 07:59:59.999", False),
        ("2026-11-24 08:00:00", True),
        ("2026-11-24 11:59:59.999", True),
        ("2026-11-24 12:00:00", False),
        ("2026-11-24 12:59:59", False),
        ("2026-11-24 13:00:00", True),
        ("2026-11-24 17:59:59.999", True),
        ("2026-11-24 18:00:00", False),
        ("2026-11-24 23:59:59", False),
        ("2026-11-24 00:00:00", False),
        ("2026-11-28 08:59:59", False),  # Saturday
        ("2026-11-28 09:00:00", True),
        ("2026-11-28 13:00:00", False),
        ("2026-11-29 10:00:00", False),  # Sunday: closed
        ("2026-11-30 08:00:00", True),  # Monday
    ],
)
def test_open_at_the_boundaries(h: dict[str, Hours], when: str, is_open: bool) -> None:
    assert hours.is_open(h["office"], sp(when)) is is_open


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        ("2026-11-27 19:59:59", False),
        ("2026-11-27 20:00:00", True),
        ("2026-11-27 23:59:59.999", True),  # 24:00 includes the last instant of the day
        ("2026-11-28 00:00:00", True),  # Saturday 00:00-24:00
        ("2026-11-28 12:00:00", True),
        ("2026-11-28 23:59:59", True),
        ("2026-11-29 00:00:00", False),  # Sunday: nothing
    ],
)
def test_24_00_closes_at_midnight(h: dict[str, Hours], when: str, is_open: bool) -> None:
    assert hours.is_open(h["late"], sp(when)) is is_open


def test_emergency_closes_whatever_the_schedule(h: dict[str, Hours]) -> None:
    moment = sp("2026-11-24 10:00")
    assert hours.is_open(h["office"], moment) is True
    assert hours.is_open(h["office"], moment, emergency=True) is False


def test_the_hours_zone_not_utc(h: dict[str, Hours]) -> None:
    # 10:30 UTC is 07:30 in São Paulo; 21:30 UTC is 18:30.
    assert hours.is_open(h["office"], utc("2026-11-24 10:30")) is False
    assert hours.is_open(h["office"], utc("2026-11-24 11:00")) is True
    assert hours.is_open(h["office"], utc("2026-11-24 20:59")) is True
    assert hours.is_open(h["office"], utc("2026-11-24 21:30")) is False


def test_hours_without_a_timezone_use_the_flows(h: dict[str, Hours]) -> None:
    assert h["plain"].timezone == "America/Sao_Paulo"
    assert hours.is_open(h["plain"], sp("2026-11-24 08:00")) is True
    assert hours.is_open(h["plain"], utc("2026-11-24 08:00")) is False  # 05:00 local


def test_local_time(h: dict[str, Hours]) -> None:
    local = hours.local_time(utc("2026-11-24 13:00"), "America/Sao_Paulo")
    assert local.replace(tzinfo=None) == dt.datetime(2026, 11, 24, 10, 0)
    assert local.utcoffset() == dt.timedelta(hours=-3)


# ---------------------------------------------------------------- closures


@pytest.mark.parametrize(
    ("when", "is_open", "holiday"),
    [
        ("2026-12-25 10:00", False, True),  # all day, on a Friday
        ("2026-12-25 00:00", False, True),
        ("2026-12-25 23:59:59", False, True),
        ("2026-12-24 13:59:59", True, True),  # partial: open before 14:00
        ("2026-12-24 14:00", False, True),
        ("2026-12-24 17:00", False, True),
        ("2026-12-24 23:59:59", False, True),
        ("2026-12-26 10:00", True, False),  # Saturday after Christmas, 09:00-13:00
        ("2026-12-23 17:00", True, False),
        ("2026-02-15 10:00", False, False),  # Sunday before Carnaval
        ("2026-02-16 10:00", False, True),  # a closure range
        ("2026-02-17 10:00", False, True),
        ("2026-02-18 10:00", False, True),  # closed 08:00-14:00 …
        ("2026-02-18 14:00", True, True),  # … open after
        ("2026-02-18 13:59", False, True),  # the closure wins over the weekly lunch too
        ("2026-02-19 10:00", True, False),
    ],
)
def test_closures(h: dict[str, Hours], when: str, is_open: bool, holiday: bool) -> None:
    assert hours.is_open(h["office"], sp(when)) is is_open
    assert hours.is_holiday(h["office"], sp(when)) is holiday


def test_a_closure_day_is_read_in_the_hours_zone(h: dict[str, Hours]) -> None:
    # 2026-12-25 01:30 UTC is still the 24th, 22:30, in São Paulo.
    moment = utc("2026-12-25 01:30")
    assert hours.is_holiday(h["office"], moment) is True  # the 24th has a partial closure
    closure = hours.closure_on(h["office"], hours.local_time(moment, "America/Sao_Paulo"))
    assert closure is not None
    assert closure.reason == "Véspera: fecha às 14h"
    moment = utc("2026-12-25 03:30")  # 00:30 on the 25th
    closure = hours.closure_on(h["office"], hours.local_time(moment, "America/Sao_Paulo"))
    assert closure is not None and closure.reason == "Natal"


def test_shared_hours_of_the_shipped_flows() -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    office = flow.hours["office"]
    assert hours.is_open(office, sp("2026-11-24 19:59")) is True
    assert hours.is_open(office, sp("2026-11-24 20:00")) is False
    assert hours.is_open(office, sp("2026-12-31 13:59")) is True
    assert hours.is_open(office, sp("2026-12-31 14:00")) is False
    assert hours.is_holiday(office, sp("2026-11-20 10:00")) is True
    assert hours.is_open(office, sp("2026-11-20 10:00")) is False
    office_us = flow.hours["office_us"]
    miami_morning = dt.datetime(2026, 11, 27, 12, 59, tzinfo=NEW_YORK).timestamp()
    assert hours.is_open(office_us, miami_morning) is True
    assert hours.is_open(office_us, miami_morning + 60) is False  # closes at 1 pm that day


# ---------------------------------------------------------------- daylight saving time


def ny(h: dict[str, Hours], moment: float) -> bool:
    return hours.is_open(h["ny"], moment)


def test_dst_start_the_skipped_hour() -> None:
    # 2026-03-08: at 02:00 EST the clocks jump to 03:00 EDT; 02:30 never happens.
    before = utc("2026-03-08 06:59:59")
    after = utc("2026-03-08 07:00:00")
    assert hours.local_time(before, "America/New_York").strftime("%H:%M:%S") == "01:59:59"
    assert hours.local_time(after, "America/New_York").strftime("%H:%M:%S") == "03:00:00"
    assert after - before == 1.0


def test_dst_start_open_until_the_jump(h: dict[str, Hours]) -> None:
    # sun 01:00-03:00: open 01:00-01:59:59 EST, then it is 03:00 EDT: closed. One real hour.
    assert ny(h, utc("2026-03-08 05:59:59")) is False  # 00:59:59 EST
    assert ny(h, utc("2026-03-08 06:00:00")) is True  # 01:00 EST
    assert ny(h, utc("2026-03-08 06:59:59")) is True
    assert ny(h, utc("2026-03-08 07:00:00")) is False  # 03:00 EDT
    minutes_open = sum(ny(h, utc("2026-03-08 00:00") + 60 * m) for m in range(24 * 60))
    assert minutes_open == 60


def test_dst_start_a_window_inside_the_skipped_hour_never_opens(h: dict[str, Hours]) -> None:
    # sun 02:00-03:00: open on the Sundays around it, never on 2026-03-08, when 02:30 does
    # not exist.
    for day in ("2026-03-01", "2026-03-15"):
        moment = dt.datetime.fromisoformat(f"{day} 02:30").replace(tzinfo=NEW_YORK).timestamp()
        assert hours.is_open(h["skipped"], moment) is True
    day = utc("2026-03-08 00:00")
    assert not any(hours.is_open(h["skipped"], day + 60 * m) for m in range(24 * 60))
    hours_seen = {hours.local_time(day + 60 * m, "America/New_York").hour for m in range(24 * 60)}
    assert 2 not in hours_seen


def test_dst_start_weekday_hours_follow_the_wall_clock(h: dict[str, Hours]) -> None:
    # Friday before: 09:00 EST is 14:00 UTC. Monday after: 09:00 EDT is 13:00 UTC.
    assert ny(h, utc("2026-03-06 13:59")) is False
    assert ny(h, utc("2026-03-06 14:00")) is True
    assert ny(h, utc("2026-03-09 12:59")) is False
    assert ny(h, utc("2026-03-09 13:00")) is True
    assert ny(h, utc("2026-03-09 21:59")) is True  # 17:59 EDT
    assert ny(h, utc("2026-03-09 22:00")) is False  # 18:00 EDT


def test_dst_end_the_repeated_hour(h: dict[str, Hours]) -> None:
    # 2026-11-01: 01:30 happens twice, at 05:30 UTC (EDT) and at 06:30 UTC (EST).
    first = hours.local_time(utc("2026-11-01 05:30"), "America/New_York")
    second = hours.local_time(utc("2026-11-01 06:30"), "America/New_York")
    assert first.strftime("%H:%M") == second.strftime("%H:%M") == "01:30"
    assert first.utcoffset() == dt.timedelta(hours=-4)
    assert second.utcoffset() == dt.timedelta(hours=-5)
    # sun 01:00-03:00 is open both times 01:30 comes round: three real hours in all.
    assert ny(h, utc("2026-11-01 05:30")) is True
    assert ny(h, utc("2026-11-01 06:30")) is True
    assert ny(h, utc("2026-11-01 04:59")) is False  # 00:59 EDT
    assert ny(h, utc("2026-11-01 05:00")) is True  # 01:00 EDT
    assert ny(h, utc("2026-11-01 07:59")) is True  # 02:59 EST
    assert ny(h, utc("2026-11-01 08:00")) is False  # 03:00 EST
    minutes_open = sum(ny(h, utc("2026-11-01 00:00") + 60 * m) for m in range(24 * 60))
    assert minutes_open == 180


def test_dst_end_weekday_hours_follow_the_wall_clock(h: dict[str, Hours]) -> None:
    # Friday before (EDT): 09:00 is 13:00 UTC. Monday after (EST): 09:00 is 14:00 UTC.
    assert ny(h, utc("2026-10-30 13:00")) is True
    assert ny(h, utc("2026-10-30 12:59")) is False
    assert ny(h, utc("2026-11-02 13:59")) is False
    assert ny(h, utc("2026-11-02 14:00")) is True


def test_holiday_function(h: dict[str, Hours]) -> None:
    assert hours.is_holiday(h["office"], sp("2026-12-25 12:00")) is True
    assert hours.is_holiday(h["office"], sp("2026-12-26 12:00")) is False
    assert hours.is_holiday(h["ny"], sp("2026-12-25 12:00")) is False  # no closures at all
