"""Text → syntax tree (`ast.Module`). The only module that touches lark.

The LALR parser is built once per process (its tables are cached on disk by
lark) and builds our dataclasses directly while it parses, so no lark tree is
ever materialised. Syntax errors become `Diagnostic`s with human labels; a file
with several broken declarations reports one error per declaration.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.indenter import Indenter

from ..errors import Diagnostic, FlowSyntaxError, did_you_mean
from . import ast
from .syntax_labels import EXAMPLES, describe_expected

GRAMMAR_FILE = "ivrflow.lark"
KEYWORDS = (
    "flow", "module", "use", "import", "include", "list", "queue", "hours", "function", "var",
    "prompt", "start", "step", "menu", "capture", "lookup", "transfer", "callback", "record", "say",
    "play", "set", "goto", "hangup", "call", "return", "if", "elif", "else", "switch", "split",
)  # fmt: skip


class IndentError(Exception):
    def __init__(self, token: Token, message: str):
        self.token = token
        self.message = message


class FlowIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB"]
    CLOSE_PAREN_types = ["RPAR", "RSQB"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def handle_NL(self, token: Token) -> Iterator[Token]:
        # Same as lark's, but a bad dedent carries the position of the line.
        if self.paren_level > 0:
            return
        yield token
        indent_str = token.rsplit("\n", 1)[1]
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        if indent > self.indent_level[-1]:
            self.indent_level.append(indent)
            yield Token.new_borrow_pos(self.INDENT_type, indent_str, token)
        else:
            levels = list(self.indent_level)
            while indent < self.indent_level[-1]:
                self.indent_level.pop()
                yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)
            if indent != self.indent_level[-1]:
                line = token.end_line or token.line
                pos = Token("_NL", indent_str, 0, line, len(indent_str) + 1)
                choices = " or ".join(str(n) for n in sorted(set(levels), reverse=True))
                tab = " (a tab counts as 8)" if "\t" in indent_str else ""
                raise IndentError(
                    pos,
                    f"this line is indented {indent} columns{tab}; indent it {choices} "
                    "to line up with a block above",
                )


def _token_span(tok: Token) -> ast.Span:
    line, col = tok.line or 1, tok.column or 1
    return ast.Span(line, col, tok.end_line or line, tok.end_column or col + len(tok))


def _span(x: Any) -> ast.Span:
    if isinstance(x, Token):
        return _token_span(x)
    span: ast.Span = x.span
    return span


def _string(tok: Token) -> str:
    """Decode a string literal: \\" \\\\ \\n \\t; any other backslash stays (regexes)."""
    body = tok[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            mapped = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}.get(nxt)
            if mapped is not None:
                out.append(mapped)
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _present(children: list[Any]) -> list[Any]:
    return [c for c in children if c is not None]


