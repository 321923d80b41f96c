"""Public holidays from a maintained calendar (the `holidays` library), per country and subdivision.

The only module that imports `holidays`. Names come in the country's own language (the
library's default for it, never the process locale), so a flow reads the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import lru_cache

import holidays as _library

from .flow import Calendar

PUBLIC = "public"


def _entity(country: str) -> type[_library.HolidayBase] | None:
    if country not in _library.list_supported_countries():
        return None
    found: type[_library.HolidayBase] | None = getattr(_library, country, None)
    return found


def problem(
    country: str, subdivision: str | None, categories: Iterable[str]
) -> tuple[str, str] | None:
    """(message, hint) when the library has no such calendar; None when it has."""
    supported = _library.list_supported_countries()
    if country not in supported:
        near = sorted(c for c in supported if c[:1] == country[:1])
        return (
            f"no holiday calendar for the country '{country}'",
            "countries are ISO 3166-1 codes, like BR, US, PT"
            + (f"; known ones starting with {country[:1]}: {', '.join(near)}" if near else ""),
        )
    subdivisions = [s for s in supported[country] if s.isupper() or s.isdigit()]
    if subdivision is not None and subdivision not in supported[country]:
        return (
            f"{country} has no subdivision '{subdivision}'",
            f"known ones: {', '.join(subdivisions)}" if subdivisions else f"{country} has none",
        )
    entity = _entity(country)
    known = tuple(entity.supported_categories) if entity is not None else (PUBLIC,)
    for category in categories:
        if category not in known:
            return (
                f"the {country} calendar has no category '{category}'",
                f"its categories: {', '.join(known)}",
            )
    return None


@lru_cache(maxsize=512)
def _year(
    country: str, subdivision: str | None, categories: tuple[str, ...], year: int
) -> Mapping[dt.date, tuple[str, ...]]:
    entity = _entity(country)
    language = entity.default_language if entity is not None else None
    days = _library.country_holidays(
        country, subdiv=subdivision, years=year, categories=categories, language=language
    )
    return {day: tuple(days.get_list(day)) for day in sorted(days)}


def holiday_name(calendar: Calendar, day: dt.date) -> str | None:
    """The holiday's name if the calendar closes `day` (names it excepts do not close it)."""
    names = _year(calendar.country, calendar.subdivision, calendar.categories, day.year).get(
        day, ()
    )
    kept = [n for n in names if n not in calendar.excepted]
    return "; ".join(kept) if kept else None


def names(calendar: Calendar, years: Iterable[int]) -> set[str]:
    """Every holiday name the calendar has in `years` (to check an `except` list)."""
    out: set[str] = set()
    for year in years:
        for day_names in _year(
            calendar.country, calendar.subdivision, calendar.categories, year
        ).values():
            out.update(day_names)
    return out


def holidays_between(
    calendar: Calendar, first: dt.date, last: dt.date
) -> list[tuple[dt.date, str]]:
    """The calendar's closed days from `first` to `last`, in order, with their names."""
    out: list[tuple[dt.date, str]] = []
    for year in range(first.year, last.year + 1):
        for day in _year(calendar.country, calendar.subdivision, calendar.categories, year):
            name = holiday_name(calendar, day)
            if first <= day <= last and name is not None:
                out.append((day, name))
    return out


__all__ = ["PUBLIC", "holiday_name", "holidays_between", "names", "problem"]
