"""Closed forms for queues, to check the simulation against and to size quickly.

Erlang B (loss), Erlang C (M/M/c, callers wait forever) and Erlang-A (M/M/c+M:
callers abandon after an exponential patience), the last solved exactly as a
birth–death chain truncated where its tail probability is negligible.
Rates are per second, times in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ErlangA", "erlang_a", "erlang_b", "erlang_c", "erlang_c_asa", "erlang_c_sl"]


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of an M/M/c/c system offered `load` Erlangs (stable recursion)."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must not be negative")
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """P(wait > 0) in M/M/c; 1.0 when the queue is unstable (load ≥ agents)."""
    if agents <= 0 or load >= agents:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def erlang_c_asa(agents: int, arrival_rate: float, handle_time: float) -> float:
    """Average speed of answer in M/M/c (seconds); infinite when unstable."""
    load = arrival_rate * handle_time
    if agents <= 0 or load >= agents:
        return math.inf
    return erlang_c(agents, load) * handle_time / (agents - load)


def erlang_c_sl(agents: int, arrival_rate: float, handle_time: float, threshold: float) -> float:
    """Share answered within `threshold` seconds in M/M/c."""
    load = arrival_rate * handle_time
    if agents <= 0 or load >= agents:
        return 0.0
    c = erlang_c(agents, load)
    return 1.0 - c * math.exp(-(agents - load) * threshold / handle_time)


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady state of M/M/c+M (Palm's model), every figure per arriving caller."""

    p_wait: float  # P(all agents busy on arrival)
    p_abandon: float  # share of callers who hang up before an agent answers
    mean_queue: float  # time-average number waiting
    asa_all: float  # mean time in queue over all callers (answered or not)
    occupancy: float  # mean busy agents / agents


def erlang_a(
    agents: int, arrival_rate: float, handle_time: float, patience: float, tail: float = 1e-14
) -> ErlangA:
    """The exact birth–death solution: λ in every state, death rate min(n,c)·μ + (n−c)⁺·θ."""
    if agents < 0 or arrival_rate <= 0 or handle_time <= 0 or patience <= 0:
        raise ValueError("need agents ≥ 0 and positive arrival rate, handle time and patience")
    mu, theta, lam = 1.0 / handle_time, 1.0 / patience, arrival_rate
    # Unnormalised π_n, computed in logs-free running products; stop when the tail is tiny.
    weights = [1.0]
    n, w, total = 0, 1.0, 1.0
    while True:
        n += 1
        w *= lam / (min(n, agents) * mu + max(n - agents, 0) * theta)
        weights.append(w)
        total += w
        if n > agents and w < tail * total:
            break
        if n > 1_000_000:
            raise ValueError("the birth–death chain does not converge")
    p = [x / total for x in weights]
    p_wait = sum(p[agents:])
    mean_queue = sum((k - agents) * pk for k, pk in enumerate(p) if k > agents)
    busy = sum(min(k, agents) * pk for k, pk in enumerate(p))
    return ErlangA(
        p_wait=p_wait,
        p_abandon=theta * mean_queue / lam,
        mean_queue=mean_queue,
        asa_all=mean_queue / lam,
        occupancy=busy / agents if agents else 0.0,
    )
