"""The queue leg through a real Asterisk 22 (issue 13): SIPp callers, a SIPp UAS as the agent's
phone, and the lab queues of scripts/asterisk/queues-lab.conf — answered after a known wait,
abandoned in the queue, left by key for a callback, sent on at the flow's maximum wait. Each is
asserted on the record's queue section and on Asterisk's log of what the caller was given.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from asterisk_lab import RINGS_MS, Call, Lab, agent_phone, asterisk, sipp_ok, sipp_report
from test_asterisk_lab import NOT_SERVING, Server, serve_available, serving

pytestmark = pytest.mark.asterisk
__all__ = ["asterisk"]  # the fixture, used by name

MAX_WAIT = 8  # seconds: the flows' max_wait, which FastAGI passes as Queue()'s timeout

FLOW = """
flow {name} "Queue lab: {queue}"
  language en-US
queue {queue} "Lab queue"
start:
  -> agent
transfer agent:
  queue {queue}
  max_wait {max_wait}s
  say "Please hold."
  noanswer -> sorry
  busy -> sorry
  full -> sorry
  failed -> sorry
step sorry:
  say "Sorry, nobody is free."
  hangup "no agent"
"""


@pytest.fixture(scope="module")
def server(asterisk: Lab) -> Iterator[Server]:
    if not serve_available():
        pytest.skip(NOT_SERVING)
    work = asterisk.tmp / "queue-serve"
    flows = work / "flows"
    flows.mkdir(parents=True)
    for name, queue in (("queue_answered", "lab_answered"), ("queue_empty", "lab_empty")):
        text = FLOW.format(name=name, queue=queue, max_wait=MAX_WAIT)
        (flows / f"{name}.ivr").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    # The flows' max_wait becomes Queue(name,options,URL,announceoverride,timeout)'s timeout.
    with serving(asterisk, work, flows) as srv:
        yield srv


def leg(server: Server, ani: str) -> tuple[dict[str, Any], dict[str, Any]]:
    record = server.record(ani, timeout=40)
    assert "queue" in record, record
    return record, record["queue"]


def test_answered_after_the_agents_phone_rang(asterisk: Lab, server: Server) -> None:
    ani = "+5511933330001"
    offset = asterisk.log_size()
    phone = agent_phone(asterisk.tmp)
    try:
        # The caller talks to the agent for a while after the answer, then hangs up.
        proc = Call("flow-queue_answered", ani, hold_ms=RINGS_MS + 9000).place(asterisk.tmp)
    finally:
        phone.wait(60)
    assert sipp_ok(proc), sipp_report(proc)
    record, queue = leg(server, ani)
    log = asterisk.log_since(offset)
    assert record["outcome"] == {"kind": "transferred", "queue": "lab_answered"}, record
    assert queue["outcome"] == "answered", record
    # QEHOLDTIME is whole seconds: the ring delay, give or take Asterisk's first ring.
    assert RINGS_MS / 1000 - 1 <= queue["wait"] <= RINGS_MS / 1000 + 3, queue
    assert record["duration"] < 8, record  # the IVR's part only, not the conversation
    assert "Executing Application: (Queue) Options: (lab_answered" in log, log[-3000:]
    assert "PJSIP/agent" in log, log[-3000:]


def test_hanging_up_in_the_queue_is_abandonment_there(asterisk: Lab, server: Server) -> None:
    ani = "+5511933330002"
    offset = asterisk.log_size()
    proc = Call("flow-queue_empty", ani, hold_ms=5000).place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record, queue = leg(server, ani)
    log = asterisk.log_since(offset)
    assert record["outcome"]["kind"] == "transferred", record
    assert queue["outcome"] == "abandoned", record
    assert 1 <= queue["wait"] < MAX_WAIT, queue
    assert "Executing Application: (Queue) Options: (lab_empty" in log, log[-3000:]
    assert "music on hold" in log.lower(), log[-3000:]  # what the waiting caller heard


def test_a_key_leaves_the_queue_for_a_callback(asterisk: Lab, server: Server) -> None:
    ani = "+5511933330003"
    offset = asterisk.log_size()
    call = Call("flow-queue_empty", ani, hold_ms=6000).wait(4000).rfc2833("1")
    proc = call.place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record, queue = leg(server, ani)
    log = asterisk.log_since(offset)
    assert queue["outcome"] == "left_for_callback", record
    assert queue["detail"] == "key 1", record
    assert 1 <= queue["wait"] < MAX_WAIT, queue
    # Asterisk moved the channel to the exit context's extension 1 (the flow then hung up).
    assert "(ivrflow-queue-exit, 1, " in log, log[-3000:]
    assert "Stopped music on hold" in log, log[-3000:]


def test_the_maximum_wait_overflows_to_the_noanswer_branch(asterisk: Lab, server: Server) -> None:
    ani = "+5511933330004"
    offset = asterisk.log_size()
    proc = Call("flow-queue_empty", ani, hold_ms=(MAX_WAIT + 12) * 1000).place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record, queue = leg(server, ani)
    log = asterisk.log_since(offset)
    assert (queue["outcome"], queue["detail"]) == ("overflow", "TIMEOUT"), record
    assert f"Options: (lab_empty,,,,{MAX_WAIT})" in log, log[-3000:]  # the flow's max_wait
    assert MAX_WAIT - 1 <= queue["wait"] <= MAX_WAIT + 3, queue
    assert "sorry" in [step["state"] for step in record["path"]], record
    assert record["outcome"] == {"kind": "self_served", "reason": "no agent"}, record
    assert "ivrflow say: Sorry, nobody is free." in log, log[-3000:]
