"""E.164 normalization of caller (ANI) and dialed (DNIS) numbers.

Gateways hand over the same number as ``+55 11 98765-4321``, ``011987654321`` or
``sip:5511987654321@pbx``; flows compare numbers, look them up in lists and offer callbacks, so
every number is first brought to one form. Pure work on strings, and garbage gives ``None``
rather than an exception, because caller ID is untrusted input.

With the ``phone`` extra (`phone_library`, libphonenumber's metadata) every country's numbers
are parsed, a ``+`` number must be possible for its country code (``+1555`` is not), and
`line_type` tells mobile from fixed lines. Without it the table of 16 countries below is used
and `line_type` says ``unknown``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import phone_library

__all__ = [
    "CALLING_CODES",
    "WITHHELD",
    "is_valid_country",
    "is_withheld",
    "line_type",
    "matches_prefix",
    "normalize",
]

#: ISO 3166 alpha-2 country → ITU calling code (without "+").
CALLING_CODES: dict[str, str] = {
    "AR": "54",
    "AU": "61",
    "BR": "55",
    "CA": "1",
    "DE": "49",
    "ES": "34",
    "FR": "33",
    "GB": "44",
    "IE": "353",
    "IN": "91",
    "IT": "39",
    "JP": "81",
    "MX": "52",
    "NL": "31",
    "PT": "351",
    "US": "1",
}

#: Caller-ID texts that mean "no number" (compared case-insensitively).
WITHHELD: frozenset[str] = frozenset(
    {"anonymous", "unknown", "restricted", "private", "unavailable", "withheld"}
)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a country's numbers are dialed, as far as normalization needs."""

    trunk: str  # national trunk prefix ("0"; "1" in NANP; "" when there is none)
    idd: str  # international prefix when it is not the ITU "00"
    nsn: tuple[int, int]  # shortest and longest national significant number


_PLANS: dict[str, _Plan] = {
    "AR": _Plan("0", "00", (10, 11)),
    "AU": _Plan("0", "0011", (9, 9)),
    "BR": _Plan("0", "00", (10, 11)),
    "CA": _Plan("1", "011", (10, 10)),
    "DE": _Plan("0", "00", (5, 13)),
    "ES": _Plan("", "00", (9, 9)),
    "FR": _Plan("0", "00", (9, 9)),
    "GB": _Plan("0", "00", (9, 10)),
    "IE": _Plan("0", "00", (7, 9)),
    "IN": _Plan("0", "00", (10, 10)),
    "IT": _Plan("", "00", (6, 11)),
    "JP": _Plan("0", "010", (9, 10)),
    "MX": _Plan("", "00", (10, 10)),
    "NL": _Plan("0", "00", (9, 9)),
    "PT": _Plan("", "00", (9, 9)),
    "US": _Plan("1", "011", (10, 10)),
}

_E164_MAX = 15
_SEPARATORS = re.compile(r"[\s\-.()/]+")
_DIALABLE = re.compile(r"\+?[0-9]+")
_URI = re.compile(r"<?(?:(?:sips?|tel):)?([^@;>]*)[^>]*>?", re.IGNORECASE)


def is_valid_country(code: str) -> bool:
    """True for the ISO 3166 alpha-2 codes in `CALLING_CODES` (any letter case), and with the
    ``phone`` extra for every region libphonenumber has a numbering plan for."""
    regions = phone_library.regions()
    return code.upper() in CALLING_CODES or (regions is not None and code.upper() in regions)


def _code_and_trunk(country: str) -> tuple[str, str] | None:
    """(calling code, national trunk prefix) of a country, from the table or the library."""
    plan = _PLANS.get(country)
    if plan is not None:
        return CALLING_CODES[country], plan.trunk
    return phone_library.code_and_trunk(country)


@lru_cache(maxsize=4096)  # pure, and the same DNIS (and often ANI) comes back all day
def normalize(number: str | None, country: str | None = None) -> str | None:
    """Return ``+<digits>`` when the number can be placed in E.164, else its bare digits.

    ``None`` means there is no number to use: withheld or unknown caller ID, or text that is
    not a phone number (with the ``phone`` extra, also an international number that cannot
    exist, like ``+1555``). An unknown ``country`` is ignored, as if none were given. Without a
    country only ``+`` and ``00`` numbers become E.164. Digits that could be read either way are
    read as already international (``5511987654321`` with ``BR``), except in countries without a
    trunk prefix (ES, IT, MX, PT), where the national reading wins. Brazil's ``00`` + carrier
    code international form is not recognized: ``00`` always starts the country code.
    """
    dialable = _dialable(number)
    if dialable is None:
        return None
    library = phone_library.available()
    plan_code = (country or "").upper()
    plan = _PLANS.get(plan_code)
    international = dialable if dialable.startswith("+") else None
    idds = (plan.idd, "00") if plan else ("00",)
    for idd in idds if international is None else ():
        if dialable.startswith(idd):
            rest = dialable[len(idd) :]
            if not rest:
                return None
            international = "+" + rest
            break
    if international is not None:
        if not library:
            return international
        return phone_library.possible_e164(international, None)  # None: +1555, +9991234
    if library and is_valid_country(plan_code):
        return phone_library.possible_e164(dialable, plan_code) or dialable
    if plan is None:
        return dialable
    return _national(dialable, plan_code, plan) or dialable


