"""The transfer state: an ACD queue (named, or chosen at run time from a variable), or an
outside destination — an E.164 number, a SIP URI, an extension — with keys to send after the
answer. Literal destinations are checked here with the runtime's own rules
(`model.destinations`), so a malformed one never reaches a call."""

from __future__ import annotations

from types import MappingProxyType

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from ..model import destinations
from .branches import sort_branches
from .expressions import compile_expr
from .hold import hold, is_hold
from .kinds import StateEnv, StateParts
from .settings import Settings
from .vocabulary import TRANSFER_SETTINGS, TRANSFER_WORDS

ANNOUNCEMENTS = ("ewt", "position")
_AMONG = "among"


def transfer(env: StateEnv, parts: StateParts) -> model.Transfer:
    ctx, decl = env.ctx, parts.decl
    s = Settings(ctx, "a transfer", TRANSFER_SETTINGS, parts.settings)
    queue, queue_expr, queues = _queue(env, s)
    given = [k for k in ("queue", *destinations.DESTINATION_KINDS) if s.get(k) is not None]
    if not given:
        ctx.error(
            "E122",
            f"transfer '{decl.name}' has no destination",
            decl.name_span,
            "add 'queue name', 'number \"+15551234567\"', 'sip \"sip:alice@example.com\"' "
            "or 'extension \"1234\"'",
        )
    for extra in given[1:]:
        ctx.error(
            "E121",
            f"a transfer goes to one destination: '{given[0]}' and '{extra}' both given",
            s.by_name[extra].span,
        )
    kind = next((k for k in destinations.DESTINATION_KINDS if k in given), None)
    destination = _destination(env, s, kind) if kind is not None else None
    postdial = _postdial(env, s, kind)
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
    holds = [b for b in parts.branches if is_hold(b)]
    branches = [b for b in parts.branches if not is_hold(b)]
    outcomes, _, _ = sort_branches(
        env.statements, branches, TRANSFER_WORDS, "a transfer", env.defaults.input
    )
    to_queue = queue is not None or queue_expr is not None
    max_wait = _max_wait(env, s, to_queue, "noanswer" in outcomes)
    in_queue = hold(env, holds, to_queue, max_wait)
    return model.Transfer(
        decl.name,
        ctx.where(decl.span),
        env.statements.body(parts.statements),
        queue,
        destination,
        s.expression("priority"),
        skills,
        announce,
        MappingProxyType({k: v[1] for k, v in outcomes.items()}),
        kind,
        postdial,
        queue_expr,
        queues,
        max_wait,
        in_queue,
    )


MAX_WAIT_LIMIT = 4 * 3600.0  # seconds; a longer "maximum" is a typo, not a queue policy


def _max_wait(env: StateEnv, s: Settings, to_queue: bool, overflow: bool) -> float | None:
    """`max_wait 5m`: how long the caller waits in the queue before the `noanswer` branch —
    the overflow target (another queue, a number, a callback offer, a recording) — runs."""
    setting = s.get("max_wait")
    if setting is None:
        return None
    seconds = s.duration("max_wait", 0.0)
    if not to_queue:
        env.ctx.error("E121", "'max_wait' is for a queue: a number does not wait", setting.span)
    elif not 0 < seconds <= MAX_WAIT_LIMIT:
        env.ctx.error(
            "E121", "'max_wait' must be more than 0s and at most 4h", setting.span, "like 5m"
        )
    elif not overflow:
        env.ctx.error(
            "E121",
            "'max_wait' needs somewhere to send the caller: add a 'noanswer ->' branch",
            setting.span,
            "noanswer -> offer_callback (or another queue, a number, a voicemail)",
        )
    return seconds if seconds > 0 else None


