"""A full queue and empty ones through a real Asterisk 22 (issue 13): the lab queues of
scripts/asterisk/queues-lab.conf with `maxlen`, `joinempty` and `leavewhenempty`. A caller
turned away or removed gets the record's queue outcome `full` (docs/operations.md: FULL,
JOINEMPTY and JOINUNAVAIL never let the caller in, wait 0; LEAVEEMPTY after the wait), and
the flow's `full` or `busy` branch runs; each is asserted on the record and on Asterisk's
log of what the caller was given.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asterisk_lab import Call, Lab, asterisk, sipp_ok, sipp_report
from test_asterisk_lab import NOT_SERVING, Server, serve_available, serving

pytestmark = pytest.mark.asterisk
__all__ = ["asterisk"]  # the fixture, used by name

QUEUES = ("lab_full", "lab_closed", "lab_unstaffed", "lab_emptying")
FULL_SAYS = "All our lines are full. Please call again later."
BUSY_SAYS = "Nobody is on duty right now."

FLOW = """
flow {name} "Queue lab: {queue}"
  language en-US
queue {queue} "Lab queue"
start:
  -> agent
transfer agent:
  queue {queue}
  say "Please hold."
  full -> lines_full
  busy -> nobody
  noanswer -> sorry
  failed -> sorry
step lines_full:
  say "{full}"
  hangup "queue full"
step nobody:
  say "{busy}"
  hangup "nobody on duty"
step sorry:
  say "Sorry, something went wrong."
  hangup "queue failed"
"""


@pytest.fixture(scope="module")
def server(asterisk: Lab) -> Iterator[Server]:
    if not serve_available():
        pytest.skip(NOT_SERVING)
    work = asterisk.tmp / "queue-empty-serve"
    flows = work / "flows"
    flows.mkdir(parents=True)
    for queue in QUEUES:
        text = FLOW.format(name=queue, queue=queue, full=FULL_SAYS, busy=BUSY_SAYS)
        (flows / f"{queue}.ivr").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    with serving(asterisk, work, flows) as srv:
        yield srv


def waiting_in(asterisk: Lab, queue: str, callers: int, timeout: float = 20) -> None:
    """Until Asterisk's `queue show` lists `callers` callers waiting in `queue`."""
    deadline = time.monotonic() + timeout
    while True:
        shown = asterisk.cli(f"queue show {queue}")
        if f"has {callers} calls" in shown:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{queue} never had {callers} waiting:\n{shown}")
        time.sleep(0.2)


def turned_away(record: dict[str, Any], branch: str) -> dict[str, Any]:
    """The record of a caller the queue did not take: the IVR went on to `branch`."""
    queue = record["queue"]
    assert queue["outcome"] == "full", record
    assert branch in [step["state"] for step in record["path"]], record
    assert record["outcome"]["kind"] == "self_served", record
    assert record["duration"] < 15, record
    assert "reason" not in queue, record  # a known status, not garbage
    return queue


def test_a_full_queue_turns_the_next_caller_away(asterisk: Lab, server: Server) -> None:
    first, second = "+5511944440001", "+5511944440002"
    offset = asterisk.log_size()
    with ThreadPoolExecutor(1) as pool:
        # The first caller takes the queue's only place and hangs up after a while.
        holding = pool.submit(Call("flow-lab_full", first, hold_ms=14000).place, asterisk.tmp)
        waiting_in(asterisk, "lab_full", 1)
        proc = Call("flow-lab_full", second, hold_ms=8000).place(asterisk.tmp)
        held = holding.result(timeout=90)
    assert sipp_ok(proc), sipp_report(proc)
    assert sipp_ok(held), sipp_report(held)
    record = server.record(second, timeout=40)
    queue = turned_away(record, "lines_full")
    assert (queue["queue"], queue["detail"], queue["wait"]) == ("lab_full", "FULL", 0.0), record
    assert record["outcome"]["reason"] == "queue full", record
    # The one who held the place abandoned there, after waiting.
    other = server.record(first, timeout=40)["queue"]
    assert other["outcome"] == "abandoned" and other["wait"] >= 3, other
    log = asterisk.log_since(offset)
    assert "Options: (lab_full)" in log, log[-3000:]
    assert f"ivrflow say: {FULL_SAYS}" in log, log[-3000:]
    assert log.count(f"ivrflow say: {FULL_SAYS}") == 1, log[-3000:]  # the second caller only


@pytest.mark.parametrize(
    ("queue", "member"), [("lab_closed", None), ("lab_unstaffed", "PJSIP/nobody-here")]
)
def test_joinempty_no_keeps_the_caller_out_of_an_empty_queue(
    asterisk: Lab, server: Server, queue: str, member: str | None
) -> None:
    shown = asterisk.cli(f"queue show {queue}")
    if member is None:
        assert "No Members" in shown, shown
    else:  # a member whose phone does not exist: it counts as nobody (Asterisk 22: JOINEMPTY)
        assert member in shown and "(Invalid)" in shown, shown
    ani = "+55119444401" + str(QUEUES.index(queue)).zfill(2)
    offset = asterisk.log_size()
    proc = Call(f"flow-{queue}", ani, hold_ms=8000).place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=40)
    leg = turned_away(record, "nobody")
    assert (leg["queue"], leg["detail"], leg["wait"]) == (queue, "JOINEMPTY", 0.0), record
    log = asterisk.log_since(offset)
    assert f"Options: ({queue})" in log, log[-3000:]
    assert f"ivrflow say: {BUSY_SAYS}" in log, log[-3000:]
    assert "music on hold" not in log.lower(), log[-3000:]  # never waited


def test_leavewhenempty_removes_a_caller_who_joined(asterisk: Lab, server: Server) -> None:
    ani = "+5511944440200"
    offset = asterisk.log_size()
    proc = Call("flow-lab_emptying", ani, hold_ms=15000).place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=40)
    leg = turned_away(record, "nobody")
    assert (leg["queue"], leg["detail"]) == ("lab_emptying", "LEAVEEMPTY"), record
    assert 0 <= leg["wait"] < 10, record  # joined, heard the hold music, then removed
    log = asterisk.log_since(offset)
    assert "Options: (lab_emptying)" in log, log[-3000:]
    assert "music on hold" in log.lower(), log[-3000:]
    assert f"ivrflow say: {BUSY_SAYS}" in log, log[-3000:]
