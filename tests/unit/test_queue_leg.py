"""The record's queue leg (issue 13): how a caller's wait ended, how long it was, and time in
the IVR that means the same behind every gateway."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest

import ivrflow
from ivrflow.insight.records_input import InputStats, read
from ivrflow.model import Flow
from ivrflow.runtime import events as ev
from ivrflow.runtime.queue_leg import QUEUE_OUTCOMES
from ivrflow.runtime.session import Session
from ivrflow.tools.fuzzing.invariants import check_outcome

T0 = 1795525200.0
FLOW = """
flow transfers
  language en-US
queue billing "Billing"
start:
  -> agent
transfer agent:
  queue billing
  announce ewt
  say "Transferring."
  noanswer -> sorry
  full -> sorry
  busy -> sorry
step sorry:
  say "Sorry."
  hangup "no agent"
"""


def compile_flow(text: str = FLOW) -> Flow:
    result = ivrflow.compile_file("t.ivr", text=textwrap.dedent(text).lstrip("\n"))
    assert result.flow is not None, [d.message for d in result.diagnostics]
    return result.flow


def queued_call(ewt: float | None = 90.0) -> Session:
    """A call that reached the queue 10 s after it started (the EWT told at 5 s)."""
    session = Session(compile_flow(), call_id="q1", ani="+15551230000", dnis=None, at=T0)
    session.start()
    session.send(ev.QueueStatus(T0 + 5, "billing", ewt, 2))
    return session


def record_of(session: Session) -> dict[str, Any]:
    record = session.record
    assert record is not None, "the call has not ended"
    assert check_outcome(record) is None, check_outcome(record)
    return record


def test_answered_after_a_wait_ivr_time_ends_when_the_wait_begins() -> None:
    call = queued_call()
    # FastAGI's Queue() returns when the agent's conversation ends (t=400): the wait is 35 s.
    call.send(ev.TransferResult(T0 + 400, "answered", wait=35, queued_at=T0 + 10))
    record = record_of(call)
    assert record["outcome"] == {"kind": "transferred", "queue": "billing"}
    assert record["duration"] == 10.0
    assert record["ended_at"] == "2026-11-24T13:00:10.000+00:00"
    assert record["queue"] == {
        "queue": "billing",
        "queued_at": "2026-11-24T13:00:10.000+00:00",
        "outcome": "answered",
        "wait": 35.0,
        "ewt_announced": 90.0,
    }


def test_abandoned_in_queue_is_not_abandoned_in_the_ivr() -> None:
    call = queued_call()
    call.send(ev.TransferResult(T0 + 40, "abandoned", wait=30, queued_at=T0 + 10))
    record = record_of(call)
    assert record["outcome"]["kind"] == "transferred"
    assert record["queue"]["outcome"] == "abandoned"
    assert record["queue"]["wait"] == 30.0
    assert record["duration"] == 10.0


def test_a_timeout_goes_on_in_the_ivr_and_its_wait_is_not_ivr_time() -> None:
    call = queued_call(ewt=None)
    call.send(ev.TransferResult(T0 + 70, "noanswer", "TIMEOUT", wait=60, queued_at=T0 + 10))
    record = record_of(call)
    assert record["outcome"]["kind"] == "self_served"  # the flow's own hang-up, after "Sorry."
    assert record["queue"]["outcome"] == "timeout"
    assert record["queue"]["detail"] == "TIMEOUT"
    assert record["queue"]["ewt_announced"] is None  # no EWT known: none was told
    assert record["duration"] == 10.0  # 70 s of call, 60 of them in the queue


def test_a_full_queue_never_had_the_caller_waiting() -> None:
    call = queued_call()
    call.send(ev.TransferResult(T0 + 11, "full", "FULL"))
    assert record_of(call)["queue"]["outcome"] == "full"
    assert record_of(call)["queue"]["wait"] == 0.0


@pytest.mark.parametrize(
    ("wait", "queued_at", "reason"),
    [
        (None, None, "did not say how long"),
        ("abc", None, "wait is not usable ('abc')"),
        (-3, None, "wait is not usable (-3)"),
        (math.nan, None, "wait is not usable (nan)"),
        (1e12, None, "wait is not usable"),
        (True, None, "wait is not usable (True)"),
        ([1], None, "wait is not usable ([1])"),
        (5, "yesterday", "entry time is not usable ('yesterday')"),
        (5, T0 - 86400, "entry time is not usable"),
    ],
)
def test_garbage_queue_figures_make_the_leg_failed_not_the_call(
    wait: Any, queued_at: Any, reason: str
) -> None:
    call = queued_call()
    call.send(ev.TransferResult(T0 + 50, "answered", wait=wait, queued_at=queued_at))
    record = record_of(call)
    assert record["outcome"] == {"kind": "transferred", "queue": "billing"}  # the flow's view
    assert record["queue"]["outcome"] == "failed"
    assert reason in record["queue"]["reason"]
    assert record["errors"] == []


def test_queued_without_a_report_is_a_failed_leg_with_the_reason() -> None:
    call = queued_call()
    call.send(ev.TransferResult(T0 + 11, "queued"))
    leg = record_of(call)["queue"]
    assert (leg["outcome"], leg["wait"]) == ("failed", None)
    assert "without a report" in leg["reason"]


def test_a_hang_up_before_the_queue_is_abandoned_in_the_ivr_and_has_no_leg() -> None:
    call = queued_call()
    call.send(ev.Hangup(T0 + 9))
    record = record_of(call)
    assert record["outcome"] == {"kind": "abandoned", "state": "agent"}
    assert "queue" not in record


def test_the_leg_survives_a_snapshot() -> None:
    call = queued_call()
    restored = Session.from_dict(call.flow, json.loads(json.dumps(call.to_dict())))
    restored.send(ev.TransferResult(T0 + 40, "abandoned", wait=30, queued_at=T0 + 10))
    assert record_of(restored)["queue"]["ewt_announced"] == 90.0


def test_every_queue_outcome_passes_the_invariant_and_garbage_does_not() -> None:
    record: dict[str, Any] = {
        "outcome": {"kind": "transferred", "queue": "billing"},
        "queue": {"queue": "billing", "queued_at": "2026-11-24T13:00:10.000+00:00", "wait": 1.0},
    }
    for outcome in QUEUE_OUTCOMES:
        record["queue"]["outcome"] = outcome
        if outcome == "failed":
            record["queue"]["reason"] = "x"
        assert check_outcome(record) is None
    record["queue"]["outcome"] = "waiting"
    assert "queue outcome" in str(check_outcome(record))
    record["queue"].update(outcome="answered", wait=-1)
    assert "wait" in str(check_outcome(record))
    del record["queue"]
    assert "no queue section" in str(check_outcome(record))


def test_old_records_without_a_queue_section_still_read() -> None:
    old = Path(__file__).resolve().parents[1] / "data" / "records-before-queue-leg.jsonl"
    stats = InputStats()
    records = [record for record, _ in read([str(old)], stats)]
    assert stats.malformed_total == 0
    assert len(records) == 3
    assert any(r["outcome"]["kind"] == "transferred" for r in records)
    assert all("queue" not in r for r in records)
