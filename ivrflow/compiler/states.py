"""States: syntax → model, one compiling function per kind, found through `KINDS`.

A state body mixes statements (say, set, if …), settings (`timeout 5s`) and branches
(`1 -> account`, `noinput 2: …`). `StateCompiler.state` takes it apart and hands it to its
kind: a step here, the input kinds in input_states.py, lookup in host_states.py, transfer in
transfers.py, record in record_state.py. Each reports what does not belong, with the words the kind does accept.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import model
from ..lang import ast
from ..model.walk import ends
from . import host_states, input_states, prompt_checks, record_state, transfers
from .context import Context, Symbols
from .kinds import KindCompiler, StateEnv, StateParts
from .settings import Settings
from .statements import StatementCompiler


def secure_variables(sym: Symbols) -> set[str]:
    """Variables that `secure` captures fill, by name."""
    out = set()
    for d in sym.states.values():
        node = d.node
        if node.kind != "capture":
            continue
        settings = {x.name: x for x in node.body if isinstance(x, ast.Setting)}
        if "secure" in settings:
            into = settings.get("into")
            value = into.values[0] if into and into.values else None
            out.add(value.path[0] if isinstance(value, ast.Ref) else node.name)
    return out


def step(env: StateEnv, parts: StateParts) -> model.Step:
    """A plain state: statements only, and it must move on by itself."""
    ctx, decl = env.ctx, parts.decl
    Settings(ctx, "a step", {}, parts.settings)
    for b in parts.branches:
        ctx.error(
            "E123",
            "a step has no branches",
            b.labels[0].span,
            "use '-> state', goto or if inside a step",
        )
    body = env.statements.body(parts.statements)
    if not ends(body):
        ctx.error(
            "E130",
            f"state '{decl.name}' can end without moving on",
            decl.name_span,
            "end it with '-> state', 'goto state', 'hangup' or 'return'",
        )
    return model.Step(decl.name, ctx.where(decl.span), body)


KINDS: Mapping[ast.StateKind, KindCompiler] = {
    "step": step,
    "menu": input_states.menu,
    "capture": input_states.capture,
    "lookup": host_states.lookup,
    "transfer": transfers.transfer,
    "callback": input_states.callback,
    "record": record_state.record,
}


class StateCompiler:
    """Compiles a flow's states, one declaration at a time, against its symbols."""

    def __init__(
        self, ctx: Context, defaults: model.FlowSettings, queues: Mapping[str, model.Queue]
    ):
        self.statements = StatementCompiler(ctx)
        self.env = StateEnv(ctx, defaults, queues, self.statements)
        self.secure = secure_variables(ctx.symbols)
        self.check_template = self.statements.check_template  # prompts are checked with it

    def state(self, decl: ast.StateDecl) -> model.State:
        ctx = self.env.ctx
        self.statements.current = decl
        confirms = [
            (v.text, v.span)
            for x in decl.body
            if isinstance(x, ast.Setting) and x.name == "confirm"
            for v in x.values
            if isinstance(v, ast.Literal) and v.kind == "string"
        ]
        prompt_checks.check_secure(ctx, decl.body, self.secure, confirms)
        return KINDS[decl.kind](self.env, StateParts.of(decl))


__all__ = ["KINDS", "StateCompiler", "secure_variables", "step"]
