"""The expression evaluator: operator table, clock comparisons, phone numbers, bounds (issue 3).

Expressions are compiled from flow text (so the parser's precedence is part of what is tested)
or built from model nodes, then evaluated against a small fake scope.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections.abc import Container
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import ivrflow
from ivrflow import model
from ivrflow.runtime.evaluate import MAX_NUMBER, MAX_TEXT, EvaluationError, evaluate, truthy
from ivrflow.runtime.session import Session

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SAO_PAULO)  # a Tuesday


class Scope:
    def __init__(self, **variables: Any) -> None:
        self.vars: dict[str, Any] = {
            "ani": "+5511987654321",
            "dnis": "+551140040002",
            "x": 7,
            "y": 2.5,
            "s": "Segunda Via",
            "none_value": None,
            "items": ["a", "b"],
            "acct": {"balance": 10.5, "status": "late", "owner": {"name": "Ana"}},
            "now": NOW,
        }
        self.vars.update(variables)
        self.hours: dict[tuple[str, str], bool] = {("office", "open"): True}

    def variable(self, name: str) -> Any:
        if name not in self.vars:
            raise EvaluationError(f"'{name}' has no value yet")
        return self.vars[name]

    def number_list(self, name: str) -> Container[Any]:
        return frozenset({"+5511987654321", "+552130030001"})

    def hours_status(self, name: str, function: str) -> bool:
        return self.hours.get((name, function), False)


DECLARATIONS = """
flow expressions
  country BR
list vip ["+5511987654321"]
hours office:
  mon-fri 08:00-18:00
