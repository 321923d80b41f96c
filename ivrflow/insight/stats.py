"""The report's two statistics, one definition each (docs/metrics.md, "Conventions")."""

from __future__ import annotations

import math


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list: the smallest value with at least p% of
    the values at or below it (p50 of [1, 2, 3, 4] is 2). None for no values."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def rounded(value: float | None, places: int = 1) -> float | None:
    """A time as the report shows it (0.1 s), None kept None."""
    return None if value is None else round(value, places)


__all__ = ["percentile", "ratio", "rounded"]
