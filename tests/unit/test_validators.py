from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivrflow.model.validators import (
    BUILTIN,
    DATE_FORMATS,
    check_args,
    cnpj,
    cpf,
    date_check,
    in_range,
    luhn,
    mod11,
    regex,
)


def _luhn_check_digit(payload: str) -> str:
    """Textbook Luhn, written independently of the module under test."""
    total = 0
    for i, char in enumerate(reversed(payload)):
        d = int(char)
        if i % 2 == 0:  # doubled: the check digit will sit to the right
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _cpf_check_digits(body: str) -> str:
    """The Receita Federal formula: weights 10..2, then 11..2; (sum * 10) % 11, 10 -> 0."""
    first = sum(int(c) * w for c, w in zip(body, range(10, 1, -1), strict=True)) * 10 % 11 % 10
    body += str(first)
    second = sum(int(c) * w for c, w in zip(body, range(11, 1, -1), strict=True)) * 10 % 11 % 10
    return f"{first}{second}"


@pytest.mark.parametrize(
    "value", ["4111111111111111", "5555555555554444", "378282246310005", "79927398713", "18"]
)
def test_luhn_accepts(value: str) -> None:
    assert luhn(value)


@pytest.mark.parametrize(
    "value", ["4111111111111112", "79927398710", "0", "", "4111 1111 1111 1111", "abc", "１８"]
)
def test_luhn_rejects(value: str) -> None:
    assert not luhn(value)


@pytest.mark.parametrize("value", ["52998224725", "11144477735", "39053344705"])
def test_cpf_accepts(value: str) -> None:
    assert cpf(value)


@pytest.mark.parametrize(
    "value",
    [
        "52998224724",  # second check digit wrong
        "52998224735",  # first check digit wrong
        "11111111111",  # passes the arithmetic, never issued
        "00000000000",
        "5299822472",
        "529982247250",
        "529.982.247-25",  # the caller keys digits only
        "",
    ],
)
def test_cpf_rejects(value: str) -> None:
    assert not cpf(value)


@pytest.mark.parametrize("value", ["11222333000181", "33000167000101", "11444777000161"])
def test_cnpj_accepts(value: str) -> None:
    assert cnpj(value)
    # each CNPJ check digit is a plain mod-11 (weights 2..9) of what precedes it
    assert mod11(value[:-1])
    assert mod11(value)


@pytest.mark.parametrize(
    "value", ["11222333000180", "11222333000191", "00000000000000", "1122233300018", ""]
)
def test_cnpj_rejects(value: str) -> None:
    assert not cnpj(value)


def test_mod11() -> None:
    # 6*2 + 5*3 + 4*4 + 3*5 + 2*6 + 1*7 = 77, remainder 0 -> check digit 0
    assert mod11("1234560")
    assert not mod11("1234561")
    # 9*2 + 9*3 = 45, remainder 1 -> check digit 0 (not 10)
    assert mod11("990")
    # 1*2 = 2, remainder 2 -> 11 - 2 = 9
    assert mod11("19")
    # weights restart at 2 after 9: the 1 ninth from the right weighs 2, so 11 - 2 = 9
    assert mod11("1000000009")
    assert not mod11("1000000001")  # what a weight of 10 would give
    assert not mod11("1")
    assert not mod11("12a")


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("25122026", "DDMMYYYY", True),
        ("31022026", "DDMMYYYY", False),
        ("29022024", "DDMMYYYY", True),
        ("29022026", "DDMMYYYY", False),
        ("29021900", "DDMMYYYY", False),  # century rule
        ("29022000", "DDMMYYYY", True),
        ("31042026", "DDMMYYYY", False),
        ("00012026", "DDMMYYYY", False),
        ("01002026", "DDMMYYYY", False),
        ("01010000", "DDMMYYYY", False),
        ("20261225", "YYYYMMDD", True),
        ("20261325", "YYYYMMDD", False),
        ("1226", "MMYY", True),
        ("0026", "MMYY", False),
        ("1326", "MMYY", False),
        ("122026", "MMYYYY", True),
        ("290224", "DDMMYY", True),
        ("290225", "DDMMYY", False),
        ("2902", "DDMM", True),  # without a year, 29 Feb may exist
        ("3002", "DDMM", False),
        ("3104", "DDMM", False),
        ("251220", "DDMMYYYY", False),  # wrong length
        ("2512202a", "DDMMYYYY", False),
    ],
)
def test_date_check(value: str, fmt: str, expected: bool) -> None:
    assert date_check(value, fmt) is expected


