"""What the call asks of the host: look-ups, queue figures and transfers, stored callbacks.

Each is an action the driver performs and answers with an event; the answer's handler here
returns what comes next. An answer the call no longer waits for (late, or to another
request) is ignored. The host's data is outside the flow: a nonsensical figure is
"unknown", a malformed result the look-up's error branch, never a crash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from .. import model
from ..model import destinations, phone, sayas
from ..model import hours as hours_mod
from . import actions as act
from . import events as ev
from .endings import end, end_error, record_lookup
from .escalation import on_failure
from .evaluate import evaluate
from .queue_leg import close_leg, open_leg
from .record import mask
from .results import ASK, BRANCH_END, TRANSFER_END, HangUp, Result
from .speaking import language, say, say_default
from .state import (
    CALLBACK_STORE,
    LOOKUP,
    MAX_DIGITS,
    OFFER_CONFIRM,
    OFFER_NUMBER,
    QUEUE_STATUS,
    RUNNING,
    TRANSFER,
    CallState,
    Phase,
)
from .statements import run_body
from .trace import edge, scrub

# A look-up result is the host's data, kept in the call's variables and snapshots: one nested
# deeper than this, or with more items, is refused as malformed (the look-up's error branch).
MAX_RESULT_DEPTH = 64
MAX_RESULT_ITEMS = 100_000


# ---------------------------------------------------------------- look-ups
def open_request(call: CallState, phase: Phase) -> str:
    """A new request id of this call for the host to answer, waited for in `phase`."""
    call.seq += 1
    call.pending = f"{call.call_id}:{call.seq}"
    call.pending_since = call.now
    call.phase = phase
    return call.pending


def request_lookup(call: CallState) -> None:
    """A look-up's prompt played: ask the host, under a request id of this call."""
    lk = call.flow.states[call.state]
    assert isinstance(lk, model.Lookup)
    request = open_request(call, LOOKUP)
    args = tuple(evaluate(a, call) for a in lk.args)
    call.out.append(act.Lookup(request, lk.function, args, lk.timeout))


def on_lookup(call: CallState, e: ev.LookupResult | ev.LookupFailed) -> Result | None:
    if call.phase is not LOOKUP or e.request != call.pending:
        return None  # a late answer to a request we no longer wait for
    lk = call.flow.states[call.state]
    assert isinstance(lk, model.Lookup)
    call.pending = None
    latency = round((call.now - call.pending_since) * 1000, 1)
    if isinstance(e, ev.LookupResult) and (problem := _oversized(e.value)) is not None:
        e = ev.LookupFailed(e.at, e.request, f"malformed result: {problem}")
    if isinstance(e, ev.LookupResult):
        record_lookup(call, lk.function, "ok", latency)
        if lk.result:
            call.vars[lk.result] = e.value
        return run_body(call, lk.ok, BRANCH_END, "ok")
    status = "timeout" if e.timed_out else "error"
    reason = scrub(call, str(e.reason))
    record_lookup(call, lk.function, status, latency, reason)
    call.vars["error"] = reason  # the host's words: flows switch on them
    if lk.error is not None:
        return run_body(call, lk.error, BRANCH_END, "error")
    edge(call, "(error)", "error")
    end_error(call, f"look-up {lk.function} failed: {reason}", say=True)
    return None


def _oversized(value: Any) -> str | None:
    """Why a look-up result is too deep or too big to keep, or None. Iterative: a result
    nested a thousand levels must not exhaust the stack of the code that checks it."""
    stack = [(value, 0)]
    items = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth >= MAX_RESULT_DEPTH:
            return f"nested more than {MAX_RESULT_DEPTH} levels"
        items += len(node)
        if items > MAX_RESULT_ITEMS:
            return f"more than {MAX_RESULT_ITEMS} items"
        stack.extend((child, depth + 1) for child in children)
    return None


