"""Syntax tree of one .ivr file: our own node classes with spans, free of lark types.

The parser builds these; the compiler reads them. Keeping lark out of here is
what lets the grammar change without touching every later stage. Nodes are
NamedTuples: immutable, compact, and ten times cheaper to define than frozen
dataclasses, which matters for the start-up time of `ivrflow check`.
"""

from __future__ import annotations

from typing import Literal as Lit
from typing import NamedTuple, TypeAlias

from ..errors import Span  # positions belong to diagnostics too; defined there, the bottom

# ---------------------------------------------------------------- expressions


class Literal(NamedTuple):
    span: Span
    kind: Lit["number", "string", "duration", "time", "date", "percent"]
    text: str  # source text, decoded for strings


class Ref(NamedTuple):
    span: Span
    path: tuple[str, ...]


class FuncCall(NamedTuple):
    span: Span
    name: str
    args: tuple[Expr, ...]


class ListExpr(NamedTuple):
    span: Span
    items: tuple[Expr, ...]


class Unary(NamedTuple):
    span: Span
    op: Lit["not", "-"]
    operand: Expr


class Binary(NamedTuple):
    span: Span
    op: str  # + - * / % == != < <= > >= and or in "not in" startswith matches
    left: Expr
    right: Expr
    op_span: Span


class Predicate(NamedTuple):
    """`ani is withheld`: a named test, checked by the compiler."""

    span: Span
    operand: Expr
    name: str
    name_span: Span
    negated: bool


Expr: TypeAlias = Literal | Ref | FuncCall | ListExpr | Unary | Binary | Predicate


class RangeValue(NamedTuple):
    span: Span
    low: Literal
    high: Literal


class LangValue(NamedTuple):
    span: Span
    tag: str


Value: TypeAlias = Expr | RangeValue | LangValue


class Setting(NamedTuple):
    """`timeout 5s`, `valid luhn`, `digits 6..10`: a word and its values.

    `more` holds the comma-separated groups that follow (`timeout 5s, retries 3`);
    the compiler reads each as another setting or as more values.
    """

    span: Span
    name: str
    values: tuple[Value, ...]
    more: tuple[tuple[Value, ...], ...] = ()


# ---------------------------------------------------------------- statements


class SayOption(NamedTuple):
    span: Span
    name: Lit["barge-in", "voice", "language"]
    value: str


class Say(NamedTuple):
    span: Span
    text: str | None  # inline text (a template)
    prompt: str | None  # or the name of a `prompt` declaration
    prompt_span: Span
    options: tuple[SayOption, ...]


class Play(NamedTuple):
    span: Span
    path: str
    path_span: Span
    options: tuple[SayOption, ...]


class Set(NamedTuple):
    span: Span
    name: str
    name_span: Span
    expr: Expr


class Goto(NamedTuple):
    span: Span
    target: str
    target_span: Span


class Hangup(NamedTuple):
    span: Span
    reason: str | None
    outcome: str | None = None  # `as error`
    outcome_span: Span | None = None


class CallSub(NamedTuple):
    span: Span
    target: str
    target_span: Span


class Return(NamedTuple):
    span: Span


class IfBranch(NamedTuple):
    span: Span
    condition: Expr | None  # None for `else`
    body: tuple[Line, ...]


class If(NamedTuple):
    span: Span
    branches: tuple[IfBranch, ...]


class Case(NamedTuple):
    span: Span
    values: tuple[Literal, ...]  # empty for `else`
    body: tuple[Line, ...]


class Switch(NamedTuple):
    span: Span
    subject: Expr
    cases: tuple[Case, ...]


# "regex": `regex "^(10[01][0-9])$"`, a multi-key menu option (its span is the string's)
LabelKind: TypeAlias = Lit["word", "counted", "key", "phrase", "percent", "regex"]


class Label(NamedTuple):
    span: Span
    kind: LabelKind
    text: str
    nth: int | None = None  # `noinput 2`: the 2


class Branch(NamedTuple):
    """`1, "billing" -> account`, `noinput 2: say "…"`, `40% -> new_menu`."""

    span: Span
    labels: tuple[Label, ...]
    body: tuple[Line, ...]


class Split(NamedTuple):
    span: Span
    branches: tuple[Branch, ...]


