"""The supervisor's headline figures: each with its target, a red/amber/green status and the
change against the previous period of the same length (docs/metrics.md, "The page")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

AMBER_MARGIN = 0.10  # within 10 % of the target (relative) is amber, beyond it red


@dataclass(frozen=True)
class Target:
    key: str  # where the figure is: "summary.containment_rate", "queue_leg.asa_s"
    label: str
    kind: str  # pct or s
    better: str  # "higher" or "lower"
    value: float


def default_targets(sl_target: float) -> list[Target]:
    return [
        Target("summary.containment_rate", "Containment", "pct", "higher", 0.30),
        Target("queue_leg.asa_s", "ASA", "s", "lower", 30.0),
        Target(
            f"queue_leg.service_level_{sl_target:g}s",
            f"Service level ({sl_target:g} s)",
            "pct",
            "higher",
            0.80,
        ),  # fmt: skip
        Target("summary.abandonment_rate", "Abandoned in the IVR", "pct", "lower", 0.10),
        Target("queue_leg.queue_abandonment_rate", "Abandoned in queue", "pct", "lower", 0.05),
    ]


def figure(report: dict[str, Any] | None, key: str) -> float | None:
    if report is None:
        return None
    section, _, name = key.partition(".")
    data = report.get(section) or {}
    if section == "queue_leg":
        data = data.get("summary") or {}
    value = data.get(name)
    return float(value) if isinstance(value, int | float) else None


def status(target: Target, value: float | None) -> str:
    """green (meets the target), amber (misses it by 10 % of the target or less), red, or
    none (no figure)."""
    if value is None:
        return "none"
    if target.better == "higher":
        if value >= target.value:
            return "green"
        return "amber" if value >= target.value * (1 - AMBER_MARGIN) else "red"
    if value <= target.value:
        return "green"
    return "amber" if value <= target.value * (1 + AMBER_MARGIN) else "red"


def headline(
    report: dict[str, Any], previous: dict[str, Any] | None, targets: list[Target]
) -> list[dict[str, Any]]:
    """One tile per target: value, target, status, previous value and change."""
    tiles = []
    for target in targets:
        value, before = figure(report, target.key), figure(previous, target.key)
        change = None if value is None or before is None else round(value - before, 4)
        tiles.append(
            {
                "key": target.key,
                "label": target.label,
                "kind": target.kind,
                "better": target.better,
                "value": value,
                "target": target.value,
                "status": status(target, value),
                "previous": before,
                "change": change,
            }
        )
    return tiles


def period_bounds(first: float, last: float, zone: dt.tzinfo) -> tuple[float, float]:
    """The whole local days from the first call's to the last call's, as [start, end)."""
    start = dt.datetime.fromtimestamp(first, zone).date()
    end = dt.datetime.fromtimestamp(last, zone).date() + dt.timedelta(days=1)
    return (
        dt.datetime.combine(start, dt.time(), zone).timestamp(),
        dt.datetime.combine(end, dt.time(), zone).timestamp(),
    )


__all__ = [
    "AMBER_MARGIN",
    "Target",
    "default_targets",
    "figure",
    "headline",
    "period_bounds",
    "status",
]