# ---------------------------------------------------------------- transfers
def enter_queue(call: CallState) -> Result | None:
    """A transfer to a queue was entered: pick the queue (named, or the value of its
    `queue target`), then ask for its figures, which its body may announce."""
    tr = call.flow.states[call.state]
    assert isinstance(tr, model.Transfer)
    queue = tr.queue
    if queue is None:
        assert tr.queue_expr is not None
        value = evaluate(tr.queue_expr, call)
        problem = _queue_problem(tr, value)
        if problem is not None:
            return _transfer_failed(call, tr, "failed", problem, invalid=True)
        queue = str(value)
    call.vars["queue"] = queue
    call.phase = QUEUE_STATUS
    call.out.append(act.GetQueueStatus(queue))
    return None


def _queue_problem(tr: model.Transfer, value: object) -> str | None:
    if isinstance(value, str) and value in tr.queues:
        return None
    reachable = ", ".join(tr.queues) or "none declared"
    return f"no queue {value!r} to transfer to (it may reach: {reachable})"


def on_queue_status(call: CallState, e: ev.QueueStatus) -> Result | None:
    if call.phase is not QUEUE_STATUS:
        return None
    tr = call.flow.states[call.state]
    assert isinstance(tr, model.Transfer)
    # The provider is outside the flow: a nonsensical figure is "unknown", not a crash.
    ewt = e.ewt if isinstance(e.ewt, (int, float)) and 0 <= e.ewt < 1e7 else None
    position = e.position if isinstance(e.position, int) and e.position >= 0 else None
    call.vars["ewt"] = ewt
    call.vars["position"] = position
    call.phase = RUNNING
    return run_body(call, tr.body, TRANSFER_END)


def transfer(call: CallState) -> Result | None:
    """A transfer's body ran: hand the call to its destination or queue."""
    tr = call.flow.states[call.state]
    assert isinstance(tr, model.Transfer)
    call.phase = TRANSFER
    if tr.kind is not None:
        assert tr.destination is not None
        found = _destination(call, tr, tr.kind)
        if isinstance(found, str):  # not dialable: the transfer fails here, not at the gateway
            return _transfer_failed(call, tr, "failed", found, invalid=True)
        call.vars["transfer_number"] = found.text()
        call.out.append(act.TransferToDestination(found))
        return None
    queue = call.vars.get("queue") if tr.queue is None else tr.queue
    problem = _queue_problem(tr, queue)
    if problem is not None:  # the body set `queue` to something it may not reach
        return _transfer_failed(call, tr, "failed", problem, invalid=True)
    assert isinstance(queue, str)
    ewt, position = call.vars.get("ewt"), call.vars.get("position")
    told = "ewt" in tr.announce and ewt is not None
    if told:
        say_default(call, "ewt", ewt=sayas.duration(ewt, language(call)))
    if "position" in tr.announce and position is not None:
        say_default(call, "position", position=str(position))
    declared = call.flow.queues[queue]
    priority = evaluate(tr.priority, call) if tr.priority is not None else declared.priority
    skills = tr.skills or declared.skills
    open_leg(call, queue, float(ewt) if told and ewt is not None else None, tr.max_wait)
    plan = _hold_plan(call, tr.hold) if tr.hold is not None else None
    call.out.append(act.TransferToQueue(queue, int(priority or 0), skills, ewt, tr.max_wait, plan))
    return None


def _hold_plan(call: CallState, hold: model.Hold) -> act.HoldPlan:
    """`while waiting:` for the gateway: its message rendered now, for this call."""
    out, call.out = call.out, []
    try:
        for stmt in hold.message:
            if isinstance(stmt, model.Say):
                say(call, stmt)
            elif isinstance(stmt, model.Play):
                call.out.append(act.Play(stmt.path, True))
        message = tuple(a for a in call.out if isinstance(a, act.Say | act.Play))
    finally:
        call.out = out
    return act.HoldPlan(hold.music, hold.every, hold.announce, message, tuple(hold.keys))


