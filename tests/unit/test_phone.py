from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ivrflow.model.phone import (
    CALLING_CODES,
    is_valid_country,
    is_withheld,
    matches_prefix,
    normalize,
)


@pytest.fixture(autouse=True, scope="module", params=["phonenumbers", "table"])
def numbering(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here runs with libphonenumber (the phone extra) and with the hand table."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "table":
            patch.setitem(sys.modules, "phonenumbers", None)  # import phonenumbers fails
        normalize.cache_clear()
        yield str(request.param)
    normalize.cache_clear()


@pytest.mark.parametrize(
    ("number", "country", "expected"),
    [
        # already international: keep the digits after "+"
        ("+55 11 98765-4321", None, "+5511987654321"),
        ("+1 (212) 555-0100", "BR", "+12125550100"),
        ("+44.20.7946.0958", None, "+442079460958"),
        # ITU "00" international prefix, with or without a country
        ("0055 11 98765 4321", None, "+5511987654321"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        # country-specific international prefixes
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("0011 61 2 9876 5432", "AU", "+61298765432"),
        ("010 44 20 7946 0958", "JP", "+442079460958"),
        # Brazil: trunk 0, optional carrier selection code, national without trunk
        ("011 98765-4321", "BR", "+5511987654321"),
        ("(11) 98765-4321", "BR", "+5511987654321"),
        ("0 21 11 98765-4321", "BR", "+5511987654321"),
        ("0 15 11 3222-1234", "BR", "+551132221234"),
        ("5511987654321", "BR", "+5511987654321"),
        ("5532221234", "BR", "+555532221234"),  # area code 55 (Santa Maria), not the country
        # NANP: 10 digits, or 11 with the leading 1
        ("(212) 555-0100", "US", "+12125550100"),
        ("1-212-555-0100", "US", "+12125550100"),
        ("416 555 0199", "CA", "+14165550199"),
        ("1234", "US", "1234"),  # an extension: left as digits
        # trunk prefix 0 elsewhere
        ("020 7946 0958", "GB", "+442079460958"),
        ("07700 900123", "GB", "+447700900123"),
        ("030 123456", "DE", "+4930123456"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("020 123 4567", "NL", "+31201234567"),
        ("02 9876 5432", "AU", "+61298765432"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("098765 43210", "IN", "+919876543210"),
        ("01 234 5678", "IE", "+35312345678"),
        ("011 4321-1234", "AR", "+541143211234"),
        # no trunk prefix: the national number is dialed whole (Italy keeps its 0)
        ("06 1234 5678", "IT", "+390612345678"),
        ("912 345 678", "PT", "+351912345678"),
        ("351 912 345 678", "PT", "+351912345678"),
        ("91 123 45 67", "ES", "+34911234567"),
        ("55 1234 5678", "MX", "+525512345678"),
        # lower-case and unknown countries
        ("020 7946 0958", "gb", "+442079460958"),
        ("020 7946 0958", "XX", "02079460958"),
        ("02079460958", None, "02079460958"),
        # URIs as SIP gateways hand them over
        ("sip:+5511987654321@10.0.0.1", None, "+5511987654321"),
        ("<sip:011987654321@pbx.example;user=phone>", "BR", "+5511987654321"),
        ("tel:+1-212-555-0100", None, "+12125550100"),
    ],
)
def test_normalize(number: str, country: str | None, expected: str) -> None:
    assert normalize(number, country) == expected


@pytest.mark.parametrize(
    "number",
    [
        None,
        "",
        "   ",
        "anonymous",
        "Anonymous",
        "UNKNOWN",
        "Restricted",
        "private",
        "unavailable",
        "Withheld",
        "sip:anonymous@anonymous.invalid",
        "+",
        "00",
        "()-.",
        "abc",
        "12ab34",
        "+55+11",
        "١٢٣",  # digits, but not ASCII ones
    ],
)
def test_no_usable_number(number: str | None) -> None:
    assert normalize(number) is None
    assert normalize(number, "BR") is None
    assert is_withheld(number)


def test_is_withheld_false_for_numbers() -> None:
    assert not is_withheld("+5511987654321")
    assert not is_withheld("1234")


@pytest.mark.parametrize(
    ("number", "prefix", "country", "expected"),
    [
        ("+5511987654321", "+55", None, True),
        ("+5511987654321", "0055 11", None, True),
        ("+5511987654321", "+5521", None, False),
        ("011987654321", "+5511", "BR", True),
        ("+5511987654321", "011", "BR", True),
        ("+5511987654321", "11", "BR", True),
        ("+5521987654321", "011", "BR", False),
        ("+12125550100", "212", "US", True),
        ("+12125550100", "1 212", "US", True),
        ("+12125550100", "+1 646", "US", False),
        ("+390612345678", "06", "IT", True),
        ("0800 123 4567", "0800", "GB", True),
        ("anonymous", "+55", None, False),
        ("+5511987654321", "", None, False),
        ("+5511987654321", "anonymous", None, False),
        (None, "+55", None, False),
    ],
)
def test_matches_prefix(
    number: str | None, prefix: str, country: str | None, expected: bool
) -> None:
    assert matches_prefix(number, prefix, country) is expected


def test_countries() -> None:
    for code in ("BR", "US", "GB", "PT", "DE", "FR", "ES", "IT", "MX", "AR", "IN", "AU", "CA"):
        assert is_valid_country(code)
    assert is_valid_country("br")
    assert not is_valid_country("XX")
    assert not is_valid_country("")
    assert CALLING_CODES["BR"] == "55"
    assert CALLING_CODES["US"] == CALLING_CODES["CA"] == "1"
    assert all(re.fullmatch(r"[1-9][0-9]{0,2}", code) for code in CALLING_CODES.values())


_countries = st.sampled_from([None, "XX", "br", *CALLING_CODES])
_phone_text = st.text(alphabet="0123456789+-(). ", max_size=20)


@given(st.one_of(_phone_text, st.text(max_size=20)), _countries)
def test_normalize_is_idempotent(number: str, country: str | None) -> None:
    once = normalize(number, country)
    assert normalize(once, country) == once
    assert once is None or re.fullmatch(r"\+?[0-9]+", once)
    if country is None:  # is_withheld knows no country: "011" is a prefix only in NANP
        assert is_withheld(number) is (once is None)


@given(st.text(alphabet="0123456789", min_size=4, max_size=14), _countries)
def test_a_number_matches_its_own_normal_form(digits: str, country: str | None) -> None:
    normal = normalize(digits, country)
    assume(normal is not None)  # e.g. a bare international prefix
    assert normal is not None
    assert matches_prefix(digits, normal, country)