class _Builder(Transformer):  # type: ignore[type-arg]
    """Callbacks named after grammar rules/aliases; called inline by the LALR parser."""

    # ------------------------------------------------------------ file
    def start(self, c: list[Any]) -> tuple[ast.Header | None, tuple[ast.Item, ...]]:
        header = c[0] if c and isinstance(c[0], ast.Header) else None
        items = tuple(x for x in c if x is not None and not isinstance(x, ast.Header))
        return header, items

    def flow_header(self, c: list[Any]) -> ast.Header:
        kw, name, title = c[0], c[1], c[2]
        settings = tuple(line for line in c[3:] if line)
        return ast.Header(
            _span(kw).to(_span(name)),
            "flow",
            str(name),
            _span(name),
            _string(title) if title else None,
            settings,
        )

    def module_header(self, c: list[Any]) -> ast.Header:
        kw, name, title = c[0], c[1], c[2]
        return ast.Header(
            _span(kw).to(_span(name)),
            "module",
            str(name),
            _span(name),
            _string(title) if title else None,
            (),
        )

    def header_line(self, c: list[Any]) -> ast.Setting:
        setting: ast.Setting = c[0]
        return setting

    # ------------------------------------------------------------ declarations
    def use_decl(self, c: list[Any]) -> ast.Use:
        return ast.Use(_span(c[0]).to(_span(c[1])), _string(c[1]), _span(c[1]))

    def list_file(self, c: list[Any]) -> ast.ListDecl:
        kw, name, src = c
        return ast.ListDecl(
            _span(kw).to(_span(src)), str(name), _span(name), _string(src), _span(src), ()
        )

    def list_inline(self, c: list[Any]) -> ast.ListDecl:
        kw, name, *items = c
        return ast.ListDecl(
            _span(kw).to(_span(name)), str(name), _span(name), None, None, tuple(_present(items))
        )

    def queue_decl(self, c: list[Any]) -> ast.QueueDecl:
        kw, name, title, *settings = c
        return ast.QueueDecl(
            _span(kw).to(_span(name)),
            str(name),
            _span(name),
            _string(title) if title else None,
            tuple(_present(settings)),
        )

    def function_decl(self, c: list[Any]) -> ast.FunctionDecl:
        kw, name, *rest = c
        params = tuple(str(t) for t in rest if isinstance(t, Token))
        settings = tuple(s for s in rest if isinstance(s, ast.Setting))
        return ast.FunctionDecl(_span(kw).to(_span(name)), str(name), _span(name), params, settings)

    def var_decl(self, c: list[Any]) -> ast.VarDecl:
        kw, name, expr = c
        return ast.VarDecl(_span(kw).to(_span(expr)), str(name), _span(name), expr)

    def prompt_decl(self, c: list[Any]) -> ast.PromptDecl:
        kw, name, *lines = c
        return ast.PromptDecl(_span(kw).to(_span(name)), str(name), _span(name), tuple(lines))

    def prompt_line(self, c: list[Any]) -> ast.PromptText:
        lang, text = c
        return ast.PromptText(_span(lang).to(_span(text)), str(lang), _string(text), _span(text))

    def hours_decl(self, c: list[Any]) -> ast.HoursDecl:
        kw, name, *lines = c
        return ast.HoursDecl(_span(kw).to(_span(name)), str(name), _span(name), tuple(lines))

    def weekly(self, c: list[Any]) -> ast.WeeklyLine:
        days, times = c
        last = times[-1] if times else days[-1]
        return ast.WeeklyLine(days[0].span.to(_span(last)), tuple(days), tuple(times))

    def closure(self, c: list[Any]) -> ast.ClosureLine:
        kw, first, last, times, reason = c
        end = reason or (times[-1] if times else None) or last or first
        return ast.ClosureLine(
            _span(kw).to(_span(end)),
            str(first),
            str(last) if last else None,
            _span(first).to(_span(last or first)),
            tuple(times or ()),
            _string(reason) if reason else None,
        )

    def hours_timezone(self, c: list[Any]) -> ast.TimezoneLine:
        kw, zone = c
        return ast.TimezoneLine(_span(kw).to(_span(zone)), _string(zone), _span(zone))

    def hours_calendar(self, c: list[Any]) -> ast.CalendarLine:
        kw, code, *rest = c
        words = [t for t in rest if t.type == "NAME"]
        names = [t for t in rest if t.type == "STRING"]
        return ast.CalendarLine(
            _span(kw).to(_span(rest[-1] if rest else code)),
            str(code),
            _span(code),
            tuple((str(t), _span(t)) for t in words),
            tuple((_string(t), _span(t)) for t in names),
        )

    def day_set(self, c: list[Any]) -> list[ast.DaySpan]:
        return c

    def day_span(self, c: list[Any]) -> ast.DaySpan:
        first, last = c
        return ast.DaySpan(
            _span(first).to(_span(last or first)), str(first), str(last) if last else None
        )

    def time_spans(self, c: list[Any]) -> list[ast.TimeSpan]:
        return c

    def all_day_closed(self, c: list[Any]) -> list[ast.TimeSpan]:
        return []

    def time_span(self, c: list[Any]) -> ast.TimeSpan:
        a, b = c
        return ast.TimeSpan(_span(a).to(_span(b)), str(a), str(b))

    # ------------------------------------------------------------ states
    def state_kind(self, c: list[Any]) -> Token:
        tok: Token = c[0]
        return tok

    def state(self, c: list[Any]) -> ast.StateDecl:
        kind, name, call, body = c
        return ast.StateDecl(
            _span(kind).to(_span(name)),
            cast(ast.StateKind, str(kind)),
            str(name),
            _span(name),
            call,
            tuple(body),
        )

    def start_state(self, c: list[Any]) -> ast.StateDecl:
        kw, body = c
        return ast.StateDecl(_span(kw), "step", "start", _span(kw), None, tuple(body))

    def lookup_call(self, c: list[Any]) -> ast.LookupCall:
        name, *rest, rpar, result = c
        args = tuple(a for a in rest if a is not None)
        return ast.LookupCall(
            _span(name).to(_span(rpar)),
            str(name),
            args,
            str(result) if result else None,
            _span(result) if result else None,
        )

    def block(self, c: list[Any]) -> list[ast.Line]:
        return c

    def setting_line(self, c: list[Any]) -> ast.Setting:
        setting: ast.Setting = c[0]
        return setting

    def setting(self, c: list[Any]) -> ast.Setting:
        name, first, *more = c
        groups = [g for g in (first, *more) if g]
        end = groups[-1][-1] if groups else name
        return ast.Setting(
            _span(name).to(_span(end)),
            str(name),
            tuple(first or ()),
            tuple(tuple(g) for g in more),
        )

    def values(self, c: list[Any]) -> list[ast.Value]:
        return [ast.LangValue(_span(v), str(v)) if isinstance(v, Token) else v for v in c]

    def range(self, c: list[Any]) -> ast.RangeValue:
        lo, hi = (ast.Literal(_span(t), "number", str(t)) for t in c)
        return ast.RangeValue(lo.span.to(hi.span), lo, hi)

    # ------------------------------------------------------------ branches
    def _branch(self, labels: list[ast.Label], body: list[ast.Line]) -> ast.Branch:
        return ast.Branch(labels[0].span.to(labels[-1].span), tuple(labels), tuple(body))

    def branch_goto(self, c: list[Any]) -> ast.Branch:
        labels, target = c
        return self._branch(labels, [ast.Goto(_span(target), str(target), _span(target))])

    def branch_inline(self, c: list[Any]) -> ast.Branch:
        return self._branch(c[0], c[1])

    branch_block = branch_inline

    def labels(self, c: list[Any]) -> list[ast.Label]:
        return c

    def word_label(self, c: list[Any]) -> ast.Label:
        return ast.Label(_span(c[0]), "word", str(c[0]))

    def counted_label(self, c: list[Any]) -> list[ast.Label]:
        word, count = c
        return [ast.Label(_span(word).to(_span(count)), "counted", str(word), int(float(count)))]

    def qualified_label(self, c: list[Any]) -> list[ast.Label]:
        """`noinput exhausted`: one label of two words."""
        first, second = c
        return [ast.Label(_span(first).to(_span(second)), "word", f"{first} {second}")]

    def key_label(self, c: list[Any]) -> ast.Label:
        return ast.Label(_span(c[0]), "key", str(c[0]))

    def phrase_label(self, c: list[Any]) -> ast.Label:
        return ast.Label(_span(c[0]), "phrase", _string(c[0]))

    def tagged_label(self, c: list[Any]) -> list[ast.Label]:
        """`regex "^(10[01][0-9])$"`; another word before a string is not a label."""
        word, text = c
        if str(word) != "regex":
            return [ast.Label(_span(word), "word", str(word))]
        return [ast.Label(_span(text), "regex", _string(text))]

    def percent_label(self, c: list[Any]) -> ast.Label:
        return ast.Label(_span(c[0]), "percent", str(c[0]))

    # ------------------------------------------------------------ statements
    def simple_statements(self, c: list[Any]) -> list[ast.Line]:
        return c

    def say(self, c: list[Any]) -> ast.Say:
        kw, (kind, tok), *options = c
        end = options[-1].span if options else _span(tok)
        if kind == "text":
            return ast.Say(_span(kw).to(end), _string(tok), None, _span(tok), tuple(options))
        return ast.Say(_span(kw).to(end), None, str(tok), _span(tok), tuple(options))

    def text_prompt(self, c: list[Any]) -> tuple[str, Token]:
        return ("text", c[0])

    def named_prompt(self, c: list[Any]) -> tuple[str, Token]:
        return ("name", c[0])

    def play(self, c: list[Any]) -> ast.Play:
        kw, path, *options = c
        end = options[-1].span if options else _span(path)
        return ast.Play(_span(kw).to(end), _string(path), _span(path), tuple(options))

    def say_option(self, c: list[Any]) -> ast.SayOption:
        kw, value = c
        text = _string(value) if value.type == "STRING" else str(value)
        return ast.SayOption(_span(kw).to(_span(value)), str(kw), text)  # type: ignore[arg-type]

    def set(self, c: list[Any]) -> ast.Set:
        kw, name, expr = c
        return ast.Set(_span(kw).to(_span(expr)), str(name), _span(name), expr)

    def goto(self, c: list[Any]) -> ast.Goto:
        target = c[-1]
        return ast.Goto(_span(c[0]).to(_span(target)), str(target), _span(target))

    def hangup(self, c: list[Any]) -> ast.Hangup:
        kw, reason, outcome = c
        return ast.Hangup(
            _span(kw).to(_span(outcome or reason or kw)),
            _string(reason) if reason else None,
            str(outcome) if outcome else None,
            _span(outcome) if outcome else None,
        )

    def call(self, c: list[Any]) -> ast.CallSub:
        kw, target = c
        return ast.CallSub(_span(kw).to(_span(target)), str(target), _span(target))

    def return_(self, c: list[Any]) -> ast.Return:
        return ast.Return(_span(c[0]))

    def if_stmt(self, c: list[Any]) -> ast.If:
        kw, cond, body, *rest = c
        branches = [ast.IfBranch(_span(kw).to(_span(cond)), cond, tuple(body))]
        branches += [b for b in rest if b is not None]
        return ast.If(branches[0].span, tuple(branches))

    def if_goto(self, c: list[Any]) -> ast.If:
        kw, cond, target = c
        goto = ast.Goto(_span(target), str(target), _span(target))
        return ast.If(
            _span(kw).to(_span(cond)), (ast.IfBranch(_span(kw).to(_span(cond)), cond, (goto,)),)
        )

    def elif_clause(self, c: list[Any]) -> ast.IfBranch:
        kw, cond, body = c
        return ast.IfBranch(_span(kw).to(_span(cond)), cond, tuple(body))

    def else_clause(self, c: list[Any]) -> ast.IfBranch:
        kw, body = c
        return ast.IfBranch(_span(kw), None, tuple(body))

    def suite(self, c: list[Any]) -> list[ast.Line]:
        body: list[ast.Line] = c[0]
        return body

    def switch_stmt(self, c: list[Any]) -> ast.Switch:
        kw, subject, *cases = c
        return ast.Switch(_span(kw).to(_span(subject)), subject, tuple(cases))

    def _case(self, labels: tuple[ast.Span, tuple[ast.Literal, ...]], body: list[Any]) -> ast.Case:
        return ast.Case(labels[0], labels[1], tuple(body))

    def case_goto(self, c: list[Any]) -> ast.Case:
        labels, target = c
        return self._case(labels, [ast.Goto(_span(target), str(target), _span(target))])

    def case_inline(self, c: list[Any]) -> ast.Case:
        return self._case(c[0], c[1])

    case_block = case_inline

    def case_labels(self, c: list[Any]) -> tuple[ast.Span, tuple[ast.Literal, ...]]:
        return (c[0].span.to(c[-1].span), tuple(c))

    def else_label(self, c: list[Any]) -> tuple[ast.Span, tuple[ast.Literal, ...]]:
        return (_span(c[0]), ())

    def split_stmt(self, c: list[Any]) -> ast.Split:
        kw, *branches = c
        return ast.Split(_span(kw), tuple(branches))

    # ------------------------------------------------------------ expressions
    def _binary(self, c: list[Any], op: str) -> ast.Binary:
        left, right = c[0], c[-1]
        return ast.Binary(_span(left).to(_span(right)), op, left, right, _span(c[1]))

    def logical(self, c: list[Any]) -> ast.Binary:
        return self._binary(c, str(c[1]))

    def compare(self, c: list[Any]) -> ast.Binary:
        return self._binary(c, str(c[1]))

    binary = compare

    def member(self, c: list[Any]) -> ast.Binary:
        return self._binary(c, "in")

    def not_member(self, c: list[Any]) -> ast.Binary:
        return self._binary(c, "not in")

    def startswith(self, c: list[Any]) -> ast.Binary:
        return self._binary(c, "startswith")

    def matches(self, c: list[Any]) -> ast.Binary:
        left, kw, pattern = c
        lit = ast.Literal(_span(pattern), "string", _string(pattern))
        return ast.Binary(_span(left).to(_span(pattern)), "matches", left, lit, _span(kw))

    def predicate(self, c: list[Any]) -> ast.Predicate:
        operand, name = c[0], c[-1]
        return ast.Predicate(
            _span(operand).to(_span(name)), operand, str(name), _span(name), len(c) == 4
        )

    not_predicate = predicate

    def negation(self, c: list[Any]) -> ast.Unary:
        kw, operand = c
        return ast.Unary(_span(kw).to(_span(operand)), "not", operand)

    def minus(self, c: list[Any]) -> ast.Unary:
        return ast.Unary(_span(c[0]), "-", c[0])

    def func_call(self, c: list[Any]) -> ast.FuncCall:
        name, *args, rpar = c
        return ast.FuncCall(_span(name).to(_span(rpar)), str(name), tuple(_present(args)))

    def list_expr(self, c: list[Any]) -> ast.ListExpr:
        bracket, *items = c
        present = tuple(_present(items))
        end = present[-1] if present else bracket
        return ast.ListExpr(_span(bracket).to(_span(end)), present)

    def ref(self, c: list[Any]) -> ast.Ref:
        return ast.Ref(_span(c[0]).to(_span(c[-1])), tuple(str(t) for t in c))

    def _literal(self, tok: Token, kind: Any) -> ast.Literal:
        return ast.Literal(_span(tok), kind, _string(tok) if kind == "string" else str(tok))

    def number(self, c: list[Any]) -> ast.Literal:
        return self._literal(c[0], "number")

    def string(self, c: list[Any]) -> ast.Literal:
        return self._literal(c[0], "string")

    def duration(self, c: list[Any]) -> ast.Literal:
        return self._literal(c[0], "duration")

    def time(self, c: list[Any]) -> ast.Literal:
        return self._literal(c[0], "time")

    def date(self, c: list[Any]) -> ast.Literal:
        return self._literal(c[0], "date")

    def percent(self, c: list[Any]) -> ast.Literal:
        return self._literal(c[0], "percent")


