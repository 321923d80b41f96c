"""A state's branches: sorted into outcomes (`ok -> …`), escalations (`noinput 2: …`) and
choices (`1, "billing" -> …`), each checked against the words its kind accepts.

Every kind but a step has branches; the input kinds (menu, capture, callback) also have
escalations, with a warning when one is not handled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from ..model.escalation import exhausted_reachable, own_limit
from ..model.walk import ends
from .context import Context
from .statements import StatementCompiler
from .vocabulary import ESCALATIONS, KEY_WORDS, LIMIT_EXITS

Outcomes = dict[str, tuple[ast.Branch, model.Body]]  # word → (its branch, compiled body)
Escalations = dict[str, dict[int, model.Body]]  # noinput/nomatch → count (0: any) → body


class SortedBranches(NamedTuple):
    outcomes: Outcomes
    escalations: Escalations
    choices: list[ast.Branch]  # left for the menu to compile


def sort_branches(
    statements: StatementCompiler,
    branches: Sequence[ast.Branch],
    words: set[str],
    owner: str,
    limits: model.InputSettings | int,
    keys_ok: bool = False,
) -> SortedBranches:
    """Sort branches into outcomes, escalations and (when `keys_ok`) choices; `limits` the
    state's input settings (or, for a kind without escalations, just a retries count)."""
    ctx = statements.ctx
    outcomes: Outcomes = {}
    escalations: Escalations = {"noinput": {}, "nomatch": {}}
    choices: list[ast.Branch] = []
    for b in branches:
        words_here = [
            lb for lb in b.labels if lb.kind in ("word", "counted") and lb.text not in KEY_WORDS
        ]
        if not words_here:
            choice_kinds = ("key", "phrase", "regex")
            if keys_ok and all(lb.kind in (*choice_kinds, "word") for lb in b.labels):
                choices.append(b)
            else:
                bad = next(lb for lb in b.labels if not (keys_ok and lb.kind in choice_kinds))
                ctx.error(
                    "E123",
                    f"{owner} has no branch '{bad.text}'",
                    bad.span,
                    "branches here: " + ", ".join(sorted(words)),
                )
            continue
        body = statements.body(b.body)
        for lb in b.labels:
            name = "nomatch" if lb.text == "invalid" else lb.text
            if lb.kind in ("key", "phrase", "percent", "regex") or lb.text not in words:
                ctx.error(
                    "E123",
                    f"{owner} has no branch '{lb.text}'",
                    lb.span,
                    did_you_mean(lb.text, words) or "branches here: " + ", ".join(sorted(words)),
                )
                continue
            if name in ESCALATIONS:
                count = lb.nth or 0
                retries = limits if isinstance(limits, int) else limits.retries
                cap = limits if isinstance(limits, int) else own_limit(limits, name)
                if lb.kind == "counted" and not 1 <= count <= cap:
                    what = "retries" if cap == retries else f"the {name} limit"
                    ctx.error(
                        "E135",
                        f"{lb.text} {count} can never happen: {what} is {cap}",
                        lb.span,
                        f"counts go from 1 to {cap}; raise 'retries' for more",
                    )
                if count in escalations[name]:
                    ctx.error(
                        "E101",
                        f"'{lb.text} {count or ''}'".replace(" '", "'") + " is handled twice",
                        lb.span,
                    )
                escalations[name][count] = body
                continue
            if lb.kind == "counted":
                ctx.error("E123", f"'{lb.text}' takes no count", lb.span)
            if name in outcomes:
                ctx.error(
                    "E101",
                    f"'{name}' is handled twice",
                    lb.span,
                    f"first on line {outcomes[name][0].span.line}",
                )
                continue
            if not ends(body):
                statements.dead_end(lb.span, f"'{lb.text}'")
            outcomes[name] = (b, body)
    return SortedBranches(outcomes, escalations, choices)


def escalation(by_count: dict[int, model.Body]) -> model.Escalation:
    return model.Escalation(MappingProxyType(dict(sorted(by_count.items()))))


def escalation_lines(branches: Sequence[ast.Branch]) -> list[ast.Line]:
    """The lines of the noinput/nomatch branches (what the caller hears on a retry)."""
    return [
        line for b in branches if any(lb.text in ESCALATIONS for lb in b.labels) for line in b.body
    ]


def limit_exits(
    ctx: Context, decl: ast.StateDecl, limits: model.InputSettings, outcomes: Outcomes
) -> Mapping[str, model.Body]:
    """The exits of each kind's own limit (`noinput exhausted -> …`), each checked to be
    takeable, and `exhausted` too: with both kinds limited it may never come."""
    exits: dict[str, model.Body] = {}
    for word, kind in LIMIT_EXITS.items():
        if word not in outcomes:
            continue
        branch, body = outcomes[word]
        if getattr(limits, f"{kind}_limit") is None:
            ctx.error(
                "E135",
                f"'{word}' can never happen: {decl.kind} '{decl.name}' has no {kind} limit",
                branch.labels[0].span,
                f"set one: retries {kind} 2 (or use exhausted)",
            )
        exits[kind] = body
    if "exhausted" in outcomes and not exhausted_reachable(limits, exits):
        ctx.error(
            "E135",
            "'exhausted' can never happen: each kind's own limit ends the state first",
            outcomes["exhausted"][0].labels[0].span,
            f"no-inputs stop at {limits.noinput_limit}, no-matches at {limits.nomatch_limit}; "
            f"remove it, or limit both together: retries "
            f"{(limits.noinput_limit or 1) + (limits.nomatch_limit or 1) - 2}",
        )
    return MappingProxyType(exits)


def warn_unhandled(
    ctx: Context,
    decl: ast.StateDecl,
    escalations: Escalations,
    outcomes: Mapping[str, object],
    exhausted_needed: bool = True,
) -> None:
    for name, code in (("noinput", "W204"), ("nomatch", "W205")):
        if not escalations[name]:
            ctx.warning(
                code,
                f"{decl.kind} '{decl.name}' has no {name} handling",
                decl.name_span,
                f'the default prompt applies; add: {name}: say "…"',
            )
    if "exhausted" not in outcomes and exhausted_needed:
        ctx.warning(
            "W207",
            f"{decl.kind} '{decl.name}' has no exhausted branch",
            decl.name_span,
            "by default the caller hears an apology and the call ends; add: exhausted -> agent",
        )


__all__ = [
    "Escalations",
    "Outcomes",
    "SortedBranches",
    "escalation",
    "escalation_lines",
    "limit_exits",
    "sort_branches",
    "warn_unhandled",
]