def line_type(number: str | None, country: str | None = None) -> str:
    """What kind of line a number is, for offers that need one (an SMS needs a mobile).

    With the ``phone`` extra: ``mobile``, ``fixed``, ``fixed_or_mobile`` (the plan cannot tell,
    as in North America), ``toll_free``, ``premium``, ``shared_cost``, ``voip``, ``personal``,
    ``pager``, ``uan``, ``voicemail``, or ``invalid`` for a number no operator has. ``unknown``
    without the extra, and for a withheld number or one without an E.164 form.
    """
    normalized = normalize(number, country)
    if normalized is None or not normalized.startswith("+"):
        return "unknown"
    return phone_library.line_type(normalized, None) or "unknown"


def is_withheld(number: str | None) -> bool:
    """True when caller ID gives no number to call back (withheld, unknown or unusable)."""
    return normalize(number) is None


def matches_prefix(number: str | None, prefix: str | None, country: str | None = None) -> bool:
    """True when ``number`` starts with ``prefix``, both normalized for ``country``.

    With a country, a prefix not written internationally is a national one (``011`` or ``11``
    in BR both mean ``+5511``), so routing tables can be written the way people dial. A number
    that has no E.164 form (an extension, a short code) is compared digit for digit with the
    prefix as written. A prefix without digits matches nothing.
    """
    normalized = normalize(number, country)
    if normalized is None:
        return False
    international = normalized.startswith("+")
    wanted = _normalize_prefix(prefix, country) if international else _dialable(prefix)
    return wanted is not None and normalized.startswith(wanted)


def _dialable(number: str | None) -> str | None:
    """Strip URI syntax and separators; ``None`` unless what is left is ``+?digits``."""
    if number is None:
        return None
    text = number.strip()
    match = _URI.fullmatch(text)
    if match is not None:
        text = match.group(1).strip()
    if text.lower() in WITHHELD:
        return None
    text = _SEPARATORS.sub("", text)
    if not _DIALABLE.fullmatch(text):
        return None
    return text


def _national(digits: str, country: str, plan: _Plan) -> str | None:
    """E.164 form of digits dialed inside ``country``, or ``None`` when they do not fit."""
    code = CALLING_CODES[country]
    low, high = plan.nsn
    if plan.trunk and digits.startswith(plan.trunk):
        nsn = digits[len(plan.trunk) :]
        if country == "BR" and len(nsn) in (high + 1, high + 2):
            nsn = nsn[2:]  # 0 + carrier selection code (CSP) + area code + number
        longest = high if plan.trunk == "1" else _E164_MAX - len(code)
        if low <= len(nsn) <= longest:
            return "+" + code + nsn
        return None
    as_national = "+" + code + digits if low <= len(digits) <= high else None
    rest = digits[len(code) :]
    as_international = (
        "+" + digits if digits.startswith(code) and low <= len(rest) <= high else None
    )
    if plan.trunk == "0":
        return as_international or as_national
    return as_national or as_international


def _normalize_prefix(prefix: str | None, country: str | None) -> str | None:
    """A prefix in E.164 form, by shape alone: a prefix is not a number, so it is never
    checked for being possible (``+55`` and national ``011`` are prefixes, not numbers)."""
    dialable = _dialable(prefix)
    if dialable is None:
        return None
    if dialable.startswith("+"):
        return dialable
    plan_code = (country or "").upper()
    plan = _PLANS.get(plan_code)
    for idd in (plan.idd, "00") if plan else ("00",):
        if dialable.startswith(idd):
            rest = dialable[len(idd) :]
            return "+" + rest if rest else None
    full = (_national(dialable, plan_code, plan) if plan else None) or dialable
    if full.startswith("+"):
        return full
    found = _code_and_trunk(plan_code)
    if found is None:
        return full
    code, trunk = found
    if trunk and full.startswith(trunk):
        full = full[len(trunk) :]
    return "+" + code + full
