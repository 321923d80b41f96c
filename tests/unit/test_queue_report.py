"""The report's queue-leg figures (issue 13), on hand-made records with a hand count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ivrflow.cli import main
from ivrflow.insight import kpis

DAY = "2026-11-16"


def record(n: int, outcome: str | None, wait: float | None, *, hour: int = 9, **leg: Any) -> dict:
    """Call n of a flow: 10 s in the IVR, then a queue leg (none when `outcome` is None)."""
    started = f"{DAY}T{hour:02d}:{n % 60:02d}:00.000+00:00"
    rec: dict[str, Any] = {
        "call_id": f"c{n}",
        "flow": "billing",
        "started_at": started,
        "duration": 10.0,
        "outcome": {"kind": "transferred", "queue": leg.get("queue", "billing")},
        "path": [{"state": "start", "t": 0.0}],
    }
    if outcome is None:
        rec["outcome"] = {"kind": "self_served"}
        return rec
    rec["queue"] = {
        "queue": leg.pop("queue", "billing"),
        "queued_at": f"{DAY}T{hour:02d}:{n % 60:02d}:10.000+00:00",
        "outcome": outcome,
        "wait": wait,
        "ewt_announced": leg.pop("ewt", None),
        **leg,
    }
    return rec


# The hand count, call by call (queue billing unless said):
#  1 answered  5 s  (EWT told 10)      → within 20 s and 30 s; EWT error +5
#  2 answered 15 s  (EWT told 10)      → within 20 and 30;     EWT error −5
#  3 answered 25 s                     → within 30 only
#  4 answered 60 s  (EWT told 30)      → within neither;       EWT error −30
#  5 abandoned 3 s                     → a short abandon (under 5 s), apart
#  6 abandoned 40 s
#  7 left_for_callback 50 s
#  8 timeout 120 s
#  9 full (no wait)                    → not offered (never waited)
# 10 failed (the gateway's figures were garbage) → not offered, counted apart
# 11 self-served, no queue leg
# 12 queue "vip": answered 2 s, at 10:xx
RECORDS = [
    record(1, "answered", 5, ewt=10),
    record(2, "answered", 15, ewt=10),
    record(3, "answered", 25),
    record(4, "answered", 60, ewt=30),
    record(5, "abandoned", 3),
    record(6, "abandoned", 40),
    record(7, "left_for_callback", 50),
    record(8, "timeout", 120),
    record(9, "full", 0.0),
    record(10, "failed", None, reason="the wait is not usable ('abc')"),
    record(11, None, None),
    record(12, "answered", 2, hour=10, queue="vip"),
]


def report(**options: Any) -> dict[str, Any]:
    from ivrflow.insight.records_input import started_epoch

    built = kpis.build(((r, started_epoch(r["started_at"])) for r in RECORDS), **options)
    return built.result()["queue_leg"]


def test_the_summary_matches_the_hand_count() -> None:
    s = report(sl_targets=(20.0, 30.0))["summary"]
    # Offered: the legs in which the caller waited: 1–8 and 12.
    assert s["offered"] == 9
    assert s["answered"] == 5
    assert s["asa_s"] == round((5 + 15 + 25 + 60 + 2) / 5, 1)  # 21.4
    # Service level: answered within T / (offered − short abandons) = /8.
    assert s["service_level_20s"] == round(3 / 8, 4)  # calls 1, 2, 12
    assert s["service_level_30s"] == round(4 / 8, 4)  # and 3
    assert s["short_abandons"] == 1
    assert s["abandoned"] == 2
    assert s["queue_abandonment_rate"] == round(1 / 8, 4)  # call 6 of the 8
    assert s["short_abandon_rate"] == round(1 / 9, 4)
    assert s["left_for_callback"] == 1
    assert s["timeout"] == 1
    assert (s["full"], s["failed"]) == (1, 1)
    waits = sorted([5, 15, 25, 60, 3, 40, 50, 120, 2])
    assert s["wait_mean_s"] == round(sum(waits) / 9, 1)
    assert s["wait_p90_s"] == 120  # rank ⌈0.9 × 9⌉ = 9
    assert s["wait_max_s"] == 120
    # EWT accuracy over answered calls told an EWT: 1, 2 and 4.
    assert s["ewt_compared"] == 3
    assert s["ewt_error_mean_s"] == round((5 + 5 + 30) / 3, 1)
    assert s["ewt_bias_s"] == round((5 - 5 - 30) / 3, 1)


def test_per_queue_per_hour_and_per_day() -> None:
    leg = report()
    by_queue = {row["queue"]: row for row in leg["queues"]}
    assert by_queue["billing"]["offered"] == 8
    assert by_queue["vip"] == by_queue["vip"] | {"offered": 1, "answered": 1, "asa_s": 2.0}
    assert [(r["period"], r["offered"]) for r in leg["by_hour"]] == [
        ("2026-11-16 09:00", 8),
        ("2026-11-16 10:00", 1),
    ]
    assert [(r["period"], r["answered"]) for r in leg["by_day"]] == [("2026-11-16", 5)]
    assert leg["records_with_queue_leg"] == 11


def test_a_short_abandon_threshold_moves_calls_apart() -> None:
    s = report(short_abandon=45.0)["summary"]
    assert s["short_abandons"] == 2  # 3 s and 40 s
    assert s["queue_abandonment_rate"] == 0.0


def test_a_damaged_queue_section_counts_as_failed() -> None:
    from ivrflow.insight.queue_kpis import QueueTally

    tally = QueueTally()
    for leg in ({"outcome": "waiting"}, {"outcome": "answered", "wait": "abc"}, {}):
        tally.add(leg)
    figures = tally.figures()
    assert (figures["failed"], figures["offered"]) == (3, 0)


def test_the_cli_takes_several_targets_and_prints_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    assert main(["report", str(path), "--sl-target", "20s", "--sl-target", "30"]) == 0
    text = capsys.readouterr().out
    assert "offered 9, answered 5, ASA 21.4 s, service level 37.5% within 20 s, " in text
    assert "50.0% within 30 s" in text
    assert "SL 20s" in text and "SL 30s" in text
    assert main(["report", str(path), "--format", "json", "--sl-target", "1m"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["queue_leg"]["summary"]["service_level_60s"] == 0.625
    assert main(["report", str(path), "--sl-target", "soon"]) == 2
    assert "bad --sl-target 'soon'" in capsys.readouterr().err
