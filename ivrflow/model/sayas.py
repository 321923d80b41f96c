"""Say-as formatting for text-to-speech prompts, exposed to templates as Jinja filters.

TTS engines read "R$ 1.234,50" or "December 25, 2026" correctly in their own language but stumble
over "1234.5" or "2026-12-25", so prompts format values the way the caller's locale writes them.
Pure functions of their arguments (no clock, no system locale); bad values raise `SayAsError`.

en-US and pt-BR have rules of their own here (read the same with or without extras). Every
other locale Babel knows is formatted by CLDR's rules when the ``locales`` extra is installed
(`locale_library`); without it, a locale borrows the rules of its language, else en-US's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from . import locale_library

__all__ = [
    "FILTERS",
    "SayAsError",
    "currency",
    "date",
    "digits",
    "duration",
    "number",
    "ordinal",
    "resolve_locale",
    "supported_locales",
    "time",
]


class SayAsError(ValueError):
    """A value cannot be spoken as asked (not a number, not a date, …)."""


@dataclass(frozen=True, slots=True)
class _Locale:
    group: str
    decimal: str
    currency: str  # default ISO 4217 code
    symbols: dict[str, str]
    symbol_space: str  # between the symbol and the amount
    months: tuple[str, ...]
    units: dict[str, tuple[str, str]]  # unit → (singular, plural)
    conjunction: str


_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_PT_MONTHS = (
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
)
_LOCALES: dict[str, _Locale] = {
    "en-US": _Locale(
        group=",",
        decimal=".",
        currency="USD",
        symbols={"USD": "$", "BRL": "R$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$"},
        symbol_space="",
        months=_EN_MONTHS,
        units={
            "hour": ("hour", "hours"),
            "minute": ("minute", "minutes"),
            "second": ("second", "seconds"),
        },
        conjunction="and",
    ),
    "pt-BR": _Locale(
        group=".",
        decimal=",",
        currency="BRL",
        symbols={"BRL": "R$", "USD": "US$", "EUR": "€", "GBP": "£", "JPY": "JP¥"},
        symbol_space=" ",
        months=_PT_MONTHS,
        units={
            "hour": ("hora", "horas"),
            "minute": ("minuto", "minutos"),
            "second": ("segundo", "segundos"),
        },
        conjunction="e",
    ),
}
_DEFAULT = "en-US"
_BUILT_IN = frozenset(name.lower() for name in _LOCALES)
_MINOR_UNITS = {"JPY": 0, "CLP": 0, "KRW": 0}
_EN_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ].*)?")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


def supported_locales() -> tuple[str, ...]:
    """Locales with their own formatting; any other falls back (see `resolve_locale`)."""
    return tuple(_LOCALES)


def resolve_locale(locale: str) -> str:
    """The locale whose rules are used for ``locale``: en-US or pt-BR exactly; then, with the
    ``locales`` extra, any locale Babel knows (as ``es-MX``); then a built-in one of the same
    language; else en-US."""
    hand = _hand(locale)
    if hand.lower() == locale.strip().replace("_", "-").lower():
        return hand
    if _babel(locale):
        return locale.strip().replace("_", "-")
    return hand


def _hand(locale: str) -> str:
    """The built-in rules to use for ``locale``: exact, then same language, then en-US."""
    if not isinstance(locale, str):
        raise SayAsError(f"locale {locale!r} is not a string like 'pt-BR'")
    wanted = locale.strip().replace("_", "-").lower()
    for name in _LOCALES:
        if name.lower() == wanted:
            return name
    language = wanted.split("-")[0]
    for name in _LOCALES:
        if name.lower().split("-")[0] == language:
            return name
    return _DEFAULT


def _babel(locale: str) -> bool:
    """True when Babel formats ``locale``: not a built-in one, and known to Babel."""
    if not isinstance(locale, str):
        raise SayAsError(f"locale {locale!r} is not a string like 'pt-BR'")
    wanted = locale.strip().replace("_", "-").lower()
    return wanted not in _BUILT_IN and locale_library.known(locale)


def _loc(locale: str) -> _Locale:
    return _LOCALES[_hand(locale)]


def _plural(locale: str, count: int, unit: str) -> str:
    """``count unit`` with CLDR plural rules: en one is 1; pt one is 0 and 1."""
    singular, plural = _loc(locale).units[unit]
    one = count in (0, 1) if _hand(locale) == "pt-BR" else count == 1
    return f"{count} {singular if one else plural}"


def _decimal(value: object, name: str) -> Decimal:
    """Read int, float, Decimal or a plain numeric string; `SayAsError` for anything else."""
    result: Decimal | None = None
    if isinstance(value, bool):
        result = None
    elif isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        result = Decimal(value.strip())
    if result is None or not result.is_finite():
        raise SayAsError(f"{name}: {value!r} is not a number")
    return result


_QUANTUM = {places: Decimal(1).scaleb(-places) for places in range(5)}


def _round(amount: Decimal, places: int) -> Decimal:
    """Round half up to ``places`` decimals, with enough precision for any amount's size."""
    quantum = _QUANTUM.get(places) or Decimal(1).scaleb(-places)
    if amount.adjusted() + places + 2 <= 28:  # the default context is precise enough
        return amount.quantize(quantum, rounding=ROUND_HALF_UP)
    with localcontext() as context:  # huge amounts: widen the precision
        context.prec = amount.adjusted() + places + 2
        return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def _format_decimal(amount: Decimal, loc: _Locale) -> str:
    """Plain notation (never exponents), grouped by thousands with the locale's separators."""
    return format(amount, ",f").translate({ord(","): loc.group, ord("."): loc.decimal})


