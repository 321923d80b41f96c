"""Hostile flow expressions: nothing a flow or a caller does exhausts memory or CPU."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ivrflow import model
from ivrflow.compiler import compile_file
from ivrflow.runtime import evaluate
from ivrflow.tools.testing import Call

pytestmark = pytest.mark.abuse

# Every press of 1 runs `double`, which makes a list of the list twice.
DOUBLING = """
flow doubling "A list that doubles per key press"
  timeout 5s, retries 2

var l = []
var s = "ab"

start:
  -> grow

menu grow:
  say "Press 1 to grow."
  1 -> double
  exhausted -> bye

step double:
  {grow}
  -> grow

step bye:
  hangup
"""


def call_of(tmp_path: Path, grow: str = "set l = [l, l]") -> Call:
    path = tmp_path / "doubling.ivr"
    path.write_text(DOUBLING.replace("{grow}", grow), encoding="utf-8")
    return Call.open(path)


def test_regression_a_list_doubled_per_key_press_is_bounded(tmp_path: Path) -> None:
    """Before: each press doubled the list's real size; after 22 presses one snapshot
    took 23 s and 50 MB (a caller could take a worker down with the keypad)."""
    call = call_of(tmp_path)
    began = time.perf_counter()
    for _ in range(40):
        call.press("1")
        if call.ended:
            break
        assert len(json.dumps(call.session.to_dict())) < 2_000_000
    assert call.ended
    assert call.outcome is not None and call.outcome["kind"] == "error"
    assert "list too long" in call.outcome["reason"]
    assert time.perf_counter() - began < 10


def test_a_text_doubled_per_key_press_is_bounded(tmp_path: Path) -> None:
    call = call_of(tmp_path, "set s = s + s")
    for _ in range(40):
        call.press("1")
        if call.ended:
            break
    assert call.outcome is not None and "text too long" in call.outcome["reason"]


class _Scope:
    def __init__(self, **values: object) -> None:
        self.values = values

    def variable(self, name: str) -> object:
        return self.values[name]

    def number_list(self, name: str) -> object:
        return ()

    def hours_status(self, name: str, function: str) -> bool:
        return False


def call_expr(function: str, value: object) -> object:
    expr = model.Call(function, (model.Var("x", ()),))
    return evaluate.evaluate(expr, _Scope(x=value))


@pytest.mark.parametrize("text", ["9" * 1000, "1" + "0" * 16, "1" + "0" * 300 + ".5"])
def test_number_of_a_huge_input_is_refused(text: str) -> None:
    with pytest.raises(evaluate.EvaluationError, match="too large"):
        call_expr("number", text)


def test_number_of_garbage_is_none_not_an_error() -> None:
    assert call_expr("number", "nan") is None
    assert call_expr("number", "abc") is None
    assert call_expr("number", "1e999") is None  # not how a number is written here
    assert call_expr("number", "12,5") == 12.5


@pytest.mark.parametrize("function", ["text", "upper", "lower"])
def test_text_functions_of_huge_host_data_are_refused(function: str) -> None:
    with pytest.raises(evaluate.EvaluationError, match="text too long"):
        call_expr(function, {"blob": "x" * 20_000})


def test_multiplying_past_the_bound_is_refused() -> None:
    big = model.Const(10**14)
    expr = model.BinOp("*", big, big)
    with pytest.raises(evaluate.EvaluationError, match="number too large"):
        evaluate.evaluate(expr, _Scope())


def test_regression_a_huge_number_literal_is_a_diagnostic_not_a_crash() -> None:
    """Before: a 5000-digit literal crashed the compiler with Python's int() ValueError."""
    text = 'flow big "b"\n\nvar n = ' + "9" * 5000 + "\n\nstart:\n  hangup\n"
    result = compile_file("big.ivr", text)
    assert result.flow is None
    assert [d.code for d in result.errors] == ["E149"]
    assert "number too large" in result.errors[0].message
    ok = compile_file("ok.ivr", 'flow ok "o"\n\nvar n = 999999999999999\n\nstart:\n  hangup\n')
    assert ok.flow is not None


def test_deep_nesting_is_refused_by_the_compiler_and_the_interpreter() -> None:
    text = 'flow deep "d"\n\nvar n = 1' + " + 1" * 300 + "\n\nstart:\n  hangup\n"
    result = compile_file("deep.ivr", text)
    assert result.flow is None
    expr: model.Expression = model.Const(1)
    for _ in range(evaluate.MAX_DEPTH + 5):
        expr = model.Not(expr)
    with pytest.raises(evaluate.EvaluationError, match="nested too deeply"):
        evaluate.evaluate(expr, _Scope())


@pytest.mark.parametrize(
    "line",
    [
        'if last_input matches "(a+)+$": hangup',
        'if last_input matches "^(\\\\d*)*5": hangup',
        'if last_input matches "(x|y+)*z": hangup',
    ],
)
def test_regression_a_regex_with_exponential_matching_is_refused(line: str) -> None:
    """Before: `(\\d+)+5` compiled, and 30 keys from a caller took a worker for minutes."""
    text = f'flow re "r"\n\nstart:\n  {line}\n  hangup\n'
    result = compile_file("re.ivr", text)
    assert [d.code for d in result.errors] == ["E144"], [d.message for d in result.errors]
    assert "exponential" in result.errors[0].message


def test_a_capture_regex_with_exponential_matching_is_refused() -> None:
    text = (
        'flow re "r"\n\nstart:\n  -> code\n\ncapture code:\n  say "Code?"\n  digits 4..40\n'
        '  valid regex "(\\\\d+)+5"\n  ok -> bye\n\nstep bye:\n  hangup\n'
    )
    result = compile_file("re.ivr", text)
    assert "E144" in [d.code for d in result.errors]


@pytest.mark.parametrize(
    "pattern", ["^\\\\+5521", "(19|20)[0-9]{2}", "((ab)*c)+", "\\\\d+\\\\s*\\\\d+"]
)
def test_ordinary_regexes_still_compile(pattern: str) -> None:
    text = f'flow re "r"\n\nstart:\n  if last_input matches "{pattern}": hangup\n  hangup\n'
    assert compile_file("re.ivr", text).flow is not None
