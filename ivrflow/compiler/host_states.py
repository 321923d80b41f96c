"""The state that asks the host for data: lookup (a declared host function, with its
result). Transfers, the other state the host carries out, are in transfers.py."""

from __future__ import annotations

from .. import model
from ..lang import ast
from .branches import sort_branches
from .expressions import compile_expr
from .kinds import StateEnv, StateParts
from .settings import Settings
from .vocabulary import LOOKUP_SETTINGS, LOOKUP_WORDS


def _name_span(span: ast.Span, name: str) -> ast.Span:
    """Just the name at the start of `span` (a call's function name)."""
    return ast.Span(span.line, span.column, span.line, span.column + len(name))


def lookup(env: StateEnv, parts: StateParts) -> model.Lookup:
    ctx, decl = env.ctx, parts.decl
    call = decl.call
    s = Settings(ctx, "a lookup", LOOKUP_SETTINGS, parts.settings)
    fn_timeout: float | None = None
    args: tuple[model.Expression, ...] = ()
    if call is None:
        ctx.error(
            "E122",
            f"lookup '{decl.name}' calls no function",
            decl.name_span,
            f"write: lookup {decl.name} function_name(arguments) as result:",
        )
        function = ""
    else:
        function = call.function
        fn = ctx.symbols.functions.get(function)
        if fn is None:
            ctx.unknown(
                "E108",
                "function",
                function,
                _name_span(call.span, function),
                ctx.symbols.functions,
                f"declare the host function: function {function}(…)",
            )
        else:
            if len(fn.node.params) != len(call.args):
                ctx.error(
                    "E111",
                    f"{function}() takes {len(fn.node.params)} argument"
                    f"{'s' if len(fn.node.params) != 1 else ''}, got {len(call.args)}",
                    call.span,
                    f"declared on line {fn.node.span.line} of {fn.path}",
                )
            t = Settings(ctx, "a function", {"timeout": ""}, fn.node.settings)
            fn_timeout = t.duration("timeout", 5.0) if t.get("timeout") else None
        args = tuple(compile_expr(ctx, a) for a in call.args)
    outcomes, _, _ = sort_branches(
        env.statements, parts.branches, LOOKUP_WORDS, "a lookup", env.defaults.input
    )
    if "ok" not in outcomes:
        ctx.error(
            "E122",
            f"lookup '{decl.name}' has no 'ok' branch",
            decl.name_span,
            "add: ok -> next_state",
        )
    if "error" not in outcomes:
        ctx.warning(
            "W206",
            f"lookup '{decl.name}' has no error branch",
            decl.name_span,
            "by default the caller hears an apology and the call ends; add: error -> agent",
        )
    ok, error = outcomes.get("ok"), outcomes.get("error")
    return model.Lookup(
        decl.name,
        ctx.where(decl.span),
        env.statements.body(parts.statements),
        function,
        args,
        call.result if call else None,
        s.duration("timeout", fn_timeout or 5.0),
        ok[1] if ok else (),
        error[1] if error else None,
    )


__all__ = ["lookup"]
