"""libphonenumber's rules (the `phonenumbers` package, extra ``ivrflow[phone]``), when installed.

The only module that imports `phonenumbers`. It parses numbers of every country, tells a number
that can exist (the right length for its country code) from one that is assigned (valid), and
reads the line type from the numbering plan. When the package is missing every function says
so by returning ``None``, and `ivrflow.model.phone` falls back to its own table of 16 countries.
Caller ID is untrusted input: nothing here raises on garbage.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "LINE_TYPES",
    "MISSING",
    "available",
    "code_and_trunk",
    "line_type",
    "possible_e164",
    "regions",
]

MISSING = (
    "phone numbers of every country, their validation and line type need phonenumbers: "
    "install ivrflow[phone]"
)

#: libphonenumber's PhoneNumberType names → the words flows compare with.
LINE_TYPES: dict[str, str] = {
    "FIXED_LINE": "fixed",
    "MOBILE": "mobile",
    "FIXED_LINE_OR_MOBILE": "fixed_or_mobile",
    "TOLL_FREE": "toll_free",
    "PREMIUM_RATE": "premium",
    "SHARED_COST": "shared_cost",
    "VOIP": "voip",
    "PERSONAL_NUMBER": "personal",
    "PAGER": "pager",
    "UAN": "uan",
    "VOICEMAIL": "voicemail",
}


def _library() -> ModuleType | None:
    """The `phonenumbers` module, or None when it is not installed (imported on each call:
    Python keeps it in `sys.modules`, and tests can hide it by setting that entry to None)."""
    try:
        return importlib.import_module("phonenumbers")
    except ImportError:
        return None


def available() -> bool:
    return _library() is not None


def regions() -> frozenset[str] | None:
    """ISO 3166 codes the library has a numbering plan for; None without the library."""
    library = _library()
    if library is None:
        return None
    return frozenset(str(region) for region in library.SUPPORTED_REGIONS)


def code_and_trunk(country: str) -> tuple[str, str] | None:
    """(calling code, national trunk prefix) of a region; None without the library or plan."""
    library = _library()
    if library is None or country not in library.SUPPORTED_REGIONS:
        return None
    code = library.country_code_for_region(country)
    trunk = library.ndd_prefix_for_region(country, True) or ""
    return str(code), str(trunk)


def _parse(library: ModuleType, number: str, country: str | None) -> object | None:
    try:
        parsed: object = library.parse(number, (country or "").upper() or None)
        return parsed
    except library.NumberParseException:
        return None
    except (ValueError, TypeError, IndexError):  # defensive: caller ID is untrusted
        return None


def possible_e164(number: str, country: str | None) -> str | None:
    """The E.164 form of ``+digits`` or national digits when the number can exist for its
    country code (its length and code are right), else None; None too without the library.

    Possible, not valid: ``+1 555 555 0100`` has the length of a US number, so it is kept
    (test lines and fictional numbers use such ranges); ``+1555`` and ``+9991234`` are not.
    """
    library = _library()
    if library is None:
        return None
    parsed = _parse(library, number, country)
    if parsed is None or not library.is_possible_number(parsed):
        return None
    return str(library.format_number(parsed, library.PhoneNumberFormat.E164))


def line_type(number: str, country: str | None) -> str | None:
    """``mobile``, ``fixed``, ``fixed_or_mobile`` (NANP cannot tell), ``toll_free``, … for a valid
    number; ``invalid`` for one that is not assigned; None without the library."""
    library = _library()
    if library is None:
        return None
    parsed = _parse(library, number, country)
    if parsed is None or not library.is_valid_number(parsed):
        return "invalid"
    kind = library.number_type(parsed)
    for name, word in LINE_TYPES.items():
        if kind == getattr(library.PhoneNumberType, name):
            return word
    return "invalid"
