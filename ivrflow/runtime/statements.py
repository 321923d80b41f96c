"""Statement execution: entering a state, running a body, if / switch / split, `call`.

A body runs until a statement leaves it (`->`, `hangup`, `call`, `return`) or it runs out;
either way the result goes back to the trampoline (interpreter.follow). Where a `call`
returns to is kept as stable body numbers (model.index), so a snapshot can hold it.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from .. import model
from ..model.index import body_index
from .evaluate import evaluate, truthy
from .results import (
    LOOKUP_END,
    PROMPT_END,
    QUEUE_ENTRY,
    RECORD_END,
    RETURN,
    STEP_END,
    TRANSFER_END,
    BodyEnd,
    CallSub,
    Goto,
    HangUp,
    Result,
)
from .speaking import play, say
from .state import RUNNING, CallFrame, CallState
from .trace import notify

# One `send` may run at most this many statements and state entries: a flow that loops
# without waiting for the caller ends with an `error` outcome.
STEP_BUDGET = 1000

Chain = list[tuple[model.Body, int]]  # (body, next statement), innermost first


# One shared `Goto` per target, made on first use: a goto runs nearly every event.
_GOTOS: dict[str, Goto] = {}


def _goto(target: str) -> Goto:
    if len(_GOTOS) > 20_000:
        _GOTOS.clear()
    result = _GOTOS[target] = Goto(target)
    return result


class BudgetExceeded(Exception):
    """The flow ran STEP_BUDGET statements in one `send`: it loops without waiting."""


def enter(call: CallState, name: str, repeat: bool = False) -> Result | None:
    """Enter state `name` (or the current one again: `repeat` keeps its visit and counts)."""
    call.budget -= 1
    if call.budget < 0:
        raise BudgetExceeded
    state = call.flow.states[name]
    if not repeat:
        call.noinput = call.nomatch = 0
        call.state = name
        call.path.append((name, call.now))
        for listener in call.listeners:
            notify(call, listener, "state_entered", name, call.now)
    call.buffer = ""
    call.phase = RUNNING
    call.label = ""
    body_of, end = _ENTRY[type(state)]
    if end is TRANSFER_END and isinstance(state, model.Transfer) and state.to_queue:
        return QUEUE_ENTRY  # the queue's figures first: the transfer's body may announce them
    result = _run(call, body_of(state), 0)  # run_body, inlined: an entry per event or so
    if result is None:
        return end
    return _finish(call, result, end, []) if isinstance(result, CallSub) else result


# How each kind of state is entered: the body it runs first, and what its end means.
_ENTRY: dict[type, tuple[Callable[[Any], model.Body], BodyEnd]] = {
    model.Step: (attrgetter("body"), STEP_END),
    model.Transfer: (attrgetter("body"), TRANSFER_END),
    model.Lookup: (attrgetter("prompt"), LOOKUP_END),
    model.Menu: (attrgetter("prompt"), PROMPT_END),
    model.Capture: (attrgetter("prompt"), PROMPT_END),
    model.CallbackOffer: (attrgetter("prompt"), PROMPT_END),
    model.Record: (attrgetter("prompt"), RECORD_END),
}


def run_body(call: CallState, body: model.Body, end: BodyEnd, label: str = "") -> Result:
    """Run a body from its start; `end` if it runs out. `label` names the branch, for
    coverage and traces."""
    call.label = label
    result = _run(call, body, 0)
    if result is None:
        return end
    return _finish(call, result, end, []) if isinstance(result, CallSub) else result


def resume(call: CallState, frame: CallFrame, end: BodyEnd) -> Result:
    """Continue after a `call` returned: the innermost body first, then outward."""
    bodies = body_index(call.flow).bodies
    chain = [(bodies[b], i) for b, i in frame.resume]
    for k in range(len(chain) - 1, -1, -1):
        body, index = chain[k]
        result = _run(call, body, index)
        if result is not None:
            return _finish(call, result, end, chain[:k])
    return end


def _finish(call: CallState, result: Result | CallSub, end: BodyEnd, outer: Chain) -> Result:
    if isinstance(result, CallSub):  # remember where to come back, as stable body numbers
        ids = body_index(call.flow).ids
        frames = [(ids[id(b)], j) for b, j in outer + result.chain[::-1]]
        counts = (call.noinput, call.nomatch)
        call.calls.append(CallFrame(call.state, end.role, frames, counts, call.label))
        call.label = "call"
        return _GOTOS.get(result.target) or _goto(result.target)
    return result


def _run(call: CallState, body: model.Body, start: int) -> Result | CallSub | None:
    """Run statements from `start`; a result when one leaves the body, else None."""
    for i in range(start, len(body)):
        stmt = body[i]
        call.budget -= 1
        if call.budget < 0:
            raise BudgetExceeded
        if isinstance(stmt, model.Say):
            say(call, stmt)
        elif isinstance(stmt, model.Goto):
            return _GOTOS.get(stmt.target) or _goto(stmt.target)
        elif isinstance(stmt, model.Assign):
            call.vars[stmt.name] = evaluate(stmt.value, call)
        elif isinstance(stmt, model.Hangup):
            return HangUp(stmt.reason, stmt.outcome)
        elif isinstance(stmt, model.Play):
            play(call, stmt)
        elif isinstance(stmt, model.CallSub):
            return CallSub(stmt.target, [(body, i + 1)])
        elif isinstance(stmt, model.Return):
            return RETURN
        else:  # If, Switch, Split: run the chosen block, then carry on here
            result = _run(call, _BLOCK[type(stmt)](call, stmt), 0)
            if result is not None:
                if isinstance(result, CallSub):
                    result.chain.append((body, i + 1))
                return result
    return None


def _if(call: CallState, stmt: model.If) -> model.Body:
    for cond, branch in stmt.branches:
        if cond is None or truthy(evaluate(cond, call)):
            return branch
    return ()


def _switch(call: CallState, stmt: model.Switch) -> model.Body:
    subject = evaluate(stmt.subject, call)
    for values, branch in stmt.cases:
        if not values or subject in values:
            return branch
    return ()


def draw(call: CallState, split: model.Split) -> model.Body:
    """The branch of an A/B split this call takes (the explorer probes seeds with it)."""
    # xorshift32: deterministic per seed, and the state is one integer in snapshots.
    x = call.rng
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    call.rng = x
    point = (x % 10_000) / 100.0
    total = 0.0
    for weight, body in split.branches:
        total += weight
        if point < total:
            return body
    return split.branches[-1][1]


# Which block a statement that holds blocks runs.
_BLOCK: dict[type, Callable[[CallState, Any], model.Body]] = {
    model.If: _if,
    model.Switch: _switch,
    model.Split: draw,
}

__all__ = ["STEP_BUDGET", "BudgetExceeded", "draw", "enter", "resume", "run_body"]
