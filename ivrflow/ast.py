"""Syntax tree of one .ivr file: our own dataclasses with spans, free of lark types.

The parser builds these; the compiler reads them. Keeping lark out of here is
what lets the grammar change without touching every later stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as Lit
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Span:
    """1-based line and column of the first character; end is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        return Span(self.line, self.column, other.end_line, other.end_column)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Literal:
    span: Span
    kind: Lit["number", "string", "duration", "time", "date", "percent"]
    text: str  # source text, decoded for strings


@dataclass(frozen=True, slots=True)
class Ref:
    span: Span
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FuncCall:
    span: Span
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class ListExpr:
    span: Span
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Unary:
    span: Span
    op: Lit["not", "-"]
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    span: Span
    op: str  # + - * / % == != < <= > >= and or in "not in" startswith matches
    left: Expr
    right: Expr
    op_span: Span


@dataclass(frozen=True, slots=True)
class Predicate:
    """`ani is withheld`: a named test, checked by the compiler."""

    span: Span
    operand: Expr
    name: str
    name_span: Span
    negated: bool


Expr: TypeAlias = Literal | Ref | FuncCall | ListExpr | Unary | Binary | Predicate


@dataclass(frozen=True, slots=True)
class RangeValue:
    span: Span
    low: Literal
    high: Literal


@dataclass(frozen=True, slots=True)
class LangValue:
    span: Span
    tag: str


Value: TypeAlias = Expr | RangeValue | LangValue


@dataclass(frozen=True, slots=True)
class Setting:
    """`timeout 5s`, `valid luhn`, `digits 6..10`: a word and its values."""

    span: Span
    name: str
    values: tuple[Value, ...]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class SayOption:
    span: Span
    name: Lit["barge-in", "voice", "language"]
    value: str


@dataclass(frozen=True, slots=True)
class Say:
    span: Span
    text: str | None  # inline text (a template)
    prompt: str | None  # or the name of a `prompt` declaration
    prompt_span: Span
    options: tuple[SayOption, ...]


@dataclass(frozen=True, slots=True)
class Play:
    span: Span
    path: str
    path_span: Span
    options: tuple[SayOption, ...]


@dataclass(frozen=True, slots=True)
class Set:
    span: Span
    name: str
    name_span: Span
    expr: Expr


@dataclass(frozen=True, slots=True)
class Goto:
    span: Span
    target: str
    target_span: Span


@dataclass(frozen=True, slots=True)
class Hangup:
    span: Span
    reason: str | None


@dataclass(frozen=True, slots=True)
class CallSub:
    span: Span
    target: str
    target_span: Span


@dataclass(frozen=True, slots=True)
class Return:
    span: Span


@dataclass(frozen=True, slots=True)
class IfBranch:
    span: Span
    condition: Expr | None  # None for `else`
    body: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class If:
    span: Span
    branches: tuple[IfBranch, ...]


@dataclass(frozen=True, slots=True)
class Case:
    span: Span
    values: tuple[Literal, ...]  # empty for `else`
    body: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Switch:
    span: Span
    subject: Expr
    cases: tuple[Case, ...]


LabelKind: TypeAlias = Lit["word", "counted", "key", "phrase", "percent"]


@dataclass(frozen=True, slots=True)
class Label:
    span: Span
    kind: LabelKind
    text: str
    count: int | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    """`1, "billing" -> account`, `noinput 2: say "…"`, `40% -> new_menu`."""

    span: Span
    labels: tuple[Label, ...]
    body: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Split:
    span: Span
    branches: tuple[Branch, ...]


Statement: TypeAlias = Say | Play | Set | Goto | Hangup | CallSub | Return | If | Switch | Split
Line: TypeAlias = Statement | Setting | Branch


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Header:
    span: Span
    kind: Lit["flow", "module"]
    name: str
    name_span: Span
    title: str | None
    settings: tuple[Setting, ...]


@dataclass(frozen=True, slots=True)
class Use:
    span: Span
    path: str
    path_span: Span


@dataclass(frozen=True, slots=True)
class ListDecl:
    span: Span
    name: str
    name_span: Span
    source: str | None  # file path, relative to the declaring file
    source_span: Span | None
    items: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class QueueDecl:
    span: Span
    name: str
    name_span: Span
    title: str | None
    settings: tuple[Setting, ...]


@dataclass(frozen=True, slots=True)
class FunctionDecl:
    span: Span
    name: str
    name_span: Span
    params: tuple[str, ...]
    settings: tuple[Setting, ...]


@dataclass(frozen=True, slots=True)
class VarDecl:
    span: Span
    name: str
    name_span: Span
    expr: Expr


@dataclass(frozen=True, slots=True)
class PromptText:
    span: Span
    language: str
    text: str
    text_span: Span


@dataclass(frozen=True, slots=True)
class PromptDecl:
    span: Span
    name: str
    name_span: Span
    texts: tuple[PromptText, ...]


@dataclass(frozen=True, slots=True)
class DaySpan:
    span: Span
    first: str
    last: str | None


@dataclass(frozen=True, slots=True)
class TimeSpan:
    span: Span
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class WeeklyLine:
    span: Span
    days: tuple[DaySpan, ...]
    times: tuple[TimeSpan, ...]  # empty: closed all day


@dataclass(frozen=True, slots=True)
class ClosureLine:
    span: Span
    first: str
    last: str | None
    date_span: Span
    times: tuple[TimeSpan, ...]  # empty: the whole day
    reason: str | None


@dataclass(frozen=True, slots=True)
class TimezoneLine:
    span: Span
    zone: str
    zone_span: Span


HoursLine: TypeAlias = WeeklyLine | ClosureLine | TimezoneLine


@dataclass(frozen=True, slots=True)
class HoursDecl:
    span: Span
    name: str
    name_span: Span
    lines: tuple[HoursLine, ...]


StateKind: TypeAlias = Lit["step", "menu", "capture", "lookup", "transfer", "callback"]


@dataclass(frozen=True, slots=True)
class LookupCall:
    span: Span
    function: str
    args: tuple[Expr, ...]
    result: str | None
    result_span: Span | None


@dataclass(frozen=True, slots=True)
class StateDecl:
    span: Span  # the header line
    kind: StateKind
    name: str
    name_span: Span
    call: LookupCall | None
    body: tuple[Line, ...]


Item: TypeAlias = (
    Use | ListDecl | QueueDecl | FunctionDecl | VarDecl | PromptDecl | HoursDecl | StateDecl
)


@dataclass(frozen=True, slots=True)
class Module:
    """One parsed file."""

    path: str
    header: Header | None
    items: tuple[Item, ...]


__all__ = [
    "Binary",
    "Branch",
    "CallSub",
    "Case",
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
