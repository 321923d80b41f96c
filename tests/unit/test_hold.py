"""`while waiting:` — the in-queue flow (issue 13 item 1): what the queued caller hears, the
key that leaves the queue for a callback keeping the caller's place, checked at load."""

from __future__ import annotations

import textwrap
from typing import Any

import ivrflow
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.session import Session

T0 = 1795525200.0
FLOW = """
flow inqueue "In-queue flow"
  language en-US
queue billing "Billing"
start:
  -> agent
transfer agent:
  queue billing
  max_wait 10m
  while waiting:
    music default
    every 45s
    announce position, ewt
    say "Thank you for holding, {{ caller_name }}. Press 1 to be called back."
    1 -> queue_callback
  noanswer -> queue_callback
callback queue_callback:
  queue billing
  say "We will call you back at this number. Press 1 to confirm."
  scheduled: hangup "callback"
  declined -> agent
  noinput: say "Press 1."
  nomatch: say "Press 1."
  exhausted -> agent
"""


WITH_NAME = FLOW.replace('queue billing "Billing"', 'queue billing "Billing"\nvar caller_name = ""')


def compile_text(text: str) -> Any:
    return ivrflow.compile_file("t.ivr", text=textwrap.dedent(text).lstrip("\n"))


def queued(flow: Any) -> tuple[Session, act.TransferToQueue]:
    session = Session(
        flow, call_id="h1", ani="+15551230001", dnis=None, at=T0, variables={"caller_name": "Ann"}
    )
    session.start()
    out = session.send(ev.QueueStatus(T0 + 1, "billing", 300.0, 4))
    return session, next(a for a in out if isinstance(a, act.TransferToQueue))


def test_the_transfer_hands_the_gateway_its_in_queue_flow() -> None:
    result = compile_text(WITH_NAME)
    assert result.flow is not None, result.errors
    _, transfer = queued(result.flow)
    hold = transfer.hold
    assert hold is not None
    assert (hold.music, hold.every, hold.announce, hold.keys) == (
        "default",
        45.0,
        ("position", "ewt"),
        ("1",),
    )
    # The message is rendered for this call when it is queued.
    assert [a.text for a in hold.message if isinstance(a, act.Say)] == [
        "Thank you for holding, Ann. Press 1 to be called back."
    ]


def test_the_exit_key_leads_to_a_callback_that_carries_the_time_waited() -> None:
    flow = compile_text(WITH_NAME).flow
    session, _ = queued(flow)
    out = session.send(
        ev.TransferResult(T0 + 95, "callback", "key 1", wait=93.0, queued_at=T0 + 2, key="1")
    )
    assert session.state == "queue_callback"
    out = session.send(ev.Digits(T0 + 100, "1"))
    store = next(a for a in out if isinstance(a, act.StoreCallback))
    assert store.extra == {"waited": 93.0, "queued_at": T0 + 2, "from_queue": "billing"}
    session.send(ev.CallbackStored(T0 + 101, "cb-1"))
    record = session.record
    assert record is not None
    leg = record["queue"]
    assert (leg["outcome"], leg["wait"], leg["key"]) == ("left_for_callback", 93.0, "1")
    assert record["outcome"]["kind"] == "callback_scheduled"


def test_a_key_the_flow_does_not_have_is_not_taken_for_its_branch() -> None:
    flow = compile_text(WITH_NAME).flow
    session, _ = queued(flow)
    session.send(ev.TransferResult(T0 + 95, "callback", "key 7", wait=93.0, key="7"))
    record = session.record
    assert record is not None  # no failed branch: the call ends with the error, recorded once
    assert record["queue"]["outcome"] == "left_for_callback"
    assert "key" not in record["queue"]


def test_a_callback_offered_without_leaving_a_queue_carries_no_wait() -> None:
    flow = compile_text(WITH_NAME).flow
    session, _ = queued(flow)
    session.send(ev.TransferResult(T0 + 600, "noanswer", "TIMEOUT", wait=598.0))
    out = session.send(ev.Digits(T0 + 605, "1"))
    store = next(a for a in out if isinstance(a, act.StoreCallback))
    assert store.extra == {}
    assert session.record is None or session.record["queue"]["outcome"] == "overflow"
