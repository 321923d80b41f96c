"""The states that hand the call to the host: lookup (a declared host function, with its
result) and transfer (an ACD queue or an external number)."""

from __future__ import annotations

from types import MappingProxyType

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from .branches import sort_branches
from .expressions import compile_expr
from .kinds import StateEnv, StateParts
from .settings import Settings
from .vocabulary import LOOKUP_SETTINGS, LOOKUP_WORDS, TRANSFER_SETTINGS, TRANSFER_WORDS

ANNOUNCEMENTS = ("ewt", "position")


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
    outcomes, _, _ = sort_branches(env.statements, parts.branches, LOOKUP_WORDS, "a lookup", 1)
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


def transfer(env: StateEnv, parts: StateParts) -> model.Transfer:
    ctx, decl = env.ctx, parts.decl
    s = Settings(ctx, "a transfer", TRANSFER_SETTINGS, parts.settings)
    queue = env.queue(s)
    number = s.expression("number")
    if queue is None and number is None and not s.get("queue"):
        ctx.error(
            "E122",
            f"transfer '{decl.name}' has no destination",
            decl.name_span,
            "add 'queue name' or 'number \"+15551234567\"'",
        )
    if queue is not None and number is not None:
        ctx.error(
            "E121",
            "a transfer goes to a queue or to a number, not both",
            s.by_name["number"].span,
        )
    skills = s.names("skills")
    if not skills and queue is not None:
        skills = env.queues[queue].skills
    announce = s.names("announce")
    for word in announce:
        if word not in ANNOUNCEMENTS:
            setting = s.by_name["announce"]
            where = next(
                (v.span for v in setting.values if isinstance(v, ast.Ref) and v.path == (word,)),
                setting.span,
            )
            ctx.error(
                "E121",
                f"cannot announce '{word}'",
                where,
                did_you_mean(word, ANNOUNCEMENTS) or "announce ewt, position or both",
            )
    outcomes, _, _ = sort_branches(env.statements, parts.branches, TRANSFER_WORDS, "a transfer", 1)
    return model.Transfer(
        decl.name,
        ctx.where(decl.span),
        env.statements.body(parts.statements),
        queue,
        number,
        s.expression("priority"),
        skills,
        announce,
        MappingProxyType({k: v[1] for k, v in outcomes.items()}),
    )


__all__ = ["lookup", "transfer"]
