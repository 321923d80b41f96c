"""The report's figures, computed from hand-made records whose answers are known."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from ivrflow.insight.kpis import FlowInfo, build, flow_info, percentile
from ivrflow.insight.records_input import started_epoch

ROOT = Path(__file__).resolve().parents[2]


def rec(
    n: int,
    kind: str,
    states: list[str],
    *,
    duration: float = 60.0,
    started: str = "2026-11-16T13:00:00.000+00:00",
    flow: str = "billing",
    **extra: Any,
) -> dict[str, Any]:
    outcome: dict[str, Any] = {"kind": kind}
    if kind in ("abandoned", "error"):
        outcome["state"] = states[-1]
    outcome.update(extra.pop("outcome", {}))
    return {
        "call_id": f"c-{n}",
        "flow": flow,
        "started_at": started,
        "duration": duration,
        "outcome": outcome,
        "path": [{"state": s, "t": float(i)} for i, s in enumerate(states)],
        "inputs": extra.pop("inputs", []),
        "lookups": extra.pop("lookups", []),
        "noinput": extra.pop("noinput", 0),
        "nomatch": extra.pop("nomatch", 0),
        **extra,
    }


def report(records: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    pairs = [(r, started_epoch(r["started_at"])) for r in records]
    return build(pairs, **options).result()


CALLS = [
    rec(1, "self_served", ["start", "main_menu", "balance", "goodbye"], duration=30),
    rec(2, "self_served", ["start", "main_menu", "balance", "goodbye"], duration=40),
    rec(
        3, "transferred", ["start", "main_menu", "agent"], duration=50, outcome={"queue": "billing"}
    ),
    rec(
        4, "transferred", ["start", "main_menu", "agent"], duration=70, outcome={"queue": "billing"}
    ),
    rec(5, "transferred", ["start", "agent"], duration=20, outcome={"number": "+551130030001"}),
    rec(6, "abandoned", ["start", "main_menu"], duration=10),
    rec(7, "abandoned", ["start", "main_menu", "account"], duration=25),
    rec(8, "callback_scheduled", ["start", "main_menu", "offer"], duration=90),
    rec(9, "error", ["start", "main_menu", "account"], duration=15),
    rec(10, "self_served", ["start", "main_menu", "main_menu", "goodbye"], duration=100),
]


def test_outcome_rates_share_one_denominator_all_calls() -> None:
    s = report(CALLS)["summary"]
    assert s["calls"] == 10
    assert (s["self_served"], s["transferred"], s["callback_scheduled"]) == (3, 3, 1)
    assert (s["abandoned"], s["error"]) == (2, 1)
    assert s["containment_rate"] == 0.3  # abandoned and error calls are not contained
    assert s["transfer_rate"] == 0.3
    assert s["abandonment_rate"] == 0.2
    assert s["callback_rate"] == 0.1
    assert s["error_rate"] == 0.1


def test_time_in_ivr_uses_nearest_rank_percentiles() -> None:
    s = report(CALLS)["summary"]
    # sorted: 10 15 20 25 30 40 50 70 90 100
    assert s["time_in_ivr_mean_s"] == 45.0
    assert s["time_in_ivr_p50_s"] == 30.0
    assert s["time_in_ivr_p90_s"] == 90.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([5.0], 90) == 5.0
    assert percentile([], 50) is None


def test_transfers_are_counted_per_queue_and_per_number() -> None:
    rows = {r["target"]: r for r in report(CALLS)["queues"]}
    assert rows["billing"]["transfers"] == 2
    assert rows["billing"]["kind"] == "queue"
    assert rows["billing"]["transfer_rate"] == 0.2
    assert rows["billing"]["share_of_transfers"] == pytest.approx(0.6667)
    assert rows["billing"]["time_in_ivr_mean_s"] == 60.0
    assert rows["+551130030001"]["kind"] == "number"


def test_funnel_counts_calls_entering_each_state_and_hanging_up_there() -> None:
    rows = {r["state"]: r for r in report(CALLS)["funnel"]}
    assert rows["start"]["entered"] == 10
    assert rows["main_menu"]["entered"] == 9  # call 10 went round twice: one call, two visits
    assert rows["main_menu"]["visits"] == 10
    assert rows["main_menu"]["abandoned"] == 1
    assert rows["main_menu"]["drop_off_rate"] == 0.1111
    assert rows["account"]["entered"] == 2
    assert (rows["account"]["abandoned"], rows["account"]["errors"]) == (1, 1)
    assert rows["account"]["drop_off_rate"] == 0.5
    order = [r["state"] for r in report(CALLS)["funnel"]]
    assert order[:2] == ["start", "main_menu"]  # most calls first


def test_noinput_and_nomatch_per_call_and_calls_with_at_least_one() -> None:
    calls = [
        rec(1, "self_served", ["start"], noinput=2),
        rec(2, "self_served", ["start"], nomatch=1),
        rec(3, "self_served", ["start"]),
        rec(4, "self_served", ["start"], noinput=1, nomatch=1),
    ]
    s = report(calls)["summary"]
    assert s["noinput_per_call"] == 0.75
    assert s["calls_with_noinput_rate"] == 0.5
    assert s["nomatch_per_call"] == 0.5
    assert s["calls_with_nomatch_rate"] == 0.5


def test_per_menu_rates_come_from_records_that_say_where_each_failure_was() -> None:
    menu_in = ["start", "main_menu"]
    failures = [
        {"state": "main_menu", "kind": "noinput", "t": 5.0},
        {"state": "main_menu", "kind": "noinput", "t": 11.0},
        {"state": "main_menu", "kind": "nomatch", "t": 15.0},
    ]
    calls = [
        rec(1, "self_served", menu_in, failures=failures, inputs=[{"state": "main_menu"}]),
        rec(2, "self_served", menu_in, failures=[], inputs=[{"state": "main_menu"}]),
    ]
    data = report(calls)
    row = next(r for r in data["input_states"] if r["state"] == "main_menu")
    assert row["visits"] == 2
    assert row["noinput_per_visit"] == 1.0
    assert row["nomatch_per_visit"] == 0.5
    assert row["calls_with_noinput_rate"] == 0.5
    assert not any("failures" in note for note in data["notes"])


def test_without_per_state_failures_the_report_says_so_instead_of_guessing() -> None:
    data = report([rec(1, "self_served", ["start", "main_menu"], inputs=[{"state": "main_menu"}])])
    row = data["input_states"][0]
    assert row["state"] == "main_menu" and row["inputs"] == 1
    assert row["noinput_per_visit"] is None
    assert any("'failures'" in note for note in data["notes"])


def test_lookup_error_rate_and_latency_per_function() -> None:
    def lookups(*rows: tuple[str, float]) -> list[dict[str, Any]]:
        return [{"function": "fetch_account", "status": s, "latency_ms": ms} for s, ms in rows]

    calls = [
        rec(1, "self_served", ["start"], lookups=lookups(("ok", 100), ("ok", 200))),
        rec(2, "self_served", ["start"], lookups=lookups(("error", 300), ("timeout", 2000))),
        rec(3, "self_served", ["start"], lookups=lookups(("ok", 150))),
    ]
    data = report(calls)
    row = data["lookups"][0]
    assert (row["lookups"], row["ok"], row["error"], row["timeout"]) == (5, 3, 1, 1)
    assert row["error_rate"] == 0.4
    assert row["latency_p50_ms"] == 200.0
    assert row["latency_p90_ms"] == 2000.0
    assert data["summary"]["lookup_error_rate"] == 0.4


def test_callback_offers_and_acceptance_need_the_flow() -> None:
    info = FlowInfo(
        "billing",
        {"start": "step", "offer": "callback"},
        accept={"offer": ("1", "sim")},
        decline={"offer": ("2", "nao")},
    )

    def offer(n: int, kind: str, value: str, how: str = "dtmf") -> dict[str, Any]:
        return rec(
            n, kind, ["start", "offer"], inputs=[{"state": "offer", "kind": how, "value": value}]
        )

    calls = [
        offer(1, "callback_scheduled", "1"),
        offer(2, "callback_scheduled", "Sim!", "speech"),
        offer(3, "self_served", "2"),
        offer(4, "abandoned", "yes please", "speech"),  # a spoken yes; hung up before the store
        rec(5, "self_served", ["start"]),
    ]
    s = report(calls, flows={"billing": info})["summary"]
    assert (s["callbacks_offered"], s["callbacks_accepted"], s["callbacks_declined"]) == (4, 3, 1)
    assert s["callback_acceptance_rate"] == 0.75
    assert s["callback_scheduled"] == 2
    unknown = report(calls)["summary"]
    assert unknown["callbacks_offered"] is None
    assert unknown["callback_scheduled"] == 2


def test_flow_info_reads_state_kinds_and_offer_words_from_the_flow_file() -> None:
    info = flow_info(ROOT / "flows" / "billing.ivr")
    assert info.kinds["main_menu"] == "menu"
    assert info.kinds["account"] == "capture"
    assert info.kinds["find_account"] == "lookup"
    assert info.kinds["agent_pt"] == "transfer"
    assert info.kinds["offer_callback"] == "callback"
    assert "1" in info.accept["offer_callback"]
    assert "2" in info.decline["offer_callback"]


def test_periods_are_local_to_the_zone_and_quiet_ones_are_listed() -> None:
    calls = [
        rec(1, "self_served", ["start"], started="2026-11-16T12:30:00+00:00"),
        rec(2, "abandoned", ["start"], started="2026-11-16T14:10:00+00:00"),
        rec(3, "self_served", ["start"], started="2026-11-17T02:30:00+00:00"),
    ]
    sp = zoneinfo.ZoneInfo("America/Sao_Paulo")
    rows = report(calls, by="hour", zone=sp)["over_time"]["rows"]
    assert [r["period"] for r in rows[:3]] == [
        "2026-11-16 09:00",
        "2026-11-16 10:00",
        "2026-11-16 11:00",
    ]
    assert [r["calls"] for r in rows[:3]] == [1, 0, 1]
    assert rows[-1]["period"] == "2026-11-16 23:00"  # 02:30 UTC is still the 16th there
    days = report(calls, by="day", zone=dt.UTC)["over_time"]["rows"]
    assert [(r["period"], r["calls"]) for r in days] == [("2026-11-16", 2), ("2026-11-17", 1)]


def test_histogram_bins_cover_every_call_once() -> None:
    data = report(CALLS)
    bins = data["time_in_ivr_histogram"]["bins"]
    assert sum(b["calls"] for b in bins) == 10
    assert bins[0]["from_s"] == 0


def test_an_empty_report_has_no_figures_rather_than_zero_division() -> None:
    data = report([])
    assert data["summary"]["calls"] == 0
    assert data["summary"]["containment_rate"] is None
    assert data["over_time"]["rows"] == []
    assert data["funnel"] == []


def test_records_of_another_flow_version_are_pointed_out() -> None:
    info = FlowInfo("billing", {"start": "step"}, content_hash="new")
    calls = [
        rec(1, "self_served", ["start"], flow_hash="new"),
        rec(2, "self_served", ["start"], flow_hash="old"),
    ]
    notes = report(calls, flows={"billing": info})["notes"]
    assert any(n.startswith("1 billing record(s) came from another version") for n in notes)
