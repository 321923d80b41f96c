"""Evaluating flow expressions: an explicit operator table, bounded, never `eval`.

Values are None, bool, int, float, str, list, dict (look-up results),
datetime.time/date and the call's `now` (an aware datetime). Durations are
seconds. Anything outside the table is an `EvaluationError`, which the session
turns into the flow's error path.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Container, Mapping
from typing import Any, Protocol

from .. import model
from ..errors import IvrflowRuntimeError
from ..model import phone

MAX_TEXT = 10_000  # characters a computed text may have
MAX_NUMBER = 10**15  # magnitude a computed number may have
MAX_ITEMS = 10_000  # items a list may have, nested ones counted (a text: 1 per 100 characters)
MAX_DEPTH = 300  # nesting of an expression (the compiler refuses more than 250)


class EvaluationError(IvrflowRuntimeError):
    """An expression could not be evaluated (wrong types, missing field, a bound exceeded)."""


class Scope(Protocol):
    """What an expression can see: the call's variables, lists, hours and clock."""

    def variable(self, name: str) -> Any: ...

    def number_list(self, name: str) -> Container[Any]: ...

    def hours_status(self, name: str, function: str) -> bool: ...


def _check_number(x: Any) -> Any:
    if isinstance(x, int | float) and not isinstance(x, bool) and abs(x) > MAX_NUMBER:
        raise EvaluationError(f"number too large: {x:.3g}")
    return x


def _check_text(x: Any) -> Any:
    if isinstance(x, str) and len(x) > MAX_TEXT:
        raise EvaluationError(f"text too long ({len(x)} characters)")
    return x


def _size(x: Any, budget: int) -> int:
    """Items in a value, counting nested lists and records (and a text as one item per
    100 characters), stopping past `budget`.

    `set l = [l, l]` in a loop shares one list twice: cheap to make, but its text, its
    snapshot and its JSON double each time. Counting every item, not only the top ones,
    keeps a computed list as small as it looks.
    """
    if isinstance(x, str):
        return len(x) // 100
    if not isinstance(x, list | tuple | dict):
        return 0
    items = x.values() if isinstance(x, dict) else x
    total = len(x)
    for item in items:
        if total > budget:
            break
        total += _size(item, budget - total)
    return total


def _check_items(x: list[Any]) -> list[Any]:
    if _size(x, MAX_ITEMS) > MAX_ITEMS:
        raise EvaluationError(f"list too long (more than {MAX_ITEMS} items, nested ones counted)")
    return x


