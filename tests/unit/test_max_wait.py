"""`max_wait` on a queue transfer (issue 13): the overflow after a maximum wait, checked when
the flow loads, performed by both gateways and recorded as the queue leg's `overflow`."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

import ivrflow
from ivrflow.host.gateways.agi_queue import queue_args
from ivrflow.host.gateways.twiml import wait_page
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.session import Session

T0 = 1795525200.0
FLOW = """
flow overflow "Overflow"
  language en-US
queue billing "Billing"
queue backup "Backup"
start:
  -> agent
transfer agent:
  queue billing
  max_wait {wait}
  noanswer -> second
transfer second:
  queue backup
  noanswer: hangup "nobody"
"""


def compile_text(text: str) -> Any:
    return ivrflow.compile_file("t.ivr", text=textwrap.dedent(text).lstrip("\n"))


def test_the_flow_overflows_to_the_noanswer_branch_and_the_leg_says_overflow() -> None:
    flow = compile_text(FLOW.format(wait="2m")).flow
    assert flow is not None
    session = Session(flow, call_id="o1", ani=None, dnis=None, at=T0)
    session.start()
    out = session.send(ev.QueueStatus(T0 + 1, "billing", 30.0, 1))
    first = next(a for a in out if isinstance(a, act.TransferToQueue))
    assert first.max_wait == 120.0
    out = session.send(
        ev.TransferResult(T0 + 122, "noanswer", "TIMEOUT", wait=120, queued_at=T0 + 2)
    )
    out += session.send(ev.QueueStatus(T0 + 123, "backup", 5.0, 0))
    second = next(a for a in out if isinstance(a, act.TransferToQueue))
    assert (second.queue, second.max_wait) == ("backup", None)
    session.send(ev.TransferResult(T0 + 140, "answered", wait=16, queued_at=T0 + 124))
    record = session.record
    assert record is not None
    first_leg = record["queue"]["earlier"][0]
    assert (first_leg["queue"], first_leg["outcome"], first_leg["wait"]) == (
        "billing",
        "overflow",
        120.0,
    )
    assert (record["queue"]["queue"], record["queue"]["outcome"]) == ("backup", "answered")
    assert record["duration"] == 4.0  # 124 s to the second queue, 120 of them in the first


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (FLOW.format(wait="0s"), "more than 0s and at most 4h"),
        (FLOW.format(wait="5h"), "more than 0s and at most 4h"),
        (FLOW.format(wait="2m").replace("  noanswer -> second\n", ""), "add a 'noanswer ->' branch"),
        (FLOW.format(wait="2m").replace("queue billing\n  max", 'number "+15551230000"\n  max'),
         "a number does not wait"),
    ],
)  # fmt: skip
def test_max_wait_is_checked_when_the_flow_loads(text: str, message: str) -> None:
    result = compile_text(text)
    errors = [d for d in result.diagnostics if d.code == "E121"]
    assert any(message in d.message for d in errors), [d.message for d in result.diagnostics]


def test_fastagi_passes_the_maximum_as_queues_timeout() -> None:
    assert queue_args("billing", "", None) == "billing"
    assert queue_args("billing", "", 120.0) == "billing,,,,120"
    assert queue_args("billing", "t", 0.2) == "billing,t,,,1"
    assert queue_args("billing", "t,,,30", 90.0) == "billing,t,,,90"  # the flow's wins


def test_the_wait_page_plays_music_until_the_maximum_then_leaves() -> None:
    assert "<Play>" in wait_page("10", "120") and "<Leave" not in wait_page("10", "120")
    assert "<Leave />" in wait_page("120", "120")
    assert "<Leave" not in wait_page("garbage", "120")  # an unreadable QueueTime keeps holding
