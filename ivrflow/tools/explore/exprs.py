"""Walking a flow's expressions and prompt texts: every expression it evaluates, their
sub-expressions, the variables they read, every text it says."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ... import model
from ...model.walk import bodies, walk


def _expressions(flow: model.Flow) -> Iterator[model.Expression]:
    yield from flow.variables.values()
    for state in flow.states.values():
        if isinstance(state, model.Lookup):
            yield from state.args
        if isinstance(state, model.Transfer):
            yield from state.expressions
        if isinstance(state, model.CallbackOffer):
            yield state.number
        for body in bodies(state):
            for stmt in walk(body):
                if isinstance(stmt, model.Assign):
                    yield stmt.value
                elif isinstance(stmt, model.If):
                    yield from (c for c, _ in stmt.branches if c is not None)
                elif isinstance(stmt, model.Switch):
                    yield stmt.subject


def _subexpressions(e: model.Expression) -> Iterator[model.Expression]:
    yield e
    if isinstance(e, model.Not | model.Neg | model.Test | model.Match):
        yield from _subexpressions(e.operand)
    elif isinstance(e, model.BinOp):
        yield from _subexpressions(e.left)
        yield from _subexpressions(e.right)
    elif isinstance(e, model.Call):
        for a in e.args:
            yield from _subexpressions(a)
    elif isinstance(e, model.MakeList):
        for i in e.items:
            yield from _subexpressions(i)


def _texts(flow: model.Flow) -> Iterator[str]:
    for prompt in flow.prompts.values():
        yield from prompt.text.values()
    for state in flow.states.values():
        for body in bodies(state):
            for stmt in walk(body):
                if isinstance(stmt, model.Say):
                    yield from stmt.text.values()
        for attr in ("confirm",):
            say = getattr(state, attr, None)
            if isinstance(say, model.Say):
                yield from say.text.values()


def _vars_of(exprs: Iterable[model.Expression]) -> frozenset[str]:
    return frozenset(e.name for x in exprs for e in _subexpressions(x) if isinstance(e, model.Var))
