"""Small text helpers shared by the tree, the search and the report: times, queue
answers, ordinals, quoted phrases, caller steps and outcomes as shown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def _show_time(at: str) -> str:
    when = dt.datetime.fromisoformat(at)
    return (
        when.strftime("%a %Y-%m-%d %H:%M ")
        + when.strftime("%z")[:3]
        + ":"
        + when.strftime("%z")[3:]
    )


def _queue_text(ewt: float | None, position: int | None) -> str:
    wait = "ewt unknown" if ewt is None else f"ewt {ewt:g}s"
    return wait + ("" if position is None else f", position {position}")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _step_text(step: tuple[str, str | None]) -> str:
    kind, value = step
    return kind if value is None else f"{kind} {value}"


def _public_outcome(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome without what differs between runs of a store (the callback reference)."""
    return {k: v for k, v in outcome.items() if k != "reference"}
