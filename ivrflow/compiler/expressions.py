"""Expressions and literal values: syntax → model, with name and value checks.

The expression language is small on purpose: comparisons, and/or/not,
arithmetic, membership, prefix and regex tests, a few built-in functions. It is
never Python `eval`; the interpreter walks these nodes with its own operator
table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from .context import Context

DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?")


@dataclass(frozen=True, slots=True)
class Builtin:
    params: tuple[str, ...]  # "hours" or "value"
    doc: str


BUILTIN_FUNCTIONS: dict[str, Builtin] = {
    "open": Builtin(("hours",), "true while the hours are open (false during an emergency)"),
    "closed": Builtin(("hours",), "the opposite of open()"),
    "holiday": Builtin(("hours",), "true on a closure day of the hours"),
    "emergency": Builtin(("hours",), "true while the host has switched the emergency on"),
    "len": Builtin(("value",), "length of a text or list"),
    "lower": Builtin(("value",), "text in lower case"),
    "upper": Builtin(("value",), "text in upper case"),
    "number": Builtin(("value",), "text to number (none when it is not one)"),
    "text": Builtin(("value",), "any value as text"),
    "line_type": Builtin(
        ("value",), "mobile, fixed, toll_free … of a phone number (the phone extra)"
    ),
}

PREDICATES = {
    "withheld": "the caller id is withheld or unknown",
    "empty": "none, an empty text or an empty list",
}

CONSTANTS = {"true": True, "false": False, "none": None, "yes": True, "no": False}


def parse_duration(text: str) -> float | None:
    """'5s' → 5.0, '1m30s' → 90.0, '500ms' → 0.5; None when malformed."""
    m = DURATION.fullmatch(text)
    if m is None or not text:
        return None
    h, mins, s, ms = (int(g) if g else 0 for g in m.groups())
    return h * 3600.0 + mins * 60.0 + s + ms / 1000.0


def parse_time(text: str) -> dt.time | None:
    hour, _, minute = text.partition(":")
    h, m = int(hour), int(minute)
    if h == 24 and m == 0:
        return dt.time.max
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return dt.time(h, m)


def parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


MAX_LITERAL = 10**15  # the interpreter's bound on numbers (evaluate.MAX_NUMBER)


def number_value(text: str) -> int | float:
    # Past 4300 digits Python's int() refuses the text (ValueError): read it as a float.
    if "." in text or len(text) > 4000:
        return float(text)
    return int(text)


# Literals that can be malformed: how to read them, and what to say when they are not.
_CHECKED: dict[str, tuple[Callable[[str], object | None], str, str, str]] = {
    "duration": (
        parse_duration,
        "E140",
        "bad duration",
        "durations look like 500ms, 5s, 3m, 1h or 1m30s",
    ),
    "time": (parse_time, "E141", "bad time", "times are HH:MM on a 24-hour clock, 00:00 to 24:00"),
    "date": (parse_date, "E143", "bad date", "dates are YYYY-MM-DD and must exist in the calendar"),
}


def literal_value(ctx: Context, lit: ast.Literal) -> object:
    """The Python value of a literal, or None after reporting a bad one."""
    if lit.kind == "number":
        number = number_value(lit.text)
        if abs(number) > MAX_LITERAL:
            shown = (
                lit.text if len(lit.text) <= 20 else f"{lit.text[:12]}… ({len(lit.text)} digits)"
            )
            ctx.error(
                "E149",
                f"number too large: {shown}",
                lit.span,
                "numbers are bounded at 10^15 (the interpreter refuses larger ones)",
            )
            return None
        return number
    if lit.kind == "string":
        return lit.text
    if lit.kind == "percent":
        return float(lit.text.rstrip("%"))
    parse, code, message, hint = _CHECKED[lit.kind]
    value = parse(lit.text)
    if value is None:
        ctx.error(code, f"{message} '{lit.text}'", lit.span, hint)
    return value


def nested_repeat(pattern: str) -> bool:
    """True when an unbounded repetition repeats nothing but another one, as `(a+)+`,
    `(\\d*)*5` or `(a|b+)*`: Python's matcher can take exponential time on an input that
    almost matches, and a caller chooses the input (64 keys, 1000 characters of speech).
    `((ab)*c)+` is fine: the `c` settles where each round ends."""
    import importlib

    try:
        sre: Any = importlib.import_module("re._parser")
        const: Any = importlib.import_module("re._constants")
        tree = sre.parse(pattern)
    except Exception:  # another Python's internals: no check rather than a crash
        return False
    repeats = {const.MAX_REPEAT, const.MIN_REPEAT}

    def only_a_repeat(items: Any) -> bool:
        items = list(items)
        while len(items) == 1 and items[0][0] == const.SUBPATTERN:
            items = list(items[0][1][3])
        if len(items) != 1:
            return False
        op, av = items[0]
        if op in repeats:
            return bool(av[1] > 1)
        return op == const.BRANCH and any(only_a_repeat(b) for b in av[1])

    def walk(items: Any) -> bool:
        for op, av in items:
            if op in repeats:
                inner = av[2]
                if av[1] == const.MAXREPEAT and only_a_repeat(inner):
                    return True
            elif op == const.SUBPATTERN:
                inner = av[3]
            elif op == const.BRANCH:
                inner = [item for branch in av[1] for item in branch]
            else:
                continue
            if walk(inner):
                return True
        return False

    return walk(tree)


def compile_regex(ctx: Context, pattern: str, span: ast.Span) -> re.Pattern[str] | None:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        col = span.column + 1 + (exc.pos or 0) if span.line == span.end_line else span.column
        hint = None
        if exc.pos is not None and pattern[exc.pos : exc.pos + 1] in ("+", "*", "?"):
            hint = f'a {pattern[exc.pos]} that stands for itself needs a backslash: "\\{pattern[exc.pos]}"'
        ctx.error(
            "E144",
            f"bad regular expression: {exc.msg}",
            ast.Span(span.line, col, span.line, col + 1),
            hint,
        )
        return None
    if nested_repeat(pattern):
        ctx.error(
            "E144",
            "bad regular expression: a repetition inside a repetition (like (a+)+) can take "
            "exponential time on a caller's input",
            span,
            "repeat once: (a+) or a+ instead of (a+)+",
        )
        return None
    return compiled


def _ref(ctx: Context, ref: ast.Ref, allow: frozenset[str]) -> model.Expression:
    root = ref.path[0]
    sym = ctx.symbols
    if len(ref.path) == 1 and root in CONSTANTS and root not in ctx.known_variables:
        return model.Const(CONSTANTS[root])
    if root in ctx.known_variables:
        return model.Var(root, ref.path[1:])
    if "list" in allow and root in sym.lists and len(ref.path) == 1:
        return model.ListRef(root)
    if "hours" in allow and root in sym.hours and len(ref.path) == 1:
        return model.HoursRef(root)
    if root in sym.lists:
        ctx.error(
            "E107",
            f"list '{root}' can only be used with 'in'",
            ref.span,
            f"for example: if ani in {root}: …",
        )
    elif root in sym.hours:
        ctx.error(
            "E106",
            f"hours '{root}' can only be used inside open(), closed(), holiday() or emergency()",
            ref.span,
            f"for example: if open({root}): …",
        )
    else:
        candidates = set(ctx.known_variables) | set(sym.lists) | set(CONSTANTS)
        ctx.error(
            "E109",
            f"unknown variable '{root}'",
            ref.span,
            did_you_mean(root, candidates)
            or "set it first (set name = …), capture it, or declare it (var name = …)",
        )
    return model.Const(None)


MAX_NESTING = 250  # below the interpreter's limit (evaluate.MAX_DEPTH) and Python's stack


def nesting(e: ast.Expr) -> int:
    """How deep an expression nests (`a + b + c` is 3 deep), counted without recursion."""
    deepest = 0
    todo: list[tuple[ast.Expr, int]] = [(e, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if isinstance(node, ast.Binary):
            todo += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.Unary | ast.Predicate):
            todo.append((node.operand, depth + 1))
        elif isinstance(node, ast.FuncCall | ast.ListExpr):
            items = node.args if isinstance(node, ast.FuncCall) else node.items
            todo += [(x, depth + 1) for x in items]
    return deepest


def compile_expr(
    ctx: Context, e: ast.Expr, allow: frozenset[str] = frozenset()
) -> model.Expression:
    """Syntax → model; every problem is reported and replaced by a constant."""
    if nesting(e) > MAX_NESTING:
        ctx.error(
            "E149",
            f"expression nested too deeply (more than {MAX_NESTING} levels)",
            e.span,
            "split it with set: set part = …, then use part",
        )
        return model.Const(None)
    return _compile(ctx, e, allow)


def _compile(ctx: Context, e: ast.Expr, allow: frozenset[str] = frozenset()) -> model.Expression:
    if isinstance(e, ast.Literal):
        return model.Const(literal_value(ctx, e))
    if isinstance(e, ast.Ref):
        return _ref(ctx, e, allow)
    if isinstance(e, ast.Unary):
        operand = _compile(ctx, e.operand)
        return model.Not(operand) if e.op == "not" else model.Neg(operand)
    if isinstance(e, ast.Binary):
        if e.op == "matches":
            assert isinstance(e.right, ast.Literal)
            pattern = compile_regex(ctx, e.right.text, e.right.span)
            left = _compile(ctx, e.left)
            return model.Match(left, pattern) if pattern else model.Const(False)
        right_allow = frozenset({"list"}) if e.op in ("in", "not in") else frozenset()
        return model.BinOp(e.op, _compile(ctx, e.left), _compile(ctx, e.right, right_allow))
    if isinstance(e, ast.Predicate):
        if e.name not in PREDICATES:
            ctx.error(
                "E134",
                f"unknown test 'is {e.name}'",
                e.name_span,
                did_you_mean(e.name, PREDICATES) or "tests: " + ", ".join(PREDICATES),
            )
        return model.Test(e.name, _compile(ctx, e.operand), e.negated)
    if isinstance(e, ast.ListExpr):
        return model.MakeList(tuple(_compile(ctx, x) for x in e.items))
    return _call(ctx, e)


def _call(ctx: Context, e: ast.FuncCall) -> model.Expression:
    spec = BUILTIN_FUNCTIONS.get(e.name)
    if spec is None:
        hint = did_you_mean(e.name, BUILTIN_FUNCTIONS)
        if e.name in ctx.symbols.functions:
            hint = (
                f"'{e.name}' is a host look-up: call it from a lookup state, "
                f"e.g. lookup find {e.name}(…) as result:"
            )
        name_span = ast.Span(e.span.line, e.span.column, e.span.line, e.span.column + len(e.name))
        ctx.error("E108", f"unknown function '{e.name}'", name_span, hint)
        return model.Const(None)
    if len(e.args) != len(spec.params):
        ctx.error(
            "E111",
            f"{e.name}() takes {len(spec.params)} argument"
            f"{'s' if len(spec.params) != 1 else ''}, got {len(e.args)}",
            e.span,
        )
        return model.Const(None)
    args: list[model.Expression] = []
    for kind, arg in zip(spec.params, e.args, strict=True):
        if kind == "hours":
            if not (isinstance(arg, ast.Ref) and len(arg.path) == 1):
                ctx.error("E106", f"{e.name}() takes the name of an hours declaration", _span(arg))
                return model.Const(None)
            if arg.path[0] not in ctx.symbols.hours:
                ctx.unknown(
                    "E106",
                    "hours",
                    arg.path[0],
                    arg.span,
                    ctx.symbols.hours,
                    "declare it: hours office: …",
                )
                return model.Const(None)
            args.append(model.HoursRef(arg.path[0]))
        else:
            args.append(_compile(ctx, arg))
    if e.name == "line_type":  # a national number is read in the flow's country
        args.append(model.Const(ctx.country))
    return model.Call(e.name, tuple(args))


def _span(v: ast.Value) -> ast.Span:
    return v.span


__all__ = [
    "BUILTIN_FUNCTIONS",
    "CONSTANTS",
    "PREDICATES",
    "compile_expr",
    "compile_regex",
    "literal_value",
    "parse_date",
    "parse_duration",
    "parse_time",
]
