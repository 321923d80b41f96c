"""Issue 12, item 1: retry limits hold whatever a handler does.

A handler `noinput -> repeat`, `nomatch -> repeat` or a jump back to the state by its own
name used to leave the state's visit without reaching `exhausted`: a silent caller stayed
on the line for ever. The interpreter, the traffic walk and the fuzzer's silence bound must
all agree that the state gives up after its retries.
"""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest

from ivrflow import compile_file
from ivrflow.model import Flow
from ivrflow.tools.fuzzing import fuzz_flow
from ivrflow.tools.testing import Call
from ivrflow.traffic.model import parse_model
from ivrflow.traffic.walk import END, Walker

# `{handler}` is the menu's no-input / no-match handling under test.
PLANTED = """
flow planted "A re-prompt loop planted in a handler"
  language en-US
  timeout 5s, retries 3

start:
  -> ask

menu ask:
  say "Press 1 for sales."
  1 -> done
{handler}
  exhausted -> agent

step agent:
  say "Let me pass you to someone."
  hangup "agent"

step done:
  say "Bye."
  hangup "done"
"""

HANDLERS = {
    "noinput -> repeat": "  noinput -> repeat",
    "nomatch -> repeat": '  noinput: say "Still there?"\n  nomatch -> repeat',
    "noinput -> own name": "  noinput -> ask",
    "handler with a prompt, then repeat": '  noinput:\n    say "I did not hear you."\n    -> repeat',
    "counted handlers": '  noinput 1 -> repeat\n  noinput 2:\n    say "Once more."\n    -> ask',
    "repeat inside an if": '  noinput:\n    if true -> repeat\n    say "never"\n    -> repeat',
}


def _flow(handler: str) -> Flow:
    text = PLANTED.replace("{handler}", handler)
    result = compile_file("planted.ivr", text=textwrap.dedent(text).lstrip("\n"))
    assert result.flow is not None, [str(d) for d in result.diagnostics]
    return result.flow


@pytest.mark.parametrize("handler", HANDLERS.values(), ids=list(HANDLERS))
def test_a_silent_caller_reaches_exhausted_after_the_retries(handler: str) -> None:
    call = Call(_flow(handler))
    call.start()
    for _ in range(3):
        assert not call.ended
        call.wait()
    assert call.ended, f"still in '{call.state}' after 3 no-inputs"
    assert call.outcome == {"kind": "self_served", "reason": "agent"}
    assert call.record is not None and call.record["noinput"] == 3


def test_wrong_keys_reach_exhausted_through_a_nomatch_repeat() -> None:
    call = Call(_flow(HANDLERS["nomatch -> repeat"]))
    call.start()
    for _ in range(3):
        call.press("9")
    assert call.outcome == {"kind": "self_served", "reason": "agent"}


def test_a_repeat_before_the_last_try_keeps_the_counts() -> None:
    """One no-input, then one no-match: the third failure of either kind is the last."""
    call = Call(_flow(HANDLERS["nomatch -> repeat"]))
    call.start()
    call.wait()
    call.press("9")
    assert not call.ended
    call.wait()
    assert call.outcome == {"kind": "self_served", "reason": "agent"}


@pytest.mark.parametrize("handler", HANDLERS.values(), ids=list(HANDLERS))
def test_the_fuzzers_silent_callers_end(handler: str, tmp_path: Path) -> None:
    path = tmp_path / "planted.ivr"
    path.write_text(PLANTED.replace("{handler}", handler), encoding="utf-8")
    report = fuzz_flow(path, 40, seed=4)
    silent = [str(v) for v in report.violations if v.invariant == "ends-when-silent"]
    assert silent == []
    assert report.ok, [str(v) for v in report.violations[:3]]


@pytest.mark.parametrize("handler", HANDLERS.values(), ids=list(HANDLERS))
def test_the_traffic_walk_gives_up_where_the_interpreter_does(handler: str) -> None:
    walker = Walker(
        _flow(handler),
        parse_model("caller: {noinput: 1, nomatch: 0, hangup: 0}\n"),
    )
    rng = random.Random(1)
    _, kind, target, _ = walker.walk(walker.start(rng.random), walker.hours_id(0.0), rng.random)
    assert kind == END
    assert target[:2] == ("self_served", "agent")
