"""Statements: say, play, set, goto, hangup, call, return, if, switch and split → model.

A body is the statements under a state, a branch, an `if` or a `case`. Each statement kind
has its own method, found through a table by syntax node type. Settings and branches only
belong directly under a state (the state kinds sort those out), so a body reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from ..model import templates
from ..model.walk import ends
from .context import Context
from .expressions import compile_expr, literal_value
from .vocabulary import HANGUP_OUTCOMES, READ_ONLY

Lines = Sequence[ast.Line]


def _literal_text(lit: ast.Literal) -> str:
    return f'"{lit.text}"' if lit.kind == "string" else lit.text


def _barge_in(options: Sequence[ast.SayOption]) -> bool | None:
    for o in options:
        if o.name == "barge-in":
            return o.value == "on"
    return None


class StatementCompiler:
    """Compiles bodies for one flow; `current` is the state being compiled (for `repeat`)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.state_names = ctx.symbols.states
        self.current: ast.StateDecl | None = None

    def body(self, lines: Lines) -> model.Body:
        out: list[model.Statement] = []
        for line in lines:
            if isinstance(line, ast.Setting | ast.Branch):
                what = "setting" if isinstance(line, ast.Setting) else "branch"
                self.ctx.error(
                    "E129",
                    f"a {what} cannot go inside if, switch or a branch",
                    line.span,
                    "settings and branches belong directly under the state",
                )
                continue
            stmt = self.statement(line)
            if stmt is not None:
                out.append(stmt)
        return tuple(out)

    def statement(self, s: ast.Statement) -> model.Statement | None:
        return _BY_NODE[type(s)](self, s)

    def target(self, name: str, span: ast.Span, special: bool = True) -> str:
        if special and name in model.SPECIAL_TARGETS:
            if name == model.REPEAT and (
                self.current is None or self.current.kind not in ("menu", "capture", "callback")
            ):
                self.ctx.error(
                    "E139",
                    "'repeat' only works inside a menu, capture or callback",
                    span,
                    "name the state to go to instead",
                )
            return name
        if name not in self.state_names:
            self.ctx.unknown("E104", "state", name, span, self.state_names)
        return name

    def check_template(self, text: str, span: ast.Span, path: str | None = None) -> None:
        for p in templates.check(text, self.ctx.known_variables):
            col = span.column + 1 + p.offset if span.line == span.end_line else span.column
            hint = p.hint
            if p.code == "E151":
                hint = did_you_mean(p.message.split("'")[1], self.ctx.known_variables) or hint
            self.ctx.error(
                p.code,
                p.message,
                ast.Span(span.line, col, span.line, col + max(p.length, 1)),
                hint,
                path,
            )

    def dead_end(self, span: ast.Span, what: str) -> None:
        self.ctx.error(
            "E130",
            f"after {what} the call has nowhere to go",
            span,
            "end it with '-> state', 'goto state', 'hangup' or 'return'",
        )

    # ------------------------------------------------------------ one per statement kind
    def say(self, s: ast.Say) -> model.Say:
        ctx = self.ctx
        if s.prompt is not None:
            decl = ctx.symbols.prompts.get(s.prompt)
            if decl is None:
                ctx.unknown(
                    "E110",
                    "prompt",
                    s.prompt,
                    s.prompt_span,
                    ctx.symbols.prompts,
                    'declare it: prompt name: en-US "…"',
                )
                text: Mapping[str, str] = {}
            else:
                text = {t.language: t.text for t in decl.node.texts}
        else:
            assert s.text is not None
            self.check_template(s.text, s.prompt_span)
            text = {"": s.text}
        opts = {o.name: o.value for o in s.options}
        return model.Say(
            ctx.where(s.span),
            MappingProxyType(dict(text)),
            _barge_in(s.options),
            opts.get("voice"),
            opts.get("language"),
        )

    def play(self, s: ast.Play) -> model.Play:
        if not s.path.strip():
            self.ctx.error("E121", "play needs an audio file", s.path_span)
        return model.Play(self.ctx.where(s.span), s.path, _barge_in(s.options))

    def assign(self, s: ast.Set) -> model.Assign:
        if s.name in READ_ONLY:
            self.ctx.error(
                "E138",
                f"'{s.name}' is read-only",
                s.name_span,
                "copy it into a variable of your own: set caller = ani",
            )
        return model.Assign(self.ctx.where(s.span), s.name, compile_expr(self.ctx, s.expr))

    def goto(self, s: ast.Goto) -> model.Goto:
        return model.Goto(self.ctx.where(s.span), self.target(s.target, s.target_span))

    def hangup(self, s: ast.Hangup) -> model.Hangup:
        outcome = s.outcome or "self_served"
        if outcome not in HANGUP_OUTCOMES:
            self.ctx.error(
                "E121",
                f"a hang-up ends as self_served or error, not '{outcome}'",
                s.outcome_span,
                did_you_mean(outcome, HANGUP_OUTCOMES)
                or 'write: hangup "transfer failed" as error',
            )
            outcome = "self_served"
        return model.Hangup(self.ctx.where(s.span), s.reason, outcome)

    def call(self, s: ast.CallSub) -> model.CallSub:
        where = self.ctx.where(s.span)
        return model.CallSub(where, self.target(s.target, s.target_span, special=False))

    def return_(self, s: ast.Return) -> model.Return:
        return model.Return(self.ctx.where(s.span))

    def if_(self, s: ast.If) -> model.If:
        return model.If(
            self.ctx.where(s.span),
            tuple(
                (
                    compile_expr(self.ctx, b.condition) if b.condition is not None else None,
                    self.body(b.body),
                )
                for b in s.branches
            ),
        )

    def switch(self, s: ast.Switch) -> model.Switch:
        seen: dict[object, ast.Span] = {}
        cases: list[tuple[tuple[object, ...], model.Body]] = []
        for n, case in enumerate(s.cases):
            if not case.values and n != len(s.cases) - 1:
                self.ctx.error("E138", "'else' must be the last case", case.span)
            values = []
            for lit in case.values:
                v = literal_value(self.ctx, lit)
                if v in seen:
                    self.ctx.error(
                        "E125",
                        f"case {_literal_text(lit)} appears twice",
                        lit.span,
                        f"first on line {seen[v].line}",
                    )
                seen[v] = lit.span
                values.append(v)
            cases.append((tuple(values), self.body(case.body)))
        return model.Switch(self.ctx.where(s.span), compile_expr(self.ctx, s.subject), tuple(cases))

    def split(self, s: ast.Split) -> model.Split:
        branches: list[tuple[float, model.Body]] = []
        for b in s.branches:
            label = b.labels[0]
            if len(b.labels) != 1 or label.kind != "percent":
                self.ctx.error(
                    "E123", "split branches are percentages, like: 30% -> new_menu", label.span
                )
                continue
            body = self.body(b.body)
            if not ends(body):
                self.dead_end(label.span, label.text)
            branches.append((float(label.text.rstrip("%")), body))
        total = sum(w for w, _ in branches)
        if branches and abs(total - 100) > 1e-9:
            self.ctx.error("E128", f"split percentages add up to {total:g}%, not 100%", s.span)
        return model.Split(self.ctx.where(s.span), tuple(branches))


# Each method takes its own node type; the table is keyed by that type, hence Any here.
_BY_NODE: dict[type[Any], Callable[[StatementCompiler, Any], model.Statement]] = {
    ast.Say: StatementCompiler.say,
    ast.Play: StatementCompiler.play,
    ast.Set: StatementCompiler.assign,
    ast.Goto: StatementCompiler.goto,
    ast.Hangup: StatementCompiler.hangup,
    ast.CallSub: StatementCompiler.call,
    ast.Return: StatementCompiler.return_,
    ast.If: StatementCompiler.if_,
    ast.Switch: StatementCompiler.switch,
    ast.Split: StatementCompiler.split,
}

__all__ = ["Lines", "StatementCompiler"]
