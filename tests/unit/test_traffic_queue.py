"""The queue simulation against the closed forms: Erlang C without abandonment, the exact
Erlang-A birth–death solution with it. Each check is the formula inside the 95 % confidence
interval of 10 replications (fixed seeds)."""

from __future__ import annotations

import math

import pytest

from ivrflow.traffic.erlang import erlang_a, erlang_b, erlang_c, erlang_c_asa, erlang_c_sl
from ivrflow.traffic.queue import QueueSpec, QueueStats, simulate_queue
from ivrflow.traffic.results import Estimate

AHT = 100.0
HORIZON = 300_000.0  # ~24,000 calls a replication at 8 Erlangs
WARMUP = 2_000.0


def _replicate(spec: QueueSpec, rate: float, reps: int = 10) -> list[QueueStats]:
    return [
        simulate_queue(spec, rate, HORIZON, seed=100 + k, warmup=WARMUP, threshold=20.0)
        for k in range(reps)
    ]


def _within(values: list[float], exact: float) -> None:
    est = Estimate.of(values)
    assert est.low <= exact <= est.high, f"{exact:.4f} outside {est.mean:.4f} ± {est.half:.4f}"


def test_published_erlang_values() -> None:
    # Erlang C tables: 10 agents, 8 Erlangs → P(wait) 0.4092; Erlang B → 0.1217.
    assert erlang_b(10, 8.0) == pytest.approx(0.12166, abs=1e-4)
    assert erlang_c(10, 8.0) == pytest.approx(0.40918, abs=1e-4)
    # ASA = C · AHT / (N − A); SL(20 s) = 1 − C·e^(−(N−A)·20/AHT)
    assert erlang_c_asa(10, 0.08, AHT) == pytest.approx(0.40918 * 100 / 2, rel=1e-3)
    assert erlang_c_sl(10, 0.08, AHT, 20) == pytest.approx(1 - 0.40918 * math.exp(-0.4), rel=1e-3)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    a = erlang_a(10, 0.08, AHT, patience=1e9)
    assert a.p_wait == pytest.approx(erlang_c(10, 8.0), rel=1e-4)
    assert a.p_abandon < 1e-6


def test_unstable_erlang_c_is_reported_as_such() -> None:
    assert erlang_c(5, 5.0) == 1.0
    assert erlang_c_asa(5, 0.05, AHT) == math.inf
    assert erlang_c_sl(0, 0.05, AHT, 20) == 0.0


def test_no_abandonment_matches_erlang_c() -> None:
    rate = 8.0 / AHT
    runs = _replicate(QueueSpec("q", 10, AHT, None), rate)
    _within([s.waited / s.offered for s in runs], erlang_c(10, 8.0))
    _within([s.wait_answered / s.answered for s in runs], erlang_c_asa(10, rate, AHT))
    _within([s.answered_in_sl / s.offered for s in runs], erlang_c_sl(10, rate, AHT, 20.0))
    assert all(s.abandoned == 0 for s in runs)


def test_abandonment_matches_the_exact_erlang_a_solution() -> None:
    rate, patience = 11.0 / AHT, 60.0  # overloaded: only abandonment keeps it stable
    exact = erlang_a(10, rate, AHT, patience)
    runs = _replicate(QueueSpec("q", 10, AHT, patience), rate)
    _within([s.waited / s.offered for s in runs], exact.p_wait)
    _within([s.abandoned / s.offered for s in runs], exact.p_abandon)
    _within([s.time_in_queue / (HORIZON - WARMUP) for s in runs], exact.mean_queue)  # Little


def test_no_agents_everyone_abandons() -> None:
    stats = simulate_queue(QueueSpec("q", 0, AHT, 30.0), 0.05, 10_000.0, seed=1)
    assert stats.offered > 0 and stats.answered == 0 and stats.abandoned == stats.offered


def test_callbacks_wait_their_turn_and_never_abandon() -> None:
    import random

    from ivrflow.traffic.queue import AgentQueue

    q = AgentQueue(QueueSpec("q", 1, AHT, 5.0, callback_dial=30.0), random.Random(1))
    q.arrive(0.0)  # takes the only agent
    q.arrive(1.0, callback=True)
    q.arrive(2.0)  # behind the callback, patience ~5 s
    q.drain()
    s = q.stats
    assert s.callbacks == 1 and s.offered == 2  # callbacks are not inbound offered calls
    assert s.answered + s.abandoned == 2
    assert s.callback_wait > 0


def test_a_flat_schedule_is_the_same_queue_as_a_fixed_staff() -> None:
    flat = simulate_queue(QueueSpec("q", 10, AHT, 60.0), 0.1, 50_000.0, seed=5)
    scheduled = simulate_queue(
        QueueSpec("q", 10, AHT, 60.0, schedule=(10,) * 24), 0.1, 50_000.0, seed=5
    )
    assert scheduled == flat


def test_callers_wait_for_the_next_shift_and_agents_finish_their_call() -> None:
    import random

    from ivrflow.traffic.queue import AgentQueue

    night_off = (0,) * 8 + (2,) * 12 + (0,) * 4  # two agents from 08:00 to 20:00
    q = AgentQueue(QueueSpec("q", 2, AHT, None, schedule=night_off), random.Random(2))
    q.arrive(3 * 3600.0)  # 03:00: nobody on duty
    assert q.ewt(3 * 3600.0 + 1) == math.inf
    q.arrive(19 * 3600.0 + 3599.0)  # 19:59:59, answered at once by an agent on duty
    q.drain()
    s = q.stats
    assert s.answered == 2 and s.abandoned == 0
    assert s.wait_answered == 5 * 3600.0  # the 03:00 caller was answered at 08:00