def _queue(
    env: StateEnv, s: Settings
) -> tuple[str | None, model.Expression | None, tuple[str, ...]]:
    """`queue billing` (declared), or `queue target [among [billing, sales]]` where target is
    a variable or an expression: (literal queue, dynamic expression, queues it may reach)."""
    ctx = env.ctx
    setting = s.get("queue")
    if setting is None or not setting.values:
        if setting is not None:
            ctx.error("E121", "'queue' expects a queue name or a variable", setting.span)
        return None, None, ()
    target, rest = setting.values[0], setting.values[1:]
    declared = ctx.symbols.queues
    among = _among(env, setting, rest)
    if (
        isinstance(target, ast.Literal)
        and target.kind == "string"
        or (isinstance(target, ast.Ref) and len(target.path) == 1 and target.path[0] in declared)
    ):
        name = target.text if isinstance(target, ast.Literal) else target.path[0]
        if rest:
            ctx.error(
                "E121",
                f"'{name}' is a queue: 'among' is for a queue chosen at run time",
                rest[0].span.to(rest[-1].span),
                f"write: queue {name}",
            )
        if name not in declared:
            ctx.unknown("E105", "queue", name, target.span, declared, f"declare it: queue {name}")
            return None, None, ()
        return name, None, (name,)
    if (
        isinstance(target, ast.Ref)
        and len(target.path) == 1
        and target.path[0] not in ctx.known_variables
    ):
        name = target.path[0]
        ctx.unknown(
            "E105",
            "queue",
            name,
            target.span,
            [*declared, *ctx.known_variables],
            f"declare it (queue {name}), or set a variable to the queue's name and write "
            "queue that_variable",
        )
        return None, None, ()
    if isinstance(target, ast.RangeValue | ast.LangValue):
        ctx.error("E121", "'queue' expects a queue name or a variable", target.span)
        return None, None, ()
    expr = compile_expr(ctx, target)
    return None, expr, among if among is not None else tuple(declared)


def _among(
    env: StateEnv, setting: ast.Setting, rest: tuple[ast.Value, ...]
) -> tuple[str, ...] | None:
    """The `among [billing, sales]` after a dynamic queue: the queues it may name."""
    if not rest:
        return None
    ctx = env.ctx
    head, names = rest[0], rest[1:]
    if not (isinstance(head, ast.Ref) and head.path == (_AMONG,)):
        ctx.error(
            "E121",
            "'queue' takes one queue, or a variable then 'among [queue, …]'",
            head.span,
            "for example: queue acct.queue among [billing, sales]",
        )
        return None
    if len(names) == 1 and isinstance(names[0], ast.ListExpr):
        names = names[0].items
    out: list[str] = []
    for v in names:
        if not (isinstance(v, ast.Ref) and len(v.path) == 1):
            ctx.error("E121", "'among' expects queue names, like [billing, sales]", v.span)
            continue
        name = v.path[0]
        if name not in ctx.symbols.queues:
            ctx.unknown(
                "E105", "queue", name, v.span, ctx.symbols.queues, f"declare it: queue {name}"
            )
            continue
        out.append(name)
    if not names:
        ctx.error("E121", "'among' expects queue names, like [billing, sales]", head.span)
    return tuple(out)


def _destination(
    env: StateEnv, s: Settings, kind: destinations.DestinationKind
) -> model.Expression | None:
    """The destination's expression; a literal one checked now (E170)."""
    expr = s.expression(kind)
    setting = s.by_name[kind]
    value = setting.values[0] if len(setting.values) == 1 else None
    if isinstance(expr, model.Const) and isinstance(value, ast.Literal):
        parsed = destinations.parse(kind, expr.value, env.ctx.country)
        if isinstance(parsed, str):
            hint = _hint(kind, expr.value) if "E.164" not in parsed else _NATIONAL
            env.ctx.error("E170", f"bad transfer destination: {parsed}", value.span, hint)
    return expr


def _postdial(
    env: StateEnv, s: Settings, kind: destinations.DestinationKind | None
) -> model.Expression | None:
    expr = s.expression("postdial")
    if expr is None:
        return None
    setting = s.by_name["postdial"]
    if kind is None:
        env.ctx.error(
            "E121",
            "'postdial' sends keys after a number, SIP or extension transfer answers",
            setting.span,
        )
    if isinstance(expr, model.Const):
        value = str(expr.value) if isinstance(expr.value, int) else expr.value
        problem = destinations.postdial_problem(value)
        if problem:
            env.ctx.error(
                "E170",
                f"bad transfer destination: {problem}",
                setting.values[0].span,
                'for example: postdial "ww256" (w waits half a second)',
            )
    return expr


def _hint(kind: destinations.DestinationKind, value: object) -> str:
    """The kind the text is, when it is another one (`sip "…"`), else an example."""
    fits = [
        f'{other} "{value}"'
        for other in destinations.DESTINATION_KINDS
        if other != kind and isinstance(destinations.parse(other, value), destinations.Destination)
    ]
    if fits:
        keys = "*" in str(value) and kind == "number"
        return (
            "write: "
            + " or ".join(fits)
            + ('; keys to send after the answer go in postdial "…"' if keys else "")
        )
    return _HINTS[kind]


_NATIONAL = 'write it with its country code ("+551140040000"), or set the header\'s country'
_HINTS = {
    "number": 'a number in E.164, like "+15551234567"; a SIP URI goes in sip, an extension in '
    "extension",
    "sip": 'for example: sip "sip:alice@example.com"',
    "extension": 'for example: extension "1234" or extension "1234@sales" (extension@context)',
}

__all__ = ["transfer"]