# `return` is a Python keyword: lark looks the callback up by rule name.
setattr(_Builder, "return", _Builder.return_)


def grammar_text() -> str:
    here = Path(__file__).parent / "grammar" / GRAMMAR_FILE
    if here.is_file():  # the usual install; importlib.resources covers zipped ones
        return here.read_text("utf-8")
    from importlib import resources

    return resources.files("ivrflow.lang").joinpath("grammar", GRAMMAR_FILE).read_text("utf-8")


def _cache_path(text: str) -> str:
    import hashlib
    import tempfile  # imported here: it costs start-up time and is needed once

    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"ivrflow-lalr-{digest}.cache")


@cache
def _lark(transform: bool) -> Lark:
    text = grammar_text()
    try:
        return Lark(
            text,
            parser="lalr",
            lexer="contextual",
            postlex=FlowIndenter(),
            transformer=_Builder() if transform else None,
            maybe_placeholders=True,
            cache=_cache_path(text + str(transform)),
        )
    except OSError:  # read-only temp dir: build without the cache
        return Lark(
            text,
            parser="lalr",
            lexer="contextual",
            postlex=FlowIndenter(),
            transformer=_Builder() if transform else None,
            maybe_placeholders=True,
        )


def bare_parser() -> Lark:
    """The same grammar without our tree builder (benchmarks, error labelling)."""
    return _lark(False)


