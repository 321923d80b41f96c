from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2.sandbox import SandboxedEnvironment

from ivrflow.model.sayas import (
    FILTERS,
    SayAsError,
    currency,
    date,
    digits,
    duration,
    number,
    ordinal,
    resolve_locale,
    supported_locales,
    time,
)

EN, PT = "en-US", "pt-BR"


@pytest.fixture(autouse=True, scope="module", params=["babel", "tables"])
def rules(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here runs with Babel (the locales extra) and without it: en-US and pt-BR
    are the built-in rules either way."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "tables":
            patch.setitem(sys.modules, "babel", None)
        else:
            pytest.importorskip("babel", reason="the locales extra (ivrflow[locales])")
        yield str(request.param)


@pytest.mark.usefixtures("rules")
def test_locales_without_babel(rules: str) -> None:
    if rules != "tables":
        pytest.skip("the fallback without Babel")
    assert supported_locales() == (EN, PT)
    assert resolve_locale("pt-BR") == PT
    assert resolve_locale("pt_br") == PT
    assert resolve_locale("pt") == PT
    assert resolve_locale("pt-PT") == PT  # same language first
    assert resolve_locale("en-GB") == EN
    assert resolve_locale("es-ES") == EN  # then en-US
    assert resolve_locale("") == EN
    assert date("2026-12-25", "es-MX") == "December 25, 2026"


def test_locales_with_babel(rules: str) -> None:
    if rules != "babel":
        pytest.skip("Babel's locales")
    assert supported_locales() == (EN, PT)
    assert resolve_locale("pt_br") == PT  # the built-in rules win
    assert resolve_locale("pt-PT") == "pt-PT"
    assert resolve_locale("es_MX") == "es-MX"
    assert resolve_locale("qq-QQ") == EN  # unknown to Babel too
    assert resolve_locale("es") == EN  # a language alone has no region's rules


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        # issue 16 item 7: an es-MX flow said "December 25" and "$1,234.50" the US way
        (lambda: date("2026-12-25", "es-MX"), "25 de diciembre de 2026"),
        (lambda: currency(1234.5, "es-MX"), "$1,234.50"),  # pesos, written as in Mexico
        (lambda: currency(1234.5, "es-MX", "USD"), "USD1,234.50"),  # CLDR: no space
        (lambda: currency(1234.5, "de-DE"), "1.234,50\xa0€"),
        (lambda: currency(1234.567, "ja-JP"), "￥1,235"),  # no minor unit
        (lambda: currency(-2.5, "es-ES"), "-2,50\xa0€"),
        (lambda: number(1234567.5, "hi-IN"), "12,34,567.5"),
        (lambda: number(2, "es-MX", 2), "2.00"),
        (lambda: number("0.10", "de-DE"), "0,1"),
        (lambda: time("14:30", "es-MX"), "2:30\u202fp.m."),
        (lambda: time("14:30", "de-DE"), "14:30"),
        (lambda: duration(3900, "es-MX"), "1 hora y 5 minutos"),
        (lambda: duration(0, "fr-FR"), "0\xa0seconde"),
        (lambda: ordinal(22, "es-MX"), "vigésimo segundo"),
        (lambda: ordinal(1, "en-GB"), "first"),
        # the built-in rules are kept for en-US and pt-BR
        (lambda: time("14:30", "pt-BR"), "14h30"),
        (lambda: date("2026-05-01", "pt-BR"), "1º de maio de 2026"),
        (lambda: ordinal(22, "en-US"), "22nd"),
    ],
)
def test_babel_formats(rules: str, call: object, expected: str) -> None:
    if rules != "babel":
        pytest.skip("Babel's locales")
    assert call() == expected  # type: ignore[operator]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1234", "1 2 3 4"), (1234, "1 2 3 4"), ("12-34", "1 2 3 4"), ("*72#", "* 7 2 #"), ("0", "0")],
)
def test_digits(value: str | int, expected: str) -> None:
    assert digits(value, EN) == expected
    assert digits(value, PT) == expected


@pytest.mark.parametrize(
    ("value", "en", "pt"),
    [
        (1234.5, "1,234.5", "1.234,5"),
        ("1234.50", "1,234.5", "1.234,5"),
        (Decimal("1234567.125"), "1,234,567.125", "1.234.567,125"),
        (-1234, "-1,234", "-1.234"),
        (12, "12", "12"),
        (999, "999", "999"),
        (1000, "1,000", "1.000"),
        (Decimal("1E+6"), "1,000,000", "1.000.000"),
        ("12.00", "12", "12"),
        (".5", "0.5", "0,5"),
        (0.1, "0.1", "0,1"),
        (Decimal("-0"), "0", "0"),
    ],
)
def test_number(value: object, en: str, pt: str) -> None:
    assert number(value, EN) == en
    assert number(value, PT) == pt


def test_number_places() -> None:
    assert number(2.5, EN, 0) == "3"  # half up, not banker's rounding
    assert number(1234.5, PT, 2) == "1.234,50"
    assert number(-0.004, EN, 2) == "0.00"
    with pytest.raises(SayAsError, match="places"):
        number(1, EN, -1)


