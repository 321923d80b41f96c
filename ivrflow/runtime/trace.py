"""Telling listeners what the call does, and keeping secure values out of what is told."""

from __future__ import annotations

from typing import Any

from .listener import Listener
from .state import CallState


def notify(call: CallState, listener: Listener, hook: str, *args: Any) -> None:
    """Call a listener's hook; a broken listener is noted, never allowed to break a call."""
    try:
        getattr(listener, hook)(call, *args)
    except Exception as exc:
        failed = f"listener {type(listener).__name__}.{hook} failed: {exc!r:.200}"
        call.errors.append(scrub(call, failed))


def edge(call: CallState, target: str, label: str) -> None:
    """Tell listeners the call follows an edge from its state (to a pseudo-state such as
    `(transfer)` when it leaves the flow, see flowgraph.TERMINALS)."""
    for listener in call.listeners:
        notify(call, listener, "edge", call.state, target, label)


def scrub(call: CallState, text: str) -> str:
    """`text` with the values of secure captures masked: an error message may quote
    the value it failed on ("date: '1228' is not a date"), a host's reason the card."""
    for name in call.flow.secure_variables:
        value = call.vars.get(name)
        if isinstance(value, str) and len(value) >= 3 and value in text:
            text = text.replace(value, "****")
    return text


__all__ = ["edge", "notify", "scrub"]