def _prepare(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _chunks(text: str) -> Iterator[str]:
    """Each top-level declaration alone, other lines blanked, so positions stay exact."""
    lines = text.split("\n")
    starts = [
        i for i, line in enumerate(lines) if line[:1] not in ("", " ", "\t", "#", "\r", "]", ")")
    ]
    for n, begin in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        # A header or first item that starts after blank lines must still be first.
        yield "\n" * begin + "\n".join(lines[begin:end]) + "\n" * (len(lines) - end)


def _diagnostic(err: Exception, path: str, text: str, truncated: bool = False) -> Diagnostic:
    if isinstance(err, IndentError):
        tok = err.token
        return Diagnostic(
            "E012",
            "error",
            "inconsistent indentation",
            path,
            ast.Span(tok.line or 1, 1, tok.line or 1, tok.column or 1),
            err.message,
        )
    if isinstance(err, UnexpectedCharacters):
        lines = text.split("\n")
        row = lines[err.line - 1] if 0 < err.line <= len(lines) else ""
        char = row[err.column - 1] if 0 < err.column <= len(row) else ""
        span = ast.Span(err.line, err.column, err.line, err.column + 1)
        if char == '"':
            return Diagnostic(
                "E011",
                "error",
                "unterminated string",
                path,
                span,
                "close the string with '\"' on the same line",
            )
        return Diagnostic(
            "E011",
            "error",
            f"unexpected character {_show_char(char)}",
            path,
            span,
            _char_hint(char),
        )
    assert isinstance(err, UnexpectedToken)
    stray = _stray_else(err, text, path)
    if stray is not None:
        return stray
    tok = err.token
    if tok.type == "_INDENT":
        return _unexpected_indent(tok, text, path)
    label = _label(err)
    message, span = _token_message(tok, text, truncated)
    hint = describe_expected(err.expected, _terminal_text)
    if tok.type == "NAME":
        hint = did_you_mean(str(tok), KEYWORDS) or hint
    if label and hint and set(err.expected) <= {"_INDENT", "_NL"}:
        hint = None  # the label says it all
    return Diagnostic("E010", "error", label or message, path, span, hint)


def _show_char(char: str) -> str:
    if not char:
        return "at end of file"
    if char == "'":
        return '"\'"'
    if char.isprintable():
        return f"'{char}' (U+{ord(char):04X})" if ord(char) > 127 else f"'{char}'"
    return f"'{char.encode('unicode_escape').decode()}'"


def _unexpected_indent(tok: Token, text: str, path: str) -> Diagnostic:
    line_no = tok.end_line or tok.line or 1
    lines = text.split("\n")
    line = lines[line_no - 1] if line_no <= len(lines) else ""
    width = len(line) - len(line.lstrip(" \t"))
    hint = "indent it like the line above, or end the line above with ':' to start a block"
    if "\t" in line[:width]:
        hint = "this line is indented with a tab, which counts as 8 columns; indent with spaces"
    return Diagnostic(
        "E012",
        "error",
        "unexpected indentation",
        path,
        ast.Span(line_no, 1, line_no, width + 1),
        hint,
    )


def _stray_else(err: UnexpectedToken, text: str, path: str) -> Diagnostic | None:
    """`elif`/`else` that follow no `if …:` block read as a setting; say so plainly."""
    line_no = err.token.line or 0
    lines = text.split("\n")
    if not 0 < line_no <= len(lines):
        return None
    line = lines[line_no - 1]
    word = line.split("#")[0].strip().split(" ")[0].rstrip(":")
    if word not in ("elif", "else"):
        return None
    col = len(line) - len(line.lstrip()) + 1
    return Diagnostic(
        "E010",
        "error",
        f"'{word}' does not follow an 'if …:' block",
        path,
        ast.Span(line_no, col, line_no, col + len(word)),
        "put it at the same indentation as its 'if', right after the if's lines; "
        "the one-line form 'if … -> state' takes no elif or else",
    )


def _char_hint(char: str) -> str | None:
    if char in "“”‘’":
        return 'use plain double quotes "…" (a word processor swapped them)'
    if char == "'":
        return 'strings use double quotes: "…"'
    if char == "\t":
        return None
    return None


def _terminal_text(name: str) -> str:
    """A terminal's literal text, for anonymous ones like '->'."""
    try:
        pattern = bare_parser().get_terminal(name).pattern
    except KeyError:
        return name
    return f"'{pattern.value}'" if pattern.type == "str" else name


def _token_message(tok: Token, text: str, truncated: bool) -> tuple[str, ast.Span]:
    if tok.type == "$END":
        lines = text.rstrip("\n").split("\n")
        line = len(lines)
        col = len(lines[-1]) + 1
        return "unexpected end of file", ast.Span(line, col, line, col + 1)
    if tok.type in ("_NL", "_DEDENT", "_INDENT"):
        line = tok.line or 1
        col = tok.column or 1
        if tok.type == "_INDENT":
            nxt = tok.end_line or line
            return "unexpected indentation", ast.Span(nxt, 1, nxt, len(str(tok)) + 1)
        # Point just after the last character of the line the parser stopped on.
        src_line = text.split("\n")[line - 1] if line - 1 < text.count("\n") + 1 else ""
        col = len(src_line.split("#")[0].rstrip()) + 1
        last = line >= len(text.rstrip("\n").split("\n"))
        what = "unexpected end of file" if truncated and last else "unexpected end of line"
        return what, ast.Span(line, col, line, col + 1)
    return f"unexpected '{tok}'", _token_span(tok)


@cache
def _example_labels() -> dict[tuple[Any, str], str]:
    """(parser state, token type) → label, learnt from the broken snippets in EXAMPLES.

    Like lark's `match_examples`, but keyed on the state alone rather than the
    whole stack, so a snippet matches wherever in a file the same mistake is made.
    """
    index: dict[tuple[Any, str], str] = {}
    for label, snippets in EXAMPLES.items():
        # As written, after blank lines (a later declaration parsed alone), after a header.
        variants = [v for s in snippets for v in (s, "\n" + s, "flow f\n" + s)]
        for snippet in variants:
            try:
                _lark(True).parse(_prepare(snippet))
            except UnexpectedToken as ut:
                index.setdefault((ut.state.position, ut.token.type), label)
                index.setdefault((ut.state.position, "*"), label)
            except (UnexpectedInput, IndentError):
                pass
    return index


def _label(err: UnexpectedToken) -> str | None:
    index = _example_labels()
    position = err.state.position
    return index.get((position, err.token.type)) or index.get((position, "*"))


def parse_tree(text: str, path: str = "<string>") -> ast.Module:
    """Parse one file's text; raise `FlowSyntaxError` with every syntax error found."""
    parser = _lark(True)
    prepared = _prepare(text)
    truncated = not text.endswith("\n")
    try:
        header, items = cast(tuple[ast.Header | None, tuple[ast.Item, ...]], parser.parse(prepared))
        return ast.Module(path, header, items)
    except (UnexpectedInput, IndentError) as first:
        diagnostics: list[Diagnostic] = []
        for chunk in _chunks(prepared):
            try:
                parser.parse(chunk)
            except (UnexpectedInput, IndentError) as err:
                diagnostics.append(_diagnostic(err, path, prepared, truncated))
        if not diagnostics:  # the error needs more than one chunk to show
            diagnostics.append(_diagnostic(first, path, prepared, truncated))
        raise FlowSyntaxError(diagnostics, {path: text}) from None


__all__ = ["bare_parser", "grammar_text", "parse_tree"]
