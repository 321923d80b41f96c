"""The escalation rule: which no-input / no-match handler runs, and when the retries are spent.

A pure function of the state's escalation table, the kind, the counts and the retries. The
interpreter (runtime.escalation) carries it out; the traffic walk predicts with it and the
compiler's silent-loop check (W202) follows a silent caller with it, so all three agree.
"""

from __future__ import annotations

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


def escalate(
    table: model.Escalation, kind: str, noinput: int, nomatch: int, retries: int, here: str = ""
) -> Escalated:
    """The handler for this failure; `noinput`/`nomatch` count it already; `here` is the
    state's name (a handler that goes back to it re-prompts)."""
    handler = table.for_count(noinput if kind == "noinput" else nomatch)
    last = noinput + nomatch >= retries  # exhausted(), inlined
    if handler is None:
        return (None, "", last)
    # The count the handler was written for (0: `noinput:` without one, every time).
    declared = next((n for n, b in table.by_count.items() if b is handler), 0)
    # The last failure: no re-prompt follows, so a handler meant to re-prompt ("press 1
    # for …", or `-> repeat`) is skipped. One written for the retries-th time (`noinput 3`
    # with retries 3) is a goodbye and plays; one that leads on runs.
    if last and declared < retries and (not ends(handler) or comes_back(handler, here)):
        return (None, "", last)
    return (handler, f"{kind} {declared}" if declared else kind, last)


__all__ = ["Escalated", "escalate", "exhausted"]
