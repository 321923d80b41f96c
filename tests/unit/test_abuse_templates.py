"""Hostile prompt templates: sandbox escapes refused, memory and CPU bounded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ivrflow.compiler import compile_file
from ivrflow.model import templates
from ivrflow.tools.testing import Call

pytestmark = pytest.mark.abuse

VARS = {"acct": {"balance": 3, "name": "ana", "late": True}, "language": "en-US"}


def flow_saying(prompt: str) -> str:
    return f'flow t "t"\n\nvar acct = ""\n\nstart:\n  say "{prompt}"\n  hangup\n'


def render_error(text: str) -> str:
    with pytest.raises(Exception) as info:
        templates.render(text, VARS, "en-US")
    return str(info.value)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ acct.__class__.__base__.__subclasses__() }}",
        "{{ acct['__class__'] }}",
        "{{ range.__globals__ }}",
        "{{ acct.__class__ }}",
    ],
)
def test_sandbox_escapes_are_refused_when_the_flow_compiles(template: str) -> None:
    result = compile_file("t.ivr", flow_saying(template))
    assert result.flow is None
    messages = [d.message for d in result.errors]
    assert any("template refused" in m and "private" in m for m in messages), messages


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}", "{{ lipsum(1000) }}"],
)
def test_sandbox_escapes_are_refused_when_rendered_too(template: str) -> None:
    message = render_error(template)
    assert "unsafe" in message or "undefined" in message


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{{ 'x' * 1000000000 }}", "too long"),  # 1 GB of text
        ("{{ [1] * 1000000000 }}", "too long"),
        ("{{ 9 ** 9 ** 9 }}", "too large"),  # hours of CPU
        ("{{ 2 ** 10 ** 10 }}", "too large"),
        ("{{ (2 ** 60) * (2 ** 60) }}", "too large"),
        ("{{ range(100000000) | list }}", "range"),
        ("{{ '%0999999999d' % 1 }}", "formatting"),
    ],
)
def test_templates_cannot_exhaust_memory_or_cpu(template: str, words: str) -> None:
    began = time.perf_counter()
    assert words in render_error(template)
    assert time.perf_counter() - began < 5  # refused before the work, not after


@pytest.mark.parametrize(
    "template",
    [
        "{{ '{:>999999999}'.format(1) }}",
        "{{ 'x'.center(1000000000) }}",
        "{{ 'x'.ljust(1000000000) }}",
        "{{ 'x'.zfill(1000000000) }}",
        "{{ acct.name.format_map({}) }}",
    ],
)
def test_string_methods_that_build_huge_texts_are_unsafe(template: str) -> None:
    assert "unsafe" in render_error(template)


@pytest.mark.parametrize("name", ["center", "indent", "wordwrap", "format", "random"])
def test_filters_that_build_huge_texts_or_are_random_are_unknown(name: str) -> None:
    problems = list(templates.check("{{ acct.name | " + name + "(9) }}", frozenset({"acct"})))
    assert [p.code for p in problems] == ["E152"]


def test_a_rendered_prompt_is_capped() -> None:
    assert len(templates.render("{{ 'ab' * 5000 }}", VARS)) == 10_000
    long_value = {"acct": {"name": "x" * (templates.MAX_PROMPT + 1)}}
    with pytest.raises(templates.TemplateLimitError):
        templates.render("Hello {{ acct.name }}", long_value, "en-US")
    with pytest.raises(templates.TemplateLimitError):
        templates.render("{% for i in range(900) %}{{ 'abcdefghijklmnop' }}{% endfor %}", VARS)


@pytest.mark.parametrize(
    ("template", "what"),
    [
        ("{% for a in range(9) %}{% for b in range(9) %}x{% endfor %}{% endfor %}", "loop"),
        ("{% macro m() %}x{% endmacro %}{{ m() }}", "macro"),
        ("{% include 'x' %}", "include"),
    ],
)
def test_loops_inside_loops_and_macros_are_refused(template: str, what: str) -> None:
    problems = list(templates.check(template, frozenset()))
    assert problems and problems[0].code == "E150"
    assert "template refused" in problems[0].message and what in problems[0].message


def test_what_prompts_do_still_works() -> None:
    text = "{{ acct.balance }} {{ acct.name.upper() }}{% if acct.late %} late{% endif %}"
    assert templates.render(text, VARS, "en-US") == "3 ANA late"
    assert "3" in templates.render("{{ acct.balance | currency }}", VARS, "en-US")
    assert templates.render("{% for i in range(3) %}{{ i }}{% endfor %}", VARS) == "012"


def test_a_hostile_template_takes_the_error_path_and_the_call_still_has_a_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bomb.ivr"
    path.write_text(
        'flow bomb "b"\n\nstart:\n  say "{{ \'x\' * 1000000000 }}"\n  hangup\n', encoding="utf-8"
    )
    call = Call.open(path)
    assert call.ended
    assert call.outcome is not None and call.outcome["kind"] == "error"
    assert "too long" in call.outcome["reason"]


def test_values_are_data_never_templates() -> None:
    hostile = {"acct": {"name": "{{ ''.__class__ }}{{ 7*7 }}"}}
    assert templates.render("Hi {{ acct.name }}", hostile, "en-US") == (
        "Hi {{ ''.__class__ }}{{ 7*7 }}"
    )
    assert templates.render("{{ acct.name | upper }}{% if 1 %}!{% endif %}", hostile) == (
        "{{ ''.__CLASS__ }}{{ 7*7 }}!"
    )
