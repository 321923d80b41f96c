"""Whole-flow checks on the compiled states: reachability, ways out, key mentions.

These read the model, not the syntax, so what they judge is what will run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from .. import ast, model
from .context import Context
from .states import KEY_WORDS

# "press 4", "tecle 4", "dial 4 or 5", "digite 9": the keys a prompt promises.
MENTION = re.compile(
    r"\b(?:press|dial|enter|key|tecle|digite|pressione|disque|aperte)\s+"
    r"(\d|star|pound|hash|asterisco|estrela|cerquilha|sustenido)"
    r"((?:\s*(?:,|or|ou|e|and)\s*\d)*)",
    re.IGNORECASE,
)
SPOKEN_KEYS = {"asterisco": "*", "estrela": "*", "cerquilha": "#", "sustenido": "#"} | KEY_WORDS


def walk(body: model.Body) -> Iterator[model.Statement]:
    """Every statement of a body, nested ones included."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, model.If):
            for _, b in stmt.branches:
                yield from walk(b)
        elif isinstance(stmt, model.Switch):
            for _, b in stmt.cases:
                yield from walk(b)
        elif isinstance(stmt, model.Split):
            for _, b in stmt.branches:
                yield from walk(b)


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
    if isinstance(state, model.Lookup) and state.error is not None:
        yield state.error


def successors(state: model.State) -> tuple[set[str], bool]:
    """States this one can go to, and whether it can end the call itself."""
    targets: set[str] = set()
    exits = isinstance(state, model.Transfer | model.CallbackOffer)
    # Documented defaults end the call: no exhausted / no error branch.
    if isinstance(state, model.Menu | model.Capture | model.CallbackOffer):
        exits = exits or state.exhausted is None
    if isinstance(state, model.Lookup):
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


def check(
    ctx: Context,
    states: Mapping[str, model.State],
    start: str | None,
    main_path: str,
    decls: Mapping[str, ast.StateDecl],
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
    for state in states.values():
        _silent_loop(ctx, state, states, decls)
        if isinstance(state, model.Menu):
            _key_mentions(ctx, state)


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
    for name in sorted(reached - can_exit, key=lambda n: decls[n].span.line):
        ctx.warning(
            "W202",
            f"from '{name}' the call can never end",
            decls[name].name_span,
            "every path loops back without a hang-up, transfer or return",
            states[name].where.path,
        )


def _silent_loop(
    ctx: Context,
    state: model.State,
    states: Mapping[str, model.State],
    decls: Mapping[str, ast.StateDecl],
) -> None:
    """A caller who never answers must eventually leave: follow `exhausted`."""
    if not isinstance(state, model.Menu | model.Capture | model.CallbackOffer):
        return
    seen = [state.name]
    current: model.State = state
    while isinstance(current, model.Menu | model.Capture | model.CallbackOffer | model.Step):
        body = current.body if isinstance(current, model.Step) else current.exhausted
        if not body or not isinstance(body[-1], model.Goto):
            return
        target = current.name if body[-1].target == model.REPEAT else body[-1].target
        if target == state.name:
            path = " -> ".join([*seen, target])
            ctx.warning(
                "W202",
                f"a silent caller never leaves '{state.name}' ({path})",
                decls[state.name].name_span,
                "let exhausted end somewhere: an agent, a goodbye or hangup",
                state.where.path,
            )
            return
        if target in seen or target not in states:
            return
        seen.append(target)
        current = states[target]


def _key_mentions(ctx: Context, menu: model.Menu) -> None:
    bound = {k for c in menu.choices for k in c.keys}
    for stmt in walk(menu.prompt):
        if not isinstance(stmt, model.Say):
            continue
        for text in stmt.text.values():
            for m in MENTION.finditer(text):
                first = SPOKEN_KEYS.get(m.group(1).lower(), m.group(1))
                keys = [first, *re.findall(r"\d", m.group(2))]
                for key in keys:
                    if key not in bound:
                        span = stmt.where.span
                        ctx.warning(
                            "W203",
                            f"the prompt offers key {key} but menu "
                            f"'{menu.name}' has no choice for it",
                            span,
                            f"add: {key} -> state, or change the prompt",
                            stmt.where.path,
                        )


__all__ = ["check", "successors", "walk"]