def _destination(
    call: CallState, tr: model.Transfer, kind: destinations.DestinationKind
) -> destinations.Destination | str:
    """The checked destination, with its postdial keys, or why there is none."""
    assert tr.destination is not None
    value = evaluate(tr.destination, call)
    found = destinations.parse(kind, value, call.flow.settings.country)
    if isinstance(found, str) or tr.postdial is None:
        return found
    keys = evaluate(tr.postdial, call)
    keys = str(keys) if isinstance(keys, int) and not isinstance(keys, bool) else keys
    problem = destinations.postdial_problem(keys)
    return problem if problem else dataclasses.replace(found, postdial=keys)


def on_transfer(call: CallState, e: ev.TransferResult) -> Result | None:
    if call.phase is not TRANSFER:
        return None
    tr = call.flow.states[call.state]
    assert isinstance(tr, model.Transfer)
    leg = close_leg(call, e) if tr.to_queue else None
    key = str(e.key) if e.key is not None else None
    if e.status == "callback" and tr.hold is not None and key is not None and key in tr.hold.keys:
        # A key of `while waiting` left the queue: its branch; a callback it leads to keeps
        # the caller's place (the request carries the time already waited).
        if leg is not None:
            leg["key"] = key
        return run_body(call, tr.hold.keys[key], BRANCH_END, f"key {key}")
    if e.status in ("answered", "queued") or (leg is not None and leg["ended_call"]):
        edge(call, "(transfer)", "")
        if tr.kind is None:
            end(call, "transferred", queue=call.vars.get("queue") if tr.queue is None else tr.queue)
        else:
            end(call, "transferred", **{tr.kind: str(call.vars.get("transfer_number"))})
        return None
    if e.status == "abandoned":  # the caller hung up while a number rang: still in the IVR
        end(call, "abandoned", state=call.state)
        return None
    return _transfer_failed(call, tr, e.status, e.detail)


def _transfer_failed(
    call: CallState, tr: model.Transfer, status: str, detail: str | None, invalid: bool = False
) -> Result | None:
    """The transfer did not happen: its branch for `status`, else `failed`, else an apology.
    A destination the flow got wrong (`invalid`) or a transfer that failed (not busy, not
    unanswered: the line or the gateway) is a problem: it goes in the record's errors even
    when a branch handles it."""
    call.vars["error"] = scrub(call, f"transfer {status}" + (f": {detail}" if detail else ""))
    invalid = invalid or status == "failed"
    if invalid:
        call.errors.append(str(call.vars["error"]))
    branch = status if status in tr.on_result else "failed"
    body = tr.on_result.get(branch)
    if body is not None:
        return run_body(call, body, BRANCH_END, branch)
    if invalid:
        call.errors.pop()  # end_error notes it
    end_error(call, str(call.vars["error"]), say=True)
    return None


# ---------------------------------------------------------------- callbacks
def callback_accepted(call: CallState, offer: model.CallbackOffer) -> Result | None:
    number = evaluate(offer.number, call)
    number = phone.normalize(str(number), call.flow.settings.country) if number else None
    if number is None:
        say_default(call, "callback_number")
        return ASK[OFFER_NUMBER]
    call.vars["callback_number"] = number
    if offer.confirm is not None:
        say(call, offer.confirm)
        return ASK[OFFER_CONFIRM]
    store_callback(call, offer)
    return None


def callback_declined(call: CallState, offer: model.CallbackOffer) -> Result | None:
    if offer.declined is not None:
        return run_body(call, offer.declined, BRANCH_END, "declined")
    say_default(call, "callback_declined")
    return HangUp("callback declined", "self_served")


def number_keys(
    call: CallState, offer: model.CallbackOffer, keys: str, terminated: bool
) -> Result | None:
    """Keys of the number a callback rings: up to `#`, the gateway's end, or 15 digits."""
    call.buffer = (call.buffer + keys)[:MAX_DIGITS]
    if "#" in call.buffer or terminated or len(call.buffer) >= 15:
        return number_done(call, offer, call.buffer.split("#")[0])
    return None