@pytest.mark.parametrize(
    ("value", "code", "en", "pt"),
    [
        (1234.5, None, "$1,234.50", "R$ 1.234,50"),
        (Decimal("1234.5"), None, "$1,234.50", "R$ 1.234,50"),
        ("1234.5", None, "$1,234.50", "R$ 1.234,50"),
        (1234, None, "$1,234.00", "R$ 1.234,00"),
        (-1234.5, None, "-$1,234.50", "-R$ 1.234,50"),
        (0.005, None, "$0.01", "R$ 0,01"),  # half up
        (-0.001, None, "$0.00", "R$ 0,00"),  # no negative zero
        (1234.5, "BRL", "R$1,234.50", "R$ 1.234,50"),
        (1234.5, "usd", "$1,234.50", "US$ 1.234,50"),
        (5, "EUR", "€5.00", "€ 5,00"),
        (1500, "JPY", "¥1,500", "JP¥ 1.500"),
        (3, "ARS", "ARS 3.00", "ARS 3,00"),
    ],
)
def test_currency(value: object, code: str | None, en: str, pt: str) -> None:
    assert currency(value, EN, code) == en
    assert currency(value, PT, code) == pt


_MONTHS_EN = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_MONTHS_PT = [
    "janeiro", "fevereiro", "março", "abril", "maio", "junho",
    "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
]  # fmt: skip


@pytest.mark.parametrize("month", range(1, 13))
def test_date_month_names(month: int) -> None:
    day = dt.date(2026, month, 15)
    assert date(day, EN) == f"{_MONTHS_EN[month - 1]} 15, 2026"
    assert date(day, PT) == f"15 de {_MONTHS_PT[month - 1]} de 2026"


@pytest.mark.parametrize(
    ("value", "en", "pt"),
    [
        ("2026-12-25", "December 25, 2026", "25 de dezembro de 2026"),
        (dt.date(2026, 12, 25), "December 25, 2026", "25 de dezembro de 2026"),
        (dt.datetime(2026, 12, 25, 23, 59), "December 25, 2026", "25 de dezembro de 2026"),
        ("2026-12-25T10:00:00", "December 25, 2026", "25 de dezembro de 2026"),
        ("2026-05-01", "May 1, 2026", "1º de maio de 2026"),
        ("2024-02-29", "February 29, 2024", "29 de fevereiro de 2024"),
    ],
)
def test_date(value: object, en: str, pt: str) -> None:
    assert date(value, EN) == en
    assert date(value, PT) == pt


@pytest.mark.parametrize(
    ("value", "en", "pt"),
    [
        ("14:30", "2:30 PM", "14h30"),
        (dt.time(14, 30), "2:30 PM", "14h30"),
        (dt.datetime(2026, 3, 8, 14, 30), "2:30 PM", "14h30"),
        ("14:00", "2:00 PM", "14 horas"),
        ("9:05", "9:05 AM", "9h05"),
        ("09:05:59", "9:05 AM", "9h05"),
        ("00:15", "12:15 AM", "0h15"),
        ("12:00", "12:00 PM", "12 horas"),
        ("01:00", "1:00 AM", "1 hora"),
        ("23:59", "11:59 PM", "23h59"),
    ],
)
def test_time(value: object, en: str, pt: str) -> None:
    assert time(value, EN) == en
    assert time(value, PT) == pt


@pytest.mark.parametrize(
    ("value", "en", "pt"),
    [
        (0, "0 seconds", "0 segundo"),  # CLDR: pt "one" covers 0 and 1
        (1, "1 second", "1 segundo"),
        (45, "45 seconds", "45 segundos"),
        (45.4, "45 seconds", "45 segundos"),
        (59.5, "1 minute", "1 minuto"),
        (60, "1 minute", "1 minuto"),
        (90, "1 minute and 30 seconds", "1 minuto e 30 segundos"),
        (119, "1 minute and 59 seconds", "1 minuto e 59 segundos"),
        (125, "2 minutes", "2 minutos"),  # whole minutes from 2 minutes up
        (150, "3 minutes", "3 minutos"),
        (180, "3 minutes", "3 minutos"),
        (3600, "1 hour", "1 hora"),
        (3900, "1 hour and 5 minutes", "1 hora e 5 minutos"),
        (7290, "2 hours and 2 minutes", "2 horas e 2 minutos"),
        (Decimal("61"), "1 minute and 1 second", "1 minuto e 1 segundo"),
        (dt.timedelta(minutes=3, seconds=10), "3 minutes", "3 minutos"),
        (dt.timedelta(seconds=30), "30 seconds", "30 segundos"),
    ],
)
def test_duration(value: object, en: str, pt: str) -> None:
    assert duration(value, EN) == en
    assert duration(value, PT) == pt


