"""What must hold for every fuzzed call, and the bound on a silent caller.

The invariants (their names appear in every violation line):

- `no-crash`: no exception escapes the session or the driver.
- `no-internal-error`: the record's `errors` name no Python exception (a `TypeError`
  the session caught is still a bug in the interpreter: the caller heard an apology).
- `ends-when-silent`: once the caller stops giving input, the call ends within
  `SilenceBound` — computed from the flow, see `silence_bound`.
- `not-stalled`: a call that has not ended is waiting for the caller (it is never stuck
  waiting for nothing).
- `one-record`: the call ended exactly once, and has exactly one record.
- `valid-outcome`: the record's outcome is one of `records.OUTCOMES`, with its details.
- `no-secret-leak`: see `leaks`.
- `snapshot-round-trip`: `to_dict(key)` is JSON, and `from_dict` of it gives back the
  same session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ... import model
from ...model.walk import bodies, walk
from ...runtime.queue_leg import MAX_TEXT, MAX_WAIT, NEEDS_WAIT, QUEUE_OUTCOMES
from ...runtime.record import OUTCOMES, TRANSFER_TARGETS
from ..testing import SPEECH_RATE

__all__ = [
    "INVARIANTS",
    "SilenceBound",
    "check_outcome",
    "internal_errors",
    "silence_bound",
]

INVARIANTS = (
    "no-crash",
    "no-internal-error",
    "ends-when-silent",
    "not-stalled",
    "one-record",
    "valid-outcome",
    "no-secret-leak",
    "snapshot-round-trip",
)
VISITS_WHEN_SILENT = 2  # how often a silent caller may pass through one input state
# Python exceptions that are bugs when they reach a record (flow errors are worded in prose).
_PYTHON_ERROR = re.compile(
    r"\b(TypeError|AttributeError|KeyError|IndexError|ValueError|AssertionError|NameError|"
    r"RecursionError|ZeroDivisionError|OverflowError|MemoryError|UnboundLocalError|"
    r"UnicodeError|UnicodeEncodeError|RuntimeError|StopIteration|NotImplementedError)\b"
)
_DETAILS = {
    "self_served": ("reason",),
    "abandoned": ("state",),
    "error": ("reason",),
    "callback_scheduled": ("queue",),
}


@dataclass(frozen=True, slots=True)
class SilenceBound:
    """How long a call may go on once its caller is silent.

    `waits`: no-inputs the call may take (every input state visited at most
    `VISITS_WHEN_SILENT` times, each visit giving up after its `retries`);
    `seconds`: the same in time — each of those waits is the state's timeout plus
    its prompts at `testing.SPEECH_RATE` — plus every look-up's timeout once.
    """

    waits: int
    seconds: float


def _prompt_seconds(state: model.State) -> float:
    total = 0.0
    for body in bodies(state):
        for stmt in walk(body):
            if isinstance(stmt, model.Say):
                longest = max((len(t) for t in stmt.text.values()), default=0)
                total += max(1.0, longest / SPEECH_RATE)
            elif isinstance(stmt, model.Play):
                total += 3.0
    return total


def silence_bound(flow: model.Flow) -> SilenceBound:
    waits = 0
    seconds = 0.0
    for state in flow.states.values():
        if isinstance(state, model.Menu | model.Capture | model.CallbackOffer):
            n = VISITS_WHEN_SILENT * state.input.retries
            waits += n
            # a capture's confirm, a callback number: questions asked in the same visit
            seconds += n * (state.input.timeout + state.input.interdigit + _prompt_seconds(state))
        elif isinstance(state, model.Lookup):
            seconds += state.timeout + _prompt_seconds(state)
        else:
            seconds += _prompt_seconds(state)
    return SilenceBound(waits + 1, seconds + 10.0)


def internal_errors(record: dict[str, Any]) -> list[str]:
    return [e for e in record.get("errors", ()) if _PYTHON_ERROR.search(str(e))]


def check_outcome(record: dict[str, Any]) -> str | None:
    """What is wrong with a record's outcome, or None."""
    outcome = record.get("outcome")
    if not isinstance(outcome, dict):
        return f"outcome is {outcome!r}, not a mapping"
    kind = outcome.get("kind")
    if kind not in OUTCOMES:
        return f"outcome kind {kind!r} is not one of {', '.join(OUTCOMES)}"
    for detail in _DETAILS.get(str(kind), ()):
        if detail not in outcome:
            return f"outcome {kind} has no {detail}"
    if kind == "transferred" and not any(k in outcome for k in TRANSFER_TARGETS):
        return "outcome transferred names no queue, number, SIP URI or extension"
    if kind == "transferred" and "queue" in outcome and "queue" not in record:
        return "outcome transferred to a queue, but the record has no queue section"
    if "queue" in record:
        return check_queue_leg(record["queue"])
    return None


def check_queue_leg(leg: Any) -> str | None:
    """What is wrong with a record's queue section, or None."""
    if not isinstance(leg, dict):
        return f"queue section is {leg!r:.40}, not a mapping"
    for earlier in leg.get("earlier", ()):
        if (problem := check_queue_leg(earlier)) is not None:
            return f"earlier {problem}"
    outcome = leg.get("outcome")
    if outcome not in QUEUE_OUTCOMES:
        return f"queue outcome {outcome!r:.40} is not one of {', '.join(QUEUE_OUTCOMES)}"
    if outcome == "failed" and not leg.get("reason"):
        return "queue outcome failed without a reason"
    wait = leg.get("wait")
    if wait is None and outcome in NEEDS_WAIT:
        return f"queue outcome {outcome} without a wait"
    if wait is not None and not (isinstance(wait, int | float) and 0 <= wait < MAX_WAIT):
        return f"queue wait {wait!r:.40} is not a number of seconds"
    for field in ("reason", "detail"):
        if len(str(leg.get(field) or "")) > MAX_TEXT:
            return (
                f"queue {field} is longer than {MAX_TEXT} characters (a gateway's text, unbounded)"
            )
    return None
