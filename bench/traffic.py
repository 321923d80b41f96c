"""How fast does `ivrflow traffic` simulate calls?

Run from the project root (SimPy comes with the `bench` extra: pip install 'simpy>=4.1'):

    python bench/traffic.py            # about a minute
    python bench/traffic.py --quick    # fewer and shorter runs

Prints, each a median of several runs:
1. the queue model alone (M/M/c+M: 20 agents, AHT 300 s, patience 180 s, 19 Erlangs offered):
   simulated calls per second for ivrflow's event heap and for the same model written with
   SimPy in this process, and their ratio (goal: ivrflow ≥ 5× SimPy);
2. flow + queues on flows/billing.ivr with flows/models/billing.yaml, calls per second, for
   the first week (the walk's graph is compiled as calls need it) and for later weeks (goal:
   ≥ 20,000 calls/s);
3. a year of a 500-seat center: the queue alone is run for a whole year; flow + queues for one
   busy week at 500-seat scale, and the year extrapolated from it.
It prints figures and verdicts and asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivrflow.compiler import load  # noqa: E402
from ivrflow.traffic.center import simulate_center  # noqa: E402
from ivrflow.traffic.model import load_model  # noqa: E402
from ivrflow.traffic.queue import QueueSpec, simulate_queue  # noqa: E402
from ivrflow.traffic.walk import Walker  # noqa: E402

GOAL_RATIO = 5.0  # queue model: ivrflow calls/s ÷ SimPy calls/s
GOAL_FLOW = 20_000.0  # flow + queue calls/s
AGENTS, AHT, PATIENCE, LOAD = 20, 300.0, 180.0, 19.0
YEAR = 365 * 86_400.0


def simpy_queue(
    agents: int, rate: float, aht: float, patience: float, horizon: float, seed: int
) -> int:
    """The same M/M/c+M queue as SimPy users write it: a Resource, and a request that races
    the caller's patience. Returns the number of calls simulated."""
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    agents_pool = simpy.Resource(env, capacity=agents)
    stats = {"calls": 0, "answered": 0, "abandoned": 0, "wait": 0.0}

    def caller(env: Any) -> Any:
        arrived = env.now
        with agents_pool.request() as req:
            result = yield req | env.timeout(rng.expovariate(1.0 / patience))
            if req in result:
                stats["answered"] += 1
                stats["wait"] += env.now - arrived
                yield env.timeout(rng.expovariate(1.0 / aht))
            else:
                stats["abandoned"] += 1

    def arrivals(env: Any) -> Any:
        while True:
            yield env.timeout(rng.expovariate(rate))
            stats["calls"] += 1
            env.process(caller(env))

    env.process(arrivals(env))
    env.run(until=horizon)
    return stats["calls"]


def median_rate(runs: int, fn: Any) -> tuple[float, list[float]]:
    rates = []
    for k in range(runs):
        start = time.perf_counter()
        calls = fn(k)
        rates.append(calls / (time.perf_counter() - start))
    return statistics.median(rates), rates


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    args = ap.parse_args()
    runs = 3 if args.quick else 5
    horizon = 100_000.0 if args.quick else 400_000.0  # seconds of simulated time per run
    rate = LOAD / AHT
    spec = QueueSpec("q", AGENTS, AHT, PATIENCE)

    print("1. Queue model alone: M/M/c+M, 20 agents, AHT 300 s, patience 180 s, 19 Erlangs")
    ours, _ = median_rate(runs, lambda k: simulate_queue(spec, rate, horizon, seed=k + 1).offered)
    print(f"   ivrflow event heap   {ours:>12,.0f} calls/s (median of {runs})")
    try:
        theirs, _ = median_rate(
            runs, lambda k: simpy_queue(AGENTS, rate, AHT, PATIENCE, horizon, k + 1)
        )
    except ImportError:
        print("   SimPy                not installed: pip install 'simpy>=4.1'")
        theirs = math.nan
    else:
        ratio = ours / theirs
        verdict = "meets" if ratio >= GOAL_RATIO else "MISSES"
        print(f"   SimPy                {theirs:>12,.0f} calls/s (median of {runs})")
        print(f"   ratio                {ratio:>12.1f}×  ({verdict} the goal of {GOAL_RATIO:g}×)")

    print("\n2. Flow + queues: flows/billing.ivr with flows/models/billing.yaml, 7 days a run")
    flow = load(ROOT / "flows/billing.ivr")
    model = load_model(ROOT / "flows/models/billing.yaml")
    walker = Walker(flow, model)
    start = time.perf_counter()
    first = simulate_center(walker, model, seed=1)
    cold = first.calls / (time.perf_counter() - start)
    warm, _ = median_rate(runs, lambda k: simulate_center(walker, model, seed=k + 2).calls)
    verdict = "meets" if warm >= GOAL_FLOW else "MISSES"
    print(
        f"   first week           {cold:>12,.0f} calls/s ({first.calls:,} calls; the walk's graph is built)"
    )
    print(
        f"   later weeks          {warm:>12,.0f} calls/s (median of {runs}; {verdict} {GOAL_FLOW:,.0f})"
    )
    print(f"   graph                {len(walker.nodes):>12,} nodes")

    print("\n3. A year of a 500-seat center")
    seats, big_load = 500, 480.0
    big = QueueSpec("q", seats, AHT, PATIENCE)
    year_horizon = YEAR if not args.quick else YEAR / 12
    start = time.perf_counter()
    stats = simulate_queue(big, big_load / AHT, year_horizon, seed=1)
    took = time.perf_counter() - start
    scale = YEAR / year_horizon
    print(
        f"   queue alone          {took * scale:>10.1f} s for {stats.offered * scale:,.0f} calls "
        f"({480:g} Erlangs on {seats} agents{', extrapolated from a month' if scale > 1 else ''})"
    )
    # Flow + queues: billing's arrivals scaled until its queue needs ~500 agents.
    factor = 40.0
    scaled = dataclasses.replace(
        model,
        per_hour=tuple(x * factor for x in model.per_hour),
        queues={
            "billing": dataclasses.replace(model.queues["billing"], agents=seats, schedule=None),
            "billing_intl": dataclasses.replace(
                model.queues["billing_intl"], agents=60, schedule=None
            ),
        },
    )
    big_walker = Walker(flow, scaled)
    simulate_center(big_walker, scaled, seed=1, days=1)  # build the graph
    start = time.perf_counter()
    week = simulate_center(big_walker, scaled, seed=2, days=7)
    took = time.perf_counter() - start
    per_year = took * 365 / 7
    calls_year = week.calls * 365 / 7
    print(
        f"   flow + queues        {per_year:>10.1f} s for {calls_year:,.0f} calls "
        f"(a week measured: {week.calls / took:,.0f} calls/s; billing arrivals ×{factor:g})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
