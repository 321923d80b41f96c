"""The queue leg: what happened to a caller between "please hold" and an agent.

A transfer to a queue opens a leg (which queue, when the call asked for it, the EWT the caller
was told); the transfer's result closes it with the outcome of the wait and its length, as
the gateway read them. The gateway's figures are outside the flow: missing or garbage ones
make the leg's outcome `failed` with the reason, never a crash, and the call goes on by the
transfer's status as before. docs/metrics.md defines what the record's `queue` section says.
"""

from __future__ import annotations

import math
from typing import Any

from . import events as ev
from .state import CallState
from .trace import scrub

QUEUE_OUTCOMES = (
    "answered",
    "abandoned",
    "left_for_callback",
    "overflow",
    "timeout",
    "full",
    "failed",
)
# The transfer's status → how the wait ended.
WAIT_OUTCOME: dict[str, str] = {
    "answered": "answered",
    "abandoned": "abandoned",
    "callback": "left_for_callback",
    "noanswer": "timeout",
    "busy": "full",
    "full": "full",
    "failed": "failed",
    "queued": "failed",
}
# Outcomes that mean the caller waited: the gateway must say how long.
NEEDS_WAIT = frozenset({"answered", "abandoned", "left_for_callback", "timeout", "overflow"})
# Outcomes after which the call is the ACD's (or gone): the IVR's part ended at queued_at.
HANDED_OVER = frozenset({"answered", "abandoned"})
MAX_WAIT = 1e7  # seconds; more is garbage, not a wait
MAX_TEXT = 200  # characters of a gateway's text (detail, reason) the record keeps


def open_leg(
    call: CallState, queue: str, ewt_announced: float | None, max_wait: float | None = None
) -> None:
    leg = {"queue": queue, "asked_at": call.now, "ewt_announced": ewt_announced, "outcome": None}
    if max_wait is not None:
        leg["max_wait"] = max_wait  # the flow's overflow: a timeout sends the caller on
    call.queue_legs.append(leg)


def close_leg(call: CallState, e: ev.TransferResult) -> dict[str, Any] | None:
    """Close the open leg with the transfer's result; the leg, or None if none was open."""
    if not call.queue_legs or call.queue_legs[-1]["outcome"] is not None:
        return None
    leg = call.queue_legs[-1]
    outcome = WAIT_OUTCOME.get(str(e.status), "failed")
    problems: list[str] = []
    queued_at = float(leg["asked_at"])
    if e.queued_at is not None:
        value = _seconds(e.queued_at)
        if value is None or not call.started_at - 1.0 <= value <= e.at + 1.0:
            problems.append(f"the queue entry time is not usable ({e.queued_at!r:.40})")
        else:
            queued_at = value
    wait: float | None = None
    if e.wait is not None:
        wait = _seconds(e.wait)
        if wait is None or not 0 <= wait < MAX_WAIT:
            problems.append(f"the wait is not usable ({e.wait!r:.40})")
            wait = None
    elif outcome in NEEDS_WAIT:
        problems.append("the gateway did not say how long the caller waited")
    elif outcome == "full":
        wait = 0.0  # never got in
    leg.update(queued_at=round(queued_at, 3), wait=None if wait is None else round(wait, 3))
    if e.detail:
        leg["detail"] = scrub(call, str(e.detail))[:MAX_TEXT]
    if e.status == "queued":
        problems.append("the call was handed over without a report of how the wait ended")
    elif outcome == "failed" and not problems:
        problems.append(scrub(call, str(e.detail or "the queue failed")))
    if outcome == "timeout" and leg.get("max_wait") is not None:
        outcome = "overflow"  # the flow's maximum wait: its noanswer branch takes the caller
    if problems:
        outcome = "failed"
        leg["reason"] = "; ".join(problems)[:MAX_TEXT]  # a gateway's garbage, bounded
    leg["outcome"] = outcome
    leg["ended_call"] = outcome in HANDED_OVER or e.status in ("answered", "queued")
    return leg


def _seconds(value: Any) -> float | None:
    """A gateway's figure as seconds: a number or its text, finite; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def ivr_time(call: CallState, start: float, end: float) -> tuple[float, float]:
    """The IVR's part of the call: when it ended and how long it took. A wait the call
    came back from (a timeout, a full queue) is not IVR time; a wait that ended the call
    (answered, abandoned in queue) begins after the IVR's end."""
    legs = [leg for leg in call.queue_legs if leg["outcome"] is not None]
    if legs and legs[-1]["ended_call"]:
        end = min(end, max(start, float(legs[-1]["queued_at"])))
        legs = legs[:-1]
    waited = sum(float(leg["wait"] or 0.0) for leg in legs)
    return end, max(0.0, end - start - waited)


def leg_records(call: CallState, iso: Any) -> dict[str, Any] | None:
    """The record's `queue` section: the last leg, with any earlier ones under `earlier`."""
    legs = [_leg_record(leg, iso) for leg in call.queue_legs if leg["outcome"] is not None]
    if not legs:
        return None
    last = legs[-1]
    if len(legs) > 1:
        last["earlier"] = legs[:-1]
    return last


def _leg_record(leg: dict[str, Any], iso: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "queue": leg["queue"],
        "queued_at": iso(leg["queued_at"]),
        "outcome": leg["outcome"],
        "wait": leg["wait"],
        "ewt_announced": leg["ewt_announced"],
    }
    for key in ("reason", "detail", "key"):
        if leg.get(key):
            out[key] = leg[key]
    return out


__all__ = [
    "HANDED_OVER",
    "MAX_TEXT",
    "MAX_WAIT",
    "NEEDS_WAIT",
    "QUEUE_OUTCOMES",
    "WAIT_OUTCOME",
    "close_leg",
    "ivr_time",
    "leg_records",
    "open_leg",
]
