"""The trampoline: follow results until the call waits again, and the guard around it.

Every other module of the interpreter does its part and returns a `Result`; `follow` carries
it out — enter a state, end the call, return from a `call`, act on a body's end by the
body's role, listen — in a loop, so nothing below calls up to it. `HANDLERS` maps each
event type to its handler. Whatever goes wrong inside (a bad event, a failing template, a
loop in the flow), `recover` sends the call down its error path, and the call still ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import model
from . import actions as act
from . import events as ev
from .collect import listen, on_digits, on_noinput, on_utterance
from .endings import describe, end, end_error, fail, on_hangup
from .escalation import after_handler, back_from_handler, in_handler
from .evaluate import EvaluationError, evaluate
from .recording import on_recorded, request_recording
from .results import BODY_ENDS, RETURN, Ask, BodyEnd, Goto, HangUp, Result, Role
from .services import (
    enter_queue,
    on_callback,
    on_lookup,
    on_queue_status,
    on_transfer,
    request_lookup,
    transfer,
)
from .state import CallState
from .statements import STEP_BUDGET, BudgetExceeded, enter, resume
from .trace import notify

_FLOW_HANGUP = HangUp(None, "self_served")  # `-> hangup`
_BODY_ENDS = BODY_ENDS  # bound here: Python 3.11 calls a method of an imported name slowly


def follow(call: CallState, result: Result | None) -> None:
    """Carry out `result`, and whatever it leads to, until the call waits or ends."""
    while result is not None and not call.ended:
        # The kinds by how often they come: a body's end and a goto nearly every event.
        if isinstance(result, BodyEnd):
            after = _AFTER_BODY.get(result.role)
            if after is None:
                raise EvaluationError(f"state '{call.state}' ended without going anywhere")
            result = after(call)
        elif isinstance(result, Goto):
            target = result.target
            for listener in call.listeners:
                notify(call, listener, "edge", call.state, target, call.label)
            if (target == model.REPEAT or target == call.state) and in_handler(call.label):
                result = back_from_handler(call)
            elif target == model.REPEAT:
                result = enter(call, call.state, repeat=True)
            elif target == model.HANGUP:
                result = _FLOW_HANGUP
            elif target == model.RETURN:
                result = RETURN
            else:
                result = enter(call, target)
        elif isinstance(result, Ask):
            result = listen(call, result.phase)
        elif isinstance(result, HangUp):
            _hang_up(call, result)
            result = None
        else:
            result = _return(call)


def _hang_up(call: CallState, result: HangUp) -> None:
    error = result.outcome == "error"
    for listener in call.listeners:
        notify(call, listener, "edge", call.state, "(error)" if error else model.HANGUP, call.label)
    reason = result.reason or "flow ended the call"
    if error:
        call.errors.append(reason)
        end(call, "error", reason=reason, state=call.state)
    else:
        end(call, "self_served", reason=reason)
    call.out.append(act.Hangup(result.reason or "done"))


def _return(call: CallState) -> Result:
    if not call.calls:
        raise EvaluationError(f"'return' in state '{call.state}' with no call to return to")
    for listener in call.listeners:
        notify(call, listener, "edge", call.state, model.RETURN, call.label)
    frame = call.calls.pop()
    call.state = frame.state
    call.noinput, call.nomatch = frame.counts  # the caller's visit of that state goes on
    call.label = frame.label
    return resume(call, frame, _BODY_ENDS.get(frame.role) or BodyEnd(frame.role))


# What comes after a body that ran to its end, by the body's role; a step's body and a
# branch must lead somewhere.
_AFTER_BODY: dict[str, Callable[[CallState], Result | None]] = {
    Role.PROMPT: listen,
    Role.LOOKUP: request_lookup,
    Role.TRANSFER: transfer,
    Role.RECORD: request_recording,
    Role.HANDLER: after_handler,
    Role.QUEUE: enter_queue,
}

# The handler of each event a driver sends.
HANDLERS: dict[type, Callable[[CallState, Any], Result | None]] = {
    ev.Digits: on_digits,
    ev.NoInput: on_noinput,
    ev.Utterance: on_utterance,
    ev.Hangup: on_hangup,
    ev.LookupResult: on_lookup,
    ev.LookupFailed: on_lookup,
    ev.QueueStatus: on_queue_status,
    ev.TransferResult: on_transfer,
    ev.CallbackStored: on_callback,
    ev.CallbackFailed: on_callback,
    ev.Recorded: on_recorded,
    ev.RecordFailed: on_recorded,
}


def begin(call: CallState) -> Result | None:
    """The call's first steps: the flow's variables, then its start state."""
    for name, expr in call.flow.variables.items():
        if name not in call.vars:
            call.vars[name] = evaluate(expr, call)
    return enter(call, call.flow.start)


def guarded(call: CallState, step: Callable[..., Result | None], *args: Any) -> list[act.Action]:
    """Run `step` and follow its result; the actions it asked for."""
    out = call.out = []
    call.budget = STEP_BUDGET
    try:
        follow(call, step(call, *args))
    except Exception as exc:
        recover(call, exc)
    return out


def recover(call: CallState, exc: Exception) -> None:
    """A call must never crash: the error path runs instead, and the call still ends."""
    if isinstance(exc, BudgetExceeded):
        end_error(
            call,
            f"step budget exceeded in state '{call.state}': the flow loops without "
            "waiting for the caller",
            say=True,
        )
        return
    try:
        follow(call, fail(call, describe(exc)))
    except Exception as inner:
        end_error(call, f"{describe(exc)}; then {describe(inner)}", say=True)


__all__ = ["HANDLERS", "begin", "follow", "guarded", "recover"]
