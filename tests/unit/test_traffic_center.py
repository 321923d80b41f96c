"""Flow and queues in one event loop: hours at the simulated time, callbacks at the window's
next opening, the figures a replication summary gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from test_traffic_walk import MODEL, _flow

import ivrflow
from ivrflow.traffic.center import _Windows, origin_of, simulate_center
from ivrflow.traffic.model import parse_model
from ivrflow.traffic.results import run, summarize
from ivrflow.traffic.walk import Walker

ROOT = Path(__file__).resolve().parents[2]
SAO_PAULO = dt.timezone(dt.timedelta(hours=-3))


def test_a_callback_waits_for_the_next_opening_of_its_window() -> None:
    flow = ivrflow.load(ROOT / "flows/billing.ivr")
    windows = _Windows(flow)
    saturday_night = dt.datetime(2026, 11, 28, 22, 0, tzinfo=SAO_PAULO).timestamp()
    monday_nine = dt.datetime(2026, 11, 30, 9, 0, tzinfo=SAO_PAULO).timestamp()
    assert windows.next_open("offer_callback", saturday_night) == monday_nine
    tuesday_ten = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SAO_PAULO).timestamp()
    assert windows.next_open("offer_callback", tuesday_ten) == tuesday_ten  # open: at once


def test_origin_is_local_midnight_of_the_first_day() -> None:
    flow = ivrflow.load(ROOT / "flows/billing.ivr")
    expected = dt.datetime(2026, 11, 23, 0, 0, tzinfo=SAO_PAULO).timestamp()
    assert origin_of(flow, dt.date(2026, 11, 23)) == expected


def test_closed_days_send_nobody_to_the_queues(tmp_path: Path) -> None:
    flow = _flow(tmp_path)  # office hours Monday to Friday, New York
    sunday = parse_model(MODEL + "start: 2026-11-22\ndays: 1\narrivals: {rate: 100}\n")
    monday = parse_model(MODEL + "start: 2026-11-23\ndays: 1\narrivals: {rate: 100}\n")
    closed = simulate_center(Walker(flow, sunday), sunday, seed=1)
    opened = simulate_center(Walker(flow, monday), monday, seed=1)
    assert closed.queues["care"].offered == 0 and closed.reasons["self_served: closed"] > 0
    assert opened.queues["care"].offered > 0 and opened.reasons["self_served: closed"] > 0  # nights


def test_every_call_is_counted_once(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    m = parse_model(MODEL + "start: 2026-11-24\ndays: 2\narrivals: {rate: 120}\n")
    r = simulate_center(Walker(flow, m), m, seed=4)
    assert sum(r.outcomes.values()) == r.calls
    joined = sum(q.offered for q in r.queues.values())
    assert joined == r.outcomes["transferred"]  # everyone sent to a queue is offered there
    placed = sum(q.callbacks for q in r.queues.values())
    assert 0 < placed <= r.outcomes["callback_scheduled"]  # late ones fall after the period


def test_warm_up_calls_are_left_out(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    m = parse_model(MODEL + "start: 2026-11-24\ndays: 1\nwarmup: 12h\narrivals: {rate: 120}\n")
    r = simulate_center(Walker(flow, m), m, seed=4)
    assert 1200 < r.calls < 1700  # about half the day's 2,880 calls
    assert r.arrivals_by_hour[:12] == [0] * 12


def test_summary_flags_an_unstable_queue_and_gives_intervals(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    m = parse_model(
        MODEL.replace("care: {agents: 5, aht: 200}", "care: {agents: 0, aht: 200, patience: null}")
        + "start: 2026-11-24\ndays: 1\narrivals: {rate: 60}\n"
    )
    w = Walker(flow, m)
    s = summarize(w, m, run(w, m, replications=3, seed=1))
    care = next(q for q in s.queues if q.name == "care")
    sales = next(q for q in s.queues if q.name == "sales")
    assert care.unstable and not sales.unstable
    assert sales.service_level.low <= sales.service_level.mean <= sales.service_level.high
    assert abs(sum(e.mean for e in s.outcome_shares.values()) - 1.0) < 1e-9
