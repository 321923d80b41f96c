"""Walking a compiled flow: its bodies, their statements, where they lead.

The compiler's checks, the interpreter's body numbering, the explorer, the drawings and the
traffic walk all read a flow through these, so every tool sees the same structure.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import flow as model


def walk(body: model.Body) -> Iterator[model.Statement]:
    """Every statement of a body, nested ones included."""
    for stmt in body:
        yield stmt
        for nested in model.nested_bodies(stmt):
            yield from walk(nested)


def bodies(state: model.State) -> Iterator[model.Body]:
    if isinstance(state, model.Step):
        yield state.body
    elif isinstance(state, model.Menu):
        yield state.prompt
        yield from (c.body for c in state.choices)
    elif isinstance(state, (model.Capture, model.Lookup)):
        yield state.prompt
        yield state.ok
    elif isinstance(state, model.Transfer):
        yield state.body
        yield from state.on_result.values()
        if state.hold is not None:
            yield state.hold.message
            yield from state.hold.keys.values()
    elif isinstance(state, model.Record):
        yield state.prompt
        yield state.ok
        yield from (b for b in (state.silent, state.error) if b is not None)
    else:
        yield state.prompt
        yield state.scheduled
        if state.declined:
            yield state.declined
        if state.failed:
            yield state.failed
    if isinstance(state, model.Menu | model.Capture | model.CallbackOffer):
        yield from state.noinput.by_count.values()
        yield from state.nomatch.by_count.values()
        if state.exhausted is not None:
            yield state.exhausted
        yield from state.limit_exits.values()
    if isinstance(state, model.Lookup) and state.error is not None:
        yield state.error


def successors(state: model.State) -> tuple[set[str], bool]:
    """States this one can go to, and whether it can end the call itself."""
    targets: set[str] = set()
    exits = isinstance(state, model.Transfer | model.CallbackOffer)
    # Documented defaults end the call: no exhausted / no error branch.
    if isinstance(state, model.Menu | model.Capture | model.CallbackOffer):
        exits = exits or state.exhausted is None
    if isinstance(state, model.Lookup | model.Record):
        exits = exits or state.error is None
    for body in bodies(state):
        for stmt in walk(body):
            if isinstance(stmt, model.Goto):
                if stmt.target == model.REPEAT:
                    targets.add(state.name)
                elif stmt.target in (model.HANGUP, model.RETURN):
                    exits = True
                else:
                    targets.add(stmt.target)
            elif isinstance(stmt, model.CallSub):
                targets.add(stmt.target)
            elif isinstance(stmt, model.Hangup | model.Return):
                exits = True
    return targets, exits


def ends(body: model.Body) -> bool:
    """True when running `body` always leaves the state (goto, hang-up, return …)."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, model.Goto | model.Hangup | model.Return):
        return True
    if isinstance(last, model.Split):
        return all(ends(b) for _, b in last.branches)
    if isinstance(last, model.If):
        return last.branches[-1][0] is None and all(ends(b) for _, b in last.branches)
    if isinstance(last, model.Switch):  # exhaustive only with an else
        return any(v == () for v, _ in last.cases) and all(ends(b) for _, b in last.cases)
    return False


def comes_back(body: model.Body, here: str) -> bool:
    """True when every way out of `body` is back into state `here` (`-> repeat` or its own
    name): a handler that re-prompts, not one that leads on."""
    back = False
    for stmt in walk(body):
        if isinstance(stmt, model.Goto):
            if stmt.target not in (model.REPEAT, here):
                return False
            back = True
        elif isinstance(stmt, model.Hangup | model.Return | model.CallSub):
            return False
    return back


__all__ = ["bodies", "comes_back", "ends", "successors", "walk"]
