"""Phone numbers with the phone extra (libphonenumber) and without it (the hand table).

Issue 16 item 7: the table knew 16 countries, took ``+1555`` and ``+9991234`` for E.164 numbers
and could not tell a mobile from a fixed line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivrflow import compile_file
from ivrflow.model import phone, phone_library
from ivrflow.tools.testing import Call


@pytest.fixture
def without_library(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(sys.modules, "phonenumbers", None)
    phone.normalize.cache_clear()
    yield
    phone.normalize.cache_clear()


@pytest.fixture
def with_library() -> Iterator[None]:
    pytest.importorskip("phonenumbers", reason="the phone extra (ivrflow[phone]) is needed")
    phone.normalize.cache_clear()
    yield
    phone.normalize.cache_clear()


@pytest.mark.usefixtures("with_library")
class TestWithPhonenumbers:
    @pytest.mark.parametrize("number", ["+1555", "+9991234", "00999 1234"])
    def test_impossible_international_numbers_are_no_number(self, number: str) -> None:
        assert phone.normalize(number) is None
        assert phone.is_withheld(number)
        assert phone.line_type(number) == "unknown"

    def test_fictional_but_possible_numbers_are_kept(self) -> None:
        assert phone.normalize("+1 555 555 0100") == "+15555550100"
        assert phone.line_type("+1 555 555 0100") == "invalid"

    @pytest.mark.parametrize(
        ("number", "country", "expected"),
        [
            ("+55 11 98765-4321", None, "mobile"),
            ("(11) 3456-7890", "BR", "fixed"),
            ("+44 20 7946 0000", None, "fixed"),
            ("0800 123 4567", "GB", "toll_free"),
            ("+1 415 555 0100", None, "fixed_or_mobile"),
            ("300 123 4567", "CO", "mobile"),
            ("anonymous", None, "unknown"),
            (None, None, "unknown"),
        ],
    )
    def test_line_type(self, number: str | None, country: str | None, expected: str) -> None:
        assert phone.line_type(number, country) == expected

    def test_countries_beyond_the_table(self) -> None:
        assert "CO" not in phone.CALLING_CODES
        assert phone.is_valid_country("co")
        assert phone.normalize("300 123 4567", "CO") == "+573001234567"
        assert phone.matches_prefix("+573001234567", "300", "CO")
        assert not phone.is_valid_country("ZZ")


@pytest.mark.usefixtures("without_library")
class TestWithoutPhonenumbers:
    def test_the_table_is_the_fallback(self) -> None:
        assert not phone_library.available()
        assert phone_library.regions() is None
        assert phone.normalize("+1555") == "+1555"  # the table cannot tell
        assert phone.normalize("(11) 98765-4321", "BR") == "+5511987654321"

    def test_line_type_is_unknown(self) -> None:
        assert phone.line_type("+55 11 98765-4321") == "unknown"

    def test_a_country_outside_the_table_names_the_extra(self) -> None:
        result = compile_file("f.ivr", 'flow f "F"\n  country CO\n\nstart:\n  hangup\n')
        (diagnostic,) = [d for d in result.diagnostics if d.code == "E121"]
        assert "ivrflow[phone]" in (diagnostic.hint or "")


@pytest.mark.usefixtures("with_library")
def test_a_country_outside_the_table_compiles_with_the_extra() -> None:
    result = compile_file("f.ivr", 'flow f "F"\n  country CO\n\nstart:\n  hangup\n')
    assert result.flow is not None and result.flow.settings.country == "CO"


def _docs_flow(name: str) -> str:
    """The ```ivr example of docs/language.md whose flow is `name`."""
    text = (Path(__file__).resolve().parents[2] / "docs/language.md").read_text()
    for block in text.split("```ivr\n")[1:]:
        body = block.split("```", 1)[0]
        if body.startswith(f"flow {name} "):
            return body
    raise AssertionError(f"docs/language.md has no flow {name}")


def _sms_offer(ani: str) -> str:
    result = compile_file("sms_offer.ivr", _docs_flow("sms_offer"))
    assert result.flow is not None, result.diagnostics
    call = Call(result.flow, ani=ani)
    call.start()
    return call.said()


@pytest.mark.usefixtures("with_library")
def test_the_sms_offer_is_made_to_mobiles_only() -> None:
    assert "text message" in _sms_offer("+55 11 98765-4321")
    assert "text message" in _sms_offer("(11) 98765-4321")  # national, read in BR
    assert "text message" not in _sms_offer("+55 11 3456-7890")  # a fixed line
    assert "text message" not in _sms_offer("anonymous")


@pytest.mark.usefixtures("without_library")
def test_without_the_extra_no_number_gets_the_sms_offer() -> None:
    assert "text message" not in _sms_offer("+55 11 98765-4321")
