"""Transfers to typed destinations and to queues chosen at run time (issue 12, items 2 and 6).

Literal destinations are checked when the flow compiles; a dynamic one (a variable, a look-up's
field) when the transfer runs: a bad one takes the `failed` branch, with the reason in `error`
and in the record's `errors`, and is never dialled as something else.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_session import Driver, compile_flow, only

import ivrflow
from ivrflow.model.destinations import Destination
from ivrflow.runtime import actions as act

DYNAMIC = """
flow dynamic
  language en-US
  country US
var target = ""
var keys = ""
start:
  -> out
transfer out:
  {kind} (target)
  {extra}
  failed:
    say "Sorry: {{{{ error }}}}."
    hangup "transfer failed"
"""


def dynamic(kind: str, target: Any, extra: str = "", **more: Any) -> Driver:
    flow = compile_flow(DYNAMIC.format(kind=kind, extra=extra))
    return Driver(flow, variables={"target": target, **more})


def test_a_sip_uri_is_dialled_as_a_sip_uri() -> None:
    call = Driver(
        compile_flow(
            """
            flow conf
              language en-US
            start:
              -> bridge
            transfer bridge:
              sip "sip:888@conference.example.org"
              postdial "ww4321#"
            """
        )
    )
    transfer = only(call.actions, act.TransferToDestination)
    assert transfer.destination == Destination(
        "sip", "sip:888@conference.example.org", None, "ww4321#"
    )
    call.transfer("answered")
    assert call.outcome == {"kind": "transferred", "sip": "sip:888@conference.example.org"}
    assert call.record["errors"] == []


def test_an_extension_with_its_context() -> None:
    call = dynamic("extension", "1234@sales")
    assert only(call.actions, act.TransferToDestination).destination == Destination(
        "extension", "1234", "sales"
    )
    call.transfer("answered")
    assert call.outcome == {"kind": "transferred", "extension": "1234@sales"}


def test_issue12_a_dynamic_sip_uri_given_as_a_number_is_not_dialled_as_888() -> None:
    call = dynamic("number", "sip:888@conference.example.org")
    assert not any(isinstance(a, act.TransferToDestination) for a in call.actions)
    assert call.outcome == {"kind": "self_served", "reason": "transfer failed"}
    (error,) = call.record["errors"]
    assert "is a SIP URI, not a phone number" in error
    assert error == call.session.vars["error"]


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("number", "1234*256"),
        ("number", None),
        ("sip", "alice@example.com"),
        ("sip", "sip:a@b.com&PJSIP/other"),
        ("extension", "12 34"),
        ("extension", 1234),
    ],
)
def test_a_bad_dynamic_destination_takes_the_failed_branch_with_a_reason(
    kind: str, target: Any
) -> None:
    call = dynamic(kind, target)
    assert not any(isinstance(a, act.TransferToDestination) for a in call.actions)
    assert call.outcome["reason"] == "transfer failed"
    assert call.record["errors"] and call.record["errors"][0].startswith("transfer failed: ")


def test_a_bad_dynamic_destination_without_a_failed_branch_ends_in_error_once() -> None:
    flow = compile_flow(
        """
        flow nofail
          language en-US
        var target = "nope"
        start:
          -> out
        transfer out:
          sip (target)
        """
    )
    call = Driver(flow)
    assert call.outcome["kind"] == "error"
    assert len(call.record["errors"]) == 1
    assert call.actions[-1] == act.Hangup("error")


def test_dynamic_postdial_keys_are_checked_too() -> None:
    call = dynamic("number", "+18005550100", "postdial (keys)", keys="12;3")
    assert call.outcome["reason"] == "transfer failed"
    assert "not keys to send" in call.record["errors"][0]
    call = dynamic("number", "+18005550100", "postdial (keys)", keys="w123")
    assert only(call.actions, act.TransferToDestination).destination.postdial == "w123"


def test_a_transfer_that_fails_on_the_line_is_in_the_records_errors() -> None:
    call = dynamic("number", "+18005550100")
    call.transfer("failed", "CHANUNAVAIL")
    assert call.outcome["reason"] == "transfer failed"
    assert call.record["errors"] == ["transfer failed: CHANUNAVAIL"]


def test_busy_is_not_an_error() -> None:
    flow = compile_flow(DYNAMIC.format(kind="number", extra='busy: hangup "busy"'))
    call = Driver(flow, variables={"target": "+18005550100"})
    call.transfer("busy")
    assert call.outcome["reason"] == "busy"
    assert call.record["errors"] == []


# ---------------------------------------------------------------- queues chosen at run time

QUEUES = """
flow working
  language en-US
queue billing skills [billing]
queue sales skills [sales], priority 7
queue retention
function segment(ani)
start:
  -> find
lookup find segment(ani) as customer:
  ok -> agent
  error -> agent
transfer agent:
  queue customer.queue {among}
  if ewt > 10m -> busy_day
  failed:
    say "{{{{ error }}}}"
    hangup "no queue"
step busy_day:
  hangup "busy day"
"""


def queue_call(value: Any, among: str = "among [billing, sales]") -> Driver:
    call = Driver(compile_flow(QUEUES.format(among=among)))
    call.lookup_ok({"queue": value})
    return call


def test_the_queue_is_the_lookups_answer() -> None:
    call = queue_call("sales")
    assert call.actions == [act.GetQueueStatus("sales")]
    assert call.session.vars["queue"] == "sales"
    call.queue_status(60, 1)
    assert only(call.actions, act.TransferToQueue) == act.TransferToQueue(
        "sales", 7, ("sales",), 60
    )
    call.transfer("answered")
    assert call.outcome == {"kind": "transferred", "queue": "sales"}


def test_the_body_runs_with_the_chosen_queues_figures() -> None:
    call = queue_call("billing")
    call.queue_status(900)
    assert call.outcome["reason"] == "busy day"


@pytest.mark.parametrize("value", ["retention", "vip", None, 3, ["billing"]])
def test_a_queue_outside_among_takes_the_failed_branch(value: Any) -> None:
    call = queue_call(value)
    assert not any(isinstance(a, act.GetQueueStatus) for a in call.actions)
    assert call.outcome == {"kind": "self_served", "reason": "no queue"}
    (error,) = call.record["errors"]
    assert "(it may reach: billing, sales)" in error


def test_without_among_every_declared_queue_is_reachable() -> None:
    flow = compile_flow(QUEUES.format(among=""))
    state = flow.states["agent"]
    assert isinstance(state, ivrflow.model.Transfer)
    assert state.queues == ("billing", "sales", "retention")
    call = queue_call("retention", among="")
    assert call.actions == [act.GetQueueStatus("retention")]
    call = queue_call("support", among="")
    assert call.outcome["reason"] == "no queue"


def test_a_body_that_changes_queue_to_an_unreachable_one_fails_the_transfer() -> None:
    flow = compile_flow(
        QUEUES.format(among="among [billing, sales]").replace(
            "  if ewt > 10m -> busy_day\n", '  set queue = "retention"\n'
        )
    )
    call = Driver(flow)
    call.lookup_ok({"queue": "billing"})
    call.queue_status(10)
    assert call.outcome["reason"] == "no queue"
    assert not any(isinstance(a, act.TransferToQueue) for a in call.actions)


def test_a_snapshot_taken_while_waiting_for_the_chosen_queue_resumes() -> None:
    call = queue_call("sales")
    data = call.session.to_dict()
    resumed = ivrflow.Session.from_dict(call.session.flow, data)
    actions = resumed.send(ivrflow.events.QueueStatus(call.tick(), "sales", 5, 1))
    assert only(actions, act.TransferToQueue).queue == "sales"
