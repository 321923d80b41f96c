"""CLDR say-as rules from Babel (and spelled ordinals from num2words), extra ``ivrflow[locales]``.

The only module that imports `babel` and `num2words`. It formats numbers, money, dates, times,
durations and ordinals the way a locale writes them ("25 de diciembre de 2026", "$1,234.50" in
es-MX). When Babel is missing `known` says False for every locale and `ivrflow.model.sayas`
keeps to its own tables (en-US and pt-BR). Amounts arrive already read and rounded by `sayas`.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
from decimal import Decimal
from functools import lru_cache
from types import ModuleType
from typing import Any

__all__ = [
    "MISSING",
    "available",
    "currency",
    "currency_digits",
    "date",
    "default_currency",
    "duration",
    "known",
    "number",
    "ordinal",
    "time",
]

MISSING = "install ivrflow[locales] (Babel) for say-as in every locale"


def _import(name: str) -> ModuleType | None:
    """A module, or None when it is not installed (tests hide one by setting its
    `sys.modules` entry to None; Python keeps it cached otherwise)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _babel() -> ModuleType | None:
    return _import("babel")


def available() -> bool:
    return _babel() is not None


def _tag(locale: str) -> str:
    return locale.strip().replace("-", "_")


@lru_cache(maxsize=256)
def _parse(tag: str) -> Any:
    babel = _babel()
    assert babel is not None
    try:
        return babel.Locale.parse(tag)
    except (ValueError, TypeError, babel.UnknownLocaleError):
        return None


def _locale(locale: str) -> Any:
    """Babel's Locale for a tag like ``es-MX``; None when Babel is missing or lacks it."""
    if _babel() is None:
        return None
    return _parse(_tag(locale))


def known(locale: str) -> bool:
    """True when Babel is installed and has CLDR data for the locale (language and region)."""
    found = _locale(locale)
    return found is not None and found.territory is not None


def _module(name: str) -> Any:
    found = _import(name)
    assert found is not None, MISSING
    return found


def default_currency(locale: str) -> str | None:
    """The ISO 4217 code of the locale's territory (es-MX → MXN)."""
    found = _locale(locale)
    if found is None or found.territory is None:
        return None
    codes = _module("babel.numbers").get_territory_currencies(found.territory)
    return str(codes[0]) if codes else None


def currency_digits(code: str) -> int:
    return int(_module("babel.numbers").get_currency_precision(code))


def number(amount: Decimal, locale: str, places: int | None) -> str:
    """Grouped as the locale groups (lakhs in hi-IN); ``places`` decimals exactly, or all."""
    found = _locale(locale)
    pattern = copy.copy(found.decimal_formats[None])
    if places is not None:
        pattern.frac_prec = (places, places)
        return str(pattern.apply(amount, found))
    return str(pattern.apply(amount, found, decimal_quantization=False))


def currency(amount: Decimal, locale: str, code: str) -> str:
    found = _locale(locale)
    return str(_module("babel.numbers").format_currency(amount, code, locale=found))


def date(day: dt.date, locale: str) -> str:
    return str(_module("babel.dates").format_date(day, "long", locale=_locale(locale)))


def time(clock: dt.time, locale: str) -> str:
    return str(_module("babel.dates").format_time(clock, "short", locale=_locale(locale)))


def duration(parts: list[tuple[int, str]], locale: str) -> str:
    """``[(1, "hour"), (5, "minute")]`` → ``1 hora y 5 minutos`` with CLDR units and lists."""
    found = _locale(locale)
    units = _module("babel.units")
    words = [
        str(units.format_unit(count, f"duration-{unit}", length="long", locale=found))
        for count, unit in parts
    ]
    return str(_module("babel.lists").format_list(words, locale=found))


def ordinal(text: str, locale: str) -> str:
    """The ordinal spelled in the locale's language (``vigésimo segundo``) with num2words;
    the number as written when num2words is missing or does not know the language."""
    num2words = _import("num2words")
    found = _locale(locale)
    if num2words is None or found is None:
        return text
    for language in (f"{found.language}_{found.territory}", str(found.language)):
        try:
            return str(num2words.num2words(int(text), lang=language, to="ordinal"))
        except (NotImplementedError, OverflowError, ValueError, TypeError):
            continue
    return text
