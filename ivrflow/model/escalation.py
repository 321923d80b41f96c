"""The escalation rule: which no-input / no-match handler runs, and when the retries are spent.

A pure function of the state's escalation table, the kind, the counts and the retries. The
interpreter (runtime.escalation) carries it out; the traffic walk predicts with it and the
compiler's silent-loop check (W202) follows a silent caller with it, so all three agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from . import flow as model
from .walk import comes_back, ends

# What a no-input or no-match leads to: (handler, label, last). `handler` is the flow's
# handler to run, or None for the default prompt; `label` its branch label ("noinput 2",
# or "noinput" for one written for every time); `last`: the last try, no re-prompt follows
# (so no default prompt either). A plain tuple: it is made on every failure.
Escalated: TypeAlias = tuple[model.Body | None, str, bool]


def exhausted(noinput: int, nomatch: int, retries: int) -> bool:
    """No-inputs and no-matches count together against the state's retries: when they
    reach them, the state gives up (its `exhausted` branch) instead of asking again."""
    return noinput + nomatch >= retries


def spent(noinput: int, nomatch: int, limits: model.InputSettings) -> str | None:
    """Which limit the counts reached, or None: "noinput" or "nomatch" (that kind's own,
    `retries noinput 2`), else "retries" (no-inputs and no-matches together)."""
    if limits.noinput_limit is not None and noinput >= limits.noinput_limit:
        return "noinput"
    if limits.nomatch_limit is not None and nomatch >= limits.nomatch_limit:
        return "nomatch"
    return "retries" if noinput + nomatch >= limits.retries else None


def own_limit(limits: model.InputSettings, kind: str) -> int:
    """How many failures of `kind` a visit can take at most."""
    own = limits.noinput_limit if kind == "noinput" else limits.nomatch_limit
    return limits.retries if own is None else min(own, limits.retries)


def escalate(
    table: model.Escalation,
    kind: str,
    noinput: int,
    nomatch: int,
    limits: model.InputSettings | int,
    here: str = "",
) -> Escalated:
    """The handler for this failure; `noinput`/`nomatch` count it already; `limits` the
    state's input settings (or just its retries); `here` is the state's name (a handler
    that goes back to it re-prompts)."""
    if isinstance(limits, int):
        retries, cap = limits, limits
        last = noinput + nomatch >= retries  # exhausted(), inlined
    else:
        last = spent(noinput, nomatch, limits) is not None
        cap = own_limit(limits, kind)
    handler = table.for_count(noinput if kind == "noinput" else nomatch)
    if handler is None:
        return (None, "", last)
    # The count the handler was written for (0: `noinput:` without one, every time).
    declared = next((n for n, b in table.by_count.items() if b is handler), 0)
    # The last failure: no re-prompt follows, so a handler meant to re-prompt ("press 1
    # for …", or `-> repeat`) is skipped. One written for the last count of its kind
    # (`noinput 3` with retries 3) is a goodbye and plays; one that leads on runs.
    if last and declared < cap and (not ends(handler) or comes_back(handler, here)):
        return (None, "", last)
    return (handler, f"{kind} {declared}" if declared else kind, last)


def exit_of(
    state: model.Menu | model.Capture | model.CallbackOffer, which: str
) -> tuple[model.Body | None, str]:
    """The branch a spent limit takes, and its label: a kind's own exit (`noinput
    exhausted`), else `exhausted`; None: the documented default (apology, outcome error)."""
    if which != "retries":
        own = state.limit_exits.get(which)
        if own is not None:
            return own, f"{which} exhausted"
    return state.exhausted, "exhausted"


def exhausted_reachable(limits: model.InputSettings, exits: Mapping[str, object]) -> bool:
    """Can a visit end on `exhausted`: a kind's limit without its own exit falls back to it,
    and the combined count binds when some counts under each own limit add up to it."""
    a, b = limits.noinput_limit, limits.nomatch_limit
    if (a is not None and "noinput" not in exits) or (b is not None and "nomatch" not in exits):
        return True
    if a is None or b is None:
        return True
    return limits.retries <= (a - 1) + (b - 1)


__all__ = [
    "Escalated",
    "escalate",
    "exhausted",
    "exhausted_reachable",
    "exit_of",
    "own_limit",
    "spent",
]
