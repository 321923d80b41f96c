"""Callback figures from the callback store (docs/metrics.md, "Callbacks"): what became of the
promises the IVR made, which call records alone cannot tell (a record ends when the call
does; the callback happens hours later)."""

from __future__ import annotations

import statistics
from typing import Any

from ..host.callback_lifecycle import Figures, LifecycleStore

FINAL = ("completed", "exhausted", "cancelled", "expired")


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(store: LifecycleStore, since: float | None = None) -> dict[str, Any]:
    """The figures as the report prints them (JSON-ready)."""
    return summarize(store.figures(since))


def summarize(f: Figures) -> dict[str, Any]:
    states = {state: f.by_state.get(state, 0) for state in ("pending", "dialing", *FINAL)}
    ended = sum(states[s] for s in FINAL)
    waits = sorted(f.time_to_callback)
    return {
        "requested": f.requested,
        "states": states,
        "completed": states["completed"],
        "exhausted": states["exhausted"],
        "expired": states["expired"],
        "cancelled": states["cancelled"],
        "open": states["pending"] + states["dialing"],
        "completion_rate": _ratio(states["completed"], ended),
        "time_to_callback": {
            "median": round(statistics.median(waits), 1) if waits else None,
            "p90": round(waits[int(0.9 * (len(waits) - 1))], 1) if waits else None,
            "mean": round(statistics.fmean(waits), 1) if waits else None,
        },
        "attempts": f.attempts,
        "attempts_per_completion": (
            round(statistics.fmean(f.attempts_per_completion), 2)
            if f.attempts_per_completion
            else None
        ),
        "attempt_outcomes": dict(sorted(f.outcomes.items())),
    }


def text(data: dict[str, Any]) -> str:
    """The figures as a block of the text report."""
    t = data["time_to_callback"]
    rate = data["completion_rate"]
    lines = [
        "Callbacks (from the callback store)",
        f"  requested                 {data['requested']:,}",
        f"  completed                 {data['completed']:,}"
        + (f"  ({rate:.1%} of those ended)" if rate is not None else ""),
        f"  exhausted                 {data['exhausted']:,}",
        f"  expired                   {data['expired']:,}",
        f"  cancelled                 {data['cancelled']:,}",
        f"  still open                {data['open']:,}",
        "  time to callback          "
        + (f"median {t['median']:,.0f}s, p90 {t['p90']:,.0f}s" if t["median"] is not None else "-"),
        "  attempts per completion   "
        + (f"{data['attempts_per_completion']:.2f}" if data["attempts_per_completion"] else "-"),
        "  attempt outcomes          "
        + (", ".join(f"{k} {v:,}" for k, v in data["attempt_outcomes"].items()) or "-"),
    ]
    return "\n".join(lines) + "\n"


__all__ = ["figures", "summarize", "text"]