def _numeric(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _add(a: Any, b: Any) -> Any:
    if _numeric(a) and _numeric(b):
        return _check_number(a + b)
    if isinstance(a, str) and isinstance(b, str):
        return _check_text(a + b)
    if isinstance(a, str) or isinstance(b, str):
        return _check_text(_text(a) + _text(b))
    raise EvaluationError(f"cannot add {_kind(a)} and {_kind(b)}")


def _arith(op: Callable[[Any, Any], Any], symbol: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if not (_numeric(a) and _numeric(b)):
            raise EvaluationError(f"'{symbol}' needs numbers, got {_kind(a)} and {_kind(b)}")
        if symbol in ("/", "%") and b == 0:
            raise EvaluationError("division by zero")
        return _check_number(op(a, b))

    return apply


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    # `now < 08:00` compares the time of day; `now == 2026-12-25` the date.
    if isinstance(a, dt.datetime) and isinstance(b, dt.time):
        return a.time().replace(tzinfo=None), b
    if isinstance(b, dt.datetime) and isinstance(a, dt.time):
        return a, b.time().replace(tzinfo=None)
    if isinstance(a, dt.datetime) and isinstance(b, dt.date) and not isinstance(b, dt.datetime):
        return a.date(), b
    if isinstance(b, dt.datetime) and isinstance(a, dt.date) and not isinstance(a, dt.datetime):
        return a, b.date()
    return a, b


def _order(op: Callable[[Any, Any], bool], symbol: str) -> Callable[[Any, Any], bool]:
    def apply(a: Any, b: Any) -> bool:
        a, b = _comparable(a, b)
        if a is None or b is None:
            return False  # an unknown value is never larger or smaller
        try:
            return op(a, b)
        except TypeError:
            raise EvaluationError(f"cannot compare {_kind(a)} {symbol} {_kind(b)}") from None

    return apply


def _equal(a: Any, b: Any) -> bool:
    a, b = _comparable(a, b)
    if isinstance(a, str) and isinstance(b, str) and (a[:1] == "+" or b[:1] == "+"):
        # Phone numbers compare in E.164: "+55 11 4004-0002" == "+551140040002".
        na, nb = phone.normalize(a), phone.normalize(b)
        if na is not None and nb is not None:
            return na == nb
    return bool(a == b)


def _member(item: Any, container: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple | set | frozenset | dict):
        return item in container
    if hasattr(container, "__contains__"):  # a NumberList's numbers
        return item in container
    raise EvaluationError(f"'in' needs a list or text, got {_kind(container)}")


def _startswith(a: Any, b: Any) -> bool:
    if a is None:
        return False
    if not isinstance(a, str) or not isinstance(b, str):
        raise EvaluationError(f"'startswith' needs texts, got {_kind(a)} and {_kind(b)}")
    if b.startswith("+") and a.startswith("+"):
        return phone.matches_prefix(a, b)
    return a.startswith(b)


BINARY: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "-": _arith(operator.sub, "-"),
    "*": _arith(operator.mul, "*"),
    "/": _arith(operator.truediv, "/"),
    "%": _arith(operator.mod, "%"),
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _order(operator.lt, "<"),
    "<=": _order(operator.le, "<="),
    ">": _order(operator.gt, ">"),
    ">=": _order(operator.ge, ">="),
    "in": _member,
    "not in": lambda a, b: not _member(a, b),
    "startswith": _startswith,
}


def _kind(x: Any) -> str:
    if x is None:
        return "none"
    if isinstance(x, bool):
        return "yes/no"
    if _numeric(x):
        return "a number"
    if isinstance(x, str):
        return "text"
    if isinstance(x, list | tuple):
        return "a list"
    if isinstance(x, dict):
        return "a record"
    return type(x).__name__


def _text(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _number(x: Any) -> Any:
    if _numeric(x):
        return _check_number(x)
    text = _text(x).strip().replace(",", ".")
    if len(text) > 40:  # no number within the bounds is written with more characters
        raise EvaluationError(f"number too large: '{text[:20]}…' ({len(text)} characters)")
    try:
        value = float(text) if "." in text else int(text)
    except (TypeError, ValueError):
        return None
    if value != value:  # NaN: not a number a flow can compare
        return None
    return _check_number(value)


def _length(x: Any) -> int:
    if x is None:
        return 0
    if isinstance(x, str | list | tuple | dict):
        return len(x)
    raise EvaluationError(f"len() needs text or a list, got {_kind(x)}")


def _line_type(x: Any, country: Any = None) -> str:
    if x is None:
        return "unknown"
    return phone.line_type(_text(x)[:MAX_TEXT], country if isinstance(country, str) else None)


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "len": _length,
    "lower": lambda x: _check_text(_text(x).lower()),
    "upper": lambda x: _check_text(_text(x).upper()),
    "number": _number,
    "text": lambda x: _check_text(_text(x)),
    "line_type": _line_type,
}


def _attribute(value: Any, attrs: tuple[str, ...], name: str) -> Any:
    for attr in attrs:
        if isinstance(value, dict):
            if attr not in value:
                raise EvaluationError(f"'{name}' has no field '{attr}'")
            value = value[attr]
        else:
            raise EvaluationError(f"'{name}' is {_kind(value)}, it has no field '{attr}'")
        name = f"{name}.{attr}"
    return value


def truthy(x: Any) -> bool:
    return bool(x)


def evaluate(expr: model.Expression, scope: Scope, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise EvaluationError("expression nested too deeply")
    # The kinds by how often flows use them (a hours check is a call: `open(office)`).
    if isinstance(expr, model.Const):
        return expr.value
    if isinstance(expr, model.Var):
        value = scope.variable(expr.name)
        return _attribute(value, expr.attrs, expr.name) if expr.attrs else value
    if isinstance(expr, model.BinOp):
        if expr.op == "and":
            return truthy(evaluate(expr.left, scope, depth + 1)) and truthy(
                evaluate(expr.right, scope, depth + 1)
            )
        if expr.op == "or":
            return truthy(evaluate(expr.left, scope, depth + 1)) or truthy(
                evaluate(expr.right, scope, depth + 1)
            )
        op = BINARY[expr.op]
        return op(evaluate(expr.left, scope, depth + 1), evaluate(expr.right, scope, depth + 1))
    if isinstance(expr, model.Call):
        arg = expr.args[0]
        if isinstance(arg, model.HoursRef):
            return scope.hours_status(arg.name, expr.function)
        return FUNCTIONS[expr.function](*(evaluate(a, scope, depth + 1) for a in expr.args))
    if isinstance(expr, model.Not):
        return not truthy(evaluate(expr.operand, scope, depth + 1))
    if isinstance(expr, model.Test):
        v = evaluate(expr.operand, scope, depth + 1)
        result = phone.is_withheld(v) if expr.name == "withheld" else v in (None, "", [], {})
        return result != expr.negated
    if isinstance(expr, model.ListRef):
        return scope.number_list(expr.name)
    if isinstance(expr, model.Match):
        v = evaluate(expr.operand, scope, depth + 1)
        return v is not None and expr.pattern.search(_text(v)[:MAX_TEXT]) is not None
    if isinstance(expr, model.Neg):
        v = evaluate(expr.operand, scope, depth + 1)
        if not _numeric(v):
            raise EvaluationError(f"cannot negate {_kind(v)}")
        return -v
    if isinstance(expr, model.MakeList):
        items = expr.items
        if len(items) > MAX_ITEMS:
            raise EvaluationError("list too long")
        return _check_items([evaluate(x, scope, depth + 1) for x in items])
    raise EvaluationError(f"cannot evaluate {type(expr).__name__}")


__all__ = ["BINARY", "FUNCTIONS", "EvaluationError", "Scope", "evaluate", "truthy"]
