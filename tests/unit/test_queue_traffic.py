"""Traffic's queue model against the sample records (issue 13).

scripts/make_sample_records.py simulates the queues of flows/models/sample-center.yaml
behind the example flows. Here `traffic --fit` reads the callers' patience back from the
records, and traffic's own queue (`AgentQueue`), fed the records' arrivals into each queue
with that patience and the center's agents and AHT, predicts ASA, service level and queue
abandonment; the records' figures (`ivrflow report`) must fall inside its spread over 30
replications (mean ± 4 standard deviations). The records are one realization, and their
callers joined when the flow let them (a long EWT offers a callback first), so they sit
a little on the good side of the prediction; the comparison printed with `-s` says how far.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import statistics
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from ivrflow.compiler import load
from ivrflow.insight.queue_kpis import QueueTally, legs, queued_epoch
from ivrflow.traffic.fit import PatienceFit, fit_model
from ivrflow.traffic.model import load_model
from ivrflow.traffic.queue import AgentQueue

ROOT = Path(__file__).resolve().parents[2]
CENTER = load_model(ROOT / "flows" / "models" / "sample-center.yaml")
FLOW_OF = {"billing": "billing", "tech_support": "telecom_support", "cards": "bank"}
ORIGIN = dt.datetime(2026, 11, 16, tzinfo=zoneinfo.ZoneInfo("America/Sao_Paulo")).timestamp()
REPLICATIONS = 30


def records(flow: str) -> list[dict[str, Any]]:
    path = ROOT / "flows" / "records" / f"{flow}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def fitted_patience(queue: str) -> float:
    fit = PatienceFit()
    for record in records(FLOW_OF[queue]):
        fit.add(record)
    value = fit.mean(queue)
    assert value is not None
    return value


def predicted(queue: str) -> dict[str, tuple[float, float]]:
    """Traffic's queue fed the records' arrivals: (mean, sd) of ASA, SL 20 s, abandonment."""
    arrivals = sorted(
        queued_epoch(leg, 0.0) - ORIGIN
        for record in records(FLOW_OF[queue])
        for leg in legs(record)
        if leg["queue"] == queue and leg["outcome"] in ("answered", "abandoned")
    )
    spec = dataclasses.replace(CENTER.queues[queue], patience=fitted_patience(queue))
    runs = []
    for seed in range(REPLICATIONS):
        q = AgentQueue(spec, random.Random(seed), threshold=20.0)
        for at in arrivals:
            q.arrive(at)
        q.drain()
        s = q.stats
        runs.append(
            (s.wait_answered / s.answered, s.answered_in_sl / s.offered, s.abandoned / s.offered)
        )
    names = ("asa_s", "service_level_20s", "queue_abandonment_rate")
    columns = zip(*runs, strict=True)
    return {
        n: (statistics.mean(v), statistics.stdev(v)) for n, v in zip(names, columns, strict=True)
    }


def observed(queue: str) -> dict[str, float]:
    tally = QueueTally()
    for record in records(FLOW_OF[queue]):
        for leg in legs(record):
            if leg["queue"] == queue:
                tally.add(leg)
    return tally.figures()


@pytest.mark.parametrize("queue", sorted(FLOW_OF))
def test_the_fit_reads_the_callers_patience_back(queue: str) -> None:
    true = CENTER.queues[queue].patience
    assert true is not None
    assert abs(fitted_patience(queue) - true) / true < 0.35


@pytest.mark.parametrize("queue", sorted(FLOW_OF))
def test_traffic_predicts_what_the_records_say(queue: str) -> None:
    got, want = observed(queue), predicted(queue)
    print(f"\n{queue}: records vs traffic (mean ± sd over {REPLICATIONS} runs)")
    for name, (mean, sd) in want.items():
        print(f"  {name:24} {got[name]:8.3f}   {mean:8.3f} ± {sd:.3f}")
        assert abs(got[name] - mean) <= 4 * sd + 1e-9, (name, got[name], mean, sd)


def test_the_fitted_model_carries_the_patience() -> None:
    flow = load(ROOT / "flows" / "billing.ivr")
    data = fit_model(flow, records("billing"), CENTER)
    assert data["queues"]["billing"]["patience"] == fitted_patience("billing")
    assert data["queues"]["billing"]["aht"] == CENTER.queues["billing"].aht  # not in records
