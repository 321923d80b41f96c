"""Checks on caller-entered digits (CED): check digits, dates, ranges, patterns.

A typo caught while the caller is still on the line costs one re-prompt; caught by the back end
it costs a transfer. Every validator is a pure ``(value, *args) -> bool`` over the digits as
keyed (ASCII ``0-9`` only: DTMF carries no letters or separators). `BUILTIN` describes them for
the compiler, which calls `check_args` once per use so bad arguments fail at compile time.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BUILTIN",
    "DATE_FORMATS",
    "ArgKind",
    "ValidatorSpec",
    "check_args",
    "cnpj",
    "cpf",
    "date_check",
    "in_range",
    "luhn",
    "mod11",
    "regex",
]

ArgKind = Literal["none", "range", "string", "date_format"]

_DIGITS = re.compile(r"[0-9]+")
_DATE_TOKENS = re.compile(r"YYYY|YY|MM|DD")

#: The date formats in common use on IVRs; `date_check` accepts any mix of DD, MM, YY, YYYY.
DATE_FORMATS: tuple[str, ...] = ("DDMMYYYY", "DDMMYY", "YYYYMMDD", "MMYYYY", "MMYY", "DDMM")


def _is_digits(value: str) -> bool:
    return _DIGITS.fullmatch(value) is not None


def luhn(value: str) -> bool:
    """Luhn (mod 10) check digit, as on payment cards and many account numbers."""
    if len(value) < 2 or not _is_digits(value):
        return False
    total = 0
    for position, char in enumerate(reversed(value)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _mod11_digit(digits: str, max_weight: int) -> int:
    """Check digit from weights 2, 3, … ``max_weight`` (then 2 again) from the right.

    Remainder 0 or 1 gives 0, otherwise ``11 - remainder``: the rule of CPF, CNPJ and most
    Brazilian bank accounts (the variant that maps 10 to "X", as in ISBN-10, cannot be keyed).
    """
    total = sum(
        int(char) * (2 + position % (max_weight - 1))
        for position, char in enumerate(reversed(digits))
    )
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def mod11(value: str) -> bool:
    """Last digit is the mod-11 check digit of the others, weights 2..9 cycling from the right.

    Remainder 0 or 1 gives check digit 0, otherwise ``11 - remainder`` (see `_mod11_digit`).
    """
    if len(value) < 2 or not _is_digits(value):
        return False
    return _mod11_digit(value[:-1], 9) == int(value[-1])


def _two_check_digits(value: str, length: int, max_weight: int) -> bool:
    if len(value) != length or not _is_digits(value) or len(set(value)) == 1:
        return False  # all-same-digit numbers pass the arithmetic but are never issued
    body = value[:-2]
    first = _mod11_digit(body, max_weight)
    second = _mod11_digit(body + str(first), max_weight)
    return value[-2:] == f"{first}{second}"


def cpf(value: str) -> bool:
    """Brazilian individual taxpayer number: 11 digits, two mod-11 check digits."""
    return _two_check_digits(value, 11, 11)


def cnpj(value: str) -> bool:
    """Brazilian company number: 14 digits, two mod-11 check digits (weights 2..9).

    Alphanumeric CNPJs (issued from July 2026) cannot be keyed on a phone pad.
    """
    return _two_check_digits(value, 14, 9)


def _date_fields(fmt: str) -> list[str] | str:
    """Split a date format into fields, or return why it is not one."""
    fields = _DATE_TOKENS.findall(fmt)
    if "".join(fields) != fmt:
        return f"'{fmt}' is not a date format: use DD, MM, YY and YYYY, e.g. 'DDMMYYYY'"
    years = [field for field in fields if field.startswith("Y")]
    if len(fields) != len(set(fields)) or len(years) > 1:
        return f"date format '{fmt}' repeats a field"
    if "MM" not in fields:
        return f"date format '{fmt}' has no month (MM)"
    return fields


def date_check(value: str, fmt: str) -> bool:
    """True when ``value`` is a real calendar date keyed as ``fmt`` (e.g. ``"DDMMYYYY"``).

    Two-digit years (``YY``) are read as 20YY; without a year, 29 February is accepted. Raises
    `ValueError` for a bad ``fmt``: the compiler rejects those through `check_args`.
    """
    fields = _date_fields(fmt)
    if isinstance(fields, str):
        raise ValueError(fields)
    if len(value) != len(fmt) or not _is_digits(value):
        return False
    parts: dict[str, int] = {}
    position = 0
    for field in fields:
        parts[field] = int(value[position : position + len(field)])
        position += len(field)
    year = parts.get("YYYY", 2000 + parts.get("YY", 0))  # 2000 is a leap year
    month = parts["MM"]
    day = parts.get("DD", 1)
    if not 1 <= year <= 9999 or not 1 <= month <= 12:
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def in_range(value: str, low: int, high: int) -> bool:
    """True when the digits, read as a whole number, lie within ``low..high`` inclusive."""
    if not _is_digits(value):
        return False
    try:
        number = int(value)
    except ValueError:  # longer than Python's int-from-string limit: far out of any range
        return False
    return low <= number <= high


def regex(value: str, pattern: str) -> bool:
    """True when the whole of ``value`` matches ``pattern`` (Python `re` syntax)."""
    return re.fullmatch(pattern, value) is not None


@dataclass(frozen=True, slots=True)
class ValidatorSpec:
    """What the compiler needs to know about a validator.

    ``kind`` says what extra arguments follow the value: none; ``range`` (two integers, low and
    high); ``string`` (a regular expression); ``date_format`` (a pattern like ``"DDMMYYYY"``).
    """

    name: str
    kind: ArgKind
    arity: int
    description: str
    func: Callable[..., bool]
    usage: str


BUILTIN: dict[str, ValidatorSpec] = {
    spec.name: spec
    for spec in (
        ValidatorSpec(
            "luhn",
            "none",
            0,
            "a card or account number with a Luhn check digit",
            luhn,
            "valid luhn",
        ),
        ValidatorSpec("cpf", "none", 0, "a Brazilian CPF (11 digits)", cpf, "valid cpf"),
        ValidatorSpec("cnpj", "none", 0, "a Brazilian CNPJ (14 digits)", cnpj, "valid cnpj"),
        ValidatorSpec(
            "mod11", "none", 0, "a number ending in a mod-11 check digit", mod11, "valid mod11"
        ),
        ValidatorSpec(
            "date",
            "date_format",
            1,
            "a real calendar date in the given format",
            date_check,
            'valid date "DDMMYYYY"',
        ),
        ValidatorSpec(
            "range", "range", 2, "a whole number from low to high", in_range, "valid range 1..31"
        ),
        ValidatorSpec(
            "regex",
            "string",
            1,
            "digits matching a regular expression",
            regex,
            'valid regex "[0-9]{4}"',
        ),
    )
}


def check_args(name: str, args: Sequence[object]) -> str | None:
    """Why ``args`` are wrong for validator ``name``, or ``None`` when they are fine."""
    spec = BUILTIN.get(name)
    if spec is None:
        return f"unknown validator '{name}'"
    if len(args) != spec.arity:
        wanted = {0: "no arguments", 1: "1 argument"}.get(spec.arity, f"{spec.arity} arguments")
        return f"validator '{name}' takes {wanted}, got {len(args)}: use {spec.usage}"
    if spec.kind == "range":
        low, high = args
        if not isinstance(low, int) or isinstance(low, bool):
            return f"validator 'range' needs whole numbers, got {low!r}"
        if not isinstance(high, int) or isinstance(high, bool):
            return f"validator 'range' needs whole numbers, got {high!r}"
        if low > high:
            return f"validator 'range': low {low} is greater than high {high}"
    elif spec.kind in ("string", "date_format"):
        (text,) = args
        if not isinstance(text, str):
            return f"validator '{name}' needs a quoted string, got {text!r}"
        if spec.kind == "date_format":
            fields = _date_fields(text)
            return f"validator 'date': {fields}" if isinstance(fields, str) else None
        try:
            re.compile(text)
        except re.error as exc:
            return f"validator 'regex': pattern '{text}' does not compile: {exc}"
    return None
