"""Whole-flow checks on the compiled states: reachability, ways out, key mentions.

These read the model, not the syntax, so what they judge is what will run.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import model
from ..lang import ast
from ..model.walk import bodies, successors, walk
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


__all__ = ["check", "successors", "walk"]
