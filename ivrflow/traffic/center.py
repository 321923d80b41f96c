"""One replication: callers arrive, walk the flow, and the queues answer them.

A single event loop in simulated seconds since local midnight of the model's
first day. Arrivals are a non-homogeneous Poisson process (calls per hour of
the day × a weekday factor, by thinning). Each arrival walks the flow at once
(`Walker.walk`) up to its first transfer; the transfer is an event at the
moment the call reaches it, when the queue's EWT is read and the walk resumes;
the call then joins the queue. A stored callback joins its queue as a call the
center places, at the next opening of the offer's window (at once if it is
open or has none); it never abandons and its handle time carries the dialling.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from heapq import heappop, heappush
from typing import Any

from .. import model as fm
from ..model import hours as hours_mod
from .model import TrafficModel
from .queue import AgentQueue, QueueSpec, QueueStats
from .walk import END, QUEUE, TRANSFER, Node, Walker

__all__ = ["RunResult", "origin_of", "simulate_center"]

DAY = 86_400.0
MAX_TRANSFERS = 50  # a call bounced between a transfer and an offer this often is a loop
_EXIT, _JOIN, _CALLBACK = 0, 1, 2


@dataclass(slots=True)
class RunResult:
    """What one replication counted (calls that arrived after the warm-up)."""

    seconds: float  # the measured period
    calls: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # self-served and error reasons
    abandoned_in: Counter[str] = field(default_factory=Counter)  # IVR state of a hang-up
    ivr_seconds: float = 0.0  # total time in the IVR, every call
    ivr_seconds_transferred: float = 0.0
    arrivals_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    queues: dict[str, QueueStats] = field(default_factory=dict)
    specs: dict[str, QueueSpec] = field(default_factory=dict)
    ivr_durations: list[float] = field(default_factory=list)  # a sample, for histograms


def origin_of(flow: fm.Flow, start: dt.date) -> float:
    """Epoch of local midnight, in the flow's time zone, of the first simulated day."""
    tz = hours_mod.zone(flow.settings.timezone)
    return dt.datetime.combine(start, dt.time(0), tzinfo=tz).timestamp()


