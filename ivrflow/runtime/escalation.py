"""No-input and no-match: the escalation rule, and how the interpreter carries it out.

`escalate` is the rule itself (model.escalation: a pure function of the state's escalation
table, the kind, the counts and the retries); the interpreter (`on_failure`), the traffic walk
and the compiler's silent-loop check all follow it, so a prediction counts what a call would
do. docs/runtime.md writes it down.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import model
from ..model.escalation import Escalated, escalate, exhausted, exit_of, spent
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
    limits = getattr(state, "input", call.flow.settings.input)
    handler, label, last = escalate(table, kind, call.noinput, call.nomatch, limits, call.state)
    if handler is None:
        if not last:
            say_default(call, kind)
        return after_failure(call, state)
    return run_body(call, handler, HANDLER_END, label)


def in_handler(label: str) -> bool:
    """The body running (named by its branch label) is a no-input or no-match handler."""
    return label.startswith(("noinput", "nomatch")) and not label.endswith("exhausted")


def back_from_handler(call: CallState) -> Result | None:
    """A handler went back to its own state (`-> repeat`, or the state's name): the same
    visit, so the counts go on and the retries still hold — at the limit, `exhausted`."""
    return after_failure(call, call.flow.states[call.state])


def after_handler(call: CallState) -> Result | None:
    """The escalation prompt played: the state asks again (or gives up)."""
    for listener in call.listeners:
        notify(call, listener, "edge", call.state, call.state, call.label)
    return after_failure(call, call.flow.states[call.state])


def after_failure(call: CallState, state: model.State) -> Result | None:
    limits = getattr(state, "input", call.flow.settings.input)
    which = spent(call.noinput, call.nomatch, limits)
    if which is not None:
        inputs = model.Menu | model.Capture | model.CallbackOffer
        body, label = exit_of(state, which) if isinstance(state, inputs) else (None, "")
        if body is not None:
            return run_body(call, body, BRANCH_END, label)
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

__all__ = [
    "Escalated",
    "after_failure",
    "after_handler",
    "back_from_handler",
    "escalate",
    "exhausted",
    "in_handler",
    "on_failure",
]
