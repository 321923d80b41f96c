"""Whole-flow checks on the compiled states: reachability, ways out, key mentions.

These read the model, not the syntax, so what they judge is what will run.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import model
from ..lang import ast
from ..model.escalation import escalate, exit_of, own_limit, spent
from ..model.walk import bodies, comes_back, ends, successors, walk
from .context import Context


def check(
    ctx: Context,
    states: Mapping[str, model.State],
    start: str | None,
    main_path: str,
    decls: Mapping[str, ast.StateDecl],
    language: str = "en-US",
) -> None:
    graph = {name: successors(s) for name, s in states.items()}
    if start is not None and start in states:
        reached = _reach(graph, start)
        for name, state in states.items():
            if name not in reached and state.where.path == main_path:
                ctx.warning(
                    "W201",
                    f"state '{name}' is never reached",
                    decls[name].name_span,
                    "nothing goes to it from start; remove it or add a '-> " + name + "'",
                    state.where.path,
                )
        _no_way_out(ctx, graph, states, reached, decls)
        _stray_returns(ctx, graph, states, reached, decls)
        _missing_languages(ctx, states, language)
    for state in states.values():
        _silent_loop(ctx, state, states, decls)
        _place_lost(ctx, state, states)


def _place_lost(ctx: Context, state: model.State, states: Mapping[str, model.State]) -> None:
    """W242: a key that leaves the queue for anything but a callback offer: the caller gives
    up their place (a callback keeps it: the request carries the time already waited)."""
    if not isinstance(state, model.Transfer) or state.hold is None:
        return
    for key, body in state.hold.keys.items():
        gotos = [s for s in walk(body) if isinstance(s, model.Goto)]
        if any(isinstance(states.get(g.target), model.CallbackOffer) for g in gotos):
            continue
        where = body[-1].where if body else state.hold.where
        ctx.warning(
            "W242",
            f"key {key} leaves the queue without a callback: the caller loses their place",
            where.span,
            "send it to a callback state (-> offer_callback): the callback keeps the time "
            "already waited",
            where.path,
        )


def _reach(graph: Mapping[str, tuple[set[str], bool]], start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in graph[todo.pop()][0]:
            if nxt in graph and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _no_way_out(
    ctx: Context,
    graph: Mapping[str, tuple[set[str], bool]],
    states: Mapping[str, model.State],
    reached: set[str],
    decls: Mapping[str, ast.StateDecl],
) -> None:
    # States that can end the call, then everything that can reach one of them.
    can_exit = {n for n, (_, exits) in graph.items() if exits}
    changed = True
    while changed:
        changed = False
        for name, (targets, _) in graph.items():
            if name not in can_exit and targets & can_exit:
                can_exit.add(name)
                changed = True
    trapped = reached - can_exit

    # One warning per trap, at the state(s) through which the call falls into it.
    def line(n: str) -> int:
        return decls[n].span.line

    doors = (
        sorted((n for n in trapped if any(n in graph[p][0] for p in reached - trapped)), key=line)
        or sorted(trapped, key=line)[:1]
    )
    for name in doors:
        inside = sorted(_reach(graph, name) & trapped - {name})
        also = (
            f" (nor from {', '.join(repr(n) for n in inside[:4])}"
            + (", …)" if len(inside) > 4 else ")")
            if inside
            else ""
        )
        ctx.warning(
            "W202",
            f"from '{name}' the call can never end{also}",
            decls[name].name_span,
            "every path loops back without a hang-up, transfer or return",
            states[name].where.path,
        )


def _stray_returns(
    ctx: Context,
    graph: Mapping[str, tuple[set[str], bool]],
    states: Mapping[str, model.State],
    reached: set[str],
    decls: Mapping[str, ast.StateDecl],
) -> None:
    """W211: a `return` that no `call` leads to would end the call with an error."""
    called = {
        stmt.target
        for s in states.values()
        for body in bodies(s)
        for stmt in walk(body)
        if isinstance(stmt, model.CallSub)
    }
    inside: set[str] = set()
    for target in called & set(graph):
        inside |= _reach(graph, target)
    for name in sorted(reached - inside, key=lambda n: decls[n].span.line):
        for body in bodies(states[name]):
            ret = next((x for x in walk(body) if isinstance(x, model.Return)), None)
            if ret is not None:
                ctx.warning(
                    "W211",
                    f"'return' in '{name}', which no 'call' leads to",
                    ret.where.span,
                    "use 'hangup' or '-> state' here; 'return' goes back after a 'call'",
                    ret.where.path,
                )
                break


def _missing_languages(ctx: Context, states: Mapping[str, model.State], default: str) -> None:
    """W212: a named prompt lacks a language the flow can switch to."""
    languages = {default}
    for s in states.values():
        for body in bodies(s):
            for stmt in walk(body):
                if (
                    isinstance(stmt, model.Assign)
                    and stmt.name == "language"
                    and isinstance(stmt.value, model.Const)
                    and isinstance(stmt.value.value, str)
                ):
                    languages.add(stmt.value.value)
    for name, decl in ctx.symbols.prompts.items():
        have = {t.language for t in decl.node.texts}
        for missing in sorted(languages - have):
            ctx.warning(
                "W212",
                f"prompt '{name}' has no {missing} text, but the flow can switch to {missing}",
                decl.node.name_span,
                f'add a line: {missing} "…"',
                decl.path,
            )


_INPUT = (model.Menu, model.Capture, model.CallbackOffer)
_FAILING = {"noinput": "a silent caller", "nomatch": "a caller who keeps giving a wrong answer"}
Way = tuple[str, model.Goto]  # where a body surely leads, and the goto that says so


def _surely(body: model.Body | None, here: str) -> Way | None:
    """The one state `body` always leads to (`-> repeat` is `here`), or None: it may end the
    call, `call` or `return`, or a condition picks between ways (taken as a bounded exit)."""
    if not body or not ends(body):
        return None
    ways: set[str] = set()
    last: model.Goto | None = None
    for stmt in walk(body):
        if isinstance(stmt, model.Hangup | model.Return | model.CallSub):
            return None
        if isinstance(stmt, model.Goto):
            if stmt.target in (model.HANGUP, model.RETURN):
                return None
            ways.add(here if stmt.target == model.REPEAT else stmt.target)
            last = stmt
    return (ways.pop(), last) if len(ways) == 1 and last is not None else None


def _failure_exit(state: model.State, kind: str) -> Way | None:
    """Where a caller who fails every time (`kind`) surely leaves `state` for, by the
    escalation rule itself: a handler that goes back to the state is the same visit (the
    counts go on); one that leaves starts a new visit, counted from zero. None: the call
    ends, or it depends on something the check cannot know."""
    if isinstance(state, model.Step):
        return _surely(state.body, state.name)
    if not isinstance(state, _INPUT):
        return None  # a look-up or a transfer: the host decides
    table: model.Escalation = getattr(state, kind)
    limits = state.input
    last = own_limit(limits, kind)
    for n in range(1, last + 1):
        counts = (n, 0) if kind == "noinput" else (0, n)
        handler, _, _ = escalate(table, kind, *counts, limits, state.name)
        if handler is None or comes_back(handler, state.name):
            continue
        if not any(isinstance(x, model.Goto | model.Hangup | model.Return) for x in walk(handler)):
            continue  # a prompt only: asked again
        way = _surely(handler, state.name)
        return way if way is not None and way[0] != state.name else None
    which = spent(*((last, 0) if kind == "noinput" else (0, last)), limits) or "retries"
    return _surely(exit_of(state, which)[0], state.name)


def _silent_loop(
    ctx: Context,
    state: model.State,
    states: Mapping[str, model.State],
    decls: Mapping[str, ast.StateDecl],
) -> None:
    """W202: a caller who keeps failing must eventually leave. Follow where each failure
    surely leads (a handler that leads on, `exhausted`, a step's goto); a way back to
    `state` starts its visit again, and its retries never run out."""
    if not isinstance(state, _INPUT):
        return
    for kind, who in _FAILING.items():
        loop: list[Way] = []
        current: model.State = state
        while (way := _failure_exit(current, kind)) is not None:
            loop.append(way)
            if way[0] == state.name:
                break
            if way[0] not in states or any(way[0] == w[0] for w in loop[:-1]):
                return  # leaves the flow's states, or loops elsewhere (reported there)
            current = states[way[0]]
        if not loop or loop[-1][0] != state.name:
            continue
        path = " -> ".join([state.name, *(t for t, _ in loop)])
        first = loop[0][1]
        ctx.warning(
            "W202",
            f"{who} never leaves '{state.name}' ({path})",
            first.where.span,
            f"coming back starts '{state.name}' again, so its retries never run out: let "
            "exhausted end somewhere (an agent, a goodbye, hangup); a handler re-prompts "
            "with '-> repeat'",
            first.where.path,
        )
        return


__all__ = ["check", "successors", "walk"]
