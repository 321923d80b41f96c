"""The escalation rule (runtime.escalation.escalate), the one the interpreter and the
traffic walk both follow: which handler a no-input or no-match runs, and the last try."""

from __future__ import annotations

import textwrap

from ivrflow import compile_file, model
from ivrflow.runtime.escalation import escalate, exhausted

FLOW = """
flow esc
  retries 3
start:
  -> menu_a
menu menu_a:
  say "Press 1."
  1 -> menu_b
  noinput 1: say "Nothing heard."
  noinput 3: say "Goodbye."
  nomatch: say "Not an option."
  exhausted: hangup "exhausted"
menu menu_b:
  say "Press 1."
  1 -> menu_a
  noinput 2:
    say "Back to the start."
    -> menu_a
  exhausted: hangup "exhausted"
"""


def menus() -> tuple[model.Menu, model.Menu]:
    result = compile_file("esc.ivr", text=textwrap.dedent(FLOW).lstrip("\n"))
    assert result.flow is not None
    a, b = result.flow.states["menu_a"], result.flow.states["menu_b"]
    assert isinstance(a, model.Menu) and isinstance(b, model.Menu)
    return a, b


def test_the_handler_for_each_count_and_the_last_one_listed_repeats() -> None:
    a, _ = menus()
    first, label, last = escalate(a.noinput, "noinput", 1, 0, 3)
    assert first is a.noinput.by_count[1] and label == "noinput 1" and not last
    again, label, _ = escalate(a.noinput, "noinput", 2, 0, 3)
    assert again is first and label == "noinput 1"  # no `noinput 2`: the one below repeats
    every, label, _ = escalate(a.nomatch, "nomatch", 0, 1, 3)
    assert every is a.nomatch.by_count[0] and label == "nomatch"  # written for every time


def test_on_the_last_try_a_re_prompt_is_skipped_but_a_goodbye_plays() -> None:
    a, _ = menus()
    # Two no-matches and a no-input: the last try; `noinput 1` would re-prompt, so it is skipped.
    assert escalate(a.noinput, "noinput", 1, 2, 3) == (None, "", True)
    # `noinput 3` is written for the retries-th time: a goodbye, it plays.
    goodbye, label, last = escalate(a.noinput, "noinput", 3, 0, 3)
    assert goodbye is a.noinput.by_count[3] and label == "noinput 3" and last


def test_on_the_last_try_a_handler_that_leads_on_runs() -> None:
    _, b = menus()
    handler, label, last = escalate(b.noinput, "noinput", 2, 1, 3)
    assert handler is b.noinput.by_count[2] and label == "noinput 2" and last


def test_no_handler_and_the_retries_count_both_kinds() -> None:
    _, b = menus()
    assert escalate(b.nomatch, "nomatch", 0, 1, 3) == (None, "", False)
    assert not exhausted(1, 1, 3) and exhausted(2, 1, 3) and exhausted(0, 3, 3)