Statement: TypeAlias = Say | Play | Set | Goto | Hangup | CallSub | Return | If | Switch | Split
Line: TypeAlias = Statement | Setting | Branch


# ---------------------------------------------------------------- declarations


class Header(NamedTuple):
    span: Span
    kind: Lit["flow", "module"]
    name: str
    name_span: Span
    title: str | None
    settings: tuple[Setting, ...]


class Use(NamedTuple):
    span: Span
    path: str
    path_span: Span


class ListDecl(NamedTuple):
    span: Span
    name: str
    name_span: Span
    source: str | None  # file path, relative to the declaring file
    source_span: Span | None
    items: tuple[Literal, ...]


class QueueDecl(NamedTuple):
    span: Span
    name: str
    name_span: Span
    title: str | None
    settings: tuple[Setting, ...]


class FunctionDecl(NamedTuple):
    span: Span
    name: str
    name_span: Span
    params: tuple[str, ...]
    settings: tuple[Setting, ...]


class VarDecl(NamedTuple):
    span: Span
    name: str
    name_span: Span
    expr: Expr


class PromptText(NamedTuple):
    span: Span
    language: str
    text: str
    text_span: Span


class PromptDecl(NamedTuple):
    span: Span
    name: str
    name_span: Span
    texts: tuple[PromptText, ...]


class DaySpan(NamedTuple):
    span: Span
    first: str
    last: str | None


class TimeSpan(NamedTuple):
    span: Span
    start: str
    end: str


class WeeklyLine(NamedTuple):
    span: Span
    days: tuple[DaySpan, ...]
    times: tuple[TimeSpan, ...]  # empty: closed all day


class ClosureLine(NamedTuple):
    span: Span
    first: str
    last: str | None
    date_span: Span
    times: tuple[TimeSpan, ...]  # empty: the whole day
    reason: str | None


class TimezoneLine(NamedTuple):
    span: Span
    zone: str
    zone_span: Span


class CalendarLine(NamedTuple):
    """`holidays BR-SP optional except "…"`: the public holidays of a maintained calendar."""

    span: Span
    code: str
    code_span: Span
    categories: tuple[tuple[str, Span], ...]  # beyond "public"
    excepted: tuple[tuple[str, Span], ...]  # holiday names the center works on


HoursLine: TypeAlias = WeeklyLine | ClosureLine | TimezoneLine | CalendarLine


class HoursDecl(NamedTuple):
    span: Span
    name: str
    name_span: Span
    lines: tuple[HoursLine, ...]


StateKind: TypeAlias = Lit["step", "menu", "capture", "lookup", "transfer", "callback", "record"]


class LookupCall(NamedTuple):
    span: Span
    function: str
    args: tuple[Expr, ...]
    result: str | None
    result_span: Span | None


class StateDecl(NamedTuple):
    span: Span  # the header line
    kind: StateKind
    name: str
    name_span: Span
    call: LookupCall | None
    body: tuple[Line, ...]


Item: TypeAlias = (
    Use | ListDecl | QueueDecl | FunctionDecl | VarDecl | PromptDecl | HoursDecl | StateDecl
)


class Module(NamedTuple):
    """One parsed file."""

    path: str
    header: Header | None
    items: tuple[Item, ...]


__all__ = [
    "Binary",
    "Branch",
    "CallSub",
    "Case",
    "CalendarLine",
    "ClosureLine",
    "DaySpan",
    "Expr",
    "FuncCall",
    "FunctionDecl",
    "Goto",
    "Hangup",
    "Header",
    "HoursDecl",
    "HoursLine",
    "If",
    "IfBranch",
    "Item",
    "Label",
    "LangValue",
    "Line",
    "ListDecl",
    "ListExpr",
    "Literal",
    "LookupCall",
    "Module",
    "Play",
    "Predicate",
    "PromptDecl",
    "PromptText",
    "QueueDecl",
    "RangeValue",
    "Ref",
    "Return",
    "Say",
    "SayOption",
    "Set",
    "Setting",
    "Span",
    "Split",
    "StateDecl",
    "Statement",
    "Switch",
    "TimeSpan",
    "TimezoneLine",
    "Unary",
    "Use",
    "Value",
    "VarDecl",
    "WeeklyLine",
]
