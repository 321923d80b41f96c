"""Tracing hooks: how tools watch a call as it runs (coverage, traces, the simulator's voice).

A listener is told of each state entered, prompt, input, look-up, edge followed and the call's
end. A broken listener is noted in the call's errors, never allowed to break the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .actions import Play, Say


class Listener:
    """Tracing hooks; subclass and override what you need. Secure input arrives masked.

    `session` is the `Session` the hook fires for. It is typed loosely here, below the
    session in the import order, so that a subclass may name it `Session`.
    """

    def state_entered(self, session: Any, state: str, at: float) -> None:
        pass

    def prompt(self, session: Any, action: Say | Play) -> None:
        pass

    def input(self, session: Any, kind: str, value: str, at: float) -> None:
        pass

    def lookup(self, session: Any, function: str, status: str, latency_ms: float) -> None:
        pass

    def edge(self, session: Any, source: str, target: str, label: str) -> None:
        """The call follows a `->`/`goto` from `source`; `label` names the branch taken
        ("choice 1", "noinput 2", "exhausted", "ok", "error", "busy", … or "" for a plain goto).
        `target` may be `repeat`, `hangup` or `return`."""

    def ended(self, session: Any, record: dict[str, Any]) -> None:
        pass


__all__ = ["Listener"]