@pytest.mark.parametrize(
    ("value", "en"),
    [
        (1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
        (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"), (101, "101st"),
        (111, "111th"), (112, "112th"), (0, "0th"), ("3", "3rd"), ("007", "7th"),
    ],
)  # fmt: skip
def test_ordinal_en(value: int | str, en: str) -> None:
    assert ordinal(value, EN) == en


def test_ordinal_pt() -> None:
    assert ordinal(1, PT) == "1º"
    assert ordinal(2, PT, "f") == "2ª"
    assert ordinal("11", PT) == "11º"
    with pytest.raises(SayAsError, match="gender"):
        ordinal(1, PT, "x")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: currency("abc", EN), "currency: 'abc' is not a number"),
        (lambda: currency("1,234.50", EN), "currency: '1,234.50' is not a number"),
        (lambda: currency(1, EN, "dollars"), "currency: 'dollars' is not an ISO 4217"),
        (lambda: currency(float("inf"), EN), "currency: inf is not a number"),
        (lambda: number(None, EN), "number: None is not a number"),
        (lambda: number(True, EN), "number: True is not a number"),
        (lambda: number("NaN", EN), "number: 'NaN' is not a number"),
        (lambda: number(float("nan"), PT), "number: nan is not a number"),
        (lambda: digits("", EN), "digits: '' has no digits"),
        (lambda: digits(None, EN), "digits: None is not a string of digits"),  # type: ignore[arg-type]
        (lambda: date("2026-02-30", PT), "date: '2026-02-30' is not a date"),
        (lambda: date("25/12/2026", EN), "date: '25/12/2026' is not a date"),
        (lambda: date(20261225, EN), "date: 20261225 is not a date"),
        (lambda: time("24:00", EN), "time: '24:00' is not a time of day"),
        (lambda: time("2pm", EN), "time: '2pm' is not a time of day"),
        (lambda: duration(-1, EN), "duration: -1 is negative"),
        (lambda: duration("60", EN), "duration: '60' is not a number of seconds"),
        (lambda: duration(True, EN), "duration: True is not a number of seconds"),
        (lambda: duration(float("nan"), EN), "duration: nan is not a number"),
        (lambda: duration(Decimal("1E+16"), EN), "duration: .* is too long to say"),
        (lambda: ordinal(-1, EN), "ordinal: -1 is not a whole number"),
        (lambda: ordinal(1.5, EN), "ordinal: 1.5 is not a whole number"),
        (lambda: resolve_locale(None), "locale None is not a string"),  # type: ignore[arg-type]
    ],
)
def test_bad_values_raise_sayas_error(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(SayAsError, match=message):
        call()


def test_sayas_error_is_a_value_error() -> None:
    assert issubclass(SayAsError, ValueError)


def test_filters_in_a_sandboxed_jinja_environment() -> None:
    env = SandboxedEnvironment()
    env.filters.update(FILTERS)
    assert set(FILTERS) == {"digits", "number", "currency", "date", "time", "duration", "ordinal"}
    template = env.from_string(
        "Seu saldo é {{ balance|currency(lang) }}, vencimento {{ due|date(lang) }}; "
        "espera de {{ ewt|duration(lang) }}."
    )
    text = template.render(balance=1234.5, due="2026-12-25", ewt=185, lang=PT)
    assert (
        text == "Seu saldo é R$ 1.234,50, vencimento 25 de dezembro de 2026; espera de 3 minutos."
    )


def test_huge_values_are_said_or_refused_cleanly() -> None:
    assert digits(10**5000, EN).startswith("1 0 0")  # past int-to-str's size limit
    assert ordinal(10**5000, EN).endswith("00th")
    assert number("9" * 5000, EN).replace(",", "") == "9" * 5000
    assert currency(Decimal("1E+40"), PT).startswith("R$ 10.000")


@given(st.text(max_size=40))
def test_digits_says_exactly_the_keys(value: str) -> None:
    keys = [char for char in value if char in "0123456789*#"]
    if not keys:
        with pytest.raises(SayAsError):
            digits(value, EN)
        return
    spoken = digits(value, EN)
    assert spoken.split(" ") == keys
    assert [char for char in spoken if char.isdigit()] == [k for k in keys if k.isdigit()]


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3))
def test_number_round_trips(value: Decimal) -> None:
    en = number(value, EN)
    pt = number(value, PT)
    assert Decimal(en.replace(",", "")) == value
    assert Decimal(pt.replace(".", "").replace(",", ".")) == value


def test_an_es_mx_flow_speaks_the_mexican_way(rules: str) -> None:
    """Issue 16 item 7: the docs' es-MX example says the date and the pesos as in Mexico,
    with the locales extra; without it, the en-US way (and check says W209)."""
    from pathlib import Path

    from ivrflow import compile_file
    from ivrflow.tools.testing import Call

    text = (Path(__file__).resolve().parents[2] / "docs/language.md").read_text()
    block = next(b for b in text.split("```ivr\n") if b.startswith("flow recordatorio "))
    result = compile_file("recordatorio.ivr", block.split("```", 1)[0])
    assert result.flow is not None, result.diagnostics
    call = Call(result.flow)
    call.start()
    warnings = [d.code for d in result.diagnostics]
    if rules == "babel":
        assert call.said() == "Su saldo es de $1,234.50 y vence el 25 de diciembre de 2026."
        assert "W209" not in warnings
    else:
        assert call.said() == "Su saldo es de $1,234.50 y vence el December 25, 2026."
        assert "W209" in warnings
