"""Call detail records (CDR): what a finished call's record says.

Exactly one record per call. The session builds it (`session.record`); the host writes it
through a sink (`ivrflow.host.sinks`). `Listener` (listener.py, re-exported here where tools
have always found it) is how tools watch a call as it runs.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .listener import Listener
from .queue_leg import ivr_time, leg_records

if TYPE_CHECKING:
    from .state import CallState

OUTCOMES = ("self_served", "transferred", "callback_scheduled", "abandoned", "error")
# Where a `transferred` outcome went: one of these keys names it.
TRANSFER_TARGETS = ("queue", "number", "sip", "extension")


def mask(number: str | None, keep: int = 4) -> str | None:
    """'+5511987654321' → '**********4321': enough to recognise, not to dial."""
    if number is None:
        return None
    return "*" * max(0, len(number) - keep) + number[-keep:]


def iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="milliseconds")


def build_record(session: CallState) -> dict[str, Any]:
    start = session.started_at
    end = session.ended_at if session.ended_at is not None else session.now
    # `ended_at` and `duration` are the IVR's part; a queue's wait is the `queue` section's.
    end, duration = ivr_time(session, start, end)
    flow = session.flow
    outcome = dict(session.outcome or {"kind": "error", "reason": "call did not end"})
    record: dict[str, Any] = {
        "call_id": session.call_id,
        "flow": flow.name,
        "flow_version": flow.version,
        "flow_hash": flow.content_hash,
        "ani": mask(session.ani) if session.mask_ani else session.ani,
        "dnis": session.dnis,
        "language": session.vars.get("language"),
        "started_at": iso(start),
        "ended_at": iso(end),
        "duration": round(duration, 3),
        "outcome": outcome,
        "path": [{"state": s, "t": round(at - start, 3)} for s, at in session.path],
        "inputs": [_input(*row) for row in session.inputs],
        "lookups": [dict(lk) for lk in session.lookups],
        "noinput": session.total_noinput,
        "nomatch": session.total_nomatch,
        # Where each no-input / no-match happened: per-menu rates in `ivrflow report`.
        "failures": [{"state": st, "kind": kind, "t": t} for st, kind, t in session.failures],
        "errors": list(session.errors),
    }
    queue = leg_records(session, iso)
    if queue is not None:
        record["queue"] = queue
    if session.recordings:  # messages the caller left: where the host keeps them
        record["recordings"] = [dict(r) for r in session.recordings]
    return record


def _input(
    state: str, kind: str, value: str, t: float, how: str | None, confidence: float | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"state": state, "kind": kind, "value": value, "t": t}
    if how:
        entry["ended_by"] = how
    if confidence is not None:
        entry["confidence"] = confidence
    return entry


__all__ = ["OUTCOMES", "TRANSFER_TARGETS", "Listener", "build_record", "iso", "mask"]
