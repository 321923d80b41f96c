"""The parser: text → syntax tree with exact spans, and labelled syntax errors."""

from __future__ import annotations

import textwrap

import pytest

from ivrflow import FlowSyntaxError
from ivrflow.lang import ast
from ivrflow.lang.parser import parse_tree


def parse(text: str) -> ast.Module:
    return parse_tree(textwrap.dedent(text).lstrip("\n"), "t.ivr")


def syntax_errors(text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(FlowSyntaxError) as info:
        parse(text)
    return [
        (d.code, d.span.line, d.span.column, d.message)
        for d in info.value.diagnostics
        if d.span is not None
    ]


def test_header_settings_and_title() -> None:
    m = parse("""
        flow billing "Billing hotline"
          language pt-BR
          timeout 5s, interdigit 3s, retries 3
    """)
    assert m.header is not None
    assert (m.header.kind, m.header.name, m.header.title) == ("flow", "billing", "Billing hotline")
    assert [s.name for s in m.header.settings] == ["language", "timeout"]
    # The comma groups are kept; the compiler decides which start another setting.
    more = m.header.settings[1].more
    assert [[getattr(v, "path", getattr(v, "text", None)) for v in g] for g in more] == [
        [("interdigit",), "3s"],
        [("retries",), "3"],
    ]
    lang = m.header.settings[0].values[0]
    assert isinstance(lang, ast.LangValue) and lang.tag == "pt-BR"
    assert m.header.name_span == ast.Span(1, 6, 1, 13)


def test_menu_branches_keep_keys_phrases_and_counts() -> None:
    m = parse("""
        flow f
        menu main:
          say "Press 1"
          1, "billing", "boleto" -> account
          * -> repeat
          noinput 2: say "Still there?"
          exhausted -> agent
    """)
    (menu,) = m.items
    assert isinstance(menu, ast.StateDecl) and menu.kind == "menu"
    say, choice, star, noinput, exhausted = menu.body
    assert isinstance(say, ast.Say) and say.text == "Press 1"
    assert isinstance(choice, ast.Branch)
    assert [(lb.kind, lb.text) for lb in choice.labels] == [
        ("key", "1"),
        ("phrase", "billing"),
        ("phrase", "boleto"),
    ]
    assert isinstance(choice.body[0], ast.Goto) and choice.body[0].target == "account"
    assert isinstance(star, ast.Branch) and star.labels[0].text == "*"
    assert isinstance(noinput, ast.Branch)
    assert (noinput.labels[0].kind, noinput.labels[0].nth) == ("counted", 2)
    assert isinstance(noinput.body[0], ast.Say)
    assert isinstance(exhausted, ast.Branch) and exhausted.labels[0].kind == "word"


def test_keywords_are_names_where_a_name_is_expected() -> None:
    # `language` is a say option keyword, but a plain variable after `set`.
    m = parse("""
        flow f
        start:
          set language = "en-US"
          say "Hi" language en-US
          goto start
    """)
    (start,) = m.items
    assert isinstance(start, ast.StateDecl)
    set_, say, goto = start.body
    assert isinstance(set_, ast.Set) and set_.name == "language"
    assert isinstance(say, ast.Say) and say.options[0].value == "en-US"
    assert isinstance(goto, ast.Goto) and goto.target == "start"


def test_expressions_precedence_and_spans() -> None:
    m = parse("""
        flow f
        start:
          if not a == 1 and b in vip or c startswith "+55": hangup
          -> start
    """)
    (start,) = m.items
    assert isinstance(start, ast.StateDecl)
    stmt = start.body[0]
    assert isinstance(stmt, ast.If)
    cond = stmt.branches[0].condition
    assert isinstance(cond, ast.Binary) and cond.op == "or"
    left = cond.left
    assert isinstance(left, ast.Binary) and left.op == "and"
    assert isinstance(left.left, ast.Unary) and left.left.op == "not"
    assert isinstance(left.right, ast.Binary) and left.right.op == "in"
    assert isinstance(cond.right, ast.Binary) and cond.right.op == "startswith"
    assert cond.span == ast.Span(3, 6, 3, 51)


def test_literals_durations_times_dates_percent() -> None:
    m = parse("""
        flow f
        start:
          if ewt > 1m30s and now < 08:00 and today == 2026-12-25: set share = 30%
          -> start
    """)
    (start,) = m.items
    assert isinstance(start, ast.StateDecl)
    stmt = start.body[0]
    assert isinstance(stmt, ast.If)
    kinds = []

    def walk(e: ast.Expr) -> None:
        if isinstance(e, ast.Binary):
            walk(e.left)
            walk(e.right)
        elif isinstance(e, ast.Literal):
            kinds.append((e.kind, e.text))

    cond = stmt.branches[0].condition
    assert cond is not None
    walk(cond)
    assert kinds == [("duration", "1m30s"), ("time", "08:00"), ("date", "2026-12-25")]
    set_ = stmt.branches[0].body[0]
    assert isinstance(set_, ast.Set) and isinstance(set_.expr, ast.Literal)
    assert set_.expr.kind == "percent"


def test_string_escapes_keep_regex_backslashes() -> None:
    m = parse(r"""
        flow f
        start:
          if ani matches "^\+5521\d+$": say "He said \"hi\"\n"
          -> start
    """)
    (start,) = m.items
    assert isinstance(start, ast.StateDecl)
    stmt = start.body[0]
    assert isinstance(stmt, ast.If)
    cond = stmt.branches[0].condition
    assert isinstance(cond, ast.Binary) and isinstance(cond.right, ast.Literal)
    assert cond.right.text == r"^\+5521\d+$"
    say = stmt.branches[0].body[0]
    assert isinstance(say, ast.Say) and say.text == 'He said "hi"\n'


def test_comments_blank_lines_tabs_and_no_final_newline() -> None:
    text = "# leading comment\n\nflow f  # trailing\n\nstart:\n\t# inside\n\thangup"
    m = parse_tree(text, "t.ivr")
    assert m.header is not None and m.header.name == "f"
    (start,) = m.items
    assert isinstance(start, ast.StateDecl) and isinstance(start.body[0], ast.Hangup)


def test_multiline_lists_inside_brackets() -> None:
    m = parse("""
        flow f
        list blocked [
          "+5511999990000",
          "+5521988880000",
        ]
    """)
    (lst,) = m.items
    assert isinstance(lst, ast.ListDecl) and len(lst.items) == 2


def test_hours_lines() -> None:
    m = parse("""
        module common
        hours office:
          timezone "America/Sao_Paulo"
          mon-fri 08:00-12:00, 13:00-18:00
          sun closed
          closed 2026-12-24..2026-12-26 08:00-12:00 "Natal"
    """)
    (hours,) = m.items
    assert isinstance(hours, ast.HoursDecl)
    tz, week, sun, closure = hours.lines
    assert isinstance(tz, ast.TimezoneLine) and tz.zone == "America/Sao_Paulo"
    assert isinstance(week, ast.WeeklyLine) and len(week.times) == 2
    assert week.days[0].first == "mon" and week.days[0].last == "fri"
    assert isinstance(sun, ast.WeeklyLine) and sun.times == ()
    assert isinstance(closure, ast.ClosureLine)
    assert (closure.first, closure.last, closure.reason) == ("2026-12-24", "2026-12-26", "Natal")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flow f\nmenu main\n  hangup\n", ("E010", 2, 10, "missing ':' after the state name")),
        ("flow f\nmenu m:\n  1 ->\n", ("E010", 3, 7, "missing a state name after '->'")),
        (
            "flow f\nstart:\n  if x == 1\n    hangup\n",
            ("E010", 3, 12, "missing ':' after the condition"),
        ),
        ("flow f\nstart:\n  set x =\n", ("E010", 3, 10, "expected an expression")),
        ("flow f\nmenu m:\n  1 account\n", ("E010", 3, 5, "missing '->' or ':' after the choice")),
        ("flow f\nmenuu m:\n  hangup\n", ("E010", 2, 1, "expected a declaration or a state")),
    ],
)
def test_syntax_errors_have_human_labels(text: str, expected: tuple[str, int, int, str]) -> None:
    assert syntax_errors(text)[0] == expected


def test_every_broken_declaration_is_reported() -> None:
    errors = syntax_errors("""
        flow f
        menu a
          hangup
        step b:
          say "fine"
          -> a
        step c:
          goto
    """)
    assert [(code, line) for code, line, _, _ in errors] == [("E010", 2), ("E010", 8)]


def test_unterminated_string_and_smart_quotes() -> None:
    (unterminated,) = syntax_errors('flow f\nstart:\n  say "Hello\n  hangup\n')
    assert unterminated == ("E011", 3, 7, "unterminated string")
    with pytest.raises(FlowSyntaxError) as info:
        parse("flow f\nstart:\n  say \u201cHello\u201d\n")
    (d,) = info.value.diagnostics
    assert d.code == "E011" and d.hint is not None and "plain double quotes" in d.hint


def test_inconsistent_dedent() -> None:
    (err,) = syntax_errors('flow f\nstart:\n    say "a"\n  hangup\n')
    assert err[0] == "E012" and err[1] == 4
