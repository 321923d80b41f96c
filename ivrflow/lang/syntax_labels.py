"""Human labels for syntax errors, in lark's `match_examples` style.

Each label lists broken snippets; a real error that stops the parser in the
same state, on the same kind of token, gets that label instead of a bare
"unexpected token".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

EXAMPLES: dict[str, list[str]] = {
    "missing ':' after the state name": [
        'menu main_menu\n  say "x"\n',
        "capture account\n  digits 4\n",
        "step s\n  hangup\n",
        "transfer agent\n  queue q\n",
        "callback cb\n  queue q\n",
        "lookup l f(x) as y\n  ok -> a\n",
        "start\n  hangup\n",
    ],
    "missing the state's name": ["menu :\n  hangup\n", "capture :\n  hangup\n", "step :\n"],
    "missing ':' after the condition": [
        "start:\n  if x == 1\n    hangup\n",
        "start:\n  if x\n    hangup\n",
        "start:\n  if open(office)\n    hangup\n",
        "start:\n  if x in vip\n    hangup\n",
        'start:\n  switch x\n    "a" -> b\n',
    ],
    "missing '->' or ':' after the choice": [
        "menu m:\n  1 account\n",
        'menu m:\n  "billing" account\n',
        'menu m:\n  1, "billing" account\n',
        'menu m:\n  noinput 1 say "x"\n',
        "start:\n  split:\n    50% a\n",
    ],
    "missing a state name after '->'": [
        "menu m:\n  1 ->\n",
        "start:\n  ->\n",
        "start:\n  goto\n",
        "start:\n  if x ->\n",
        'menu m:\n  1 -> "a"\n',
        'start:\n  goto "a"\n',
    ],
    "expected an expression": [
        "start:\n  set x =\n",
        "start:\n  if :\n    hangup\n",
        "start:\n  if x == :\n    hangup\n",
        "start:\n  if x and :\n    hangup\n",
        "var x =\n",
    ],
    "missing '=' after the variable name": ["start:\n  set x 1\n", "var x 1\n"],
    "missing the variable name after 'set'": ["start:\n  set = 1\n", "start:\n  set\n"],
    "missing text or a prompt name after 'say'": ["start:\n  say\n", "start:\n  say 1\n"],
    "missing the audio file after 'play'": ["start:\n  play\n", "start:\n  play x\n"],
    "expected an indented block": [
        "menu m:\nhangup\n",
        "menu m:\n",
        "start:\n  if x:\n  hangup\n",
    ],
    "expected 'on' or 'off' after 'barge-in'": ['start:\n  say "x" barge-in\n'],
    "expected a language tag like en-US after 'language'": [
        'start:\n  say "x" language en\n',
    ],
    "expected a declaration or a state": [
        "menuu m:\n  hangup\n",
        "x\n",
        "1\n",
        "start:\n  hangup\nfoo bar\n",
    ],
    "missing the flow's name": ["flow\n", 'flow "x"\n', "module\n"],
    "unclosed '(' or '['": [
        "start:\n  if open(office:\n    hangup\n",
        "start:\n  set x = [1, 2\n",
    ],
    "expected a time range like 08:00-18:00": [
        "hours h:\n  mon-fri 08:00\n",
        "hours h:\n  mon-fri\n",
        "hours h:\n  mon 8\n",
    ],
    "expected a date like 2026-12-25 after 'closed'": [
        "hours h:\n  closed\n",
        "hours h:\n  closed 12\n",
    ],
    "expected a calendar code like BR or BR-SP after 'holidays'": [
        "hours h:\n  holidays\n",
        "hours h:\n  holidays br-sp\n",
        'hours h:\n  holidays "BR"\n',
    ],
    'expected a language tag and its text, like: en-US "Welcome"': [
        'prompt p:\n  "x"\n',
        'prompt p:\n  en "x"\n',
        "prompt p:\n  en-US\n",
    ],
}

_NAMES: dict[str, str] = {
    "COLON": "':'",
    "_NL": "end of line",
    "_INDENT": "an indented block",
    "_DEDENT": "end of block",
    "NAME": "a name",
    "STRING": 'a "string"',
    "NUMBER": "a number",
    "DURATION": "a duration like 5s",
    "TIME": "a time like 08:00",
    "DATE": "a date like 2026-12-25",
    "PERCENT": "a percentage like 50%",
    "LANG": "a language tag like en-US",
    "CALENDAR_CODE": "a calendar code like BR-SP",
    "EQUAL": "'='",
    "COMMA": "','",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "SEMICOLON": "';'",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/' or '%'",
    "STAR": "'*'",
    "MINUS": "'-'",
    "DOT": "'.'",
    "$END": "end of file",
}


def _name(terminal: str, literal: Callable[[str], str]) -> str:
    if terminal in _NAMES:
        return _NAMES[terminal]
    if terminal.startswith("__ANON"):
        return literal(terminal)
    if terminal.isupper():
        return "'" + terminal.lower().replace("_", "-") + "'"
    return terminal


def describe_expected(expected: Iterable[str], literal: Callable[[str], str]) -> str | None:
    """'expected ':', '->', end of line' from a set of terminal names."""
    names = sorted({_name(t, literal) for t in expected if t not in ("_DEDENT",)})
    if not names:
        return None
    if len(names) > 8:
        names = names[:8] + ["…"]
    return "expected " + ", ".join(names)


__all__ = ["EXAMPLES", "describe_expected"]
