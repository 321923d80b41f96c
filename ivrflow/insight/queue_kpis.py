"""The queue leg's figures: offered, answered, ASA, service level, queue abandonment (short
abandons apart), waits, callbacks requested from the queue and EWT accuracy.

One `QueueTally` per slice (all legs, a queue, an hour, a day) folds the record's `queue`
sections (and their `earlier` legs) one at a time, keeping one number per leg for the
percentiles. docs/metrics.md ("The queue leg") defines each figure as the industry does;
the comments here say how.
"""

from __future__ import annotations

import datetime as dt
import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..runtime.queue_leg import QUEUE_OUTCOMES
from .stats import percentile, ratio
from .stats import rounded as _r

DEFAULT_SL_TARGETS = (20.0,)
DEFAULT_SHORT_ABANDON = 5.0
# Legs in which the caller waited in the queue: what the queue was offered.
WAITED = frozenset({"answered", "abandoned", "left_for_callback", "overflow", "timeout"})


def legs(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The record's queue legs, earliest first (none for a record before the queue leg)."""
    last = record.get("queue")
    if not isinstance(last, dict):
        return
    for earlier in last.get("earlier") or ():
        if isinstance(earlier, dict):
            yield earlier
    yield last


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value) if 0 <= value < 1e7 else None
    return None


def queued_epoch(leg: dict[str, Any], started: float) -> float:
    """When the leg began, as epoch seconds; the call's start when the record does not say."""
    text = leg.get("queued_at")
    if isinstance(text, str):
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            return started
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    return started


@dataclass
class QueueTally:
    targets: tuple[float, ...] = DEFAULT_SL_TARGETS
    short_abandon: float = DEFAULT_SHORT_ABANDON
    outcomes: Counter[str] = field(default_factory=Counter)
    waits: array[float] = field(default_factory=lambda: array("d"))  # every waited leg's wait
    answer_waits: array[float] = field(default_factory=lambda: array("d"))
    short_abandons: int = 0
    ewt_compared: int = 0
    ewt_abs_error: float = 0.0
    ewt_signed_error: float = 0.0

    def add(self, leg: dict[str, Any]) -> None:
        outcome = leg.get("outcome")
        if outcome not in QUEUE_OUTCOMES:
            outcome = "failed"  # a foreign or damaged section: counted, not trusted
        wait = _seconds(leg.get("wait"))
        if outcome in WAITED and wait is None:
            outcome = "failed"  # a wait without its length cannot be placed in any figure
        self.outcomes[outcome] += 1
        if outcome not in WAITED or wait is None:
            return
        self.waits.append(wait)
        if outcome == "answered":
            self.answer_waits.append(wait)
            ewt = _seconds(leg.get("ewt_announced"))
            if ewt is not None:  # only an answered caller's wait is the whole wait
                self.ewt_compared += 1
                self.ewt_abs_error += abs(ewt - wait)
                self.ewt_signed_error += ewt - wait
        elif outcome == "abandoned" and wait < self.short_abandon:
            self.short_abandons += 1

    def figures(self) -> dict[str, Any]:
        o = self.outcomes
        offered = sum(o[k] for k in WAITED)
        answered = o["answered"]
        abandoned = o["abandoned"]
        short = self.short_abandons
        counted = offered - short  # short abandons are not held against the queue
        answer_waits = sorted(self.answer_waits)
        waits = sorted(self.waits)
        out: dict[str, Any] = {
            "offered": offered,
            "answered": answered,
            "abandoned": abandoned,
            "short_abandons": short,
            "left_for_callback": o["left_for_callback"],
            "overflow": o["overflow"],
            "timeout": o["timeout"],
            "full": o["full"],
            "failed": o["failed"],
            "asa_s": _r(sum(answer_waits) / answered) if answered else None,
            "queue_abandonment_rate": ratio(abandoned - short, counted),
            "short_abandon_rate": ratio(short, offered),
            "callback_request_rate": ratio(o["left_for_callback"], offered),
            "wait_mean_s": _r(sum(waits) / len(waits)) if waits else None,
            "wait_p90_s": _r(percentile(waits, 90)),
            "wait_max_s": _r(waits[-1]) if waits else None,
            "ewt_compared": self.ewt_compared,
            "ewt_error_mean_s": _r(self.ewt_abs_error / self.ewt_compared)
            if self.ewt_compared
            else None,
            "ewt_bias_s": _r(self.ewt_signed_error / self.ewt_compared)
            if self.ewt_compared
            else None,
        }
        for t in self.targets:
            out[service_level_key(t)] = ratio(sum(1 for w in answer_waits if w <= t), counted)
        return out


def service_level_key(target: float) -> str:
    """The figure's key: service level at 20 s → `service_level_20s`."""
    return f"service_level_{target:g}s"


class QueueReport:
    """Queue-leg tallies over all legs, per queue, per hour and per day (in `zone`)."""

    def __init__(
        self,
        zone: dt.tzinfo = dt.UTC,
        targets: tuple[float, ...] = DEFAULT_SL_TARGETS,
        short_abandon: float = DEFAULT_SHORT_ABANDON,
    ) -> None:
        self.zone = zone
        self.targets = tuple(sorted(set(targets))) or DEFAULT_SL_TARGETS
        self.short_abandon = short_abandon
        self.total = self._tally()
        self.per_queue: dict[str, QueueTally] = defaultdict(self._tally)
        self.per_period: dict[str, dict[str, QueueTally]] = {
            "hour": defaultdict(self._tally),
            "day": defaultdict(self._tally),
        }
        self.records_with_legs = 0

    def _tally(self) -> QueueTally:
        return QueueTally(self.targets, self.short_abandon)

    def add(self, record: dict[str, Any], started: float) -> None:
        found = False
        for leg in legs(record):
            found = True
            self.total.add(leg)
            self.per_queue[str(leg.get("queue"))].add(leg)
            local = dt.datetime.fromtimestamp(queued_epoch(leg, started), self.zone)
            self.per_period["hour"][local.strftime("%Y-%m-%d %H:00")].add(leg)
            self.per_period["day"][local.strftime("%Y-%m-%d")].add(leg)
        self.records_with_legs += found

    def result(self) -> dict[str, Any]:
        return {
            "service_level_targets_s": list(self.targets),
            "short_abandon_s": self.short_abandon,
            "records_with_queue_leg": self.records_with_legs,
            "summary": self.total.figures(),
            "queues": [{"queue": q} | t.figures() for q, t in sorted(self.per_queue.items())],
            "by_hour": [
                {"period": p} | t.figures() for p, t in sorted(self.per_period["hour"].items())
            ],
            "by_day": [
                {"period": p} | t.figures() for p, t in sorted(self.per_period["day"].items())
            ],
        }


__all__ = [
    "DEFAULT_SHORT_ABANDON",
    "DEFAULT_SL_TARGETS",
    "WAITED",
    "QueueReport",
    "QueueTally",
    "legs",
    "queued_epoch",
    "service_level_key",
]
