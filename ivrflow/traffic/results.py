"""Replications, figures with 95 % confidence intervals, and the agents sweep.

Each replication runs the whole period with its own seed (seed, seed+1, …);
a figure's interval is mean ± t(0.975, R−1) · s / √R over the replications
(Student t). Every figure is defined in docs/traffic.md.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .center import DAY, RunResult, simulate_center
from .model import TrafficModel
from .walk import Walker

__all__ = [
    "Estimate",
    "QueueFigures",
    "Summary",
    "SweepRow",
    "run",
    "summarize",
    "sweep",
    "t_quantile",
]

# t(0.975, df) for df = 1..30; above, the normal quantile plus a small correction.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile(df: int) -> float:
    if df < 1:
        return math.inf
    return _T975[df - 1] if df <= 30 else 1.96 + 2.4 / df


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    half: float  # 95 % confidence half-width; inf with one replication

    @classmethod
    def of(cls, values: Sequence[float]) -> Estimate:
        finite = [v for v in values if not math.isnan(v)]
        if not finite:
            return cls(math.nan, math.nan)
        mean = statistics.fmean(finite)
        if len(finite) < 2:
            return cls(mean, math.inf)
        return cls(
            mean, t_quantile(len(finite) - 1) * statistics.stdev(finite) / math.sqrt(len(finite))
        )

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def as_json(self, digits: int = 4) -> dict[str, float | None]:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) or math.isinf(x) else round(x, digits)

        return {"mean": clean(self.mean), "ci95": clean(self.half)}


@dataclass(frozen=True, slots=True)
class QueueFigures:
    name: str
    agents: int  # on duty all day, or the most on duty in any hour
    schedule: tuple[int, ...] | None  # agents per hour of the day, when the model gives them
    aht: float
    patience: float | None
    offered_per_day: Estimate
    offered_load: Estimate  # Erlangs, mean over the period
    peak_load: Estimate  # Erlangs, busiest hour of the day
    asa: Estimate  # seconds, answered calls
    service_level: Estimate  # answered within the threshold / offered
    abandonment: Estimate  # abandoned / offered
    p_wait: Estimate  # found every agent busy
    occupancy: Estimate  # handle time / (agents × period)
    callbacks_per_day: Estimate
    callback_delay: Estimate  # seconds from the request's turn to an agent taking it
    unstable: bool  # no abandonment and load ≥ agents: waits grow without bound
    sl_by_hour: tuple[float, ...]  # mean over replications, NaN where no call came
    offered_by_hour: tuple[float, ...]  # calls per day in each hour of the day


@dataclass(frozen=True, slots=True)
class Summary:
    replications: int
    days: int
    calls_per_day: Estimate
    containment: Estimate
    outcome_shares: dict[str, Estimate]
    ivr_time: Estimate  # seconds, every call
    ivr_time_transferred: Estimate
    queues: tuple[QueueFigures, ...]
    abandoned_in: dict[str, float]  # IVR state → share of calls, mean
    reasons: dict[str, float]  # "self_served: reason" → share of calls, mean
    arrivals_by_hour: tuple[float, ...]  # calls per day in each hour
    ivr_durations: tuple[float, ...]  # a sample, for the histogram
    assumed: dict[str, float]
    sl_target: float
    sl_threshold: float
    funnel: list[tuple[str, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "replications": self.replications,
            "days": self.days,
            "calls_per_day": self.calls_per_day.as_json(1),
            "containment": self.containment.as_json(),
            "outcomes": {k: v.as_json() for k, v in self.outcome_shares.items()},
            "ivr_time": self.ivr_time.as_json(1),
            "ivr_time_transferred": self.ivr_time_transferred.as_json(1),
            "target": {"service_level": self.sl_target, "threshold": self.sl_threshold},
            "queues": {
                q.name: {
                    "agents": list(q.schedule) if q.schedule else q.agents,
                    "aht": q.aht,
                    "patience": q.patience,
                    "unstable": q.unstable,
                    "offered_per_day": q.offered_per_day.as_json(1),
                    "offered_load": q.offered_load.as_json(2),
                    "peak_load": q.peak_load.as_json(2),
                    "asa": q.asa.as_json(1),
                    "service_level": q.service_level.as_json(),
                    "abandonment": q.abandonment.as_json(),
                    "p_wait": q.p_wait.as_json(),
                    "occupancy": q.occupancy.as_json(),
                    "callbacks_per_day": q.callbacks_per_day.as_json(1),
                    "callback_delay": q.callback_delay.as_json(1),
                }
                for q in self.queues
            },
            "abandoned_in_ivr": {k: round(v, 4) for k, v in self.abandoned_in.items()},
            "assumed": self.assumed,
        }


def run(
    walker: Walker,
    model: TrafficModel,
    *,
    replications: int,
    seed: int,
    days: int | None = None,
    agents: dict[str, int] | None = None,
) -> list[RunResult]:
    return [
        simulate_center(walker, model, seed=seed + k, days=days, agents=agents)
        for k in range(replications)
    ]


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def summarize(walker: Walker, model: TrafficModel, runs: list[RunResult]) -> Summary:
    days = runs[0].seconds / DAY
    share_keys = ("self_served", "transferred", "callback_scheduled", "abandoned", "error")
    queues = []
    for name, spec in runs[0].specs.items():
        stats = [r.queues[name] for r in runs]
        per_hour_load = [
            [o / max(days, 1e-9) * spec.aht / 3600.0 for o in s.by_hour_offered] for s in stats
        ]
        peak = Estimate.of([max(h) for h in per_hour_load])
        # Without abandonment, an hour whose load reaches the agents on duty never clears.
        mean_load = [statistics.fmean(h[k] for h in per_hour_load) for k in range(24)]
        unstable = spec.patience is None and any(
            load > 0 and load >= spec.staffed(k) - 1e-9 for k, load in enumerate(mean_load)
        )
        staffed_per_day = 3600.0 * sum(spec.staffed(k) for k in range(24))
        # Pooled over the replications: answered in time / offered, in that hour of the day.
        sl_by_hour = tuple(
            _ratio(
                sum(s.by_hour_in_sl[h] for s in stats),
                sum(s.by_hour_offered[h] for s in stats),
            )
            for h in range(24)
        )
        queues.append(
            QueueFigures(
                name=name,
                agents=spec.agents,
                schedule=spec.schedule,
                aht=spec.aht,
                patience=spec.patience,
                offered_per_day=Estimate.of([s.offered / days for s in stats]),
                offered_load=Estimate.of(
                    [s.offered * spec.aht / r.seconds for s, r in zip(stats, runs, strict=True)]
                ),
                peak_load=peak,
                asa=Estimate.of([_ratio(s.wait_answered, s.answered) for s in stats]),
                service_level=Estimate.of([_ratio(s.answered_in_sl, s.offered) for s in stats]),
                abandonment=Estimate.of([_ratio(s.abandoned, s.offered) for s in stats]),
                p_wait=Estimate.of([_ratio(s.waited, s.offered) for s in stats]),
                occupancy=Estimate.of(
                    [
                        _ratio(s.handle, staffed_per_day * r.seconds / DAY)
                        for s, r in zip(stats, runs, strict=True)
                    ]
                ),
                callbacks_per_day=Estimate.of([s.callbacks / days for s in stats]),
                callback_delay=Estimate.of([_ratio(s.callback_wait, s.callbacks) for s in stats]),
                unstable=unstable,
                sl_by_hour=sl_by_hour,
                offered_by_hour=tuple(
                    statistics.fmean([s.by_hour_offered[h] / days for s in stats])
                    for h in range(24)
                ),
            )
        )
    calls = [r.calls for r in runs]

    def mean_share(counter: Callable[[RunResult], Counter[str]]) -> dict[str, float]:
        keys = {k for r in runs for k in counter(r)}
        return {
            k: statistics.fmean([_ratio(counter(r)[k], r.calls) for r in runs])
            for k in sorted(keys, key=lambda k: (-sum(counter(r)[k] for r in runs), k))
        }

    durations = tuple(d for r in runs for d in r.ivr_durations)
    total_calls = sum(calls)
    funnel = [
        ("calls", total_calls),
        ("left the IVR alive", total_calls - sum(r.outcomes["abandoned"] for r in runs)),
        ("sent to an agent", sum(r.outcomes["transferred"] for r in runs)),
        ("answered by an agent", sum(s.answered for r in runs for s in r.queues.values())),
    ]
    return Summary(
        replications=len(runs),
        days=round(days),
        calls_per_day=Estimate.of([c / days for c in calls]),
        containment=Estimate.of([_ratio(r.outcomes["self_served"], r.calls) for r in runs]),
        outcome_shares={
            k: Estimate.of([_ratio(r.outcomes[k], r.calls) for r in runs]) for k in share_keys
        },
        ivr_time=Estimate.of([_ratio(r.ivr_seconds, r.calls) for r in runs]),
        ivr_time_transferred=Estimate.of(
            [_ratio(r.ivr_seconds_transferred, r.outcomes["transferred"]) for r in runs]
        ),
        queues=tuple(queues),
        abandoned_in=mean_share(lambda r: r.abandoned_in),
        reasons=mean_share(lambda r: r.reasons),
        arrivals_by_hour=tuple(
            statistics.fmean([r.arrivals_by_hour[h] / days for r in runs]) for h in range(24)
        ),
        ivr_durations=durations,
        assumed=dict(walker.assumed),
        sl_target=model.sl_target,
        sl_threshold=model.sl_threshold,
        funnel=funnel,
    )


@dataclass(frozen=True, slots=True)
class SweepRow:
    agents: int
    figures: QueueFigures


def sweep(
    walker: Walker,
    model: TrafficModel,
    queue: str,
    agents: range,
    *,
    replications: int,
    seed: int,
    days: int | None = None,
) -> list[SweepRow]:
    """The same calls (same seeds) against each staffing of `queue`, other queues as modelled."""
    rows = []
    for n in agents:
        runs = run(
            walker, model, replications=replications, seed=seed, days=days, agents={queue: n}
        )
        figures = next(q for q in summarize(walker, model, runs).queues if q.name == queue)
        rows.append(SweepRow(n, figures))
    return rows