class _Windows:
    """The next time a callback window is open, from an epoch (cached per minute)."""

    def __init__(self, flow: fm.Flow) -> None:
        self.flow = flow
        self.cache: dict[tuple[str, int], float] = {}

    def next_open(self, offer_name: str, at: float) -> float:
        offer = self.flow.states[offer_name]
        if not isinstance(offer, fm.CallbackOffer) or offer.window is None:
            return at
        key = (offer_name, int(at // 60))
        hit = self.cache.get(key)
        if hit is None:
            hit = self.cache[key] = self._scan(offer.window, at)
        return max(at, hit)

    def _scan(self, window: str | tuple[dt.time, dt.time], at: float) -> float:
        hours = self.flow.hours[window] if isinstance(window, str) else None
        daily = [window] if not isinstance(window, str) else []
        zone = hours_mod.zone(hours.timezone if hours else self.flow.settings.timezone)
        local = dt.datetime.fromtimestamp(at, zone)
        for k in range(15):
            day = local.date() + dt.timedelta(days=k)
            spans = hours_mod.open_spans(hours, day) if hours else daily
            for start, end in sorted(spans):
                opens = dt.datetime.combine(day, start, tzinfo=zone).timestamp()
                closes = (
                    dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
                    if end == dt.time.max
                    else dt.datetime.combine(day, end, tzinfo=zone)
                ).timestamp()
                if closes > at:
                    return max(at, opens)
        return at  # never open in two weeks: the callback is placed at once


def simulate_center(
    walker: Walker,
    model: TrafficModel,
    *,
    seed: int,
    days: int | None = None,
    agents: dict[str, int] | None = None,
    keep_durations: int = 5000,
) -> RunResult:
    flow = walker.flow
    rng = random.Random(seed)
    rand, expo = rng.random, rng.expovariate
    days = days or model.days
    horizon = days * DAY
    warmup = model.warmup
    origin = origin_of(flow, model.start)
    specs = {
        name: replace(spec, agents=agents[name], schedule=None)
        if agents and name in agents
        else spec
        for name, spec in model.queues.items()
    }
    queues = {
        name: AgentQueue(spec, rng, threshold=model.sl_threshold, warmup=warmup)
        for name, spec in specs.items()
    }
    result = RunResult(seconds=horizon - warmup, specs=specs)
    windows = _Windows(flow)
    first_weekday = model.start.weekday()
    rates = [
        [model.per_hour[h] * model.weekdays[(first_weekday + d) % 7] / 3600.0 for h in range(24)]
        for d in range(days)
    ]
    peak = max((r for day in rates for r in day), default=0.0)
    heap: list[tuple[float, int, int, Any]] = []
    seq = 0
    outcomes, reasons, abandoned_in = result.outcomes, result.reasons, result.abandoned_in
    by_hour = result.arrivals_by_hour
    sample = result.ivr_durations

    def finish(arrived: float, now: float, kind: int, target: Any, transfers: int) -> None:
        """A walk stopped at `now`: the call ended, joins a queue, or waits for an EWT."""
        nonlocal seq
        counted = arrived >= warmup
        if kind == TRANSFER:
            seq += 1
            heappush(heap, (now, seq, _EXIT, (arrived, target, transfers)))
            return
        ivr = now - arrived
        if counted:
            result.ivr_seconds += ivr
            if len(sample) < keep_durations:
                sample.append(ivr)
        if kind == QUEUE:
            queue_name = target[0]
            if counted:
                outcomes["transferred"] += 1
                result.ivr_seconds_transferred += ivr
            seq += 1
            heappush(heap, (now, seq, _JOIN, queue_name))
            return
        outcome, detail, offer = target
        if counted:
            outcomes[outcome] += 1
            if outcome == "abandoned":
                abandoned_in[detail] += 1
            elif outcome != "callback_scheduled":
                reasons[f"{outcome}: {detail}"] += 1
        if outcome == "callback_scheduled" and offer is not None:
            when = windows.next_open(offer, origin + now) - origin
            seq += 1
            heappush(heap, (when, seq, _CALLBACK, detail))

    def hour_of(t: float) -> int:
        return int((t % DAY) // 3600)

    t = expo(peak) if peak > 0 else math.inf
    while True:
        if heap and (heap[0][0] <= t or t >= horizon):
            now, _, what, payload = heappop(heap)
            if what in (_JOIN, _CALLBACK):
                q = queues.get(payload)
                if q is not None:
                    q.arrive(now, hour_of(now), what == _CALLBACK)
                continue
            arrived, node, transfers = payload
            assert isinstance(node, Node)
            state = flow.states[node.state]
            queue = queues.get(getattr(state, "queue", None) or node.env.get("queue") or "")
            if queue is None or transfers >= MAX_TRANSFERS:
                reason = "the model has no such queue" if queue is None else "transfer loop"
                finish(arrived, now, END, ("error", reason, None), transfers)
                continue
            ewt = queue.ewt(now)
            resumed = walker.resume(node, ewt, queue.waiting(now) + 1)
            seconds, kind, target, _ = walker.walk(resumed, walker.hours_id(origin + now), rand)
            finish(arrived, now + seconds, kind, target, transfers + 1)
            continue
        if t >= horizon:
            if not heap:
                break
            continue
        day = int(t // DAY)
        if rand() * peak <= rates[day][int((t - day * DAY) // 3600)]:
            if t >= warmup:
                result.calls += 1
                by_hour[hour_of(t)] += 1
            node = walker.start(rand)
            seconds, kind, target, _ = walker.walk(node, walker.hours_id(origin + t), rand)
            finish(t, t + seconds, kind, target, 0)
        t += expo(peak)
    for name, q in queues.items():
        q.drain()
        result.queues[name] = q.stats
    return result
