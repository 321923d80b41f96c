"""Holidays from a maintained calendar (issue 12, item 9).

The example flows' hours take public holidays from the `holidays` library: the dates never
run out (2027-01-01 is closed though no line says so), São Paulo's 9 July is there, and every
consumer of hours (the runtime, the traffic model, explore) gives the same answer.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from ivrflow import compile_file, load
from ivrflow.model import hours as hours_mod
from ivrflow.tools.explore.inputs import _times
from ivrflow.tools.testing import Call
from ivrflow.traffic.model import parse_model
from ivrflow.traffic.walk import Walker

ROOT = Path(__file__).resolve().parents[2]
SP = hours_mod.zone("America/Sao_Paulo")

AGREE = """\
flow agree
  timezone "America/Sao_Paulo"

use "common/hours.ivr"

start:
  if holiday(office) -> holiday_desk
  if open(office) -> open_desk
  hangup "closed"

step open_desk:
  hangup "open"

step holiday_desk:
  hangup "holiday"
"""


def at(day: str, hour: int = 10, minute: int = 0) -> float:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), SP).timestamp()


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("agree")
    shutil.copytree(ROOT / "flows" / "common", folder / "common")
    (folder / "agree.ivr").write_text(AGREE, encoding="utf-8")
    return load(folder / "agree.ivr")


def runtime_says(flow, when: float) -> str:  # type: ignore[no-untyped-def]
    call = Call(flow, at=when)
    call.start()
    record = call.record
    assert record is not None
    return str(record["outcome"]["reason"])


# (day, hour, what the São Paulo office is then): the calendar's days, and dated lines winning.
CASES = [
    ("2027-01-01", 10, "holiday"),  # no line says so: the calendar does
    ("2027-07-09", 10, "holiday"),  # São Paulo's Revolução Constitucionalista (a Friday)
    ("2026-07-09", 10, "holiday"),  # … in 2026 too, which the typed-in list had missed
    ("2027-07-08", 10, "open"),
    ("2027-02-08", 10, "holiday"),  # Carnaval: a movable feast (`optional`)
    ("2027-02-09", 10, "holiday"),
    ("2027-05-27", 10, "holiday"),  # Corpus Christi
    ("2027-10-28", 10, "open"),  # Dia do Servidor Público: excepted
    ("2027-11-15", 10, "holiday"),  # Proclamação da República, also missing from the old list
    ("2027-02-10", 10, "holiday"),  # Ash Wednesday: a dated partial closure until 14:00 …
    ("2027-02-10", 15, "holiday"),  # … still the day's closure, though open again
    ("2026-12-24", 10, "holiday"),  # Christmas Eve: the dated 14:00-24:00 closure …
    ("2026-12-28", 10, "open"),
    ("2027-01-02", 10, "open"),  # a Saturday 09:00-15:00
    ("2027-01-03", 10, "closed"),  # a Sunday
]


@pytest.mark.parametrize(("day", "hour", "expected"), CASES)
def test_the_office_follows_the_calendar(flow, day: str, hour: int, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert runtime_says(flow, at(day, hour)) == expected


def test_a_dated_partial_closure_wins_over_the_calendar(flow) -> None:  # type: ignore[no-untyped-def]
    office = flow.hours["office"]
    # `optional` closes Christmas Eve all day; the dated line opens its morning.
    assert hours_mod.is_open(office, at("2026-12-24", 10))
    assert not hours_mod.is_open(office, at("2026-12-24", 15))
    assert hours_mod.open_spans(office, dt.date(2026, 12, 24)) == [(dt.time(8), dt.time(14))]
    assert not hours_mod.is_open(office, at("2027-02-10", 10))
    assert hours_mod.is_open(office, at("2027-02-10", 15))


def test_the_us_desk_works_on_the_days_it_excepts(flow) -> None:  # type: ignore[no-untyped-def]
    us = flow.hours["office_us"]
    ny = hours_mod.zone("America/New_York")

    def ny_at(day: str) -> float:
        return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(11), ny).timestamp()

    assert not hours_mod.is_open(us, ny_at("2027-11-25"))  # Thanksgiving
    assert hours_mod.is_open(us, ny_at("2027-10-11"))  # Columbus Day: excepted
    assert hours_mod.is_open(us, ny_at("2027-11-11"))  # Veterans Day: excepted
    assert hours_mod.closure_on(us, dt.datetime.fromtimestamp(ny_at("2027-11-25"), ny)) is not None


def test_runtime_traffic_and_open_spans_agree_every_hour_of_2027(flow) -> None:  # type: ignore[no-untyped-def]
    walker = Walker(flow, parse_model("{}"))
    office = flow.hours["office"]
    day = dt.date(2027, 1, 1)
    checked = 0
    while day.year == 2027:
        for hour in (7, 10, 13, 15, 19):
            when = at(day.isoformat(), hour, 30)
            is_open = hours_mod.is_open(office, when)
            traffic_open, traffic_holiday, _ = walker._hv_list[walker.hours_id(when)]["office"]
            assert traffic_open == is_open, (day, hour)
            assert traffic_holiday == hours_mod.is_holiday(office, when), (day, hour)
            t = dt.time(hour, 30)
            in_span = any(s <= t < e for s, e in hours_mod.open_spans(office, day))
            assert in_span == is_open, (day, hour)
            checked += 1
        day += dt.timedelta(days=3)
    assert checked > 500


def test_explore_tries_a_calendar_holiday_the_runtime_closes(flow) -> None:  # type: ignore[no-untyped-def]
    setups = {desc.split(" ")[0]: iso for iso, desc, _ in _times(flow)}
    holiday = dt.datetime.fromisoformat(setups["holiday"]).timestamp()
    office = dt.datetime.fromisoformat(setups["office"]).timestamp()
    assert runtime_says(flow, holiday) == "holiday"
    assert runtime_says(flow, office) == "open"


def test_explore_finds_a_holiday_in_hours_with_only_a_calendar(tmp_path: Path) -> None:
    (tmp_path / "f.ivr").write_text(
        "flow f\n\nhours h:\n  mon-sun 08:00-18:00\n  holidays PT\n\n"
        'start:\n  if holiday(h): hangup "holiday"\n  hangup "open"\n',
        encoding="utf-8",
    )
    flow = load(tmp_path / "f.ivr")
    descriptions = [desc for _, desc, _ in _times(flow)]
    assert any(d.startswith("holiday ") for d in descriptions), descriptions


def test_names_come_in_the_countrys_language_whatever_the_locale(
    monkeypatch: pytest.MonkeyPatch,
    flow,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    closure = hours_mod.day_closure(flow.hours["office"], dt.date(2027, 7, 9))
    assert closure is not None and closure.reason == "Revolução Constitucionalista"


def test_unknown_calendars_are_errors_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "f.ivr").write_text(
        'flow f\n\nhours h:\n  mon 08:00-18:00\n  holidays BR-XX\n  holidays US except "Xmas"\n\n'
        "start:\n  if open(h): hangup\n  hangup\n",
        encoding="utf-8",
    )
    result = compile_file(tmp_path / "f.ivr")
    found = [(d.code, d.span.line if d.span else 0, d.hint) for d in result.errors]
    assert [(c, line) for c, line, _ in found] == [("E160", 5), ("E160", 6)]
    assert "SP" in (found[0][2] or "")


def test_closures_in_the_future_do_not_warn(tmp_path: Path) -> None:
    (tmp_path / "f.ivr").write_text(
        'flow f\n\nhours h:\n  mon 08:00-18:00\n  closed 2020-12-25\n  closed 2999-12-25 "later"\n\n'
        "start:\n  if open(h): hangup\n  hangup\n",
        encoding="utf-8",
    )
    assert not [d for d in compile_file(tmp_path / "f.ivr").diagnostics if d.code == "W220"]


def test_every_example_flow_takes_holidays_from_a_calendar() -> None:
    for path in sorted((ROOT / "flows").glob("*.ivr")):
        flow = load(path)
        assert flow.hours, path
        assert all(h.calendars for h in flow.hours.values()), path
