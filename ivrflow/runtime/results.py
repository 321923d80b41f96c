"""How a piece of the interpreter hands control back: typed results, followed by the trampoline.

A body of statements, an input handler or a host answer does its part and returns what comes
next — go to a state, end the call, return from a `call`, the body ran out, or listen for
the caller — and `interpreter.follow` carries it out. Nothing below the trampoline calls up
to it, so a long call is a loop, not a deep stack.

The results are immutable; the ones without data (`RETURN`, each `BodyEnd`, each `Ask`) are
built once and shared.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from .. import model
from .state import INPUT_PHASES, Phase


class Role(StrEnum):
    """Which body ran out: what comes after it depends on it (interpreter.FALLTHROUGH)."""

    STEP = "step"  # a step's body: it must lead somewhere
    PROMPT = "prompt"  # an input state's prompt: listen
    LOOKUP = "lookup"  # a look-up's prompt: ask the host
    TRANSFER = "transfer"  # a transfer's body: transfer
    RECORD = "record"  # a record state's prompt: record the caller
    BRANCH = "branch"  # a branch (a choice, ok, error, exhausted, …): it must lead somewhere
    HANDLER = "handler"  # an escalation handler: the state asks again, or gives up
    QUEUE = "queue"  # a transfer to a queue was just entered (nothing ran): pick the queue


class Goto:
    """Follow `->`/`goto` to a state or a special target (repeat, hangup, return)."""

    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        self.target = target


class HangUp:
    """End the call from the flow (`hangup`)."""

    __slots__ = ("outcome", "reason")

    def __init__(self, reason: str | None, outcome: str) -> None:
        self.reason = reason
        self.outcome = outcome  # self_served | error


class Return:
    """`return` from a `call`."""

    __slots__ = ()


class BodyEnd:
    """A body ran to its end."""

    __slots__ = ("role",)

    def __init__(self, role: str) -> None:  # a Role; a damaged snapshot may hold another
        self.role = role


class Ask:
    """Listen for the caller in `phase` (type-ahead already in is taken first)."""

    __slots__ = ("phase",)

    def __init__(self, phase: Phase) -> None:
        self.phase = phase


class CallSub:
    """`call` a state; `chain` is where to come back, (body, next statement) innermost first.
    Only statement execution sees it: it becomes a call frame and a `Goto`."""

    __slots__ = ("chain", "target")

    def __init__(self, target: str, chain: list[tuple[model.Body, int]]) -> None:
        self.target = target
        self.chain = chain


Result: TypeAlias = Goto | HangUp | Return | BodyEnd | Ask

RETURN = Return()
STEP_END = BodyEnd(Role.STEP)
PROMPT_END = BodyEnd(Role.PROMPT)
LOOKUP_END = BodyEnd(Role.LOOKUP)
TRANSFER_END = BodyEnd(Role.TRANSFER)
RECORD_END = BodyEnd(Role.RECORD)
BRANCH_END = BodyEnd(Role.BRANCH)
HANDLER_END = BodyEnd(Role.HANDLER)
QUEUE_ENTRY = BodyEnd(Role.QUEUE)
# By role, as call frames (and snapshots) name it.
BODY_ENDS: dict[str, BodyEnd] = {
    e.role: e
    for e in (STEP_END, PROMPT_END, LOOKUP_END, TRANSFER_END, RECORD_END, BRANCH_END, HANDLER_END)
}
ASK: dict[Phase, Ask] = {phase: Ask(phase) for phase in INPUT_PHASES}

__all__ = [
    "ASK",
    "BODY_ENDS",
    "BRANCH_END",
    "HANDLER_END",
    "LOOKUP_END",
    "PROMPT_END",
    "QUEUE_ENTRY",
    "RETURN",
    "STEP_END",
    "RECORD_END",
    "TRANSFER_END",
    "Ask",
    "BodyEnd",
    "CallSub",
    "Goto",
    "HangUp",
    "Result",
    "Return",
    "Role",
]
