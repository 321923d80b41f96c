"""How a call ends — exactly one outcome, and a record even when something failed — and
what it notes on the way (inputs, look-ups) for that record."""

from __future__ import annotations

from typing import Any

from . import actions as act
from . import events as ev
from .evaluate import EvaluationError
from .record import build_record
from .results import Goto
from .speaking import say_default
from .state import ENDED, CallState, Input, new_row
from .trace import notify, scrub


def end(call: CallState, kind: str, **details: Any) -> None:
    if call.ended:
        return
    # A callback stored earlier stays the outcome, whatever ends the call after it.
    if call.outcome is None or kind == "transferred":
        call.outcome = {"kind": kind, **details}
    call.ended = True
    call.ended_at = call.now
    call.phase = ENDED
    if call.listeners:
        record = build_record(call)
        for listener in call.listeners:
            notify(call, listener, "ended", record)


def end_error(call: CallState, reason: str, say: bool) -> None:
    """End with outcome `error`: apologize (unless the driver failed), hang up."""
    reason = scrub(call, reason)
    call.errors.append(reason)
    if say:
        say_default(call, "error")
    call.out.append(act.Hangup("error"))
    end(call, "error", reason=reason, state=call.state)


def fail(call: CallState, reason: str) -> Goto | None:
    """A runtime problem: the flow's `error` state if it has one (once), else apologize
    and end. Returns the way to the error state, for the trampoline to follow."""
    if call.ended:
        return None
    reason = scrub(call, reason)
    call.errors.append(reason)
    call.vars["error"] = reason
    if "error" in call.flow.states and not call.in_error:
        call.in_error = True
        return Goto("error")
    call.errors.pop()
    end_error(call, reason, say=True)
    return None


def on_hangup(call: CallState, e: ev.Hangup) -> None:
    end(call, "abandoned", state=call.state)


def describe(exc: BaseException) -> str:
    if isinstance(exc, EvaluationError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def record_input(
    call: CallState,
    kind: str,
    value: str,
    secure: bool = False,
    how: str | None = None,
    confidence: float | None = None,
) -> None:
    shown = "****" if secure else value
    t = round(call.now - call.started_at, 3)
    row = (call.state, kind, shown, t, how)
    call.inputs.append(new_row(Input, row if confidence is None else (*row, confidence)))
    if not secure:
        call.vars["last_input"] = value
    for listener in call.listeners:
        notify(call, listener, "input", kind, shown, call.now)


def record_lookup(
    call: CallState, function: str, status: str, latency: float, reason: str = ""
) -> None:
    entry: dict[str, Any] = {"function": function, "status": status, "latency_ms": latency}
    if reason:
        entry["reason"] = reason
    call.lookups.append(entry)
    for listener in call.listeners:
        notify(call, listener, "lookup", function, status, latency)


__all__ = ["describe", "end", "end_error", "fail", "on_hangup", "record_input", "record_lookup"]
