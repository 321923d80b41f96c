"""Typed transfer destinations (issue 12, item 2): what is a number, a SIP URI, an extension,
and what is refused. The compiler and the runtime both use these rules."""

from __future__ import annotations

import pytest

from ivrflow.model.destinations import Destination, parse, postdial_problem


@pytest.mark.parametrize(
    ("text", "country", "address"),
    [
        ("+18005550100", None, "+18005550100"),
        ("+1 800 555-0100", None, "+18005550100"),
        ("(800) 555-0100", "US", "+18005550100"),
        ("(11) 4004-0000", "BR", "+551140040000"),
        ("tel:+551140040000", None, "+551140040000"),
    ],
)
def test_numbers_are_e164(text: str, country: str | None, address: str) -> None:
    assert parse("number", text, country) == Destination("number", address)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("sip:888@conference.example.org", "is a SIP URI, not a phone number"),
        ("1234*256", "is not a phone number (only digits, + and separators)"),
        ("1234", "not an E.164 number without a country"),
        ("alice@example.com", "is not a phone number"),
        ("", "no phone number to dial"),
        ("+1 800 555 0100 & PJSIP/evil", "is not a phone number"),
    ],
)
def test_what_is_not_a_number_says_why(text: str, why: str) -> None:
    problem = parse("number", text)
    assert isinstance(problem, str) and why in problem


def test_issue12_a_sip_uri_is_never_read_as_its_user_part() -> None:
    # Before typed destinations, phone normalization turned this into "888".
    assert parse("number", "sip:888@conference.example.org") != Destination("number", "888")
    assert parse("sip", "sip:888@conference.example.org") == Destination(
        "sip", "sip:888@conference.example.org"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "sip:alice@example.com",
        "sips:alice@example.com:5061;transport=tls",
        "sip:conference.example.org",
        "sip:+15551230000@[2001:db8::1]",
        "sip:888@127.0.0.1:5070",
    ],
)
def test_sip_uris_are_kept_as_written(uri: str) -> None:
    assert parse("sip", uri) == Destination("sip", uri)


@pytest.mark.parametrize(
    "uri",
    [
        "alice@example.com",
        "sip:alice@",
        "sip:alice@example.com,tT",
        "sip:a@b.com&PJSIP/other",
        "sip:${EVIL}@example.com",
        "sip:alice@example.com:70000",
        "sip:alice@example.com?Subject=x",
        "http://example.com",
    ],
)
def test_what_is_not_a_sip_uri_is_refused(uri: str) -> None:
    assert isinstance(parse("sip", uri), str)


@pytest.mark.parametrize(
    ("text", "address", "context"),
    [
        ("1234", "1234", None),
        ("1234@sales", "1234", "sales"),
        ("*98", "*98", None),
        ("1234*256", "1234*256", None),
        ("s@ivr-main", "s", "ivr-main"),
    ],
)
def test_extensions_with_an_optional_context(text: str, address: str, context: str | None) -> None:
    found = parse("extension", text)
    assert found == Destination("extension", address, context)
    assert isinstance(found, Destination) and found.text() == text


@pytest.mark.parametrize("text", ["12 34", "1234@", "1234@sa les", "_1XX", "1234,30", "a&b"])
def test_what_is_not_an_extension_is_refused(text: str) -> None:
    assert isinstance(parse("extension", text), str)


@pytest.mark.parametrize("value", [42, None, ["1234"]])
def test_a_value_that_is_not_text_is_no_destination(value: object) -> None:
    assert isinstance(parse("sip", value), str)


def test_postdial_keys() -> None:
    assert postdial_problem("ww256#") is None
    assert postdial_problem("12 3") is not None
    assert postdial_problem("D(1)") is not None
    assert postdial_problem(None) is not None
