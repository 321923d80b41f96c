"""No-input and no-match: the escalation rule, and how the interpreter carries it out.

`escalate` is the rule itself, a pure function of the state's escalation table, the kind,
the counts and the retries; the interpreter (`on_failure`) and the traffic walk both follow
it, so a prediction counts what a call would do. docs/runtime.md writes it down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from .. import model
from ..model.walk import ends
from . import actions as act
from .endings import end
from .results import ASK, BRANCH_END, HANDLER_END, Result
from .speaking import say, say_default
from .state import (
    CAPTURE_CONFIRM,
    DID_YOU_SAY,
    OFFER_CONFIRM,
    OFFER_NUMBER,
    QUESTIONS,
    CallState,
    Failure,
    Phase,
    new_row,
)
from .statements import enter, run_body
from .trace import edge, notify

# What a no-input or no-match leads to: (handler, label, last). `handler` is the flow's
# handler to run, or None for the default prompt; `label` its branch label ("noinput 2",
# or "noinput" for one written for every time); `last`: the last try, no re-prompt follows
# (so no default prompt either). A plain tuple: it is made on every failure.
Escalated: TypeAlias = tuple[model.Body | None, str, bool]


def exhausted(noinput: int, nomatch: int, retries: int) -> bool:
    """No-inputs and no-matches count together against the state's retries: when they
    reach them, the state gives up (its `exhausted` branch) instead of asking again."""
    return noinput + nomatch >= retries


def escalate(
    table: model.Escalation, kind: str, noinput: int, nomatch: int, retries: int
) -> Escalated:
    """The handler for this failure; `noinput`/`nomatch` count it already."""
    handler = table.for_count(noinput if kind == "noinput" else nomatch)
    last = noinput + nomatch >= retries  # exhausted(), inlined
    if handler is None:
        return (None, "", last)
    # The count the handler was written for (0: `noinput:` without one, every time).
    declared = next((n for n, b in table.by_count.items() if b is handler), 0)
    # The last failure: no re-prompt follows, so a handler meant to re-prompt ("press 1
    # for …") is skipped. One written for the retries-th time (`noinput 3` with retries 3)
    # is a goodbye and plays; one that leads on runs.
    if last and declared < retries and not ends(handler):
        return (None, "", last)
    return (handler, f"{kind} {declared}" if declared else kind, last)


# ---------------------------------------------------------------- the interpreter's side
def on_failure(call: CallState, kind: str) -> Result | None:
    """A no-input or no-match: count it, run the escalation, then retry or give up."""
    state = call.flow.states[call.state]
    call.buffer = ""
    t = round(call.now - call.started_at, 3)
    call.failures.append(new_row(Failure, (call.state, kind, t)))
    if kind == "noinput":
        call.noinput += 1
        call.total_noinput += 1
    else:
        call.nomatch += 1
        call.total_nomatch += 1
    if call.phase in QUESTIONS:  # a yes/no or a number: the state's prompts don't fit
        say_default(call, kind)
        return after_failure(call, state)
    table: model.Escalation = getattr(state, kind, model.NO_ESCALATION)
    retries = getattr(state, "input", call.flow.settings.input).retries
    handler, label, last = escalate(table, kind, call.noinput, call.nomatch, retries)
    if handler is None:
        if not last:
            say_default(call, kind)
        return after_failure(call, state)
    return run_body(call, handler, HANDLER_END, label)


def after_handler(call: CallState) -> Result | None:
    """The escalation prompt played: the state asks again (or gives up)."""
    for listener in call.listeners:
        notify(call, listener, "edge", call.state, call.state, call.label)
    return after_failure(call, call.flow.states[call.state])


def after_failure(call: CallState, state: model.State) -> Result | None:
    retries = getattr(state, "input", call.flow.settings.input).retries
    if call.noinput + call.nomatch >= retries:  # exhausted(), inlined
        body = getattr(state, "exhausted", None)
        if body is not None:
            return run_body(call, body, BRANCH_END, "exhausted")
        say_default(call, "exhausted")
        edge(call, "(error)", "exhausted")
        end(call, "error", reason="retries exhausted", state=call.state)
        call.out.append(act.Hangup("exhausted"))
        return None
    again = _ASK_AGAIN.get(call.phase)
    return again(call, state) if again is not None else enter(call, call.state, repeat=True)


def _back_to_menu(call: CallState, state: model.State) -> Result | None:
    return enter(call, call.state, repeat=True)  # "no" (or no answer): the menu again


def _confirm_again(call: CallState, state: model.State) -> Result:
    confirm = getattr(state, "confirm", None)  # captures and callback offers
    if confirm is not None:
        say(call, confirm)
    return ASK[call.phase]


def _number_again(call: CallState, state: model.State) -> Result:
    say_default(call, "callback_number")
    return ASK[call.phase]


# A question the interpreter asked is asked again, in full; a state's own prompt, by
# entering it again.
_ASK_AGAIN: dict[Phase, Callable[[CallState, model.State], Result | None]] = {
    DID_YOU_SAY: _back_to_menu,
    CAPTURE_CONFIRM: _confirm_again,
    OFFER_CONFIRM: _confirm_again,
    OFFER_NUMBER: _number_again,
}

__all__ = ["Escalated", "after_failure", "after_handler", "escalate", "exhausted", "on_failure"]
