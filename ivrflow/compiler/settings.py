"""Settings (`timeout 5s`, `digits 6..10`, `skills [billing]`): typed readers.

Each state kind names the settings it accepts; a reader turns a setting's
values into a Python value or reports why it cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from .context import Context
from .expressions import compile_expr, literal_value


def split(setting: ast.Setting, accepted: Mapping[str, str]) -> list[ast.Setting]:
    """`timeout 5s, retries 3` is two settings; `announce ewt, position` is one with two values.

    A comma group that starts with the name of a setting the owner accepts starts
    another setting; any other group adds values to the current one.
    """
    if not setting.more:
        return [setting]
    out = [setting._replace(more=())]
    for group in setting.more:
        head = group[0]
        if isinstance(head, ast.Ref) and len(head.path) == 1 and head.path[0] in accepted:
            end = group[-1].span
            out.append(ast.Setting(head.span.to(end), head.path[0], group[1:]))
        else:
            last = out[-1]
            out[-1] = last._replace(values=last.values + group, span=last.span.to(group[-1].span))
    return out


class Settings:
    """The settings of one block, checked against what its kind accepts."""

    def __init__(
        self, ctx: Context, owner: str, accepted: Mapping[str, str], given: Sequence[ast.Setting]
    ):
        self.ctx = ctx
        self.by_name: dict[str, ast.Setting] = {}
        self.repeatable: dict[str, list[ast.Setting]] = {}
        for s in (part for g in given for part in split(g, accepted)):
            if s.name not in accepted:
                hint = did_you_mean(s.name, accepted) or (
                    "settings here: " + ", ".join(sorted(accepted))
                    if accepted
                    else f"{owner} takes no settings"
                )
                ctx.error(
                    "E120",
                    f"unknown setting '{s.name}' for {owner}",
                    ast.Span(s.span.line, s.span.column, s.span.line, s.span.column + len(s.name)),
                    hint,
                )
                continue
            if accepted[s.name].startswith("*"):  # may be given more than once
                self.repeatable.setdefault(s.name, []).append(s)
            elif s.name in self.by_name:
                first = self.by_name[s.name].span
                ctx.error(
                    "E136", f"'{s.name}' is set twice", s.span, f"first set on line {first.line}"
                )
            else:
                self.by_name[s.name] = s

    def get(self, name: str) -> ast.Setting | None:
        return self.by_name.get(name)

    def all(self, name: str) -> list[ast.Setting]:
        return self.repeatable.get(name, [])

    def _bad(self, s: ast.Setting, expected: str, hint: str | None = None) -> None:
        span = s.values[0].span.to(s.values[-1].span) if s.values else s.span
        self.ctx.error("E121", f"'{s.name}' expects {expected}", span, hint)

    def _single(self, s: ast.Setting) -> ast.Value | None:
        return s.values[0] if len(s.values) == 1 else None

    def duration(self, name: str, default: float) -> float:
        s = self.get(name)
        if s is None:
            return default
        v = self._single(s)
        if isinstance(v, ast.Literal) and v.kind == "duration":
            seconds = literal_value(self.ctx, v)
            return seconds if isinstance(seconds, float) else default
        if isinstance(v, ast.Literal) and v.kind == "number":
            self.ctx.error("E140", f"'{name}' needs a unit", v.span, f"write {v.text}s")
            return default
        self._bad(s, "a duration like 5s")
        return default

    def integer(self, name: str, default: int, low: int = 0, high: int = 10_000) -> int:
        s = self.get(name)
        if s is None:
            return default
        v = self._single(s)
        if isinstance(v, ast.Literal) and v.kind == "number" and v.text.isdigit():
            n = int(v.text)
            if low <= n <= high:
                return n
            self._bad(s, f"a whole number from {low} to {high}")
            return default
        self._bad(s, "a whole number")
        return default

    def retries(self, default: model.InputSettings) -> tuple[int, int | None, int | None]:
        """`retries 3`, `retries 4, noinput 2, nomatch 3` or `retries noinput 2, nomatch 3`:
        the combined limit and each kind's own. A `retries` setting replaces all three of
        the default; with both kinds' limits and no combined one, only they apply."""
        s = self.get("retries")
        if s is None:
            return default.retries, default.noinput_limit, default.nomatch_limit
        hint = "like: retries 3, or retries 4, noinput 2, nomatch 3"
        combined: int | None = None
        own: dict[str, int] = {}
        spans: dict[str, ast.Span] = {}
        values = list(s.values)
        i = 0
        while i < len(values):
            v = values[i]
            kind = v.path[0] if isinstance(v, ast.Ref) and len(v.path) == 1 else None
            if kind in ("noinput", "nomatch") and i + 1 < len(values):
                i += 1
                v = values[i]
            elif kind is not None or i > 0:
                self._bad(s, "a count, then noinput and nomatch counts", hint)
                return default.retries, default.noinput_limit, default.nomatch_limit
            if not (isinstance(v, ast.Literal) and v.kind == "number" and v.text.isdigit()):
                self.ctx.error("E121", "'retries' expects whole numbers", v.span, hint)
                return default.retries, default.noinput_limit, default.nomatch_limit
            n = int(v.text)
            if not 1 <= n <= 20:
                self.ctx.error(
                    "E121", "'retries' expects a whole number from 1 to 20", v.span, hint
                )
                n = max(1, min(n, 20))
            if kind is None:
                combined = n
            elif kind in own:
                self.ctx.error("E136", f"the {kind} limit is set twice", values[i - 1].span)
            else:
                own[kind] = n
                spans[kind] = values[i - 1].span.to(v.span)
            i += 1
        noinput, nomatch = own.get("noinput"), own.get("nomatch")
        if combined is None:
            # Both kinds limited: the combined count can never bind. One: the default's.
            combined = noinput + nomatch - 1 if noinput and nomatch else default.retries
        for kind, n in own.items():
            if n > combined:
                self.ctx.error(
                    "E135",
                    f"{kind} {n} can never be reached: retries is {combined}",
                    spans[kind],
                    f"no-inputs and no-matches together stop at {combined} first",
                )
        return combined, noinput, nomatch

    def fraction(self, name: str, default: float) -> float:
        s = self.get(name)
        if s is None:
            return default
        v = self._single(s)
        if isinstance(v, ast.Literal) and v.kind in ("number", "percent"):
            x = float(v.text.rstrip("%"))
            x = x / 100 if v.kind == "percent" else x
            if 0 <= x <= 1:
                return x
        self._bad(s, "a number from 0 to 1, or a percentage", "for example: confidence 0.6")
        return default

    def string(self, name: str) -> str | None:
        s = self.get(name)
        if s is None:
            return None
        v = self._single(s)
        if isinstance(v, ast.Literal) and v.kind in ("string", "number"):
            return v.text
        self._bad(s, 'a "string"')
        return None

    def word(self, s: ast.Setting, choices: Sequence[str] | None = None) -> str | None:
        v = self._single(s)
        if (
            isinstance(v, ast.Ref)
            and len(v.path) == 1
            and (choices is None or v.path[0] in choices)
        ):
            return v.path[0]
        expected = "one of " + ", ".join(choices) if choices else "a name"
        self._bad(s, expected)
        return None

    def name(self, name: str) -> tuple[str, ast.Span] | None:
        s = self.get(name)
        if s is None:
            return None
        word = self.word(s)
        return (word, s.values[0].span) if word else None

    def names(self, name: str) -> tuple[str, ...]:
        s = self.get(name)
        if s is None:
            return ()
        values: Sequence[ast.Value] = s.values
        if len(values) == 1 and isinstance(values[0], ast.ListExpr):
            values = values[0].items
        out = []
        for v in values:
            if isinstance(v, ast.Ref) and len(v.path) == 1:
                out.append(v.path[0])
            elif isinstance(v, ast.Literal) and v.kind == "string":
                out.append(v.text)
            else:
                self._bad(s, "names, like [billing, spanish]")
                return ()
        return tuple(out)

    def flag(self, name: str) -> bool:
        s = self.get(name)
        if s is None:
            return False
        if s.values:
            self._bad(s, "nothing after it")
        return True

    def switch(self, name: str, default: bool) -> bool:
        s = self.get(name)
        if s is None:
            return default
        word = self.word(s, ("on", "off", "yes", "no", "true", "false"))
        return default if word is None else word in ("on", "yes", "true")

    def expression(self, name: str) -> model.Expression | None:
        s = self.get(name)
        if s is None:
            return None
        v = self._single(s)
        if v is None or isinstance(v, ast.RangeValue | ast.LangValue):
            self._bad(s, "one value", "wrap an expression in parentheses: priority (vip + 1)")
            return None
        return compile_expr(self.ctx, v)

    def digit_range(self, name: str, default: tuple[int, int]) -> tuple[int, int]:
        s = self.get(name)
        if s is None:
            return default
        v = self._single(s)
        if isinstance(v, ast.Literal) and v.kind == "number" and v.text.isdigit():
            if int(v.text) == 0:
                self.ctx.error("E121", "a capture needs at least one digit", v.span)
            return int(v.text), int(v.text)
        if isinstance(v, ast.RangeValue) and v.low.text.isdigit() and v.high.text.isdigit():
            low, high = int(v.low.text), int(v.high.text)
            if low > high:
                self.ctx.error(
                    "E127", f"minimum {low} is above maximum {high}", v.span, f"write {high}..{low}"
                )
            elif high == 0:
                self.ctx.error("E121", "a capture needs at least one digit", v.span)
            return low, high
        self._bad(s, "a count like 4 or a range like 6..10")
        return default

    def language(self, name: str) -> str | None:
        s = self.get(name)
        if s is None:
            return None
        v = self._single(s)
        if isinstance(v, ast.LangValue):
            return v.tag
        if isinstance(v, ast.Literal) and v.kind == "string":
            return v.text
        self._bad(s, "a language tag like en-US or pt-BR")
        return None


__all__ = ["Settings", "split"]
