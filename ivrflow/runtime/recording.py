"""The `record` state: ask the host to record a message, and carry on with its answer.

The audio never enters the session: the host keeps it (a file, by default) and answers
with its reference, length and how the recording ended. The call keeps that in the state's
variable and in the record's `recordings`; a caller who hangs up while recording has still
left a message, so the call ends as self-served with it.
"""

from __future__ import annotations

from typing import Any

from .. import model
from . import actions as act
from . import events as ev
from .endings import end, end_error
from .results import BRANCH_END, Result
from .services import open_request
from .state import RECORDING, CallState
from .statements import run_body
from .trace import edge, scrub

# A host's answer is outside the flow: a length beyond a day is garbage, read as unknown.
_MAX_DURATION = 86_400.0


def request_recording(call: CallState) -> None:
    """The record state's prompt played: ask the host to record, under a request id."""
    rec = call.flow.states[call.state]
    assert isinstance(rec, model.Record)
    request = open_request(call, RECORDING)
    call.out.append(
        act.Record(request, rec.name, rec.max_length, rec.silence, rec.finish, rec.beep)
    )


def on_recorded(call: CallState, e: ev.Recorded | ev.RecordFailed) -> Result | None:
    if call.phase is not RECORDING or e.request != call.pending:
        return None  # a late answer to a request we no longer wait for
    rec = call.flow.states[call.state]
    assert isinstance(rec, model.Record)
    call.pending = None
    if isinstance(e, ev.RecordFailed):
        reason = scrub(call, str(e.reason))
        _note(call, rec, None, 0.0, "failed", reason)
        call.vars["error"] = reason
        if rec.error is not None:
            return run_body(call, rec.error, BRANCH_END, "error")
        edge(call, "(error)", "error")
        end_error(call, f"recording failed: {reason}", say=True)
        return None
    duration = _duration(e.duration)
    ended_by = e.ended_by if e.ended_by in ev.RECORDING_ENDS else "silence"
    reference = e.reference if isinstance(e.reference, str) and e.reference else None
    recorded = reference is not None and duration > 0
    message: dict[str, Any] = {
        "file": reference,
        "duration": duration,
        "ended_by": ended_by,
        "text": e.text if isinstance(e.text, str) else None,
    }
    call.vars[rec.into] = message
    _note(call, rec, reference, duration, ended_by if recorded else "silent")
    if ended_by == "hangup":
        end(call, "self_served" if recorded else "abandoned", state=call.state,
            **({"reason": "message recorded"} if recorded else {}))  # fmt: skip
        return None
    if not recorded and rec.silent is not None:
        return run_body(call, rec.silent, BRANCH_END, "silent")
    if reference is not None and recorded and rec.playback:
        call.out.append(act.Play(reference, barge_in=False))
    return run_body(call, rec.ok, BRANCH_END, "ok")


def _duration(value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return round(float(value), 3) if ok and 0 <= value < _MAX_DURATION else 0.0


def _note(
    call: CallState,
    rec: model.Record,
    reference: str | None,
    duration: float,
    outcome: str,
    reason: str | None = None,
) -> None:
    """The record's row for this recording: its reference, length and outcome."""
    row: dict[str, Any] = {
        "state": rec.name,
        "reference": reference,
        "duration": duration,
        "outcome": outcome,  # key | silence | max | hangup | silent | failed
        "t": round(call.now - call.started_at, 3),
    }
    if reason is not None:
        row["reason"] = reason
    call.recordings.append(row)


__all__ = ["on_recorded", "request_recording"]