var x = 0
var y = 0
var s = ""
var none_value = 0
var items = 0
var acct = 0
var missing = 0
"""


def parse(text: str) -> model.Expression:
    """The compiled model expression of `text`."""
    source = textwrap.dedent(DECLARATIONS).lstrip("\n") + f"start:\n  set r = {text}\n  hangup\n"
    result = ivrflow.compile_file("t.ivr", text=source)
    assert result.flow is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
    stmt = result.flow.states["start"].body[0]  # type: ignore[union-attr]
    assert isinstance(stmt, model.Assign)
    return stmt.value


def ev(text: str, scope: Scope | None = None) -> Any:
    return evaluate(parse(text), scope or Scope())


def fails(text: str, match: str | None = None, scope: Scope | None = None) -> EvaluationError:
    with pytest.raises(EvaluationError, match=match) as info:
        ev(text, scope)
    return info.value


# ---------------------------------------------------------------- the operator table


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("7 / 2", 3.5),
        ("7 % 3", 1),
        ("-x + 10", 3),
        ("x * y", 17.5),
        ('"a" + "b"', "ab"),
        ('"n=" + x', "n=7"),
        ('x + "!"', "7!"),
        ('"v" + none_value', "v"),
        ('"t" + true', "ttrue"),
        ("1 == 1", True),
        ("1 == 1.0", True),
        ('"a" != "b"', True),
        ("x < 10", True),
        ("x <= 7", True),
        ("x > 7", False),
        ("x >= 7.0", True),
        ('"abc" < "abd"', True),
        ("none_value < 1", False),  # an unknown value is never larger or smaller
        ("none_value > 1", False),
        ("none_value == none", True),
        ("true and false", False),
        ("true or false", True),
        ("not x", False),
        ("not none_value", True),
        ("acct.balance", 10.5),
        ("acct.owner.name", "Ana"),
        ('acct.status in ["late", "overdue"]', True),
        ("3m", 180.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("50%", 50.0),
        ("2026-12-25", dt.date(2026, 12, 25)),
        ("08:30", dt.time(8, 30)),
        ("[1, x, s]", [1, 7, "Segunda Via"]),
    ],
)
def test_operators(text: str, value: Any) -> None:
    assert ev(text) == value


def test_and_or_short_circuit() -> None:
    assert ev("false and 1 / 0") is False
    assert ev("true or 1 / 0") is True
    assert ev("x > 100 and missing.field") is False


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1 / 0", "division by zero"),
        ("x % 0", "division by zero"),
        ("10 / (x - 7)", "division by zero"),
        ('"a" - 1', "needs numbers"),
        ('"a" * 3', "needs numbers"),
        ("true + 1", "cannot add"),
        ("items + 1", "cannot add"),
        ('-"a"', "cannot negate"),
        ('"a" < 1', "cannot compare"),
        ("items < 1", "cannot compare"),
        ("acct.missing", "no field 'missing'"),
        ("acct.owner.age", "'acct.owner' has no field 'age'"),
        ("s.length", "has no field"),
        ("x in 5", "'in' needs a list or text"),
        ("len(x)", "len"),
        ('x startswith "1"', "startswith"),
    ],
)
def test_type_errors_are_evaluation_errors(text: str, match: str) -> None:
    fails(text, match)


def test_a_variable_without_value_is_an_evaluation_error() -> None:
    scope = Scope()
    del scope.vars["x"]
    with pytest.raises(EvaluationError, match="'x'"):
        ev("x + 1", scope)


def test_evaluation_errors_are_runtime_errors() -> None:
    from ivrflow.errors import IvrflowError, IvrflowRuntimeError

    error = fails("1 / 0", "division")
    assert isinstance(error, IvrflowRuntimeError)
    assert isinstance(error, IvrflowError)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("len(s)", 11),
        ("len(items)", 2),
        ("len(none_value)", 0),
        ("lower(s)", "segunda via"),
        ("upper(s)", "SEGUNDA VIA"),
        ('number("12")', 12),
        ('number("12,5")', 12.5),
        ('number(" 3.25 ")', 3.25),
        ('number("abc")', None),
        ("number(x)", 7),
        ("text(x)", "7"),
        ("text(2.0)", "2"),
        ("text(true)", "true"),
        ("text(none_value)", ""),
    ],
)
def test_functions(text: str, value: Any) -> None:
    assert ev(text) == value


def test_hours_functions_ask_the_scope() -> None:
    scope = Scope()
    assert ev("open(office)", scope) is True
    assert ev("closed(office)", scope) is False
    scope.hours[("office", "open")] = False
    scope.hours[("office", "closed")] = True
    assert ev("not open(office)", scope) is True


def test_truthy() -> None:
    for value in (0, "", None, [], {}, False, 0.0):
        assert not truthy(value)
    for value in (1, "0", [0], {"a": 1}, True, 0.1):
        assert truthy(value)


# ---------------------------------------------------------------- the clock


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("now >= 10:00", True),
        ("now > 10:00", False),
        ("now < 08:00", False),
        ("now >= 08:00 and now < 18:00", True),
        ("08:00 <= now", True),
        ("now == 2026-11-24", True),
        ("now != 2026-11-25", True),
        ("now < 2026-12-25", True),
        ("now > 2026-11-23", True),
        ("2026-12-25 > now", True),
        ("now == 10:00", True),
        ("2026-11-24 == now", True),
    ],
)
def test_now_compares_with_times_and_dates(text: str, value: bool) -> None:
    assert ev(text) is value


def test_now_is_the_local_wall_clock() -> None:
    late = Scope(now=dt.datetime(2026, 11, 24, 23, 30, tzinfo=SAO_PAULO))
    assert ev("now > 23:00", late) is True
    assert ev("now == 2026-11-24", late) is True  # 02:30 UTC the next day, still the 24th here


def test_session_now_is_the_event_time_in_the_flow_zone() -> None:
    source = 'flow clock\n  timezone "America/Sao_Paulo"\nstart:\n  hangup\n'
    flow = ivrflow.compile_file("t.ivr", text=source).flow
    assert flow is not None
    at = dt.datetime(2026, 11, 25, 1, 30, tzinfo=dt.UTC).timestamp()
    session = Session(flow, call_id="c", ani=None, dnis=None, at=at)
    now = session.variable("now")
    assert now.hour == 22 and now.date() == dt.date(2026, 11, 24)
    assert evaluate(parse("now > 22:00"), session) is True
    assert evaluate(parse("now == 2026-11-24"), session) is True


# ---------------------------------------------------------------- phone numbers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('ani == "+55 11 98765-4321"', True),
        ('"+55 (11) 98765-4321" == ani', True),
        ('ani == "+5511987654320"', False),
        ('ani != "+55 11 98765-4321"', False),
        ('dnis == "+55 11 4004-0002"', True),
        ('"+abc" == "+abc"', True),  # not phone numbers: compared as text
        ('"+abc" == "+abd"', False),
        ('ani startswith "+5511"', True),
        ('ani startswith "+55 11"', True),
        ('ani startswith "+5521"', False),
        ('s startswith "Seg"', True),
        ('none_value startswith "+55"', False),
        ("ani in vip", True),
        ('"+5521999999999" in vip', False),
        ('ani matches "^\\\\+5511"', True),
        ('ani matches "^\\\\+5521"', False),
        ('none_value matches ".*"', False),
        ("ani is withheld", False),
        ("none_value is withheld", True),
        ("ani is not withheld", True),
    ],
)
def test_phone_numbers(text: str, value: bool) -> None:
    assert ev(text) is value


@pytest.mark.parametrize("ani", ["anonymous", "", "Restricted", None])
def test_withheld_values(ani: str | None) -> None:
    assert ev("ani is withheld", Scope(ani=ani)) is True


# ---------------------------------------------------------------- membership


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"a" in items', True),
        ('"c" in items', False),
        ('"c" not in items', True),
        ('"Via" in s', True),
        ('"via" in s', False),
        ("1 in s", False),  # a number is never inside a text
        ('"x" in none_value', False),
        ('"balance" in acct', True),  # a record's fields
        ("x in [1, 7, 9]", True),
        ("x not in [1, 7, 9]", False),
        ('s in ["Segunda Via", "Boleto"]', True),
    ],
)
def test_membership(text: str, value: bool) -> None:
    assert ev(text) is value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("none_value is empty", True),
        ('"" is empty', True),
        ("items is empty", False),
        ("items is not empty", True),
        ("[] is empty", True),
        ("0 is empty", False),
    ],
)
def test_is_empty(text: str, value: bool) -> None:
    assert ev(text) is value


# ---------------------------------------------------------------- bounds


def test_huge_numbers_are_errors() -> None:
    big = MAX_NUMBER
    fails(f"{big} * 10", "number too large")
    fails(f"{big} + {big}", "number too large")
    fails(f"-{big} - {big}", "number too large")
    fails("1 / 0.0000000000000001", "number too large")
    assert ev(f"{big} - 1") == big - 1


def test_repeated_multiplication_stops_at_the_bound() -> None:
    scope = Scope(x=10)
    expr = parse("x * x")
    value = 10
    with pytest.raises(EvaluationError, match="too large"):
        for _ in range(100):
            value = evaluate(expr, scope)
            scope.vars["x"] = value
    assert value <= MAX_NUMBER


def test_long_texts_are_errors() -> None:
    long_text = "x" * (MAX_TEXT // 2 + 1)
    scope = Scope(s=long_text)
    with pytest.raises(EvaluationError, match="text too long"):
        ev("s + s", scope)
    with pytest.raises(EvaluationError, match="text too long"):
        ev("s + s + 1", scope)
    assert len(ev('s + ""', scope)) == len(long_text)


def test_matches_on_a_huge_text_is_bounded() -> None:
    scope = Scope(s="a" * 1_000_000 + "!")
    assert ev('s matches "!"', scope) is False  # only the first MAX_TEXT characters are looked at


@pytest.mark.parametrize(
    "build",
    [
        lambda e, n: model.BinOp("+", e, model.Const(1)),
        lambda e, n: model.Not(e),
        lambda e, n: model.Neg(e),
        lambda e, n: model.BinOp("and", model.Const(True), e),
        lambda e, n: model.MakeList((e,)),
        lambda e, n: model.Call("len", (e,)),
        lambda e, n: model.Test("empty", e, n % 2 == 0),
        lambda e, n: model.Match(e, re.compile("x")),
    ],
)
@pytest.mark.parametrize("depth", [500, 5000, 50_000])
def test_deep_nesting_is_an_evaluation_error_not_a_crash(build: Any, depth: int) -> None:
    expr: model.Expression = model.Const(1)
    for n in range(depth):
        expr = build(expr, n)
    with pytest.raises(EvaluationError, match="nested too deeply"):
        evaluate(expr, Scope())


def test_nesting_within_the_limit_is_fine() -> None:
    expr: model.Expression = model.Const(0)
    for _ in range(150):
        expr = model.BinOp("+", expr, model.Const(1))
    assert evaluate(expr, Scope()) == 150


def test_a_long_list_is_an_error() -> None:
    expr = model.MakeList(tuple(model.Const(i) for i in range(20_000)))
    with pytest.raises(EvaluationError, match="list too long"):
        evaluate(expr, Scope())


def test_an_unknown_node_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError):
        evaluate(object(), Scope())  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["1" + " + 1" * 1000, "not " * 1000 + "x", "-" * 1000 + "1"])
def test_a_very_long_expression_is_a_diagnostic_not_a_crash(text: str) -> None:
    source = textwrap.dedent(DECLARATIONS).lstrip("\n") + f"start:\n  set r = {text}\n  hangup\n"
    result = ivrflow.compile_file("t.ivr", text=source)  # must not raise
    assert result.flow is None
    assert result.diagnostics


def test_a_deep_expression_in_a_flow_takes_the_error_path() -> None:
    source = (
        "flow deep\n  language en-US\nvar x = 0\nstart:\n"
        f'  set x = {"1" + " + 1" * 250}\n  hangup "done"\n'
    )
    result = ivrflow.compile_file("t.ivr", text=source)
    if result.flow is None:  # the compiler may refuse it: fine too
        assert result.diagnostics
        return
    session = Session(result.flow, call_id="c", ani=None, dnis=None, at=0.0)
    session.start()
    assert session.ended
    assert session.record is not None
    assert session.record["outcome"]["kind"] == "error"
    assert "nested too deeply" in session.record["outcome"]["reason"]