def digits(value: str | int, locale: str) -> str:
    """Keys read one by one: ``"1234"`` → ``"1 2 3 4"`` (``*`` and ``#`` kept, rest dropped).

    The same in every locale (TTS voices read a lone digit in their own language); ``locale`` is
    there so every filter is called the same way.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SayAsError(f"digits: {value!r} is not a string of digits")
    text = value if isinstance(value, str) else format(Decimal(value), "f")
    keys = [char for char in text if char in "0123456789*#"]
    if not keys:
        raise SayAsError(f"digits: {value!r} has no digits")
    return " ".join(keys)


def number(value: object, locale: str, places: int | None = None) -> str:
    """Grouped number: en-US ``1,234.5``, pt-BR ``1.234,5``; trailing zero decimals dropped.

    ``places`` rounds (half up) and keeps exactly that many decimals.
    """
    amount = _decimal(value, "number")
    if places is not None:
        if isinstance(places, bool) or not isinstance(places, int) or places < 0:
            raise SayAsError(f"number: places {places!r} is not a whole number >= 0")
        amount = _round(amount, places)
    else:  # text, not Decimal.normalize(): that rounds to the context's 28 digits
        text = format(amount, "f")
        amount = Decimal(text.rstrip("0").rstrip(".") if "." in text else text)
    if _babel(locale):
        return locale_library.number(amount.copy_abs() if amount == 0 else amount, locale, places)
    return _format_decimal(amount.copy_abs() if amount == 0 else amount, _loc(locale))


def currency(value: object, locale: str, code: str | None = None) -> str:
    """Money amount: en-US ``$1,234.50``, pt-BR ``R$ 1.234,50``; ``code`` is ISO 4217.

    With the locales extra, es-MX ``$1,234.50`` (pesos, the locale's own currency by default),
    de-DE ``1.234,50 €``.
    """
    loc = _loc(locale)
    if code is not None and not (isinstance(code, str) and re.fullmatch(r"[A-Za-z]{3}", code)):
        raise SayAsError(f"currency: {code!r} is not an ISO 4217 currency code")
    if _babel(locale):
        babel_code = (code or locale_library.default_currency(locale) or loc.currency).upper()
        rounded = _round(_decimal(value, "currency"), locale_library.currency_digits(babel_code))
        return locale_library.currency(rounded, locale, babel_code)
    currency_code = (code or loc.currency).upper()
    amount = _decimal(value, "currency")
    amount = _round(amount, _MINOR_UNITS.get(currency_code, 2))
    symbol = loc.symbols.get(currency_code)
    prefix = symbol + loc.symbol_space if symbol else currency_code + " "
    sign = "-" if amount < 0 else ""
    return sign + prefix + _format_decimal(amount.copy_abs(), loc)


def date(value: object, locale: str) -> str:
    """Calendar date: en-US ``December 25, 2026``, pt-BR ``25 de dezembro de 2026``.

    pt-BR says the first day as ``1º de maio``, as Brazilians write and say it.
    """
    day: dt.date | None = None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and (match := _ISO_DATE.fullmatch(value.strip())):
        try:
            day = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            day = None
    if day is None:
        raise SayAsError(f"date: {value!r} is not a date (use YYYY-MM-DD)")
    if _babel(locale):
        return locale_library.date(day, locale)  # es-MX: 25 de diciembre de 2026
    loc = _loc(locale)
    month = loc.months[day.month - 1]
    if _hand(locale) == "pt-BR":
        first = "1º" if day.day == 1 else str(day.day)
        return f"{first} de {month} de {day.year}"
    return f"{month} {day.day}, {day.year}"


def time(value: object, locale: str) -> str:
    """Clock time: en-US ``2:30 PM``, pt-BR ``14h30`` or ``14 horas`` on the hour."""
    clock: dt.time | None = None
    if isinstance(value, dt.datetime):
        clock = value.time()
    elif isinstance(value, dt.time):
        clock = value
    elif isinstance(value, str) and (match := _CLOCK.fullmatch(value.strip())):
        hour, minute, second = match.groups()
        try:
            clock = dt.time(int(hour), int(minute), int(second or 0))
        except ValueError:
            clock = None
    if clock is None:
        raise SayAsError(f"time: {value!r} is not a time of day (use HH:MM)")
    if _babel(locale):
        return locale_library.time(clock, locale)  # es-MX: 2:30 p.m.
    if _hand(locale) == "pt-BR":
        if clock.minute == 0:
            return _plural(locale, clock.hour, "hour")
        return f"{clock.hour}h{clock.minute:02d}"
    half = "AM" if clock.hour < 12 else "PM"
    return f"{clock.hour % 12 or 12}:{clock.minute:02d} {half}"


def duration(value: object, locale: str) -> str:
    """Length of time in words: ``1 hour and 5 minutes``, ``1 hora e 5 minutos``.

    From 2 minutes up it is rounded to whole minutes, as wait-time announcements are; below
    that, whole seconds are kept (``1 minute and 30 seconds``).
    """
    if isinstance(value, dt.timedelta):
        seconds = Decimal(str(value.total_seconds()))
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        seconds = _decimal(value, "duration")
    else:
        raise SayAsError(f"duration: {value!r} is not a number of seconds")
    if seconds < 0:
        raise SayAsError(f"duration: {value!r} is negative")
    if seconds.adjusted() > 15:  # keeps the arithmetic below within 28 significant digits
        raise SayAsError(f"duration: {value!r} is too long to say")
    whole = int(_round(seconds, 0))
    if whole >= 120:
        whole = int(_round(seconds / 60, 0)) * 60
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        _plural(locale, count, unit)
        for count, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if count
    ]
    if _babel(locale):
        counted = [(n, u) for n, u in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if n]
        return locale_library.duration(counted or [(0, "second")], locale)
    if not parts:
        return _plural(locale, 0, "second")
    return f" {_loc(locale).conjunction} ".join(parts)


def ordinal(value: object, locale: str, gender: str = "m") -> str:
    """Ordinal numeral: en-US ``1st``, ``2nd``, ``11th``; pt-BR ``1º`` (``1ª`` for gender f)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SayAsError(f"ordinal: {value!r} is not a whole number")
    text = value.strip() if isinstance(value, str) else format(Decimal(value), "f")
    if not re.fullmatch(r"[0-9]+", text):
        raise SayAsError(f"ordinal: {value!r} is not a whole number >= 0")
    text = text.lstrip("0") or "0"  # stays a string: no int-from-string size limit
    if _babel(locale):
        return locale_library.ordinal(text, locale)  # es-MX: vigésimo segundo
    if _hand(locale) == "pt-BR":
        if gender not in ("m", "f"):
            raise SayAsError(f"ordinal: gender {gender!r} is not 'm' or 'f'")
        return text + ("ª" if gender == "f" else "º")
    last_two = int(text[-2:])
    suffix = "th" if last_two in (11, 12, 13) else _EN_SUFFIXES.get(last_two % 10, "th")
    return text + suffix


#: Filter name → function, for ``jinja2.Environment.filters`` (bind the locale when rendering).
FILTERS: dict[str, Callable[..., str]] = {
    "currency": currency,
    "date": date,
    "digits": digits,
    "duration": duration,
    "number": number,
    "ordinal": ordinal,
    "time": time,
}