@pytest.mark.parametrize("fmt", ["", "ddmmyyyy", "DDYYYY", "DDMMDD", "YYYYYY", "DD/MM", "X"])
def test_date_check_rejects_bad_formats(fmt: str) -> None:
    with pytest.raises(ValueError):
        date_check("01012026", fmt)
    assert check_args("date", [fmt]) is not None


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_listed_date_formats_are_valid(fmt: str) -> None:
    assert check_args("date", [fmt]) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("05", True), ("31", True), ("0", False), ("32", False), ("", False)],
)
def test_in_range(value: str, expected: bool) -> None:
    assert in_range(value, 1, 31) is expected


def test_in_range_edge_cases() -> None:
    assert not in_range("1a", 0, 100)
    assert not in_range("-1", -5, 5)  # DTMF has no minus sign
    assert not in_range("9" * 5000, 0, 10**6)  # beyond int() string limit, still an answer
    assert in_range("0" * 10 + "7", 7, 7)


def test_regex() -> None:
    assert regex("1234", r"[0-9]{4}")
    assert not regex("12345", r"[0-9]{4}")  # the whole value must match
    assert regex("*123#", r"\*[0-9]+#")


def test_builtin_registry() -> None:
    assert set(BUILTIN) == {"luhn", "cpf", "cnpj", "mod11", "date", "range", "regex"}
    for name, spec in BUILTIN.items():
        assert spec.name == name
        assert spec.description
        assert spec.arity == {"none": 0, "range": 2, "string": 1, "date_format": 1}[spec.kind]
    assert BUILTIN["luhn"].func("4111111111111111")
    assert BUILTIN["range"].func("12", 1, 31)
    assert BUILTIN["date"].func("25122026", "DDMMYYYY")
    assert BUILTIN["regex"].func("12", "[0-9]+")


@pytest.mark.parametrize(
    ("name", "args", "error"),
    [
        ("luhn", [], None),
        ("range", [1, 31], None),
        ("range", [5, 5], None),
        ("regex", ["[0-9]{4}"], None),
        ("date", ["DDMMYYYY"], None),
        ("lunh", [], "unknown validator 'lunh'"),
        ("cpf", ["x"], "validator 'cpf' takes no arguments, got 1: use valid cpf"),
        ("range", [1], "validator 'range' takes 2 arguments, got 1: use valid range 1..31"),
        ("range", [31, 1], "validator 'range': low 31 is greater than high 1"),
        ("range", ["1", 2], "validator 'range' needs whole numbers, got '1'"),
        ("range", [1, 2.5], "validator 'range' needs whole numbers, got 2.5"),
        ("range", [False, 2], "validator 'range' needs whole numbers, got False"),
        ("regex", [4], "validator 'regex' needs a quoted string, got 4"),
        (
            "regex",
            ["[0-9"],
            "validator 'regex': pattern '[0-9' does not compile: "
            "unterminated character set at position 0",
        ),
        ("date", ["DDYYYY"], "validator 'date': date format 'DDYYYY' has no month (MM)"),
        (
            "date",
            ["dd/mm"],
            "validator 'date': 'dd/mm' is not a date format: use DD, MM, YY and YYYY, "
            "e.g. 'DDMMYYYY'",
        ),
    ],
)
def test_check_args(name: str, args: list[object], error: str | None) -> None:
    assert check_args(name, args) == error


_payload = st.text(alphabet="0123456789", min_size=1, max_size=30)


@given(_payload)
def test_luhn_accepts_computed_check_digit(payload: str) -> None:
    assert luhn(payload + _luhn_check_digit(payload))


@given(_payload, st.data())
def test_luhn_rejects_any_single_digit_change(payload: str, data: st.DataObject) -> None:
    number = payload + _luhn_check_digit(payload)
    position = data.draw(st.integers(0, len(number) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not luhn(number[:position] + digit + number[position + 1 :])


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_cpf_accepts_computed_check_digits(body: str) -> None:
    value = body + _cpf_check_digits(body)
    assert cpf(value) is (len(set(value)) > 1)
