"""What makes two call states the same: the variables a call may still read per state
(`Liveness`) and the hours questions the flow asks."""

from __future__ import annotations

import re

from ... import model
from ...model.walk import bodies, walk
from .exprs import _expressions, _subexpressions, _vars_of

ALWAYS_LIVE = frozenset({"language", "voice"})  # every prompt reads them
_TEMPLATE_CODE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


class Liveness:
    """Which variables a call may still read, per state (a backward data-flow analysis).

    Two waits that differ only in variables the rest of the call can never read lead to the
    same futures, so the explorer treats them as one call state. Writes kill: `set x = …`, a
    capture's variable on its `ok` branch, a look-up's result on `ok`, and `error` where the
    interpreter sets it just before the branch runs. `return` and sub-flow calls are taken
    to read everything.
    """

    def __init__(self, flow: model.Flow) -> None:
        self.flow = flow
        names = set(model.BUILTIN_VARIABLES) | set(flow.variables)
        for state in flow.states.values():
            if isinstance(state, model.Capture):
                names.add(state.variable)
            elif isinstance(state, model.Lookup) and state.result:
                names.add(state.result)
            for body in bodies(state):
                for stmt in walk(body):
                    if isinstance(stmt, model.Assign):
                        names.add(stmt.name)
        self.names = frozenset(names)
        self.entry: dict[str, frozenset[str]] = dict.fromkeys(flow.states, frozenset())
        self.waiting: dict[str, frozenset[str]] = dict.fromkeys(flow.states, frozenset())
        self._said: dict[int, frozenset[str]] = {}
        changed = True
        while changed:
            changed = False
            for name, state in flow.states.items():
                entry, waiting = self._state(name, state)
                if entry != self.entry[name] or waiting != self.waiting[name]:
                    self.entry[name], self.waiting[name] = entry, waiting
                    changed = True
        self._sorted = {
            name: tuple(sorted(self.waiting[name] | self.entry[name] | ALWAYS_LIVE))
            for name in flow.states
        }

    def listening(self, state: str) -> tuple[str, ...]:
        """The variables that may be read after the call waits in `state`, sorted."""
        return self._sorted[state]

    def _state(self, name: str, state: model.State) -> tuple[frozenset[str], frozenset[str]]:
        seq = self._seq
        if isinstance(state, model.Step):
            return seq(state.body, frozenset(), name), frozenset()
        if isinstance(state, model.Lookup):
            after = _vars_of(state.args)
            after |= seq(state.ok, frozenset(), name) - {state.result or ""}
            if state.error is not None:
                after |= seq(state.error, frozenset(), name) - {"error"}
            return seq(state.prompt, after, name), frozenset()
        if isinstance(state, model.Record):
            after = seq(state.ok, frozenset(), name) - {state.into}
            for maybe in (state.silent, state.error):
                if maybe is not None:
                    after |= seq(maybe, frozenset(), name) - {state.into, "error"}
            return seq(state.prompt, after, name), frozenset()
        if isinstance(state, model.Transfer):
            exprs = [e for e in state.expressions if e is not state.queue_expr]
            after = _vars_of(exprs)
            for body in state.on_result.values():
                after |= seq(body, frozenset(), name) - {"error"}
            entry = seq(state.body, after, name)
            if state.to_queue:
                entry -= {"ewt", "position", "queue"}
                entry |= _vars_of([state.queue_expr] if state.queue_expr else [])
            return entry, frozenset()
        # menus, captures and callback offers wait for the caller
        again = self.entry[name]  # a retry plays the prompt again
        waiting = set(again)
        for esc in (state.noinput, state.nomatch):
            for body in esc.by_count.values():
                waiting |= seq(body, again, name)
        if state.exhausted is not None:
            waiting |= seq(state.exhausted, frozenset(), name)
        if isinstance(state, model.Menu):
            for c in state.choices:  # `into` is set as the choice is taken
                waiting |= seq(c.body, frozenset(), name) - {state.into}
        elif isinstance(state, model.Capture):
            ok = seq(state.ok, frozenset(), name) | self._say(state.confirm)
            waiting |= ok - {state.variable}
        else:
            waiting |= _vars_of([state.number]) | self._say(state.confirm)
            waiting |= seq(state.scheduled, frozenset(), name)
            if state.declined is not None:
                waiting |= seq(state.declined, frozenset(), name)
            if state.failed is not None:
                waiting |= seq(state.failed, frozenset(), name) - {"error"}
        return seq(state.prompt, frozenset(waiting), name), frozenset(waiting)

    def _seq(self, body: model.Body, after: frozenset[str], here: str) -> frozenset[str]:
        live = after
        for stmt in reversed(body):
            live = self._stmt(stmt, live, here)
        return live

    def _stmt(self, s: model.Statement, after: frozenset[str], here: str) -> frozenset[str]:
        if isinstance(s, model.Say):
            return after | self._say(s)
        if isinstance(s, model.Assign):
            return (after - {s.name}) | _vars_of([s.value])
        if isinstance(s, model.Goto):
            if s.target == model.REPEAT:
                return self.entry[here]
            if s.target == model.HANGUP:
                return frozenset()
            if s.target == model.RETURN:
                return self.names
            return self.entry.get(s.target, self.names)
        if isinstance(s, model.Hangup):
            return frozenset()
        if isinstance(s, model.CallSub | model.Return):
            return self.names
        if isinstance(s, model.If):
            live = frozenset().union(*(self._seq(b, after, here) for _, b in s.branches))
            if all(c is not None for c, _ in s.branches):
                live |= after
            return live | _vars_of([c for c, _ in s.branches if c is not None])
        if isinstance(s, model.Switch):
            live = frozenset().union(*(self._seq(b, after, here) for _, b in s.cases))
            if all(values for values, _ in s.cases):
                live |= after
            return live | _vars_of([s.subject])
        if isinstance(s, model.Split):
            return frozenset().union(*(self._seq(b, after, here) for _, b in s.branches))
        return after  # Play

    def _say(self, say: model.Say | None) -> frozenset[str]:
        if say is None:
            return frozenset()
        cached = self._said.get(id(say))
        if cached is None:
            found: set[str] = set()
            for text in say.text.values():
                for m in _TEMPLATE_CODE.finditer(text):
                    found.update(_NAME.findall(m.group(1) or m.group(2) or ""))
            cached = self._said[id(say)] = frozenset(found & (self.names | {"now"}))
        return cached


def _hours_read(flow: model.Flow) -> tuple[tuple[str, str], ...]:
    """(function, hours) for every question the flow asks about hours: `open(office)` …
    (`closed` is the same question as `open`)."""
    found: list[tuple[str, str]] = []
    for expr in _expressions(flow):
        for e in _subexpressions(expr):
            if isinstance(e, model.Call) and len(e.args) == 1:
                arg = e.args[0]
                if isinstance(arg, model.HoursRef) and e.function in (
                    "open", "closed", "holiday", "emergency",
                ):  # fmt: skip
                    pair = ("open" if e.function == "closed" else e.function, arg.name)
                    if pair not in found:
                        found.append(pair)
    return tuple(found)