def number_done(call: CallState, offer: model.CallbackOffer, value: str) -> Result | None:
    call.buffer = ""
    number = phone.normalize(value, call.flow.settings.country)
    if number is None or len(value) < 8:
        return on_failure(call, "nomatch")
    call.vars["callback_number"] = number
    if offer.confirm is not None:  # a keyed number is the one most likely to be wrong
        say(call, offer.confirm)
        return ASK[OFFER_CONFIRM]
    store_callback(call, offer)
    return None


def store_callback(call: CallState, offer: model.CallbackOffer) -> None:
    """Ask the host to keep the callback; the call waits for its answer."""
    call.phase = CALLBACK_STORE
    call.out.append(
        act.StoreCallback(
            call.call_id,
            str(call.vars["callback_number"]),
            offer.queue,
            call.ani,
            _window(call, offer),
            call.now,
            _place_kept(call),
        )
    )


def _place_kept(call: CallState) -> dict[str, Any]:
    """A callback asked for from the queue (a key of `while waiting`) keeps the caller's
    place: the time already waited and when the wait began go with the request."""
    legs = call.queue_legs
    if not legs or legs[-1].get("outcome") != "left_for_callback" or not legs[-1].get("key"):
        return {}
    leg = legs[-1]
    if leg.get("wait") is None:
        return {}
    return {
        "waited": float(leg["wait"]),
        "queued_at": float(leg["queued_at"]),
        "from_queue": leg["queue"],
    }


def on_callback(call: CallState, e: ev.CallbackStored | ev.CallbackFailed) -> Result | None:
    if call.phase is not CALLBACK_STORE:
        return None
    offer = call.flow.states[call.state]
    assert isinstance(offer, model.CallbackOffer)
    if isinstance(e, ev.CallbackStored):
        edge(call, "(callback)", "")
        call.outcome = {
            "kind": "callback_scheduled",
            "queue": offer.queue,
            "number": mask(str(call.vars["callback_number"])),
            "reference": e.reference,
        }
        return run_body(call, offer.scheduled, BRANCH_END, "scheduled")
    call.vars["error"] = scrub(call, f"callback not stored: {e.reason}")
    if offer.failed is not None:
        return run_body(call, offer.failed, BRANCH_END, "failed")
    end_error(call, str(call.vars["error"]), say=True)
    return None


def _window(call: CallState, offer: model.CallbackOffer) -> tuple[str, str] | None:
    """The next callback window as ISO datetimes in the flow's time zone."""
    if offer.window is None:
        return None
    if isinstance(offer.window, str):
        h = call.flow.hours[offer.window]
        local = hours_mod.local_time(call.now, h.timezone)
        for days in range(15):
            day = local.date() + dt.timedelta(days=days)
            for start, stop in hours_mod.open_spans(h, day):
                s = dt.datetime.combine(day, start, local.tzinfo)
                e = dt.datetime.combine(day, stop, local.tzinfo)
                if e > local:
                    return (
                        max(s, local).isoformat(timespec="minutes"),
                        e.isoformat(timespec="minutes"),
                    )
        return None
    start, stop = offer.window
    local = hours_mod.local_time(call.now, call.flow.settings.timezone)
    day = (
        local.date() if local.time().replace(tzinfo=None) < stop else local.date() + dt.timedelta(1)
    )
    s = dt.datetime.combine(day, start, local.tzinfo)
    return (
        max(s, local).isoformat(timespec="minutes"),
        dt.datetime.combine(day, stop, local.tzinfo).isoformat(timespec="minutes"),
    )


__all__ = [
    "MAX_RESULT_DEPTH",
    "MAX_RESULT_ITEMS",
    "callback_accepted",
    "callback_declined",
    "enter_queue",
    "number_done",
    "number_keys",
    "on_callback",
    "on_lookup",
    "on_queue_status",
    "on_transfer",
    "open_request",
    "request_lookup",
    "store_callback",
    "transfer",
]
